// The AST of the pill language: the expression inside `{{ … }}`.
//
// Built once by dsl/pill_parser when definitions load, then evaluated many
// times by the runtime. Nodes are immutable after parsing and shared
// (shared_ptr<const Expr>) so definitions stay cheap to copy.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "definitions/source.h"
#include "definitions/value.h"

namespace flowline {

enum class ExprKind {
  Literal,      // literal: number, string, true, false, null
  List,         // [args…]
  Root,         // name: inputs, steps, vars, error, session, run, or a loop name (`as`)
  Member,       // args[0] . name
  Index,        // args[0] [ args[1] ]
  Unary,        // unary_op args[0]
  Binary,       // args[0] binary_op args[1]
  Conditional,  // args[0] ? args[1] : args[2]
  Call,         // builtin(args…)
};

enum class UnaryOp { Not, Negate };

enum class BinaryOp {
  Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual,
  And, Or, Add, Subtract, Multiply, Divide, Modulo,
  Coalesce,  // a ?? b
  In,        // a in b
};

// The built-in functions of DESIGN.md §2, resolved by name at parse time.
enum class Builtin {
  Length, Upper, Lower, Trim, Contains, StartsWith, EndsWith, Join, Split, Keys,
  Default, ToInt, ToNumber, ToString, Json, ParseJson, UrlEncode, Now,
};

struct Expr {
  ExprKind kind = ExprKind::Literal;
  SourceRange range;                 // the expression's text in its file
  Value literal;                     // Literal
  std::string name;                  // Root, Member: the identifier; Call: the function name
  UnaryOp unary_op = UnaryOp::Not;   // Unary
  BinaryOp binary_op = BinaryOp::Equal;  // Binary
  Builtin builtin = Builtin::Length; // Call
  std::vector<std::shared_ptr<const Expr>> args;
};

using ExprPtr = std::shared_ptr<const Expr>;

}  // namespace flowline
