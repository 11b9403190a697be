// The SQLite RunStore. Schema, statements and the Value <-> JSON mapping of
// execution records; see run_store.h for the contract.
//
// Durations are REAL columns written from decimal text kept to the
// microsecond ("12.345"), because the SQLite layer binds integers and text
// only: text with three decimals reads back as exactly the double it was
// written from, which an arbitrary double printed and re-parsed by SQLite
// would not guarantee.
#include "runtime/records/run_store.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <utility>

#include "runtime/eval/evaluator.h"
#include "runtime/records/redact.h"
#include "runtime/vault/sqlite_db.h"

namespace flowline {

namespace {

constexpr std::string_view kSchemaComponent = "runs";

// Append-only: each entry takes the run store's schema one version further.
constexpr SqliteMigration kRunMigrations[] = {
    {R"sql(
CREATE TABLE runs (
  context_id    TEXT PRIMARY KEY NOT NULL,
  target        TEXT NOT NULL,
  user          TEXT,                 -- NULL: ran with no user (system)
  source        TEXT NOT NULL,        -- cli, batch, api, script
  state         TEXT NOT NULL,        -- in_progress, completed, error, cancelled
  started_at    INTEGER NOT NULL,     -- unix ms
  duration_ms   REAL NOT NULL,
  outputs       TEXT NOT NULL,        -- JSON, redacted
  error_code    TEXT,                 -- NULL: no error
  error_message TEXT,
  error_step    TEXT
);
CREATE INDEX runs_by_start ON runs (started_at, context_id);
CREATE TABLE steps (
  context_id    TEXT NOT NULL,
  seq           INTEGER NOT NULL,     -- order in the record
  path          TEXT NOT NULL,
  id            TEXT NOT NULL,
  type          TEXT NOT NULL,
  state         TEXT NOT NULL,
  started_ms    REAL NOT NULL,        -- since the run started
  duration_ms   REAL NOT NULL,
  inputs        TEXT NOT NULL,        -- JSON, redacted
  outputs       TEXT NOT NULL,        -- JSON, redacted
  http_method   TEXT,                 -- NULL: not an HTTP step
  http_url      TEXT,                 -- redacted
  http_status   INTEGER,
  http_attempts INTEGER,
  http_time_ms  REAL,
  error_code    TEXT,                 -- NULL: none
  error_message TEXT,
  PRIMARY KEY (context_id, seq)
);
)sql"},
};

constexpr const char* kRunColumns =
    "context_id, target, user, source, state, started_at, duration_ms, error_code";

}  // namespace

struct RunStoreStatements {
  SqliteStatement upsert_run;
  SqliteStatement delete_steps;
  SqliteStatement insert_step;
  SqliteStatement count_runs;
  SqliteStatement prune_steps;
  SqliteStatement prune_runs;
  SqliteStatement list_runs;
  SqliteStatement select_run;
  SqliteStatement select_steps;
};

namespace {

Result<std::unique_ptr<RunStoreStatements>> prepare_statements(SqliteDb& db) {
  const std::string sql[] = {
      "INSERT OR REPLACE INTO runs (context_id, target, user, source, state, started_at,"
      " duration_ms, outputs, error_code, error_message, error_step)"
      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, CAST(?7 AS REAL), ?8, ?9, ?10, ?11)",
      "DELETE FROM steps WHERE context_id = ?1",
      "INSERT INTO steps (context_id, seq, path, id, type, state, started_ms, duration_ms,"
      " inputs, outputs, http_method, http_url, http_status, http_attempts, http_time_ms,"
      " error_code, error_message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, CAST(?7 AS REAL),"
      " CAST(?8 AS REAL), ?9, ?10, ?11, ?12, ?13, ?14, CAST(?15 AS REAL), ?16, ?17)",
      "SELECT COUNT(*) FROM runs",
      // The oldest ?1 runs, by the same order list() shows newest first.
      "DELETE FROM steps WHERE context_id IN (SELECT context_id FROM runs"
      " ORDER BY started_at, context_id LIMIT ?1)",
      "DELETE FROM runs WHERE context_id IN (SELECT context_id FROM runs"
      " ORDER BY started_at, context_id LIMIT ?1)",
      fmt::format("SELECT {} FROM runs WHERE (?1 IS NULL OR state = ?1)"
                  " AND (?2 IS NULL OR target = ?2) AND (?3 IS NULL OR user = ?3)"
                  " ORDER BY started_at DESC, context_id DESC LIMIT ?4",
                  kRunColumns),
      fmt::format("SELECT {}, outputs, error_message, error_step FROM runs WHERE context_id = ?1",
                  kRunColumns),
      "SELECT path, id, type, state, started_ms, duration_ms, inputs, outputs, http_method,"
      " http_url, http_status, http_attempts, http_time_ms, error_code, error_message"
      " FROM steps WHERE context_id = ?1 ORDER BY seq",
  };
  std::vector<SqliteStatement> prepared;
  for (const std::string& text : sql) {
    Result<SqliteStatement> stmt = db.prepare(text);
    if (!stmt.ok()) return stmt.status();
    prepared.push_back(std::move(stmt).value());
  }
  return std::make_unique<RunStoreStatements>(
      RunStoreStatements{std::move(prepared[0]), std::move(prepared[1]), std::move(prepared[2]),
                         std::move(prepared[3]), std::move(prepared[4]), std::move(prepared[5]),
                         std::move(prepared[6]), std::move(prepared[7]), std::move(prepared[8])});
}

// ------------------------------------------------------------- conversions

int64_t to_unix_ms(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(ms)));
}

// Milliseconds as decimal text to the microsecond; non-finite values as 0.
std::string ms_text(double ms) { return fmt::format("{:.3f}", std::isfinite(ms) ? ms : 0.0); }

// A REAL column read back, rounded to the microsecond as it was written.
double column_ms(const SqliteStatement& stmt, int column) {
  double parsed = std::strtod(stmt.column_text(column).c_str(), nullptr);
  return std::strtod(ms_text(parsed).c_str(), nullptr);
}

std::optional<std::string> column_optional_text(const SqliteStatement& stmt, int column) {
  if (stmt.column_is_null(column)) return std::nullopt;
  return stmt.column_text(column);
}

SqliteStatement& bind_optional(SqliteStatement& stmt, int index,
                               const std::optional<std::string>& text) {
  return text ? stmt.bind(index, *text) : stmt.bind_null(index);
}

// Empty text as NULL.
SqliteStatement& bind_nonempty(SqliteStatement& stmt, int index, const std::string& text) {
  return text.empty() ? stmt.bind_null(index) : stmt.bind(index, text);
}

Status corrupt_row(const std::string& context_id, std::string_view what) {
  return Status("run_store_corrupt", fmt::format("the stored run '{}' has {}", context_id, what));
}

Result<Value> column_json(const SqliteStatement& stmt, int column, const std::string& context_id,
                          std::string_view what) {
  Result<Value> value = parse_json_value(stmt.column_text(column));
  if (!value.ok()) return corrupt_row(context_id, fmt::format("unreadable {} JSON", what));
  return value;
}

Result<RunSummary> read_summary(const SqliteStatement& stmt) {
  RunSummary summary;
  summary.context_id = stmt.column_text(0);
  summary.target = stmt.column_text(1);
  summary.user = column_optional_text(stmt, 2);
  std::optional<RunSource> source = parse_run_source(stmt.column_text(3));
  if (!source) return corrupt_row(summary.context_id, "an unknown source");
  summary.source = *source;
  std::optional<RunState> state = parse_run_state(stmt.column_text(4));
  if (!state) return corrupt_row(summary.context_id, "an unknown state");
  summary.state = *state;
  summary.started_at = from_unix_ms(stmt.column_int64(5));
  summary.duration_ms = column_ms(stmt, 6);
  summary.error_code = stmt.column_text(7);
  return summary;
}

Result<StepRecord> read_step(const SqliteStatement& stmt, const std::string& context_id) {
  StepRecord step;
  step.path = stmt.column_text(0);
  step.id = stmt.column_text(1);
  step.type = stmt.column_text(2);
  std::optional<RunState> state = parse_run_state(stmt.column_text(3));
  if (!state) return corrupt_row(context_id, "a step with an unknown state");
  step.state = *state;
  step.started_ms = column_ms(stmt, 4);
  step.duration_ms = column_ms(stmt, 5);
  Result<Value> inputs = column_json(stmt, 6, context_id, "step inputs");
  if (!inputs.ok()) return inputs.status();
  step.inputs = std::move(inputs).value();
  Result<Value> outputs = column_json(stmt, 7, context_id, "step outputs");
  if (!outputs.ok()) return outputs.status();
  step.outputs = std::move(outputs).value();
  if (!stmt.column_is_null(8)) {
    HttpSummary http;
    http.method = stmt.column_text(8);
    http.url = stmt.column_text(9);
    http.status = static_cast<int>(stmt.column_int64(10));
    http.attempts = static_cast<int>(stmt.column_int64(11));
    http.time_ms = column_ms(stmt, 12);
    step.http = std::move(http);
  }
  step.error_code = stmt.column_text(13);
  step.error_message = stmt.column_text(14);
  return step;
}

// SQLite's codes as the run store's, with the file named in the message.
Status store_status(const Status& status, const std::string& path) {
  if (status.ok()) return status;
  const std::string& code = status.code();
  if (code.starts_with("run_store_")) return status;
  std::string mapped = code == "sqlite_busy"             ? "run_store_busy"
                       : code == "sqlite_corrupt"        ? "run_store_corrupt"
                       : code == "sqlite_schema_too_new" ? "run_store_schema_too_new"
                       : code == "sqlite_io" || code == "sqlite_full" || code == "io_error"
                           ? "run_store_io"
                           : "run_store_error";
  return Status(std::move(mapped), "run store " + path + ": " + status.message());
}

// journal_mode=WAL needs a moment of exclusive access the first time; when
// several processes create the file at once, retry until the busy timeout.
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

// Takes group and other permissions off SQLite's companion files, if present.
void tighten_if_present(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    ::chmod(path.c_str(), st.st_mode & 0700);
  }
}

}  // namespace

// ------------------------------------------------------------------ helpers

std::string flowline_home() {
  const char* home = std::getenv("FLOWLINE_HOME");
  if (home != nullptr && *home != '\0') return home;
  std::string user_home;
  const char* env_home = std::getenv("HOME");
  if (env_home != nullptr && *env_home != '\0') {
    user_home = env_home;
  } else {
    struct passwd pw;
    struct passwd* found = nullptr;
    char buffer[4096];
    if (::getpwuid_r(::getuid(), &pw, buffer, sizeof buffer, &found) == 0 && found != nullptr &&
        found->pw_dir != nullptr) {
      user_home = found->pw_dir;
    }
  }
  if (user_home.empty()) return ".local/share/flowline";
  if (user_home.back() == '/') user_home.pop_back();
  return user_home + "/.local/share/flowline";
}

std::string default_database_path() { return flowline_home() + "/flowline.db"; }

std::optional<RunState> parse_run_state(std::string_view name) {
  for (RunState state :
       {RunState::InProgress, RunState::Completed, RunState::Error, RunState::Cancelled}) {
    if (run_state_name(state) == name) return state;
  }
  return std::nullopt;
}

std::optional<RunSource> parse_run_source(std::string_view name) {
  for (RunSource source : {RunSource::Cli, RunSource::Batch, RunSource::Api, RunSource::Script}) {
    if (run_source_name(source) == name) return source;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- RunStore

Result<std::unique_ptr<RunStore>> RunStore::open(const std::string& path) {
  return open(path, RunStoreOptions{});
}

Result<std::unique_ptr<RunStore>> RunStore::open(const std::string& path,
                                                 const RunStoreOptions& options) {
  auto fail = [&](const Status& status) { return store_status(status, path); };
  Status status = ensure_private_directory(parent_directory(path));
  if (status.ok()) status = ensure_private_file(path);
  if (!status.ok()) return fail(status);
  tighten_if_present(path + "-wal");
  tighten_if_present(path + "-shm");

  Result<std::unique_ptr<SqliteDb>> db =
      SqliteDb::open(path, {SqliteOpenMode::ReadWrite, options.busy_timeout});
  if (!db.ok()) return fail(db.status());
  SqliteDb& conn = **db;
  status = enable_wal(conn);
  // synchronous is per connection and must follow the journal mode change.
  if (status.ok()) status = conn.exec("PRAGMA synchronous = NORMAL");
  if (status.ok()) status = apply_migrations(conn, kSchemaComponent, kRunMigrations);
  if (!status.ok()) return fail(status);

  Result<std::unique_ptr<RunStoreStatements>> statements = prepare_statements(conn);
  if (!statements.ok()) return fail(statements.status());
  return std::unique_ptr<RunStore>(
      new RunStore(path, options, std::move(db).value(), std::move(statements).value()));
}

RunStore::RunStore(std::string path, RunStoreOptions options, std::unique_ptr<SqliteDb> db,
                   std::unique_ptr<RunStoreStatements> statements)
    : path_(std::move(path)),
      options_(options),
      db_(std::move(db)),
      stmts_(std::move(statements)) {}

// Members are destroyed in reverse order: stmts_ is finalized before db_ closes.
RunStore::~RunStore() = default;

Status RunStore::to_status(const Status& status) const { return store_status(status, path_); }

Status RunStore::save(const RunResult& run) {
  if (run.context_id.empty()) {
    return Status("run_store_invalid", "run store " + path_ + ": a run without a context id");
  }
  std::lock_guard lock(mu_);
  return to_status(save_locked(run));
}

Status RunStore::save_locked(const RunResult& run) {
  Result<SqliteTransaction> txn = SqliteTransaction::begin_immediate(*db_);
  if (!txn.ok()) return txn.status();

  {
    SqliteStatement& stmt = stmts_->delete_steps;
    StatementResetter reset(stmt);
    Status status = stmt.bind(1, run.context_id).run();
    if (!status.ok()) return status;
  }
  {
    SqliteStatement& stmt = stmts_->upsert_run;
    StatementResetter reset(stmt);
    stmt.bind(1, run.context_id)
        .bind(2, run.target)
        .bind(4, run_source_name(run.source))
        .bind(5, run_state_name(run.state))
        .bind(6, to_unix_ms(run.started_at))
        .bind(7, ms_text(run.duration_ms))
        .bind(8, redact(run.outputs).to_json());
    bind_optional(stmt, 3, run.user);
    if (run.error) {
      stmt.bind(9, run.error->code)
          .bind(10, redact_text(run.error->message))
          .bind(11, run.error->step);
    } else {
      stmt.bind_null(9).bind_null(10).bind_null(11);
    }
    Status status = stmt.run();
    if (!status.ok()) return status;
  }
  SqliteStatement& insert = stmts_->insert_step;
  for (size_t seq = 0; seq < run.steps.size(); ++seq) {
    const StepRecord& step = run.steps[seq];
    StatementResetter reset(insert);
    insert.bind(1, run.context_id)
        .bind(2, static_cast<int64_t>(seq))
        .bind(3, step.path)
        .bind(4, step.id)
        .bind(5, step.type)
        .bind(6, run_state_name(step.state))
        .bind(7, ms_text(step.started_ms))
        .bind(8, ms_text(step.duration_ms))
        .bind(9, redact(step.inputs).to_json())
        .bind(10, redact(step.outputs).to_json());
    if (step.http) {
      insert.bind(11, step.http->method)
          .bind(12, redact_url(step.http->url))
          .bind(13, int64_t{step.http->status})
          .bind(14, int64_t{step.http->attempts})
          .bind(15, ms_text(step.http->time_ms));
    } else {
      insert.bind_null(11).bind_null(12).bind_null(13).bind_null(14).bind_null(15);
    }
    bind_nonempty(insert, 16, step.error_code);
    bind_nonempty(insert, 17, redact_text(step.error_message));
    Status status = insert.run();
    if (!status.ok()) return status;
  }

  // Retention: COUNT(*) reads the index's pages, not its rows, so the common
  // case (nothing to prune) stays cheap; pruning reads only the excess.
  if (options_.max_runs > 0) {
    int64_t count = 0;
    {
      StatementResetter reset(stmts_->count_runs);
      Result<bool> row = stmts_->count_runs.step();
      if (!row.ok()) return row.status();
      count = *row ? stmts_->count_runs.column_int64(0) : 0;
    }
    int64_t excess = count - static_cast<int64_t>(options_.max_runs);
    if (excess > 0) {
      for (SqliteStatement* prune : {&stmts_->prune_steps, &stmts_->prune_runs}) {
        StatementResetter reset(*prune);
        Status status = prune->bind(1, excess).run();
        if (!status.ok()) return status;
      }
    }
  }
  return txn->commit();
}

Result<std::vector<RunSummary>> RunStore::list(const RunFilter& filter) {
  std::lock_guard lock(mu_);
  SqliteStatement& stmt = stmts_->list_runs;
  StatementResetter reset(stmt);
  if (filter.state) {
    stmt.bind(1, run_state_name(*filter.state));
  } else {
    stmt.bind_null(1);
  }
  bind_optional(stmt, 2, filter.target);
  bind_optional(stmt, 3, filter.user);
  stmt.bind(4, filter.limit == 0 ? int64_t{-1} : static_cast<int64_t>(filter.limit));
  std::vector<RunSummary> runs;
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.ok()) return to_status(row.status());
    if (!*row) break;
    Result<RunSummary> summary = read_summary(stmt);
    if (!summary.ok()) return to_status(summary.status());
    runs.push_back(std::move(summary).value());
  }
  return runs;
}

Result<std::optional<RunResult>> RunStore::get(const std::string& context_id) {
  std::lock_guard lock(mu_);
  RunResult run;
  {
    SqliteStatement& stmt = stmts_->select_run;
    StatementResetter reset(stmt);
    stmt.bind(1, context_id);
    Result<bool> row = stmt.step();
    if (!row.ok()) return to_status(row.status());
    if (!*row) return std::optional<RunResult>();
    Result<RunSummary> summary = read_summary(stmt);
    if (!summary.ok()) return to_status(summary.status());
    run.context_id = std::move(summary->context_id);
    run.target = std::move(summary->target);
    run.user = std::move(summary->user);
    run.source = summary->source;
    run.state = summary->state;
    run.started_at = summary->started_at;
    run.duration_ms = summary->duration_ms;
    Result<Value> outputs = column_json(stmt, 8, context_id, "outputs");
    if (!outputs.ok()) return to_status(outputs.status());
    run.outputs = std::move(outputs).value();
    if (!stmt.column_is_null(7)) {
      run.error =
          RunError{std::move(summary->error_code), stmt.column_text(9), stmt.column_text(10)};
    }
  }
  SqliteStatement& stmt = stmts_->select_steps;
  StatementResetter reset(stmt);
  stmt.bind(1, context_id);
  for (;;) {
    Result<bool> row = stmt.step();
    if (!row.ok()) return to_status(row.status());
    if (!*row) break;
    Result<StepRecord> step = read_step(stmt, context_id);
    if (!step.ok()) return to_status(step.status());
    run.steps.push_back(std::move(step).value());
  }
  return std::optional<RunResult>(std::move(run));
}

}  // namespace flowline
