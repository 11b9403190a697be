// The walker from an author's side: each test is a small definition set,
// validated, then run through an engine with a fake transport, an in-memory
// vault and a log that collects lines.
#include "runtime/walker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "runtime/engine.h"
#include "support/fake_transport.h"
#include "support/memory_vault.h"
#include "support/engine_harness.h"

namespace flowline {
namespace {

using flowline::testing::FakeHttp;
using flowline::testing::MemoryVault;
using flowline::testing::kAcme;

class WalkerTest : public flowline::testing::EngineHarness {};

#define EXPECT_COMPLETED(run_expr, json)                                   \
  do {                                                                     \
    RunResult completed_ = (run_expr);                                     \
    EXPECT_EQ(completed_.state, RunState::Completed) << error_of(completed_); \
    EXPECT_EQ(completed_.outputs.to_json(), json);                         \
  } while (0)

// ---- set, variables, outputs ------------------------------------------------

TEST_F(WalkerTest, SetUpdatesVariablesStartingFromTheirDefaults) {
  load(R"yaml(
kind: Subflow
name: counter
outputs: {n: {type: integer}, s: {type: string}, t: {type: string}}
variables: {n: {type: integer, default: 2}, s: {type: string}, t: {type: string, default: hi}}
steps:
  - set: {n: "{{ vars.n + 3 }}"}
  - set: {n: "{{ vars.n * 2 }}", t: "{{ vars.t }} there"}
  - assign_outputs: {n: "{{ vars.n }}", s: "{{ vars.s }}", t: "{{ vars.t }}"}
)yaml");
  RunResult r = run("counter");
  EXPECT_COMPLETED(r, R"({"n":10,"s":null,"t":"hi there"})");
}

TEST_F(WalkerTest, UnassignedDeclaredOutputsAreNull) {
  load(R"yaml(
kind: Subflow
name: partial
outputs: {a: {type: integer}, b: {type: array}}
steps:
  - assign_outputs: {a: 1}
)yaml");
  EXPECT_COMPLETED(run("partial"), R"({"a":1,"b":null})");
}

TEST_F(WalkerTest, AnOutputOfTheWrongTypeFailsWithOutputType) {
  load(R"yaml(
kind: Subflow
name: wrong
outputs: {n: {type: integer}}
steps:
  - assign_outputs: {n: "ten"}
)yaml");
  RunResult r = run("wrong");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "output_type | output 'n' of subflow 'global.wrong' must be an integer, not a string | ");
}

TEST_F(WalkerTest, ACalledSubflowsWrongOutputTypeFailsTheCaller) {
  load(R"yaml(
kind: Subflow
name: child
outputs: {items: {type: array}}
steps:
  - assign_outputs: {items: "{{ 3 }}"}
---
kind: Subflow
name: parent
outputs: {x: {type: any}}
steps:
  - id: c
    subflow: child
  - assign_outputs: {x: "{{ steps.c.items }}"}
)yaml");
  RunResult r = run("parent");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "output_type | output 'items' of subflow 'global.child' must be an array, not an integer | c/");
}

// ---- if / elif / else ---------------------------------------------------------

constexpr const char* kBranches = R"yaml(
kind: Subflow
name: pick
inputs: {x: {type: any}}
outputs: {branch: {type: string}}
steps:
  - if: "{{ inputs.x == 1 }}"
    then:
      - assign_outputs: {branch: one}
    elif:
      - if: "{{ inputs.x == 2 }}"
        then:
          - assign_outputs: {branch: two}
      - if: "{{ inputs.x == 3 }}"
        then:
          - assign_outputs: {branch: three}
    else:
      - assign_outputs: {branch: other}
)yaml";

TEST_F(WalkerTest, IfTakesTheThenBranch) {
  load(kBranches);
  EXPECT_COMPLETED(run("pick", ValueObject{{"x", 1}}), R"({"branch":"one"})");
}

TEST_F(WalkerTest, IfTakesTheFirstMatchingElif) {
  load(kBranches);
  EXPECT_COMPLETED(run("pick", ValueObject{{"x", 2}}), R"({"branch":"two"})");
  EXPECT_COMPLETED(run("pick", ValueObject{{"x", 3}}), R"({"branch":"three"})");
}

TEST_F(WalkerTest, IfTakesElseWhenNothingMatches) {
  load(kBranches);
  EXPECT_COMPLETED(run("pick", ValueObject{{"x", 9}}), R"({"branch":"other"})");
}

TEST_F(WalkerTest, IfWithoutElseAndNoMatchDoesNothing) {
  load(R"yaml(
kind: Subflow
name: maybe
outputs: {hit: {type: boolean}}
steps:
  - assign_outputs: {hit: false}
  - if: "{{ false }}"
    then:
      - assign_outputs: {hit: true}
)yaml");
  EXPECT_COMPLETED(run("maybe"), R"({"hit":false})");
}

TEST_F(WalkerTest, ConditionsUseTruthiness) {
  load(R"yaml(
kind: Subflow
name: truthy
inputs: {v: {type: any}}
outputs: {t: {type: boolean}}
steps:
  - if: "{{ inputs.v }}"
    then:
      - assign_outputs: {t: true}
    else:
      - assign_outputs: {t: false}
)yaml");
  struct Case {
    Value v;
    bool truthy;
  };
  std::vector<Case> cases = {
      {Value(), false},          {Value(false), false},   {Value(0), false},
      {Value(""), false},        {Value(true), true},     {Value(1), true},
      {Value("x"), true},        {Value(2.5), true},      {Value(ValueArray{Value(1)}), true},
  };
  for (const auto& c : cases) {
    RunResult r = run("truthy", ValueObject{{"v", c.v}});
    SCOPED_TRACE(c.v.to_json());
    EXPECT_COMPLETED(r, c.truthy ? R"({"t":true})" : R"({"t":false})");
  }
}

// ---- for_each -------------------------------------------------------------------

TEST_F(WalkerTest, ForEachBindsEachItemToItsName) {
  load(R"yaml(
kind: Subflow
name: sum
outputs: {total: {type: integer}, seen: {type: string}}
variables: {total: {type: integer, default: 0}, seen: {type: string, default: ""}}
steps:
  - for_each: "{{ [1, 2, 3, 4] }}"
    as: n
    do:
      - set: {total: "{{ vars.total + n }}", seen: "{{ vars.seen }}{{ n }}"}
  - assign_outputs: {total: "{{ vars.total }}", seen: "{{ vars.seen }}"}
)yaml");
  EXPECT_COMPLETED(run("sum"), R"({"seen":"1234","total":10})");
}

TEST_F(WalkerTest, SkipIterationAndExitLoop) {
  load(R"yaml(
kind: Subflow
name: control
outputs: {seen: {type: string}}
variables: {seen: {type: string, default: ""}}
steps:
  - for_each: "{{ [1, 2, 3, 4, 5, 6] }}"
    as: n
    do:
      - if: "{{ n % 2 == 0 }}"
        then:
          - skip_iteration
      - if: "{{ n == 5 }}"
        then:
          - exit_loop
      - set: {seen: "{{ vars.seen }}{{ n }}"}
  - assign_outputs: {seen: "{{ vars.seen }}"}
)yaml");
  EXPECT_COMPLETED(run("control"), R"({"seen":"13"})");
}

TEST_F(WalkerTest, NestedLoopsAndExitLoopLeavesOnlyTheInnerLoop) {
  load(R"yaml(
kind: Subflow
name: grid
outputs: {cells: {type: string}}
variables: {cells: {type: string, default: ""}}
steps:
  - for_each: "{{ ['a', 'b'] }}"
    as: row
    do:
      - for_each: "{{ [1, 2, 3] }}"
        as: col
        do:
          - if: "{{ col == 3 }}"
            then:
              - exit_loop
          - set: {cells: "{{ vars.cells }}{{ row }}{{ col }} "}
  - assign_outputs: {cells: "{{ vars.cells }}"}
)yaml");
  EXPECT_COMPLETED(run("grid"), R"({"cells":"a1 a2 b1 b2 "})");
}

TEST_F(WalkerTest, ForEachOverNullRunsZeroTimes) {
  load(R"yaml(
kind: Subflow
name: none
inputs: {items: {type: array}}
outputs: {count: {type: integer}}
variables: {count: {type: integer, default: 0}}
steps:
  - for_each: "{{ inputs.items }}"
    as: item
    do:
      - set: {count: "{{ vars.count + 1 }}"}
  - assign_outputs: {count: "{{ vars.count }}"}
)yaml");
  EXPECT_COMPLETED(run("none"), R"({"count":0})");
  EXPECT_COMPLETED(run("none", ValueObject{{"items", ValueArray{}}}), R"({"count":0})");
}

TEST_F(WalkerTest, ForEachOverANonArrayFails) {
  load(R"yaml(
kind: Subflow
name: bad
inputs: {items: {type: any}}
steps:
  - id: loop
    for_each: "{{ inputs.items }}"
    as: item
    do:
      - log: {message: "{{ item }}"}
)yaml");
  RunResult r = run("bad", ValueObject{{"items", "abc"}});
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "expression_error | for_each needs an array, got a string | loop");
}

TEST_F(WalkerTest, ForEachOverMoreItemsThanMaxIterationsFailsNamingTheLimit) {
  load(R"yaml(
kind: Subflow
name: big
inputs: {items: {type: array}}
steps:
  - id: loop
    for_each: "{{ inputs.items }}"
    as: item
    max_iterations: 3
    do:
      - log: {message: "{{ item }}"}
)yaml");
  RunResult r = run("big", ValueObject{{"items", ValueArray{1, 2, 3, 4}}});
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "loop_limit | for_each over 4 items exceeds max_iterations 3; set max_iterations on "
            "the step to allow more | loop");
  EXPECT_TRUE(log_->lines().empty());  // checked before the first iteration
  EXPECT_EQ(run("big", ValueObject{{"items", ValueArray{1, 2, 3}}}).state, RunState::Completed);
}

TEST_F(WalkerTest, ForEachDefaultLimitIs1000) {
  load(R"yaml(
kind: Subflow
name: big
inputs: {items: {type: array}}
outputs: {count: {type: integer}}
variables: {count: {type: integer, default: 0}}
steps:
  - id: loop
    for_each: "{{ inputs.items }}"
    as: item
    do:
      - set: {count: "{{ vars.count + 1 }}"}
  - assign_outputs: {count: "{{ vars.count }}"}
)yaml");
  ValueArray thousand(1000, Value(1));
  EXPECT_COMPLETED(run("big", ValueObject{{"items", thousand}}), R"({"count":1000})");
  ValueArray more(1001, Value(1));
  RunResult r = run("big", ValueObject{{"items", more}});
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "loop_limit | for_each over 1001 items exceeds max_iterations 1000; set max_iterations "
            "on the step to allow more | loop");
}

// ---- until ----------------------------------------------------------------------

TEST_F(WalkerTest, UntilRunsItsBodyAtLeastOnce) {
  load(R"yaml(
kind: Subflow
name: once
outputs: {n: {type: integer}}
variables: {n: {type: integer, default: 0}}
steps:
  - until: "{{ true }}"
    do:
      - set: {n: "{{ vars.n + 1 }}"}
  - assign_outputs: {n: "{{ vars.n }}"}
)yaml");
  EXPECT_COMPLETED(run("once"), R"({"n":1})");
}

TEST_F(WalkerTest, UntilStopsWhenItsConditionBecomesTrue) {
  load(R"yaml(
kind: Subflow
name: count
outputs: {n: {type: integer}}
variables: {n: {type: integer, default: 0}}
steps:
  - until: "{{ vars.n >= 4 }}"
    do:
      - set: {n: "{{ vars.n + 1 }}"}
  - assign_outputs: {n: "{{ vars.n }}"}
)yaml");
  EXPECT_COMPLETED(run("count"), R"({"n":4})");
}

TEST_F(WalkerTest, UntilNeverTrueHitsLoopLimit) {
  load(R"yaml(
kind: Subflow
name: forever
variables: {n: {type: integer, default: 0}}
steps:
  - id: spin
    until: "{{ false }}"
    max_iterations: 5
    do:
      - set: {n: "{{ vars.n + 1 }}"}
      - log: {message: "{{ vars.n }}"}
)yaml");
  RunResult r = run("forever");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "loop_limit | until loop ran 5 times without its condition becoming true "
            "(max_iterations 5) | spin");
  EXPECT_EQ(log_->lines().size(), 5u);
}

TEST_F(WalkerTest, UntilExitLoop) {
  load(R"yaml(
kind: Subflow
name: leave
outputs: {n: {type: integer}}
variables: {n: {type: integer, default: 0}}
steps:
  - until: "{{ false }}"
    max_iterations: 10
    do:
      - set: {n: "{{ vars.n + 1 }}"}
      - if: "{{ vars.n == 3 }}"
        then:
          - exit_loop
  - assign_outputs: {n: "{{ vars.n }}"}
)yaml");
  EXPECT_COMPLETED(run("leave"), R"({"n":3})");
}

// ---- parallel ---------------------------------------------------------------------

TEST_F(WalkerTest, ParallelRunsBothBranches) {
  load(R"yaml(
kind: Subflow
name: both
outputs: {a: {type: string}, b: {type: string}}
variables: {a: {type: string}, b: {type: string}}
steps:
  - parallel:
      - - set: {a: left}
        - log: {message: left}
      - - set: {b: right}
        - log: {message: right}
  - assign_outputs: {a: "{{ vars.a }}", b: "{{ vars.b }}"}
)yaml");
  EXPECT_COMPLETED(run("both"), R"({"a":"left","b":"right"})");
  auto lines = log_->lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"info log: left", "info log: right"}));
}

TEST_F(WalkerTest, AFailingBranchFailsTheParallelStep) {
  load(R"yaml(
kind: Action
name: parse_bad
steps:
  - id: parse
    json_parse: {source: "not json"}
---
kind: Subflow
name: onefails
outputs: {after: {type: boolean}}
steps:
  - id: par
    parallel:
      - - log: {message: fine}
      - - id: bad
          action: parse_bad
  - assign_outputs: {after: true}
)yaml");
  RunResult r = run("onefails");
  ASSERT_EQ(r.state, RunState::Error);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "invalid_json");
  EXPECT_EQ(r.error->step, "bad/parse");
  EXPECT_EQ(log_->lines(), (std::vector<std::string>{"info log: fine"}));
}

TEST_F(WalkerTest, WaitsInParallelBranchesOverlap) {
  load(R"yaml(
kind: Subflow
name: overlap
steps:
  - parallel:
      - - log: {message: a start}
        - wait: 200ms
        - log: {message: a end}
      - - log: {message: b start}
        - wait: 200ms
        - log: {message: b end}
)yaml");
  RunResult r = run("overlap");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  auto lines = log_->lines();
  ASSERT_EQ(lines.size(), 4u);
  // Both branches started before either finished.
  EXPECT_NE(lines[0].find("start"), std::string::npos);
  EXPECT_NE(lines[1].find("start"), std::string::npos);
  EXPECT_NE(lines[2].find("end"), std::string::npos);
  EXPECT_NE(lines[3].find("end"), std::string::npos);
}

TEST_F(WalkerTest, RestCallsInParallelBranchesAreInFlightTogether) {
  load(R"yaml(
kind: Action
name: get
inputs: {p: {type: string}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: "/{{ inputs.p }}"}
---
kind: Subflow
name: fan
run_as: session_user
steps:
  - parallel:
      - - action: get
          inputs: {p: one}
      - - action: get
          inputs: {p: two}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  http_->set_delay(std::chrono::milliseconds(100));
  http_->set_handler([](const HttpRequest&) { return flowline::testing::json_response(200, "{}"); });
  RunResult r = run("fan", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 2u);
  // The second request went out before the first one's 100 ms reply came back.
  EXPECT_LT(requests[1].sent_at - requests[0].sent_at, std::chrono::milliseconds(100));
}

// ---- try / catch ---------------------------------------------------------------------

TEST_F(WalkerTest, CatchSeesTheError) {
  load(R"yaml(
kind: Action
name: parse_oops
steps:
  - id: parse
    json_parse: {source: "{oops"}
---
kind: Subflow
name: caught
outputs: {code: {type: string}, message: {type: string}, step: {type: string}}
steps:
  - try:
      - id: call
        action: parse_oops
      - assign_outputs: {code: not reached}
    catch:
      - assign_outputs: {code: "{{ error.code }}", message: "{{ error.message }}", step: "{{ error.step }}"}
)yaml");
  RunResult r = run("caught");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("code")->to_json(), R"("invalid_json")");
  EXPECT_EQ(r.outputs.find("step")->to_json(), R"("call/parse")");
  EXPECT_FALSE(r.outputs.find("message")->as_string().empty());
}

TEST_F(WalkerTest, CatchIsNotRunWithoutAnError) {
  load(R"yaml(
kind: Subflow
name: fine
outputs: {where: {type: string}}
steps:
  - try:
      - assign_outputs: {where: try}
    catch:
      - assign_outputs: {where: catch}
)yaml");
  EXPECT_COMPLETED(run("fine"), R"({"where":"try"})");
}

TEST_F(WalkerTest, CatchSeesErrorsFromCalledActions) {
  load(R"yaml(
kind: Action
name: failing
steps:
  - id: p
    json_parse: {source: "nope"}
---
kind: Subflow
name: wrapper
outputs: {code: {type: string}, step: {type: string}}
steps:
  - try:
      - id: call
        action: failing
    catch:
      - assign_outputs: {code: "{{ error.code }}", step: "{{ error.step }}"}
)yaml");
  EXPECT_COMPLETED(run("wrapper"), R"({"code":"invalid_json","step":"call/p"})");
}

// ---- end_flow ------------------------------------------------------------------------

TEST_F(WalkerTest, EndFlowStopsWithSuccessAndTheAssignedOutputs) {
  load(R"yaml(
kind: Subflow
name: early
outputs: {n: {type: integer}}
steps:
  - assign_outputs: {n: 1}
  - for_each: "{{ [1, 2, 3] }}"
    as: i
    do:
      - assign_outputs: {n: "{{ i }}"}
      - if: "{{ i == 2 }}"
        then:
          - end_flow
  - assign_outputs: {n: 99}
)yaml");
  EXPECT_COMPLETED(run("early"), R"({"n":2})");
}

TEST_F(WalkerTest, EndFlowInAChildEndsOnlyTheChild) {
  load(R"yaml(
kind: Subflow
name: child
outputs: {v: {type: string}}
steps:
  - assign_outputs: {v: child}
  - end_flow
  - assign_outputs: {v: not reached}
---
kind: Subflow
name: parent
outputs: {v: {type: string}, after: {type: boolean}}
steps:
  - id: c
    subflow: child
  - assign_outputs: {v: "{{ steps.c.v }}", after: true}
)yaml");
  EXPECT_COMPLETED(run("parent"), R"({"after":true,"v":"child"})");
}

// ---- wait and the run timeout ---------------------------------------------------------

TEST_F(WalkerTest, WaitCompletes) {
  load(R"yaml(
kind: Subflow
name: pause
outputs: {done: {type: boolean}}
steps:
  - wait: 50ms
  - assign_outputs: {done: true}
)yaml");
  auto start = std::chrono::steady_clock::now();
  EXPECT_COMPLETED(run("pause"), R"({"done":true})");
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

TEST_F(WalkerTest, RunTimeoutStopsALongWait) {
  load(R"yaml(
kind: Subflow
name: slow
steps:
  - wait: 10s
  - id: after
    log: {message: too late}
)yaml");
  auto start = std::chrono::steady_clock::now();
  RunResult r = run("slow", ValueObject{}, std::nullopt, std::chrono::milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(r.state, RunState::Error);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "timeout");
  EXPECT_EQ(r.error->message, "the run took longer than its timeout of 100 ms");
  EXPECT_TRUE(log_->lines().empty());
}

TEST_F(WalkerTest, RunTimeoutIsAnErrorEvenWhenTheWaitIsTheLastStep) {
  load(R"yaml(
kind: Subflow
name: slow_last
steps:
  - wait: 10s
)yaml");
  RunResult r = run("slow_last", ValueObject{}, std::nullopt, std::chrono::milliseconds(100));
  ASSERT_EQ(r.state, RunState::Error) << error_of(r);
  EXPECT_EQ(r.error->code, "timeout");
}

// ---- actions: inputs, outputs, error evaluation ------------------------------------------

constexpr const char* kEcho = R"yaml(
kind: Action
name: echo
inputs:
  n: {type: integer, mandatory: true}
  label: {type: string, default: none}
outputs:
  doubled: {type: integer, value: "{{ inputs.n * 2 }}"}
  label: {type: string, value: "{{ inputs.label }}"}
steps:
  - id: say
    log: {message: "{{ inputs.label }}={{ inputs.n }}"}
)yaml";

TEST_F(WalkerTest, ActionOutputsComeFromTheirValuePills) {
  load(kEcho);
  EXPECT_COMPLETED(run("echo", ValueObject{{"n", 4}, {"label", "x"}}), R"({"doubled":8,"label":"x"})");
  EXPECT_EQ(log_->lines(), (std::vector<std::string>{"info say: x=4"}));
}

TEST_F(WalkerTest, ActionInputDefaultsApply) {
  load(kEcho);
  EXPECT_COMPLETED(run("echo", ValueObject{{"n", 1}}), R"({"doubled":2,"label":"none"})");
}

TEST_F(WalkerTest, ActionInputOfTheWrongTypeIsInvalidInput) {
  load(kEcho);
  RunResult r = run("echo", ValueObject{{"n", "four"}});
  ASSERT_EQ(r.state, RunState::Error);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "invalid_input");
  EXPECT_NE(r.error->message.find("'n'"), std::string::npos) << r.error->message;
  EXPECT_TRUE(log_->lines().empty());
}

TEST_F(WalkerTest, MissingMandatoryInputIsInvalidInput) {
  load(kEcho);
  RunResult r = run("echo", ValueObject{{"label", "x"}});
  ASSERT_EQ(r.state, RunState::Error);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "invalid_input");
  EXPECT_NE(r.error->message.find("'n'"), std::string::npos) << r.error->message;
}

TEST_F(WalkerTest, CallInputsAreTypeCheckedAtTheCallee) {
  load(std::string(kEcho) + R"yaml(
---
kind: Subflow
name: caller
steps:
  - id: e
    action: echo
    inputs: {n: "not a number"}
)yaml");
  RunResult r = run("caller");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "invalid_input");
  EXPECT_EQ(r.error->step, "e/");
}

TEST_F(WalkerTest, ErrorEvaluationMessageReplacesTheStepError) {
  load(R"yaml(
kind: Action
name: fetch
outputs: {code: {type: integer, value: "{{ steps.r.status_code }}"}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /things}
error_evaluation:
  - when: "{{ steps.r.status_code == 500 }}"
    message: "not this one"
  - when: "{{ steps.r.status_code == 404 }}"
    message: "No things at ACME ({{ steps.r.status.message }})"
---
kind: Subflow
name: wrap
run_as: session_user
steps:
  - id: f
    action: fetch
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(404, R"({"error":"nope"})");
  RunResult r = run("wrap", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "action_error | No things at ACME (HTTP 404 Not Found from GET "
            "https://api.acme.example/things) | f/r");
}

TEST_F(WalkerTest, OnFailureContinueLetsTheActionGoOn) {
  load(R"yaml(
kind: Action
name: tolerant
outputs:
  code: {type: integer, value: "{{ steps.r.status.code }}"}
  http: {type: integer, value: "{{ steps.r.status_code }}"}
  after: {type: boolean, value: "{{ steps.p.value }}"}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /x}
    on_failure: continue
  - id: p
    json_parse: {source: "true"}
---
kind: Subflow
name: wrap
run_as: session_user
outputs: {code: {type: integer}, http: {type: integer}, after: {type: boolean}}
steps:
  - id: t
    action: tolerant
  - assign_outputs: {code: "{{ steps.t.code }}", http: "{{ steps.t.http }}", after: "{{ steps.t.after }}"}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(500, "{}");
  EXPECT_COMPLETED(run("wrap", ValueObject{}, "alice"), R"({"after":true,"code":1,"http":500})");
}

// ---- call depth -------------------------------------------------------------------------

TEST_F(WalkerTest, CallDepthLimit) {
  RunLimits limits;
  limits.max_call_depth = 3;
  load(R"yaml(
kind: Subflow
name: a
steps:
  - id: to_b
    subflow: b
---
kind: Subflow
name: b
steps:
  - id: to_c
    subflow: c
---
kind: Subflow
name: c
steps:
  - id: to_d
    subflow: d
---
kind: Subflow
name: d
steps:
  - id: to_e
    subflow: e
---
kind: Subflow
name: e
steps:
  - log: {message: deep}
)yaml",
       false, false, limits);
  RunResult r = run("a");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "call_depth_limit | calls nest deeper than 3 levels at subflow 'global.e' | "
            "to_b/to_c/to_d/to_e/");
  EXPECT_TRUE(log_->lines().empty());
  // c → d → e is within the limit.
  EXPECT_EQ(run("c").state, RunState::Completed);
}

// ---- identity ---------------------------------------------------------------------------

constexpr const char* kIdentity = R"yaml(
kind: Action
name: whoami
outputs: {body: {type: any, value: "{{ steps.r.body }}"}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /me}
---
kind: Subflow
name: as_user
run_as: session_user
outputs: {body: {type: any}}
steps:
  - id: w
    action: whoami
  - assign_outputs: {body: "{{ steps.w.body }}"}
---
kind: Subflow
name: as_system
run_as: system
steps:
  - id: w
    action: whoami
---
kind: Subflow
name: system_calls_user
run_as: system
outputs: {body: {type: any}}
steps:
  - id: u
    subflow: as_user
  - assign_outputs: {body: "{{ steps.u.body }}"}
)yaml";

TEST_F(WalkerTest, PersonalCredentialFromASystemSubflowFailsWithoutARequest) {
  load(kIdentity, true, /*allow_errors=*/true);  // the validator flags it too
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  RunResult r = run("as_system", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r),
            "personal_credential_in_system_context | credential 'global.acme_personal' is "
            "personal, but this step runs as system; set `run_as: session_user` on the subflow "
            "that calls it | w/r");
  EXPECT_EQ(http_->request_count(), 0u);
}

TEST_F(WalkerTest, PersonalCredentialInSystemContextHasStatusCode401) {
  load(std::string(kIdentity) + R"yaml(
---
kind: Subflow
name: sys_continue
run_as: system
outputs: {code: {type: integer}, status: {type: integer}}
steps:
  - id: w
    action: whoami
    on_failure: continue
  - assign_outputs: {status: "{{ steps.w.status.code }}"}
---
kind: Action
name: raw
outputs: {code: {type: integer, value: "{{ steps.r.status_code }}"}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: /me}
    on_failure: continue
---
kind: Subflow
name: sys_raw
run_as: system
outputs: {code: {type: integer}}
steps:
  - id: a
    action: raw
  - assign_outputs: {code: "{{ steps.a.code }}"}
)yaml",
       true, true);
  EXPECT_COMPLETED(run("sys_raw", ValueObject{}, "alice"), R"({"code":401})");
  EXPECT_EQ(http_->request_count(), 0u);
}

TEST_F(WalkerTest, SessionUserSubflowSendsThatUsersToken) {
  load(kIdentity, true, true);
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  vault_->put_access_token("global.acme_personal", "bob", "tok-bob");
  http_->set_handler([](const HttpRequest& request) {
    return flowline::testing::json_response(200, R"({"token":")" + request.bearer_token + R"("})");
  });
  EXPECT_COMPLETED(run("as_user", ValueObject{}, "alice"), R"({"body":{"token":"tok-alice"}})");
  EXPECT_COMPLETED(run("as_user", ValueObject{}, "bob"), R"({"body":{"token":"tok-bob"}})");
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].request.bearer_token, "tok-alice");
  EXPECT_EQ(requests[1].request.bearer_token, "tok-bob");
  EXPECT_EQ(requests[0].request.url, "https://api.acme.example/me");
  for (const auto& [name, value] : requests[0].request.headers)
    EXPECT_EQ(value.find("tok-alice"), std::string::npos) << name;
}

TEST_F(WalkerTest, NoTokenIsTokenMissingAndNoRequest) {
  load(kIdentity, true, true);
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  RunResult r = run("as_user", ValueObject{}, "carol");
  ASSERT_EQ(r.state, RunState::Error);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->code, "token_missing");
  EXPECT_EQ(r.error->step, "w/r");
  EXPECT_NE(r.error->message.find("'carol'"), std::string::npos) << r.error->message;
  EXPECT_NE(r.error->message.find("flowline token login global.acme_personal --user carol"),
            std::string::npos)
      << r.error->message;
  EXPECT_TRUE(r.authorization_required());
  EXPECT_EQ(http_->request_count(), 0u);
}

TEST_F(WalkerTest, ASessionUserSubflowCalledFromASystemSubflowUsesTheSessionUser) {
  load(kIdentity, true, true);
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  http_->set_handler([](const HttpRequest& request) {
    return flowline::testing::json_response(200, R"({"token":")" + request.bearer_token + R"("})");
  });
  EXPECT_COMPLETED(run("system_calls_user", ValueObject{}, "alice"), R"({"body":{"token":"tok-alice"}})");
}

TEST_F(WalkerTest, AnActionRunDirectlyRunsAsTheSessionUser) {
  load(kIdentity, true, true);
  vault_->put_access_token("global.acme_personal", "alice", "tok-alice");
  http_->push_json(200, R"({"ok":true})");
  EXPECT_COMPLETED(run("whoami", ValueObject{}, "alice"), R"({"body":{"ok":true}})");
  EXPECT_EQ(http_->requests().at(0).request.bearer_token, "tok-alice");
}

// ---- log, json_parse, records ----------------------------------------------------------

TEST_F(WalkerTest, LogLevelsReachTheSink) {
  load(R"yaml(
kind: Subflow
name: talk
inputs: {who: {type: string, default: world}}
steps:
  - id: hello
    log: {message: "hello {{ inputs.who }}"}
  - id: careful
    log: {level: warn, message: careful}
  - log: {level: error, message: "{{ 1 + 1 }}"}
)yaml");
  EXPECT_EQ(run("talk").state, RunState::Completed);
  EXPECT_EQ(log_->lines(),
            (std::vector<std::string>{"info hello: hello world", "warn careful: careful", "error log: 2"}));
}

TEST_F(WalkerTest, JsonParseProducesAValue) {
  load(R"yaml(
kind: Action
name: parse
inputs: {text: {type: string}}
outputs:
  v: {type: any, value: "{{ steps.p.value }}"}
  name: {type: any, value: "{{ steps.p.value.name }}"}
steps:
  - id: p
    json_parse: {source: "{{ inputs.text }}"}
)yaml");
  EXPECT_COMPLETED(run("parse", ValueObject{{"text", R"({"name":"x","n":[1,2]})"}}),
                   R"({"name":"x","v":{"n":[1,2],"name":"x"}})");
  RunResult bad = run("parse", ValueObject{{"text", "{"}});
  ASSERT_EQ(bad.state, RunState::Error);
  EXPECT_EQ(bad.error->code, "invalid_json");
  EXPECT_EQ(bad.error->step, "p");
}

TEST_F(WalkerTest, RecordsHaveNestedPathsAndHttpSummaries) {
  load(R"yaml(
kind: Action
name: fetch_things
steps:
  - id: fetch
    rest: {connection: acme, method: GET, path: /things, query: {q: "a b"}}
---
kind: Subflow
name: top
run_as: session_user
steps:
  - id: get
    action: fetch_things
  - id: note
    log: {message: done}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, "[]");
  RunResult r = run("top", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  std::vector<std::string> paths;
  for (const auto& step : r.steps) paths.push_back(step.path + ":" + step.type);
  EXPECT_EQ(paths, (std::vector<std::string>{"get:call", "get/fetch:rest", "note:log"}));
  const StepRecord* fetch = nullptr;
  for (const auto& step : r.steps)
    if (step.path == "get/fetch") fetch = &step;
  ASSERT_NE(fetch, nullptr);
  ASSERT_TRUE(fetch->http);
  EXPECT_EQ(fetch->http->method, "GET");
  EXPECT_EQ(fetch->http->url, "https://api.acme.example/things?q=a%20b");
  EXPECT_EQ(fetch->http->status, 200);
  EXPECT_EQ(fetch->http->attempts, 1);
  EXPECT_EQ(fetch->state, RunState::Completed);
  EXPECT_EQ(r.user, std::optional<std::string>("alice"));
}

TEST_F(WalkerTest, UnknownTargetSuggestsANearName) {
  load(kEcho);
  RunResult r = run("ecko");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "unknown_target");
  EXPECT_NE(r.error->message.find("echo"), std::string::npos) << r.error->message;
}

}  // namespace
}  // namespace flowline
