#include "samples/endpoint/crypto.h"

#include <sodium.h>

#include <vector>

namespace flowline::sample {
namespace {

std::string ToBase64(const unsigned char* bytes, size_t size, int variant) {
  std::string out(sodium_base64_encoded_len(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, variant);
  out.resize(out.size() - 1);  // libsodium counts the terminating NUL
  return out;
}

}  // namespace

bool InitCrypto() { return sodium_init() >= 0; }

std::string RandomOpaqueValue() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return ToBase64(bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string Sha256(std::string_view value) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(value.data()), value.size());
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string S256Challenge(std::string_view code_verifier) {
  std::string digest = Sha256(code_verifier);
  return ToBase64(reinterpret_cast<const unsigned char*>(digest.data()), digest.size(),
                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool SecretsEqual(std::string_view a, std::string_view b) {
  // Comparing digests gives equal lengths, which sodium_memcmp needs, and hides the lengths.
  std::string da = Sha256(a);
  std::string db = Sha256(b);
  return sodium_memcmp(da.data(), db.data(), da.size()) == 0;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty()) return std::string();
  std::vector<unsigned char> out(text.size());
  size_t length = 0;
  const char* end = nullptr;
  int variant = (!text.empty() && text.back() == '=') ? sodium_base64_VARIANT_ORIGINAL
                                                      : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, &end,
                        variant) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string Base64Encode(std::string_view bytes) {
  return ToBase64(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                  sodium_base64_VARIANT_ORIGINAL);
}

}  // namespace flowline::sample
