// A thin RAII layer over SQLite: a connection (SqliteDb), prepared statements
// (SqliteStatement), BEGIN IMMEDIATE transactions (SqliteTransaction) and
// per-component schema migrations. Shared by the token vault and the run
// store, which may live in the same database file.
//
// Errors come back as Status codes, never exceptions:
//   "sqlite_busy"     another connection held the lock for longer than the
//                     busy timeout (SQLITE_BUSY / SQLITE_LOCKED)
//   "sqlite_corrupt"  the file is not a database or is damaged
//   "sqlite_full"     the disk is full
//   "sqlite_io"       the file could not be opened, read or written
//   "sqlite_error"    anything else (a bad statement, a constraint)
// Messages carry SQLite's own text, which never includes bound values: bind
// secrets, never splice them into SQL.
//
// Thread-safety: a SqliteDb and its statements are for one thread at a time;
// callers that share one connection between threads hold their own mutex
// around each use (the connection is also opened SQLITE_OPEN_FULLMUTEX, so a
// mistake corrupts no SQLite state, only the caller's own sequencing).
// Across processes, SQLite's file locks and the busy timeout do the work.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "runtime/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace flowline {

enum class SqliteOpenMode {
  ReadWriteCreate,  // create the file if it does not exist
  ReadWrite,        // the file must exist
  ReadOnly,
};

struct SqliteOpenOptions {
  SqliteOpenMode mode = SqliteOpenMode::ReadWriteCreate;
  // How long a statement waits for another connection's lock before failing
  // with "sqlite_busy".
  std::chrono::milliseconds busy_timeout{5000};
};

class SqliteStatement;

// One connection. Closing (destruction) finalizes nothing for the caller:
// every SqliteStatement must be destroyed before its SqliteDb.
class SqliteDb {
 public:
  // Opens `path` with extended result codes, FULLMUTEX and the busy timeout.
  static Result<std::unique_ptr<SqliteDb>> open(const std::string& path,
                                                const SqliteOpenOptions& options = {});
  ~SqliteDb();
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // Runs one or more statements that take no parameters and whose rows, if
  // any, are discarded (DDL, PRAGMA assignments, BEGIN/COMMIT).
  Status exec(const std::string& sql);
  // The first column of the first row of a parameterless query (a PRAGMA
  // read, a COUNT), or nullopt when it returns no row.
  Result<std::optional<std::string>> query_text(const std::string& sql);
  Result<SqliteStatement> prepare(std::string_view sql);

  // Rows changed by the last INSERT/UPDATE/DELETE on this connection.
  int64_t changes() const;
  bool in_transaction() const;
  std::chrono::milliseconds busy_timeout() const { return busy_timeout_; }
  sqlite3* handle() { return db_; }

  // A Status for SQLite result code `rc` on this connection, with `what`
  // ("insert token", "begin") saying what was being done.
  Status error(int rc, std::string_view what) const;

 private:
  SqliteDb(sqlite3* db, std::chrono::milliseconds busy_timeout)
      : db_(db), busy_timeout_(busy_timeout) {}
  sqlite3* db_;
  std::chrono::milliseconds busy_timeout_;
};

// A prepared statement. Parameters are 1-based, columns 0-based, as in
// SQLite. Bound text and blobs are copied (SQLITE_TRANSIENT). A statement
// that returned a row keeps its read transaction open until reset(); use
// SqliteStatement::Run (below) so that every path resets it.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  SqliteStatement& bind(int index, int64_t value);
  SqliteStatement& bind(int index, std::string_view text);
  SqliteStatement& bind_blob(int index, std::span<const unsigned char> bytes);
  SqliteStatement& bind_null(int index);
  // Binds the value, or NULL when it is nullopt.
  SqliteStatement& bind(int index, std::optional<int64_t> value);

  // Advances: true when a row is available, false when the statement is
  // done. A bind() that failed earlier is reported here.
  Result<bool> step();
  // Runs a statement that returns no rows (step() until done).
  Status run();

  bool column_is_null(int column) const;
  int64_t column_int64(int column) const;
  std::string column_text(int column) const;
  // Valid until the next step() or reset().
  std::span<const unsigned char> column_blob(int column) const;

  // Back to the start with every parameter unbound; ends its read.
  void reset();

 private:
  friend class SqliteDb;
  SqliteStatement(SqliteDb* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  SqliteDb* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = 0;  // the first failed bind's result code
};

// Resets a statement when it goes out of scope, so no path leaves a read
// transaction open.
class StatementResetter {
 public:
  explicit StatementResetter(SqliteStatement& stmt) : stmt_(stmt) { stmt_.reset(); }
  ~StatementResetter() { stmt_.reset(); }
  StatementResetter(const StatementResetter&) = delete;
  StatementResetter& operator=(const StatementResetter&) = delete;

 private:
  SqliteStatement& stmt_;
};

// BEGIN IMMEDIATE: takes the write lock up front (waiting up to the busy
// timeout), so the transaction never fails half-way with SQLITE_BUSY when it
// upgrades from reading to writing. Rolls back on destruction unless
// committed.
class SqliteTransaction {
 public:
  static Result<SqliteTransaction> begin_immediate(SqliteDb& db);
  SqliteTransaction(SqliteTransaction&& other) noexcept;
  SqliteTransaction& operator=(SqliteTransaction&&) = delete;
  ~SqliteTransaction();
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  Status commit();

 private:
  explicit SqliteTransaction(SqliteDb* db) : db_(db) {}
  SqliteDb* db_;  // null once committed, rolled back or moved from
};

// One step of a component's schema: the SQL that takes it from version
// (index) to version (index + 1). Steps are only ever appended, so a change
// is additive and an old file upgrades step by step.
struct SqliteMigration {
  const char* sql;
};

// ------------------------------------------------ private database files
// Database files hold what only their owner should read. These fail with
// "io_error" (the message names the path and the system's reason).

// Creates `dir` and any missing parents with mode 0700; existing
// directories are left as they are.
Status ensure_private_directory(const std::string& dir);
// Creates `path` with mode 0600 if it does not exist (before SQLite opens
// it, so it is never briefly readable by others) and takes group and other
// permissions off an existing file. Its directory must exist.
Status ensure_private_file(const std::string& path);
// The directory part of `path` ("." when it has none).
std::string parent_directory(const std::string& path);

// Brings `component`'s schema to migrations.size(), applying the missing
// steps in one BEGIN IMMEDIATE transaction (re-reading the version inside it,
// so processes racing to create a file apply each step once). A file that is
// already current is only read. Each component keeps its own version in the
// table schema_versions(component, version) rather than PRAGMA user_version,
// so the vault and the run store can share one file. A file whose version is
// newer than this program knows fails with "sqlite_schema_too_new" and is
// left untouched.
Status apply_migrations(SqliteDb& db, std::string_view component,
                        std::span<const SqliteMigration> migrations);
// The version recorded for `component` (0 when none), without writing.
Result<int64_t> schema_version(SqliteDb& db, std::string_view component);

}  // namespace flowline
