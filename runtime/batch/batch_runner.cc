#include "runtime/batch/batch_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "dsl/suggest.h"
#include "runtime/engine.h"
#include "runtime/value_types.h"

namespace flowline {

namespace {

constexpr double kHistogramMinMs = 0.01;
constexpr double kHistogramGrowth = 1.02;

const std::vector<ParamSpec>* declared_inputs(const Definition& d) {
  if (d.kind == Kind::Action) return &static_cast<const Action&>(d).inputs;
  if (d.kind == Kind::Subflow) return &static_cast<const Subflow&>(d).inputs;
  return nullptr;
}

// What a finished run leaves for its result line (the step records stay behind).
struct Finished {
  std::string id;
  bool completed = false;
  Value outputs;
  RunError error;
  std::string context_id;
  double duration_ms = 0;
};

// A job that could not start: the reason, for its error line.
struct Refusal {
  std::string code;
  std::string message;
};

}  // namespace

void DurationHistogram::add(double ms) {
  ++count_;
  if (ms > max_) max_ = ms;
  size_t index = 0;
  if (ms > kHistogramMinMs)
    index = static_cast<size_t>(std::log(ms / kHistogramMinMs) / std::log(kHistogramGrowth)) + 1;
  buckets_[std::min(index, kBuckets - 1)]++;
}

double DurationHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      double upper = i == 0 ? kHistogramMinMs : kHistogramMinMs * std::pow(kHistogramGrowth, i);
      return std::min(upper, max_);
    }
  }
  return max_;
}

std::string batch_result_line(const std::string& id, bool completed, const Value& outputs,
                              const std::string& error_code, const std::string& error_message,
                              const std::string& error_step, const std::string& context_id,
                              double duration_ms, uint64_t line) {
  std::string out = "{\"id\":" + Value(id).to_json();
  if (completed) {
    out += ",\"status\":\"completed\",\"outputs\":" + outputs.to_json();
  } else {
    out += ",\"status\":\"error\",\"error\":{\"code\":" + Value(error_code).to_json() +
           ",\"message\":" + Value(error_message).to_json() + ",\"step\":" +
           (error_step.empty() ? std::string("null") : Value(error_step).to_json()) + "}";
  }
  out += ",\"context_id\":" + (context_id.empty() ? std::string("null") : Value(context_id).to_json());
  out += fmt::format(",\"duration_ms\":{:.3f}", duration_ms);
  if (line > 0) out += fmt::format(",\"line\":{}", line);
  out += "}";
  return out;
}

BatchRunner::BatchRunner(Engine& engine, const DefinitionSet& set, BatchOptions options)
    : engine_(engine), set_(set), options_(std::move(options)) {
  if (options_.concurrency == 0) options_.concurrency = 1;
}

namespace {

// A job checked and ready to start.
struct Ready {
  std::string id;
  RunRequest request;
};

// The hand-over between the batch thread and the engine's loops. The batch
// thread reads and checks jobs ahead into `ready_`; each loop starts them
// itself, up to its share of the concurrency, and each run's end starts the
// next ready one on the same loop, so a job crosses threads only as part of
// a queue, not one wake-up each. Runs that end in one round of a loop are
// handed back together; the batch thread is woken when `finished_` turns
// non-empty and takes everything in it.
class Pipeline : public std::enable_shared_from_this<Pipeline> {
 public:
  Pipeline(Engine& engine, size_t concurrency, uint64_t max_failures)
      : engine_(engine), max_failures_(max_failures) {
    // Each lane is one loop with its share of the slots (at least one).
    const size_t lanes = std::max<size_t>(1, std::min(engine_loops(engine), concurrency));
    for (size_t i = 0; i < lanes; ++i) {
      auto lane = std::make_unique<Lane>();
      lane->loop = i;
      lane->capacity = concurrency / lanes + (i < concurrency % lanes ? 1 : 0);
      lanes_.push_back(std::move(lane));
    }
  }

  // Batch thread: hands jobs over; wakes the loops that have free slots.
  void push(std::vector<Ready>& jobs) {
    if (jobs.empty()) return;
    std::vector<Lane*> wake;
    {
      std::lock_guard lock(mutex_);
      for (Ready& job : jobs) ready_.push_back(std::move(job));
      if (!closed_)
        for (auto& lane : lanes_)
          if (!lane->pump_posted && lane->running.load(std::memory_order_relaxed) < lane->capacity) {
            lane->pump_posted = true;
            wake.push_back(lane.get());
          }
    }
    jobs.clear();
    for (Lane* lane : wake)
      post_to_loop(engine_, lane->loop, [self = shared_from_this(), lane] { self->pump(*lane); });
  }

  // Batch thread: no job starts any more; returns how many were handed over
  // and will never start.
  size_t close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    size_t dropped = ready_.size();
    ready_.clear();
    return dropped;
  }

  // Batch thread: counts a failure that never reached a loop (a bad line).
  void count_failure() { failures_.fetch_add(1, std::memory_order_relaxed); }

  // Batch thread: waits up to `wait` for finished runs and takes them.
  std::deque<Finished> take(std::chrono::milliseconds wait) {
    std::deque<Finished> out;
    std::unique_lock lock(mutex_);
    finished_cv_.wait_for(lock, wait, [&] { return !finished_.empty(); });
    out.swap(finished_);
    return out;
  }

  size_t running() const {
    size_t total = 0;
    for (const auto& lane : lanes_) total += lane->running.load(std::memory_order_relaxed);
    return total;
  }

 private:
  struct Lane {
    size_t loop = 0;
    size_t capacity = 1;
    std::atomic<size_t> running{0};  // changed on the loop; read for progress
    bool pump_posted = false;        // guarded by mutex_
    // The loop's thread only.
    bool pumping = false;
    bool deliver_posted = false;
    std::vector<Finished> ended;
  };

  bool failed_enough() const {
    return max_failures_ > 0 && failures_.load(std::memory_order_relaxed) >= max_failures_;
  }

  // Lane's loop: starts ready jobs while its slots are free. Runs that end
  // at once (no waiting step) call back into pump(); the outer call goes on,
  // so the stack does not grow with the number of jobs.
  void pump(Lane& lane) {
    if (lane.pumping) return;
    lane.pumping = true;
    for (;;) {
      Ready next;
      {
        std::lock_guard lock(mutex_);
        if (closed_ || lane.running.load(std::memory_order_relaxed) >= lane.capacity ||
            ready_.empty() || failed_enough()) {
          lane.pump_posted = false;
          break;
        }
        next = std::move(ready_.front());
        ready_.pop_front();
      }
      lane.running.fetch_add(1, std::memory_order_relaxed);
      launch_on_loop(engine_, lane.loop, std::move(next.request),
                     [self = shared_from_this(), lane = &lane, id = std::move(next.id)](RunResult result) {
                       self->ended(*lane, std::move(id), std::move(result));
                     });
    }
    lane.pumping = false;
  }

  // Lane's loop: a run ended. Its result waits in `lane.ended` until the loop
  // has handled this round of events; then deliver() hands them all over.
  void ended(Lane& lane, std::string id, RunResult result) {
    Finished done;
    done.id = std::move(id);
    done.completed = result.state == RunState::Completed;
    done.outputs = std::move(result.outputs);
    if (result.error) done.error = std::move(*result.error);
    else if (!done.completed) done.error = {"cancelled", "the run was cancelled", ""};
    done.context_id = std::move(result.context_id);
    done.duration_ms = result.duration_ms;
    lane.running.fetch_sub(1, std::memory_order_relaxed);
    if (!done.completed) failures_.fetch_add(1, std::memory_order_relaxed);
    lane.ended.push_back(std::move(done));
    if (!lane.deliver_posted) {
      lane.deliver_posted = true;
      post_to_loop(engine_, lane.loop,
                   [self = shared_from_this(), lane = &lane] { self->deliver(*lane); });
    }
    pump(lane);
  }

  // Lane's loop: hands the ended runs to the batch thread.
  void deliver(Lane& lane) {
    lane.deliver_posted = false;
    bool wake;
    {
      std::lock_guard lock(mutex_);
      wake = finished_.empty();
      for (Finished& done : lane.ended) finished_.push_back(std::move(done));
    }
    lane.ended.clear();
    // A non-empty queue has woken the batch thread already.
    if (wake) finished_cv_.notify_one();
  }

  Engine& engine_;
  const uint64_t max_failures_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::atomic<uint64_t> failures_{0};  // runs that failed, and bad lines

  std::mutex mutex_;
  std::condition_variable finished_cv_;
  std::deque<Ready> ready_;
  std::deque<Finished> finished_;
  bool closed_ = false;
};

}  // namespace

Result<BatchSummary> BatchRunner::run(JobReader& reader, ResultLog& log,
                                      const std::function<bool()>& stop,
                                      const std::function<void(const BatchProgress&)>& progress,
                                      std::chrono::milliseconds progress_every) {
  using Clock = std::chrono::steady_clock;
  const auto began = Clock::now();
  BatchSummary summary;
  BatchProgress& counts = summary.counts;
  DurationHistogram durations;
  Status io;  // the first failure to write a result; then no new job starts

  auto pipeline =
      std::make_shared<Pipeline>(engine_, options_.concurrency, options_.max_failures);
  // Jobs handed to the pipeline whose results are not written yet. Up to
  // `concurrency` more than run at once wait ready, so the loop never waits
  // for this thread to start the next job.
  size_t outstanding = 0;
  const size_t max_outstanding = 2 * options_.concurrency + 16;
  bool closed = false;

  auto record_error = [&](const std::string& code) {
    ++counts.failed;
    summary.errors_by_code[code]++;
  };
  auto write = [&](const std::string& line) {
    if (!io.ok()) return;
    io = log.append(line);
  };

  // Checks a job against the definitions; on success fills `request`.
  std::vector<std::string> full_names, short_names;  // for "did you mean", made on first need
  auto prepare = [&](BatchJob& job, RunRequest& request) -> std::optional<Refusal> {
    const Definition* target = set_.find_runnable(job.run);
    if (target == nullptr) {
      // Suggest in the form the job used: "scope.name" or the bare name.
      bool qualified = job.run.find('.') != std::string::npos;
      std::vector<std::string>& names = qualified ? full_names : short_names;
      if (names.empty())
        for (const auto& d : set_.all())
          if (d->kind == Kind::Action || d->kind == Kind::Subflow || d->kind == Kind::Flow)
            names.push_back(qualified ? d->full_name : d->name);
      return Refusal{"unknown_target", fmt::format("line {}: no action, subflow or flow named '{}'{}",
                                                   job.line, job.run, did_you_mean(job.run, names))};
    }
    static const std::vector<ParamSpec> kNone;
    const std::vector<ParamSpec>* specs = declared_inputs(*target);
    if (!specs) specs = &kNone;
    auto owner = [target] { return fmt::format("'{}'", target->full_name); };
    Value inputs = std::move(job.inputs);
    if (job.text_inputs) {
      ValueObject typed;
      for (const auto& [name, text] : inputs.as_object()) {
        auto value = parse_typed_input(*specs, name, text.as_string(), owner());
        if (!value.ok())
          return Refusal{value.status().code(), fmt::format("line {}: {}", job.line, value.status().message())};
        typed.insert_or_assign(name, std::move(value).value());
      }
      inputs = Value(std::move(typed));
    }
    auto checked = check_inputs(*specs, inputs, owner);
    if (!checked.ok())
      return Refusal{checked.status().code(), fmt::format("line {}: {}", job.line, checked.status().message())};
    request.target = target->full_name;
    request.user = job.user ? job.user : std::optional<std::string>(options_.default_user);
    if (request.user && request.user->empty()) request.user = std::nullopt;
    request.inputs = std::move(checked).value();
    request.timeout = options_.job_timeout;
    request.source = RunSource::Batch;
    request.remember = false;  // the results file is the batch's record
    request.inputs_checked = true;
    request.context_id = new_context_id();  // here, off the loop thread
    return std::nullopt;
  };

  bool reader_done = false;
  auto last_progress = Clock::now();
  auto report = [&](bool force) {
    if (!progress) return;
    auto now = Clock::now();
    if (!force && now - last_progress < progress_every) return;
    last_progress = now;
    counts.elapsed_s = std::chrono::duration<double>(now - began).count();
    counts.in_flight = pipeline->running();
    progress(counts);
  };

  std::vector<Ready> handing;
  std::vector<std::string> lines;
  for (;;) {
    // Asked once a round, so that a stop is noticed (and acknowledged) even
    // while every slot is busy.
    const bool stopping = stop();
    const bool failed_enough = options_.max_failures > 0 && counts.failed >= options_.max_failures;
    if (!closed && (stopping || !io.ok() || failed_enough)) {
      // Jobs handed over but not started stay without a result: --resume runs them.
      const size_t dropped = pipeline->close();
      outstanding -= dropped;
      closed = true;
      // Said only when jobs were left unstarted.
      if (failed_enough && !stopping && io.ok())
        summary.max_failures_reached = dropped > 0 || !reader_done;
    }
    // Read and check jobs ahead of the loop.
    while (!reader_done && !closed && outstanding + handing.size() < max_outstanding) {
      auto next = reader.next();
      if (!next.ok()) {
        summary.reader_failed = true;
        summary.reader_error = next.status().message();
        reader_done = true;
        break;
      }
      if (!next->has_value()) {
        reader_done = true;
        break;
      }
      JobOrBadLine& item = **next;
      if (auto* bad = std::get_if<BadLine>(&item)) {
        if (log.done(bad->id)) {
          ++counts.skipped;
          continue;
        }
        write(batch_result_line(bad->id, false, Value(), bad->code,
                                fmt::format("line {}: {}", bad->line, bad->message), "", "", 0, bad->line));
        record_error(bad->code);
        pipeline->count_failure();
        if (!io.ok() || (options_.max_failures > 0 && counts.failed >= options_.max_failures)) break;
        continue;
      }
      BatchJob& job = std::get<BatchJob>(item);
      if (log.done(job.id)) {
        ++counts.skipped;
        continue;
      }
      Ready ready;
      if (auto refusal = prepare(job, ready.request)) {
        write(batch_result_line(job.id, false, Value(), refusal->code, refusal->message, "", "", 0,
                                job.line));
        record_error(refusal->code);
        pipeline->count_failure();
        if (!io.ok() || (options_.max_failures > 0 && counts.failed >= options_.max_failures)) break;
        continue;
      }
      ready.id = std::move(job.id);
      handing.push_back(std::move(ready));
      // Hand over in small groups: the loop starts the first jobs early.
      if (handing.size() >= 16) {
        outstanding += handing.size();
        pipeline->push(handing);
      }
    }
    if (!closed) {
      outstanding += handing.size();
      pipeline->push(handing);
    }
    handing.clear();
    if (outstanding == 0 && (reader_done || closed)) break;
    if (outstanding == 0) continue;  // bad lines only so far, or a stop to notice

    // Collect what finished, and write its lines at once; wake at least
    // every 100 ms for `stop` and progress.
    lines.clear();
    for (Finished& done : pipeline->take(std::chrono::milliseconds(100))) {
      --outstanding;
      durations.add(done.duration_ms);
      if (done.completed) {
        ++counts.completed;
        lines.push_back(batch_result_line(done.id, true, done.outputs, "", "", "", done.context_id,
                                          done.duration_ms, 0));
      } else {
        record_error(done.error.code);
        lines.push_back(batch_result_line(done.id, false, Value(), done.error.code,
                                          done.error.message, done.error.step, done.context_id,
                                          done.duration_ms, 0));
      }
    }
    if (!lines.empty() && io.ok()) io = log.append_all(lines);
    report(false);
  }
  summary.interrupted = stop();
  summary.p50_ms = durations.percentile(50);
  summary.p95_ms = durations.percentile(95);
  summary.max_ms = durations.max();
  counts.elapsed_s = std::chrono::duration<double>(Clock::now() - began).count();
  counts.in_flight = 0;
  if (progress) progress(counts);
  if (!io.ok()) return io;
  return summary;
}

}  // namespace flowline
