// The JavaScript host API shared by script steps and `flowline script`: the
// reference product's `sn_fd.FlowAPI` and `gs` logging, so its sample script
// runs unchanged:
//
//   var result = sn_fd.FlowAPI.getRunner()
//       .subflow('global.getpersonalincidentssubflow')   // or .action() .flow()
//       .inForeground()                                   // or .inBackground()
//       .withInputs({limit: 5}).addInput('state', 'New')  // optional
//       .timeout(30000)                                   // ms, optional
//       .run();
//   var outputs = result.getOutputs();   // an object
//   var id = result.getContextId();
//   sn_fd.FlowAPI.getOutputs(id); sn_fd.FlowAPI.getStatus(id); sn_fd.FlowAPI.cancel(id);
//   gs.info('…'); gs.warn('…'); gs.error('…'); gs.debug('…');
//
// Runner: subflow/action/flow(name) set the target (the last one wins);
// withInputs(object) replaces the inputs with a copy of the object's own
// members, as FlowRunner::withInputs does; addInput(name, value) adds or
// replaces one; timeout(ms) (0: none). Every method returns the runner.
// run() converts the inputs like JsSandbox::get_value ("inputs.x is a
// function…" is thrown with code invalid_input) and starts the run. A run's
// timeout never reaches past the script's own time limit: without one, or
// with a longer one, the run gets the time the script has left.
//
// Foreground: run() blocks until the run ends; its result's getOutputs() is
// the outputs object, getContextId() the id, getStatus() "completed".
// Background: run() returns at once; getOutputs() is {} until the run is
// done, then its outputs (a failed run throws its error), getStatus() is
// "in_progress", "completed", "error" or "cancelled". The same by id:
// sn_fd.FlowAPI.getOutputs(id) / getStatus(id) / cancel(id), for any run the
// host's find() knows; an unknown id throws code unknown_run.
//
// A failed foreground run, or a call that cannot start one, throws a
// FlowError: `instanceof Error` holds, name "FlowError", getMessage(),
// getCode(), getStep(), getContextId(), `message` / `code` / `step` /
// `contextId` properties, and toString() "FlowError: <message>". Its
// lineNumber is the script line that called run(), so an uncaught one fails
// the script at that line. Codes: the RunError's (token_missing,
// http_status, timeout, …), "cancelled", "usage" (run() without a target),
// "invalid_input", "unknown_run", or whatever the host's start() reports.
// Misused methods (a number as a name, run() on something that is not a
// runner) throw TypeError/RangeError.
//
// Runs start as the host's session user, with source "script", through the
// same engine (runtime, identity rules, vault) as everything else.
//
// gs.* take any number of arguments, joined with spaces: strings as they
// are, Error objects as their string ("TypeError: …"), other values as JSON
// (or String(v) when JSON has none: undefined, functions, cycles). Each
// message is cut at 8 KiB on a character boundary.
//
// The host and sandbox pointers sit in Duktape's heap stash and runner
// state in hidden symbols, out of the script's reach; replacing `sn_fd` or
// `gs` affects only the script itself.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "definitions/steps.h"
#include "runtime/run_types.h"
#include "runtime/script/js_sandbox.h"

namespace flowline {

class RunHandle;

// What a script may do beyond computing. Called on the script's thread,
// which is never the engine's loop thread (a foreground run blocks it).
class ScriptHost {
 public:
  virtual ~ScriptHost() = default;
  // Starts a run (the request carries target, inputs, timeout, the host's
  // user, source Script). Returns nullptr with `error` set when it cannot
  // start (e.g. unknown target). The handle's wait() gives the result.
  virtual std::shared_ptr<RunHandle> start(RunRequest request, RunError* error) = 0;
  // A run started earlier in this process (for getOutputs/getStatus/cancel by id).
  virtual std::shared_ptr<RunHandle> find(const std::string& context_id) = 0;
  virtual void log(LogLevel level, const std::string& message) = 0;
  // The session user runs start as; nullopt: no user (system).
  virtual std::optional<std::string> session_user() const = 0;
};

// Installs `sn_fd` and `gs` into the sandbox's global object, bound to
// `host` and `sandbox`: the host must outlive every call into the sandbox.
// Install before run(). A foreground run() in the script blocks the calling
// thread until the run ends or the script's deadline passes (the run's
// timeout is capped to it; a host whose runs ignore their timeout still
// fails the script with script_timeout once the run returns).
void install_host_api(JsSandbox& sandbox, ScriptHost& host);

}  // namespace flowline
