// `flowline batch JOBS` — runs a file of jobs (JSONL or CSV), each as its own
// session user with its own inputs, keeping up to --concurrency runs in
// flight, appending one result line per job as it finishes (DESIGN.md §6).
// Progress on standard error: a bar on a terminal, a plain line every 10 s
// otherwise; a summary at the end. Exit 0 when every job completed, 1 when
// any failed, 2 for usage or definitions that do not load, 130 after Ctrl-C
// (the jobs in flight finish and their results are written first).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "interpreter/commands.h"
#include "interpreter/token_common.h"
#include "runtime/batch/batch_runner.h"
#include "runtime/engine.h"

namespace flowline::cli {

namespace {

// Event-loop threads a batch uses unless --threads says otherwise.
constexpr size_t kMaxDefaultThreads = 4;

struct BatchCommandOptions {
  std::string jobs;
  std::string defs = ".";
  std::string out;
  std::string format;
  std::string user;
  std::string timeout;
  size_t concurrency = 16;
  size_t threads = 0;  // 0: the machine's cores, at most kMaxDefaultThreads
  uint64_t max_failures = 0;
  bool resume = false;
  bool retry_failed = false;
  bool records = false;
};

// "jobs.jsonl" -> "jobs.results.jsonl" beside it.
std::string default_out(const std::string& jobs) {
  std::filesystem::path path(jobs);
  return (path.parent_path() / (path.stem().string() + ".results.jsonl")).string();
}

// Lines in the file (a regular file only), for the ETA; 0 when unknown.
uint64_t count_lines(const std::string& path) {
  if (path == "-") return 0;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return 0;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return 0;
  uint64_t lines = 0;
  char buffer[1 << 16];
  size_t n = 0;
  char last = '\n';
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
    for (size_t i = 0; i < n; ++i) lines += buffer[i] == '\n';
    last = buffer[n - 1];
  }
  std::fclose(file);
  return lines + (last != '\n' ? 1 : 0);
}

std::string eta(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m {:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

class ProgressDisplay {
 public:
  ProgressDisplay(bool tty, uint64_t total) : tty_(tty), total_(total) {}

  void update(const BatchProgress& p, bool final) {
    uint64_t done = p.completed + p.failed;
    double rate = p.elapsed_s > 0 ? static_cast<double>(done) / p.elapsed_s : 0;
    if (tty_) {
      constexpr int kWidth = 24;
      uint64_t finished = done + p.skipped;
      std::string bar;
      if (total_ > 0) {
        int filled = static_cast<int>(kWidth * std::min<double>(1.0, static_cast<double>(finished) / total_));
        bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
      }
      std::string left = total_ > finished && rate > 0
                             ? " · ETA " + eta(static_cast<double>(total_ - finished) / rate)
                             : "";
      std::string line = fmt::format("{}{} done · {} failed · {} in flight{} · {:.0f} jobs/s{}", bar,
                                     done, p.failed, p.in_flight,
                                     p.skipped ? fmt::format(" · {} skipped", p.skipped) : "", rate, left);
      std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final ? "\n" : "");
      std::fflush(stderr);
      return;
    }
    if (final) return;  // the summary follows
    auto now = std::chrono::steady_clock::now();
    if (now - last_plain_ < std::chrono::seconds(10)) return;
    last_plain_ = now;
    std::fprintf(stderr, "batch: %s\n",
                 fmt::format("{} done ({} completed, {} failed), {} in flight, {} skipped, {:.0f} jobs/s",
                             done, p.completed, p.failed, p.in_flight, p.skipped, rate)
                     .c_str());
  }

 private:
  bool tty_;
  uint64_t total_;
  std::chrono::steady_clock::time_point last_plain_ = std::chrono::steady_clock::now();
};

// Results to standard output (--out -, or jobs from standard input): each line
// written whole and flushed; nothing to resume from.
class StdoutResultLog : public ResultLog {
 public:
  const ResumeState& resumed() const override { return none_; }
  bool done(std::string_view) const override { return false; }
  Status append(std::string_view json) override {
    std::string line(json);
    line += '\n';
    if (std::fwrite(line.data(), 1, line.size(), stdout) != line.size() || std::fflush(stdout) != 0)
      return Status("batch_io", "cannot write results to standard output");
    return Status();
  }
  Status append_all(const std::vector<std::string>& lines) override {
    std::string text;
    for (const std::string& line : lines) {
      text += line;
      text += '\n';
    }
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      return Status("batch_io", "cannot write results to standard output");
    return Status();
  }
  Status close() override { return Status(); }

 private:
  ResumeState none_;
};

void print_summary(const BatchSummary& s, const std::string& out) {
  const BatchProgress& c = s.counts;
  uint64_t ran = c.completed + c.failed;
  std::string text = fmt::format("batch: {} jobs in {:.1f} s ({:.0f} jobs/s): {} completed, {} failed",
                                 ran, c.elapsed_s, c.elapsed_s > 0 ? ran / c.elapsed_s : 0.0,
                                 c.completed, c.failed);
  if (c.skipped) text += fmt::format(", {} skipped (already in the results)", c.skipped);
  text += "\n";
  if (!s.errors_by_code.empty()) {
    text += "  errors:";
    for (const auto& [code, count] : s.errors_by_code) text += fmt::format(" {} {},", code, count);
    text.back() = '\n';
  }
  if (s.max_ms > 0)
    text += fmt::format("  duration: p50 {:.1f} ms, p95 {:.1f} ms, max {:.1f} ms\n", s.p50_ms, s.p95_ms,
                        s.max_ms);
  if (s.interrupted)
    text += "  interrupted: the jobs in flight finished; run again with --resume for the rest\n";
  if (s.max_failures_reached)
    text += "  stopped starting jobs after --max-failures; run again with --resume for the rest\n";
  if (s.reader_failed) text += "  the job file could not be read to its end: " + s.reader_error + "\n";
  text += "  results: " + out + "\n";
  std::fputs(text.c_str(), stderr);
}

int batch_command(const BatchCommandOptions& options) {
  constexpr std::string_view command = "batch";
  std::optional<JobFormat> format;
  if (options.format == "jsonl") format = JobFormat::Jsonl;
  else if (options.format == "csv") format = JobFormat::Csv;
  else format = job_format_for(options.jobs);
  if (!format) {
    std::cerr << fmt::format("flowline batch: cannot tell the format of '{}' from its name; use a "
                             ".jsonl or .csv file, or give --format jsonl|csv\n",
                             options.jobs);
    return kExitUsage;
  }
  if (options.concurrency < 1 || options.concurrency > 100000) {
    std::cerr << "flowline batch: --concurrency wants a number from 1 to 100000\n";
    return kExitUsage;
  }
  if (options.threads > 64) {
    std::cerr << "flowline batch: --threads wants a number from 1 to 64\n";
    return kExitUsage;
  }
  std::chrono::milliseconds timeout{0};
  if (!options.timeout.empty()) {
    auto parsed = duration_option(options.timeout, command, "--timeout");
    if (!parsed) return kExitUsage;
    timeout = *parsed;
  }
  std::string out = options.out.empty() ? (options.jobs == "-" ? "-" : default_out(options.jobs))
                                        : options.out;
  if (out == "-" && (options.resume || options.retry_failed)) {
    std::cerr << "flowline batch: --resume needs a results file; give --out FILE\n";
    return kExitUsage;
  }
  auto set = load_checked_definitions(options.defs, command);
  if (!set) return kExitUsage;
  auto reader = JobReader::open(options.jobs, *format);
  if (!reader.ok()) {
    std::cerr << "flowline batch: " << reader.status().message() << "\n";
    return kExitUsage;
  }
  Result<std::unique_ptr<ResultLog>> log =
      out == "-" ? Result<std::unique_ptr<ResultLog>>(std::make_unique<StdoutResultLog>())
                 : ResultLog::open(out, options.resume || options.retry_failed, options.retry_failed);
  if (!log.ok()) {
    std::cerr << "flowline batch: " << log.status().message() << "\n";
    return log.status().code() == "results_exist" ? kExitUsage : kExitFailed;
  }
  if (options.resume && (*log)->resumed().lines > 0)
    std::cerr << fmt::format("flowline batch: resuming: {} results already in {}{}\n",
                             (*log)->resumed().lines, out,
                             (*log)->resumed().cut_torn_line ? " (a torn last line was cut off)" : "");

  EngineOptions engine_options;
  engine_options.keep_records = options.records;
  // Without records nobody reads the per-step bookkeeping of set/if/loop steps.
  engine_options.record_simple_steps = options.records;
  engine_options.record_steps = options.records;
  // Runs of one user share a token read for a second instead of each reading the vault.
  engine_options.refresh.token_cache_ttl = std::chrono::milliseconds(1000);
  // Event loops: one per core by default (a loop is one thread's worth of
  // runs), never more than there are runs to keep in flight.
  size_t threads = options.threads;
  if (threads == 0)
    threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, kMaxDefaultThreads);
  engine_options.loops = std::min(threads, options.concurrency);
  auto engine = make_engine(std::move(*set), std::move(engine_options));
  if (!engine.ok()) {
    std::cerr << fmt::format("flowline batch: {} [{}]\n", engine.status().message(),
                             engine.status().code());
    return kExitFailed;
  }
  BatchOptions batch;
  batch.concurrency = options.concurrency;
  batch.max_failures = options.max_failures;
  batch.default_user = options.user.empty() ? Engine::default_user() : options.user;
  batch.job_timeout = timeout;
  BatchRunner runner(**engine, engine_definitions(**engine), batch);

  bool tty = isatty(STDERR_FILENO);
  uint64_t lines = tty ? count_lines(options.jobs) : 0;
  uint64_t header = *format == JobFormat::Csv && lines > 0 ? 1 : 0;
  ProgressDisplay display(tty, lines - header);
  InterruptGuard interrupt;
  bool told = false;
  auto stop = [&] {
    if (!interrupt.interrupted()) return false;
    if (!told) {
      told = true;
      std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
      std::fputs("\nflowline batch: stopping: the jobs in flight finish and their results are "
                 "written (Ctrl-C again to quit at once; --resume continues later)\n",
                 stderr);
    }
    return true;
  };
  auto summary = runner.run(**reader, **log, stop,
                            [&](const BatchProgress& p) { display.update(p, false); },
                            std::chrono::milliseconds(tty ? 200 : 1000));
  engine.value().reset();
  Status closed = (*log)->close();
  if (!summary.ok()) {
    std::cerr << "flowline batch: " << summary.status().message() << "\n";
    return kExitFailed;
  }
  display.update(summary->counts, true);
  if (!closed.ok()) std::cerr << "flowline batch: " << closed.message() << "\n";
  print_summary(*summary, out == "-" ? "standard output" : out);
  if (summary->interrupted) return kExitInterrupted;
  return summary->counts.failed > 0 || summary->reader_failed || !closed.ok() ? kExitFailed : kExitOk;
}

}  // namespace

void add_batch_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<BatchCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "batch",
      "Run a file of jobs (JSONL or CSV), each as its own user with its own inputs, and append one "
      "result line per job. Exit 0 all completed, 1 some failed, 2 usage, 130 interrupted.");
  cmd->add_option("jobs", options->jobs, "The jobs file (.jsonl or .csv; '-' for standard input)")->required();
  cmd->add_option("-d,--defs", options->defs, "Definition directory or file")->default_str(".");
  cmd->add_option("--out", options->out, "Results file (default: JOBS.results.jsonl beside the jobs; '-' standard output)");
  cmd->add_option("--concurrency", options->concurrency, "Runs in flight at once")->default_str("16");
  cmd->add_option("--threads", options->threads,
                  "Event-loop threads the runs share (default: one per core, at most 4)");
  cmd->add_flag("--resume", options->resume, "Skip jobs that already have a result in --out");
  cmd->add_flag("--retry-failed", options->retry_failed, "With --resume: run the jobs whose last result is an error again");
  cmd->add_option("--max-failures", options->max_failures, "Stop starting jobs after this many failed (0: never)");
  cmd->add_option("--format", options->format, "jsonl or csv (default: from the file name)")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  cmd->add_option("--user", options->user, "The user of jobs without one (default: $FLOWLINE_USER, else your login)");
  cmd->add_option("--timeout", options->timeout, "Give up on a job after this long (e.g. 30s)");
  cmd->add_flag("--records", options->records, "Also store an execution record per job (flowline runs)");
  cmd->callback([options, &exit_code] { exit_code = batch_command(*options); });
}

}  // namespace flowline::cli
