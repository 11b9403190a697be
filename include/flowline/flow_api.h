// FlowAPI: run actions, subflows and flows from C++ — as a session user,
// in the foreground (wait for the outputs) or the background (poll by
// context id). Modelled on the reference product's sn_fd.FlowAPI:
//
//   auto engine = flowline::Engine::open({"samples/personal-incidents"});
//   auto result = flowline::FlowAPI::getRunner(*engine)
//       .subflow("global.getpersonalincidentssubflow")
//       .inSession(flowline::Session{"alice"})
//       .inForeground()
//       .withInputs({{"limit", 5}})
//       .timeout(std::chrono::seconds(30))
//       .run();                       // throws flowline::FlowError
//   auto outputs = result.getOutputs();
//
// Thread-safety: an Engine may be shared by any number of threads; each
// FlowRunner belongs to the thread that built it. A foreground run() blocks
// the calling thread (never call it from the engine's own loop thread).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "flowline/value.h"

namespace flowline {

class Engine;
class RunHandle;

// Who a run runs as. An empty user means "no user" (as system).
struct Session {
  std::string user;
};

// A failed run (or a call that could not start one). `code` is stable and
// machine-readable: token_missing, token_invalid, http_status, invalid_input,
// unknown_target, timeout, cancelled, definitions_invalid, …
class FlowError : public std::runtime_error {
 public:
  FlowError(std::string code, std::string message, std::string step = {},
            std::string context_id = {});
  const std::string& code() const { return code_; }
  const std::string& getMessage() const { return message_; }
  const std::string& step() const { return step_; }
  const std::string& getContextId() const { return context_id_; }

 private:
  std::string code_;
  std::string message_;
  std::string step_;
  std::string context_id_;
};

class FlowResult {
 public:
  // The run's outputs (an object). For a background run that has not
  // finished yet, an empty object.
  Value getOutputs() const;
  const std::string& getContextId() const { return context_id_; }
  // "in_progress", "completed", "error" or "cancelled".
  std::string getStatus() const;

 private:
  friend class FlowRunner;
  std::string context_id_;
  std::shared_ptr<RunHandle> handle_;
};

class FlowRunner {
 public:
  FlowRunner& action(std::string name);
  FlowRunner& subflow(std::string name);
  FlowRunner& flow(std::string name);
  FlowRunner& inSession(Session session);
  FlowRunner& inForeground();
  FlowRunner& inBackground();
  FlowRunner& withInputs(ValueObject inputs);
  FlowRunner& addInput(std::string name, Value value);
  FlowRunner& timeout(std::chrono::milliseconds timeout);
  // Foreground: waits and throws FlowError when the run fails. Background:
  // returns at once; poll with FlowAPI::getStatus(id) / getOutputs(id).
  FlowResult run();

 private:
  friend class FlowAPI;
  explicit FlowRunner(Engine& engine) : engine_(&engine) {}
  Engine* engine_;
  std::string target_;
  std::optional<Session> session_;
  bool background_ = false;
  ValueObject inputs_;
  std::chrono::milliseconds timeout_{0};
};

class FlowAPI {
 public:
  static FlowRunner getRunner(Engine& engine);
  // By context id, for runs started in this process. Unknown ids throw
  // FlowError("unknown_run"); getOutputs of a failed run throws its error.
  static Value getOutputs(const std::string& context_id);
  static std::string getStatus(const std::string& context_id);
  static void cancel(const std::string& context_id);
};

// What an engine needs beyond the definitions. Defaults suit the command line.
struct EngineConfig {
  std::string home;  // FLOWLINE_HOME; empty: $FLOWLINE_HOME or ~/.local/share/flowline
  bool keep_records = true;  // store each run's execution record in the local database
};

// Loaded, validated definitions plus everything runs need (HTTP, the token
// vault, the event loop thread). Create one per definition set and share it.
class Engine {
 public:
  // Loads every definition file under `paths`; a set with validation errors
  // throws FlowError("definitions_invalid") whose message lists them.
  static std::unique_ptr<Engine> open(const std::vector<std::string>& paths,
                                      const EngineConfig& config = {});
  virtual ~Engine() = default;

  // The default session user: $FLOWLINE_USER, else the OS login name.
  static std::string default_user();

 protected:
  Engine() = default;

 private:
  friend class FlowRunner;
  friend class FlowAPI;
  virtual std::shared_ptr<RunHandle> start_run(const std::string& target,
                                               std::optional<std::string> user, Value inputs,
                                               std::chrono::milliseconds timeout) = 0;
};

}  // namespace flowline
