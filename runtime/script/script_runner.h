// ScriptRunner: runs script steps' JavaScript for the walker, each on a
// worker thread of its own (a script is CPU work and may block in a
// foreground FlowAPI call, which the event loop must keep serving), and hands
// the outcome back on the loop thread.
//
// A script step (DESIGN.md §2):
//   - gets its declared `inputs` (already rendered) as the global `inputs`
//     and an empty global `outputs`, runs the code under the engine's
//     ScriptLimits, and reads `outputs` back: each declared output converted
//     and checked against its type (a missing one is null unless mandatory;
//     undeclared ones are dropped);
//   - sees `sn_fd.FlowAPI` and `gs` (script_host.h): runs it starts use the
//     calling step's identity and the same engine; gs.* go to the engine's log;
//   - fails with script_error (an uncaught exception; the message carries the
//     definition file and line), script_timeout, script_memory,
//     script_output (a declared output that cannot be converted), or
//     invalid_output (a declared output of the wrong type or missing) — and
//     with the run's own "timeout" or "cancelled" when the run's deadline
//     passes or it is cancelled while the script runs.
//   - runs it starts go one call deeper than the step (call_depth_limit
//     stops a script that starts itself).
//
// Thread-safety: run() is called on the loop thread; the destructor waits for
// scripts still running (each bounded by its time limit).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "definitions/steps.h"
#include "runtime/loop/event_loop.h"
#include "runtime/run_types.h"
#include "runtime/script/js_sandbox.h"
#include "runtime/services.h"

namespace flowline {

class RunHandle;

struct ScriptCall {
  const ScriptStep* step = nullptr;  // the definitions outlive the call
  Value inputs = ValueObject{};      // rendered
  std::optional<std::string> user;   // the identity of runs the script starts
  std::string context_id;            // of the calling run, for log lines
  std::string step_path;
  int depth = 0;                     // the step's call depth: runs it starts go one deeper
  // Set when the calling run is cancelled: the script is interrupted.
  std::shared_ptr<std::atomic<bool>> cancel;
  // The calling run's deadline (its --timeout): the script's time limit is
  // cut to it, and running into it fails the step with "timeout".
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

struct ScriptOutcome {
  bool ok = false;
  Value outputs = ValueObject{};
  RunError error;  // when !ok; `step` is left to the walker
};

// How scripts start and find runs: the engine's own entry points.
struct ScriptRunHooks {
  std::function<std::shared_ptr<RunHandle>(RunRequest)> start;
  std::function<std::shared_ptr<RunHandle>(const std::string&)> find;
};

class ScriptRunner {
 public:
  ScriptRunner(EventLoop& loop, LogSink& log, ScriptLimits limits, ScriptRunHooks hooks);
  ~ScriptRunner();
  ScriptRunner(const ScriptRunner&) = delete;
  ScriptRunner& operator=(const ScriptRunner&) = delete;

  // Starts the script on a worker thread; `done` runs on the loop thread.
  void run(ScriptCall call, std::function<void(ScriptOutcome)> done);

  // The synchronous part, on the calling thread (for tests and for run()).
  ScriptOutcome execute(const ScriptCall& call);

  const ScriptLimits& limits() const { return limits_; }

 private:
  EventLoop& loop_;
  LogSink& log_;
  ScriptLimits limits_;
  ScriptRunHooks hooks_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int running_ = 0;
};

// Awaitable: runs a script step and resumes with its outcome.
class RunScriptStep {
 public:
  RunScriptStep(ScriptRunner& runner, ScriptCall call) : runner_(&runner), call_(std::move(call)) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    runner_->run(std::move(call_), [this, h](ScriptOutcome outcome) {
      outcome_ = std::move(outcome);
      h.resume();
    });
  }
  ScriptOutcome await_resume() { return std::move(outcome_); }

 private:
  ScriptRunner* runner_;
  ScriptCall call_;
  ScriptOutcome outcome_;
};

}  // namespace flowline
