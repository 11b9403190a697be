// What a run is asked to do and what it produced: requests, results, errors
// and execution records.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "definitions/value.h"

namespace flowline {

// Named limits of a run; each has its own error code.
struct RunLimits {
  int64_t max_iterations = 1000;          // per loop, unless the loop sets its own: "loop_limit"
  int max_call_depth = 16;                // nested action/subflow calls: "call_depth_limit"
  size_t max_response_bytes = 10 << 20;   // per REST response body: "response_too_large"
};

enum class RunState { InProgress, Completed, Error, Cancelled };
std::string_view run_state_name(RunState state);

// Where a run came from, for the execution record.
enum class RunSource { Cli, Batch, Api, Script };
std::string_view run_source_name(RunSource source);

struct RunRequest {
  std::string target;                  // "global.getpersonalincidentssubflow" or a bare name
  std::optional<std::string> user;     // the session user; nullopt: no user (system)
  Value inputs = ValueObject{};        // by name; checked against the declared types
  std::chrono::milliseconds timeout{0};  // 0: none
  RunSource source = RunSource::Api;
  std::string context_id;  // empty: the engine makes one
  // Call depth the run starts at: 0, or (for a run a script step starts
  // through FlowAPI) one more than the step's, so that runs starting runs
  // meet the same call_depth_limit as nested subflow calls.
  int depth = 0;
  // Whether FlowAPI can find the run by its context id (getStatus, getOutputs,
  // cancel) while it runs and among the newest finished ones. A batch, which
  // keeps its own results, turns this off.
  bool remember = true;
  // The inputs went through check_inputs against the target already (the
  // batch checks each job before starting it): the run does not check again.
  bool inputs_checked = false;
};

struct RunError {
  std::string code;     // token_missing, http_status, expression_error, …
  std::string message;  // one line, for people; never holds a secret
  std::string step;     // the path of the failing step ("get/fetch"), if any
};

struct HttpSummary {
  std::string method;
  std::string url;  // without query values that could hold secrets? — the URL as built, no token
  int status = 0;
  int attempts = 0;
  double time_ms = 0;
};

struct StepRecord {
  std::string path;  // "get/fetch": call step ids from the run's root down
  std::string id;
  std::string type;  // rest, set, call, …
  RunState state = RunState::Completed;
  double started_ms = 0;   // since the run started
  double duration_ms = 0;
  Value inputs;            // redacted
  Value outputs;           // redacted
  std::optional<HttpSummary> http;
  std::string error_code;
  std::string error_message;
};

struct RunResult {
  std::string context_id;
  std::string target;
  std::optional<std::string> user;  // who the run ran as at its root
  RunSource source = RunSource::Api;
  RunState state = RunState::InProgress;
  Value outputs = ValueObject{};
  std::optional<RunError> error;
  std::vector<StepRecord> steps;
  std::chrono::system_clock::time_point started_at{};
  double duration_ms = 0;

  // True when the run failed because a token is missing or needs a new
  // login (exit code 3 on the command line).
  bool authorization_required() const {
    return error && (error->code == "token_missing" || error->code == "token_invalid");
  }
};

}  // namespace flowline
