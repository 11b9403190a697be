// The SQLite token vault against real files: fields, versions, CAS, leases,
// encryption at rest, keys, file modes, and concurrency across threads and
// forked processes (including one killed in the middle of its writes).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "runtime/vault/token_vault.h"
#include "runtime/vault/vault_crypto.h"

namespace flowline {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kKeyA = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
constexpr const char* kKeyB = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
// Distinctive values, to search for in files and messages.
constexpr const char* kAccess = "ACCESS-d3adb33f-0123456789-plaintext-marker";
constexpr const char* kRefresh = "REFRESH-c0ffee42-9876543210-plaintext-marker";

SystemTime at_ms(int64_t ms) { return SystemTime(milliseconds(ms)); }

StoredToken sample_token() {
  StoredToken token;
  token.access_token = kAccess;
  token.refresh_token = kRefresh;
  token.token_type = "Bearer";
  token.scope = "openid offline_access incidents.read";
  token.expires_at = at_ms(1'900'000'000'123);
  token.obtained_at = at_ms(1'899'996'400'456);
  token.state = TokenState::Valid;
  return token;
}

// A token whose every field is derived from `n`, so a torn write would show.
StoredToken numbered_token(int64_t n) {
  StoredToken token;
  token.access_token = "access-" + std::to_string(n);
  token.refresh_token = "refresh-" + std::to_string(n);
  token.scope = "scope-" + std::to_string(n);
  token.expires_at = at_ms(1'000'000 + n);
  token.obtained_at = at_ms(n);
  return token;
}

// The n of a numbered token, or -1 when its fields disagree.
int64_t token_number(const StoredToken& token) {
  int64_t n = std::stoll(token.access_token.substr(7));
  bool consistent = token.refresh_token == "refresh-" + std::to_string(n) &&
                    token.scope == "scope-" + std::to_string(n) && token.expires_at &&
                    *token.expires_at == at_ms(1'000'000 + n) && token.obtained_at == at_ms(n);
  return consistent ? n : -1;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

int64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Runs `body` in a forked child, which exits with its return value. The
// parent must hold no open vault across fork(): SQLite's POSIX locks are per
// process and its lock bookkeeping must not be inherited.
pid_t spawn(const std::function<int()>& body) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Raw SQL on the vault file, as an attacker or a broken tool would.
void raw_sql(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

std::string raw_query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string result;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

class SqliteVaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kVaultKeyEnv);
    char pattern[] = "/tmp/flowline-vault-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    db_path_ = dir_ + "/home/flowline.db";
    key_path_ = dir_ + "/home/vault.key";
  }
  void TearDown() override {
    ::unsetenv(kVaultKeyEnv);
    fs::remove_all(dir_);
  }

  std::unique_ptr<TokenVault> open(const SqliteVaultOptions& options = {}) {
    Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_, options);
    EXPECT_TRUE(vault.ok()) << vault.status().code() << ": " << vault.status().message();
    return vault.ok() ? std::move(vault).value() : nullptr;
  }

  void write_key_file(const std::string& hex) {
    fs::create_directories(fs::path(key_path_).parent_path());
    std::ofstream(key_path_) << hex << "\n";
    ::chmod(key_path_.c_str(), 0600);
  }

  std::string dir_, db_path_, key_path_;
};

// ------------------------------------------------------------- basics

TEST_F(SqliteVaultTest, RoundTripsEveryField) {
  auto vault = open();
  ASSERT_TRUE(vault);
  StoredToken token = sample_token();
  token.token_type = "MAC";
  token.state = TokenState::NeedsLogin;
  ASSERT_TRUE(vault->put("global.acme_personal", "alice", token).ok());

  Result<std::optional<StoredToken>> got = vault->get("global.acme_personal", "alice");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  const StoredToken& back = **got;
  EXPECT_EQ(back.access_token, kAccess);
  EXPECT_EQ(back.refresh_token, kRefresh);
  EXPECT_EQ(back.token_type, "MAC");
  EXPECT_EQ(back.scope, "openid offline_access incidents.read");
  EXPECT_EQ(back.expires_at, token.expires_at);
  EXPECT_EQ(back.obtained_at, token.obtained_at);
  EXPECT_EQ(back.state, TokenState::NeedsLogin);
  EXPECT_EQ(back.version, 1);

  // The other shape: no expiry, no refresh token, empty scope, binary bytes.
  StoredToken bare;
  bare.access_token = std::string("a\0b\xff", 4);
  bare.obtained_at = at_ms(-5);
  ASSERT_TRUE(vault->put("c", kSystemUser, bare).ok());
  got = vault->get("c", kSystemUser);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->access_token, bare.access_token);
  EXPECT_EQ((*got)->refresh_token, "");
  EXPECT_EQ((*got)->token_type, "Bearer");
  EXPECT_EQ((*got)->scope, "");
  EXPECT_FALSE((*got)->expires_at.has_value());
  EXPECT_EQ((*got)->obtained_at, at_ms(-5));
  EXPECT_EQ((*got)->state, TokenState::Valid);

  // And it survives closing and reopening.
  vault.reset();
  vault = open();
  got = vault->get("global.acme_personal", "alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->refresh_token, kRefresh);
}

TEST_F(SqliteVaultTest, TimesAreKeptToTheMillisecond) {
  auto vault = open();
  StoredToken token = sample_token();
  token.obtained_at = at_ms(1'700'000'000'123) + std::chrono::microseconds(999);
  ASSERT_TRUE(vault->put("c", "u", token).ok());
  EXPECT_EQ((*vault->get("c", "u"))->obtained_at, at_ms(1'700'000'000'123));
}

TEST_F(SqliteVaultTest, GetOfAMissingTokenIsEmptyNotAnError) {
  auto vault = open();
  Result<std::optional<StoredToken>> got = vault->get("c", "nobody");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(SqliteVaultTest, TokensAreKeptPerCredentialAndUser) {
  auto vault = open();
  ASSERT_TRUE(vault->put("c1", "alice", numbered_token(1)).ok());
  ASSERT_TRUE(vault->put("c1", "bob", numbered_token(2)).ok());
  ASSERT_TRUE(vault->put("c2", "alice", numbered_token(3)).ok());
  EXPECT_EQ(token_number(**vault->get("c1", "alice")), 1);
  EXPECT_EQ(token_number(**vault->get("c1", "bob")), 2);
  EXPECT_EQ(token_number(**vault->get("c2", "alice")), 3);
  EXPECT_FALSE(vault->get("c2", "bob")->has_value());
}

TEST_F(SqliteVaultTest, EveryPutBumpsTheVersion) {
  auto vault = open();
  StoredToken token = sample_token();
  token.version = 42;  // ignored by put()
  for (int64_t expected = 1; expected <= 3; ++expected) {
    ASSERT_TRUE(vault->put("c", "u", token).ok());
    EXPECT_EQ((*vault->get("c", "u"))->version, expected);
  }
}

TEST_F(SqliteVaultTest, CompareAndSwapReplacesOnlyTheVersionItRead) {
  auto vault = open();
  ASSERT_TRUE(vault->put("c", "u", numbered_token(1)).ok());
  int64_t read_version = (*vault->get("c", "u"))->version;

  Result<bool> swapped = vault->compare_and_swap("c", "u", read_version, numbered_token(2));
  ASSERT_TRUE(swapped.ok());
  EXPECT_TRUE(*swapped);
  StoredToken now = **vault->get("c", "u");
  EXPECT_EQ(token_number(now), 2);
  EXPECT_EQ(now.version, read_version + 1);

  // A second writer that read the same version lost the race.
  swapped = vault->compare_and_swap("c", "u", read_version, numbered_token(3));
  ASSERT_TRUE(swapped.ok());
  EXPECT_FALSE(*swapped);
  now = **vault->get("c", "u");
  EXPECT_EQ(token_number(now), 2);
  EXPECT_EQ(now.version, read_version + 1);

  // No row: nothing to swap, and nothing is created.
  swapped = vault->compare_and_swap("c", "other", 0, numbered_token(4));
  ASSERT_TRUE(swapped.ok());
  EXPECT_FALSE(*swapped);
  EXPECT_FALSE(vault->get("c", "other")->has_value());
}

TEST_F(SqliteVaultTest, RemoveDeletesOnlyThatToken) {
  auto vault = open();
  ASSERT_TRUE(vault->put("c", "alice", numbered_token(1)).ok());
  ASSERT_TRUE(vault->put("c", "bob", numbered_token(2)).ok());
  ASSERT_TRUE(vault->remove("c", "alice").ok());
  EXPECT_FALSE(vault->get("c", "alice")->has_value());
  EXPECT_TRUE(vault->get("c", "bob")->has_value());
  EXPECT_TRUE(vault->remove("c", "alice").ok()) << "removing what is not there is fine";
}

TEST_F(SqliteVaultTest, ListShowsStateButNoSecrets) {
  auto vault = open();
  StoredToken token = sample_token();
  ASSERT_TRUE(vault->put("global.acme_personal", "alice", token).ok());
  StoredToken no_refresh = numbered_token(7);
  no_refresh.refresh_token.clear();
  no_refresh.expires_at.reset();
  no_refresh.state = TokenState::NeedsLogin;
  ASSERT_TRUE(vault->put("global.acme_personal", "bob", no_refresh).ok());

  Result<std::vector<TokenInfo>> listed = vault->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 2u);
  const TokenInfo& alice = (*listed)[0];
  EXPECT_EQ(alice.credential, "global.acme_personal");
  EXPECT_EQ(alice.user, "alice");
  EXPECT_EQ(alice.state, TokenState::Valid);
  EXPECT_EQ(alice.expires_at, token.expires_at);
  EXPECT_EQ(alice.obtained_at, token.obtained_at);
  EXPECT_EQ(alice.scope, token.scope);
  EXPECT_TRUE(alice.has_refresh_token);
  const TokenInfo& bob = (*listed)[1];
  EXPECT_EQ(bob.user, "bob");
  EXPECT_EQ(bob.state, TokenState::NeedsLogin);
  EXPECT_FALSE(bob.expires_at.has_value());
  EXPECT_FALSE(bob.has_refresh_token);
  for (const TokenInfo& info : *listed) {
    for (const std::string& field : {info.credential, info.user, info.scope}) {
      EXPECT_EQ(field.find("ACCESS-"), std::string::npos);
      EXPECT_EQ(field.find("REFRESH-"), std::string::npos);
      EXPECT_EQ(field.find("access-7"), std::string::npos);
    }
  }
}

TEST_F(SqliteVaultTest, NoPlaintextTokenReachesTheDisk) {
  auto vault = open();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        vault->put("global.acme_personal", "user" + std::to_string(i), sample_token()).ok());
  }
  // The WAL holds the pages while the vault is open; both files are checked.
  std::string db = read_file(db_path_);
  std::string wal = read_file(db_path_ + "-wal");
  ASSERT_FALSE(wal.empty()) << "expected the writes to be in the WAL";
  // The scan can see stored text: the clear columns are there.
  EXPECT_NE((db + wal).find("incidents.read"), std::string::npos);
  EXPECT_NE((db + wal).find("global.acme_personal"), std::string::npos);
  for (const std::string& bytes : {db, wal}) {
    EXPECT_EQ(bytes.find(kAccess), std::string::npos);
    EXPECT_EQ(bytes.find(kRefresh), std::string::npos);
    EXPECT_EQ(bytes.find("d3adb33f"), std::string::npos);
    EXPECT_EQ(bytes.find("c0ffee42"), std::string::npos);
  }
  vault.reset();  // checkpoints the WAL into the database file
  std::string closed = read_file(db_path_);
  EXPECT_NE(closed.find("incidents.read"), std::string::npos);
  EXPECT_EQ(closed.find(kAccess), std::string::npos);
  EXPECT_EQ(closed.find(kRefresh), std::string::npos);
}

// ------------------------------------------------------------- files and keys

TEST_F(SqliteVaultTest, CreatesPrivateFilesAndDirectories) {
  ::umask(022);
  auto vault = open();
  ASSERT_TRUE(vault->put("c", "u", sample_token()).ok());
  EXPECT_EQ(mode_of(dir_ + "/home"), 0700u);
  EXPECT_EQ(mode_of(db_path_), 0600u);
  EXPECT_EQ(mode_of(db_path_ + "-wal"), 0600u);
  EXPECT_EQ(mode_of(db_path_ + "-shm"), 0600u);
  EXPECT_EQ(mode_of(key_path_), 0600u);
}

TEST_F(SqliteVaultTest, TightensAnExistingDatabaseFileOthersCouldRead) {
  { auto vault = open(); }
  ASSERT_EQ(::chmod(db_path_.c_str(), 0644), 0);
  auto vault = open();
  ASSERT_TRUE(vault);
  EXPECT_EQ(mode_of(db_path_), 0600u);
}

TEST_F(SqliteVaultTest, TakesTheKeyFromTheEnvironment) {
  ::setenv(kVaultKeyEnv, kKeyA, 1);
  {
    auto vault = open();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(vault->put("c", "u", sample_token()).ok());
  }
  EXPECT_FALSE(fs::exists(key_path_));
  // The same key from a file opens it too.
  ::unsetenv(kVaultKeyEnv);
  write_key_file(kKeyA);
  auto vault = open();
  ASSERT_TRUE(vault);
  EXPECT_EQ((*vault->get("c", "u"))->access_token, kAccess);
}

TEST_F(SqliteVaultTest, AWrongKeyIsAClearErrorAndChangesNothing) {
  write_key_file(kKeyA);
  {
    auto vault = open();
    ASSERT_TRUE(vault->put("c", "u", sample_token()).ok());
  }
  std::string before = read_file(db_path_);
  ASSERT_FALSE(before.empty());

  write_key_file(kKeyB);
  Result<std::unique_ptr<TokenVault>> wrong = open_sqlite_vault(db_path_, key_path_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), "vault_key_mismatch");
  std::string message = wrong.status().message();
  EXPECT_NE(message.find("does not match the key"), std::string::npos) << message;
  EXPECT_NE(message.find("key file " + key_path_), std::string::npos) << message;
  EXPECT_NE(message.find(db_path_), std::string::npos) << message;
  EXPECT_NE(message.find("nothing was changed"), std::string::npos) << message;
  EXPECT_EQ(message.find(kKeyA), std::string::npos);
  EXPECT_EQ(message.find(kKeyB), std::string::npos);
  EXPECT_EQ(read_file(db_path_), before) << "a wrong key must not touch the database";

  ::setenv(kVaultKeyEnv, kKeyB, 1);
  wrong = open_sqlite_vault(db_path_, key_path_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), "vault_key_mismatch");
  EXPECT_NE(wrong.status().message().find("$FLOWLINE_VAULT_KEY"), std::string::npos);
  EXPECT_EQ(read_file(db_path_), before);

  // The right key still opens everything.
  ::setenv(kVaultKeyEnv, kKeyA, 1);
  auto vault = open();
  ASSERT_TRUE(vault);
  EXPECT_EQ((*vault->get("c", "u"))->refresh_token, kRefresh);
}

TEST_F(SqliteVaultTest, AnInsecureKeyFileIsRefusedBeforeTheDatabaseIsTouched) {
  write_key_file(kKeyA);
  ASSERT_EQ(::chmod(key_path_.c_str(), 0644), 0);
  Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), "vault_key_insecure");
  EXPECT_NE(vault.status().message().find("chmod 600 " + key_path_), std::string::npos);
  EXPECT_FALSE(fs::exists(db_path_));
}

TEST_F(SqliteVaultTest, AMalformedEnvironmentKeyIsRefusedWithoutEchoingIt) {
  std::string bad = std::string(kKeyA).substr(0, 60) + "zz";
  ::setenv(kVaultKeyEnv, bad.c_str(), 1);
  Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), "vault_key_invalid");
  EXPECT_NE(vault.status().message().find("64 hexadecimal digits"), std::string::npos);
  EXPECT_EQ(vault.status().message().find(bad.substr(0, 20)), std::string::npos);
}

TEST_F(SqliteVaultTest, ARowCopiedToAnotherUserDoesNotDecrypt) {
  {
    auto vault = open();
    ASSERT_TRUE(vault->put("c", "alice", sample_token()).ok());
    ASSERT_TRUE(vault->put("c", "mallory", numbered_token(1)).ok());
  }
  // Mallory copies alice's sealed token into her own row.
  raw_sql(db_path_,
          "UPDATE tokens SET (nonce, ciphertext) = (SELECT nonce, ciphertext FROM tokens"
          " WHERE user = 'alice') WHERE user = 'mallory'");
  auto vault = open();
  Result<std::optional<StoredToken>> got = vault->get("c", "mallory");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "vault_corrupt");
  EXPECT_NE(got.status().message().find("credential 'c', user 'mallory'"), std::string::npos);
  EXPECT_NE(got.status().message().find("flowline token login c --user mallory"),
            std::string::npos);
  EXPECT_EQ(got.status().message().find(kAccess), std::string::npos);
  EXPECT_EQ((*vault->get("c", "alice"))->access_token, kAccess) << "alice is unaffected";

  // Moving the whole row to another credential fails the same way.
  vault.reset();
  raw_sql(db_path_, "UPDATE tokens SET credential = 'other' WHERE user = 'alice'");
  vault = open();
  EXPECT_EQ(vault->get("other", "alice").status().code(), "vault_corrupt");
}

TEST_F(SqliteVaultTest, ATamperedCiphertextIsCorrupt) {
  {
    auto vault = open();
    ASSERT_TRUE(vault->put("c", "u", sample_token()).ok());
  }
  // Change byte 11 to a different value (a fixed x'00' would change nothing
  // when the byte already is zero, one run in 256).
  raw_sql(db_path_,
          "UPDATE tokens SET ciphertext = CAST(substr(ciphertext, 1, 10) ||"
          " CASE WHEN substr(ciphertext, 11, 1) = x'00' THEN x'01' ELSE x'00' END ||"
          " substr(ciphertext, 12) AS BLOB)");
  // Still a blob of the same length: only the one byte differs.
  EXPECT_EQ(raw_query(db_path_, "SELECT typeof(ciphertext) FROM tokens"), "blob");
  EXPECT_EQ(raw_query(db_path_, "SELECT length(ciphertext) FROM tokens"),
            std::to_string(1 + 3 * 4 + std::string(kAccess).size() + std::string(kRefresh).size() +
                           6 + kVaultTagBytes));
  auto vault = open();
  EXPECT_EQ(vault->get("c", "u").status().code(), "vault_corrupt");
}

TEST_F(SqliteVaultTest, AVaultFromANewerFlowlineIsLeftAlone) {
  { auto vault = open(); }
  raw_sql(db_path_, "UPDATE schema_versions SET version = 99 WHERE component = 'vault'");
  std::string before = read_file(db_path_);
  Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), "vault_schema_too_new");
  EXPECT_NE(vault.status().message().find("version 99"), std::string::npos);
  EXPECT_EQ(read_file(db_path_), before);
}

TEST_F(SqliteVaultTest, RecordsItsSchemaVersionAndReopensWithoutWriting) {
  { auto vault = open(); }
  EXPECT_EQ(raw_query(db_path_, "SELECT version FROM schema_versions WHERE component = 'vault'"),
            "1");
  EXPECT_EQ(raw_query(db_path_, "PRAGMA journal_mode"), "wal");
  std::string before = read_file(db_path_);
  { auto vault = open(); }
  EXPECT_EQ(read_file(db_path_), before);
}

// ------------------------------------------------------------- limits

TEST_F(SqliteVaultTest, RefusesATokenOverTheSizeLimit) {
  auto vault = open();
  StoredToken token = sample_token();
  token.access_token = std::string(kMaxStoredTokenBytes, 'x');
  Status status = vault->put("c", "u", token);
  EXPECT_EQ(status.code(), "token_too_large");
  EXPECT_NE(status.message().find("credential 'c', user 'u'"), std::string::npos);
  EXPECT_NE(status.message().find("65536"), std::string::npos);
  EXPECT_EQ(status.message().find("xxxxxxxx"), std::string::npos);
  EXPECT_FALSE(vault->get("c", "u")->has_value());

  ASSERT_TRUE(vault->put("c", "u", sample_token()).ok());
  Result<bool> swapped = vault->compare_and_swap("c", "u", 1, token);
  EXPECT_EQ(swapped.status().code(), "token_too_large");

  // Just under the limit is fine.
  token.access_token.resize(kMaxStoredTokenBytes - 200);
  EXPECT_TRUE(vault->put("c", "u", token).ok());
  EXPECT_EQ((*vault->get("c", "u"))->access_token.size(), kMaxStoredTokenBytes - 200);
}

TEST_F(SqliteVaultTest, RefusesEmptyOversizedOrNulNames) {
  auto vault = open();
  EXPECT_EQ(vault->put("", "u", sample_token()).code(), "vault_name_invalid");
  EXPECT_EQ(vault->get("c", "").status().code(), "vault_name_invalid");
  EXPECT_EQ(vault->get("c", std::string("a\0b", 3)).status().code(), "vault_name_invalid");
  EXPECT_EQ(vault->put(std::string(kMaxVaultNameBytes + 1, 'c'), "u", sample_token()).code(),
            "vault_name_invalid");
  EXPECT_EQ(vault->try_acquire_lease("c", "u", "", milliseconds(10)).status().code(),
            "vault_name_invalid");
  EXPECT_TRUE(vault->put(std::string(kMaxVaultNameBytes, 'c'), "u", sample_token()).ok());
}

TEST_F(SqliteVaultTest, ALockHeldPastTheBusyTimeoutIsVaultBusy) {
  SqliteVaultOptions options;
  options.busy_timeout = milliseconds(100);
  auto vault = open(options);
  ASSERT_TRUE(vault->put("c", "u", numbered_token(1)).ok());

  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

  auto start = std::chrono::steady_clock::now();
  Status status = vault->put("c", "u", numbered_token(2));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status.code(), "vault_busy");
  EXPECT_NE(status.message().find("100 ms"), std::string::npos) << status.message();
  EXPECT_GE(waited, milliseconds(90));
  EXPECT_EQ(vault->try_acquire_lease("c", "u", "me", milliseconds(1000)).status().code(),
            "vault_busy");
  // Readers are not blocked by a writer (WAL).
  EXPECT_EQ(token_number(**vault->get("c", "u")), 1);

  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(other);
  EXPECT_TRUE(vault->put("c", "u", numbered_token(2)).ok());
  EXPECT_EQ(token_number(**vault->get("c", "u")), 2);
}

// ------------------------------------------------------------- leases

TEST_F(SqliteVaultTest, ALeaseHasOneHolderIsReentrantAndIsReleased) {
  auto vault = open();
  auto acquire = [&](const std::string& owner) {
    Result<bool> got = vault->try_acquire_lease("c", "u", owner, milliseconds(60'000));
    EXPECT_TRUE(got.ok()) << got.status().message();
    return got.ok() && *got;
  };
  EXPECT_TRUE(acquire("one"));
  EXPECT_FALSE(acquire("two"));
  EXPECT_TRUE(acquire("one")) << "the holder may take it again";
  EXPECT_TRUE(vault->release_lease("c", "u", "two").ok());
  EXPECT_FALSE(acquire("two")) << "only the holder releases";
  EXPECT_TRUE(vault->release_lease("c", "u", "one").ok());
  EXPECT_TRUE(acquire("two"));
  EXPECT_FALSE(acquire("one"));
  // Leases are per (credential, user).
  EXPECT_TRUE(*vault->try_acquire_lease("c", "other-user", "one", milliseconds(60'000)));
  EXPECT_TRUE(*vault->try_acquire_lease("other-cred", "u", "one", milliseconds(60'000)));
}

TEST_F(SqliteVaultTest, AStaleLeaseIsTakenOver) {
  int64_t now_ms = 1'800'000'000'000;
  SqliteVaultOptions options;
  options.now = [&now_ms] { return at_ms(now_ms); };
  auto vault = open(options);
  const milliseconds ttl(30'000);
  ASSERT_TRUE(*vault->try_acquire_lease("c", "u", "crashed", ttl));
  now_ms += ttl.count() - 1;
  EXPECT_FALSE(*vault->try_acquire_lease("c", "u", "next", ttl));
  now_ms += 1;
  EXPECT_TRUE(*vault->try_acquire_lease("c", "u", "next", ttl)) << "ttl elapsed";
  EXPECT_FALSE(*vault->try_acquire_lease("c", "u", "crashed", ttl));

  // Re-acquiring renews: the holder's lease runs from its latest acquire.
  now_ms += ttl.count() - 10;
  ASSERT_TRUE(*vault->try_acquire_lease("c", "u", "next", ttl));
  now_ms += 20;
  EXPECT_FALSE(*vault->try_acquire_lease("c", "u", "third", ttl));

  // A clock stepped far back cannot wedge the lease.
  now_ms -= 3 * ttl.count();
  EXPECT_TRUE(*vault->try_acquire_lease("c", "u", "third", ttl));
}

// ------------------------------------------------------------- concurrency

TEST_F(SqliteVaultTest, SixteenThreadsIncrementingByCompareAndSwapLoseNothing) {
  constexpr int kThreads = 16;
  constexpr int kIncrements = 50;
  auto vault = open();
  ASSERT_TRUE(vault->put("c", "u", numbered_token(0)).ok());
  std::atomic<int> failures{0}, conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int done = 0; done < kIncrements;) {
        Result<std::optional<StoredToken>> got = vault->get("c", "u");
        if (!got.ok() || !got->has_value() || token_number(**got) < 0) {
          ++failures;
          return;
        }
        int64_t n = token_number(**got);
        Result<bool> swapped =
            vault->compare_and_swap("c", "u", (*got)->version, numbered_token(n + 1));
        if (!swapped.ok()) {
          ++failures;
          return;
        }
        if (*swapped) {
          ++done;
        } else {
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  StoredToken final_token = **vault->get("c", "u");
  EXPECT_EQ(token_number(final_token), kThreads * kIncrements);
  EXPECT_EQ(final_token.version, 1 + kThreads * kIncrements);
  EXPECT_GT(conflicts.load(), 0) << "the threads never raced; the test proves nothing";
}

TEST_F(SqliteVaultTest, ALeaseIsExclusiveAcrossProcesses) {
  constexpr int kProcesses = 3;
  { auto vault = open(); }  // created (key file included) before the children race
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(spawn([&, i] {
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);
      Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
      if (!vault.ok()) return 2;
      std::string owner = "process-" + std::to_string(i);
      std::ofstream log(dir_ + "/intervals-" + std::to_string(i));
      int64_t stop = monotonic_ns() + 1'500'000'000;
      while (monotonic_ns() < stop) {
        Result<bool> got = (*vault)->try_acquire_lease("c", "u", owner, milliseconds(60'000));
        if (!got.ok()) return 3;
        if (!*got) {
          ::usleep(200);
          continue;
        }
        int64_t start = monotonic_ns();  // after the acquire returned
        ::usleep(1000);                  // the "refresh"
        int64_t end = monotonic_ns();    // before the release starts
        log << start << " " << end << "\n";
        if (!(*vault)->release_lease("c", "u", owner).ok()) return 4;
        ::usleep(300);  // let the others try
      }
      log.close();
      return log ? 0 : 5;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) ASSERT_EQ(wait_for(pid), 0);

  std::vector<std::pair<int64_t, int64_t>> intervals;
  int holders = 0;  // processes that held the lease at least once
  for (int i = 0; i < kProcesses; ++i) {
    std::ifstream in(dir_ + "/intervals-" + std::to_string(i));
    int64_t start, end;
    int count = 0;
    while (in >> start >> end) {
      intervals.emplace_back(start, end);
      ++count;
    }
    holders += count > 0 ? 1 : 0;
  }
  // The lease is a try-lock, not a fair one: a process may starve on a busy
  // machine. Two holders are enough for an overlap to be possible.
  EXPECT_GE(holders, 2) << "only one process ever held the lease; the test proves nothing";
  std::sort(intervals.begin(), intervals.end());
  int overlaps = 0;
  for (size_t i = 1; i < intervals.size(); ++i) {
    if (intervals[i].first < intervals[i - 1].second) ++overlaps;
  }
  EXPECT_EQ(overlaps, 0) << "two processes held the lease at once";
  EXPECT_GE(intervals.size(), 30u);
  std::cout << "[ measured ] " << intervals.size() << " lease holds by " << kProcesses
            << " processes in 1.5 s\n";
}

TEST_F(SqliteVaultTest, CompareAndSwapAcrossProcessesLosesNothing) {
  constexpr int kProcesses = 3;
  constexpr int kIncrements = 40;
  {
    auto vault = open();
    ASSERT_TRUE(vault->put("c", "u", numbered_token(0)).ok());
  }
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(spawn([&] {
      Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
      if (!vault.ok()) return 2;
      int conflicts = 0;
      for (int done = 0; done < kIncrements;) {
        Result<std::optional<StoredToken>> got = (*vault)->get("c", "u");
        if (!got.ok() || !got->has_value()) return 3;
        int64_t n = token_number(**got);
        if (n < 0) return 4;
        Result<bool> swapped =
            (*vault)->compare_and_swap("c", "u", (*got)->version, numbered_token(n + 1));
        if (!swapped.ok()) return 5;
        *swapped ? ++done : ++conflicts;
      }
      return 0;
    }));
  }
  for (pid_t pid : children) ASSERT_EQ(wait_for(pid), 0);
  auto vault = open();
  StoredToken final_token = **vault->get("c", "u");
  EXPECT_EQ(token_number(final_token), kProcesses * kIncrements);
  EXPECT_EQ(final_token.version, 1 + kProcesses * kIncrements);
}

TEST_F(SqliteVaultTest, AWriterKilledMidWriteLeavesTheOldOrTheNewToken) {
  {
    auto vault = open();
    ASSERT_TRUE(vault->put("c", "u", numbered_token(0)).ok());
  }
  int64_t last = 0;
  for (int round = 0; round < 4; ++round) {
    int started[2];
    ASSERT_EQ(::pipe(started), 0);
    pid_t pid = spawn([&] {
      ::close(started[0]);
      Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
      if (!vault.ok()) return 2;
      for (int64_t n = last + 1;; ++n) {
        if (!(*vault)->put("c", "u", numbered_token(n)).ok()) return 3;
        if (!(*vault)->try_acquire_lease("c", "u", "writer", milliseconds(1)).ok()) return 4;
        if (n == last + 1) ::close(started[1]);  // the first write is in
      }
    });
    ASSERT_GT(pid, 0);
    ::close(started[1]);
    char c;
    ASSERT_EQ(::read(started[0], &c, 1), 0) << "the writer never started";
    ::close(started[0]);
    ::usleep(20'000 + 17'000 * round);  // into the middle of later writes
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_EQ(wait_for(pid), 128 + SIGKILL) << "the writer stopped before it was killed";

    Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
    ASSERT_TRUE(vault.ok()) << vault.status().message();
    Result<std::optional<StoredToken>> got = (*vault)->get("c", "u");
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(got->has_value());
    int64_t n = token_number(**got);
    EXPECT_GE(n, last) << "the token went backwards or is torn";
    EXPECT_GT(n, last) << "the writer wrote nothing before it was killed";
    last = n;
    vault->reset();
    EXPECT_EQ(raw_query(db_path_, "PRAGMA integrity_check"), "ok");
  }
}

TEST_F(SqliteVaultTest, ProcessesCreatingTheVaultAtOnceShareOneKeyAndSchema) {
  constexpr int kProcesses = 4;
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  std::vector<pid_t> children;
  for (int i = 0; i < kProcesses; ++i) {
    children.push_back(spawn([&, i] {
      ::close(gate[1]);
      char c;
      (void)::read(gate[0], &c, 1);
      Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, key_path_);
      if (!vault.ok()) return 2;
      if (!(*vault)->put("c", "user" + std::to_string(i), numbered_token(i)).ok()) return 3;
      return 0;
    }));
  }
  ::close(gate[0]);
  ::close(gate[1]);
  for (pid_t pid : children) ASSERT_EQ(wait_for(pid), 0);
  auto vault = open();
  ASSERT_TRUE(vault);
  for (int i = 0; i < kProcesses; ++i) {
    Result<std::optional<StoredToken>> got = vault->get("c", "user" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << got.status().message();
    ASSERT_TRUE(got->has_value());
    EXPECT_EQ(token_number(**got), i);
  }
  EXPECT_EQ(raw_query(db_path_, "SELECT count(*) FROM vault_meta"), "1");
}

}  // namespace
}  // namespace flowline
