// The vault's cryptography, on libsodium: the 32-byte vault key (from
// $FLOWLINE_VAULT_KEY or a key file), XChaCha20-Poly1305 sealing with
// associated data, and buffers that are wiped when they die.
//
// Nothing here puts a key, a plaintext or a token into a Status message: the
// messages name where a key came from (the variable, the file path) and the
// expected format, never the value.
//
// Thread-safety: every function is safe to call from several threads;
// VaultKey and SecretBytes are values (one owner each, like std::string).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"

namespace flowline {

inline constexpr const char* kVaultKeyEnv = "FLOWLINE_VAULT_KEY";
inline constexpr size_t kVaultKeyBytes = 32;     // crypto_aead_xchacha20poly1305_ietf_KEYBYTES
inline constexpr size_t kVaultKeyHexChars = 64;  // the key as written in the env var or file
inline constexpr size_t kVaultNonceBytes = 24;   // ..._NPUBBYTES: random per seal()
inline constexpr size_t kVaultTagBytes = 16;     // ..._ABYTES: added by seal()

// Bytes that are zeroed (sodium_memzero) when destroyed or overwritten.
// Move-only, so a secret has one owner and no stray copies.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t size) : bytes_(size) {}
  ~SecretBytes() { wipe(); }
  SecretBytes(SecretBytes&& other) noexcept = default;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  unsigned char* data() { return bytes_.data(); }
  const unsigned char* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  std::span<const unsigned char> span() const { return bytes_; }
  std::string_view view() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

 private:
  void wipe();
  std::vector<unsigned char> bytes_;  // never resized after construction
};

// The vault key: 32 bytes, wiped on destruction. Move-only.
class VaultKey {
 public:
  // Parses 64 hex digits (surrounding ASCII whitespace ignored). Fails with
  // "vault_key_invalid"; `origin` ("$FLOWLINE_VAULT_KEY", "key file /x")
  // names the source in the message.
  static Result<VaultKey> from_hex(std::string_view hex, std::string_view origin);
  // A fresh key from the system's CSPRNG.
  static VaultKey generate();

  VaultKey(VaultKey&& other) noexcept;
  VaultKey& operator=(VaultKey&& other) noexcept;
  ~VaultKey();
  VaultKey(const VaultKey&) = delete;
  VaultKey& operator=(const VaultKey&) = delete;

  // 64 lower-case hex digits: only for writing a new key file.
  SecretBytes to_hex() const;
  const unsigned char* data() const { return bytes_.data(); }

 private:
  VaultKey() = default;
  std::array<unsigned char, kVaultKeyBytes> bytes_{};
};

// A key and where it came from, for messages: "$FLOWLINE_VAULT_KEY" or
// "key file /home/a/.local/share/flowline/vault.key".
struct LoadedVaultKey {
  VaultKey key;
  std::string origin;
};

// $FLOWLINE_VAULT_KEY when it is set and not empty; otherwise `key_file`,
// created on first use (its directory 0700, the file 0600, by writing a
// temporary file and link()ing it into place, so the file never exists
// half-written and of two processes creating it at once one wins and the
// other reads the winner's key). Fails with:
//   "vault_key_invalid"   not 64 hex digits (the message gives the format)
//   "vault_key_insecure"  the key file is readable or writable by group or
//                         others, or is not a regular file
//   "vault_key_io"        the file or its directory cannot be read or made
Result<LoadedVaultKey> load_vault_key(const std::string& key_file);

// A sealed value: a fresh random nonce and the ciphertext with its tag.
struct SealedBox {
  std::array<unsigned char, kVaultNonceBytes> nonce{};
  std::vector<unsigned char> ciphertext;
};

// Encrypts and authenticates `plaintext`, binding `associated_data` (which
// is not stored: open() must be given the same bytes).
SealedBox seal(const VaultKey& key, std::span<const unsigned char> plaintext,
               std::string_view associated_data);
// The plaintext, or "vault_decrypt_failed" when the key, the nonce, the
// ciphertext or the associated data differ from what seal() was given.
Result<SecretBytes> open_sealed(const VaultKey& key, std::span<const unsigned char> nonce,
                                std::span<const unsigned char> ciphertext,
                                std::string_view associated_data);

}  // namespace flowline
