// The engine behind FlowAPI and the command line: definitions, the event-loop
// threads (one, unless EngineOptions::loops asks for more), HTTP, the token
// vault and a broker per loop, and run bookkeeping.
// Internal header: users include flowline/flow_api.h.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "definitions/definitions.h"
#include "flowline/flow_api.h"
#include "runtime/oauth/token_broker.h"
#include "runtime/run_types.h"
#include "runtime/script/js_sandbox.h"
#include "runtime/services.h"
#include "runtime/vault/token_vault.h"

namespace flowline {

class RunStore;

// A run as seen from outside the loop: thread-safe.
class RunHandle {
 public:
  explicit RunHandle(std::string context_id) : context_id_(std::move(context_id)) {}
  const std::string& context_id() const { return context_id_; }
  bool done() const;
  RunState state() const;
  // Blocks until the run ends.
  RunResult wait() const;
  std::optional<RunResult> result() const;
  void cancel();
  // Calls `fn` once with the result when the run ends: on the engine's loop
  // thread, or at once on this thread when it has ended already. One
  // callback per handle (a later call replaces an earlier one); it must not
  // block.
  void on_finish(std::function<void(const RunResult&)> fn);

  // Engine side.
  void set_cancel(std::function<void()> cancel);
  void finish(RunResult result);

 private:
  std::string context_id_;
  mutable std::mutex mutex_;
  mutable std::condition_variable finished_;
  std::optional<RunResult> result_;
  std::function<void()> cancel_;
  std::function<void(const RunResult&)> on_finish_;
  bool cancel_requested_ = false;
};

struct EngineOptions {
  std::string home;  // FLOWLINE_HOME; empty: flowline_home()
  RunLimits limits;
  ScriptLimits scripts;  // each script step's time, memory and output limits
  RefreshPolicy refresh;
  bool keep_records = true;
  bool record_simple_steps = true;
  // Step records at all (RunResult::steps): for execution records and traces.
  // Off (a batch without --records): no per-step bookkeeping.
  bool record_steps = true;
  // Event-loop threads. Each run lives on one of them from start to end;
  // runs started with start_run go to them in turn. More than one lets a
  // batch use more than one core; each loop has its own connections and its
  // own token broker (a refresh is still made once: they meet at the vault's
  // lease). 0 counts as 1.
  size_t loops = 1;
  // Test seams; empty: the real ones (CurlTransport, the SQLite vault in home).
  std::function<std::unique_ptr<HttpTransport>(EventLoop&)> transport_factory;
  std::shared_ptr<TokenVault> vault;
  std::shared_ptr<LogSink> log;  // empty: stderr
  std::function<SystemTime()> now;
};

// Builds an engine over an already validated set. Errors: vault_* when the
// vault cannot be opened, records_* when the run store cannot.
Result<std::unique_ptr<Engine>> make_engine(DefinitionSet set, EngineOptions options);

// The engine's run entry point for the CLI and tests (FlowAPI uses it too).
std::shared_ptr<RunHandle> start_run(Engine& engine, RunRequest request);
// The engine's event loops (EngineOptions::loops), numbered from 0.
size_t engine_loops(Engine& engine);
// Starts a run on loop `loop`, from that loop's thread (inside a function
// given to post_to_loop, or a `done` of launch_on_loop), and calls `done`
// there with its result. No RunHandle, no registry entry and no thread
// hand-off: for callers that keep many runs going from the loops themselves
// (the batch runner). `done` must not block. The run may end, and `done` be
// called, before launch_on_loop returns (a run without waiting steps).
void launch_on_loop(Engine& engine, size_t loop, RunRequest request,
                    std::function<void(RunResult)> done);
// Queues `fn` to run on loop `loop`'s thread. Thread-safe.
void post_to_loop(Engine& engine, size_t loop, std::function<void()> fn);
// A run started in this process and still remembered (the newest 1,024
// finished ones, and every one in progress), or nullptr. Thread-safe.
std::shared_ptr<RunHandle> lookup_run(const std::string& context_id);
// The engine's vault and broker, for `flowline token` and tests.
TokenVault& engine_vault(Engine& engine);
const VaultTokenBroker& engine_broker(Engine& engine);
// The definitions the engine runs (immutable, like the engine's lifetime).
const DefinitionSet& engine_definitions(Engine& engine);

// A new context id: 32 random hex digits in UUID form.
std::string new_context_id();

}  // namespace flowline
