#include "runtime/vault/vault_crypto.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "runtime/vault/sqlite_db.h"

namespace flowline {

namespace {

static_assert(kVaultKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kVaultNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kVaultTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kVaultKeyHexChars == 2 * kVaultKeyBytes);

// A key file holds 64 hex digits and a newline; anything much longer is not
// a key file, and we refuse to read it whole.
constexpr size_t kMaxKeyFileBytes = 4096;

// sodium_init() once per process; it is idempotent and thread-safe, but not
// free. It fails only when the system has no usable randomness source, and
// then nothing here can be trusted: stop.
void ensure_sodium() {
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      std::fputs("flowline: libsodium could not initialize (no randomness source)\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

Status key_io(const std::string& what, const std::string& path, int err) {
  return Status("vault_key_io", "vault key file " + path + ": " + what + ": " + std::strerror(err));
}

// The key file's bytes, or nullopt-like ENOENT reported through `missing`.
Result<SecretBytes> read_key_file(const std::string& path, bool* missing) {
  *missing = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) {
      *missing = true;
      return SecretBytes();
    }
    return key_io("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return key_io("cannot inspect", path, err);
  }
  if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
    ::close(fd);
    return Status(
        "vault_key_insecure",
        "vault key file " + path +
            (S_ISREG(st.st_mode) ? " can be read or written by other users; run `chmod 600 " +
                                       path + "` (and replace the key if others may have read it)"
                                 : " is not a regular file"));
  }
  SecretBytes buffer(kMaxKeyFileBytes + 1);
  size_t used = 0;
  while (used < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return key_io("cannot read", path, err);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  if (used > kMaxKeyFileBytes) {
    return Status("vault_key_invalid", "vault key file " + path + " is larger than " +
                                           std::to_string(kMaxKeyFileBytes) +
                                           " bytes; it must hold 64 hex digits (a 32-byte key)");
  }
  SecretBytes content(used);
  std::memcpy(content.data(), buffer.data(), used);
  return content;
}

// Writes a fresh key to a private temporary file and links it to `path`.
// link() never replaces: when another process got there first it fails with
// EEXIST and the caller reads the winner's key. Returns true when our key
// was installed.
Result<bool> create_key_file(const std::string& path) {
  Status dir = ensure_private_directory(parent_directory(path));
  if (!dir.ok()) return Status("vault_key_io", "vault key file " + path + ": " + dir.message());

  unsigned char suffix[8];
  randombytes_buf(suffix, sizeof suffix);
  char suffix_hex[2 * sizeof suffix + 1];
  sodium_bin2hex(suffix_hex, sizeof suffix_hex, suffix, sizeof suffix);
  std::string temp = path + ".tmp-" + std::to_string(::getpid()) + "-" + suffix_hex;

  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return key_io("cannot create", temp, errno);
  SecretBytes hex = VaultKey::generate().to_hex();
  SecretBytes line(hex.size() + 1);
  std::memcpy(line.data(), hex.data(), hex.size());
  line.data()[hex.size()] = '\n';
  size_t written = 0;
  int err = 0;
  while (written < line.size()) {
    ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    written += static_cast<size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) {
    ::unlink(temp.c_str());
    return key_io("cannot write", temp, err);
  }
  bool installed = ::link(temp.c_str(), path.c_str()) == 0;
  int link_err = errno;
  ::unlink(temp.c_str());
  if (!installed && link_err != EEXIST) return key_io("cannot create", path, link_err);
  if (installed) {
    // Make the new name durable too: a crash must not lose the key that
    // already encrypted tokens.
    int dir_fd = ::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
  }
  return installed;
}

}  // namespace

// -------------------------------------------------------------- SecretBytes

void SecretBytes::wipe() {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    wipe();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

// ----------------------------------------------------------------- VaultKey

Result<VaultKey> VaultKey::from_hex(std::string_view hex, std::string_view origin) {
  ensure_sodium();
  std::string_view digits = trim(hex);
  VaultKey key;
  size_t decoded = 0;
  const char* end = nullptr;
  bool valid = digits.size() == kVaultKeyHexChars &&
               sodium_hex2bin(key.bytes_.data(), key.bytes_.size(), digits.data(), digits.size(),
                              nullptr, &decoded, &end) == 0 &&
               decoded == kVaultKeyBytes && end == digits.data() + digits.size();
  if (!valid) {
    return Status("vault_key_invalid",
                  "the vault key from " + std::string(origin) +
                      " is not valid: it must be exactly 64 hexadecimal digits (a 32-byte key), "
                      "for example the output of `openssl rand -hex 32`");
  }
  return key;
}

VaultKey VaultKey::generate() {
  ensure_sodium();
  VaultKey key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.bytes_.data());
  return key;
}

VaultKey::VaultKey(VaultKey&& other) noexcept : bytes_(other.bytes_) {
  sodium_memzero(other.bytes_.data(), other.bytes_.size());
}

VaultKey& VaultKey::operator=(VaultKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    sodium_memzero(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

VaultKey::~VaultKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

SecretBytes VaultKey::to_hex() const {
  SecretBytes hex(kVaultKeyHexChars + 1);  // sodium_bin2hex writes a terminator
  sodium_bin2hex(reinterpret_cast<char*>(hex.data()), hex.size(), bytes_.data(), bytes_.size());
  SecretBytes digits(kVaultKeyHexChars);
  std::memcpy(digits.data(), hex.data(), kVaultKeyHexChars);
  return digits;
}

// ------------------------------------------------------------ key loading

Result<LoadedVaultKey> load_vault_key(const std::string& key_file) {
  ensure_sodium();
  const char* env = std::getenv(kVaultKeyEnv);
  if (env != nullptr && *env != '\0') {
    std::string origin = std::string("$") + kVaultKeyEnv;
    Result<VaultKey> key = VaultKey::from_hex(env, origin);
    if (!key.ok()) return key.status();
    return LoadedVaultKey{std::move(key).value(), origin};
  }
  if (key_file.empty()) {
    return Status("vault_key_io", std::string("no vault key: set $") + kVaultKeyEnv +
                                      " to 64 hex digits or give a key file");
  }
  std::string origin = "key file " + key_file;
  // Two rounds at most: missing → we create it (or lose the race) → read.
  for (int round = 0; round < 2; ++round) {
    bool missing = false;
    Result<SecretBytes> content = read_key_file(key_file, &missing);
    if (!content.ok()) return content.status();
    if (!missing) {
      Result<VaultKey> key = VaultKey::from_hex(content->view(), origin);
      if (!key.ok()) return key.status();
      return LoadedVaultKey{std::move(key).value(), origin};
    }
    Result<bool> created = create_key_file(key_file);
    if (!created.ok()) return created.status();
  }
  return key_io("cannot read", key_file, ENOENT);  // created, then removed under us
}

// ---------------------------------------------------------------- sealing

SealedBox seal(const VaultKey& key, std::span<const unsigned char> plaintext,
               std::string_view associated_data) {
  ensure_sodium();
  SealedBox box;
  randombytes_buf(box.nonce.data(), box.nonce.size());
  box.ciphertext.resize(plaintext.size() + kVaultTagBytes);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      box.ciphertext.data(), &length, plaintext.data(), plaintext.size(),
      reinterpret_cast<const unsigned char*>(associated_data.data()), associated_data.size(),
      nullptr, box.nonce.data(), key.data());
  box.ciphertext.resize(static_cast<size_t>(length));
  return box;
}

Result<SecretBytes> open_sealed(const VaultKey& key, std::span<const unsigned char> nonce,
                                std::span<const unsigned char> ciphertext,
                                std::string_view associated_data) {
  ensure_sodium();
  auto failed = [] {
    return Status("vault_decrypt_failed",
                  "a sealed value does not decrypt with this key and associated data");
  };
  if (nonce.size() != kVaultNonceBytes || ciphertext.size() < kVaultTagBytes) return failed();
  SecretBytes plaintext(ciphertext.size() - kVaultTagBytes);
  unsigned long long length = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext.data(), &length, nullptr, ciphertext.data(), ciphertext.size(),
          reinterpret_cast<const unsigned char*>(associated_data.data()), associated_data.size(),
          nonce.data(), key.data()) != 0) {
    return failed();
  }
  return plaintext;
}

}  // namespace flowline
