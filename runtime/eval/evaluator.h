// Evaluating data pills: pre-parsed Expr trees against the values a step can
// see. Evaluation never parses; it only walks the tree built at load time.
//
// Thread-safety: evaluate() and render() keep no shared state (apart from the
// clock of now(), see set_eval_clock_for_testing), so any number of threads may
// evaluate at once, over shared trees and shared scope values.
//
// Semantics, where docs/language.md §5 leaves room:
//
// Roots. inputs, steps, vars, error, session and run read the EvalScope field
// of that name; a null pointer there reads as null. Any other name is a loop
// item from EvalScope::loop_items, the innermost (last) one of that name; a
// name found nowhere is an error.
//
// Member `a.b`: the member of an object, or null when it has none; null.b is
// null, so chains are null-safe (`steps.x.body.result ?? []`). Reading a member
// of anything else (array, string, number, boolean) is an error — length() is
// the way to measure.
//
// Index `a[i]`: arrays by a whole number (an integer, or a number without a
// fraction); negative counts from the end; out of range is null. Objects by a
// string (missing: null). Strings by a whole number, counting code points; the
// result is that one-character string, or null when out of range. null[i] is
// null. Any other pairing is an error.
//
// Arithmetic. Two integers give an integer; an overflow is an error, never a
// wrap. A number on either side makes the result a number. `/` of two integers
// stays an integer when the division is exact (7 / 2 is 3.5, 6 / 2 is 3). `%`
// takes the sign of the dividend (-7 % 3 is -1), as in C and JavaScript.
// Division or remainder by zero (integer or number) is an error, as is a
// number result too large to be finite. `+` with a string on either side joins
// the display strings ('n=' + 5 is "n=5"); `+` of two arrays concatenates
// them. Every other pairing is an error naming both types.
//
// Comparison. `==` and `!=` compare deeply and never fail: 1 == 1.0 is true,
// values of different types are unequal, integers and numbers compare exactly
// (no rounding through double). `<`, `<=`, `>`, `>=` order two numbers or two
// strings (by bytes, so by code point for UTF-8); anything else is an error.
// `a in b`: an element of array b (deep equality), a substring of string b, a
// key of object b; a non-string looked up in a string or object, or any b of
// another type (null included), is an error.
//
// Logic. `&&`, `||` and `!` give booleans, by is_truthy, and `&&`/`||`
// evaluate their right side only when needed; `c ? a : b` picks by is_truthy;
// `a ?? b` is a unless a is null (b is then evaluated).
//
// Functions (arities are fixed by the parser):
//   length(v)         code points of a string, items of an array, keys of an
//                     object; length(null) is 0.
//   upper/lower(s)    ASCII letters only; other bytes (UTF-8) stay as they are.
//   trim(s)           ASCII whitespace (space, \t \n \v \f \r) at both ends.
//   contains(h, n)    as `n in h`.
//   starts_with(s, p), ends_with(s, p)   two strings.
//   join(a, sep)      the display strings of a's items between sep (a string).
//   split(s, sep)     the pieces of s between each sep; an empty sep splits
//                     into code points (split('', '') is []; split('', ',') is
//                     ['']).
//   keys(o)           the object's keys, sorted by bytes.
//   default(v, f)     f when v is null or "" (f is evaluated only then).
//   to_int(v)         integers as they are; numbers truncated toward zero (an
//                     error when out of the 64-bit range); strings of decimal
//                     digits with an optional leading '-', nothing else (no
//                     spaces, '+', fraction or exponent); booleans 0 and 1.
//   to_number(v)      always a number (floating point): from integers and
//                     numbers; strings in JSON number syntax, nothing around
//                     it; booleans 0.0 and 1.0.
//   to_string(v)      the display string.
//   json(v)           compact JSON (Value::to_json).
//   parse_json(s)     see parse_json_value.
//   url_encode(v)     a string, number or boolean, percent-encoded: RFC 3986
//                     unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every
//                     other byte becomes %XX (upper-case hex).
//   now()             the current time, ISO 8601 UTC with milliseconds:
//                     "2026-11-29T19:30:00.123Z".
// Other argument types are errors naming the function and what it expects.
// Code points are counted on UTF-8; a byte that does not begin a well-formed
// sequence counts as one character.
//
// Errors are Status{"expression_error", message}; the message names the
// operation and quotes the sub-expression that failed, as written in the
// definition when its source is known ("cannot add an object and an integer
// in 'inputs.a + 1'"). Nothing throws out of evaluate or render.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/expression.h"
#include "definitions/template.h"
#include "definitions/value.h"
#include "runtime/status.h"

namespace flowline {

// Named limits of evaluation. The depth of an expression is bounded when it
// is parsed (PillLimits::kMaxNestingDepth).
struct EvalLimits {
  // The largest string `+`, join, split, url_encode, to_string, json or an
  // interpolated template may produce: "result too large".
  static constexpr size_t kMaxResultBytes = 16 * 1024 * 1024;
  // The most items `+` of two arrays or split may produce: "result too large".
  static constexpr size_t kMaxResultItems = 1024 * 1024;
  // How deep parse_json lets arrays and objects nest: "nests deeper than".
  static constexpr int kMaxJsonDepth = 256;
  // How much of an expression an error message quotes before eliding the rest.
  static constexpr size_t kMaxQuotedBytes = 120;
};

// What pills can see at one point of a run. Pointers are borrowed and must
// outlive the evaluation; a null pointer reads as null.
struct EvalScope {
  const Value* inputs = nullptr;   // inputs.<name>
  const Value* steps = nullptr;    // steps.<id>.<output>
  const Value* vars = nullptr;     // vars.<name>
  const Value* error = nullptr;    // error.code / .message / .step (inside catch)
  const Value* session = nullptr;  // session.user
  const Value* run = nullptr;      // run.id
  // Loop items by their `as` name, innermost last.
  std::vector<std::pair<std::string_view, const Value*>> loop_items;
};

// Evaluates one expression. A failure (a type error, division by zero, a
// builtin given the wrong kind of value) is a Status with code
// "expression_error" and a message that quotes the offending sub-expression.
Result<Value> evaluate(const Expr& expr, const EvalScope& scope);

// Renders a template: exactly one pill keeps the value's type; otherwise each
// pill is rendered into the string (see to_display_string). A template with no
// parts (empty, or one whose pill failed to parse) renders as its source text.
Result<Value> render(const Template& tmpl, const EvalScope& scope);
// Renders a value as written: literals as they are, templated strings by
// render(Template), arrays and objects item by item. The first failure wins.
Result<Value> render(const ValueTemplate& value, const EvalScope& scope);

// How a value reads inside a string: strings as-is, null as "", booleans and
// integers as JSON, arrays and objects as compact JSON (Value::to_json).
// Numbers in the shortest form that reads back to the same double, with a
// fraction or an exponent so they still read as numbers: 2.5, 5.0, 100000.0,
// and as JavaScript prints them below 1e-6 (1e-7) and from 1e21 on (1e+21).
std::string to_display_string(const Value& value);

// The truth of a value in conditions (if, until, &&, ||, !, ?:): false, null,
// 0, 0.0, "", [] and {} are false; everything else is true.
bool is_truthy(const Value& value);

// Parses JSON text (RFC 8259) into a Value, as parse_json() does: integers
// that fit in 64 bits stay integers, other numbers become numbers; a repeated
// key keeps its last value; strings must be valid UTF-8. Failure is a Status
// with code "invalid_json" and a message with RapidJSON's reason and the byte
// offset ("invalid JSON at offset 3: invalid value"), or the depth limit
// (EvalLimits::kMaxJsonDepth) that was passed.
Result<Value> parse_json_value(std::string_view text);

// The text of an expression for messages: as written when its source is
// known, else rebuilt from the tree (`inputs.a + 1`); at most
// EvalLimits::kMaxQuotedBytes, elided with "…".
std::string expression_text(const Expr& expr);

// Replaces the clock now() reads, for tests; an empty function restores the
// system clock. Safe to call while other threads evaluate.
using EvalClock = std::function<std::chrono::system_clock::time_point()>;
void set_eval_clock_for_testing(EvalClock clock);

}  // namespace flowline
