#include "runtime/batch/batch_runner.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <memory>
#include <vector>

#include "dsl/suggest.h"
#include "runtime/batch/pipeline.h"
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
  // One string, appended to in place: a line per job.
  std::string out;
  out.reserve(160 + id.size() + error_message.size());
  out += "{\"id\":";
  Value::append_json_string(out, id);
  if (completed) {
    out += ",\"status\":\"completed\",\"outputs\":";
    outputs.append_json(out);
  } else {
    out += ",\"status\":\"error\",\"error\":{\"code\":";
    Value::append_json_string(out, error_code);
    out += ",\"message\":";
    Value::append_json_string(out, error_message);
    out += ",\"step\":";
    if (error_step.empty()) out += "null";
    else Value::append_json_string(out, error_step);
    out += '}';
  }
  out += ",\"context_id\":";
  if (context_id.empty()) out += "null";
  else Value::append_json_string(out, context_id);
  fmt::format_to(std::back_inserter(out), ",\"duration_ms\":{:.3f}", duration_ms);
  if (line > 0) fmt::format_to(std::back_inserter(out), ",\"line\":{}", line);
  out += '}';
  return out;
}

BatchRunner::BatchRunner(Engine& engine, const DefinitionSet& set, BatchOptions options)
    : engine_(engine), set_(set), options_(std::move(options)) {
  if (options_.concurrency == 0) options_.concurrency = 1;
}

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
      std::make_shared<BatchPipeline>(engine_, options_.concurrency, options_.max_failures);
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

  std::vector<ReadyJob> handing;
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
      ReadyJob ready;
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
    for (FinishedJob& done : pipeline->take(std::chrono::milliseconds(100))) {
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
