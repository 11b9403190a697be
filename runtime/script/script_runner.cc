#include "runtime/script/script_runner.h"

#include <fmt/format.h>

#include <thread>

#include "definitions/type_check.h"
#include "dsl/script_syntax.h"
#include "runtime/engine.h"
#include "runtime/script/script_host.h"

namespace flowline {

namespace {

// The host a script step's JavaScript sees: the engine's runs, the engine's log.
class StepHost : public ScriptHost {
 public:
  StepHost(const ScriptRunHooks& hooks, LogSink& log, const ScriptCall& call)
      : hooks_(hooks), log_(log), call_(call) {}

  std::shared_ptr<RunHandle> start(RunRequest request, RunError* error) override {
    if (!hooks_.start) {
      *error = {"unavailable", "this engine cannot start runs from scripts", ""};
      return nullptr;
    }
    return hooks_.start(std::move(request));
  }
  std::shared_ptr<RunHandle> find(const std::string& context_id) override {
    return hooks_.find ? hooks_.find(context_id) : nullptr;
  }
  void log(LogLevel level, const std::string& message) override {
    log_.log(level, call_.context_id, call_.step_path, message);
  }
  std::optional<std::string> session_user() const override { return call_.user; }

 private:
  const ScriptRunHooks& hooks_;
  LogSink& log_;
  const ScriptCall& call_;
};

// "… (at get_my_incidents.yaml:23)" or "… (script line 4)".
std::string locate(const ScriptStep& step, const ScriptFailure& failure) {
  if (failure.line <= 0) return failure.message;
  SourceRange where = script_line_range(step, failure.line);
  if (step.code_line != 0 && where.known())
    return fmt::format("{} (at {}:{})", failure.message, where.path(), where.begin.line);
  return fmt::format("{} (script line {})", failure.message, failure.line);
}

}  // namespace

ScriptRunner::ScriptRunner(EventLoop& loop, LogSink& log, ScriptLimits limits, ScriptRunHooks hooks)
    : loop_(loop), log_(log), limits_(limits), hooks_(std::move(hooks)) {}

ScriptRunner::~ScriptRunner() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return running_ == 0; });
}

void ScriptRunner::run(ScriptCall call, std::function<void(ScriptOutcome)> done) {
  {
    std::lock_guard lock(mutex_);
    ++running_;
  }
  std::thread([this, call = std::move(call), done = std::move(done)]() mutable {
    ScriptOutcome outcome = execute(call);
    loop_.post([done = std::move(done), outcome = std::move(outcome)]() mutable {
      done(std::move(outcome));
    });
    std::lock_guard lock(mutex_);
    if (--running_ == 0) idle_.notify_all();
  }).detach();
}

ScriptOutcome ScriptRunner::execute(const ScriptCall& call) {
  const ScriptStep& step = *call.step;
  ScriptOutcome outcome;
  JsSandbox sandbox(limits_);
  StepHost host(hooks_, log_, call);
  install_host_api(sandbox, host);
  sandbox.set_global("inputs", call.inputs.is_object() ? call.inputs : Value(ValueObject{}));
  sandbox.set_global("outputs", Value(ValueObject{}));
  std::string file = step.code_range.known() ? step.code_range.path() : "script";
  if (auto failure = sandbox.run(step.code, file)) {
    outcome.error = {failure->code, locate(step, *failure), ""};
    return outcome;
  }
  auto produced = sandbox.get_global("outputs");
  if (!produced.ok()) {
    outcome.error = {produced.status().code(), produced.status().message(), ""};
    return outcome;
  }
  ValueObject outputs;
  for (const ParamSpec& spec : step.outputs) {
    const Value* value = produced->is_object() ? produced->find(spec.name) : nullptr;
    if (value == nullptr || value->is_null()) {
      if (spec.mandatory) {
        outcome.error = {"invalid_output",
                         fmt::format("the script did not set its mandatory output '{}'", spec.name), ""};
        return outcome;
      }
      outputs.insert_or_assign(spec.name, spec.default_value ? *spec.default_value : Value());
      continue;
    }
    if (!value_fits(*value, spec.type)) {
      outcome.error = {"invalid_output",
                       fmt::format("output '{}' should be {}, but the script set {}", spec.name,
                                   describe_type(spec.type), value->to_json().substr(0, 200)),
                       ""};
      return outcome;
    }
    outputs.insert_or_assign(spec.name, *value);
  }
  outcome.ok = true;
  outcome.outputs = Value(std::move(outputs));
  return outcome;
}

}  // namespace flowline
