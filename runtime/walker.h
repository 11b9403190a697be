// RunExecution: one run of an action, subflow or flow, walked step by step
// as a coroutine on the event loop.
//
// Owns the run's state (frames, step records); borrows the definitions and
// services, which must outlive it. Not thread-safe: it lives on the loop
// thread from start to end.
#pragma once

#include <atomic>
#include <memory>

#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/definitions.h"
#include "runtime/eval/evaluator.h"
#include "runtime/run_types.h"
#include "runtime/services.h"
#include "runtime/task.h"

namespace flowline {

class RunExecution {
 public:
  RunExecution(const DefinitionSet& set, const RuntimeServices& services, RunRequest request,
               std::string context_id);
  RunExecution(const RunExecution&) = delete;
  RunExecution& operator=(const RunExecution&) = delete;

  // Runs to the end. Never throws; every failure is in the result.
  Task<RunResult> run();

  // Asks the run to stop at the next step boundary (or wait/HTTP completion).
  void cancel() {
    cancelled_ = true;
    cancel_flag_->store(true);  // a script step running on its worker thread stops too
  }

  // What happens after a step: go on, leave a loop, end the flow, or fail.
  struct Outcome {
    enum class Kind { Next, ExitLoop, SkipIteration, EndFlow, Failed };
    Kind kind = Kind::Next;
    RunError error;
    static Outcome next() { return {}; }
    static Outcome failed(std::string code, std::string message, std::string step) {
      return {Kind::Failed, RunError{std::move(code), std::move(message), std::move(step)}};
    }
  };

  // An empty object shared by the frames of this thread until one is
  // written (Values copy on write), so a frame allocates only what it fills.
  static const Value& empty_object() {
    thread_local const Value empty = Value(ValueObject{});
    return empty;
  }

  // The state of one action/subflow/flow invocation.
  struct Frame {
    const Definition* definition = nullptr;
    std::optional<std::string> user;  // the identity REST steps use; nullopt: system
    std::string path;                 // "" at the root, else "call_id/…/"
    int depth = 0;
    Value inputs;
    Value steps = empty_object();
    Value vars = empty_object();
    Value outputs = empty_object();
    Value error;
    std::list<Value> loop_values;  // stable addresses for EvalScope::loop_items
    EvalScope scope;
  };

  struct CallResult {
    bool ok = true;
    Value outputs = empty_object();
    RunError error;
  };

 private:
  Task<CallResult> invoke(const Definition& definition, Value inputs,
                          std::optional<std::string> caller_user, int depth, std::string path);
  Task<Outcome> run_steps(Frame& frame, const StepList& steps);
  Task<Outcome> run_step(Frame& frame, const Step& step);
  Outcome run_set(Frame& frame, const Step& step, const std::vector<NamedValue>& assignments,
                  bool outputs);
  Task<Outcome> run_if(Frame& frame, const Step& step, const IfStep& s);
  Task<Outcome> run_for_each(Frame& frame, const Step& step, const ForEachStep& s);
  Task<Outcome> run_until(Frame& frame, const Step& step, const UntilStep& s);
  Task<Outcome> run_parallel(Frame& frame, const Step& step, const ParallelStep& s);
  Task<Outcome> run_try(Frame& frame, const Step& step, const TryStep& s);
  Task<Outcome> run_call(Frame& frame, const Step& step, const CallStep& s);
  Task<Outcome> run_rest(Frame& frame, const Step& step, const RestStep& s);
  Outcome run_log(Frame& frame, const Step& step, const LogStep& s);
  Outcome run_json_parse(Frame& frame, const Step& step, const JsonParseStep& s);
  Task<Outcome> run_script(Frame& frame, const Step& step, const ScriptStep& s);

  // Evaluates a condition; a failure becomes a Failed outcome.
  std::optional<Outcome> condition(Frame& frame, const Step& step, const Template& t, bool& out);
  // Stores a step's outputs (plus status) under steps.<id>.
  void store_step(Frame& frame, const Step& step, Value outputs, const RunError* error);
  std::string step_path(const Frame& frame, const Step& step) const;
  size_t begin_record(const Frame& frame, const Step& step);
  void end_record(size_t index, const Outcome& outcome);
  double elapsed_ms() const;
  bool deadline_passed() const;

  const DefinitionSet& set_;
  const RuntimeServices& services_;
  RunRequest request_;
  Value session_;
  Value run_;
  RunResult result_;
  bool cancelled_ = false;
  std::shared_ptr<std::atomic<bool>> cancel_flag_ = std::make_shared<std::atomic<bool>>(false);
  std::chrono::steady_clock::time_point started_;
};

}  // namespace flowline
