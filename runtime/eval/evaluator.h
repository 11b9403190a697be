// Evaluating data pills: pre-parsed Expr trees against the values a step can
// see. Evaluation never parses; it only walks the tree built at load time.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/expression.h"
#include "definitions/template.h"
#include "definitions/value.h"
#include "runtime/status.h"

namespace flowline {

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
// pill is rendered into the string (see to_display_string).
Result<Value> render(const Template& tmpl, const EvalScope& scope);
Result<Value> render(const ValueTemplate& value, const EvalScope& scope);

// How a value reads inside a string: strings as-is, null as "", numbers and
// booleans as JSON, arrays and objects as compact JSON.
std::string to_display_string(const Value& value);

// The truth of a value in conditions (if, until, &&, ||, !, ?:): false, null,
// 0, "", [] and {} are false; everything else is true.
bool is_truthy(const Value& value);

}  // namespace flowline
