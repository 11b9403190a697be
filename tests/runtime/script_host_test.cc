#include "runtime/script/script_host.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <thread>
#include <vector>

#include "runtime/engine.h"

namespace flowline {
// Lets gtest show a Value as its JSON.
void PrintTo(const Value& value, std::ostream* out) { *out << value.to_json(); }
}  // namespace flowline

using namespace flowline;
using namespace std::chrono_literals;

namespace {

// The reference product's sample script, verbatim.
constexpr const char* kReferenceSample = R"(try {
// Execute synchronously in the foreground. Allows access to subflow outputs.
var result = sn_fd.FlowAPI.getRunner()
.subflow('global.getpersonalincidentssubflow')
.inForeground()
.run();
var outputs = result.getOutputs();
} catch (ex) {
var message = ex.getMessage();
gs.error(message);
}
)";

RunResult completed(Value outputs) {
  RunResult result;
  result.state = RunState::Completed;
  result.outputs = std::move(outputs);
  return result;
}

RunResult failed(std::string code, std::string message, std::string step = {}) {
  RunResult result;
  result.state = RunState::Error;
  result.error = RunError{std::move(code), std::move(message), std::move(step)};
  return result;
}

// Records requests and log lines; each run is finished by a thread of its
// own after `delay`, with what `outcome` says.
class FakeHost : public ScriptHost {
 public:
  ~FakeHost() override {
    for (auto& thread : threads_) thread.join();
  }

  std::shared_ptr<RunHandle> start(RunRequest request, RunError* error) override {
    requests.push_back(request);
    if (refuse) {
      *error = *refuse;
      return nullptr;
    }
    std::string id = "ctx-" + std::to_string(requests.size());
    auto handle = std::make_shared<RunHandle>(id);
    runs[id] = handle;
    RunResult result = outcome(request);
    result.context_id = id;
    result.target = request.target;
    if (!finish_runs) {
      handle->set_cancel([handle, id] {
        RunResult cancelled;
        cancelled.context_id = id;
        cancelled.state = RunState::Cancelled;
        cancelled.error = RunError{"cancelled", "the run was cancelled", ""};
        handle->finish(cancelled);
      });
      return handle;
    }
    threads_.emplace_back([handle, result, delay = delay] {
      std::this_thread::sleep_for(delay);
      handle->finish(result);
    });
    return handle;
  }

  std::shared_ptr<RunHandle> find(const std::string& context_id) override {
    auto it = runs.find(context_id);
    return it == runs.end() ? nullptr : it->second;
  }

  void log(LogLevel level, const std::string& message) override {
    logs.emplace_back(level, message);
  }

  std::optional<std::string> session_user() const override { return user; }

  std::function<RunResult(const RunRequest&)> outcome = [](const RunRequest&) {
    return completed(ValueObject{});
  };
  std::chrono::milliseconds delay{20};
  bool finish_runs = true;  // false: runs stay in progress until cancelled
  std::optional<RunError> refuse;
  std::optional<std::string> user = "alice";

  std::vector<RunRequest> requests;
  std::vector<std::pair<LogLevel, std::string>> logs;
  std::map<std::string, std::shared_ptr<RunHandle>> runs;

 private:
  std::vector<std::thread> threads_;
};

ScriptLimits limits(std::chrono::milliseconds timeout = 60s) {
  ScriptLimits limits;
  limits.timeout = timeout;
  return limits;
}

struct Script {
  explicit Script(FakeHost& host, ScriptLimits l = limits()) : sandbox(l) {
    install_host_api(sandbox, host);
  }
  std::optional<ScriptFailure> run(const std::string& code) { return sandbox.run(code, "t.js"); }
  Value global(const char* name) {
    auto value = sandbox.get_global(name);
    EXPECT_TRUE(value.ok()) << value.status().message();
    return value.ok() ? *value : Value();
  }
  JsSandbox sandbox;
};

Value incidents() {
  return Value(ValueObject{{"incidents", ValueArray{ValueObject{{"number", "INC0010001"}},
                                                    ValueObject{{"number", "INC0010002"}}}},
                           {"total", 2}});
}

// --- the reference sample -------------------------------------------------------

TEST(ScriptHost, TheReferenceSampleRunsAndGetsTheOutputs) {
  FakeHost host;
  host.outcome = [](const RunRequest&) { return completed(incidents()); };
  Script script(host);
  auto failure = script.run(kReferenceSample);
  ASSERT_FALSE(failure) << failure->message;
  EXPECT_EQ(script.global("outputs"), incidents());
  EXPECT_TRUE(host.logs.empty());

  ASSERT_EQ(host.requests.size(), 1u);
  const RunRequest& request = host.requests[0];
  EXPECT_EQ(request.target, "global.getpersonalincidentssubflow");
  EXPECT_EQ(request.user, std::optional<std::string>("alice"));
  EXPECT_EQ(request.source, RunSource::Script);
  EXPECT_EQ(request.inputs, Value(ValueObject{}));
}

TEST(ScriptHost, TheReferenceSampleLogsTheMessageOfAFailedRun) {
  FakeHost host;
  host.outcome = [](const RunRequest&) {
    return failed("token_missing",
                  "no token for user 'alice' and credential 'acme_personal'; run: flowline token "
                  "login acme_personal --user alice",
                  "get/fetch");
  };
  Script script(host);
  auto failure = script.run(kReferenceSample);
  ASSERT_FALSE(failure) << failure->message;
  ASSERT_EQ(host.logs.size(), 1u);
  EXPECT_EQ(host.logs[0].first, LogLevel::Error);
  EXPECT_EQ(host.logs[0].second,
            "no token for user 'alice' and credential 'acme_personal'; run: flowline token login "
            "acme_personal --user alice");
  EXPECT_EQ(script.global("message"), Value(host.logs[0].second));
}

TEST(ScriptHost, TheThrownErrorCarriesCodeStepAndContextId) {
  FakeHost host;
  host.outcome = [](const RunRequest&) { return failed("http_status", "HTTP 404", "get/fetch"); };
  Script script(host);
  auto failure = script.run(R"(
    var seen;
    try {
      sn_fd.FlowAPI.getRunner().action('get_my_incidents').run();
    } catch (ex) {
      seen = {
        isError: ex instanceof Error,
        message: ex.getMessage(), code: ex.getCode(), step: ex.getStep(),
        contextId: ex.getContextId(),
        props: [ex.message, ex.code, ex.step, ex.contextId].join('|'),
        string: String(ex),
        name: ex.name,
      };
    }
  )");
  ASSERT_FALSE(failure) << failure->message;
  EXPECT_EQ(script.global("seen"),
            Value(ValueObject{{"isError", true},
                              {"message", "HTTP 404"},
                              {"code", "http_status"},
                              {"step", "get/fetch"},
                              {"contextId", "ctx-1"},
                              {"props", "HTTP 404|http_status|get/fetch|ctx-1"},
                              {"string", "FlowError: HTTP 404"},
                              {"name", "FlowError"}}));
}

TEST(ScriptHost, AnUncaughtRunErrorFailsTheScriptAtTheLineOfRun) {
  FakeHost host;
  host.outcome = [](const RunRequest&) { return failed("token_invalid", "log in again"); };
  Script script(host);
  auto failure = script.run("var r = sn_fd.FlowAPI.getRunner().subflow('s');\n\nr.run();\n");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->message, "FlowError: log in again");
  EXPECT_EQ(failure->line, 3);
}

TEST(ScriptHost, ACancelledRunThrowsCancelled) {
  FakeHost host;
  host.outcome = [](const RunRequest&) {
    RunResult result;
    result.state = RunState::Cancelled;
    return result;
  };
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var code;
    try { sn_fd.FlowAPI.getRunner().flow('f').run(); } catch (e) { code = e.getCode(); }
  )"));
  EXPECT_EQ(script.global("code"), Value("cancelled"));
}

// --- the runner ----------------------------------------------------------------

TEST(ScriptHost, EveryRunnerMethodReturnsTheRunnerForChaining) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var r = sn_fd.FlowAPI.getRunner();
    var same = [r.subflow('a'), r.action('b'), r.flow('c'), r.inForeground(), r.inBackground(),
                r.withInputs({}), r.addInput('x', 1), r.timeout(5)].every(function (x) {
      return x === r;
    });
  )"));
  EXPECT_EQ(script.global("same"), Value(true));
  EXPECT_TRUE(host.requests.empty());
}

TEST(ScriptHost, TheLastTargetNamedWins) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run("sn_fd.FlowAPI.getRunner().subflow('a').action('global.b').run();"));
  ASSERT_EQ(host.requests.size(), 1u);
  EXPECT_EQ(host.requests[0].target, "global.b");
}

TEST(ScriptHost, InputsAreConvertedFromJavaScript) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    sn_fd.FlowAPI.getRunner().subflow('s')
        .withInputs({limit: 5, ratio: 0.5, tags: ['a', 'ü😀'], filter: {active: true, owner: null}})
        .addInput('state', 'New')
        .run();
  )"));
  ASSERT_EQ(host.requests.size(), 1u);
  EXPECT_EQ(host.requests[0].inputs,
            Value(ValueObject{{"limit", 5},
                              {"ratio", 0.5},
                              {"tags", ValueArray{"a", "ü😀"}},
                              {"filter", ValueObject{{"active", true}, {"owner", nullptr}}},
                              {"state", "New"}}));
  EXPECT_TRUE(host.requests[0].inputs.find("limit")->is_integer());
}

TEST(ScriptHost, AddInputReplacesAndWithInputsStartsOver) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    sn_fd.FlowAPI.getRunner().subflow('s').withInputs({a: 1, b: 2}).addInput('b', 3).run();
    sn_fd.FlowAPI.getRunner().subflow('s').addInput('gone', 1).withInputs({a: 1}).run();
    var source = {x: 1};
    var r = sn_fd.FlowAPI.getRunner().subflow('s').withInputs(source);
    source.x = 2; source.y = 3;      // withInputs took a copy of the members
    r.run();
  )"));
  ASSERT_EQ(host.requests.size(), 3u);
  EXPECT_EQ(host.requests[0].inputs, Value(ValueObject{{"a", 1}, {"b", 3}}));
  EXPECT_EQ(host.requests[1].inputs, Value(ValueObject{{"a", 1}}));
  EXPECT_EQ(host.requests[2].inputs, Value(ValueObject{{"x", 1}}));
}

TEST(ScriptHost, InputsThatAreNotJsonAreRefusedBeforeTheRunStarts) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var seen;
    try {
      sn_fd.FlowAPI.getRunner().subflow('s').addInput('callback', function () {}).run();
    } catch (e) { seen = e.getCode() + ': ' + e.getMessage(); }
  )"));
  EXPECT_EQ(script.global("seen"),
            Value("invalid_input: inputs.callback is a function; only JSON values can leave a "
                  "script"));
  EXPECT_TRUE(host.requests.empty());
}

TEST(ScriptHost, TheTimeoutIsPassedThrough) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run("sn_fd.FlowAPI.getRunner().subflow('s').timeout(30000).run();"));
  ASSERT_EQ(host.requests.size(), 1u);
  EXPECT_EQ(host.requests[0].timeout, 30000ms);
}

TEST(ScriptHost, ARunGetsNoMoreTimeThanTheScriptHasLeft) {
  FakeHost host;
  Script script(host, limits(5s));
  ASSERT_FALSE(script.run(R"(
    sn_fd.FlowAPI.getRunner().subflow('s').run();
    sn_fd.FlowAPI.getRunner().subflow('s').timeout(60000).run();
    sn_fd.FlowAPI.getRunner().subflow('s').timeout(100).run();
  )"));
  ASSERT_EQ(host.requests.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_GT(host.requests[i].timeout, 4000ms);
    EXPECT_LE(host.requests[i].timeout, 5000ms);
  }
  EXPECT_EQ(host.requests[2].timeout, 100ms);
}

TEST(ScriptHost, AForegroundRunThatOutlastsTheScriptFailsItWithTheTimeLimit) {
  FakeHost host;
  host.delay = 400ms;  // this fake ignores the request's timeout
  Script script(host, limits(150ms));
  auto failure = script.run(
      "try { sn_fd.FlowAPI.getRunner().subflow('s').run(); } catch (e) {}\nvar after = 1;");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_timeout");
}

TEST(ScriptHost, BadArgumentsThrowTypeErrors) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    function error(f) { try { f(); return 'none'; } catch (e) { return e.name; } }
    var r = sn_fd.FlowAPI.getRunner();
    var out = [
      error(function () { r.subflow(42); }),
      error(function () { r.withInputs([1]); }),
      error(function () { r.withInputs('x'); }),
      error(function () { r.addInput(1, 2); }),
      error(function () { r.timeout(-1); }),
      error(function () { r.timeout('soon'); }),
      error(function () { var run = r.run; run(); }),
      error(function () { r.run.call({}); }),
      error(function () { sn_fd.FlowAPI.getStatus(); }),
      error(function () { r.withInputs(null); }),
    ];
  )"));
  EXPECT_EQ(script.global("out"),
            Value(ValueArray{"TypeError", "TypeError", "TypeError", "TypeError", "RangeError",
                             "RangeError", "TypeError", "TypeError", "TypeError", "none"}));
  EXPECT_TRUE(host.requests.empty());
}

TEST(ScriptHost, RunWithoutATargetThrowsAClearError) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var seen;
    try { sn_fd.FlowAPI.getRunner().inForeground().run(); }
    catch (e) { seen = e.getCode() + ': ' + e.getMessage(); }
  )"));
  EXPECT_EQ(script.global("seen"),
            Value("usage: name an action, subflow or flow with .action(), .subflow() or .flow() "
                  "before .run()"));
  EXPECT_TRUE(host.requests.empty());
}

TEST(ScriptHost, ARunThatCannotStartThrowsTheHostsError) {
  FakeHost host;
  host.refuse = RunError{"unknown_target", "no action, subflow or flow named 'global.nope'", ""};
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var seen;
    try { sn_fd.FlowAPI.getRunner().subflow('global.nope').run(); }
    catch (e) { seen = [e.getCode(), e.getMessage(), e.getContextId()].join('|'); }
  )"));
  EXPECT_EQ(script.global("seen"),
            Value("unknown_target|no action, subflow or flow named 'global.nope'|"));
}

TEST(ScriptHost, RunsStartAsTheSessionUserOrAsNoOne) {
  FakeHost host;
  host.user = std::nullopt;
  Script script(host);
  ASSERT_FALSE(script.run("sn_fd.FlowAPI.getRunner().subflow('s').run();"));
  ASSERT_EQ(host.requests.size(), 1u);
  EXPECT_EQ(host.requests[0].user, std::nullopt);
  EXPECT_EQ(host.requests[0].source, RunSource::Script);
}

// --- background runs ---------------------------------------------------------------

TEST(ScriptHost, ABackgroundRunReturnsAtOnceAndIsPolledById) {
  FakeHost host;
  host.delay = 300ms;
  host.outcome = [](const RunRequest&) { return completed(incidents()); };
  Script script(host);
  auto started = std::chrono::steady_clock::now();
  auto failure = script.run(R"(
    var result = sn_fd.FlowAPI.getRunner().subflow('s').inBackground().run();
    var id = result.getContextId();
    var early = {status: result.getStatus(), byId: sn_fd.FlowAPI.getStatus(id),
                 outputs: result.getOutputs(), outputsById: sn_fd.FlowAPI.getOutputs(id)};
    while (sn_fd.FlowAPI.getStatus(id) === 'in_progress') {}
    var late = {status: result.getStatus(), outputs: result.getOutputs(),
                outputsById: sn_fd.FlowAPI.getOutputs(id)};
  )");
  ASSERT_FALSE(failure) << failure->message;
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  EXPECT_EQ(script.global("id"), Value("ctx-1"));
  EXPECT_EQ(script.global("early"), Value(ValueObject{{"status", "in_progress"},
                                                      {"byId", "in_progress"},
                                                      {"outputs", ValueObject{}},
                                                      {"outputsById", ValueObject{}}}));
  EXPECT_EQ(script.global("late"),
            Value(ValueObject{
                {"status", "completed"}, {"outputs", incidents()}, {"outputsById", incidents()}}));
}

TEST(ScriptHost, ABackgroundRunCanBeCancelled) {
  FakeHost host;
  host.finish_runs = false;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var id = sn_fd.FlowAPI.getRunner().subflow('s').inBackground().run().getContextId();
    var before = sn_fd.FlowAPI.getStatus(id);
    var returned = sn_fd.FlowAPI.cancel(id);
    var after = sn_fd.FlowAPI.getStatus(id);
    var code;
    try { sn_fd.FlowAPI.getOutputs(id); } catch (e) { code = e.getCode(); }
    var out = [before, typeof returned, after, code];
  )"));
  EXPECT_EQ(script.global("out"),
            Value(ValueArray{"in_progress", "undefined", "cancelled", "cancelled"}));
}

TEST(ScriptHost, AFailedBackgroundRunThrowsItsErrorFromGetOutputs) {
  FakeHost host;
  host.delay = 0ms;
  host.outcome = [](const RunRequest&) { return failed("http_status", "HTTP 500", "a/b"); };
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var result = sn_fd.FlowAPI.getRunner().subflow('s').inBackground().run();
    while (result.getStatus() === 'in_progress') {}
    var seen;
    try { result.getOutputs(); } catch (e) { seen = [e.getCode(), e.getStep(), e.getContextId()]; }
    var status = result.getStatus();
  )"));
  EXPECT_EQ(script.global("seen"), Value(ValueArray{"http_status", "a/b", "ctx-1"}));
  EXPECT_EQ(script.global("status"), Value("error"));
}

TEST(ScriptHost, UnknownIdsThrowUnknownRun) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    function code(f) { try { f(); } catch (e) { return e.getCode() + ': ' + e.getMessage(); } }
    var out = [
      code(function () { sn_fd.FlowAPI.getStatus('nope'); }),
      code(function () { sn_fd.FlowAPI.getOutputs('nope'); }),
      code(function () { sn_fd.FlowAPI.cancel('nope'); }),
    ];
  )"));
  Value unknown("unknown_run: no run with context id 'nope'");
  EXPECT_EQ(script.global("out"), Value(ValueArray{unknown, unknown, unknown}));
}

// --- gs -----------------------------------------------------------------------------

TEST(ScriptHost, GsLogsAtEachLevel) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run("gs.info('i'); gs.warn('w'); gs.error('e'); gs.debug('d');"));
  ASSERT_EQ(host.logs.size(), 4u);
  EXPECT_EQ(host.logs[0], std::make_pair(LogLevel::Info, std::string("i")));
  EXPECT_EQ(host.logs[1], std::make_pair(LogLevel::Warn, std::string("w")));
  EXPECT_EQ(host.logs[2], std::make_pair(LogLevel::Error, std::string("e")));
  EXPECT_EQ(host.logs[3], std::make_pair(LogLevel::Debug, std::string("d")));
}

TEST(ScriptHost, GsFormatsItsArguments) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    gs.info('count:', 3, 1.5, true, null, {a: [1, 'x']}, ['é😀']);
    gs.info('undefined:', undefined);
    gs.info(new TypeError('bad thing'));
    var cyclic = {}; cyclic.self = cyclic;
    gs.info('cyclic:', cyclic);
    gs.info();
    gs.info('ü😀');
  )"));
  ASSERT_EQ(host.logs.size(), 6u);
  EXPECT_EQ(host.logs[0].second, R"(count: 3 1.5 true null {"a":[1,"x"]} ["é😀"])");
  EXPECT_EQ(host.logs[1].second, "undefined: undefined");
  EXPECT_EQ(host.logs[2].second, "TypeError: bad thing");
  EXPECT_EQ(host.logs[3].second, "cyclic: [object Object]");
  EXPECT_EQ(host.logs[4].second, "");
  EXPECT_EQ(host.logs[5].second, "ü😀");
}

TEST(ScriptHost, GsCutsMessagesAt8KiB) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    gs.info(new Array(20001).join('a'));
    gs.info(new Array(20001).join('é'));
  )"));
  ASSERT_EQ(host.logs.size(), 2u);
  EXPECT_EQ(host.logs[0].second, std::string(8192, 'a'));
  std::string accents;
  for (int i = 0; i < 4096; ++i) accents += "é";
  EXPECT_EQ(host.logs[1].second, accents);  // cut on a character boundary
}

TEST(ScriptHost, GsLogsAFlowErrorAsItsString) {
  FakeHost host;
  host.outcome = [](const RunRequest&) { return failed("timeout", "too slow"); };
  Script script(host);
  ASSERT_FALSE(script.run(
      "try { sn_fd.FlowAPI.getRunner().subflow('s').run(); } catch (ex) { gs.error(ex); }"));
  ASSERT_EQ(host.logs.size(), 1u);
  EXPECT_EQ(host.logs[0].second, "FlowError: too slow");
}

// --- robustness ---------------------------------------------------------------------

TEST(ScriptHost, ReplacingTheGlobalsDoesNotReachTheHost) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var api = sn_fd.FlowAPI;
    var r = api.getRunner();
    sn_fd = null; gs = null;
    Object.prototype.subflow = 'polluted';
    r.subflow('s').run();
  )"));
  ASSERT_EQ(host.requests.size(), 1u);
  EXPECT_EQ(host.requests[0].target, "s");
}

TEST(ScriptHost, RunnerStateIsHiddenFromScripts) {
  FakeHost host;
  Script script(host);
  ASSERT_FALSE(script.run(R"(
    var r = sn_fd.FlowAPI.getRunner().subflow('s').addInput('a', 1);
    var visible = Object.getOwnPropertyNames(r).length + Object.keys(r).length;
  )"));
  EXPECT_EQ(script.global("visible"), Value(0));
}

TEST(ScriptHost, TwoScriptsWithTwoHostsRunOnTwoThreads) {
  FakeHost first_host, second_host;
  first_host.outcome = [](const RunRequest&) { return completed(ValueObject{{"who", 1}}); };
  second_host.outcome = [](const RunRequest&) { return completed(ValueObject{{"who", 2}}); };
  Value first_out, second_out;
  auto work = [](FakeHost& host, Value& out) {
    Script script(host);
    if (script.run("var out = sn_fd.FlowAPI.getRunner().subflow('s').run().getOutputs();")) return;
    out = script.global("out");
  };
  std::thread a(work, std::ref(first_host), std::ref(first_out));
  std::thread b(work, std::ref(second_host), std::ref(second_out));
  a.join();
  b.join();
  EXPECT_EQ(first_out, Value(ValueObject{{"who", 1}}));
  EXPECT_EQ(second_out, Value(ValueObject{{"who", 2}}));
}

}  // namespace
