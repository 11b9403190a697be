// Script steps from an author's side: definitions validated, then run through
// an engine (FakeTransport, MemoryVault) — inputs and outputs of every type,
// errors with their file line, the time and memory limits, gs.* logging, and
// FlowAPI calls from a script into a subflow whose action makes a REST call.
#include <gtest/gtest.h>

#include <thread>

#include "support/engine_harness.h"

namespace flowline {
namespace {

using namespace std::chrono_literals;

class ScriptStepTest : public flowline::testing::EngineHarness {};

#define EXPECT_COMPLETED(result, json)                                      \
  do {                                                                     \
    const RunResult& r_ = (result);                                        \
    EXPECT_EQ(r_.state, RunState::Completed) << error_of(r_);              \
    EXPECT_EQ(r_.outputs.to_json(), json);                                 \
  } while (0)

TEST_F(ScriptStepTest, InputsAndOutputsOfEveryTypeRoundTrip) {
  load(R"yaml(
kind: Action
name: every_type
inputs:
  s: {type: string, default: "héllo"}
  i: {type: integer, default: 41}
  n: {type: number, default: 2.5}
  b: {type: boolean, default: true}
  o: {type: object, default: {k: [1, "two", null]}}
  a: {type: array, default: [1, 2, 3]}
outputs:
  s: {type: string, value: "{{ steps.js.s }}"}
  i: {type: integer, value: "{{ steps.js.i }}"}
  n: {type: number, value: "{{ steps.js.n }}"}
  b: {type: boolean, value: "{{ steps.js.b }}"}
  o: {type: object, value: "{{ steps.js.o }}"}
  a: {type: array, value: "{{ steps.js.a }}"}
  x: {type: any, value: "{{ steps.js.x }}"}
  types: {type: string, value: "{{ steps.js.types }}"}
steps:
  - id: js
    script:
      inputs: {s: "{{ inputs.s }}", i: "{{ inputs.i }}", n: "{{ inputs.n }}", b: "{{ inputs.b }}",
               o: "{{ inputs.o }}", a: "{{ inputs.a }}"}
      code: |
        (function execute(inputs, outputs) {
          outputs.s = inputs.s.toUpperCase();
          outputs.i = inputs.i + 1;
          outputs.n = inputs.n * 2;
          outputs.b = !inputs.b;
          outputs.o = {k: inputs.o.k.concat(['added']), nested: {deep: true}};
          outputs.a = inputs.a.map(function (v) { return v * 10; });
          outputs.x = null;
          outputs.types = [typeof inputs.s, typeof inputs.i, typeof inputs.b,
                           Array.isArray(inputs.a), typeof inputs.o].join(',');
        })(inputs, outputs);
      outputs:
        s: {type: string}
        i: {type: integer}
        n: {type: number}
        b: {type: boolean}
        o: {type: object}
        a: {type: array}
        x: {type: any}
        types: {type: string}
)yaml");
  EXPECT_COMPLETED(run("every_type"),
                   R"({"a":[10,20,30],"b":false,"i":42,"n":5,"o":{"k":[1,"two",null,"added"],)"
                   R"("nested":{"deep":true}},"s":"HÉLLO","types":"string,number,boolean,true,)"
                   R"(object","x":null})");
}

TEST_F(ScriptStepTest, AnOutputOfTheWrongTypeFailsTheStep) {
  load(R"yaml(
kind: Action
name: wrong
steps:
  - id: js
    script:
      code: "outputs.count = 'three';"
      outputs: {count: {type: integer}}
)yaml");
  RunResult r = run("wrong");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "invalid_output") << error_of(r);
  EXPECT_NE(r.error->message.find("output 'count' should be"), std::string::npos) << error_of(r);
  EXPECT_EQ(r.error->step, "js");
}

TEST_F(ScriptStepTest, AThrownErrorFailsTheStepWithTheFileLine) {
  load(R"yaml(
kind: Action
name: thrower
steps:
  - id: js
    script:
      code: |
        (function execute(inputs, outputs) {
          var a = 1;
          throw new Error('the sky fell');
        })(inputs, outputs);
)yaml");
  RunResult r = run("thrower");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "script_error") << error_of(r);
  // test.yaml line 10 holds the throw (the block starts on line 8).
  EXPECT_NE(r.error->message.find("Error: the sky fell"), std::string::npos) << error_of(r);
  EXPECT_NE(r.error->message.find("test.yaml:10"), std::string::npos) << error_of(r);
  EXPECT_EQ(r.error->step, "js");
}

TEST_F(ScriptStepTest, OnFailureContinueKeepsGoingWithStatusCodeOne) {
  load(R"yaml(
kind: Action
name: tolerant
outputs:
  code: {type: integer, value: "{{ steps.js.status.code }}"}
  message: {type: string, value: "{{ steps.js.status.message }}"}
steps:
  - id: js
    on_failure: continue
    script: "null.x;"
)yaml");
  RunResult r = run("tolerant");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("code")->as_integer(), 1);
  EXPECT_NE(r.outputs.find("message")->as_string().find("TypeError"), std::string::npos)
      << r.outputs.to_json();
}

TEST_F(ScriptStepTest, AnInfiniteLoopIsStoppedByTheTimeLimit) {
  script_limits_.timeout = 300ms;
  load(R"yaml(
kind: Action
name: spin
steps:
  - id: js
    script:
      code: |
        while (true) {
          try { for (;;) {} } catch (e) { /* the limit cannot be caught */ }
        }
)yaml");
  auto began = std::chrono::steady_clock::now();
  RunResult r = run("spin");
  auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "script_timeout") << error_of(r);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 10s);
}

TEST_F(ScriptStepTest, AMemoryBombIsStoppedByTheMemoryLimit) {
  script_limits_.memory_bytes = 16u << 20;
  load(R"yaml(
kind: Action
name: bomb
steps:
  - id: js
    script:
      code: |
        var hoard = [];
        var s = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';
        for (var i = 0; ; i++) { hoard.push(s + i); s = s + 'y'; }
)yaml");
  RunResult r = run("bomb");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "script_memory") << error_of(r);
  // The engine is fine afterwards.
  script_limits_ = {};
  load(R"yaml(
kind: Action
name: fine
outputs: {v: {type: integer, value: "{{ steps.js.v }}"}}
steps:
  - id: js
    script: {code: "outputs.v = 7;", outputs: {v: {type: integer}}}
)yaml");
  EXPECT_COMPLETED(run("fine"), R"({"v":7})");
}

TEST_F(ScriptStepTest, GsLogsGoToTheRunLog) {
  load(R"yaml(
kind: Action
name: chatty
steps:
  - id: js
    script: "gs.info('hello', 2, {a: 1}); gs.warn('careful'); gs.error('bad'); gs.debug('dbg');"
)yaml");
  ASSERT_EQ(run("chatty").state, RunState::Completed);
  auto lines = log_->lines();
  std::vector<std::string> want = {"info js: hello 2 {\"a\":1}", "warn js: careful", "error js: bad",
                                   "debug js: dbg"};
  EXPECT_EQ(lines, want);
}

TEST_F(ScriptStepTest, AScriptCallsASubflowWhoseActionMakesARestCallAsTheSessionUser) {
  load(R"yaml(
kind: Action
name: get_incidents
outputs: {count: {type: integer, value: "{{ length(steps.r.body.result) }}"}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /api/now/table/incident}
---
kind: Subflow
name: incidents
run_as: session_user
outputs: {count: {type: integer}}
steps:
  - id: get
    action: get_incidents
  - assign_outputs: {count: "{{ steps.get.count }}"}
---
kind: Action
name: orchestrate
outputs:
  count: {type: integer, value: "{{ steps.js.count }}"}
  context: {type: string, value: "{{ steps.js.context }}"}
steps:
  - id: js
    script:
      code: |
        (function execute(inputs, outputs) {
          var result = sn_fd.FlowAPI.getRunner().subflow('global.incidents').inForeground().run();
          outputs.count = result.getOutputs().count;
          outputs.context = result.getContextId();
        })(inputs, outputs);
      outputs: {count: {type: integer}, context: {type: string}}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "alice-token");
  http_->push_json(200, R"({"result":[{"n":1},{"n":2}]})");
  RunResult r = run("orchestrate", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("count")->as_integer(), 2);
  EXPECT_EQ(r.outputs.find("context")->as_string().size(), 36u);
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].request.bearer_token, "alice-token");  // the script's session user
}

TEST_F(ScriptStepTest, AFailedSubflowIsAnExceptionTheScriptCanCatch) {
  load(R"yaml(
kind: Action
name: get_incidents
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /api/now/table/incident}
---
kind: Subflow
name: incidents
run_as: session_user
steps:
  - id: get
    action: get_incidents
---
kind: Action
name: orchestrate
outputs: {message: {type: string, value: "{{ steps.js.message }}"}}
steps:
  - id: js
    script:
      code: |
        try {
          sn_fd.FlowAPI.getRunner().subflow('global.incidents').inForeground().run();
          outputs.message = 'no error?';
        } catch (ex) {
          outputs.message = ex.getMessage();
        }
      outputs: {message: {type: string}}
)yaml",
       true);
  RunResult r = run("orchestrate", ValueObject{}, "bob");  // bob has no token
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  std::string message = r.outputs.find("message")->as_string();
  EXPECT_NE(message.find("no token for user 'bob'"), std::string::npos) << message;
  EXPECT_EQ(http_->request_count(), 0u);
}


TEST_F(ScriptStepTest, AScriptThatStartsItselfStopsAtTheCallDepthLimit) {
  load(R"yaml(
kind: Action
name: recurse
inputs: {depth: {type: integer, default: 0}}
steps:
  - id: js
    script:
      inputs: {depth: "{{ inputs.depth }}"}
      code: "sn_fd.FlowAPI.getRunner().action('recurse').addInput('depth', inputs.depth + 1).inForeground().run();"
)yaml",
       false, false, RunLimits{.max_call_depth = 4});
  RunResult r = run("recurse", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  // The innermost run hits the limit; each script above rethrows it as its own error.
  EXPECT_NE(r.error->message.find("nest deeper than 4 levels"), std::string::npos) << error_of(r);
}

TEST_F(ScriptStepTest, TheRunTimeoutCutsAScriptShort) {
  load(R"yaml(
kind: Action
name: spin
steps:
  - id: js
    script: "while (true) {}"
)yaml");
  auto began = std::chrono::steady_clock::now();
  RunResult r = run("spin", ValueObject{}, std::nullopt, 300ms);
  auto took = std::chrono::steady_clock::now() - began;
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "timeout") << error_of(r);
  EXPECT_LT(took, 5s);  // not the script's own 10 s limit
}

TEST_F(ScriptStepTest, CancellingTheRunInterruptsItsScript) {
  load(R"yaml(
kind: Action
name: spin
steps:
  - id: js
    script: "while (true) {}"
)yaml");
  RunRequest request;
  request.target = "spin";
  auto handle = start_run(*engine_, std::move(request));
  std::this_thread::sleep_for(200ms);
  auto began = std::chrono::steady_clock::now();
  handle->cancel();
  RunResult r = handle->wait();
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  EXPECT_EQ(r.state, RunState::Cancelled) << error_of(r);
}

TEST_F(ScriptStepTest, UndeclaredOutputsAreNeverLookedAt) {
  load(R"yaml(
kind: Action
name: helper
outputs: {x: {type: integer, value: "{{ steps.js.x }}"}}
steps:
  - id: js
    script:
      code: "outputs.x = 1; outputs.helper = function () { return 2; }; outputs.big = new Array(1e6).join('x');"
      outputs: {x: {type: integer}}
)yaml");
  EXPECT_COMPLETED(run("helper"), R"({"x":1})");
}

}  // namespace
}  // namespace flowline
