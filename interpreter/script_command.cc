// `flowline script FILE.js` — runs a JavaScript file in the same host script
// steps use: `sn_fd.FlowAPI` starts actions, subflows and flows as the
// session user through the engine, `gs.*` log. The reference product's
// sample script runs unchanged.
//
// gs.info (and gs.debug with --debug) print to standard output, one line per
// call; gs.warn and gs.error to standard error with a "warn:" / "error:"
// prefix. Exit 0 when the script ends, 1 when it throws (the error and its
// line go to standard error), 2 for usage or definitions that do not load.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <iterator>
#include <mutex>

#include "interpreter/commands.h"
#include "interpreter/token_common.h"
#include "runtime/engine.h"
#include "runtime/script/js_sandbox.h"
#include "runtime/script/script_host.h"

namespace flowline::cli {

namespace {

struct ScriptOptions {
  std::string file;
  std::string defs = ".";
  std::string user;
  std::string timeout = "10m";
  bool debug = false;
};

class CliHost : public ScriptHost {
 public:
  CliHost(Engine& engine, std::string user, bool debug)
      : engine_(engine), user_(std::move(user)), debug_(debug) {}

  std::shared_ptr<RunHandle> start(RunRequest request, RunError*) override {
    request.source = RunSource::Script;
    return start_run(engine_, std::move(request));
  }
  std::shared_ptr<RunHandle> find(const std::string& context_id) override {
    return lookup_run(context_id);
  }
  void log(LogLevel level, const std::string& message) override {
    std::lock_guard lock(mutex_);
    switch (level) {
      case LogLevel::Info: std::cout << message << std::endl; break;
      case LogLevel::Debug:
        if (debug_) std::cout << message << std::endl;
        break;
      case LogLevel::Warn: std::cerr << "warn: " << message << std::endl; break;
      case LogLevel::Error: std::cerr << "error: " << message << std::endl; break;
    }
  }
  std::optional<std::string> session_user() const override { return user_; }

 private:
  Engine& engine_;
  std::string user_;
  bool debug_;
  std::mutex mutex_;
};

int script_command(const ScriptOptions& options) {
  std::string code;
  if (options.file == "-") {
    code.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(options.file, std::ios::binary);
    if (!in) {
      std::cerr << fmt::format("flowline script: cannot read '{}'\n", options.file);
      return kExitUsage;
    }
    code.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::string name = options.file == "-" ? "<stdin>" : options.file;
  if (auto error = check_script_syntax(code)) {
    std::cerr << fmt::format("flowline script: {}:{}: {} [script_error]\n", name, error->line,
                             error->message);
    return kExitUsage;
  }
  auto timeout = duration_option(options.timeout, "script", "--timeout");
  if (!timeout) return kExitUsage;
  auto set = load_checked_definitions(options.defs, "script");
  if (!set) return kExitUsage;
  auto engine = make_engine(std::move(*set), EngineOptions{});
  if (!engine.ok()) {
    std::cerr << fmt::format("flowline script: {} [{}]\n", engine.status().message(),
                             engine.status().code());
    return kExitFailed;
  }
  std::string user = options.user.empty() ? Engine::default_user() : options.user;
  int exit_code = kExitOk;
  {
    ScriptLimits limits;
    limits.timeout = *timeout;
    JsSandbox sandbox(limits);
    CliHost host(**engine, user, options.debug);
    install_host_api(sandbox, host);
    if (auto failure = sandbox.run(code, name)) {
      std::cerr << fmt::format("flowline script: {}{} [{}]\n",
                               failure->line > 0 ? fmt::format("{}:{}: ", name, failure->line) : "",
                               failure->message, failure->code);
      exit_code = kExitFailed;
    }
  }
  engine.value().reset();  // waits for background runs' records
  return exit_code;
}

}  // namespace

void add_script_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ScriptOptions>();
  CLI::App* cmd = app.add_subcommand(
      "script",
      "Run a JavaScript file with sn_fd.FlowAPI and gs.* (as script steps see them). Exit 0 when "
      "it ends, 1 when it throws, 2 usage or definitions that do not load.");
  cmd->add_option("file", options->file, "The script ('-' for standard input)")->required();
  cmd->add_option("-d,--defs", options->defs, "Definition directory or file")->default_str(".");
  cmd->add_option("--user", options->user, "The session user (default: $FLOWLINE_USER, else your login)");
  cmd->add_option("--timeout", options->timeout, "Stop the script after this long")->default_str("10m");
  cmd->add_flag("--debug", options->debug, "Also print gs.debug lines");
  cmd->callback([options, &exit_code] { exit_code = script_command(*options); });
}

}  // namespace flowline::cli
