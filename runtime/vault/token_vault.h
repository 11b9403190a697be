// TokenVault: where each user's OAuth tokens live between runs.
//
// A token is stored per (credential, user); a system credential's shared
// token uses the user kSystemUser. Access and refresh tokens are encrypted
// at rest; list() never returns them. Implementations are safe to use from
// several threads and several processes at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace flowline {

using SystemTime = std::chrono::system_clock::time_point;

inline constexpr const char* kSystemUser = "*system*";

enum class TokenState { Valid, NeedsLogin };

struct StoredToken {
  std::string access_token;
  std::string refresh_token;  // may be empty
  std::string token_type = "Bearer";
  std::string scope;          // space-separated, as granted
  std::optional<SystemTime> expires_at;
  SystemTime obtained_at{};
  TokenState state = TokenState::Valid;
  // Bumped on every write; compare_and_swap() takes the version it read.
  int64_t version = 0;
};

// What `token list` / `token status` show: never the token values.
struct TokenInfo {
  std::string credential;
  std::string user;
  TokenState state = TokenState::Valid;
  std::optional<SystemTime> expires_at;
  SystemTime obtained_at{};
  std::string scope;
  bool has_refresh_token = false;
};

class TokenVault {
 public:
  virtual ~TokenVault() = default;

  // The token, or nullopt when there is none. A Status when the vault cannot
  // be read or the key does not decrypt it ("vault_key_mismatch").
  virtual Result<std::optional<StoredToken>> get(const std::string& credential,
                                                 const std::string& user) = 0;
  // Inserts or replaces; the stored version becomes (old version + 1).
  virtual Status put(const std::string& credential, const std::string& user,
                     const StoredToken& token) = 0;
  // Replaces the token only if its version is still `expected_version`.
  // Returns false (and changes nothing) when someone else wrote first.
  virtual Result<bool> compare_and_swap(const std::string& credential, const std::string& user,
                                        int64_t expected_version, const StoredToken& token) = 0;
  virtual Status remove(const std::string& credential, const std::string& user) = 0;
  virtual Result<std::vector<TokenInfo>> list() = 0;

  // The refresh lease: at most one holder per (credential, user) across
  // threads and processes. Returns true when `owner` now holds it (or already
  // did); a lease older than `ttl` is taken over. Never held across I/O by
  // the vault itself: callers take it, refresh, write, release.
  virtual Result<bool> try_acquire_lease(const std::string& credential, const std::string& user,
                                         const std::string& owner,
                                         std::chrono::milliseconds ttl) = 0;
  virtual Status release_lease(const std::string& credential, const std::string& user,
                               const std::string& owner) = 0;
};

// Opens (creating if needed) the SQLite vault at `path` (file mode 0600, WAL).
// The 32-byte key comes from $FLOWLINE_VAULT_KEY (64 hex digits) when set,
// else from `key_file` (created 0600 with a random key on first use).
Result<std::unique_ptr<TokenVault>> open_sqlite_vault(const std::string& path,
                                                      const std::string& key_file);

}  // namespace flowline
