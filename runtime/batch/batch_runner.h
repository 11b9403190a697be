// BatchRunner: runs the jobs of a batch file through one engine, keeping up
// to `concurrency` runs in flight (DESIGN.md §6). The runs themselves are
// the engine's coroutines on its event loops (EngineOptions::loops), so a
// thousand jobs in flight cost a thousand suspended runs, not a thousand
// threads; HTTP connections are reused across jobs by each loop's transport.
//
// The calling thread reads jobs ahead (JobReader), checks each against the
// definitions (unknown run, bad inputs: an error result with the line
// number, no run) and hands it to the loops through a BatchPipeline
// (pipeline.h); the loops start jobs themselves as runs end and hand the
// finished ones back in groups, whose result lines this thread writes
// together (ResultLog::append_all). Memory is flat in the number of jobs: at
// most about twice `concurrency` jobs and their results are held at a time;
// durations go into a fixed-size histogram.
//
// Stopping: when `stop()` turns true (SIGINT), no new job starts; the jobs in
// flight finish and their results are written; jobs read ahead but not
// started get no line (--resume runs them). `max_failures` (> 0) stops
// starting jobs after that many failed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "definitions/definitions.h"
#include "runtime/batch/job_reader.h"
#include "runtime/batch/result_log.h"
#include "runtime/status.h"

namespace flowline {

class Engine;

struct BatchOptions {
  size_t concurrency = 16;
  uint64_t max_failures = 0;           // 0: no limit
  std::string default_user;            // for jobs without "user"
  std::chrono::milliseconds job_timeout{0};  // per job; 0: none
};

struct BatchProgress {
  uint64_t completed = 0;
  uint64_t failed = 0;   // error results, bad lines included
  uint64_t skipped = 0;  // already in the results (--resume)
  uint64_t in_flight = 0;
  double elapsed_s = 0;
};

struct BatchSummary {
  BatchProgress counts;
  std::map<std::string, uint64_t> errors_by_code;
  double p50_ms = 0, p95_ms = 0, max_ms = 0;  // durations of the runs that ran
  bool interrupted = false;           // stopped by `stop`
  bool max_failures_reached = false;
  bool reader_failed = false;         // the job file could not be read to its end
  std::string reader_error;
};

// Durations in a fixed-size log-scale histogram (2% buckets from 10 µs to
// ~3 h): percentiles within 2%, memory independent of the count.
class DurationHistogram {
 public:
  void add(double ms);
  double percentile(double p) const;  // p in [0, 100]; 0 when empty
  double max() const { return max_; }
  uint64_t count() const { return count_; }

 private:
  static constexpr size_t kBuckets = 1024;
  uint64_t buckets_[kBuckets] = {};
  uint64_t count_ = 0;
  double max_ = 0;
};

class BatchRunner {
 public:
  BatchRunner(Engine& engine, const DefinitionSet& set, BatchOptions options);

  // Runs every job of `reader`, writing results to `log`. `progress` is
  // called on this thread at most every `progress_every` (and once at the
  // end). Returns the summary; a Status only when results cannot be
  // written ("batch_io") — then the jobs in flight are still waited for.
  Result<BatchSummary> run(JobReader& reader, ResultLog& log, const std::function<bool()>& stop,
                           const std::function<void(const BatchProgress&)>& progress,
                           std::chrono::milliseconds progress_every);

 private:
  Engine& engine_;
  const DefinitionSet& set_;
  BatchOptions options_;
};

// The result line of a job (without the newline), as DESIGN.md §6 gives it.
std::string batch_result_line(const std::string& id, bool completed, const Value& outputs,
                              const std::string& error_code, const std::string& error_message,
                              const std::string& error_step, const std::string& context_id,
                              double duration_ms, uint64_t line);

}  // namespace flowline
