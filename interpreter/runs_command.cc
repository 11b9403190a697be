// `flowline runs list [--limit N] [--state S] [--target NAME] [--user U] [--output text|json]`
// `flowline runs show ID [--output text|json]`
//
// Reads the run store in $FLOWLINE_HOME/flowline.db. A missing file is an
// empty store: nothing is created just to list it. Exit 0, or 1 when the
// run is unknown or the store cannot be read.
#include "interpreter/runs_command.h"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interpreter/commands.h"
#include "interpreter/output.h"
#include "runtime/records/run_store.h"

namespace flowline::cli {

namespace {

using TimePoint = std::chrono::system_clock::time_point;

struct ListOptions {
  int limit = static_cast<int>(kDefaultRunListLimit);
  std::string state;
  std::string target;
  std::string user;
  std::string output = "text";
};

struct ShowOptions {
  std::string context_id;
  std::string output = "text";
};

// ------------------------------------------------------------- formatting

// Local time, ISO 8601: "2024-05-01T14:51:30", with ".123+02:00" when `precise`.
std::string local_iso(TimePoint t, bool precise) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  struct tm tm;
  localtime_r(&seconds, &tm);
  std::string text = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (!precise) return text;
  long offset = tm.tm_gmtoff / 60;
  char sign = offset < 0 ? '-' : '+';
  offset = offset < 0 ? -offset : offset;
  return text + fmt::format(".{:03}{}{:02}:{:02}", millis, sign, offset / 60, offset % 60);
}

// UTC, ISO 8601 with milliseconds, for JSON.
std::string utc_iso(TimePoint t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  struct tm tm;
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

// "0.25 ms", "4.2 ms", "412 ms", "1.23 s", "2m 03s", "1h 02m 03s".
std::string format_ms(double ms) {
  if (!(ms >= 0)) ms = 0;
  if (ms < 1) return fmt::format("{:.2f} ms", ms);
  if (ms < 10) return fmt::format("{:.1f} ms", ms);
  if (ms < 1000) return fmt::format("{:.0f} ms", ms);
  if (ms < 60'000) return fmt::format("{:.2f} s", ms / 1000);
  auto total = static_cast<int64_t>(ms / 1000);
  if (total < 3600) return fmt::format("{}m {:02}s", total / 60, total % 60);
  return fmt::format("{}h {:02}m {:02}s", total / 3600, total / 60 % 60, total % 60);
}

std::string colored_state(RunState state, bool color) {
  std::string name(run_state_name(state));
  if (!color) return name;
  const char* code = state == RunState::Completed ? "32" : state == RunState::Error ? "31" : "33";
  return fmt::format("\x1b[{}m{}\x1b[0m", code, name);
}

// Pads to `width` display columns; `text` may hold colour escapes that
// take none.
std::string pad(const std::string& text, size_t visible, size_t width) {
  return visible >= width ? text : text + std::string(width - visible, ' ');
}

Value optional_text(const std::optional<std::string>& text) {
  return text ? Value(*text) : Value();
}

Value nonempty_text(const std::string& text) { return text.empty() ? Value() : Value(text); }

Value summary_json(const RunSummary& run) {
  return Value(ValueObject{
      {"context_id", Value(run.context_id)},
      {"target", Value(run.target)},
      {"user", optional_text(run.user)},
      {"source", Value(run_source_name(run.source))},
      {"state", Value(run_state_name(run.state))},
      {"started_at", Value(utc_iso(run.started_at))},
      {"duration_ms", Value(run.duration_ms)},
      {"error_code", nonempty_text(run.error_code)},
  });
}

Value run_json(const RunResult& run) {
  ValueArray steps;
  for (const StepRecord& step : run.steps) {
    ValueObject object{
        {"path", Value(step.path)},
        {"id", Value(step.id)},
        {"type", Value(step.type)},
        {"state", Value(run_state_name(step.state))},
        {"started_ms", Value(step.started_ms)},
        {"duration_ms", Value(step.duration_ms)},
        {"inputs", step.inputs},
        {"outputs", step.outputs},
        {"http", Value()},
        {"error", Value()},
    };
    if (step.http) {
      object["http"] = Value(ValueObject{
          {"method", Value(step.http->method)},
          {"url", Value(step.http->url)},
          {"status", Value(step.http->status)},
          {"attempts", Value(step.http->attempts)},
          {"time_ms", Value(step.http->time_ms)},
      });
    }
    if (!step.error_code.empty() || !step.error_message.empty()) {
      object["error"] = Value(
          ValueObject{{"code", Value(step.error_code)}, {"message", Value(step.error_message)}});
    }
    steps.push_back(Value(std::move(object)));
  }
  Value error;
  if (run.error) {
    error = Value(ValueObject{{"code", Value(run.error->code)},
                              {"message", Value(run.error->message)},
                              {"step", nonempty_text(run.error->step)}});
  }
  return Value(ValueObject{
      {"context_id", Value(run.context_id)},
      {"target", Value(run.target)},
      {"user", optional_text(run.user)},
      {"source", Value(run_source_name(run.source))},
      {"state", Value(run_state_name(run.state))},
      {"started_at", Value(utc_iso(run.started_at))},
      {"duration_ms", Value(run.duration_ms)},
      {"outputs", run.outputs},
      {"error", error},
      {"steps", Value(std::move(steps))},
  });
}

std::string render_table(const std::vector<RunSummary>& runs, bool color) {
  const std::vector<std::string> headers = {"CONTEXT ID", "TARGET",  "USER",    "SOURCE",
                                            "STATE",      "STARTED", "DURATION"};
  std::vector<std::vector<std::string>> rows;
  for (const RunSummary& run : runs) {
    rows.push_back({run.context_id, run.target, run.user.value_or("-"),
                    std::string(run_source_name(run.source)),
                    std::string(run_state_name(run.state)), local_iso(run.started_at, false),
                    format_ms(run.duration_ms)});
  }
  std::vector<size_t> widths;
  for (const std::string& header : headers) widths.push_back(header.size());
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  constexpr size_t kStateColumn = 4;
  std::string out;
  auto append_row = [&](const std::vector<std::string>& cells, bool header, RunState state) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i + 1 == cells.size()) {
        line += cells[i];
        break;
      }
      std::string cell = (!header && i == kStateColumn) ? colored_state(state, color) : cells[i];
      line += pad(cell, cells[i].size(), widths[i]) + "  ";
    }
    out += line + "\n";
  };
  append_row(headers, true, RunState::Completed);
  for (size_t r = 0; r < rows.size(); ++r) append_row(rows[r], false, runs[r].state);
  return out;
}

std::string render_report(const RunResult& run, bool color) {
  std::string out = fmt::format("run {}\n", run.context_id);
  auto field = [&](std::string_view name, const std::string& value) {
    out += fmt::format("  {:<10}{}\n", std::string(name) + ":", value);
  };
  field("target", run.target);
  field("user", run.user.value_or("(none)"));
  field("source", std::string(run_source_name(run.source)));
  field("state", colored_state(run.state, color));
  field("started", local_iso(run.started_at, true));
  field("duration", format_ms(run.duration_ms));
  if (run.error) {
    std::string where = run.error->step.empty() ? "" : " (step " + run.error->step + ")";
    field("error", fmt::format("{}: {}{}", run.error->code, run.error->message, where));
  }
  out += "\noutputs:\n  " + pretty_json(run.outputs, 2) + "\n";

  out += fmt::format("\nsteps ({}):\n", run.steps.size());
  if (run.steps.empty()) out += "  (none)\n";
  size_t path_width = 0, type_width = 0, state_width = 0;
  for (const StepRecord& step : run.steps) {
    path_width = std::max(path_width, step.path.size());
    type_width = std::max(type_width, step.type.size());
    state_width = std::max(state_width, run_state_name(step.state).size());
  }
  for (const StepRecord& step : run.steps) {
    std::string state(run_state_name(step.state));
    out += fmt::format("  {}  {}  {}  {}\n", pad(step.path, step.path.size(), path_width),
                       pad(step.type, step.type.size(), type_width),
                       pad(colored_state(step.state, color), state.size(), state_width),
                       format_ms(step.duration_ms));
    if (step.http) {
      out += fmt::format(
          "      {} {} -> {}, {} attempt{}, {}\n", step.http->method, step.http->url,
          step.http->status == 0 ? std::string("no response") : std::to_string(step.http->status),
          step.http->attempts, step.http->attempts == 1 ? "" : "s", format_ms(step.http->time_ms));
    }
    if (!step.error_code.empty() || !step.error_message.empty()) {
      out += fmt::format("      error: {}: {}\n", step.error_code, step.error_message);
    }
  }
  return out;
}

// ---------------------------------------------------------------- commands

// The store, or nullptr when its file does not exist yet (no runs).
Result<std::unique_ptr<RunStore>> open_existing_store() {
  std::string path = default_database_path();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::unique_ptr<RunStore>();
  return RunStore::open(path);
}

int store_failure(const Status& status) {
  std::cerr << fmt::format("flowline runs: {} ({})\n", status.message(), status.code());
  return kExitFailed;
}

int run_list(const ListOptions& options) {
  RunFilter filter;
  filter.limit = static_cast<size_t>(std::max(options.limit, 0));
  if (!options.state.empty()) filter.state = parse_run_state(options.state);
  if (!options.target.empty()) filter.target = options.target;
  if (!options.user.empty()) filter.user = options.user;

  std::vector<RunSummary> runs;
  Result<std::unique_ptr<RunStore>> store = open_existing_store();
  if (!store.ok()) return store_failure(store.status());
  if (*store != nullptr) {
    Result<std::vector<RunSummary>> listed = (*store)->list(filter);
    if (!listed.ok()) return store_failure(listed.status());
    runs = std::move(listed).value();
  }

  if (options.output == "json") {
    ValueArray items;
    for (const RunSummary& run : runs) items.push_back(summary_json(run));
    std::cout << pretty_json(Value(std::move(items))) << "\n";
  } else if (runs.empty()) {
    std::cout << "no runs recorded\n";
  } else {
    std::cout << render_table(runs, use_color(stdout));
  }
  return kExitOk;
}

int run_show(const ShowOptions& options) {
  std::optional<RunResult> run;
  Result<std::unique_ptr<RunStore>> store = open_existing_store();
  if (!store.ok()) return store_failure(store.status());
  if (*store != nullptr) {
    Result<std::optional<RunResult>> got = (*store)->get(options.context_id);
    if (!got.ok()) return store_failure(got.status());
    run = std::move(got).value();
  }
  if (!run) {
    std::cerr << fmt::format("flowline runs show: no run with context id '{}'\n",
                             options.context_id);
    return kExitFailed;
  }
  if (options.output == "json") {
    std::cout << pretty_json(run_json(*run)) << "\n";
  } else {
    std::cout << render_report(*run, use_color(stdout));
  }
  return kExitOk;
}

}  // namespace

void add_runs_command(CLI::App& app, int& exit_code) {
  CLI::App* runs = app.add_subcommand(
      "runs", "Show execution records: past runs, their steps, HTTP calls and errors");
  runs->require_subcommand(1);

  auto list_options = std::make_shared<ListOptions>();
  CLI::App* list = runs->add_subcommand(
      "list", "List recorded runs, newest first (from $FLOWLINE_HOME/flowline.db)");
  list->add_option("--limit", list_options->limit, "How many runs to show (0: all)")
      ->check(CLI::NonNegativeNumber)
      ->default_str(std::to_string(kDefaultRunListLimit));
  list->add_option("--state", list_options->state, "Only runs in this state")
      ->check(CLI::IsMember({"in_progress", "completed", "error", "cancelled"}));
  list->add_option("--target", list_options->target, "Only runs of this action, subflow or flow");
  list->add_option("--user", list_options->user, "Only runs that ran as this user");
  list->add_option("--output", list_options->output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
  list->callback([list_options, &exit_code] { exit_code = run_list(*list_options); });

  auto show_options = std::make_shared<ShowOptions>();
  CLI::App* show = runs->add_subcommand(
      "show", "Show one run: who, when, outputs, error, and each step with its HTTP call");
  show->add_option("context_id", show_options->context_id, "The run's context id")->required();
  show->add_option("--output", show_options->output, "Output format")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_str("text");
  show->callback([show_options, &exit_code] { exit_code = run_show(*show_options); });
}

}  // namespace flowline::cli
