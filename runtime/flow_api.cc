// FlowAPI, FlowRunner and FlowError (include/flowline/flow_api.h) over the
// engine's runs.
#include <fmt/format.h>

#include "flowline/flow_api.h"
#include "runtime/engine.h"

namespace flowline {

FlowError::FlowError(std::string code, std::string message, std::string step,
                     std::string context_id)
    : std::runtime_error(message),
      code_(std::move(code)),
      message_(std::move(message)),
      step_(std::move(step)),
      context_id_(std::move(context_id)) {}

namespace {

std::shared_ptr<RunHandle> find_run(const std::string& context_id) {
  auto handle = lookup_run(context_id);
  if (!handle) throw FlowError("unknown_run", fmt::format("no run with context id '{}'", context_id));
  return handle;
}

[[noreturn]] void throw_run_error(const RunResult& result) {
  const RunError& error = *result.error;
  throw FlowError(error.code, error.message, error.step, result.context_id);
}

}  // namespace

Value FlowResult::getOutputs() const {
  auto result = handle_ ? handle_->result() : std::nullopt;
  return result ? result->outputs : Value(ValueObject{});
}

std::string FlowResult::getStatus() const {
  return std::string(run_state_name(handle_ ? handle_->state() : RunState::InProgress));
}

FlowRunner FlowAPI::getRunner(Engine& engine) { return FlowRunner(engine); }

FlowRunner& FlowRunner::action(std::string name) { target_ = std::move(name); return *this; }
FlowRunner& FlowRunner::subflow(std::string name) { target_ = std::move(name); return *this; }
FlowRunner& FlowRunner::flow(std::string name) { target_ = std::move(name); return *this; }
FlowRunner& FlowRunner::inSession(Session session) { session_ = std::move(session); return *this; }
FlowRunner& FlowRunner::inForeground() { background_ = false; return *this; }
FlowRunner& FlowRunner::inBackground() { background_ = true; return *this; }
FlowRunner& FlowRunner::withInputs(ValueObject inputs) { inputs_ = std::move(inputs); return *this; }
FlowRunner& FlowRunner::addInput(std::string name, Value value) {
  inputs_.insert_or_assign(std::move(name), std::move(value));
  return *this;
}
FlowRunner& FlowRunner::timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; return *this; }

FlowResult FlowRunner::run() {
  if (target_.empty())
    throw FlowError("usage", "name an action, subflow or flow with .action(), .subflow() or .flow()");
  std::optional<std::string> user;
  if (session_) {
    if (!session_->user.empty()) user = session_->user;
  } else {
    user = Engine::default_user();
  }
  FlowResult result;
  result.handle_ = engine_->start_run(target_, user, Value(inputs_), timeout_);
  result.context_id_ = result.handle_->context_id();
  if (background_) return result;
  RunResult finished = result.handle_->wait();
  if (finished.state != RunState::Completed) {
    if (!finished.error) finished.error = RunError{"cancelled", "the run was cancelled", ""};
    throw_run_error(finished);
  }
  return result;
}

Value FlowAPI::getOutputs(const std::string& context_id) {
  auto handle = find_run(context_id);
  auto result = handle->result();
  if (!result) return Value(ValueObject{});
  if (result->state != RunState::Completed && result->error) throw_run_error(*result);
  return result->outputs;
}

std::string FlowAPI::getStatus(const std::string& context_id) {
  return std::string(run_state_name(find_run(context_id)->state()));
}

void FlowAPI::cancel(const std::string& context_id) { find_run(context_id)->cancel(); }

}  // namespace flowline
