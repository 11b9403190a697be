#include "runtime/script/script_runner.h"

#include <duktape.h>
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
    request.depth = call_.depth + 1;
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

// Reads property `name` of the object on top of the stack, replacing it with
// the value — in a protected call, since a getter the script defined may throw.
struct PropertyRead {
  const char* name;
  size_t length;
};
duk_ret_t read_property(duk_context* ctx, void* udata) {
  auto* read = static_cast<PropertyRead*>(udata);
  duk_get_prop_lstring(ctx, -1, read->name, read->length);
  return 1;
}
bool protected_get(duk_context* ctx, const std::string& name) {
  PropertyRead read{name.data(), name.size()};
  return duk_safe_call(ctx, read_property, &read, 1, 1) == DUK_EXEC_SUCCESS;
}

// The declared outputs the script set, converted one by one (what else it put
// into `outputs` is never looked at). An `outputs` that is not an object
// counts as setting none.
Result<Value> declared_outputs(JsSandbox& sandbox, const ScriptStep& step) {
  ValueObject out;
  duk_context* ctx = sandbox.context();
  if (ctx == nullptr || !duk_check_stack(ctx, 8)) return Value(std::move(out));
  duk_push_global_object(ctx);
  if (!protected_get(ctx, "outputs")) {
    duk_pop(ctx);
    return Status("script_error", "reading `outputs` threw an error");
  }
  if (duk_is_object(ctx, -1) && !duk_is_function(ctx, -1)) {
    for (const ParamSpec& spec : step.outputs) {
      duk_dup(ctx, -1);
      if (!protected_get(ctx, spec.name)) {
        duk_pop_2(ctx);
        return Status("script_error", fmt::format("reading output '{}' threw an error", spec.name));
      }
      if (!duk_is_undefined(ctx, -1)) {
        auto value = sandbox.get_value(-1, "outputs." + spec.name);
        if (!value.ok()) {
          duk_pop_2(ctx);
          return value.status();
        }
        out.insert_or_assign(spec.name, std::move(value).value());
      }
      duk_pop(ctx);
    }
  }
  duk_pop(ctx);
  return Value(std::move(out));
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
  ScriptLimits limits = limits_;
  bool cut_to_deadline = false;
  if (call.deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        *call.deadline - std::chrono::steady_clock::now());
    if (left < limits.timeout) {
      limits.timeout = std::max(left, std::chrono::milliseconds(1));
      cut_to_deadline = true;
    }
  }
  JsSandbox sandbox(limits);
  if (call.cancel) sandbox.set_cancel_flag(call.cancel.get());
  StepHost host(hooks_, log_, call);
  install_host_api(sandbox, host);
  sandbox.set_global("inputs", call.inputs.is_object() ? call.inputs : Value(ValueObject{}));
  sandbox.set_global("outputs", Value(ValueObject{}));
  std::string file = step.code_range.known() ? step.code_range.path() : "script";
  if (auto failure = sandbox.run(step.code, file)) {
    if (failure->code == "script_timeout" && cut_to_deadline)
      outcome.error = {"timeout", "the run's timeout passed while its script step ran", ""};
    else
      outcome.error = {failure->code, locate(step, *failure), ""};
    return outcome;
  }
  // Only the declared outputs are read back (an undeclared helper function is no error).
  auto produced = declared_outputs(sandbox, step);
  if (!produced.ok()) {
    outcome.error = {produced.status().code(), produced.status().message(), ""};
    return outcome;
  }
  ValueObject outputs;
  for (const ParamSpec& spec : step.outputs) {
    const Value* value = produced->find(spec.name);
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
