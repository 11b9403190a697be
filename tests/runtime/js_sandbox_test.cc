#include "runtime/script/js_sandbox.h"

#include <duktape.h>
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>
#include <thread>

namespace flowline {
// Lets gtest show a Value as its JSON.
void PrintTo(const Value& value, std::ostream* out) { *out << value.to_json(); }
}  // namespace flowline

using namespace flowline;
using namespace std::chrono_literals;

namespace {

ScriptLimits limits_with(std::chrono::milliseconds timeout = 5s, size_t memory = 64u << 20,
                         size_t output = 1u << 20) {
  ScriptLimits limits;
  limits.timeout = timeout;
  limits.memory_bytes = memory;
  limits.output_bytes = output;
  return limits;
}

// Runs `code` and returns the global `name` (failing the test when either fails).
Value run_and_get(JsSandbox& sandbox, const std::string& code, const char* name) {
  auto failure = sandbox.run(code, "test.js");
  EXPECT_FALSE(failure) << failure->code << ": " << failure->message;
  auto value = sandbox.get_global(name);
  EXPECT_TRUE(value.ok()) << value.status().message();
  return value.ok() ? *value : Value();
}

Status status_of(JsSandbox& sandbox, const std::string& code, const char* name = "outputs") {
  auto failure = sandbox.run(code, "test.js");
  EXPECT_FALSE(failure) << failure->message;
  auto value = sandbox.get_global(name);
  EXPECT_FALSE(value.ok());
  return value.status();
}

// --- Value -> JavaScript -> Value -------------------------------------------

TEST(JsSandboxValues, EveryTypeReachesTheScriptAsItsJavaScriptType) {
  JsSandbox sandbox(limits_with());
  ValueObject inputs{{"n", nullptr},
                     {"t", true},
                     {"i", int64_t{42}},
                     {"d", 1.5},
                     {"s", "text"},
                     {"a", ValueArray{1, "two"}},
                     {"o", ValueObject{{"k", "v"}}},
                     {"e", ValueArray{}},
                     {"eo", ValueObject{}}};
  sandbox.set_global("inputs", Value(inputs));
  Value types = run_and_get(sandbox, R"(
    var types = {};
    for (var k in inputs) {
      var v = inputs[k];
      types[k] = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
    }
    types.arrayLength = inputs.a.length;
    types.member = inputs.o.k;
  )",
                            "types");
  EXPECT_EQ(types, Value(ValueObject{{"n", "null"},
                                     {"t", "boolean"},
                                     {"i", "number"},
                                     {"d", "number"},
                                     {"s", "string"},
                                     {"a", "array"},
                                     {"o", "object"},
                                     {"e", "array"},
                                     {"eo", "object"},
                                     {"arrayLength", 2},
                                     {"member", "v"}}));
}

TEST(JsSandboxValues, RoundTripKeepsEveryValue) {
  JsSandbox sandbox(limits_with());
  Value value(ValueObject{
      {"null", nullptr},
      {"bool", false},
      {"int", int64_t{-7}},
      {"big", int64_t{9007199254740992}},
      {"number", 0.25},
      {"string", "héllo 😀 中文"},
      {"empty_string", ""},
      {"empty_array", ValueArray{}},
      {"empty_object", ValueObject{}},
      {"nested", ValueArray{ValueObject{{"rows", ValueArray{ValueArray{1, 2}, ValueObject{}}}}}},
  });
  sandbox.set_global("v", value);
  EXPECT_EQ(run_and_get(sandbox, "", "v"), value);
}

TEST(JsSandboxValues, WholeNumbersComeBackAsIntegers) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, R"(
    var out = {i: 3, neg: -12, whole: 2.0, third: 1 / 3, big: 1e20, max: 9007199254740992,
               past: 9007199254740994, negzero: -0, product: 0.1 * 3};
  )",
                          "out");
  EXPECT_TRUE(out.find("i")->is_integer());
  EXPECT_EQ(out.find("i")->as_integer(), 3);
  EXPECT_EQ(out.find("neg")->as_integer(), -12);
  EXPECT_TRUE(out.find("whole")->is_integer());
  EXPECT_EQ(out.find("max")->as_integer(), int64_t{9007199254740992});
  EXPECT_EQ(out.find("negzero")->as_integer(), 0);
  EXPECT_EQ(out.find("third")->type(), Value::Type::Number);
  EXPECT_EQ(out.find("big")->type(), Value::Type::Number);
  EXPECT_EQ(out.find("big")->as_number(), 1e20);
  EXPECT_EQ(out.find("past")->type(), Value::Type::Number);
  EXPECT_EQ(out.find("product")->type(), Value::Type::Number);
}

TEST(JsSandboxValues, IntegersAndNumbersBothArriveAsNumbers) {
  JsSandbox sandbox(limits_with());
  sandbox.set_global("i", Value(int64_t{5}));
  sandbox.set_global("d", Value(5.0));
  Value same = run_and_get(sandbox, "var same = i === d && i + 0.5 === 5.5;", "same");
  EXPECT_EQ(same, Value(true));
}

TEST(JsSandboxValues, UnicodeStringsAreUtf16InsideAndUtf8Outside) {
  JsSandbox sandbox(limits_with());
  sandbox.set_global("s", Value("é😀"));
  Value out = run_and_get(sandbox, R"(
    var out = {
      length: s.length,                          // é is one unit, 😀 is a surrogate pair
      equal: s === '\u00e9\uD83D\uDE00' && s === 'é😀',
      literal: '中文 😀',
      escaped: '\uD83D\uDE00',
      lone: '\uD800x',
    };
    out[s] = 'key';
  )",
                          "out");
  EXPECT_EQ(*out.find("length"), Value(3));
  EXPECT_EQ(*out.find("equal"), Value(true));
  EXPECT_EQ(*out.find("literal"), Value("中文 😀"));
  EXPECT_EQ(*out.find("escaped"), Value("😀"));
  EXPECT_EQ(*out.find("lone"), Value("\xEF\xBF\xBDx"));
  EXPECT_EQ(*out.find("é😀"), Value("key"));
}

TEST(JsSandboxValues, UndefinedIsDroppedInObjectsAndNullElsewhere) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, R"(
    var holes = [1]; holes[2] = 3;
    var out = {gone: undefined, kept: null, list: [undefined, 1], holes: holes};
  )",
                          "out");
  EXPECT_EQ(out, Value(ValueObject{{"kept", nullptr},
                                   {"list", ValueArray{nullptr, 1}},
                                   {"holes", ValueArray{1, nullptr, 3}}}));
  EXPECT_EQ(run_and_get(sandbox, "", "notDefinedAnywhere"), Value(nullptr));
}

TEST(JsSandboxValues, OnlyOwnEnumerablePropertiesLeave) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, R"(
    Object.prototype.inherited = 'no';
    var out = Object.create({fromProto: 1});
    out.own = 1;
    Object.defineProperty(out, 'hidden', {value: 2, enumerable: false});
    var list = [1, 2]; list.extra = 'ignored';
    out.list = list;
  )",
                          "out");
  EXPECT_EQ(out, Value(ValueObject{{"own", 1}, {"list", ValueArray{1, 2}}}));
}

TEST(JsSandboxValues, DatesLeaveAsTheirJson) {
  JsSandbox sandbox(limits_with());
  Value out =
      run_and_get(sandbox, "var out = {when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5))};", "out");
  EXPECT_EQ(*out.find("when"), Value("2024-01-02T03:04:05.000Z"));
}

TEST(JsSandboxValues, ProtoKeyBecomesAnOwnProperty) {
  JsSandbox sandbox(limits_with());
  sandbox.set_global("v", Value(ValueObject{{"__proto__", ValueObject{{"polluted", true}}}}));
  Value out = run_and_get(sandbox, R"(
    var out = {own: Object.prototype.hasOwnProperty.call(v, '__proto__'),
               polluted: v.polluted === true || ({}).polluted === true};
  )",
                          "out");
  EXPECT_EQ(out, Value(ValueObject{{"own", true}, {"polluted", false}}));
}

TEST(JsSandboxValues, PushValueAndGetValueWorkOnTheStack) {
  JsSandbox sandbox(limits_with());
  duk_context* ctx = sandbox.context();
  Value value(ValueObject{{"rows", ValueArray{1, 2.5, "x"}}});
  duk_idx_t top = duk_get_top(ctx);
  sandbox.push_value(value);
  EXPECT_EQ(duk_get_top(ctx), top + 1);
  auto back = sandbox.get_value(-1, "value");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, value);
  EXPECT_EQ(duk_get_top(ctx), top + 1);
  duk_pop(ctx);
}

// --- refusals ------------------------------------------------------------------

TEST(JsSandboxValues, FunctionsAreRefusedWithTheirPath) {
  JsSandbox sandbox(limits_with());
  Status status = status_of(sandbox, R"(
    var outputs = {rows: [{}, {}, {}, {f: function () {}}]};
  )");
  EXPECT_EQ(status.code(), "script_output");
  EXPECT_EQ(status.message(),
            "outputs.rows[3].f is a function; only JSON values can leave a script");
}

TEST(JsSandboxValues, OddKeysAreQuotedInThePath) {
  JsSandbox sandbox(limits_with());
  Status status = status_of(sandbox, R"(var outputs = {'a b': {'0x': [Math.max]}};)");
  EXPECT_EQ(status.message(),
            "outputs[\"a b\"][\"0x\"][0] is a function; only JSON values can leave a script");
}

TEST(JsSandboxValues, CyclesAreRefused) {
  JsSandbox sandbox(limits_with());
  Status status = status_of(sandbox, "var outputs = {a: {b: []}}; outputs.a.b.push(outputs.a);");
  EXPECT_EQ(status.code(), "script_output");
  EXPECT_EQ(status.message(), "outputs.a.b[0] is a circular reference");
}

TEST(JsSandboxValues, SharedButAcyclicValuesAreFine) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, "var x = {v: 1}; var out = [x, x, {y: x}];", "out");
  Value x(ValueObject{{"v", 1}});
  EXPECT_EQ(out, Value(ValueArray{x, x, ValueObject{{"y", x}}}));
}

TEST(JsSandboxValues, NonFiniteNumbersAreRefused) {
  JsSandbox sandbox(limits_with());
  EXPECT_EQ(status_of(sandbox, "var outputs = {x: [0 / 0]};").message(),
            "outputs.x[0] is NaN; only finite numbers can leave a script");
  EXPECT_EQ(status_of(sandbox, "var outputs = {y: -1 / 0};").message(),
            "outputs.y is Infinity; only finite numbers can leave a script");
}

TEST(JsSandboxValues, SymbolsAndBuffersAreRefused) {
  JsSandbox sandbox(limits_with());
  EXPECT_EQ(status_of(sandbox, "var outputs = {s: Symbol('x')};").message(),
            "outputs.s is a symbol; only JSON values can leave a script");
  EXPECT_EQ(status_of(sandbox, "var outputs = {b: new Uint8Array(2)};").message(),
            "outputs.b is a buffer; only JSON values can leave a script");
}

TEST(JsSandboxValues, OutputsLargerThanTheLimitAreRefused) {
  JsSandbox sandbox(limits_with(5s, 64u << 20, 1000));
  Value fits = run_and_get(sandbox, "var fits = {s: new Array(900).join('a')};", "fits");
  EXPECT_EQ(fits.find("s")->as_string().size(), 899u);
  Status status = status_of(sandbox, "var outputs = {s: new Array(1001).join('a')};");
  EXPECT_EQ(status.code(), "script_output");
  EXPECT_EQ(status.message(), "outputs is larger than the output limit of 1000 bytes (as JSON)");
  // A huge sparse array stops at the limit instead of walking every hole.
  status = status_of(sandbox, "var outputs = []; outputs[4000000000] = 1;");
  EXPECT_EQ(status.code(), "script_output");
}

TEST(JsSandboxValues, NestingIsLimitedTo64Levels) {
  JsSandbox sandbox(limits_with());
  auto nested = [](int levels) {
    return "var outputs = 1; for (var i = 0; i < " + std::to_string(levels) +
           "; ++i) outputs = {a: outputs};";
  };
  ASSERT_FALSE(sandbox.run(nested(64), "test.js"));
  EXPECT_TRUE(sandbox.get_global("outputs").ok());
  Status status = status_of(sandbox, nested(65));
  EXPECT_EQ(status.code(), "script_output");
  EXPECT_NE(status.message().find("nests deeper than 64 levels"), std::string::npos)
      << status.message();
  EXPECT_EQ(status.message().rfind("outputs.a.a.", 0), 0u) << status.message();
}

TEST(JsSandboxValues, AThrowingGetterFailsTheConversionWithItsPath) {
  JsSandbox sandbox(limits_with());
  Status status = status_of(sandbox, R"(
    var outputs = {list: [{get x() { throw new TypeError('no x'); }}]};
  )");
  EXPECT_EQ(status.code(), "script_error");
  EXPECT_EQ(status.message(), "outputs.list[0].x: TypeError: no x");
}

// --- errors ------------------------------------------------------------------

TEST(JsSandboxErrors, AThrownErrorGivesItsMessageAndLine) {
  JsSandbox sandbox(limits_with());
  auto failure = sandbox.run("var a = 1;\n\nthrow new Error('boom');\n", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->message, "Error: boom");
  EXPECT_EQ(failure->line, 3);
}

TEST(JsSandboxErrors, ARuntimeTypeErrorGivesItsLine) {
  JsSandbox sandbox(limits_with());
  auto failure =
      sandbox.run("(function execute(inputs, outputs) {\n  var x;\n  x.y = 1;\n})();", "step.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->message.rfind("TypeError: ", 0), 0u) << failure->message;
  EXPECT_EQ(failure->line, 3);
}

TEST(JsSandboxErrors, ThrowingANonErrorGivesItsString) {
  JsSandbox sandbox(limits_with());
  auto failure = sandbox.run("throw 'plain ' + 42;", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->message, "plain 42");
  EXPECT_EQ(failure->line, 0);
}

TEST(JsSandboxErrors, AnErrorWhoseToStringThrowsIsStillDescribed) {
  JsSandbox sandbox(limits_with());
  auto failure = sandbox.run("throw {toString: function () { throw 1; }};", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_FALSE(failure->message.empty());
}

TEST(JsSandboxErrors, SyntaxErrorsGiveTheirLine) {
  auto failure = check_script_syntax("var a = 1;\nvar b = ;\nvar c = 3;\n");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->line, 2);
  EXPECT_EQ(failure->message.rfind("SyntaxError: ", 0), 0u) << failure->message;

  failure = check_script_syntax("var a = 1;\n\n\nvar s = 'unterminated");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->line, 4);

  EXPECT_FALSE(check_script_syntax(
      "(function execute(inputs, outputs) { outputs.x = inputs.y; })(inputs, outputs);"));
  EXPECT_FALSE(check_script_syntax("#!/usr/bin/env flowline\nvar a = 1;"));
  EXPECT_FALSE(check_script_syntax("while (true) {}"));  // compiled, never run
}

TEST(JsSandboxErrors, RunReportsSyntaxErrorsWithTheirLine) {
  JsSandbox sandbox(limits_with());
  auto failure = sandbox.run("var ok = 1;\nvar ok2 = 2;\nfunction (", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->line, 3);
  EXPECT_EQ(failure->message.rfind("SyntaxError: ", 0), 0u) << failure->message;
}

// --- limits ------------------------------------------------------------------

TEST(JsSandboxLimits, AnEndlessLoopIsStoppedAtTheTimeLimit) {
  JsSandbox sandbox(limits_with(200ms));
  auto started = std::chrono::steady_clock::now();
  auto failure = sandbox.run("var i = 0;\nwhile (true) { i++; }\n", "test.js");
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_timeout");
  EXPECT_EQ(failure->message, "the script ran longer than its time limit of 200 ms");
  EXPECT_GE(failure->line, 1);  // wherever the loop was interrupted
  EXPECT_LE(failure->line, 2);
  EXPECT_TRUE(sandbox.timed_out());
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 3s);
}

TEST(JsSandboxLimits, CatchingTheTimeoutDoesNotKeepAScriptAlive) {
  JsSandbox sandbox(limits_with(200ms));
  auto started = std::chrono::steady_clock::now();
  auto failure = sandbox.run(R"(
    var caught = 0;
    while (true) {
      try { while (true) {} } catch (e) { caught++; } finally { while (true) {} }
    }
  )",
                             "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_timeout");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST(JsSandboxLimits, ASandboxRunsAgainAfterATimeout) {
  JsSandbox sandbox(limits_with(200ms));
  ASSERT_TRUE(sandbox.run("while (true) {}", "test.js"));
  EXPECT_FALSE(sandbox.run("var after = 1 + 1;", "test.js"));
  EXPECT_FALSE(sandbox.timed_out());
}

TEST(JsSandboxLimits, AMemoryBombIsStoppedAtTheMemoryLimit) {
  JsSandbox sandbox(limits_with(30s, 16u << 20));
  auto failure = sandbox.run(R"(
    var list = [];
    for (var i = 0; ; i++) list.push('item number ' + i + ' of a list that grows forever');
  )",
                             "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_memory");
  EXPECT_EQ(failure->message, "the script needed more memory than its limit of 16 MiB");
  EXPECT_TRUE(sandbox.out_of_memory());
  EXPECT_FALSE(sandbox.timed_out());

  // The process goes on: a new sandbox runs normally.
  JsSandbox next(limits_with());
  EXPECT_EQ(run_and_get(next, "var x = [1, 2, 3].length;", "x"), Value(3));
}

TEST(JsSandboxLimits, CatchingOutOfMemoryStillFailsTheScript) {
  JsSandbox sandbox(limits_with(30s, 16u << 20));
  auto failure = sandbox.run(R"(
    var s = 'x';
    try { while (true) s = s + s; } catch (e) { s = null; }
    var done = true;
  )",
                             "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_memory");
}

TEST(JsSandboxLimits, ScriptsThatFitAreNotBlamedForGarbage) {
  // Far more garbage (with cycles, freed only by mark-and-sweep) than the
  // limit, but little alive at once.
  JsSandbox sandbox(limits_with(30s, 16u << 20));
  Value n = run_and_get(sandbox, R"(
    var n = 0;
    for (var i = 0; i < 200000; i++) {
      var a = {name: 'node ' + i, pad: new Array(20).join('pad')};
      a.self = a;
      n++;
    }
  )",
                        "n");
  EXPECT_EQ(n, Value(200000));
  EXPECT_FALSE(sandbox.out_of_memory());
}

TEST(JsSandboxLimits, InputsLargerThanTheMemoryLimitFailTheRun) {
  JsSandbox sandbox(limits_with(5s, 16u << 20));
  sandbox.set_global("inputs", Value(ValueObject{{"big", std::string(20u << 20, 'x')}}));
  auto failure = sandbox.run("var x = 1;", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_memory");
  EXPECT_EQ(sandbox.run("var x = 1;", "test.js"), std::nullopt);  // reported once
}

TEST(JsSandboxLimits, ATooSmallMemoryLimitIsReportedNotFatal) {
  JsSandbox sandbox(limits_with(5s, 1024));
  EXPECT_EQ(sandbox.context(), nullptr);
  sandbox.set_global("inputs", Value(1));
  auto failure = sandbox.run("var x = 1;", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_memory");
}

TEST(JsSandboxLimits, RunawayRecursionIsAnErrorNotACrash) {
  JsSandbox sandbox(limits_with());
  auto failure = sandbox.run("function f(n) { return f(n + 1) + 1; }\nf(0);", "test.js");
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->code, "script_error");
  EXPECT_EQ(failure->message.rfind("RangeError: ", 0), 0u) << failure->message;
}

TEST(JsSandboxLimits, AFinalizerThatLoopsDoesNotHoldUpDestruction) {
  auto started = std::chrono::steady_clock::now();
  {
    JsSandbox sandbox(limits_with(60s));
    ASSERT_FALSE(sandbox.run("var keep = {}; Duktape.fin(keep, function () { while (true) {} });",
                             "test.js"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
}

// --- the global object --------------------------------------------------------

TEST(JsSandboxGlobals, NothingPrintsOrLoadsModules) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, R"(
    var out = [typeof print, typeof alert, typeof require, typeof Duktape.modSearch,
               typeof Duktape.modLoaded, typeof module, typeof exports, typeof setTimeout];
  )",
                          "out");
  Value undefined_string("undefined");
  EXPECT_EQ(out, Value(ValueArray(8, undefined_string)));
}

TEST(JsSandboxGlobals, TheLanguageIsThere) {
  JsSandbox sandbox(limits_with());
  Value out = run_and_get(sandbox, R"(
    var out = {
      json: JSON.parse('{"a":[1,2]}').a[1],
      regexp: /b+/.exec('abbbc')[0],
      math: Math.floor(7.9),
      keys: Object.keys({x: 1, y: 2}).join(),
    };
  )",
                          "out");
  EXPECT_EQ(out, Value(ValueObject{{"json", 2}, {"regexp", "bbb"}, {"math", 7}, {"keys", "x,y"}}));
}

// --- threads -------------------------------------------------------------------

TEST(JsSandboxThreads, TwoSandboxesRunOnTwoThreadsAtOnce) {
  Value results[2];
  auto work = [&results](int which) {
    JsSandbox sandbox(limits_with(30s));
    sandbox.set_global("seed", Value(which));
    auto failure = sandbox.run(R"(
      var total = 0, parts = [];
      for (var i = 0; i < 300000; i++) { total += (i % 7) * (seed + 1); }
      for (var j = 0; j < 2000; j++) parts.push('p' + j);
      var outputs = {total: total, joined: parts.length};
    )",
                               "thread.js");
    if (failure) return;
    auto value = sandbox.get_global("outputs");
    if (value.ok()) results[which] = *value;
  };
  std::thread first(work, 0);
  std::thread second(work, 1);
  first.join();
  second.join();
  // sum over i of (i % 7) for i < 300000 is 899997.
  EXPECT_EQ(results[0], Value(ValueObject{{"total", 899997}, {"joined", 2000}}));
  EXPECT_EQ(results[1], Value(ValueObject{{"total", 899997 * 2}, {"joined", 2000}}));
}

TEST(JsSandboxThreads, TimeLimitsOnTwoThreadsAreIndependent) {
  std::optional<ScriptFailure> slow_failure, fast_failure;
  std::thread slow([&] {
    JsSandbox sandbox(limits_with(300ms));
    slow_failure = sandbox.run("while (true) {}", "slow.js");
  });
  std::thread fast([&] {
    JsSandbox sandbox(limits_with(10s));
    fast_failure = sandbox.run("var n = 0; for (var i = 0; i < 100000; i++) n += i;", "fast.js");
  });
  slow.join();
  fast.join();
  ASSERT_TRUE(slow_failure);
  EXPECT_EQ(slow_failure->code, "script_timeout");
  EXPECT_FALSE(fast_failure);
}

}  // namespace
