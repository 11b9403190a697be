// TokenVault: where each user's OAuth tokens live between runs.
//
// A token is stored per (credential, user); a system credential's shared
// token uses the user kSystemUser. Access and refresh tokens are encrypted
// at rest; list() never returns them. Implementations are safe to use from
// several threads and several processes at once.
//
// Failure: every call returns a Status rather than throwing. The codes:
//   "vault_key_invalid"    the key is not 64 hex digits
//   "vault_key_insecure"   the key file is open to group or others
//   "vault_key_mismatch"   the key is not the one the vault was created with
//                          (nothing is changed or deleted because of it)
//   "vault_key_io", "vault_io"  the key file / vault file cannot be made or read
//   "vault_corrupt"        a stored token is damaged, or was moved to another
//                          (credential, user) row
//   "vault_busy"           another process held the database lock for longer
//                          than the busy timeout
//   "vault_schema_too_new" the file was written by a newer Flowline
//   "vault_name_invalid"   an empty credential, user or owner, one with a NUL
//                          byte, or one longer than kMaxVaultNameBytes
//   "token_too_large"      access + refresh token + type + scope exceed
//                          kMaxStoredTokenBytes
//   "vault_error"          any other database failure
// Messages name the credential, the user and files, never a token or a key.
//
// Calls block: a write waits for the database lock (up to the busy timeout,
// 5 s by default) and for the disk (a token write is fsync'ed). Do not call
// them from the event-loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/status.h"

namespace flowline {

using SystemTime = std::chrono::system_clock::time_point;

inline constexpr const char* kSystemUser = "*system*";

// Limits, each with its own error (see above).
inline constexpr size_t kMaxStoredTokenBytes = 64 * 1024;
inline constexpr size_t kMaxVaultNameBytes = 1024;  // credential, user, lease owner

enum class TokenState { Valid, NeedsLogin };

struct StoredToken {
  std::string access_token;
  std::string refresh_token;  // may be empty
  std::string token_type = "Bearer";
  std::string scope;  // space-separated, as granted
  std::optional<SystemTime> expires_at;
  SystemTime obtained_at{};  // expires_at and obtained_at are kept to the millisecond
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
  // Inserts or replaces; the stored version becomes (old version + 1), or 1
  // for a new row. `token.version` is ignored.
  virtual Status put(const std::string& credential, const std::string& user,
                     const StoredToken& token) = 0;
  // Replaces the token only if its version is still `expected_version`
  // (the stored version then becomes expected_version + 1). Returns false
  // (and changes nothing) when someone else wrote first or the row is gone.
  virtual Result<bool> compare_and_swap(const std::string& credential, const std::string& user,
                                        int64_t expected_version, const StoredToken& token) = 0;
  // Deletes the token (ok when there was none). Leases are not touched.
  virtual Status remove(const std::string& credential, const std::string& user) = 0;
  // Every stored token, ordered by (credential, user); decrypts nothing.
  virtual Result<std::vector<TokenInfo>> list() = 0;

  // The refresh lease: at most one holder per (credential, user) across
  // threads and processes. Returns true when `owner` now holds it (or already
  // did, in which case it is renewed from now); a lease older than `ttl` is
  // taken over. Never held across I/O by the vault itself: callers take it,
  // refresh, write, release. A lease dated more than `ttl` in the future (the
  // clock went back) also counts as stale, so a clock step cannot wedge it.
  virtual Result<bool> try_acquire_lease(const std::string& credential, const std::string& user,
                                         const std::string& owner,
                                         std::chrono::milliseconds ttl) = 0;
  // Releases the lease if `owner` holds it; ok (and a no-op) otherwise.
  virtual Status release_lease(const std::string& credential, const std::string& user,
                               const std::string& owner) = 0;
};

struct SqliteVaultOptions {
  // How long a call waits for another connection's lock before "vault_busy".
  std::chrono::milliseconds busy_timeout{5000};
  // The clock that dates leases; empty: std::chrono::system_clock.
  std::function<SystemTime()> now;
};

// Opens (creating if needed) the SQLite vault at `path`: its directory is
// created 0700 when missing, the file (and SQLite's -wal/-shm beside it)
// 0600, journal_mode=WAL with synchronous=FULL so that a committed token
// survives a crash or power loss. The 32-byte key comes from
// $FLOWLINE_VAULT_KEY (64 hex digits) when set, else from `key_file`
// (created 0600 with a random key on first use). The first open stores a
// check value sealed with the key; later opens with another key fail with
// "vault_key_mismatch" before anything is written. Opening an existing,
// current vault only reads it.
//
// The returned vault owns one connection, shared by its callers under a
// mutex. Tokens and leases are shared with every other process that opens
// the same file.
Result<std::unique_ptr<TokenVault>> open_sqlite_vault(const std::string& path,
                                                      const std::string& key_file);
Result<std::unique_ptr<TokenVault>> open_sqlite_vault(const std::string& path,
                                                      const std::string& key_file,
                                                      const SqliteVaultOptions& options);

}  // namespace flowline
