// Initiator links: sign and verify (pure functions over libsodium) and the
// SQLite ledger of used nonces.
//
// verify_initiator_link checks the MAC before it reads a single field of the
// payload: until then the payload is attacker-controlled text, and nothing
// that depends on its content (decoding errors, field values) may leak into
// the answer.

#include "runtime/oauth/initiator.h"

#include <fmt/format.h>
#include <sodium.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/vault/sqlite_db.h"

namespace flowline {

namespace {

constexpr const char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "flinitia";
constexpr uint64_t kKdfSubkeyId = 1;
constexpr size_t kSigningKeyBytes = crypto_auth_KEYBYTES;
constexpr size_t kNonceBytes = 16;  // 128 bits
constexpr std::string_view kVersion = "v1";
constexpr size_t kFieldCount = 5;  // version, credential, user, expires, nonce
constexpr size_t kMaxLinkBytes = 4096;
static_assert(kSigningKeyBytes == 32 && crypto_kdf_KEYBYTES == kVaultKeyBytes);

constexpr int kBase64Variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// sodium_init() once per process (see vault_crypto.cc for why abort).
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

// A key of the wrong size is a caller bug, and reading 32 bytes from it
// would be worse than stopping.
void check_signing_key(const SecretBytes& key) {
  if (key.size() != kSigningKeyBytes) {
    std::fputs("flowline: an initiator link signing key must be 32 bytes (initiator_signing_key)\n",
               stderr);
    std::abort();
  }
}

std::string to_base64url(const unsigned char* bytes, size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, kBase64Variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, kBase64Variant);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::string to_base64url(std::string_view text) {
  return to_base64url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

// The bytes of canonical unpadded base64url `text` (sodium rejects stray
// characters, leftover bits and trailing input), or nullopt.
std::optional<std::string> from_base64url(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  size_t length = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, nullptr, kBase64Variant) != 0) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

int64_t unix_seconds(SystemTime t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

SystemTime from_unix_seconds(int64_t seconds) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::seconds(seconds)));
}

// "2025-03-01T12:00:00Z"
std::string utc_iso(SystemTime t) {
  time_t seconds = static_cast<time_t>(unix_seconds(t));
  struct tm tm;
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

Status malformed(std::string_view why) {
  return Status("link_malformed", fmt::format("this is not a valid Flowline authorization link "
                                              "({}); copy the whole link, or ask for a new one "
                                              "with `flowline token url`",
                                              why));
}

Status expired(const InitiatorLink& link) {
  return Status("link_expired",
                fmt::format("this authorization link for credential '{}' expired at {}; ask for "
                            "a new link (`flowline token url`)",
                            link.credential, utc_iso(link.expires_at)));
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

std::optional<int64_t> parse_decimal(std::string_view text) {
  int64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

// ------------------------------------------------------------------ links

SecretBytes initiator_signing_key(const VaultKey& vault_key) {
  ensure_sodium();
  SecretBytes key(kSigningKeyBytes);
  crypto_kdf_derive_from_key(key.data(), key.size(), kKdfSubkeyId, kKdfContext, vault_key.data());
  return key;
}

InitiatorLink make_initiator_link(std::string credential, std::string user, SystemTime now,
                                  std::chrono::seconds lifetime) {
  ensure_sodium();
  lifetime = std::clamp(lifetime, std::chrono::seconds(0),
                        std::chrono::seconds(kMaxInitiatorLinkLifetime));
  unsigned char nonce[kNonceBytes];
  randombytes_buf(nonce, sizeof nonce);
  InitiatorLink link;
  link.credential = std::move(credential);
  link.user = std::move(user);
  link.expires_at = from_unix_seconds(unix_seconds(now + lifetime));
  link.nonce = to_base64url(nonce, sizeof nonce);
  return link;
}

std::string sign_initiator_link(const InitiatorLink& link, const SecretBytes& signing_key) {
  ensure_sodium();
  check_signing_key(signing_key);
  std::string payload =
      to_base64url(fmt::format("{}\n{}\n{}\n{}\n{}", kVersion, link.credential, link.user,
                               unix_seconds(link.expires_at), link.nonce));
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
              signing_key.data());
  return payload + "." + to_base64url(mac, sizeof mac);
}

Result<InitiatorLink> verify_initiator_link(const std::string& value,
                                            const SecretBytes& signing_key, SystemTime now) {
  ensure_sodium();
  check_signing_key(signing_key);
  if (value.size() > kMaxLinkBytes) {
    return malformed(fmt::format("longer than {} bytes", kMaxLinkBytes));
  }
  std::vector<std::string_view> parts = split(value, '.');
  if (parts.size() != 2) return malformed("it is not two parts joined by '.'");
  std::string_view payload_text = parts[0];
  // A syntax check of the text the MAC covers, not a reading of it: a link
  // damaged in copying (a space, a quote) is malformed rather than forged.
  if (payload_text.empty() ||
      payload_text.find_first_not_of(kBase64UrlAlphabet) != std::string_view::npos) {
    return malformed("its content is not base64url");
  }
  std::optional<std::string> mac = from_base64url(parts[1]);
  if (!mac || mac->size() != crypto_auth_BYTES) return malformed("its signature is cut or garbled");
  if (crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac->data()),
                         reinterpret_cast<const unsigned char*>(payload_text.data()),
                         payload_text.size(), signing_key.data()) != 0) {
    return Status("link_forged",
                  "this authorization link was altered or was not issued by this Flowline "
                  "(its signature does not match); ask for a new link with `flowline token url`");
  }

  // Signed by us: from here on the payload is what sign_initiator_link wrote,
  // and the checks only catch links made from names it cannot carry.
  std::optional<std::string> payload = from_base64url(payload_text);
  if (!payload) return malformed("its content is not base64url");
  if (payload->find('\0') != std::string::npos) return malformed("its content holds a NUL byte");
  std::vector<std::string_view> fields = split(*payload, '\n');
  if (fields.size() != kFieldCount || fields[0] != kVersion) {
    return malformed("its content has the wrong version or number of fields");
  }
  if (fields[1].empty() || fields[2].empty() || fields[4].empty()) {
    return malformed("it names no credential, user or nonce");
  }
  std::optional<int64_t> expires = parse_decimal(fields[3]);
  if (!expires) return malformed("its expiry is not a number");

  InitiatorLink link;
  link.credential = std::string(fields[1]);
  link.user = std::string(fields[2]);
  link.expires_at = from_unix_seconds(*expires);
  link.nonce = std::string(fields[4]);
  if (link.expires_at <= now) return expired(link);
  return link;
}

// ----------------------------------------------------------------- ledger

namespace {

constexpr std::string_view kSchemaComponent = "initiator";
constexpr std::chrono::seconds kLedgerRetention = std::chrono::hours(24);

// Append-only: each entry takes the ledger schema one version further.
constexpr SqliteMigration kLedgerMigrations[] = {
    {R"sql(
CREATE TABLE initiator_used_links (
  nonce      TEXT PRIMARY KEY NOT NULL,
  credential TEXT NOT NULL,
  user       TEXT NOT NULL,
  expires_at INTEGER NOT NULL,   -- unix s
  used_at    INTEGER NOT NULL    -- unix s
);
CREATE INDEX initiator_used_links_expires_at ON initiator_used_links (expires_at);
)sql"},
};

Status ledger_status(const Status& status, const std::string& path) {
  if (status.ok()) return status;
  return Status(status.code(), fmt::format("link ledger {}: {}", path, status.message()));
}

// journal_mode=WAL needs a moment of exclusive access the first time; when
// several processes create the ledger at once, retry until the busy timeout.
// (The same loop as the vault's and the run store's.)
Status enable_wal(SqliteDb& db) {
  auto deadline = std::chrono::steady_clock::now() + db.busy_timeout();
  for (;;) {
    Result<std::optional<std::string>> mode = db.query_text("PRAGMA journal_mode = WAL");
    if (mode.ok()) {
      if (mode->value_or("") == "wal") return Status();
      return Status("sqlite_error", "cannot use write-ahead logging (journal mode is " +
                                        mode->value_or("unknown") + ")");
    }
    if (mode.status().code() != "sqlite_busy" || std::chrono::steady_clock::now() > deadline) {
      return mode.status();
    }
  }
}

class SqliteLinkLedger final : public LinkLedger {
 public:
  SqliteLinkLedger(std::string path, std::unique_ptr<SqliteDb> db, SqliteStatement insert,
                   SqliteStatement purge)
      : path_(std::move(path)),
        db_(std::move(db)),
        insert_(std::move(insert)),
        purge_(std::move(purge)) {}

  Result<bool> consume(const InitiatorLink& link, SystemTime now) override;

 private:
  Result<bool> consume_locked(const InitiatorLink& link, SystemTime now);

  const std::string path_;
  std::mutex mu_;  // guards db_ and the statements
  std::unique_ptr<SqliteDb> db_;
  SqliteStatement insert_;  // declared after db_: finalized before it closes
  SqliteStatement purge_;
};

Result<bool> SqliteLinkLedger::consume(const InitiatorLink& link, SystemTime now) {
  if (link.nonce.empty()) return malformed("it has no nonce");
  // A row is purged a day after its link expires; from then on only the
  // expiry stops a replay, so an expired link is never recorded.
  if (link.expires_at <= now) return expired(link);
  std::lock_guard lock(mu_);
  Result<bool> used = consume_locked(link, now);
  if (!used.ok()) return ledger_status(used.status(), path_);
  return used;
}

Result<bool> SqliteLinkLedger::consume_locked(const InitiatorLink& link, SystemTime now) {
  Result<SqliteTransaction> txn = SqliteTransaction::begin_immediate(*db_);
  if (!txn.ok()) return txn.status();
  bool inserted = false;
  {
    StatementResetter reset(insert_);
    Status ran = insert_.bind(1, link.nonce)
                     .bind(2, link.credential)
                     .bind(3, link.user)
                     .bind(4, unix_seconds(link.expires_at))
                     .bind(5, unix_seconds(now))
                     .run();
    if (!ran.ok()) return ran;
    inserted = db_->changes() == 1;
  }
  {
    StatementResetter reset(purge_);
    Status ran = purge_.bind(1, unix_seconds(now - kLedgerRetention)).run();
    if (!ran.ok()) return ran;
  }
  Status committed = txn->commit();
  if (!committed.ok()) return committed;
  return inserted;
}

}  // namespace

Result<std::unique_ptr<LinkLedger>> LinkLedger::open(const std::string& path) {
  auto fail = [&](const Status& status) { return ledger_status(status, path); };
  Status status = ensure_private_directory(parent_directory(path));
  if (status.ok()) status = ensure_private_file(path);
  if (!status.ok()) return fail(status);

  Result<std::unique_ptr<SqliteDb>> db = SqliteDb::open(path, {SqliteOpenMode::ReadWrite});
  if (!db.ok()) return fail(db.status());
  SqliteDb& conn = **db;
  status = enable_wal(conn);
  // A lost commit would let a link be used twice: fsync each one (FULL
  // must follow the journal mode change; consumes are rare).
  if (status.ok()) status = conn.exec("PRAGMA synchronous = FULL");
  if (status.ok()) status = apply_migrations(conn, kSchemaComponent, kLedgerMigrations);
  if (!status.ok()) return fail(status);

  Result<SqliteStatement> insert = conn.prepare(
      "INSERT INTO initiator_used_links (nonce, credential, user, expires_at, used_at)"
      " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (nonce) DO NOTHING");
  if (!insert.ok()) return fail(insert.status());
  Result<SqliteStatement> purge =
      conn.prepare("DELETE FROM initiator_used_links WHERE expires_at < ?1");
  if (!purge.ok()) return fail(purge.status());
  return std::unique_ptr<LinkLedger>(new SqliteLinkLedger(
      path, std::move(db).value(), std::move(insert).value(), std::move(purge).value()));
}

}  // namespace flowline
