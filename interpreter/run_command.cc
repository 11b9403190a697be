// `flowline run NAME [-d DIR] [--user U] [--input k=v]… [--inputs FILE|-]
//  [--background] [--timeout DUR] [--output json|yaml|text] [--trace FILE]`
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "dsl/decoder.h"
#include "interpreter/commands.h"
#include "interpreter/output.h"
#include "runtime/engine.h"
#include "runtime/eval/evaluator.h"
#include "runtime/records/trace.h"
#include "runtime/value_types.h"

namespace flowline::cli {

namespace {

struct RunOptions {
  std::string target;
  std::string defs = ".";
  std::string user;
  std::vector<std::string> inputs;
  std::string inputs_file;
  bool background = false;
  std::string timeout;
  std::string output = "text";
  std::string trace;
};

const std::vector<ParamSpec>* declared_inputs(const Definition& d) {
  if (d.kind == Kind::Action) return &static_cast<const Action&>(d).inputs;
  if (d.kind == Kind::Subflow) return &static_cast<const Subflow&>(d).inputs;
  return nullptr;
}

// Reads inputs from --inputs (a JSON object) and each --input k=v (typed by
// the declared input); the later wins.
std::optional<Value> gather_inputs(const RunOptions& options, const Definition& target) {
  ValueObject inputs;
  std::string owner = fmt::format("'{}'", target.full_name);
  if (!options.inputs_file.empty()) {
    std::string text;
    if (options.inputs_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(options.inputs_file);
      if (!in) {
        std::cerr << fmt::format("flowline run: cannot read --inputs file '{}'\n", options.inputs_file);
        return std::nullopt;
      }
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto parsed = parse_json_value(text);
    if (!parsed.ok() || !parsed->is_object()) {
      std::cerr << fmt::format("flowline run: --inputs must be a JSON object: {}\n",
                               parsed.ok() ? "got another JSON value" : parsed.status().message());
      return std::nullopt;
    }
    inputs = parsed->as_object();
  }
  static const std::vector<ParamSpec> kNone;
  const auto* specs = declared_inputs(target);
  for (const auto& pair : options.inputs) {
    auto eq = pair.find('=');
    if (eq == std::string::npos) {
      std::cerr << fmt::format("flowline run: --input takes NAME=VALUE, not '{}'\n", pair);
      return std::nullopt;
    }
    auto value = parse_typed_input(specs ? *specs : kNone, pair.substr(0, eq), pair.substr(eq + 1), owner);
    if (!value.ok()) {
      std::cerr << "flowline run: " << value.status().message() << "\n";
      return std::nullopt;
    }
    inputs.insert_or_assign(pair.substr(0, eq), std::move(value).value());
  }
  return Value(std::move(inputs));
}

int exit_code_for(const RunResult& result) {
  if (result.state == RunState::Completed) return kExitOk;
  return result.authorization_required() ? kExitAuthRequired : kExitFailed;
}

int run_command(const RunOptions& options) {
  auto set = load_checked_definitions(options.defs, "run");
  if (!set) return kExitUsage;
  const Definition* target = set->find_runnable(options.target);
  if (!target) {
    std::vector<std::string> names;
    for (const auto& d : set->all())
      if (d->kind == Kind::Action || d->kind == Kind::Subflow || d->kind == Kind::Flow)
        names.push_back(d->name);
    std::cerr << fmt::format("flowline run: no action, subflow or flow named '{}' in {}{}\n",
                             options.target, options.defs, did_you_mean_suffix(options.target, names));
    return kExitUsage;
  }
  auto inputs = gather_inputs(options, *target);
  if (!inputs) return kExitUsage;
  std::chrono::milliseconds timeout{0};
  if (!options.timeout.empty()) {
    auto parsed = parse_duration(options.timeout);
    if (!parsed) {
      std::cerr << fmt::format("flowline run: --timeout takes a duration such as 30s, not '{}'\n",
                               options.timeout);
      return kExitUsage;
    }
    timeout = *parsed;
  }

  RunRequest request;
  request.target = target->full_name;
  request.user = options.user.empty() ? Engine::default_user() : options.user;
  request.inputs = std::move(*inputs);
  request.timeout = timeout;
  request.source = RunSource::Cli;
  request.context_id = new_context_id();

  if (options.background) {
    // Detach: the child runs the flow and stores its record; the parent
    // prints the context id for `flowline runs show`.
    std::cout.flush();
    pid_t pid = fork();
    if (pid < 0) {
      std::cerr << "flowline run: cannot start a background run\n";
      return kExitFailed;
    }
    if (pid > 0) {
      std::cout << request.context_id << "\n";
      return kExitOk;
    }
    setsid();
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
  }

  EngineOptions engine_options;
  auto engine = make_engine(std::move(*set), std::move(engine_options));
  if (!engine.ok()) {
    std::cerr << fmt::format("flowline run: {} [{}]\n", engine.status().message(), engine.status().code());
    return kExitFailed;
  }
  RunResult result = start_run(**engine, std::move(request))->wait();
  engine.value().reset();  // stops the loop and writes the execution record
  if (options.background) std::_Exit(exit_code_for(result));
  if (!options.trace.empty()) {
    Status written = write_trace(result, options.trace);
    if (!written.ok()) std::cerr << "flowline run: " << written.message() << "\n";
  }
  std::cout << render_run_result(result, options.output);
  if (result.error && options.output != "text") std::cerr << "flowline run: " << result.error->message << "\n";
  return exit_code_for(result);
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "Run an action, subflow or flow as the session user and print its outputs. Exit 0 "
      "completed, 1 failed, 2 usage or definitions that do not load, 3 authorization required.");
  cmd->add_option("name", options->target, "The action, subflow or flow (scope.name or name)")->required();
  cmd->add_option("-d,--defs", options->defs, "Definition directory or file")->default_str(".");
  cmd->add_option("--user", options->user, "The session user (default: $FLOWLINE_USER, else your login)");
  cmd->add_option("--input", options->inputs, "An input as NAME=VALUE, typed by its declaration (repeatable)");
  cmd->add_option("--inputs", options->inputs_file, "Inputs as a JSON object in FILE ('-' for standard input)");
  cmd->add_flag("--background", options->background, "Start the run, print its context id and return");
  cmd->add_option("--timeout", options->timeout, "Give up after this long (e.g. 30s)");
  cmd->add_option("--output", options->output, "Output format")
      ->check(CLI::IsMember({"text", "json", "yaml"}))
      ->default_str("text");
  cmd->add_option("--trace", options->trace, "Write a Chrome trace-event JSON file of the run");
  cmd->callback([options, &exit_code] { exit_code = run_command(*options); });
}

}  // namespace flowline::cli
