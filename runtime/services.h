// The services a run uses, behind small interfaces so tests can swap the
// network, the clock, the token source and the log.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "definitions/definitions.h"
#include "runtime/http/http.h"
#include "runtime/loop/event_loop.h"
#include "runtime/run_types.h"
#include "runtime/status.h"
#include "runtime/task.h"

namespace flowline {

// Where `log` steps write. Called on the loop thread.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void log(LogLevel level, std::string_view context_id, std::string_view step_path,
                   std::string_view message) = 0;
};

// An alias bound to everything a REST step needs: its active connection,
// that connection's credential and the credential's OAuth profile (each may
// be null where the definitions have none).
struct ResolvedConnection {
  const ConnectionAlias* alias = nullptr;
  const HttpConnection* connection = nullptr;
  const Credential* credential = nullptr;
  const OAuthProfile* profile = nullptr;
};

// Resolves aliases once, when the engine is built. Immutable afterwards, so
// safe to share between threads.
class ConnectionResolver {
 public:
  explicit ConnectionResolver(const DefinitionSet& set);
  // The binding of an alias (full name), or nullptr when the alias is unknown.
  const ResolvedConnection* resolve(std::string_view alias_full_name) const;
  // The binding of an alias as a step names it (full name, or a bare name in
  // the global scope), or nullptr.
  const ResolvedConnection* resolve(const Ref& alias) const;

 private:
  std::map<std::string, ResolvedConnection, std::less<>> by_alias_;
};

// An access token ready to send, and the vault version it came from (so a
// rejected token can be told apart from one another run already replaced).
struct AccessToken {
  std::string value;
  int64_t version = 0;
  bool from_vault = true;
};

// Supplies tokens for REST steps. Error codes: token_missing, token_invalid,
// token_refresh_failed, vault_* (see DESIGN.md §4). Called on the loop thread.
class TokenBroker {
 public:
  virtual ~TokenBroker() = default;
  // A token for `user` ("" + a system credential: the shared token), fresh
  // enough to use now: refreshed first when it expires within the skew.
  virtual Task<Result<AccessToken>> token_for(const ResolvedConnection& binding,
                                              const std::string& user) = 0;
  // The token token_for would give at once from memory, when it has one
  // that needs no refresh; nullopt: call token_for. Lets a REST step skip
  // a coroutine when nothing has to wait.
  virtual std::optional<AccessToken> ready_token(const ResolvedConnection& binding,
                                                 const std::string& user) {
    return std::nullopt;
  }
  // After the server rejected `rejected` as invalid_token: refresh once, unless
  // another run already replaced it, and return the token to retry with.
  virtual Task<Result<AccessToken>> refresh_after_rejection(const ResolvedConnection& binding,
                                                            const std::string& user,
                                                            const AccessToken& rejected) = 0;
};

class ScriptRunner;  // runtime/script/script_runner.h

struct RuntimeServices {
  EventLoop* loop = nullptr;
  ScriptRunner* scripts = nullptr;  // null: script steps fail with script_unavailable
  HttpTransport* transport = nullptr;
  TokenBroker* tokens = nullptr;
  LogSink* log = nullptr;
  const ConnectionResolver* connections = nullptr;
  RunLimits limits;
  bool record_simple_steps = true;  // records for set/if/loops too (off in benchmarks)
  bool record_steps = true;         // step records at all (off: a batch without records)
  // REST steps whose `headers` output no pill reads (dsl/output_reads.h):
  // without step records, they skip building it. Null: build it always.
  const std::unordered_set<const RestStep*>* unread_headers = nullptr;
  // REST steps on a connection with a path without pills: their URL before
  // the query (build_url_path), made once. Null: built on every request.
  const std::unordered_map<const RestStep*, std::string>* fixed_url_paths = nullptr;
  std::function<std::chrono::system_clock::time_point()> now = [] {
    return std::chrono::system_clock::now();
  };
};

// Awaitable: sends `request` and resumes with the response.
class HttpCall {
 public:
  HttpCall(HttpTransport& transport, HttpRequest request)
      : transport_(&transport), request_(std::move(request)) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    transport_->send(std::move(request_), [this, h](HttpResponse response) {
      response_ = std::move(response);
      h.resume();
    });
  }
  HttpResponse await_resume() { return std::move(response_); }

 private:
  HttpTransport* transport_;
  HttpRequest request_;
  HttpResponse response_;
};

// Awaitable: resumes after `delay` on the loop.
class Sleep {
 public:
  Sleep(EventLoop& loop, std::chrono::milliseconds delay) : loop_(&loop), delay_(delay) {}
  bool await_ready() const noexcept { return delay_.count() <= 0; }
  void await_suspend(std::coroutine_handle<> h) {
    loop_->call_after(delay_, [h] { h.resume(); });
  }
  void await_resume() const noexcept {}

 private:
  EventLoop* loop_;
  std::chrono::milliseconds delay_;
};

}  // namespace flowline
