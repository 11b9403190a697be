// RunStore: execution records in SQLite — every run's state, identity,
// source, outputs, error and steps (DESIGN.md §4 "Runs and records"), for
// `flowline runs list|show`.
//
// The file is normally $FLOWLINE_HOME/flowline.db, shared with the token
// vault: the run store keeps its own tables (runs, steps) and its own schema
// version (component "runs"). The file is created 0600 in a 0700 directory
// and an existing file loses group/other permissions, as the vault does.
//
// Secrets: save() passes outputs, step inputs/outputs and error messages
// through redact() and URLs through redact_url() (runtime/records/redact.h)
// before anything is written, so no token reaches the file.
//
// Durability: WAL with synchronous=NORMAL on this store's connection. A run
// record is not worth an fsync per save (a batch saves one per job); a power
// loss may drop the last saves but never corrupts the file.
//
// Precision: started_at is kept to the millisecond; durations round-trip
// exactly.
//
// Thread-safety: one connection shared by threads under an internal mutex.
// Processes coordinate through SQLite's file locks (busy timeout 5 s).
// Calls block on the disk: do not call them from the event-loop thread.
//
// Failure: Status codes, never exceptions; messages name the file, never a
// stored value.
//   "run_store_busy"            the database stayed locked past the busy timeout
//   "run_store_corrupt"         the file is damaged, or a stored row is
//   "run_store_io"              the file or its directory cannot be made, read or written
//   "run_store_schema_too_new"  the file was written by a newer Flowline
//   "run_store_invalid"         save() of a run without a context id
//   "run_store_error"           any other database failure
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/run_types.h"
#include "runtime/status.h"

namespace flowline {

class SqliteDb;
struct RunStoreStatements;

// Named limits.
inline constexpr size_t kDefaultMaxStoredRuns = 10'000;  // older runs are pruned by save()
inline constexpr size_t kDefaultRunListLimit = 20;       // RunFilter::limit

// $FLOWLINE_HOME, else $HOME/.local/share/flowline (the passwd entry's home
// when HOME is unset). Not created here.
std::string flowline_home();
// flowline_home() + "/flowline.db": the vault's and the run store's file.
std::string default_database_path();

// The inverses of run_state_name / run_source_name (runtime/run_types.h).
std::optional<RunState> parse_run_state(std::string_view name);
std::optional<RunSource> parse_run_source(std::string_view name);

// One line of `runs list`.
struct RunSummary {
  std::string context_id;
  std::string target;
  std::optional<std::string> user;
  RunSource source = RunSource::Api;
  RunState state = RunState::InProgress;
  std::chrono::system_clock::time_point started_at{};
  double duration_ms = 0;
  std::string error_code;  // empty when the run has no error
};

// Which runs list() returns: newest first (by start time), every given
// field matching exactly.
struct RunFilter {
  size_t limit = kDefaultRunListLimit;  // 0: no limit
  std::optional<RunState> state;
  std::optional<std::string> target;
  std::optional<std::string> user;
};

struct RunStoreOptions {
  // save() keeps the newest this many runs (by start time) and deletes the
  // rest with their steps. 0: keep everything.
  size_t max_runs = kDefaultMaxStoredRuns;
  std::chrono::milliseconds busy_timeout{5000};
};

class RunStore {
 public:
  // Opens (creating if needed) the store in the SQLite file `path`,
  // bringing its schema up to date.
  static Result<std::unique_ptr<RunStore>> open(const std::string& path);
  static Result<std::unique_ptr<RunStore>> open(const std::string& path,
                                                const RunStoreOptions& options);
  ~RunStore();
  RunStore(const RunStore&) = delete;
  RunStore& operator=(const RunStore&) = delete;

  // Stores `run` (redacted) in one BEGIN IMMEDIATE transaction, replacing
  // any earlier record with its context id — steps included — so saving a
  // run in_progress and again when it ends leaves one record with its final
  // steps. Then prunes beyond max_runs.
  Status save(const RunResult& run);
  Result<std::vector<RunSummary>> list(const RunFilter& filter);
  // The full record, or nullopt when no run has that context id.
  Result<std::optional<RunResult>> get(const std::string& context_id);

 private:
  RunStore(std::string path, RunStoreOptions options, std::unique_ptr<SqliteDb> db,
           std::unique_ptr<RunStoreStatements> statements);
  Status save_locked(const RunResult& run);
  Status to_status(const Status& status) const;

  const std::string path_;
  const RunStoreOptions options_;
  std::mutex mu_;  // guards db_ and stmts_
  std::unique_ptr<SqliteDb> db_;
  std::unique_ptr<RunStoreStatements> stmts_;  // destroyed before db_ (see ~RunStore)
};

}  // namespace flowline
