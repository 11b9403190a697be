// BatchPipeline: how a batch's jobs reach the engine's event loops and come
// back (runtime/batch/batch_runner.h runs it). Internal to the batch runner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "definitions/value.h"
#include "runtime/run_types.h"

namespace flowline {

class Engine;

// A job checked and ready to start.
struct ReadyJob {
  std::string id;
  RunRequest request;
};

// What a finished run leaves for its result line (the step records stay behind).
struct FinishedJob {
  std::string id;
  bool completed = false;
  Value outputs;
  RunError error;
  std::string context_id;
  double duration_ms = 0;
};

// The hand-over between the batch thread and the engine's loops. The batch
// thread reads and checks jobs ahead and push()es them; each loop starts them
// itself, up to its share of the concurrency, and each run's end starts the
// next ready one on the same loop, so a job crosses threads only as part of
// a queue, not one wake-up each. Runs that end in one round of a loop are
// handed back together; take() wakes when there are some and takes them all.
//
// Held by shared_ptr: work posted to the loops keeps it alive.
class BatchPipeline : public std::enable_shared_from_this<BatchPipeline> {
 public:
  BatchPipeline(Engine& engine, size_t concurrency, uint64_t max_failures);

  // Batch thread: hands jobs over (and empties `jobs`); wakes the loops
  // that have free slots.
  void push(std::vector<ReadyJob>& jobs);
  // Batch thread: no job starts any more; returns how many were handed over
  // and will never start.
  size_t close();
  // Batch thread: counts a failure that never reached a loop (a bad line).
  void count_failure();
  // Batch thread: waits up to `wait` for finished runs and takes them.
  std::deque<FinishedJob> take(std::chrono::milliseconds wait);
  // Runs going now, over all loops (for progress).
  size_t running() const;

 private:
  struct Lane {
    size_t loop = 0;
    size_t capacity = 1;
    std::atomic<size_t> running{0};  // changed on the loop; read for progress
    bool pump_posted = false;        // guarded by mutex_
    // The loop's thread only.
    bool pumping = false;
    bool deliver_posted = false;
    std::vector<FinishedJob> ended;
  };

  bool failed_enough() const;
  void pump(Lane& lane);
  void ended(Lane& lane, std::string id, RunResult result);
  void deliver(Lane& lane);

  Engine& engine_;
  const uint64_t max_failures_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<uint64_t> failures_{0};  // runs that failed, and bad lines

  std::mutex mutex_;
  std::condition_variable finished_cv_;
  std::deque<ReadyJob> ready_;
  std::deque<FinishedJob> finished_;
  bool closed_ = false;
};

}  // namespace flowline
