#include "runtime/script/script_host.h"

#include <duktape.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "runtime/engine.h"

// Duktape reports errors by longjmp. The Duktape/C functions below are
// split in two: the outer function makes the Duktape calls that can throw
// and keeps only trivially destructible locals; the C++ work (RunRequest,
// Value, shared_ptr, blocking on a run) happens in a helper that calls
// Duktape only through protected calls (JsSandbox::get_value/push_value and
// duk_safe_call), leaves one value on the stack and says whether to return
// it or throw it. The outer function throws only after the helper's frame
// — and every C++ object in it — is gone.

namespace flowline {
namespace {

// Heap stash keys: the stash is unreachable from scripts, so these cannot
// be replaced by one.
constexpr const char* kHostKey = "flowline.host";
constexpr const char* kSandboxKey = "flowline.sandbox";
constexpr const char* kRunnerProtoKey = "flowline.runnerPrototype";
constexpr const char* kResultProtoKey = "flowline.resultPrototype";
constexpr const char* kErrorProtoKey = "flowline.errorPrototype";

// Runner and result state lives in hidden-symbol properties, which scripts
// can neither read nor set.
#define HIDDEN(name) DUK_HIDDEN_SYMBOL("flowline." name)
constexpr const char* kRunnerMark = HIDDEN("runner");
constexpr const char* kTarget = HIDDEN("target");
constexpr const char* kBackground = HIDDEN("background");
constexpr const char* kInputs = HIDDEN("inputs");
constexpr const char* kTimeout = HIDDEN("timeout");
constexpr const char* kResultMark = HIDDEN("result");
constexpr const char* kContextId = HIDDEN("contextId");
constexpr const char* kOutputs = HIDDEN("outputs");
#undef HIDDEN

constexpr size_t kMaxLogBytes = 8 * 1024;

struct Binding {
  ScriptHost* host;
  JsSandbox* sandbox;
};

Binding binding_of(duk_context* ctx) {
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, kHostKey);
  duk_get_prop_string(ctx, -2, kSandboxKey);
  Binding binding{static_cast<ScriptHost*>(duk_get_pointer(ctx, -2)),
                  static_cast<JsSandbox*>(duk_get_pointer(ctx, -1))};
  duk_pop_3(ctx);
  if (!binding.host || !binding.sandbox)
    duk_error(ctx, DUK_ERR_ERROR, "FlowAPI is not bound to a host");
  return binding;
}

void push_stash_entry(duk_context* ctx, const char* key) {
  duk_push_heap_stash(ctx);
  duk_get_prop_string(ctx, -1, key);
  duk_remove(ctx, -2);
}

// Pushes `this` and returns its index, after checking it carries `mark`.
duk_idx_t require_this(duk_context* ctx, const char* mark, const char* what) {
  duk_push_this(ctx);
  if (!duk_is_object(ctx, -1) || !duk_has_prop_string(ctx, -1, mark))
    duk_type_error(ctx, "not a %s: call this method on the object FlowAPI gave you", what);
  return duk_get_top_index(ctx);
}

void def_hidden(duk_context* ctx, duk_idx_t object, const char* key) {
  // [... value] -> [...]
  duk_push_string(ctx, key);
  duk_insert(ctx, -2);
  duk_def_prop(ctx, object, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE);
}

void def_member(duk_context* ctx, duk_idx_t object, const char* key, bool enumerable) {
  // [... value] -> [...]
  duk_push_string(ctx, key);
  duk_insert(ctx, -2);
  duk_def_prop(ctx, object,
               DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WRITABLE | DUK_DEFPROP_SET_CONFIGURABLE |
                   (enumerable ? DUK_DEFPROP_SET_ENUMERABLE : DUK_DEFPROP_CLEAR_ENUMERABLE));
}

void put_function(duk_context* ctx, duk_idx_t object, const char* name, duk_c_function fn,
                  duk_idx_t nargs, int magic = 0) {
  duk_push_c_function(ctx, fn, nargs);
  duk_set_magic(ctx, -1, magic);
  duk_put_prop_string(ctx, object, name);
}

// --- values built in protected calls -------------------------------------

// [message code step contextId] -> the error object a failed run throws.
// (A safe call shares its caller's frame: the arguments are the top values.)
duk_ret_t make_flow_error_protected(duk_context* ctx, void*) {
  duk_idx_t args = duk_get_top(ctx) - 4;
  duk_idx_t error = duk_push_error_object_raw(ctx, DUK_ERR_ERROR, nullptr, 0, nullptr);
  push_stash_entry(ctx, kErrorProtoKey);
  duk_set_prototype(ctx, error);
  duk_dup(ctx, args);
  def_member(ctx, error, "message", false);
  duk_dup(ctx, args + 1);
  def_member(ctx, error, "code", true);
  duk_dup(ctx, args + 2);
  def_member(ctx, error, "step", true);
  duk_dup(ctx, args + 3);
  def_member(ctx, error, "contextId", true);
  return 1;
}

// Pushes the error object for `error` (of run `context_id`, if any).
void push_flow_error(JsSandbox& sandbox, const RunError& error, const std::string& context_id) {
  duk_context* ctx = sandbox.context();
  sandbox.push_value(Value(error.message));
  sandbox.push_value(Value(error.code));
  sandbox.push_value(Value(error.step));
  sandbox.push_value(Value(context_id));
  duk_safe_call(ctx, make_flow_error_protected, nullptr, 4, 1);  // or the error making it
}

RunError error_of(const RunResult& result) {
  if (result.error) return *result.error;
  if (result.state == RunState::Cancelled)
    return RunError{"cancelled", "the run was cancelled", ""};
  return RunError{"run_failed", "the run failed", ""};
}

// [contextId outputs-or-undefined background] -> a result object.
duk_ret_t make_result_protected(duk_context* ctx, void*) {
  duk_idx_t args = duk_get_top(ctx) - 3;
  duk_idx_t result = duk_push_object(ctx);
  push_stash_entry(ctx, kResultProtoKey);
  duk_set_prototype(ctx, result);
  duk_push_true(ctx);
  def_hidden(ctx, result, kResultMark);
  duk_dup(ctx, args);
  def_hidden(ctx, result, kContextId);
  duk_dup(ctx, args + 1);
  def_hidden(ctx, result, kOutputs);
  duk_dup(ctx, args + 2);
  def_hidden(ctx, result, kBackground);
  return 1;
}

// `outputs` is null for a background run.
void push_result(JsSandbox& sandbox, const std::string& context_id, const Value* outputs) {
  duk_context* ctx = sandbox.context();
  sandbox.push_value(Value(context_id));
  if (outputs) {
    sandbox.push_value(*outputs);
  } else {
    duk_push_undefined(ctx);  // the calling function reserved the room
  }
  sandbox.push_value(Value(outputs == nullptr));
  duk_safe_call(ctx, make_result_protected, nullptr, 3, 1);
}

// The string at `index` as UTF-8 (empty when it is not a string).
std::string string_at(JsSandbox& sandbox, duk_idx_t index) {
  auto value = sandbox.get_value(index, "argument");
  return value.ok() && value->is_string() ? value->as_string() : std::string();
}

// --- sn_fd.FlowAPI ---------------------------------------------------------

duk_ret_t api_get_runner(duk_context* ctx) {
  duk_idx_t runner = duk_push_object(ctx);
  push_stash_entry(ctx, kRunnerProtoKey);
  duk_set_prototype(ctx, runner);
  duk_push_true(ctx);
  def_hidden(ctx, runner, kRunnerMark);
  duk_push_string(ctx, "");
  def_hidden(ctx, runner, kTarget);
  duk_push_false(ctx);
  def_hidden(ctx, runner, kBackground);
  duk_push_bare_object(ctx);
  def_hidden(ctx, runner, kInputs);
  duk_push_number(ctx, 0);
  def_hidden(ctx, runner, kTimeout);
  return 1;
}

// .subflow(name) .action(name) .flow(name): the run's target.
duk_ret_t runner_target(duk_context* ctx) {
  if (!duk_is_string(ctx, 0))
    duk_type_error(ctx, "subflow(), action() and flow() take a name such as 'global.my_subflow'");
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  duk_dup(ctx, 0);
  def_hidden(ctx, self, kTarget);
  return 1;
}

// .inForeground() (magic 0) / .inBackground() (magic 1).
duk_ret_t runner_mode(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  duk_push_boolean(ctx, duk_get_current_magic(ctx) == 1);
  def_hidden(ctx, self, kBackground);
  return 1;
}

// Copies the own enumerable properties of the object at `from` into the
// runner's inputs (defined, so a setter on Object.prototype sees nothing).
void copy_inputs(duk_context* ctx, duk_idx_t self, duk_idx_t from) {
  duk_get_prop_string(ctx, self, kInputs);
  duk_idx_t inputs = duk_get_top_index(ctx);
  duk_enum(ctx, from, DUK_ENUM_OWN_PROPERTIES_ONLY);
  while (duk_next(ctx, -1, 1))
    duk_def_prop(ctx, inputs, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WEC);
  duk_pop_2(ctx);
}

// .withInputs(object): the run's inputs, replacing earlier ones (as
// FlowRunner::withInputs does); null or undefined clears them.
duk_ret_t runner_with_inputs(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  duk_push_bare_object(ctx);
  def_hidden(ctx, self, kInputs);
  if (duk_is_null_or_undefined(ctx, 0)) return 1;
  if (!duk_is_object(ctx, 0) || duk_is_array(ctx, 0) || duk_is_callable(ctx, 0))
    duk_type_error(ctx, "withInputs() takes an object of inputs by name, e.g. {limit: 5}");
  copy_inputs(ctx, self, 0);
  return 1;
}

// .addInput(name, value): one input, added to (or replacing) the others.
duk_ret_t runner_add_input(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  if (!duk_is_string(ctx, 0)) duk_type_error(ctx, "addInput() takes the input's name as a string");
  duk_get_prop_string(ctx, self, kInputs);
  duk_dup(ctx, 0);
  duk_dup(ctx, 1);
  duk_def_prop(ctx, -3, DUK_DEFPROP_HAVE_VALUE | DUK_DEFPROP_SET_WEC);
  duk_pop(ctx);
  return 1;
}

// .timeout(milliseconds); 0: none.
duk_ret_t runner_timeout(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  double ms = duk_is_number(ctx, 0) ? duk_get_number(ctx, 0) : -1;
  if (!(ms >= 0 && ms <= 1e12))
    duk_range_error(ctx, "timeout() takes a number of milliseconds (0 for none)");
  duk_push_number(ctx, ms);
  def_hidden(ctx, self, kTimeout);
  return 1;
}

// Starts the run and, in the foreground, waits for it. Leaves the result or
// the error to throw on the stack; true: throw it.
bool start_run(Binding binding, duk_idx_t target_index, duk_idx_t inputs_index, bool background,
               double timeout_ms) {
  JsSandbox& sandbox = *binding.sandbox;
  ScriptHost& host = *binding.host;

  std::string target = string_at(sandbox, target_index);
  if (target.empty()) {
    push_flow_error(sandbox,
                    RunError{"usage",
                             "name an action, subflow or flow with .action(), .subflow() or "
                             ".flow() before .run()",
                             ""},
                    "");
    return true;
  }
  auto inputs = sandbox.get_value(inputs_index, "inputs");
  if (!inputs.ok()) {
    push_flow_error(sandbox, RunError{"invalid_input", inputs.status().message(), ""}, "");
    return true;
  }

  // The script cannot outlive its own time limit, so neither may a run it
  // waits for.
  auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_ms));
  auto deadline = sandbox.run_deadline();
  if (deadline != std::chrono::steady_clock::time_point::max()) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      push_flow_error(sandbox, RunError{"timeout", "the script's time limit has passed", ""}, "");
      return true;
    }
    timeout = timeout.count() > 0 ? std::min(timeout, left) : left;
  }

  RunRequest request;
  request.target = std::move(target);
  request.user = host.session_user();
  request.inputs = std::move(inputs).value();
  request.timeout = timeout;
  request.source = RunSource::Script;
  RunError error;
  std::shared_ptr<RunHandle> handle = host.start(std::move(request), &error);
  if (!handle) {
    if (error.code.empty()) error.code = "run_failed";
    if (error.message.empty()) error.message = "the run could not be started";
    push_flow_error(sandbox, error, "");
    return true;
  }
  if (background) {
    push_result(sandbox, handle->context_id(), nullptr);
    return false;
  }
  RunResult result = handle->wait();
  if (result.state != RunState::Completed) {
    push_flow_error(sandbox, error_of(result), handle->context_id());
    return true;
  }
  push_result(sandbox, handle->context_id(), &result.outputs);
  return false;
}

duk_ret_t runner_run(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kRunnerMark, "FlowAPI runner");
  duk_get_prop_string(ctx, self, kTarget);
  duk_idx_t target = duk_get_top_index(ctx);
  duk_get_prop_string(ctx, self, kInputs);
  duk_idx_t inputs = duk_get_top_index(ctx);
  duk_get_prop_string(ctx, self, kBackground);
  bool background = duk_to_boolean(ctx, -1);
  duk_get_prop_string(ctx, self, kTimeout);
  double timeout_ms = duk_is_number(ctx, -1) ? duk_get_number(ctx, -1) : 0;
  Binding binding = binding_of(ctx);
  duk_require_stack(ctx, 8);
  if (start_run(binding, target, inputs, background, timeout_ms)) return duk_throw(ctx);
  return 1;
}

enum class ByIdOp { Outputs, Status, Cancel };

// FlowAPI.getOutputs(id) / getStatus(id) / cancel(id) and the background
// result's methods. Leaves a value on the stack; true: throw it.
bool by_id(Binding binding, duk_idx_t id_index, ByIdOp op) {
  JsSandbox& sandbox = *binding.sandbox;
  duk_context* ctx = sandbox.context();
  std::string id = string_at(sandbox, id_index);
  std::shared_ptr<RunHandle> handle = binding.host->find(id);
  if (!handle) {
    push_flow_error(
        sandbox, RunError{"unknown_run", fmt::format("no run with context id '{}'", id), ""}, id);
    return true;
  }
  switch (op) {
    case ByIdOp::Status:
      sandbox.push_value(Value(std::string(run_state_name(handle->state()))));
      return false;
    case ByIdOp::Cancel:
      handle->cancel();
      duk_push_undefined(ctx);
      return false;
    case ByIdOp::Outputs: {
      std::optional<RunResult> result = handle->result();
      if (!result) {
        sandbox.push_value(Value(ValueObject{}));
        return false;
      }
      if (result->state != RunState::Completed) {
        push_flow_error(sandbox, error_of(*result), id);
        return true;
      }
      sandbox.push_value(result->outputs);
      return false;
    }
  }
  return false;
}

// FlowAPI.getOutputs (magic 0), getStatus (1), cancel (2).
duk_ret_t api_by_id(duk_context* ctx) {
  if (!duk_is_string(ctx, 0)) duk_type_error(ctx, "takes a context id (a string)");
  Binding binding = binding_of(ctx);
  duk_require_stack(ctx, 8);
  if (by_id(binding, 0, static_cast<ByIdOp>(duk_get_current_magic(ctx)))) return duk_throw(ctx);
  return 1;
}

// result.getOutputs(): a foreground run's outputs; a background run's
// outputs once it is done ({} until then).
duk_ret_t result_get_outputs(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kResultMark, "FlowAPI result");
  duk_get_prop_string(ctx, self, kBackground);
  if (!duk_to_boolean(ctx, -1)) {
    duk_get_prop_string(ctx, self, kOutputs);
    return 1;
  }
  duk_get_prop_string(ctx, self, kContextId);
  Binding binding = binding_of(ctx);
  duk_require_stack(ctx, 8);
  if (by_id(binding, duk_get_top_index(ctx), ByIdOp::Outputs)) return duk_throw(ctx);
  return 1;
}

duk_ret_t result_get_context_id(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kResultMark, "FlowAPI result");
  duk_get_prop_string(ctx, self, kContextId);
  return 1;
}

duk_ret_t result_get_status(duk_context* ctx) {
  duk_idx_t self = require_this(ctx, kResultMark, "FlowAPI result");
  duk_get_prop_string(ctx, self, kBackground);
  if (!duk_to_boolean(ctx, -1)) {
    duk_push_string(ctx, "completed");  // a foreground result exists only for a completed run
    return 1;
  }
  duk_get_prop_string(ctx, self, kContextId);
  Binding binding = binding_of(ctx);
  duk_require_stack(ctx, 8);
  if (by_id(binding, duk_get_top_index(ctx), ByIdOp::Status)) return duk_throw(ctx);
  return 1;
}

// The error object's getMessage (magic 0), getCode (1), getStep (2),
// getContextId (3).
duk_ret_t error_getter(duk_context* ctx) {
  static constexpr const char* kNames[] = {"message", "code", "step", "contextId"};
  duk_push_this(ctx);
  if (!duk_is_object(ctx, -1)) return 0;
  duk_get_prop_string(ctx, -1, kNames[duk_get_current_magic(ctx) & 3]);
  return 1;
}

// --- gs ----------------------------------------------------------------------

duk_ret_t json_encode_protected(duk_context* ctx, void*) {
  duk_json_encode(ctx, -1);
  return 1;
}

// Sends the string on top of the stack to the host's log.
void log_top(Binding binding, LogLevel level) {
  auto message = binding.sandbox->get_value(-1, "message");
  if (!message.ok() || !message->is_string()) return;
  std::string text = message->as_string();
  if (text.size() > kMaxLogBytes) {
    size_t cut = kMaxLogBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
  }
  binding.host->log(level, text);
}

// gs.info/warn/error/debug(...): strings as they are, errors as their
// string ("Error: …"), other values as JSON (or String(v) when JSON has none
// for them: undefined, functions, cycles), joined with spaces.
duk_ret_t gs_log(duk_context* ctx) {
  duk_idx_t count = duk_get_top(ctx);
  duk_require_stack(ctx, 8);
  for (duk_idx_t i = 0; i < count; ++i) {
    if (duk_is_string(ctx, i)) continue;
    if (!duk_is_error(ctx, i) && !duk_is_undefined(ctx, i) && !duk_is_callable(ctx, i)) {
      duk_dup(ctx, i);
      if (duk_safe_call(ctx, json_encode_protected, nullptr, 1, 1) == DUK_EXEC_SUCCESS &&
          duk_is_string(ctx, -1)) {
        duk_replace(ctx, i);
        continue;
      }
      duk_pop(ctx);
    }
    duk_safe_to_string(ctx, i);
  }
  duk_push_string(ctx, " ");
  duk_insert(ctx, 0);
  duk_join(ctx, count);
  // 8 KiB of UTF-8 is at most 8192 UTF-16 units; cut there before converting.
  if (duk_get_length(ctx, -1) > kMaxLogBytes) duk_substring(ctx, -1, 0, kMaxLogBytes);
  Binding binding = binding_of(ctx);
  log_top(binding, static_cast<LogLevel>(duk_get_current_magic(ctx)));
  return 0;
}

// --- installation ------------------------------------------------------------

duk_ret_t install_protected(duk_context* ctx, void* udata) {
  auto* binding = static_cast<Binding*>(udata);
  duk_push_heap_stash(ctx);
  duk_idx_t stash = duk_get_top_index(ctx);
  duk_push_pointer(ctx, binding->host);
  duk_put_prop_string(ctx, stash, kHostKey);
  duk_push_pointer(ctx, binding->sandbox);
  duk_put_prop_string(ctx, stash, kSandboxKey);

  // The thrown error's prototype: an Error, named FlowError.
  duk_idx_t error_proto = duk_push_object(ctx);
  duk_get_global_string(ctx, "Error");
  duk_get_prop_string(ctx, -1, "prototype");
  duk_set_prototype(ctx, error_proto);
  duk_pop(ctx);
  duk_push_string(ctx, "FlowError");
  def_member(ctx, error_proto, "name", false);
  put_function(ctx, error_proto, "getMessage", error_getter, 0, 0);
  put_function(ctx, error_proto, "getCode", error_getter, 0, 1);
  put_function(ctx, error_proto, "getStep", error_getter, 0, 2);
  put_function(ctx, error_proto, "getContextId", error_getter, 0, 3);
  duk_put_prop_string(ctx, stash, kErrorProtoKey);

  duk_idx_t runner_proto = duk_push_object(ctx);
  put_function(ctx, runner_proto, "subflow", runner_target, 1);
  put_function(ctx, runner_proto, "action", runner_target, 1);
  put_function(ctx, runner_proto, "flow", runner_target, 1);
  put_function(ctx, runner_proto, "inForeground", runner_mode, 0, 0);
  put_function(ctx, runner_proto, "inBackground", runner_mode, 0, 1);
  put_function(ctx, runner_proto, "withInputs", runner_with_inputs, 1);
  put_function(ctx, runner_proto, "addInput", runner_add_input, 2);
  put_function(ctx, runner_proto, "timeout", runner_timeout, 1);
  put_function(ctx, runner_proto, "run", runner_run, 0);
  duk_put_prop_string(ctx, stash, kRunnerProtoKey);

  duk_idx_t result_proto = duk_push_object(ctx);
  put_function(ctx, result_proto, "getOutputs", result_get_outputs, 0);
  put_function(ctx, result_proto, "getContextId", result_get_context_id, 0);
  put_function(ctx, result_proto, "getStatus", result_get_status, 0);
  duk_put_prop_string(ctx, stash, kResultProtoKey);

  duk_idx_t sn_fd = duk_push_object(ctx);
  duk_idx_t api = duk_push_object(ctx);
  put_function(ctx, api, "getRunner", api_get_runner, 0);
  put_function(ctx, api, "getOutputs", api_by_id, 1, static_cast<int>(ByIdOp::Outputs));
  put_function(ctx, api, "getStatus", api_by_id, 1, static_cast<int>(ByIdOp::Status));
  put_function(ctx, api, "cancel", api_by_id, 1, static_cast<int>(ByIdOp::Cancel));
  duk_put_prop_string(ctx, sn_fd, "FlowAPI");
  duk_put_global_string(ctx, "sn_fd");

  duk_idx_t gs = duk_push_object(ctx);
  put_function(ctx, gs, "info", gs_log, DUK_VARARGS, static_cast<int>(LogLevel::Info));
  put_function(ctx, gs, "warn", gs_log, DUK_VARARGS, static_cast<int>(LogLevel::Warn));
  put_function(ctx, gs, "error", gs_log, DUK_VARARGS, static_cast<int>(LogLevel::Error));
  put_function(ctx, gs, "debug", gs_log, DUK_VARARGS, static_cast<int>(LogLevel::Debug));
  duk_put_global_string(ctx, "gs");
  return 0;
}

}  // namespace

void install_host_api(JsSandbox& sandbox, ScriptHost& host) {
  duk_context* ctx = sandbox.context();
  if (!ctx) return;  // no heap: run() reports why
  Binding binding{&host, &sandbox};
  if (!duk_check_stack(ctx, 4)) return;
  if (duk_safe_call(ctx, install_protected, &binding, 0, 1) != DUK_EXEC_SUCCESS) {
    // Only the memory limit can get here; the script then fails when it
    // reaches for sn_fd, and run() names the limit.
    sandbox.failure_from_stack();
    return;
  }
  duk_pop(ctx);
}

}  // namespace flowline
