// Personal auth initiator links (`flowline token url` / `flowline token serve`):
// a link that lets one named user authorize one credential from their own
// browser, without running the CLI.
//
// A link is  BASE/authorize?link=PAYLOAD.MAC  where PAYLOAD is the
// base64url (no padding) of "v1\n<credential>\n<user>\n<expires unix s>\n<nonce>"
// and MAC is the base64url of HMAC-SHA-512-256 (libsodium crypto_auth) of
// the PAYLOAD text under a signing key derived from the vault key with
// crypto_kdf (context "flinitia", subkey 1). So:
//   - it cannot be forged or altered (changing the user or the credential
//     breaks the MAC; MACs are compared in constant time, and nothing in the
//     payload is read before its MAC checks out),
//   - it expires (checked against the caller's clock),
//   - it is used once: LinkLedger records each nonce when a login starts,
//     in SQLite, so a second use is refused even after a restart.
//
// Thread-safety: sign/verify are pure; LinkLedger is safe from several
// threads and processes (SQLite, one connection under a mutex).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "runtime/status.h"
#include "runtime/vault/token_vault.h"  // SystemTime
#include "runtime/vault/vault_crypto.h"

namespace flowline {

inline constexpr std::chrono::minutes kDefaultInitiatorLinkLifetime{15};
inline constexpr std::chrono::hours kMaxInitiatorLinkLifetime{24 * 7};

struct InitiatorLink {
  std::string credential;  // full name
  std::string user;
  SystemTime expires_at;  // whole seconds
  std::string nonce;      // 128 random bits, base64url
};

// The 32-byte signing key for links, derived from the vault key.
SecretBytes initiator_signing_key(const VaultKey& vault_key);

// A fresh link for (credential, user) valid for `lifetime` from `now`
// (nonce from the system CSPRNG). `lifetime` is clamped to
// [0, kMaxInitiatorLinkLifetime]: callers that take it from a user reject
// larger values with their own message. Names must be non-empty and hold no
// '\n' or NUL (credential and user names never do); a link made from such a
// name is refused by verify_initiator_link as "link_malformed", never read
// as another credential or user. The signed link must stay within 4 KiB,
// which leaves about 3000 bytes for credential and user together.
InitiatorLink make_initiator_link(std::string credential, std::string user, SystemTime now,
                                  std::chrono::seconds lifetime);

// The value of the `link` query parameter: "PAYLOAD.MAC" (URL-safe as is).
// `signing_key` comes from initiator_signing_key (here and in verify, a key
// that is not 32 bytes is a bug and aborts).
std::string sign_initiator_link(const InitiatorLink& link, const SecretBytes& signing_key);

// Checks a `link` parameter value. Status codes (messages never echo the MAC):
//   "link_malformed"  not PAYLOAD.MAC, bad base64url, wrong field count or
//                     version, empty credential/user/nonce, a NUL byte, an
//                     expiry that is not a decimal integer, oversize (> 4 KiB)
//   "link_forged"     the MAC does not match (altered or signed with another key)
//   "link_expired"    expires_at <= now (the message says when it expired)
Result<InitiatorLink> verify_initiator_link(const std::string& value,
                                            const SecretBytes& signing_key, SystemTime now);

// Which links have been used, in SQLite (the file is created 0600, its
// directory 0700; schema through apply_migrations, component "initiator";
// WAL with synchronous=FULL, so a consumed nonce survives a crash). Failures
// keep sqlite_db.h's codes ("sqlite_busy", "sqlite_io", "io_error", ...) with
// the ledger file named in the message. Non-copyable.
class LinkLedger {
 public:
  static Result<std::unique_ptr<LinkLedger>> open(const std::string& path);
  virtual ~LinkLedger() = default;
  LinkLedger(const LinkLedger&) = delete;
  LinkLedger& operator=(const LinkLedger&) = delete;

  // Records the link's nonce as used. Returns true when this call used it,
  // false when it had been used before (by any process). Atomic: of two
  // concurrent callers exactly one gets true. Rows whose link expired more
  // than a day ago are purged on the way; so that a purged nonce cannot be
  // replayed, an expired link (expires_at <= now) is refused with
  // "link_expired" and not recorded, and an empty nonce with "link_malformed".
  // Call it after verify_initiator_link, with the same clock.
  virtual Result<bool> consume(const InitiatorLink& link, SystemTime now) = 0;

 protected:
  LinkLedger() = default;
};

}  // namespace flowline
