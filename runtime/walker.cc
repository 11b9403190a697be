// Flow logic: calls, branches, loops, parallel branches, try/catch and the
// simple steps. REST steps are in steps/rest_step.cc.
#include "runtime/walker.h"

#include <fmt/format.h>

#include "dsl/suggest.h"
#include "runtime/eval/evaluator.h"
#include "runtime/script/script_runner.h"
#include "runtime/value_types.h"

namespace flowline {

using Kind_ = RunExecution::Outcome::Kind;

std::string_view run_state_name(RunState state) {
  switch (state) {
    case RunState::InProgress: return "in_progress";
    case RunState::Completed: return "completed";
    case RunState::Error: return "error";
    case RunState::Cancelled: return "cancelled";
  }
  return "?";
}

std::string_view run_source_name(RunSource source) {
  switch (source) {
    case RunSource::Cli: return "cli";
    case RunSource::Batch: return "batch";
    case RunSource::Api: return "api";
    case RunSource::Script: return "script";
  }
  return "?";
}

RunExecution::RunExecution(const DefinitionSet& set, const RuntimeServices& services,
                           RunRequest request, std::string context_id)
    : set_(set), services_(services), request_(std::move(request)) {
  result_.context_id = std::move(context_id);
  result_.target = request_.target;
  result_.user = request_.user;
  result_.source = request_.source;
  ValueObject session;
  session.emplace("user", request_.user ? Value(*request_.user) : Value());
  session_ = Value(std::move(session));
  ValueObject run;
  run.emplace("id", Value(result_.context_id));
  run_ = Value(std::move(run));
}

double RunExecution::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_)
      .count();
}

bool RunExecution::deadline_passed() const {
  return request_.timeout.count() > 0 &&
         std::chrono::steady_clock::now() - started_ >= request_.timeout;
}

Task<RunResult> RunExecution::run() {
  started_ = std::chrono::steady_clock::now();
  result_.started_at = services_.now();
  const Definition* definition = set_.find_runnable(request_.target);
  if (definition == nullptr) {
    std::vector<std::string> names;
    for (const auto& d : set_.all())
      if (d->kind == Kind::Action || d->kind == Kind::Subflow || d->kind == Kind::Flow)
        names.push_back(d->full_name);
    result_.state = RunState::Error;
    result_.error = RunError{"unknown_target",
                             fmt::format("no action, subflow or flow named '{}'{}", request_.target,
                                         did_you_mean(DefinitionSet::qualify(request_.target), names)),
                             ""};
    co_return std::move(result_);
  }
  result_.target = definition->full_name;
  CallResult call = co_await invoke(*definition, request_.inputs, request_.user, request_.depth, "");
  result_.duration_ms = elapsed_ms();
  if (call.ok) {
    result_.state = RunState::Completed;
    result_.outputs = std::move(call.outputs);
  } else {
    result_.state = call.error.code == "cancelled" ? RunState::Cancelled : RunState::Error;
    result_.error = std::move(call.error);
  }
  co_return std::move(result_);
}

namespace {

const std::vector<ParamSpec>& declared_inputs(const Definition& d) {
  static const std::vector<ParamSpec> kNone;
  if (d.kind == Kind::Action) return static_cast<const Action&>(d).inputs;
  if (d.kind == Kind::Subflow) return static_cast<const Subflow&>(d).inputs;
  return kNone;  // flows have a trigger instead of declared inputs
}

std::string owner_name(const Definition& d) {
  std::string kind(kind_name(d.kind));
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return fmt::format("{} '{}'", kind, d.full_name);
}

}  // namespace

Task<RunExecution::CallResult> RunExecution::invoke(const Definition& definition, Value inputs,
                                                    std::optional<std::string> caller_user,
                                                    int depth, std::string path) {
  CallResult result;
  if (depth > services_.limits.max_call_depth) {
    result.ok = false;
    result.error = {"call_depth_limit",
                    fmt::format("calls nest deeper than {} levels at {}",
                                services_.limits.max_call_depth, owner_name(definition)),
                    path};
    co_return result;
  }
  Frame frame;
  frame.definition = &definition;
  frame.depth = depth;
  frame.path = path;
  // Identity (DESIGN.md §4): an action runs as its caller; a subflow or flow
  // runs as its own run_as, whatever its caller ran as.
  if (definition.kind == Kind::Action) {
    frame.user = std::move(caller_user);
  } else {
    const auto& subflow = static_cast<const Subflow&>(definition);
    if (subflow.run_as == RunAs::SessionUser) frame.user = request_.user;
  }

  if (depth == request_.depth && path.empty() && request_.inputs_checked) {
    frame.inputs = std::move(inputs);  // checked by the caller already (a batch job)
  } else {
    auto checked = check_inputs(declared_inputs(definition), inputs,
                                [&definition] { return owner_name(definition); });
    if (!checked.ok()) {
      result.ok = false;
      result.error = {checked.status().code(), checked.status().message(), path};
      co_return result;
    }
    frame.inputs = std::move(checked).value();
  }
  if (definition.kind == Kind::Subflow || definition.kind == Kind::Flow) {
    for (const auto& variable : static_cast<const Subflow&>(definition).variables)
      frame.vars.mutable_object().insert_or_assign(variable.name,
                                                   variable.default_value.value_or(Value()));
  }
  frame.scope.inputs = &frame.inputs;
  frame.scope.steps = &frame.steps;
  frame.scope.vars = &frame.vars;
  frame.scope.error = &frame.error;
  frame.scope.session = &session_;
  frame.scope.run = &run_;

  if (definition.kind == Kind::Action) {
    const auto& action = static_cast<const Action&>(definition);
    Outcome outcome = co_await run_steps(frame, action.steps);
    // Outputs are computed whatever happened, so error evaluation and
    // callers with on_failure: continue see what there is.
    for (const auto& output : action.outputs) {
      if (!output.value) continue;
      auto value = render(*output.value, frame.scope);
      if (value.ok()) {
        frame.outputs.mutable_object().insert_or_assign(output.name, std::move(value).value());
      } else if (outcome.kind != Kind_::Failed) {
        outcome = Outcome::failed("expression_error",
                                  fmt::format("output '{}': {}", output.name, value.status().message()),
                                  path);
      }
    }
    for (const auto& evaluation : action.error_evaluation) {
      auto when = render(evaluation.when, frame.scope);
      if (!when.ok() || !is_truthy(*when)) continue;
      auto message = render(evaluation.message, frame.scope);
      std::string text = message.ok() ? to_display_string(*message) : evaluation.message.source;
      // A token problem keeps its code so callers still know to log in.
      std::string code = outcome.kind == Kind_::Failed ? outcome.error.code : "action_error";
      if (code == "http_status") code = "action_error";
      outcome = Outcome::failed(code, text, outcome.kind == Kind_::Failed ? outcome.error.step : path);
      break;
    }
    if (outcome.kind == Kind_::Failed) {
      result.ok = false;
      result.error = std::move(outcome.error);
    }
    result.outputs = std::move(frame.outputs);
    co_return result;
  }

  const auto& subflow = static_cast<const Subflow&>(definition);
  Outcome outcome = co_await run_steps(frame, subflow.steps);
  if (outcome.kind == Kind_::Failed) {
    result.ok = false;
    result.error = std::move(outcome.error);
    co_return result;
  }
  for (const auto& output : subflow.outputs) {
    const Value* value = frame.outputs.find(output.name);
    if (value == nullptr) {
      frame.outputs.mutable_object().emplace(output.name, Value());
      continue;
    }
    if (!value->is_null() && !value_fits(*value, output.type)) {
      result.ok = false;
      result.error = {"output_type",
                      fmt::format("output '{}' of {} must be {}, not {}", output.name,
                                  owner_name(definition), describe_type(output.type),
                                  describe_value_type(*value)),
                      path};
      co_return result;
    }
  }
  result.outputs = std::move(frame.outputs);
  co_return result;
}

Task<RunExecution::Outcome> RunExecution::run_steps(Frame& frame, const StepList& steps) {
  for (const Step& step : steps) {
    if (cancelled_) co_return Outcome::failed("cancelled", "the run was cancelled", step_path(frame, step));
    if (deadline_passed())
      co_return Outcome::failed("timeout",
                                fmt::format("the run took longer than its timeout of {} ms",
                                            request_.timeout.count()),
                                step_path(frame, step));
    Outcome outcome;
    // Simple steps run inline: no coroutine frame per step.
    switch (step.kind()) {
      case StepKind::Set: {
        size_t record = begin_record(frame, step);
        outcome = run_set(frame, step, step.as<SetStep>()->assignments, false);
        end_record(record, outcome);
        break;
      }
      case StepKind::AssignOutputs: {
        size_t record = begin_record(frame, step);
        outcome = run_set(frame, step, step.as<AssignOutputsStep>()->assignments, true);
        end_record(record, outcome);
        break;
      }
      case StepKind::Log: {
        size_t record = begin_record(frame, step);
        outcome = run_log(frame, step, *step.as<LogStep>());
        end_record(record, outcome);
        break;
      }
      case StepKind::JsonParse: {
        size_t record = begin_record(frame, step);
        outcome = run_json_parse(frame, step, *step.as<JsonParseStep>());
        end_record(record, outcome);
        break;
      }
      case StepKind::Script: {
        size_t record = begin_record(frame, step);
        outcome = co_await run_script(frame, step, *step.as<ScriptStep>());
        end_record(record, outcome);
        break;
      }
      case StepKind::ExitLoop: outcome.kind = Kind_::ExitLoop; break;
      case StepKind::SkipIteration: outcome.kind = Kind_::SkipIteration; break;
      case StepKind::EndFlow: outcome.kind = Kind_::EndFlow; break;
      default: outcome = co_await run_step(frame, step); break;
    }
    if (outcome.kind != Kind_::Next) co_return outcome;
  }
  co_return Outcome::next();
}

Task<RunExecution::Outcome> RunExecution::run_step(Frame& frame, const Step& step) {
  size_t record = begin_record(frame, step);
  Outcome outcome;
  switch (step.kind()) {
    case StepKind::If: outcome = co_await run_if(frame, step, *step.as<IfStep>()); break;
    case StepKind::ForEach: outcome = co_await run_for_each(frame, step, *step.as<ForEachStep>()); break;
    case StepKind::Until: outcome = co_await run_until(frame, step, *step.as<UntilStep>()); break;
    case StepKind::Parallel: outcome = co_await run_parallel(frame, step, *step.as<ParallelStep>()); break;
    case StepKind::Try: outcome = co_await run_try(frame, step, *step.as<TryStep>()); break;
    case StepKind::Call: outcome = co_await run_call(frame, step, *step.as<CallStep>()); break;
    case StepKind::Rest: outcome = co_await run_rest(frame, step, *step.as<RestStep>()); break;
    case StepKind::Wait: {
      auto delay = step.as<WaitStep>()->duration;
      bool cut_short = false;
      if (request_.timeout.count() > 0) {
        // Rounded up: a wait cut to the deadline must end at or after it.
        auto left = std::chrono::ceil<std::chrono::milliseconds>(
            request_.timeout - (std::chrono::steady_clock::now() - started_));
        cut_short = left < delay;
        delay = std::max(std::chrono::milliseconds(0), std::min(delay, left));
      }
      Sleep sleep(*services_.loop, delay);
      co_await sleep;
      if (cut_short)
        outcome = Outcome::failed("timeout",
                                  fmt::format("the run took longer than its timeout of {} ms",
                                              request_.timeout.count()),
                                  step_path(frame, step));
      break;
    }
    default: break;  // the simple steps are handled by run_steps
  }
  end_record(record, outcome);
  // The record keeps what the step produced (the run store redacts it).
  if (record != SIZE_MAX && !step.id.empty() &&
      (step.kind() == StepKind::Rest || step.kind() == StepKind::Call))
    if (const Value* outputs = frame.steps.find(step.id)) result_.steps[record].outputs = *outputs;
  co_return outcome;
}

std::optional<RunExecution::Outcome> RunExecution::condition(Frame& frame, const Step& step,
                                                             const Template& t, bool& out) {
  auto value = render(t, frame.scope);
  if (!value.ok())
    return Outcome::failed("expression_error", value.status().message(), step_path(frame, step));
  out = is_truthy(*value);
  return std::nullopt;
}

RunExecution::Outcome RunExecution::run_set(Frame& frame, const Step& step,
                                            const std::vector<NamedValue>& assignments,
                                            bool outputs) {
  Value& target = outputs ? frame.outputs : frame.vars;
  for (const auto& assignment : assignments) {
    auto value = render(assignment.value, frame.scope);
    if (!value.ok())
      return Outcome::failed("expression_error",
                             fmt::format("'{}': {}", assignment.name, value.status().message()),
                             step_path(frame, step));
    target.mutable_object().insert_or_assign(assignment.name, std::move(value).value());
  }
  return Outcome::next();
}

Task<RunExecution::Outcome> RunExecution::run_if(Frame& frame, const Step& step, const IfStep& s) {
  for (const auto& branch : s.branches) {
    bool taken = false;
    if (auto failed = condition(frame, step, branch.condition, taken)) co_return *failed;
    if (taken) co_return co_await run_steps(frame, branch.steps);
  }
  if (s.else_steps) co_return co_await run_steps(frame, *s.else_steps);
  co_return Outcome::next();
}

namespace {

struct LoopItemGuard {
  RunExecution::Frame& frame;
  LoopItemGuard(RunExecution::Frame& f, std::string_view name, Value value) : frame(f) {
    frame.loop_values.push_back(std::move(value));
    frame.scope.loop_items.emplace_back(name, &frame.loop_values.back());
  }
  ~LoopItemGuard() {
    frame.scope.loop_items.pop_back();
    frame.loop_values.pop_back();
  }
};

}  // namespace

Task<RunExecution::Outcome> RunExecution::run_for_each(Frame& frame, const Step& step,
                                                       const ForEachStep& s) {
  auto items = render(s.items, frame.scope);
  if (!items.ok())
    co_return Outcome::failed("expression_error", items.status().message(), step_path(frame, step));
  if (items->is_null()) co_return Outcome::next();
  if (!items->is_array())
    co_return Outcome::failed("expression_error",
                              fmt::format("for_each needs an array, got {}", describe_value_type(*items)),
                              step_path(frame, step));
  int64_t limit = s.max_iterations.value_or(services_.limits.max_iterations);
  const ValueArray& array = items->as_array();
  if (static_cast<int64_t>(array.size()) > limit)
    co_return Outcome::failed("loop_limit",
                              fmt::format("for_each over {} items exceeds max_iterations {}; set "
                                          "max_iterations on the step to allow more",
                                          array.size(), limit),
                              step_path(frame, step));
  Value keep = *items;  // the array outlives changes to whatever it came from
  for (const Value& item : keep.as_array()) {
    LoopItemGuard guard(frame, s.as, item);
    Outcome outcome = co_await run_steps(frame, s.body);
    if (outcome.kind == Kind_::ExitLoop) break;
    if (outcome.kind == Kind_::SkipIteration || outcome.kind == Kind_::Next) continue;
    co_return outcome;
  }
  co_return Outcome::next();
}

Task<RunExecution::Outcome> RunExecution::run_until(Frame& frame, const Step& step,
                                                    const UntilStep& s) {
  int64_t limit = s.max_iterations.value_or(services_.limits.max_iterations);
  for (int64_t iteration = 1;; ++iteration) {
    Outcome outcome = co_await run_steps(frame, s.body);
    if (outcome.kind == Kind_::ExitLoop) break;
    if (outcome.kind != Kind_::Next && outcome.kind != Kind_::SkipIteration) co_return outcome;
    bool done = false;
    if (auto failed = condition(frame, step, s.condition, done)) co_return *failed;
    if (done) break;
    if (iteration >= limit)
      co_return Outcome::failed("loop_limit",
                                fmt::format("until loop ran {} times without its condition "
                                            "becoming true (max_iterations {})",
                                            iteration, limit),
                                step_path(frame, step));
  }
  co_return Outcome::next();
}

Task<RunExecution::Outcome> RunExecution::run_parallel(Frame& frame, const Step& step,
                                                       const ParallelStep& s) {
  std::vector<Task<Outcome>> branches;
  for (const auto& branch : s.branches) branches.push_back(run_steps(frame, branch));
  std::vector<Outcome> outcomes = co_await when_all(std::move(branches));
  // The first failure (in branch order) wins; then end_flow; then loop control.
  for (auto kind : {Kind_::Failed, Kind_::EndFlow, Kind_::ExitLoop, Kind_::SkipIteration})
    for (auto& outcome : outcomes)
      if (outcome.kind == kind) co_return std::move(outcome);
  co_return Outcome::next();
}

Task<RunExecution::Outcome> RunExecution::run_try(Frame& frame, const Step& step, const TryStep& s) {
  Outcome outcome = co_await run_steps(frame, s.body);
  if (outcome.kind != Kind_::Failed) co_return outcome;
  if (outcome.error.code == "cancelled" || outcome.error.code == "timeout") co_return outcome;
  ValueObject error;
  error.emplace("code", Value(outcome.error.code));
  error.emplace("message", Value(outcome.error.message));
  error.emplace("step", Value(outcome.error.step));
  Value saved = std::move(frame.error);
  frame.error = Value(std::move(error));
  Outcome handled = co_await run_steps(frame, s.handler);
  frame.error = std::move(saved);
  co_return handled;
}

Task<RunExecution::Outcome> RunExecution::run_call(Frame& frame, const Step& step,
                                                   const CallStep& s) {
  ValueObject inputs;
  for (const auto& input : s.inputs) {
    auto value = render(input.value, frame.scope);
    if (!value.ok())
      co_return Outcome::failed("expression_error",
                                fmt::format("input '{}': {}", input.name, value.status().message()),
                                step_path(frame, step));
    inputs.insert_or_assign(input.name, std::move(value).value());
  }
  Kind kind = s.target == CallStep::Target::Action ? Kind::Action : Kind::Subflow;
  const Definition* callee = set_.find(kind, s.callee.full.empty() ? s.callee.name : s.callee.full);
  if (callee == nullptr)
    co_return Outcome::failed("unknown_target",
                              fmt::format("no {} named '{}'", kind == Kind::Action ? "action" : "subflow",
                                          s.callee.name),
                              step_path(frame, step));
  std::string path = step_path(frame, step) + "/";
  if (!result_.steps.empty() && result_.steps.back().path == step_path(frame, step))
    result_.steps.back().inputs = Value(inputs);
  CallResult call = co_await invoke(*callee, Value(std::move(inputs)), frame.user, frame.depth + 1, path);
  if (call.ok) {
    store_step(frame, step, std::move(call.outputs), nullptr);
    co_return Outcome::next();
  }
  store_step(frame, step, std::move(call.outputs), &call.error);
  if (step.on_failure == OnFailure::Continue) co_return Outcome::next();
  Outcome failed;
  failed.kind = Kind_::Failed;
  failed.error = std::move(call.error);
  co_return failed;
}

RunExecution::Outcome RunExecution::run_log(Frame& frame, const Step& step, const LogStep& s) {
  auto message = render(s.message, frame.scope);
  if (!message.ok())
    return Outcome::failed("expression_error", message.status().message(), step_path(frame, step));
  if (services_.log)
    services_.log->log(s.level, result_.context_id, step_path(frame, step), to_display_string(*message));
  store_step(frame, step, Value(ValueObject{}), nullptr);
  return Outcome::next();
}

RunExecution::Outcome RunExecution::run_json_parse(Frame& frame, const Step& step,
                                                   const JsonParseStep& s) {
  auto source = render(s.source, frame.scope);
  RunError error;
  if (!source.ok()) {
    error = {"expression_error", source.status().message(), step_path(frame, step)};
  } else {
    std::string text = source->is_string() ? source->as_string() : source->to_json();
    auto parsed = parse_json_value(text);
    if (parsed.ok()) {
      ValueObject outputs;
      outputs.emplace("value", std::move(parsed).value());
      store_step(frame, step, Value(std::move(outputs)), nullptr);
      return Outcome::next();
    }
    error = {"invalid_json", parsed.status().message(), step_path(frame, step)};
  }
  store_step(frame, step, Value(ValueObject{}), &error);
  if (step.on_failure == OnFailure::Continue) return Outcome::next();
  return Outcome{Kind_::Failed, std::move(error)};
}

Task<RunExecution::Outcome> RunExecution::run_script(Frame& frame, const Step& step,
                                                     const ScriptStep& s) {
  RunError error;
  if (services_.scripts == nullptr) {
    error = {"script_unavailable", "this engine runs no scripts", step_path(frame, step)};
  } else {
    ScriptCall call;
    call.step = &s;
    call.user = frame.user;
    call.context_id = result_.context_id;
    call.step_path = step_path(frame, step);
    call.depth = frame.depth;
    call.cancel = cancel_flag_;
    if (request_.timeout.count() > 0) call.deadline = started_ + request_.timeout;
    ValueObject inputs;
    for (const auto& input : s.inputs) {
      auto value = render(input.value, frame.scope);
      if (!value.ok())
        co_return Outcome::failed("expression_error",
                                  fmt::format("input '{}': {}", input.name, value.status().message()),
                                  step_path(frame, step));
      inputs.insert_or_assign(input.name, std::move(value).value());
    }
    call.inputs = Value(std::move(inputs));
    if (!result_.steps.empty() && result_.steps.back().path == call.step_path)
      result_.steps.back().inputs = call.inputs;
    RunScriptStep script(*services_.scripts, std::move(call));
    ScriptOutcome outcome = co_await script;
    if (cancelled_) co_return Outcome::failed("cancelled", "the run was cancelled", step_path(frame, step));
    if (outcome.ok) {
      if (!result_.steps.empty() && result_.steps.back().path == step_path(frame, step))
        result_.steps.back().outputs = outcome.outputs;
      store_step(frame, step, std::move(outcome.outputs), nullptr);
      co_return Outcome::next();
    }
    error = std::move(outcome.error);
    error.step = step_path(frame, step);
  }
  store_step(frame, step, Value(ValueObject{}), &error);
  if (step.on_failure == OnFailure::Continue) co_return Outcome::next();
  co_return Outcome{Kind_::Failed, std::move(error)};
}

void RunExecution::store_step(Frame& frame, const Step& step, Value outputs, const RunError* error) {
  if (step.id.empty()) return;
  if (!outputs.is_object()) outputs = Value(ValueObject{});
  Value status;
  if (error) {
    ValueObject failed;
    failed.emplace("code", Value(static_cast<int64_t>(1)));
    failed.emplace("message", Value(error->message));
    status = Value(std::move(failed));
  } else {
    // Every successful step has the same status: one object per thread, shared.
    thread_local const Value ok = [] {
      ValueObject fields;
      fields.emplace("code", Value(static_cast<int64_t>(0)));
      fields.emplace("message", Value(std::string()));
      return Value(std::move(fields));
    }();
    status = ok;
  }
  outputs.mutable_object().insert_or_assign("status", std::move(status));
  frame.steps.mutable_object().insert_or_assign(step.id, std::move(outputs));
}

std::string RunExecution::step_path(const Frame& frame, const Step& step) const {
  if (!step.id.empty()) return frame.path + step.id;
  return frame.path + std::string(step_kind_name(step.kind()));
}

size_t RunExecution::begin_record(const Frame& frame, const Step& step) {
  bool simple = step.kind() != StepKind::Rest && step.kind() != StepKind::Call &&
                step.kind() != StepKind::Script;
  if (!services_.record_steps || (simple && !services_.record_simple_steps)) return SIZE_MAX;
  StepRecord record;
  record.path = step_path(frame, step);
  record.id = step.id;
  record.type = std::string(step_kind_name(step.kind()));
  record.state = RunState::InProgress;
  record.started_ms = elapsed_ms();
  result_.steps.push_back(std::move(record));
  return result_.steps.size() - 1;
}

void RunExecution::end_record(size_t index, const Outcome& outcome) {
  if (index == SIZE_MAX) return;
  StepRecord& record = result_.steps[index];
  record.duration_ms = elapsed_ms() - record.started_ms;
  if (outcome.kind == Kind_::Failed) {
    record.state = outcome.error.code == "cancelled" ? RunState::Cancelled : RunState::Error;
    record.error_code = outcome.error.code;
    record.error_message = outcome.error.message;
  } else {
    record.state = RunState::Completed;
  }
}

}  // namespace flowline
