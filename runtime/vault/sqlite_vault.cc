// The SQLite TokenVault. One connection per vault, shared by threads under
// a mutex; processes coordinate through SQLite's file locks. Every write is
// a single statement (its own transaction) or a BEGIN IMMEDIATE transaction,
// so a crash leaves the old row or the new one.
//
// Durability: journal_mode=WAL with synchronous=FULL. With NORMAL, WAL
// commits are not fsync'ed and the last ones can vanish on power loss; a
// refresh whose rotated refresh token is lost that way leaves the user with
// a dead refresh token, so each token write pays one fsync (a few ms) —
// token writes are rare (a login, an hourly refresh).
//
// At rest: access token, refresh token and token type are one length-
// prefixed payload sealed with XChaCha20-Poly1305 under a fresh nonce, with
// "credential\0user" as associated data (names cannot hold NUL, so the
// binding is unambiguous). State, times, scope and has_refresh are clear so
// that list() needs no key. secure_delete zeroes freed pages, so an old
// ciphertext does not linger in free space.

#include <sys/stat.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <utility>

#include "runtime/vault/sqlite_db.h"
#include "runtime/vault/token_vault.h"
#include "runtime/vault/vault_crypto.h"

namespace flowline {

namespace {

constexpr std::string_view kSchemaComponent = "vault";

// Append-only: each entry takes the vault schema one version further.
constexpr SqliteMigration kVaultMigrations[] = {
    {R"sql(
CREATE TABLE vault_meta (
  name  TEXT PRIMARY KEY NOT NULL,
  value BLOB NOT NULL
);
CREATE TABLE tokens (
  credential  TEXT NOT NULL,
  user        TEXT NOT NULL,
  nonce       BLOB NOT NULL,
  ciphertext  BLOB NOT NULL,
  state       TEXT NOT NULL CHECK (state IN ('valid', 'needs_login')),
  expires_at  INTEGER,            -- unix ms; NULL: no expiry given
  obtained_at INTEGER NOT NULL,   -- unix ms
  scope       TEXT NOT NULL,
  has_refresh INTEGER NOT NULL,
  version     INTEGER NOT NULL,
  PRIMARY KEY (credential, user)
);
CREATE TABLE token_leases (
  credential  TEXT NOT NULL,
  user        TEXT NOT NULL,
  owner       TEXT NOT NULL,
  acquired_at INTEGER NOT NULL,   -- unix ms
  PRIMARY KEY (credential, user)
);
)sql"},
};

// The key check: a fixed marker sealed under the vault key when the vault
// is created, opened again on every later open.
constexpr const char* kKeyCheckName = "key_check";
constexpr std::string_view kKeyCheckMarker = "flowline token vault key check, version 1";
// (A string_view literal: the embedded NUL is part of it.)
using std::string_view_literals::operator""sv;
constexpr std::string_view kKeyCheckAssociatedData = "flowline-vault\0key_check"sv;

constexpr unsigned char kPayloadFormat = 1;

// ------------------------------------------------------------- conversions

int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

SystemTime from_unix_ms(int64_t ms) {
  return SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(std::chrono::milliseconds(ms)));
}

const char* state_name(TokenState state) {
  return state == TokenState::NeedsLogin ? "needs_login" : "valid";
}

std::optional<TokenState> parse_state(const std::string& name) {
  if (name == "valid") return TokenState::Valid;
  if (name == "needs_login") return TokenState::NeedsLogin;
  return std::nullopt;
}

std::string associated_data(const std::string& credential, const std::string& user) {
  std::string ad = credential;
  ad.push_back('\0');
  ad += user;
  return ad;
}

std::string describe(const std::string& credential, const std::string& user) {
  return "credential '" + credential + "', user '" + user + "'";
}

std::string login_hint(const std::string& credential, const std::string& user) {
  if (user == kSystemUser) return "`flowline token login " + credential + " --system`";
  return "`flowline token login " + credential + " --user " + user + "`";
}

// SQLite's codes as the vault's, with the vault file named in the message.
Status vault_status(const Status& status, const std::string& path) {
  if (status.ok()) return status;
  const std::string& code = status.code();
  std::string mapped = code == "sqlite_busy"             ? "vault_busy"
                       : code == "sqlite_corrupt"        ? "vault_corrupt"
                       : code == "sqlite_schema_too_new" ? "vault_schema_too_new"
                       : code == "sqlite_io" || code == "sqlite_full" || code == "io_error"
                           ? "vault_io"
                           : "vault_error";
  return Status(std::move(mapped), "token vault " + path + ": " + status.message());
}

Status check_name(const std::string& what, const std::string& value) {
  if (value.empty()) return Status("vault_name_invalid", "the " + what + " name is empty");
  if (value.find('\0') != std::string::npos) {
    return Status("vault_name_invalid", "the " + what + " name contains a NUL byte");
  }
  if (value.size() > kMaxVaultNameBytes) {
    return Status("vault_name_invalid", "the " + what + " name is " + std::to_string(value.size()) +
                                            " bytes; the vault allows at most " +
                                            std::to_string(kMaxVaultNameBytes));
  }
  return Status();
}

Status check_names(const std::string& credential, const std::string& user) {
  Status status = check_name("credential", credential);
  return status.ok() ? check_name("user", user) : status;
}

// ----------------------------------------------------------------- payload
// [format:1][len:4 LE][access][len:4 LE][refresh][len:4 LE][token_type]

void put_length(unsigned char* out, size_t length) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>(length >> (8 * i));
}

SecretBytes serialize_payload(const StoredToken& token) {
  const std::string* fields[] = {&token.access_token, &token.refresh_token, &token.token_type};
  size_t size = 1;
  for (const std::string* field : fields) size += 4 + field->size();
  SecretBytes payload(size);
  unsigned char* out = payload.data();
  *out++ = kPayloadFormat;
  for (const std::string* field : fields) {
    put_length(out, field->size());
    out += 4;
    std::memcpy(out, field->data(), field->size());
    out += field->size();
  }
  return payload;
}

// Fills the secret fields of `token`; false when the payload is malformed.
bool parse_payload(const SecretBytes& payload, StoredToken* token) {
  const unsigned char* in = payload.data();
  size_t left = payload.size();
  if (left < 1 || *in != kPayloadFormat) return false;
  ++in;
  --left;
  std::string* fields[] = {&token->access_token, &token->refresh_token, &token->token_type};
  for (std::string* field : fields) {
    if (left < 4) return false;
    size_t length = 0;
    for (int i = 0; i < 4; ++i) length |= static_cast<size_t>(in[i]) << (8 * i);
    in += 4;
    left -= 4;
    if (length > left) return false;
    field->assign(reinterpret_cast<const char*>(in), length);
    in += length;
    left -= length;
  }
  return left == 0;
}

// ------------------------------------------------------------------- vault

struct Statements {
  SqliteStatement select_token;
  SqliteStatement upsert_token;
  SqliteStatement swap_token;
  SqliteStatement delete_token;
  SqliteStatement list_tokens;
  SqliteStatement acquire_lease;
  SqliteStatement release_lease;
  SqliteStatement select_key_check;
};

Result<Statements> prepare_statements(SqliteDb& db) {
  const char* sql[] = {
      "SELECT nonce, ciphertext, state, expires_at, obtained_at, scope, version"
      " FROM tokens WHERE credential = ?1 AND user = ?2",
      "INSERT INTO tokens (credential, user, nonce, ciphertext, state, expires_at, obtained_at,"
      " scope, has_refresh, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1)"
      " ON CONFLICT (credential, user) DO UPDATE SET nonce = excluded.nonce,"
      " ciphertext = excluded.ciphertext, state = excluded.state,"
      " expires_at = excluded.expires_at, obtained_at = excluded.obtained_at,"
      " scope = excluded.scope, has_refresh = excluded.has_refresh,"
      " version = tokens.version + 1",
      "UPDATE tokens SET nonce = ?3, ciphertext = ?4, state = ?5, expires_at = ?6,"
      " obtained_at = ?7, scope = ?8, has_refresh = ?9, version = version + 1"
      " WHERE credential = ?1 AND user = ?2 AND version = ?10",
      "DELETE FROM tokens WHERE credential = ?1 AND user = ?2",
      "SELECT credential, user, state, expires_at, obtained_at, scope, has_refresh"
      " FROM tokens ORDER BY credential, user",
      // One statement, so one transaction: insert, or take over when the
      // holder is `owner` itself or its lease is stale (older than ttl, or
      // dated in the future beyond ttl after a clock step back).
      "INSERT INTO token_leases (credential, user, owner, acquired_at) VALUES (?1, ?2, ?3, ?4)"
      " ON CONFLICT (credential, user) DO UPDATE SET owner = excluded.owner,"
      " acquired_at = excluded.acquired_at"
      " WHERE token_leases.owner = excluded.owner OR token_leases.acquired_at <= ?5"
      " OR token_leases.acquired_at > ?6",
      "DELETE FROM token_leases WHERE credential = ?1 AND user = ?2 AND owner = ?3",
      "SELECT value FROM vault_meta WHERE name = 'key_check'",
  };
  std::vector<SqliteStatement> prepared;
  for (const char* text : sql) {
    Result<SqliteStatement> stmt = db.prepare(text);
    if (!stmt.ok()) return stmt.status();
    prepared.push_back(std::move(stmt).value());
  }
  return Statements{std::move(prepared[0]), std::move(prepared[1]), std::move(prepared[2]),
                    std::move(prepared[3]), std::move(prepared[4]), std::move(prepared[5]),
                    std::move(prepared[6]), std::move(prepared[7])};
}

// The sealed key check as stored: nonce then ciphertext.
std::vector<unsigned char> seal_key_check(const VaultKey& key) {
  SealedBox box = seal(
      key, {reinterpret_cast<const unsigned char*>(kKeyCheckMarker.data()), kKeyCheckMarker.size()},
      kKeyCheckAssociatedData);
  std::vector<unsigned char> value(box.nonce.begin(), box.nonce.end());
  value.insert(value.end(), box.ciphertext.begin(), box.ciphertext.end());
  return value;
}

bool key_check_matches(const VaultKey& key, std::span<const unsigned char> value) {
  if (value.size() < kVaultNonceBytes) return false;
  Result<SecretBytes> marker = open_sealed(
      key, value.first(kVaultNonceBytes), value.subspan(kVaultNonceBytes), kKeyCheckAssociatedData);
  return marker.ok() && marker->view() == kKeyCheckMarker;
}

Status key_mismatch(const LoadedVaultKey& key, const std::string& path) {
  return Status("vault_key_mismatch",
                "the vault key from " + key.origin + " does not match the key token vault " + path +
                    " was created with; nothing was changed. Use the original key (restore the "
                    "key file or set $" +
                    kVaultKeyEnv + "), or move " + path + " aside to start an empty vault");
}

class SqliteVault final : public TokenVault {
 public:
  SqliteVault(std::string path, LoadedVaultKey key, std::function<SystemTime()> now,
              std::unique_ptr<SqliteDb> db, Statements statements)
      : path_(std::move(path)),
        key_(std::move(key)),
        now_(std::move(now)),
        db_(std::move(db)),
        stmts_(std::move(statements)) {}

  Result<std::optional<StoredToken>> get(const std::string& credential,
                                         const std::string& user) override;
  Status put(const std::string& credential, const std::string& user,
             const StoredToken& token) override;
  Result<bool> compare_and_swap(const std::string& credential, const std::string& user,
                                int64_t expected_version, const StoredToken& token) override;
  Status remove(const std::string& credential, const std::string& user) override;
  Result<std::vector<TokenInfo>> list() override;
  Result<bool> try_acquire_lease(const std::string& credential, const std::string& user,
                                 const std::string& owner, std::chrono::milliseconds ttl) override;
  Status release_lease(const std::string& credential, const std::string& user,
                       const std::string& owner) override;

 private:
  // Seals `token` and binds parameters ?1..?9 of the upsert or swap.
  Status bind_token(SqliteStatement& stmt, const std::string& credential, const std::string& user,
                    const StoredToken& token);
  // Why a row would not decrypt: the whole vault's key, or this row.
  Status undecryptable(const std::string& credential, const std::string& user);
  Status to_status(const Status& status) const { return vault_status(status, path_); }

  const std::string path_;
  const LoadedVaultKey key_;
  const std::function<SystemTime()> now_;
  std::mutex mu_;  // guards db_ and stmts_
  std::unique_ptr<SqliteDb> db_;
  Statements stmts_;  // declared after db_: finalized before it closes
};

Status SqliteVault::bind_token(SqliteStatement& stmt, const std::string& credential,
                               const std::string& user, const StoredToken& token) {
  SecretBytes payload = serialize_payload(token);
  size_t stored = payload.size() + token.scope.size();
  if (stored > kMaxStoredTokenBytes) {
    return Status("token_too_large", "the token for " + describe(credential, user) + " is " +
                                         std::to_string(stored) +
                                         " bytes (tokens, type and scope); the vault stores at "
                                         "most " +
                                         std::to_string(kMaxStoredTokenBytes));
  }
  SealedBox box = seal(key_.key, payload.span(), associated_data(credential, user));
  stmt.bind(1, credential)
      .bind(2, user)
      .bind_blob(3, box.nonce)
      .bind_blob(4, box.ciphertext)
      .bind(5, std::string_view(state_name(token.state)))
      .bind(6, token.expires_at ? std::optional<int64_t>(to_unix_ms(*token.expires_at))
                                : std::optional<int64_t>())
      .bind(7, to_unix_ms(token.obtained_at))
      .bind(8, token.scope)
      .bind(9, int64_t{token.refresh_token.empty() ? 0 : 1});
  return Status();
}

Status SqliteVault::undecryptable(const std::string& credential, const std::string& user) {
  StatementResetter reset(stmts_.select_key_check);
  Result<bool> row = stmts_.select_key_check.step();
  if (row.ok() && *row && !key_check_matches(key_.key, stmts_.select_key_check.column_blob(0))) {
    return key_mismatch(key_, path_);
  }
  return Status("vault_corrupt", "the stored token for " + describe(credential, user) + " in " +
                                     path_ +
                                     " does not decrypt: it was altered or copied from another "
                                     "row; log in again with " +
                                     login_hint(credential, user));
}

Result<std::optional<StoredToken>> SqliteVault::get(const std::string& credential,
                                                    const std::string& user) {
  Status names = check_names(credential, user);
  if (!names.ok()) return names;
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.select_token;
  StatementResetter reset(stmt);
  stmt.bind(1, credential).bind(2, user);
  Result<bool> row = stmt.step();
  if (!row.ok()) return to_status(row.status());
  if (!*row) return std::optional<StoredToken>();

  StoredToken token;
  std::optional<TokenState> state = parse_state(stmt.column_text(2));
  if (!state) {
    return Status("vault_corrupt", "the stored token for " + describe(credential, user) +
                                       " has an unknown state; log in again with " +
                                       login_hint(credential, user));
  }
  token.state = *state;
  if (!stmt.column_is_null(3)) token.expires_at = from_unix_ms(stmt.column_int64(3));
  token.obtained_at = from_unix_ms(stmt.column_int64(4));
  token.scope = stmt.column_text(5);
  token.version = stmt.column_int64(6);
  Result<SecretBytes> payload = open_sealed(key_.key, stmt.column_blob(0), stmt.column_blob(1),
                                            associated_data(credential, user));
  if (!payload.ok() || !parse_payload(*payload, &token)) {
    // Zero what a half-parsed payload left behind before it is dropped.
    token.access_token.assign(token.access_token.size(), '\0');
    token.refresh_token.assign(token.refresh_token.size(), '\0');
    return undecryptable(credential, user);
  }
  return std::optional<StoredToken>(std::move(token));
}

Status SqliteVault::put(const std::string& credential, const std::string& user,
                        const StoredToken& token) {
  Status names = check_names(credential, user);
  if (!names.ok()) return names;
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.upsert_token;
  StatementResetter reset(stmt);
  Status bound = bind_token(stmt, credential, user, token);
  if (!bound.ok()) return bound;
  return to_status(stmt.run());
}

Result<bool> SqliteVault::compare_and_swap(const std::string& credential, const std::string& user,
                                           int64_t expected_version, const StoredToken& token) {
  Status names = check_names(credential, user);
  if (!names.ok()) return names;
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.swap_token;
  StatementResetter reset(stmt);
  Status bound = bind_token(stmt, credential, user, token);
  if (!bound.ok()) return bound;
  stmt.bind(10, expected_version);
  Status ran = stmt.run();
  if (!ran.ok()) return to_status(ran);
  return db_->changes() == 1;
}

Status SqliteVault::remove(const std::string& credential, const std::string& user) {
  Status names = check_names(credential, user);
  if (!names.ok()) return names;
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.delete_token;
  StatementResetter reset(stmt);
  stmt.bind(1, credential).bind(2, user);
  return to_status(stmt.run());
}

Result<std::vector<TokenInfo>> SqliteVault::list() {
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.list_tokens;
  StatementResetter reset(stmt);
  std::vector<TokenInfo> tokens;
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.ok()) return to_status(row.status());
    if (!*row) break;
    TokenInfo info;
    info.credential = stmt.column_text(0);
    info.user = stmt.column_text(1);
    std::optional<TokenState> state = parse_state(stmt.column_text(2));
    if (!state) {
      return Status(
          "vault_corrupt",
          "the stored token for " + describe(info.credential, info.user) + " has an unknown state");
    }
    info.state = *state;
    if (!stmt.column_is_null(3)) info.expires_at = from_unix_ms(stmt.column_int64(3));
    info.obtained_at = from_unix_ms(stmt.column_int64(4));
    info.scope = stmt.column_text(5);
    info.has_refresh_token = stmt.column_int64(6) != 0;
    tokens.push_back(std::move(info));
  }
  return tokens;
}

Result<bool> SqliteVault::try_acquire_lease(const std::string& credential, const std::string& user,
                                            const std::string& owner,
                                            std::chrono::milliseconds ttl) {
  Status names = check_names(credential, user);
  if (names.ok()) names = check_name("lease owner", owner);
  if (!names.ok()) return names;
  int64_t now = to_unix_ms(now_ ? now_() : std::chrono::system_clock::now());
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.acquire_lease;
  StatementResetter reset(stmt);
  stmt.bind(1, credential)
      .bind(2, user)
      .bind(3, owner)
      .bind(4, now)
      .bind(5, now - ttl.count())
      .bind(6, now + ttl.count());
  Status ran = stmt.run();
  if (!ran.ok()) return to_status(ran);
  return db_->changes() == 1;
}

Status SqliteVault::release_lease(const std::string& credential, const std::string& user,
                                  const std::string& owner) {
  Status names = check_names(credential, user);
  if (names.ok()) names = check_name("lease owner", owner);
  if (!names.ok()) return names;
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_.release_lease;
  StatementResetter reset(stmt);
  stmt.bind(1, credential).bind(2, user).bind(3, owner);
  return to_status(stmt.run());
}

// ------------------------------------------------------------------ opening

// The stored key check, or nullopt when the vault has none yet.
Result<std::optional<std::vector<unsigned char>>> read_key_check(SqliteDb& db) {
  Result<std::optional<std::string>> table =
      db.query_text("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'vault_meta'");
  if (!table.ok()) return table.status();
  if (!table->has_value()) return std::optional<std::vector<unsigned char>>();
  Result<SqliteStatement> stmt = db.prepare("SELECT value FROM vault_meta WHERE name = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, std::string_view(kKeyCheckName));
  Result<bool> row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::vector<unsigned char>>();
  std::span<const unsigned char> value = stmt->column_blob(0);
  return std::optional<std::vector<unsigned char>>(
      std::vector<unsigned char>(value.begin(), value.end()));
}

// journal_mode=WAL needs a moment of exclusive access the first time; when
// several processes create the vault at once, retry until the busy timeout.
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

// Stores the key check on first open; verifies it when a racing process
// stored one first.
Status store_key_check(SqliteDb& db, const LoadedVaultKey& key, const std::string& path) {
  Result<SqliteTransaction> txn = SqliteTransaction::begin_immediate(db);
  if (!txn.ok()) return txn.status();
  Result<std::optional<std::vector<unsigned char>>> existing = read_key_check(db);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    if (!key_check_matches(key.key, **existing)) return key_mismatch(key, path);
    return Status();  // rolled back: nothing to write
  }
  Result<SqliteStatement> insert =
      db.prepare("INSERT INTO vault_meta (name, value) VALUES (?1, ?2)");
  if (!insert.ok()) return insert.status();
  Status status =
      insert->bind(1, std::string_view(kKeyCheckName)).bind_blob(2, seal_key_check(key.key)).run();
  if (!status.ok()) return status;
  return txn->commit();
}

// Takes group and other permissions off SQLite's companion files if an
// older, looser vault file left them so.
void tighten_if_present(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    ::chmod(path.c_str(), st.st_mode & 0700);
  }
}

Result<std::unique_ptr<TokenVault>> open_vault(const std::string& path, const std::string& key_file,
                                               const SqliteVaultOptions& options) {
  Result<LoadedVaultKey> key = load_vault_key(key_file);
  if (!key.ok()) return key.status();
  auto fail = [&](const Status& status) { return vault_status(status, path); };

  Status status = ensure_private_directory(parent_directory(path));
  if (status.ok()) status = ensure_private_file(path);
  if (!status.ok()) return fail(status);
  tighten_if_present(path + "-wal");
  tighten_if_present(path + "-shm");

  Result<std::unique_ptr<SqliteDb>> db =
      SqliteDb::open(path, {SqliteOpenMode::ReadWrite, options.busy_timeout});
  if (!db.ok()) return fail(db.status());
  SqliteDb& conn = **db;
  // Connection settings only: nothing is written yet.
  status = conn.exec("PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;");
  if (!status.ok()) return fail(status);

  // Check the key before anything writes, so a wrong key changes nothing.
  Result<std::optional<std::vector<unsigned char>>> check = read_key_check(conn);
  if (!check.ok()) return fail(check.status());
  if (check->has_value() && !key_check_matches(key->key, **check)) {
    return key_mismatch(*key, path);
  }

  status = enable_wal(conn);
  // synchronous is per connection and must follow the journal mode change.
  if (status.ok()) status = conn.exec("PRAGMA synchronous = FULL");
  if (status.ok()) status = apply_migrations(conn, kSchemaComponent, kVaultMigrations);
  if (status.ok() && !check->has_value()) status = store_key_check(conn, *key, path);
  if (status.code() == "vault_key_mismatch") return status;
  if (!status.ok()) return fail(status);

  Result<Statements> statements = prepare_statements(conn);
  if (!statements.ok()) return fail(statements.status());
  return std::unique_ptr<TokenVault>(new SqliteVault(path, std::move(key).value(), options.now,
                                                     std::move(db).value(),
                                                     std::move(statements).value()));
}

}  // namespace

Result<std::unique_ptr<TokenVault>> open_sqlite_vault(const std::string& path,
                                                      const std::string& key_file) {
  return open_vault(path, key_file, SqliteVaultOptions{});
}

Result<std::unique_ptr<TokenVault>> open_sqlite_vault(const std::string& path,
                                                      const std::string& key_file,
                                                      const SqliteVaultOptions& options) {
  return open_vault(path, key_file, options);
}

}  // namespace flowline
