#include "runtime/vault/sqlite_db.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace flowline {

namespace {

const char* code_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "sqlite_busy";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return "sqlite_corrupt";
    case SQLITE_FULL:
      return "sqlite_full";
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return "sqlite_io";
    default:
      return "sqlite_error";
  }
}

int open_flags(SqliteOpenMode mode) {
  int flags = SQLITE_OPEN_FULLMUTEX;
  switch (mode) {
    case SqliteOpenMode::ReadWriteCreate:
      return flags | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    case SqliteOpenMode::ReadWrite:
      return flags | SQLITE_OPEN_READWRITE;
    case SqliteOpenMode::ReadOnly:
      return flags | SQLITE_OPEN_READONLY;
  }
  return flags | SQLITE_OPEN_READONLY;
}

}  // namespace

// ---------------------------------------------------------------- SqliteDb

Result<std::unique_ptr<SqliteDb>> SqliteDb::open(const std::string& path,
                                                 const SqliteOpenOptions& options) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, open_flags(options.mode), nullptr);
  if (rc != SQLITE_OK) {
    std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status(code_for(rc), "cannot open database " + path + ": " + detail);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
  return std::unique_ptr<SqliteDb>(new SqliteDb(db, options.busy_timeout));
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

Status SqliteDb::error(int rc, std::string_view what) const {
  std::string message(what);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    message += ": the database stayed locked by another connection for longer than " +
               std::to_string(busy_timeout_.count()) + " ms";
    return Status(code_for(rc), std::move(message));
  }
  // errmsg describes the connection's last failure; fall back to the
  // generic text when `rc` came from somewhere else.
  message += ": ";
  message += sqlite3_extended_errcode(db_) == rc ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return Status(code_for(rc), std::move(message));
}

Status SqliteDb::exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, "statement failed");
  return Status();
}

Result<std::optional<std::string>> SqliteDb::query_text(const std::string& sql) {
  Result<SqliteStatement> stmt = prepare(sql);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

Result<SqliteStatement> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                              SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, "cannot prepare a statement");
  return SqliteStatement(this, stmt);
}

int64_t SqliteDb::changes() const { return sqlite3_changes64(db_); }

bool SqliteDb::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

// --------------------------------------------------------- SqliteStatement

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_), stmt_(std::exchange(other.stmt_, nullptr)), bind_error_(other.bind_error_) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = other.bind_error_;
  }
  return *this;
}

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

SqliteStatement& SqliteStatement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::string_view text) {
  int rc =
      sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::bind_blob(int index, std::span<const unsigned char> bytes) {
  // A zero-length blob must still be a blob, not NULL: give SQLite a
  // non-null pointer.
  static const unsigned char kEmpty = 0;
  const void* data = bytes.empty() ? &kEmpty : bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

SqliteStatement& SqliteStatement::bind(int index, std::optional<int64_t> value) {
  return value ? bind(index, *value) : bind_null(index);
}

Result<bool> SqliteStatement::step() {
  if (bind_error_ != 0) return db_->error(bind_error_, "cannot bind a parameter");
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db_->error(rc, "statement failed");
}

Status SqliteStatement::run() {
  for (;;) {
    Result<bool> row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status();
  }
}

bool SqliteStatement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t SqliteStatement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string SqliteStatement::column_text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(size));
}

std::span<const unsigned char> SqliteStatement::column_blob(int column) const {
  const void* data = sqlite3_column_blob(stmt_, column);
  int size = sqlite3_column_bytes(stmt_, column);
  if (data == nullptr) return {};
  return {static_cast<const unsigned char*>(data), static_cast<size_t>(size)};
}

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

// ------------------------------------------------------- SqliteTransaction

Result<SqliteTransaction> SqliteTransaction::begin_immediate(SqliteDb& db) {
  int rc = sqlite3_exec(db.handle(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return db.error(rc, "cannot begin a write transaction");
  return SqliteTransaction(&db);
}

SqliteTransaction::SqliteTransaction(SqliteTransaction&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)) {}

SqliteTransaction::~SqliteTransaction() {
  // A failed COMMIT may already have rolled back; only roll back what is open.
  if (db_ != nullptr && db_->in_transaction()) {
    sqlite3_exec(db_->handle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

Status SqliteTransaction::commit() {
  int rc = sqlite3_exec(db_->handle(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return db_->error(rc, "cannot commit");
  db_ = nullptr;
  return Status();
}

// --------------------------------------------------- private database files

namespace {

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status("io_error", what + " " + path + ": " + std::strerror(err));
}

}  // namespace

std::string parent_directory(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status ensure_private_directory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return io_error("not a directory:", dir, ENOTDIR);
    return Status();
  }
  // Create each missing component from the top; an existing one (or one a
  // racing process just made) is fine.
  for (size_t pos = dir.find('/', 1);; pos = dir.find('/', pos + 1)) {
    std::string prefix = dir.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return io_error("cannot create directory", prefix, errno);
    }
    if (pos == std::string::npos) break;
  }
  if (::stat(dir.c_str(), &st) != 0) return io_error("cannot create directory", dir, errno);
  if (!S_ISDIR(st.st_mode)) return io_error("not a directory:", dir, ENOTDIR);
  return Status();
}

Status ensure_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", path, errno);
  struct stat st;
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = io_error("cannot inspect", path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    status = io_error("not a regular file:", path, EINVAL);
  } else if ((st.st_mode & 077) != 0 && ::fchmod(fd, st.st_mode & 0700) != 0) {
    status = io_error("cannot make private (chmod 600)", path, errno);
  }
  ::close(fd);
  return status;
}

// -------------------------------------------------------------- migrations

Result<int64_t> schema_version(SqliteDb& db, std::string_view component) {
  Result<std::optional<std::string>> exists = db.query_text(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_versions'");
  if (!exists.ok()) return exists.status();
  if (!exists->has_value()) return int64_t{0};
  Result<SqliteStatement> stmt =
      db.prepare("SELECT version FROM schema_versions WHERE component = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->bind(1, component);
  Result<bool> row = stmt->step();
  if (!row.ok()) return row.status();
  return *row ? stmt->column_int64(0) : int64_t{0};
}

Status apply_migrations(SqliteDb& db, std::string_view component,
                        std::span<const SqliteMigration> migrations) {
  const auto target = static_cast<int64_t>(migrations.size());
  auto too_new = [&](int64_t found) {
    return Status("sqlite_schema_too_new",
                  "the " + std::string(component) + " schema in this database is version " +
                      std::to_string(found) + ", newer than the " + std::to_string(target) +
                      " this Flowline knows; use a newer Flowline (nothing was changed)");
  };
  Result<int64_t> current = schema_version(db, component);
  if (!current.ok()) return current.status();
  if (*current > target) return too_new(*current);
  if (*current == target) return Status();

  Result<SqliteTransaction> txn = SqliteTransaction::begin_immediate(db);
  if (!txn.ok()) return txn.status();
  Status status = db.exec(
      "CREATE TABLE IF NOT EXISTS schema_versions ("
      " component TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL)");
  if (!status.ok()) return status;
  // Another process may have migrated between the read above and the lock.
  current = schema_version(db, component);
  if (!current.ok()) return current.status();
  if (*current > target) return too_new(*current);
  for (int64_t step = *current; step < target; ++step) {
    status = db.exec(migrations[static_cast<size_t>(step)].sql);
    if (!status.ok()) {
      return Status(status.code(), "migrating the " + std::string(component) +
                                       " schema to version " + std::to_string(step + 1) + ": " +
                                       status.message());
    }
  }
  Result<SqliteStatement> record = db.prepare(
      "INSERT INTO schema_versions (component, version) VALUES (?1, ?2)"
      " ON CONFLICT (component) DO UPDATE SET version = excluded.version");
  if (!record.ok()) return record.status();
  status = record->bind(1, component).bind(2, target).run();
  if (!status.ok()) return status;
  return txn->commit();
}

}  // namespace flowline
