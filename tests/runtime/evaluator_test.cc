#include "runtime/eval/evaluator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "dsl/pill_parser.h"

namespace flowline {
namespace {

// A JSON text as a Value, for scopes and expectations.
Value V(std::string_view json) {
  Result<Value> parsed = parse_json_value(json);
  EXPECT_TRUE(parsed.ok()) << json << ": " << parsed.status().message();
  return parsed.ok() ? parsed.value() : Value();
}

// The values every test can read. Loop items: `inc` twice (the inner one is
// {"n": 2}) and `x`.
class EvaluatorTest : public ::testing::Test {
 protected:
  EvaluatorTest() {
    scope_.inputs = &inputs_;
    scope_.steps = &steps_;
    scope_.vars = &vars_;
    scope_.error = &error_;
    scope_.session = &session_;
    scope_.run = &run_;
    scope_.loop_items = {{"inc", &outer_inc_}, {"x", &x_}, {"inc", &inner_inc_}};
  }

  // Parses `text` as a pill written at the start of a file, so error messages
  // can quote what was written.
  ExprPtr parse(std::string_view text) {
    auto file = std::make_shared<SourceFile>("test.yaml", std::string(text));
    SourceRange range{file, file->position_at(0), file->position_at(text.size())};
    Diagnostics diagnostics;
    ExprPtr expr = parse_expression(text, range, 0, diagnostics);
    EXPECT_FALSE(diagnostics.has_errors()) << text << ": " << diagnostics.items()[0].message;
    return expr;
  }

  Result<Value> eval(std::string_view text) {
    ExprPtr expr = parse(text);
    if (!expr) return Status("test", "did not parse");
    return evaluate(*expr, scope_);
  }

  // The result as JSON (so 3 and 3.0 differ), or "error: <message>".
  std::string json(std::string_view text) {
    Result<Value> result = eval(text);
    if (!result.ok()) return "error: " + result.status().message();
    return result->to_json();
  }

  // The message of a failure; "" (a test failure) when it succeeds.
  std::string error(std::string_view text) {
    Result<Value> result = eval(text);
    if (result.ok()) {
      ADD_FAILURE() << text << " evaluated to " << result->to_json();
      return "";
    }
    EXPECT_EQ(result.status().code(), "expression_error") << text;
    return result.status().message();
  }

  Template tmpl(std::string text) {
    auto file = std::make_shared<SourceFile>("test.yaml", text);
    SourceRange range{file, file->position_at(0), file->position_at(text.size())};
    Diagnostics diagnostics;
    Template out = parse_template(text, range, 0, diagnostics);
    EXPECT_FALSE(diagnostics.has_errors()) << text;
    return out;
  }

  std::string rendered(std::string text) {
    Result<Value> result = render(tmpl(std::move(text)), scope_);
    if (!result.ok()) return "error: " + result.status().message();
    return result->to_json();
  }

  Value inputs_ = V(R"({"limit": 5, "flag": true, "name": "Ada", "a": {"x": 1},
      "list": [1, 2, 3], "text": "h\u00e9llo", "empty": "", "nothing": null,
      "json_text": "{\"a\": [1, 2.5, \"x\", true, null]}"})");
  Value steps_ = V(R"({"fetch": {"status_code": 200,
      "headers": {"content-type": "application/json"},
      "body": {"result": [{"n": 1}, {"n": 2}]}}, "get": {"count": 4}})");
  Value vars_ = V(R"({"seen": 2, "half": 0.5, "big": 9223372036854775807,
      "small": -9223372036854775808})");
  Value error_ = V(R"({"code": "http_404", "message": "Not Found", "step": "fetch"})");
  Value session_ = V(R"({"user": "alice"})");
  Value run_ = V(R"({"id": "run-1"})");
  Value outer_inc_ = V(R"({"n": 1})");
  Value x_ = Value(10);
  Value inner_inc_ = V(R"({"n": 2})");
  EvalScope scope_;
};

// ---- Roots, members, indexes ----------------------------------------------------

TEST_F(EvaluatorTest, RootsReadTheScope) {
  EXPECT_EQ(json("inputs.limit"), "5");
  EXPECT_EQ(json("steps.get.count"), "4");
  EXPECT_EQ(json("vars.seen"), "2");
  EXPECT_EQ(json("error.code"), R"("http_404")");
  EXPECT_EQ(json("session.user"), R"("alice")");
  EXPECT_EQ(json("run.id"), R"("run-1")");
  EXPECT_EQ(json("inputs.a"), R"({"x":1})");
}

TEST_F(EvaluatorTest, MissingScopeFieldsReadAsNull) {
  scope_ = EvalScope{};
  EXPECT_EQ(json("inputs"), "null");
  EXPECT_EQ(json("inputs.limit"), "null");
  EXPECT_EQ(json("error.message ?? 'none'"), R"("none")");
}

TEST_F(EvaluatorTest, InnermostLoopNameWins) {
  EXPECT_EQ(json("inc.n"), "2");
  EXPECT_EQ(json("x"), "10");
  scope_.loop_items.pop_back();
  EXPECT_EQ(json("inc.n"), "1");
  scope_.loop_items.emplace_back("y", nullptr);
  EXPECT_EQ(json("y"), "null");
}

TEST_F(EvaluatorTest, UnknownRootIsAnError) {
  EXPECT_EQ(error("item.n"),
            "unknown name 'item': a pill starts from inputs, steps, vars, error, session, run or "
            "the name of an enclosing loop");
}

TEST_F(EvaluatorTest, MembersAreNullSafe) {
  EXPECT_EQ(json("inputs.missing"), "null");
  EXPECT_EQ(json("steps.missing.body.result"), "null");
  EXPECT_EQ(json("steps.missing.body.result ?? []"), "[]");
  EXPECT_EQ(json("inputs.nothing.deeper.still"), "null");
  EXPECT_EQ(json("steps.fetch.body.result[1].n"), "2");
  // A member of a value computed on the way.
  EXPECT_EQ(json("parse_json(inputs.json_text).a[2]"), R"("x")");
  EXPECT_EQ(json("(inputs.flag ? inputs.a : null).x"), "1");
}

TEST_F(EvaluatorTest, MembersOfNonObjectsAreErrors) {
  EXPECT_EQ(error("inputs.list.b"), "cannot read 'b' of an array in 'inputs.list.b'");
  EXPECT_EQ(error("inputs.name.length"),
            "cannot read 'length' of a string: write length(inputs.name) in "
            "'inputs.name.length'");
  EXPECT_EQ(error("steps.fetch.body.result.length"),
            "cannot read 'length' of an array: write length(steps.fetch.body.result) in "
            "'steps.fetch.body.result.length'");
  EXPECT_EQ(json("parse_json('{\"length\": 3}').length"), "3");
  EXPECT_EQ(error("inputs.limit.x"), "cannot read 'x' of an integer in 'inputs.limit.x'");
  EXPECT_EQ(error("inputs.flag.x"), "cannot read 'x' of a boolean in 'inputs.flag.x'");
  EXPECT_EQ(error("vars.half.x"), "cannot read 'x' of a number in 'vars.half.x'");
}

TEST_F(EvaluatorTest, MemberAccessSharesTheScopesStorage) {
  Result<Value> result = eval("steps.fetch.body.result");
  ASSERT_TRUE(result.ok());
  const Value* original = steps_.find("fetch")->find("body")->find("result");
  EXPECT_EQ(&result->as_array(), &original->as_array());
}

TEST_F(EvaluatorTest, ArrayIndexes) {
  EXPECT_EQ(json("inputs.list[0]"), "1");
  EXPECT_EQ(json("inputs.list[2]"), "3");
  EXPECT_EQ(json("inputs.list[-1]"), "3");
  EXPECT_EQ(json("inputs.list[-3]"), "1");
  EXPECT_EQ(json("inputs.list[3]"), "null");
  EXPECT_EQ(json("inputs.list[-4]"), "null");
  EXPECT_EQ(json("inputs.list[1.0]"), "2");
  EXPECT_EQ(json("inputs.list[vars.seen]"), "3");
  EXPECT_EQ(json("inputs.list[9223372036854775807]"), "null");
  EXPECT_EQ(json("inputs.list[-9223372036854775808]"), "null");
  EXPECT_EQ(json("[[1, 2], [3]][0][1]"), "2");
  EXPECT_EQ(error("inputs.list[1.5]"),
            "cannot index an array with the number 1.5 in 'inputs.list[1.5]'");
  EXPECT_EQ(error("inputs.list['a']"), "cannot index an array with a string in 'inputs.list['a']'");
  EXPECT_EQ(error("inputs.list[null]"), "cannot index an array with null in 'inputs.list[null]'");
}

TEST_F(EvaluatorTest, ObjectIndexes) {
  EXPECT_EQ(json("steps.fetch.headers['content-type']"), R"("application/json")");
  EXPECT_EQ(json("inputs.a['missing']"), "null");
  EXPECT_EQ(json("inputs['na' + 'me']"), R"("Ada")");
  EXPECT_EQ(error("inputs.a[0]"), "cannot index an object with an integer in 'inputs.a[0]'");
}

TEST_F(EvaluatorTest, StringIndexesCountCodePoints) {
  EXPECT_EQ(json("inputs.text[0]"), R"("h")");
  EXPECT_EQ(json("inputs.text[1]"), "\"\xC3\xA9\"");
  EXPECT_EQ(json("inputs.text[2]"), R"("l")");
  EXPECT_EQ(json("inputs.text[-1]"), R"("o")");
  EXPECT_EQ(json("inputs.text[-5]"), R"("h")");
  EXPECT_EQ(json("inputs.text[5]"), "null");
  EXPECT_EQ(json("inputs.text[-6]"), "null");
  EXPECT_EQ(json("''[0]"), "null");
  EXPECT_EQ(error("inputs.text['a']"), "cannot index a string with a string in 'inputs.text['a']'");
}

TEST_F(EvaluatorTest, IndexesOfNullAndScalars) {
  EXPECT_EQ(json("inputs.nothing[0]"), "null");
  EXPECT_EQ(json("inputs.nothing['x']"), "null");
  EXPECT_EQ(json("inputs.missing[0].n"), "null");
  EXPECT_EQ(error("inputs.limit[0]"), "cannot index an integer in 'inputs.limit[0]'");
  EXPECT_EQ(error("true[0]"), "cannot index a boolean in 'true[0]'");
  EXPECT_EQ(error("inputs.list[1 / 0]"), "division by zero in '1 / 0'");
}

// ---- Arithmetic -------------------------------------------------------------------

TEST_F(EvaluatorTest, IntegerArithmeticStaysInteger) {
  EXPECT_EQ(json("vars.seen + 1"), "3");
  EXPECT_EQ(json("10 - 20"), "-10");
  EXPECT_EQ(json("6 * 7"), "42");
  EXPECT_EQ(json("6 / 2"), "3");
  EXPECT_EQ(json("-6 / 3"), "-2");
  EXPECT_EQ(json("7 / 2"), "3.5");
  EXPECT_EQ(json("1 / 3"), "0.3333333333333333");
  EXPECT_EQ(json("7 % 3"), "1");
  EXPECT_EQ(json("-7 % 3"), "-1");
  EXPECT_EQ(json("7 % -3"), "1");
  EXPECT_EQ(json("vars.small % -1"), "0");
  EXPECT_EQ(json("vars.small / 1"), "-9223372036854775808");
  EXPECT_EQ(json("(vars.seen + 1) * 2 - 1"), "5");
}

TEST_F(EvaluatorTest, NumbersWidenTheResult) {
  EXPECT_EQ(json("1 + 2.5"), "3.5");
  EXPECT_EQ(json("2.5 + 0.5"), "3.0");
  EXPECT_EQ(json("6.0 / 2"), "3.0");
  EXPECT_EQ(json("vars.half * 4"), "2.0");
  EXPECT_EQ(json("7.5 % 2"), "1.5");
  EXPECT_EQ(json("-vars.half"), "-0.5");
  EXPECT_EQ(json("-inputs.limit"), "-5");
}

TEST_F(EvaluatorTest, IntegerOverflowIsAnError) {
  EXPECT_EQ(error("vars.big + 1"),
            "integer overflow: 9223372036854775807 + 1 is out of the 64-bit range in "
            "'vars.big + 1'");
  EXPECT_EQ(error("vars.small - 1"),
            "integer overflow: -9223372036854775808 - 1 is out of the 64-bit range in "
            "'vars.small - 1'");
  EXPECT_EQ(error("vars.big * 2"),
            "integer overflow: 9223372036854775807 * 2 is out of the 64-bit range in "
            "'vars.big * 2'");
  EXPECT_EQ(error("vars.small / -1"),
            "integer overflow: -9223372036854775808 / -1 is out of the 64-bit range in "
            "'vars.small / -1'");
  EXPECT_EQ(error("-vars.small"),
            "integer overflow: -(-9223372036854775808) is out of the 64-bit range in "
            "'-vars.small'");
  EXPECT_EQ(error("- -9223372036854775808"),
            "integer overflow: -(-9223372036854775808) is out of the 64-bit range in "
            "'- -9223372036854775808'");
  EXPECT_EQ(json("vars.big - 1 + 1"), "9223372036854775807");
}

TEST_F(EvaluatorTest, DivisionByZeroIsAnError) {
  EXPECT_EQ(error("1 / 0"), "division by zero in '1 / 0'");
  EXPECT_EQ(error("1 / 0.0"), "division by zero in '1 / 0.0'");
  EXPECT_EQ(error("1.5 / (vars.seen - 2)"), "division by zero in '1.5 / (vars.seen - 2)'");
  EXPECT_EQ(error("1 / ( (vars.seen - 2) )"), "division by zero in '1 / ( (vars.seen - 2) )'");
  EXPECT_EQ(error("(1 + 1) / ( 0 )"), "division by zero in '(1 + 1) / ( 0 )'");
  EXPECT_EQ(error("(vars.seen - 2) * ')'"),
            "cannot multiply an integer by a string in '(vars.seen - 2) * ')''");
  EXPECT_EQ(error("1 % 0"), "remainder by zero in '1 % 0'");
  EXPECT_EQ(error("2.5 % 0.0"), "remainder by zero in '2.5 % 0.0'");
}

TEST_F(EvaluatorTest, NumberOverflowIsAnError) {
  EXPECT_EQ(error("1e308 * 10"), "number overflow: the result is not finite in '1e308 * 10'");
  EXPECT_EQ(error("-1e308 - 1e308"),
            "number overflow: the result is not finite in '-1e308 - 1e308'");
}

TEST_F(EvaluatorTest, PlusJoinsStringsAndArrays) {
  EXPECT_EQ(json("'n=' + 5"), R"("n=5")");
  EXPECT_EQ(json("5 + 'x'"), R"("5x")");
  EXPECT_EQ(json("'a' + null"), R"("a")");
  EXPECT_EQ(json("'v' + 2.5 + true"), R"("v2.5true")");
  EXPECT_EQ(json("'list: ' + inputs.list"), R"("list: [1,2,3]")");
  EXPECT_EQ(json("1 + 2 + 'x'"), R"("3x")");
  EXPECT_EQ(json("[1] + [2, 'three']"), R"([1,2,"three"])");
  EXPECT_EQ(json("[] + []"), "[]");
  EXPECT_EQ(json("inputs.list + inputs.list"), "[1,2,3,1,2,3]");
}

TEST_F(EvaluatorTest, ArithmeticTypeErrorsNameBothTypes) {
  EXPECT_EQ(error("inputs.a + 1"), "cannot add an object and an integer in 'inputs.a + 1'");
  EXPECT_EQ(error("[1] + 1"), "cannot add an array and an integer in '[1] + 1'");
  EXPECT_EQ(error("null + null"), "cannot add null and null in 'null + null'");
  EXPECT_EQ(error("1 - 'a'"), "cannot subtract a string from an integer in '1 - 'a''");
  EXPECT_EQ(error("[1] * 2"), "cannot multiply an array by an integer in '[1] * 2'");
  EXPECT_EQ(error("inputs.nothing / 2"),
            "cannot divide null by an integer in 'inputs.nothing / 2'");
  EXPECT_EQ(error("true % 2"),
            "cannot take the remainder of a boolean divided by an integer in 'true % 2'");
  EXPECT_EQ(error("-'a'"), "cannot negate a string in '-'a''");
}

// ---- Comparison, membership, logic --------------------------------------------

TEST_F(EvaluatorTest, EqualityIsDeepAndNeverFails) {
  EXPECT_EQ(json("1 == 1.0"), "true");
  EXPECT_EQ(json("1 == '1'"), "false");
  EXPECT_EQ(json("null == null"), "true");
  EXPECT_EQ(json("null == false"), "false");
  EXPECT_EQ(json("[1, [2]] == [1, [2.0]]"), "true");
  EXPECT_EQ(json("[1, 2] == [2, 1]"), "false");
  EXPECT_EQ(json("inputs.a == parse_json('{\"x\": 1.0}')"), "true");
  EXPECT_EQ(json("inputs.a == parse_json('{\"y\": 1}')"), "false");
  EXPECT_EQ(json("inputs.a != parse_json('{\"x\": 1, \"y\": 2}')"), "true");
  EXPECT_EQ(json("inputs.name != 'Ada'"), "false");
  EXPECT_EQ(json("inputs.list == inputs.list"), "true");
  // Exact across integer and number: 2^53 + 1 is not the double 2^53.
  EXPECT_EQ(json("9007199254740993 == 9007199254740992.0"), "false");
  EXPECT_EQ(json("9007199254740992 == 9007199254740992.0"), "true");
  EXPECT_EQ(json("vars.big == 9223372036854775807"), "true");
  EXPECT_EQ(json("vars.big == 9223372036854775807.0"), "false");
}

TEST_F(EvaluatorTest, OrderingNumbersAndStrings) {
  EXPECT_EQ(json("1 < 2"), "true");
  EXPECT_EQ(json("2 <= 2"), "true");
  EXPECT_EQ(json("3 > 2.5"), "true");
  EXPECT_EQ(json("2.5 >= 3"), "false");
  EXPECT_EQ(json("steps.get.count > 3 && inputs.flag"), "true");
  EXPECT_EQ(json("9007199254740993 > 9007199254740992.0"), "true");
  EXPECT_EQ(json("-9223372036854775808 < -9223372036854775807.0"), "false");
  EXPECT_EQ(json("vars.big < 1e19"), "true");
  EXPECT_EQ(json("vars.small > -1e19"), "true");
  EXPECT_EQ(json("'a' < 'b'"), "true");
  EXPECT_EQ(json("'B' < 'a'"), "true");  // by bytes
  EXPECT_EQ(json("'ab' > 'a'"), "true");
  EXPECT_EQ(json("inputs.text[1] > 'z'"), "true");  // U+00E9 sorts after ASCII
}

TEST_F(EvaluatorTest, OrderingOtherTypesIsAnError) {
  EXPECT_EQ(error("'a' < 1"), "cannot compare a string with an integer using '<' in ''a' < 1'");
  EXPECT_EQ(error("null >= 1"), "cannot compare null with an integer using '>=' in 'null >= 1'");
  EXPECT_EQ(error("[1] > [0]"), "cannot compare an array with an array using '>' in '[1] > [0]'");
  EXPECT_EQ(error("true <= false"),
            "cannot compare a boolean with a boolean using '<=' in 'true <= false'");
}

TEST_F(EvaluatorTest, InLooksInArraysStringsAndObjects) {
  EXPECT_EQ(json("2 in [1, 2]"), "true");
  EXPECT_EQ(json("2.0 in inputs.list"), "true");
  EXPECT_EQ(json("'x' in ['y']"), "false");
  EXPECT_EQ(json("[1] in [[1], 2]"), "true");
  EXPECT_EQ(json("'ell' in 'hello'"), "true");
  EXPECT_EQ(json("'' in 'hello'"), "true");
  EXPECT_EQ(json("'xyz' in 'hello'"), "false");
  EXPECT_EQ(json("'content-type' in steps.fetch.headers"), "true");
  EXPECT_EQ(json("'etag' in steps.fetch.headers"), "false");
  EXPECT_EQ(error("1 in 'abc'"), "cannot look for an integer in a string in '1 in 'abc''");
  EXPECT_EQ(error("1 in inputs.a"), "cannot look for an integer in an object in '1 in inputs.a'");
  EXPECT_EQ(error("'a' in inputs.tags"),
            "cannot look for a string in null in ''a' in inputs.tags'");
  EXPECT_EQ(json("'a' in (inputs.tags ?? [])"), "false");
}

TEST_F(EvaluatorTest, LogicReturnsBooleansAndShortCircuits) {
  EXPECT_EQ(json("true && 1"), "true");
  EXPECT_EQ(json("'a' && ''"), "false");
  EXPECT_EQ(json("0 || ''"), "false");
  EXPECT_EQ(json("0 || 'x'"), "true");
  EXPECT_EQ(json("!0"), "true");
  EXPECT_EQ(json("!'x'"), "false");
  EXPECT_EQ(json("!inputs.missing"), "true");
  EXPECT_EQ(json("!!inputs.list"), "true");
  EXPECT_EQ(json("true || 1 / 0"), "true");
  EXPECT_EQ(json("false && 1 / 0"), "false");
  EXPECT_EQ(error("1 && 1 / 0"), "division by zero in '1 / 0'");
  EXPECT_EQ(error("0 || 1 / 0"), "division by zero in '1 / 0'");
}

TEST_F(EvaluatorTest, ConditionalAndCoalesce) {
  EXPECT_EQ(json("inputs.limit > 3 ? 'big' : 'small'"), R"("big")");
  EXPECT_EQ(json("[] ? 1 : 2"), "2");
  EXPECT_EQ(json("inputs.missing ? 1 : inputs.flag ? 2 : 3"), "2");
  EXPECT_EQ(json("true ? 1 : 1 / 0"), "1");
  EXPECT_EQ(json("false ? 1 / 0 : 2"), "2");
  EXPECT_EQ(json("inputs.nothing ?? 'x'"), R"("x")");
  EXPECT_EQ(json("inputs.empty ?? 'x'"), R"("")");
  EXPECT_EQ(json("0 ?? 1"), "0");
  EXPECT_EQ(json("false ?? 1"), "false");
  EXPECT_EQ(json("1 ?? 1 / 0"), "1");
  EXPECT_EQ(json("inputs.a ?? 1"), R"({"x":1})");
}

TEST_F(EvaluatorTest, ListsEvaluateTheirItems) {
  EXPECT_EQ(json("[inputs.limit, 'a', [vars.seen + 1], null]"), R"([5,"a",[3],null])");
  EXPECT_EQ(error("[1, 2 - 'x']"), "cannot subtract a string from an integer in '2 - 'x''");
}

// ---- Functions ------------------------------------------------------------------

TEST_F(EvaluatorTest, Length) {
  EXPECT_EQ(json("length(inputs.text)"), "5");
  EXPECT_EQ(json("length('')"), "0");
  EXPECT_EQ(json("length(steps.fetch.body.result)"), "2");
  EXPECT_EQ(json("length(inputs.a)"), "1");
  EXPECT_EQ(json("length(inputs.nothing)"), "0");
  EXPECT_EQ(json("length(inputs.missing)"), "0");
  EXPECT_EQ(error("length(5)"),
            "length() expects a string, an array or an object, got an integer in 'length(5)'");
  EXPECT_EQ(error("length(true)"),
            "length() expects a string, an array or an object, got a boolean in 'length(true)'");
}

TEST_F(EvaluatorTest, LengthCountsInvalidUtf8ByteByByte) {
  Value text(std::string("a\xFF\xC3\xA9\xE2\x82"));  // a, stray byte, é, truncated sequence
  scope_.loop_items.emplace_back("t", &text);
  EXPECT_EQ(json("length(t)"), "5");
  EXPECT_EQ(json("t[2]"), "\"\xC3\xA9\"");
  EXPECT_EQ(json("length(split(t, ''))"), "5");
}

TEST_F(EvaluatorTest, UpperLowerTrim) {
  EXPECT_EQ(json("upper(inputs.text)"), "\"H\xC3\xA9LLO\"");
  EXPECT_EQ(json("lower('\\u00c0BC')"), std::string("\"\xC3\x80") + "bc\"");
  EXPECT_EQ(json("upper('')"), R"("")");
  EXPECT_EQ(json("trim('  a b \\t\\n')"), R"("a b")");
  EXPECT_EQ(json("trim(' \\r\\n ')"), R"("")");
  EXPECT_EQ(json("upper(trim(' x ')) + '!'"), R"("X!")");
  EXPECT_EQ(error("upper(1)"), "upper() expects a string, got an integer in 'upper(1)'");
  EXPECT_EQ(error("lower(null)"), "lower() expects a string, got null in 'lower(null)'");
  EXPECT_EQ(error("trim([])"), "trim() expects a string, got an array in 'trim([])'");
}

TEST_F(EvaluatorTest, ContainsStartsWithEndsWith) {
  EXPECT_EQ(json("contains('hello', 'ell')"), "true");
  EXPECT_EQ(json("contains('hello', 'L')"), "false");
  EXPECT_EQ(json("contains(inputs.list, 2.0)"), "true");
  EXPECT_EQ(json("contains(steps.fetch.headers, 'content-type')"), "true");
  EXPECT_EQ(error("contains('abc', 1)"),
            "contains() cannot look for an integer in a string in 'contains('abc', 1)'");
  EXPECT_EQ(error("contains(null, 'a')"),
            "contains() cannot look for a string in null in 'contains(null, 'a')'");
  EXPECT_EQ(json("starts_with('INC001', 'INC')"), "true");
  EXPECT_EQ(json("starts_with('INC001', '')"), "true");
  EXPECT_EQ(json("starts_with('IN', 'INC')"), "false");
  EXPECT_EQ(json("ends_with('a@acme.example', '@acme.example')"), "true");
  EXPECT_EQ(json("ends_with('a@acme.example', 'acme')"), "false");
  EXPECT_EQ(error("starts_with(1, 'a')"),
            "starts_with() expects two strings, got an integer and a string in "
            "'starts_with(1, 'a')'");
  EXPECT_EQ(error("ends_with('a', null)"),
            "ends_with() expects two strings, got a string and null in 'ends_with('a', null)'");
}

TEST_F(EvaluatorTest, JoinAndSplit) {
  EXPECT_EQ(json("join([1, 'a', null, true, 2.5], ', ')"), R"("1, a, , true, 2.5")");
  EXPECT_EQ(json("join([], ',')"), R"("")");
  EXPECT_EQ(json("join([[1], parse_json('{}')], '')"), R"("[1]{}")");
  EXPECT_EQ(error("join('x', ',')"),
            "join() expects an array and a string, got a string and a string in "
            "'join('x', ',')'");
  EXPECT_EQ(error("join([1], 0)"),
            "join() expects an array and a string, got an array and an integer in "
            "'join([1], 0)'");
  EXPECT_EQ(json("split('a,b,,c', ',')"), R"(["a","b","","c"])");
  EXPECT_EQ(json("split('a--b--', '--')"), R"(["a","b",""])");
  EXPECT_EQ(json("split('abc', ',')"), R"(["abc"])");
  EXPECT_EQ(json("split('', ',')"), R"([""])");
  EXPECT_EQ(json("split(inputs.text, '')"), "[\"h\",\"\xC3\xA9\",\"l\",\"l\",\"o\"]");
  EXPECT_EQ(json("split('', '')"), "[]");
  EXPECT_EQ(json("join(split('a b c', ' '), '+')"), R"("a+b+c")");
  EXPECT_EQ(error("split(1, ',')"),
            "split() expects two strings, got an integer and a string in 'split(1, ',')'");
}

TEST_F(EvaluatorTest, KeysAndDefault) {
  EXPECT_EQ(json("keys(parse_json('{\"b\": 1, \"a\": 2, \"B\": 3}'))"), R"(["B","a","b"])");
  EXPECT_EQ(json("keys(parse_json('{}'))"), "[]");
  EXPECT_EQ(error("keys([1])"), "keys() expects an object, got an array in 'keys([1])'");
  EXPECT_EQ(json("default(inputs.nothing, 10)"), "10");
  EXPECT_EQ(json("default(inputs.missing, 10)"), "10");
  EXPECT_EQ(json("default(inputs.empty, 'x')"), R"("x")");
  EXPECT_EQ(json("default(0, 1)"), "0");
  EXPECT_EQ(json("default(false, 1)"), "false");
  EXPECT_EQ(json("default([], 1)"), "[]");
  EXPECT_EQ(json("default(inputs.limit, 1 / 0)"), "5");  // the fallback is not evaluated
  EXPECT_EQ(error("default(null, 1 / 0)"), "division by zero in '1 / 0'");
}

TEST_F(EvaluatorTest, ToInt) {
  EXPECT_EQ(json("to_int(7)"), "7");
  EXPECT_EQ(json("to_int(3.9)"), "3");
  EXPECT_EQ(json("to_int(-3.9)"), "-3");
  EXPECT_EQ(json("to_int(9.2e18)"), "9200000000000000000");
  EXPECT_EQ(json("to_int('42')"), "42");
  EXPECT_EQ(json("to_int('-7')"), "-7");
  EXPECT_EQ(json("to_int('007')"), "7");
  EXPECT_EQ(json("to_int('-9223372036854775808')"), "-9223372036854775808");
  EXPECT_EQ(json("to_int(true)"), "1");
  EXPECT_EQ(json("to_int(false)"), "0");
  EXPECT_EQ(json("to_int(steps.fetch.headers['content-length'] ?? '0')"), "0");
  EXPECT_EQ(error("to_int(1e19)"),
            "to_int(): 10000000000000000000.0 is out of the integer range in "
            "'to_int(1e19)'");
  EXPECT_EQ(error("to_int(-9.3e18)"),
            "to_int(): -9300000000000000000.0 is out of the integer range in "
            "'to_int(-9.3e18)'");
  EXPECT_EQ(error("to_int('99999999999999999999')"),
            "to_int(): \"99999999999999999999\" is out of the integer range in "
            "'to_int('99999999999999999999')'");
  EXPECT_EQ(error("to_int('4.2')"),
            "to_int(): \"4.2\" is not an integer (decimal digits with an optional leading '-') "
            "in 'to_int('4.2')'");
  for (const char* bad : {"' 42'", "'42 '", "'+1'", "''", "'-'", "'0x10'", "'1e3'", "'abc'"}) {
    EXPECT_NE(error(std::string("to_int(") + bad + ")").find("is not an integer"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(error("to_int(null)"),
            "to_int() expects a number, a string or a boolean, got null in 'to_int(null)'");
  EXPECT_EQ(error("to_int([1])"),
            "to_int() expects a number, a string or a boolean, got an array in 'to_int([1])'");
}

TEST_F(EvaluatorTest, ToNumber) {
  EXPECT_EQ(json("to_number(5)"), "5.0");
  EXPECT_EQ(json("to_number(2.5)"), "2.5");
  EXPECT_EQ(json("to_number('2.5')"), "2.5");
  EXPECT_EQ(json("to_number('42')"), "42.0");
  EXPECT_EQ(json("to_string(to_number('-1e3'))"), R"("-1000.0")");
  EXPECT_EQ(json("to_number('1E-400')"), "0.0");
  EXPECT_EQ(json("to_number(true)"), "1.0");
  EXPECT_EQ(error("to_number('1e400')"),
            "to_number(): \"1e400\" is out of the number range in 'to_number('1e400')'");
  for (const char* bad : {"'.5'", "'5.'", "' 1'", "'1 '", "'+1'", "''", "'NaN'", "'inf'", "'01'",
                          "'0x1'", "'1e'", "'abc'"}) {
    EXPECT_NE(error(std::string("to_number(") + bad + ")").find("is not a number"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(error("to_number(null)"),
            "to_number() expects a number, a string or a boolean, got null in 'to_number(null)'");
}

TEST_F(EvaluatorTest, ToStringAndJson) {
  EXPECT_EQ(json("to_string(steps.fetch.status_code)"), R"("200")");
  EXPECT_EQ(json("to_string(null)"), R"("")");
  EXPECT_EQ(json("to_string('x')"), R"("x")");
  EXPECT_EQ(json("to_string(2.5)"), R"("2.5")");
  EXPECT_EQ(json("to_string(inputs.list)"), R"("[1,2,3]")");
  EXPECT_EQ(json("json('a')"), R"("\"a\"")");
  EXPECT_EQ(json("json(null)"), R"("null")");
  EXPECT_EQ(json("json(inputs.a)"), R"("{\"x\":1}")");
  EXPECT_EQ(json("parse_json(json(steps.fetch.body)) == steps.fetch.body"), "true");
}

TEST_F(EvaluatorTest, ParseJsonBuiltin) {
  EXPECT_EQ(json("parse_json(inputs.json_text)"), R"({"a":[1,2.5,"x",true,null]})");
  EXPECT_EQ(json("parse_json(inputs.json_text).a[0] + 1"), "2");
  EXPECT_EQ(error("parse_json('{\"a\":}')"),
            "parse_json(): invalid JSON at offset 5: invalid value in 'parse_json('{\"a\":}')'");
  EXPECT_EQ(error("parse_json(5)"),
            "parse_json() expects a string, got an integer in "
            "'parse_json(5)'");
}

TEST_F(EvaluatorTest, UrlEncode) {
  EXPECT_EQ(json("url_encode('a b&c/\xC3\xA9~-._')"), R"("a%20b%26c%2F%C3%A9~-._")");
  EXPECT_EQ(json("url_encode('100%')"), R"("100%25")");
  EXPECT_EQ(json("url_encode('')"), R"("")");
  EXPECT_EQ(json("url_encode(42)"), R"("42")");
  EXPECT_EQ(json("url_encode(true)"), R"("true")");
  EXPECT_EQ(error("url_encode(null)"),
            "url_encode() expects a string, a number or a boolean, got null in "
            "'url_encode(null)'");
}

TEST_F(EvaluatorTest, NowReadsTheReplaceableClock) {
  using namespace std::chrono;
  auto fixed = sys_days{year{2026} / November / 29} + hours{19} + minutes{30} + seconds{0} +
               milliseconds{123} + microseconds{999};
  set_eval_clock_for_testing([fixed] { return system_clock::time_point(fixed); });
  EXPECT_EQ(json("now()"), R"("2026-11-29T19:30:00.123Z")");
  set_eval_clock_for_testing(
      [] { return system_clock::time_point(sys_days{year{1969} / December / 31}) - 1ms; });
  EXPECT_EQ(json("now()"), R"("1969-12-30T23:59:59.999Z")");
  set_eval_clock_for_testing(nullptr);
  Result<Value> real = eval("now()");
  ASSERT_TRUE(real.ok());
  ASSERT_TRUE(real->is_string());
  EXPECT_TRUE(std::regex_match(real->as_string(),
                               std::regex(R"(20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d\d\dZ)")))
      << real->as_string();
}

// ---- parse_json_value -------------------------------------------------------------

TEST(ParseJsonValue, KeepsIntegersThatFit) {
  auto type_of = [](std::string_view text) { return parse_json_value(text)->type(); };
  EXPECT_EQ(type_of("9223372036854775807"), Value::Type::Integer);
  EXPECT_EQ(type_of("-9223372036854775808"), Value::Type::Integer);
  EXPECT_EQ(type_of("9223372036854775808"), Value::Type::Number);
  EXPECT_EQ(type_of("-0"), Value::Type::Integer);
  EXPECT_EQ(type_of("1.0"), Value::Type::Number);
  EXPECT_EQ(type_of("1e2"), Value::Type::Number);
  EXPECT_EQ(parse_json_value("0.1")->as_number(), 0.1);
  EXPECT_EQ(parse_json_value("1e-400")->as_number(), 0.0);
}

TEST(ParseJsonValue, ReadsEveryKind) {
  Result<Value> value = parse_json_value(
      R"( {"s": "\u00e9\ud83d\ude00\n", "a": [true, false, null, {}], "n": -1.5, "a2": []} )");
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(value->to_json(),
            "{\"a\":[true,false,null,{}],\"a2\":[],\"n\":-1.5,"
            "\"s\":\"\xC3\xA9\xF0\x9F\x98\x80\\n\"}");
  EXPECT_EQ(parse_json_value(R"({"a": 1, "a": 2})")->to_json(), R"({"a":2})");
  EXPECT_EQ(parse_json_value(R"("a\u0000b")")->as_string(), std::string("a\0b", 3));
}

TEST(ParseJsonValue, ReportsWhereTheTextIsInvalid) {
  auto message = [](std::string_view text) {
    Result<Value> value = parse_json_value(text);
    EXPECT_FALSE(value.ok()) << text;
    EXPECT_EQ(value.status().code(), "invalid_json");
    return value.status().message();
  };
  EXPECT_EQ(message(""), "invalid JSON at offset 0: the document is empty");
  EXPECT_EQ(message("{\"a\":}"), "invalid JSON at offset 5: invalid value");
  EXPECT_EQ(message("[1] x"),
            "invalid JSON at offset 4: the document root must not be followed "
            "by other values");
  EXPECT_EQ(message("[1,]"), "invalid JSON at offset 3: invalid value");
  EXPECT_EQ(message("[1e400]"), "invalid JSON at offset 1: number 1e400 is out of range");
  EXPECT_EQ(message("[-1" + std::string(400, '0') + "]"),
            "invalid JSON at offset 1: number -1" + std::string(118, '0') + " is out of range");
  EXPECT_EQ(message(std::string("1 \0 2", 5)),
            "invalid JSON at offset 2: unexpected NUL character");
  EXPECT_EQ(message("\"\xFF\""), "invalid JSON at offset 1: invalid encoding in string");
  EXPECT_EQ(message("{'a': 1}"), "invalid JSON at offset 1: missing a name for object member");
}

TEST(ParseJsonValue, LimitsNesting) {
  std::string deepest =
      std::string(EvalLimits::kMaxJsonDepth, '[') + std::string(EvalLimits::kMaxJsonDepth, ']');
  EXPECT_TRUE(parse_json_value(deepest).ok());
  std::string too_deep = "[" + deepest + "]";
  Result<Value> value = parse_json_value(too_deep);
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().message(), "JSON nests deeper than 256 levels at offset 256");
  // Far deeper input stops at the limit too, without exhausting the stack.
  std::string bomb = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_FALSE(parse_json_value(bomb).ok());
  std::string objects;
  for (int i = 0; i < 300; ++i) objects += "{\"a\":";
  EXPECT_EQ(parse_json_value(objects).status().message(),
            "JSON nests deeper than 256 levels at offset 1280");
}

// ---- Limits -------------------------------------------------------------------------

TEST_F(EvaluatorTest, ResultsHaveASizeLimit) {
  Value half(std::string(EvalLimits::kMaxResultBytes / 2 + 1, 'x'));
  scope_.loop_items.emplace_back("half", &half);
  EXPECT_EQ(error("half + half"),
            "result too large: the string would be 16777218 bytes; the limit is 16777216 in "
            "'half + half'");
  EXPECT_EQ(error("half + 1 + half"),
            "result too large: the string would be 16777219 bytes; the limit is 16777216 in "
            "'half + 1 + half'");
  EXPECT_NE(error("join([half, half], '')").find("result too large"), std::string::npos);
  Value spaces(std::string(EvalLimits::kMaxResultBytes / 3 + 1, ' '));
  scope_.loop_items.emplace_back("spaces", &spaces);
  EXPECT_EQ(error("url_encode(spaces)"),
            "result too large: the string would be 16777218 bytes; the limit is 16777216 in "
            "'url_encode(spaces)'");
  EXPECT_EQ(json("length(half + '')"), std::to_string(EvalLimits::kMaxResultBytes / 2 + 1));

  Result<Value> interpolated = render(tmpl("{{ half }}{{ half }}"), scope_);
  ASSERT_FALSE(interpolated.ok());
  EXPECT_NE(interpolated.status().message().find("result too large"), std::string::npos);

  Value many(ValueArray(EvalLimits::kMaxResultItems / 2 + 1, Value(1)));
  scope_.loop_items.emplace_back("many", &many);
  EXPECT_EQ(error("many + many"),
            "result too large: the array would have 1048578 items; the limit is 1048576 in "
            "'many + many'");
  EXPECT_EQ(json("length(many + [])"), std::to_string(EvalLimits::kMaxResultItems / 2 + 1));
  Value commas(std::string(EvalLimits::kMaxResultItems, ','));
  scope_.loop_items.emplace_back("commas", &commas);
  EXPECT_NE(error("split(commas, ',')").find("the array would have 1048577 items"),
            std::string::npos);
  EXPECT_NE(error("split(commas + ',', '')").find("the array would have 1048577 items"),
            std::string::npos);
}

// ---- Rendering ---------------------------------------------------------------------

TEST_F(EvaluatorTest, SinglePillKeepsItsType) {
  EXPECT_EQ(rendered("{{ inputs.limit }}"), "5");
  EXPECT_EQ(rendered("{{ steps.fetch.body.result }}"), R"([{"n":1},{"n":2}])");
  EXPECT_EQ(rendered("{{inputs.nothing}}"), "null");
  EXPECT_EQ(rendered("{{ vars.seen + 1 }}"), "3");
}

TEST_F(EvaluatorTest, TextAroundPillsMakesAString) {
  EXPECT_EQ(rendered("{{ inputs.limit }} items"), R"("5 items")");
  EXPECT_EQ(rendered(" {{ inputs.limit }}"), R"(" 5")");
  EXPECT_EQ(rendered("{{ inputs.limit }}{{ inputs.limit }}"), R"("55")");
  EXPECT_EQ(rendered("a{{ inputs.name }}b{{ inputs.nothing }}c{{ inputs.list }}"),
            R"("aAdabc[1,2,3]")");
  EXPECT_EQ(rendered("use {{ '{{' }} name }} here"), R"("use {{ name }} here")");
  EXPECT_EQ(rendered("half is {{ vars.half }}, ok={{ inputs.flag }}"), R"("half is 0.5, ok=true")");
  EXPECT_EQ(rendered("x {{ 1 / 0 }} y"), "error: division by zero in '1 / 0'");
}

TEST_F(EvaluatorTest, LiteralTemplates) {
  EXPECT_EQ(rendered("no pill here"), R"("no pill here")");
  EXPECT_EQ(rendered(""), R"("")");
  EXPECT_EQ(rendered("}} and { are text"), R"("}} and { are text")");
  // A template whose pill failed to parse has no parts: its text as written.
  Template broken;
  broken.source = "{{ oops";
  EXPECT_EQ(render(broken, scope_)->to_json(), R"("{{ oops")");
}

TEST_F(EvaluatorTest, RenderValueTemplates) {
  ValueTemplate literal;
  literal.literal = Value(7);
  ValueTemplate typed;
  typed.kind = ValueTemplate::Kind::Template;
  typed.tmpl = tmpl("{{ inputs.limit }}");
  ValueTemplate text;
  text.kind = ValueTemplate::Kind::Template;
  text.tmpl = tmpl("limit={{ inputs.limit }}");
  ValueTemplate list;
  list.kind = ValueTemplate::Kind::Array;
  list.items = {typed, literal, text};
  ValueTemplate object;
  object.kind = ValueTemplate::Kind::Object;
  object.fields = {{"z", list}, {"a", typed}, {"empty", ValueTemplate{}}};
  Result<Value> value = render(object, scope_);
  ASSERT_TRUE(value.ok()) << value.status().message();
  EXPECT_EQ(value->to_json(), R"({"a":5,"empty":null,"z":[5,7,"limit=5"]})");

  ValueTemplate failing;
  failing.kind = ValueTemplate::Kind::Template;
  failing.tmpl = tmpl("{{ inputs.a + 1 }}");
  object.fields.push_back({"bad", failing});
  Result<Value> failed = render(object, scope_);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), "expression_error");
  EXPECT_EQ(failed.status().message(), "cannot add an object and an integer in 'inputs.a + 1'");
}

// ---- Display strings, truthiness ---------------------------------------------------

TEST(DisplayString, EveryType) {
  EXPECT_EQ(to_display_string(Value()), "");
  EXPECT_EQ(to_display_string(Value(true)), "true");
  EXPECT_EQ(to_display_string(Value(false)), "false");
  EXPECT_EQ(to_display_string(Value(42)), "42");
  EXPECT_EQ(to_display_string(Value(int64_t{-9223372036854775807 - 1})), "-9223372036854775808");
  EXPECT_EQ(to_display_string(Value("text {{ as is }}")), "text {{ as is }}");
  EXPECT_EQ(to_display_string(V(R"([1, "a", null])")), R"([1,"a",null])");
  EXPECT_EQ(to_display_string(V(R"({"b": {}, "a": []})")), R"({"a":[],"b":{}})");
}

TEST(DisplayString, NumbersReadAsNumbers) {
  EXPECT_EQ(to_display_string(Value(2.5)), "2.5");
  EXPECT_EQ(to_display_string(Value(5.0)), "5.0");
  EXPECT_EQ(to_display_string(Value(-0.5)), "-0.5");
  EXPECT_EQ(to_display_string(Value(0.0)), "0.0");
  EXPECT_EQ(to_display_string(Value(0.1)), "0.1");
  EXPECT_EQ(to_display_string(Value(100000.0)), "100000.0");
  EXPECT_EQ(to_display_string(Value(123456789012.5)), "123456789012.5");
  EXPECT_EQ(to_display_string(Value(0.000001)), "0.000001");
  EXPECT_EQ(to_display_string(Value(1e-7)), "1e-7");
  EXPECT_EQ(to_display_string(Value(1.5e-7)), "1.5e-7");
  EXPECT_EQ(to_display_string(Value(1e21)), "1e+21");
  EXPECT_EQ(to_display_string(Value(-1.25e300)), "-1.25e+300");
  EXPECT_EQ(to_display_string(Value(1e20)), "100000000000000000000.0");
}

TEST(Truthiness, Table) {
  EXPECT_FALSE(is_truthy(Value()));
  EXPECT_FALSE(is_truthy(Value(false)));
  EXPECT_FALSE(is_truthy(Value(0)));
  EXPECT_FALSE(is_truthy(Value(0.0)));
  EXPECT_FALSE(is_truthy(Value(-0.0)));
  EXPECT_FALSE(is_truthy(Value("")));
  EXPECT_FALSE(is_truthy(Value(ValueArray{})));
  EXPECT_FALSE(is_truthy(Value(ValueObject{})));
  EXPECT_TRUE(is_truthy(Value(true)));
  EXPECT_TRUE(is_truthy(Value(-1)));
  EXPECT_TRUE(is_truthy(Value(0.001)));
  EXPECT_TRUE(is_truthy(Value("0")));
  EXPECT_TRUE(is_truthy(Value("false")));
  EXPECT_TRUE(is_truthy(Value(ValueArray{Value()})));
  EXPECT_TRUE(is_truthy(V(R"({"a": null})")));
}

// ---- Messages -----------------------------------------------------------------------

TEST_F(EvaluatorTest, MessagesQuoteThePillOnOneLine) {
  EXPECT_EQ(error("inputs.a\n   +\t1"), "cannot add an object and an integer in 'inputs.a + 1'");
}

TEST_F(EvaluatorTest, MessagesRebuildTheTextWhenTheSourceIsUnknown) {
  Diagnostics diagnostics;
  ExprPtr expr = parse_expression("inputs.a  +  1", SourceRange{}, UINT32_MAX, diagnostics);
  ASSERT_TRUE(expr);
  Result<Value> result = evaluate(*expr, scope_);
  EXPECT_EQ(result.status().message(), "cannot add an object and an integer in 'inputs.a + 1'");

  // A pill in a string with escapes: every range is the whole string.
  auto file = std::make_shared<SourceFile>("t.yaml", "key: \"{{ inputs.a + 1 }}\\t\"\n");
  SourceRange whole{file, file->position_at(5), file->position_at(27)};
  Template escaped = parse_template("{{ inputs.a + 1 }}\t", whole, UINT32_MAX, diagnostics);
  ASSERT_FALSE(diagnostics.has_errors());
  EXPECT_EQ(render(escaped, scope_).status().message(),
            "cannot add an object and an integer in 'inputs.a + 1'");
}

TEST(ExpressionText, RebuildsMinimalParentheses) {
  auto rebuilt = [](std::string_view text) {
    Diagnostics diagnostics;
    ExprPtr expr = parse_expression(text, SourceRange{}, UINT32_MAX, diagnostics);
    EXPECT_TRUE(expr) << text;
    return expr ? expression_text(*expr) : std::string();
  };
  EXPECT_EQ(rebuilt("(vars.a + vars.b) * -vars.c[0].d"), "(vars.a + vars.b) * -vars.c[0].d");
  EXPECT_EQ(rebuilt("a - (b - c)"), "a - (b - c)");
  EXPECT_EQ(rebuilt("(a - b) - c"), "a - b - c");
  EXPECT_EQ(rebuilt("x ?? (y ?? z)"), "x ?? (y ?? z)");
  EXPECT_EQ(rebuilt("a ? b : c ? d : e"), "a ? b : c ? d : e");
  EXPECT_EQ(rebuilt("(a ? b : c) ? d : e"), "(a ? b : c) ? d : e");
  EXPECT_EQ(rebuilt("!(a == b) && c in [1, 'it\\'s', null, 2.5, true]"),
            "!(a == b) && c in [1, 'it\\'s', null, 2.5, true]");
  EXPECT_EQ(rebuilt("length(split(x, ',')) > -1"), "length(split(x, ',')) > -1");
  EXPECT_EQ(rebuilt("(-1).x"), "(-1).x");
  EXPECT_EQ(rebuilt("(a.b)[c]"), "a.b[c]");
}

TEST(ExpressionText, ElidesLongExpressions) {
  std::string text = "inputs.a";
  while (text.size() < 300) text += " + inputs.a";
  auto file = std::make_shared<SourceFile>("t.yaml", text);
  Diagnostics diagnostics;
  ExprPtr expr = parse_expression(
      text, SourceRange{file, file->position_at(0), file->position_at(text.size())}, 0,
      diagnostics);
  ASSERT_TRUE(expr);
  std::string quoted = expression_text(*expr);
  EXPECT_EQ(quoted, text.substr(0, EvalLimits::kMaxQuotedBytes) + "…");
}

TEST(Evaluate, ReportsMalformedTreesInsteadOfCrashing) {
  Expr call;
  call.kind = ExprKind::Call;
  call.name = "length";
  call.builtin = Builtin::Length;
  Result<Value> result = evaluate(call, EvalScope{});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "length() takes 1 argument, got 0 in 'length()'");
}

TEST_F(EvaluatorTest, ThreadsShareTreesAndScopes) {
  ExprPtr expr = parse("length(steps.fetch.body.result) + vars.seen + inputs.list[-1]");
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        Result<Value> value = evaluate(*expr, scope_);
        ok[t] += value.ok() && value->is_integer() && value->as_integer() == 7;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok, std::vector<int>(4, 2000));
}

}  // namespace
}  // namespace flowline
