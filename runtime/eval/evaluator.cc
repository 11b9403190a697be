// The pill evaluator: a recursive walk over the Expr tree built at load time.
// Operands are borrowed from the scope and the tree wherever possible (see
// Operand), so `steps.fetch.body.result` copies nothing; failures are recorded
// in the Evaluation and unwound by `return false`, never by exceptions.
#include "runtime/eval/evaluator.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <system_error>

#include "dsl/utf8.h"
#include "runtime/eval/eval_internal.h"

namespace flowline {
namespace pill_eval {

const Value& null_value() {
  static const Value kNull;
  return kNull;
}

std::string_view describe_type(const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      return "null";
    case Value::Type::Boolean:
      return "a boolean";
    case Value::Type::Integer:
      return "an integer";
    case Value::Type::Number:
      return "a number";
    case Value::Type::String:
      return "a string";
    case Value::Type::Array:
      return "an array";
    case Value::Type::Object:
      return "an object";
  }
  return "a value";
}

size_t character_bytes(std::string_view text, size_t offset) {
  if (static_cast<unsigned char>(text[offset]) < 0x80) return 1;
  size_t length = utf8_sequence_length(text, offset);
  return length == 0 ? 1 : length;
}

size_t count_characters(std::string_view text) {
  size_t count = 0;
  for (size_t offset = 0; offset < text.size(); offset += character_bytes(text, offset)) ++count;
  return count;
}

namespace {

constexpr double kTwoTo63 = 9223372036854775808.0;

int compare_int_double(int64_t i, double d) {
  if (d >= kTwoTo63) return -1;
  if (d < -kTwoTo63) return 1;
  // d is in the int64 range: compare its integer part exactly, then its fraction.
  int64_t whole = static_cast<int64_t>(d);
  if (i != whole) return i < whole ? -1 : 1;
  double fraction = d - static_cast<double>(whole);
  return fraction > 0 ? -1 : fraction < 0 ? 1 : 0;
}

// Orders two numbers exactly (no rounding of large integers through double).
int compare_numbers(const Value& a, const Value& b) {
  if (a.is_integer() && b.is_integer()) {
    int64_t x = a.as_integer(), y = b.as_integer();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_integer()) return compare_int_double(a.as_integer(), b.as_number());
  if (b.is_integer()) return -compare_int_double(b.as_integer(), a.as_number());
  double x = a.as_number(), y = b.as_number();
  return x < y ? -1 : x > y ? 1 : 0;
}

// The display form of a double (see to_display_string).
void append_number(std::string& out, double d) {
  if (!std::isfinite(d)) {
    out += "null";  // as in JSON; evaluation never produces one
    return;
  }
  char buffer[400];  // fixed notation below 1e21 needs at most ~30 digits; be generous
  double magnitude = std::fabs(d);
  bool fixed = magnitude == 0 || (magnitude >= 1e-6 && magnitude < 1e21);
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, d,
                                 fixed ? std::chars_format::fixed : std::chars_format::scientific);
  if (ec != std::errc()) {
    out += Value(d).to_json();
    return;
  }
  std::string_view text(buffer, static_cast<size_t>(end - buffer));
  if (fixed) {
    out += text;
    if (text.find('.') == std::string_view::npos) out += ".0";
    return;
  }
  // "1.5e-07" -> "1.5e-7", "1e+21" stays: JavaScript's spelling.
  size_t e = text.find('e');
  out += text.substr(0, e + 2);
  std::string_view exponent = text.substr(e + 2);
  while (exponent.size() > 1 && exponent.front() == '0') exponent.remove_prefix(1);
  out += exponent;
}

void append_integer(std::string& out, int64_t i) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, i);
  out.append(buffer, end);
}

}  // namespace

bool values_equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Null:
      return true;
    case Value::Type::Boolean:
      return a.as_bool() == b.as_bool();
    case Value::Type::String:
      return a.as_string() == b.as_string();
    case Value::Type::Array: {
      const ValueArray& x = a.as_array();
      const ValueArray& y = b.as_array();
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i)
        if (!values_equal(x[i], y[i])) return false;
      return true;
    }
    case Value::Type::Object: {
      const ValueObject& x = a.as_object();
      const ValueObject& y = b.as_object();
      if (&x == &y) return true;
      if (x.size() != y.size()) return false;
      for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
        if (i->first != j->first || !values_equal(i->second, j->second)) return false;
      return true;
    }
    default:
      return false;  // numbers were handled above
  }
}

Membership find_in(const Value& haystack, const Value& needle) {
  switch (haystack.type()) {
    case Value::Type::Array:
      for (const Value& item : haystack.as_array())
        if (values_equal(item, needle)) return Membership::Present;
      return Membership::Absent;
    case Value::Type::String:
      if (!needle.is_string()) return Membership::Invalid;
      return haystack.as_string().find(needle.as_string()) != std::string::npos
                 ? Membership::Present
                 : Membership::Absent;
    case Value::Type::Object:
      if (!needle.is_string()) return Membership::Invalid;
      return haystack.find(needle.as_string()) ? Membership::Present : Membership::Absent;
    default:
      return Membership::Invalid;
  }
}

void append_display(std::string& out, const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      break;
    case Value::Type::Boolean:
      out += value.as_bool() ? "true" : "false";
      break;
    case Value::Type::Integer:
      append_integer(out, value.as_integer());
      break;
    case Value::Type::Number:
      append_number(out, value.as_number());
      break;
    case Value::Type::String:
      out += value.as_string();
      break;
    case Value::Type::Array:
    case Value::Type::Object:
      out += value.to_json();
      break;
  }
}

// ---- The tree walk ----------------------------------------------------------

bool Evaluation::fail(const Expr& at, std::string_view what) {
  if (failure_.ok())
    failure_ = Status("expression_error", fmt::format("{} in '{}'", what, expression_text(at)));
  return false;
}

bool Evaluation::fail_plain(std::string message) {
  if (failure_.ok()) failure_ = Status("expression_error", std::move(message));
  return false;
}

bool Evaluation::check_result_bytes(const Expr& at, size_t bytes) {
  if (bytes <= EvalLimits::kMaxResultBytes) return true;
  return fail(at, fmt::format("result too large: the string would be {} bytes; the limit is {}",
                              bytes, EvalLimits::kMaxResultBytes));
}

bool Evaluation::check_result_items(const Expr& at, size_t items) {
  if (items <= EvalLimits::kMaxResultItems) return true;
  return fail(at, fmt::format("result too large: the array would have {} items; the limit is {}",
                              items, EvalLimits::kMaxResultItems));
}

bool Evaluation::eval(const Expr& expr, Operand& out) {
  switch (expr.kind) {
    case ExprKind::Literal:
      out.borrow(expr.literal);
      return true;
    case ExprKind::Root:
      return root(expr, out);
    case ExprKind::Member:
      return member(expr, out);
    case ExprKind::Index:
      return index(expr, out);
    case ExprKind::Unary:
      return unary(expr, out);
    case ExprKind::Binary:
      return binary(expr, out);
    case ExprKind::Conditional: {
      Operand condition;
      if (!eval(*expr.args[0], condition)) return false;
      return eval(*expr.args[is_truthy(*condition) ? 1 : 2], out);
    }
    case ExprKind::List:
      return list(expr, out);
    case ExprKind::Call:
      return call(expr, out);
  }
  return fail(expr, "unknown kind of expression");
}

bool Evaluation::root(const Expr& expr, Operand& out) {
  const std::string& name = expr.name;
  const Value* const* field = nullptr;
  // Dispatch on the length first: this runs for every path in every pill.
  switch (name.size()) {
    case 3:
      if (name == "run") field = &scope_.run;
      break;
    case 4:
      if (name == "vars") field = &scope_.vars;
      break;
    case 5:
      if (name == "steps")
        field = &scope_.steps;
      else if (name == "error")
        field = &scope_.error;
      break;
    case 6:
      if (name == "inputs") field = &scope_.inputs;
      break;
    case 7:
      if (name == "session") field = &scope_.session;
      break;
  }
  if (field != nullptr) {
    out.borrow(*field ? **field : null_value());
    return true;
  }
  for (auto it = scope_.loop_items.rbegin(); it != scope_.loop_items.rend(); ++it) {
    if (it->first == name) {
      out.borrow(it->second ? *it->second : null_value());
      return true;
    }
  }
  return fail_plain(fmt::format(
      "unknown name '{}': a pill starts from inputs, steps, vars, error, session, run or the "
      "name of an enclosing loop",
      name));
}

bool Evaluation::member(const Expr& expr, Operand& out) {
  if (!eval(*expr.args[0], out)) return false;
  const Value& base = *out;
  if (base.is_object()) {
    const Value* found = base.find(expr.name);
    if (found == nullptr) {
      out.borrow(null_value());
    } else if (out.owns()) {
      out.set(*found);  // copied before the owner is replaced
    } else {
      out.borrow(*found);
    }
    return true;
  }
  if (base.is_null()) return true;
  if (expr.name == "length" && (base.is_array() || base.is_string())) {
    return fail(expr, fmt::format("cannot read 'length' of {}: write length({})",
                                  describe_type(base), expression_text(*expr.args[0])));
  }
  return fail(expr, fmt::format("cannot read '{}' of {}", expr.name, describe_type(base)));
}

namespace {

// A whole-number index: an integer, or a number without a fraction in range.
bool whole_index(const Value& index, int64_t* out) {
  if (index.is_integer()) {
    *out = index.as_integer();
    return true;
  }
  if (index.type() != Value::Type::Number) return false;
  double d = index.as_number();
  if (d != std::trunc(d) || d < -kTwoTo63 || d >= kTwoTo63) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

bool Evaluation::index(const Expr& expr, Operand& out) {
  if (!eval(*expr.args[0], out)) return false;
  Operand key;
  if (!eval(*expr.args[1], key)) return false;
  const Value& base = *out;
  switch (base.type()) {
    case Value::Type::Null:
      return true;
    case Value::Type::Object: {
      if (!key->is_string()) break;
      const Value* found = base.find(key->as_string());
      if (found == nullptr) {
        out.borrow(null_value());
      } else if (out.owns()) {
        out.set(*found);
      } else {
        out.borrow(*found);
      }
      return true;
    }
    case Value::Type::Array: {
      int64_t i;
      if (!whole_index(*key, &i)) break;
      const ValueArray& items = base.as_array();
      int64_t size = static_cast<int64_t>(items.size());
      if (i < 0) i += size;
      if (i < 0 || i >= size) {
        out.borrow(null_value());
      } else if (out.owns()) {
        out.set(items[static_cast<size_t>(i)]);
      } else {
        out.borrow(items[static_cast<size_t>(i)]);
      }
      return true;
    }
    case Value::Type::String: {
      int64_t i;
      if (!whole_index(*key, &i)) break;
      std::string_view text = base.as_string();
      if (i < 0) i += static_cast<int64_t>(count_characters(text));
      if (i < 0) {
        out.borrow(null_value());
        return true;
      }
      size_t offset = 0;
      for (; offset < text.size() && i > 0; --i) offset += character_bytes(text, offset);
      if (offset >= text.size()) {
        out.borrow(null_value());
      } else {
        out.set(Value(text.substr(offset, character_bytes(text, offset))));
      }
      return true;
    }
    default:
      return fail(expr, fmt::format("cannot index {}", describe_type(base)));
  }
  return fail(expr, fmt::format("cannot index {} with {}", describe_type(base),
                                key->type() == Value::Type::Number
                                    ? fmt::format("the number {}", to_display_string(*key))
                                    : std::string(describe_type(*key))));
}

bool Evaluation::unary(const Expr& expr, Operand& out) {
  if (!eval(*expr.args[0], out)) return false;
  const Value& operand = *out;
  if (expr.unary_op == UnaryOp::Not) {
    out.set(!is_truthy(operand));
    return true;
  }
  if (operand.is_integer()) {
    int64_t i = operand.as_integer();
    if (i == std::numeric_limits<int64_t>::min())
      return fail(expr, fmt::format("integer overflow: -({}) is out of the 64-bit range", i));
    out.set(-i);
    return true;
  }
  if (operand.is_number()) {
    out.set(-operand.as_number());
    return true;
  }
  return fail(expr, fmt::format("cannot negate {}", describe_type(operand)));
}

bool Evaluation::list(const Expr& expr, Operand& out) {
  ValueArray items;
  items.reserve(expr.args.size());
  for (const auto& arg : expr.args) {
    Operand item;
    if (!eval(*arg, item)) return false;
    items.push_back(item.take());
  }
  out.set(std::move(items));
  return true;
}

bool Evaluation::binary(const Expr& expr, Operand& out) {
  const BinaryOp op = expr.binary_op;
  // The operators that may leave their right side unevaluated.
  if (op == BinaryOp::And || op == BinaryOp::Or) {
    if (!eval(*expr.args[0], out)) return false;
    bool left = is_truthy(*out);
    if (left == (op == BinaryOp::Or)) {
      out.set(left);
      return true;
    }
    if (!eval(*expr.args[1], out)) return false;
    out.set(is_truthy(*out));
    return true;
  }
  if (op == BinaryOp::Coalesce) {
    if (!eval(*expr.args[0], out)) return false;
    if (!out->is_null()) return true;
    return eval(*expr.args[1], out);
  }

  if (!eval(*expr.args[0], out)) return false;
  Operand right;
  if (!eval(*expr.args[1], right)) return false;
  const Value& a = *out;
  const Value& b = *right;
  switch (op) {
    case BinaryOp::Equal:
      out.set(values_equal(a, b));
      return true;
    case BinaryOp::NotEqual:
      out.set(!values_equal(a, b));
      return true;
    case BinaryOp::Less:
    case BinaryOp::LessEqual:
    case BinaryOp::Greater:
    case BinaryOp::GreaterEqual:
      return order(expr, a, b, out);
    case BinaryOp::In: {
      Membership found = find_in(b, a);
      if (found == Membership::Invalid)
        return fail(expr,
                    fmt::format("cannot look for {} in {}", describe_type(a), describe_type(b)));
      out.set(found == Membership::Present);
      return true;
    }
    case BinaryOp::Add:
      return add(expr, a, b, out);
    default:
      return arithmetic(expr, a, b, out);
  }
}

bool Evaluation::order(const Expr& expr, const Value& a, const Value& b, Operand& out) {
  int order;
  if (a.is_number() && b.is_number()) {
    order = compare_numbers(a, b);
  } else if (a.is_string() && b.is_string()) {
    order = a.as_string().compare(b.as_string());  // char_traits<char> compares as unsigned
  } else {
    std::string_view symbol = expr.binary_op == BinaryOp::Less        ? "<"
                              : expr.binary_op == BinaryOp::LessEqual ? "<="
                              : expr.binary_op == BinaryOp::Greater   ? ">"
                                                                      : ">=";
    return fail(expr, fmt::format("cannot compare {} with {} using '{}'", describe_type(a),
                                  describe_type(b), symbol));
  }
  bool result = false;
  switch (expr.binary_op) {
    case BinaryOp::Less:
      result = order < 0;
      break;
    case BinaryOp::LessEqual:
      result = order <= 0;
      break;
    case BinaryOp::Greater:
      result = order > 0;
      break;
    default:
      result = order >= 0;
      break;
  }
  out.set(result);
  return true;
}

bool Evaluation::add(const Expr& expr, const Value& a, const Value& b, Operand& out) {
  if (a.is_string() || b.is_string()) {
    std::string text;
    if (a.is_string() && b.is_string()) {
      if (!check_result_bytes(expr, a.as_string().size() + b.as_string().size())) return false;
      text.reserve(a.as_string().size() + b.as_string().size());
    }
    append_display(text, a);
    append_display(text, b);
    if (!check_result_bytes(expr, text.size())) return false;
    out.set(std::move(text));
    return true;
  }
  if (a.is_array() && b.is_array()) {
    const ValueArray& x = a.as_array();
    const ValueArray& y = b.as_array();
    if (!check_result_items(expr, x.size() + y.size())) return false;
    ValueArray items;
    items.reserve(x.size() + y.size());
    items.insert(items.end(), x.begin(), x.end());
    items.insert(items.end(), y.begin(), y.end());
    out.set(std::move(items));
    return true;
  }
  return arithmetic(expr, a, b, out);
}

bool Evaluation::arithmetic(const Expr& expr, const Value& a, const Value& b, Operand& out) {
  const BinaryOp op = expr.binary_op;
  if (!a.is_number() || !b.is_number()) {
    std::string_view x = describe_type(a), y = describe_type(b);
    switch (op) {
      case BinaryOp::Add:
        return fail(expr, fmt::format("cannot add {} and {}", x, y));
      case BinaryOp::Subtract:
        return fail(expr, fmt::format("cannot subtract {} from {}", y, x));
      case BinaryOp::Multiply:
        return fail(expr, fmt::format("cannot multiply {} by {}", x, y));
      case BinaryOp::Divide:
        return fail(expr, fmt::format("cannot divide {} by {}", x, y));
      default:
        return fail(expr, fmt::format("cannot take the remainder of {} divided by {}", x, y));
    }
  }
  bool zero_divisor = b.is_integer() ? b.as_integer() == 0 : b.as_number() == 0.0;
  if (zero_divisor && op == BinaryOp::Divide) return fail(expr, "division by zero");
  if (zero_divisor && op == BinaryOp::Modulo) return fail(expr, "remainder by zero");

  if (a.is_integer() && b.is_integer()) {
    int64_t x = a.as_integer(), y = b.as_integer(), result = 0;
    bool overflow = false;
    std::string_view symbol;
    switch (op) {
      case BinaryOp::Add:
        overflow = __builtin_add_overflow(x, y, &result);
        symbol = "+";
        break;
      case BinaryOp::Subtract:
        overflow = __builtin_sub_overflow(x, y, &result);
        symbol = "-";
        break;
      case BinaryOp::Multiply:
        overflow = __builtin_mul_overflow(x, y, &result);
        symbol = "*";
        break;
      case BinaryOp::Divide:
        if (y == -1) {
          overflow = __builtin_sub_overflow(int64_t{0}, x, &result);
          symbol = "/";
        } else if (x % y != 0) {
          out.set(static_cast<double>(x) / static_cast<double>(y));
          return true;
        } else {
          result = x / y;
        }
        break;
      default:
        result = y == -1 ? 0 : x % y;
        break;  // INT64_MIN % -1 is undefined in C++
    }
    if (overflow)
      return fail(
          expr, fmt::format("integer overflow: {} {} {} is out of the 64-bit range", x, symbol, y));
    out.set(result);
    return true;
  }

  double x = a.as_number(), y = b.as_number(), result;
  switch (op) {
    case BinaryOp::Add:
      result = x + y;
      break;
    case BinaryOp::Subtract:
      result = x - y;
      break;
    case BinaryOp::Multiply:
      result = x * y;
      break;
    case BinaryOp::Divide:
      result = x / y;
      break;
    default:
      result = std::fmod(x, y);
      break;
  }
  if (!std::isfinite(result)) return fail(expr, "number overflow: the result is not finite");
  out.set(result);
  return true;
}

// ---- Expression text for messages ---------------------------------------------

namespace {

// Binding powers, as dsl/pill_parser.cc parses them.
enum Power : int {
  kLowest = 0,
  kConditional,
  kCoalesce,
  kOr,
  kAnd,
  kEquality,
  kComparison,
  kAdditive,
  kMultiplicative,
  kUnary,
  kPostfix,
  kPrimary,
};

Power binary_power(BinaryOp op) {
  switch (op) {
    case BinaryOp::Coalesce:
      return kCoalesce;
    case BinaryOp::Or:
      return kOr;
    case BinaryOp::And:
      return kAnd;
    case BinaryOp::Equal:
    case BinaryOp::NotEqual:
      return kEquality;
    case BinaryOp::Less:
    case BinaryOp::LessEqual:
    case BinaryOp::Greater:
    case BinaryOp::GreaterEqual:
    case BinaryOp::In:
      return kComparison;
    case BinaryOp::Add:
    case BinaryOp::Subtract:
      return kAdditive;
    default:
      return kMultiplicative;
  }
}

std::string_view binary_symbol(BinaryOp op) {
  static constexpr std::string_view kSymbols[] = {"==", "!=", "<", "<=", ">", ">=", "&&", "||",
                                                  "+",  "-",  "*", "/",  "%", "??", "in"};
  return kSymbols[static_cast<int>(op)];
}

void append_quoted(std::string& out, std::string_view text) {
  out.push_back('\'');
  for (unsigned char c : text) {
    switch (c) {
      case '\'':
        out += "\\'";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('\'');
}

// Rebuilds pill syntax from a tree, with parentheses only where needed.
void unparse(std::string& out, const Expr& expr, int min_power) {
  Power power = kPrimary;
  switch (expr.kind) {
    case ExprKind::Conditional:
      power = kConditional;
      break;
    case ExprKind::Binary:
      power = binary_power(expr.binary_op);
      break;
    case ExprKind::Unary:
      power = kUnary;
      break;
    case ExprKind::Member:
    case ExprKind::Index:
      power = kPostfix;
      break;
    case ExprKind::Literal:
      if (expr.literal.is_number() && expr.literal.as_number() < 0) power = kUnary;
      break;
    default:
      break;
  }
  bool parenthesize = power < min_power;
  if (parenthesize) out.push_back('(');
  auto arg = [&](size_t i, int power) {
    if (i < expr.args.size() && expr.args[i]) {
      unparse(out, *expr.args[i], power);
    } else {
      out += "?";
    }
  };
  switch (expr.kind) {
    case ExprKind::Literal:
      if (expr.literal.is_string()) {
        append_quoted(out, expr.literal.as_string());
      } else if (expr.literal.is_array() || expr.literal.is_object()) {
        out += expr.literal.to_json();
      } else if (expr.literal.is_null()) {
        out += "null";
      } else {
        append_display(out, expr.literal);
      }
      break;
    case ExprKind::Root:
      out += expr.name;
      break;
    case ExprKind::Member:
      arg(0, kPostfix);
      out.push_back('.');
      out += expr.name;
      break;
    case ExprKind::Index:
      arg(0, kPostfix);
      out.push_back('[');
      arg(1, kLowest);
      out.push_back(']');
      break;
    case ExprKind::Unary:
      out += expr.unary_op == UnaryOp::Not ? "!" : "-";
      arg(0, kUnary);
      break;
    case ExprKind::Binary:
      arg(0, power);
      out += fmt::format(" {} ", binary_symbol(expr.binary_op));
      arg(1, power + 1);
      break;
    case ExprKind::Conditional:
      arg(0, kConditional + 1);
      out += " ? ";
      arg(1, kConditional);
      out += " : ";
      arg(2, kConditional);
      break;
    case ExprKind::List:
    case ExprKind::Call:
      if (expr.kind == ExprKind::Call) out += expr.name;
      out.push_back(expr.kind == ExprKind::List ? '[' : '(');
      for (size_t i = 0; i < expr.args.size(); ++i) {
        if (i > 0) out += ", ";
        arg(i, kLowest);
      }
      out.push_back(expr.kind == ExprKind::List ? ']' : ')');
      break;
  }
  if (parenthesize) out.push_back(')');
}

// How many '(' of `text` stay open and how many ')' close nothing, outside
// string literals.
void count_unbalanced(std::string_view text, size_t* open, size_t* unopened) {
  *open = *unopened = 0;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++*open;
    } else if (c == ')') {
      if (*open > 0) {
        --*open;
      } else {
        ++*unopened;
      }
    }
  }
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// The written text of `expr`, when its range points at it. A pill parsed from
// text that does not stand verbatim in the file (escapes) has every range set
// to the whole string, braces included: that is not the expression's text.
std::string_view written_text(const Expr& expr) {
  const SourceRange& range = expr.range;
  if (!range.known() || !range.end.known()) return {};
  std::string_view file = range.file->text();
  size_t begin = range.begin.offset, end = range.end.offset;
  if (end <= begin || end > file.size()) return {};
  std::string_view text = file.substr(begin, end - begin);
  if (text.find("{{") != std::string_view::npos) return {};
  // A range starts and ends at its operands' own text, inside the grouping
  // parentheses of `(a + b) * 2`: take in the parentheses it leaves unpaired.
  size_t open, unopened;
  count_unbalanced(text, &open, &unopened);
  for (; open > 0; --open) {
    while (end < file.size() && is_blank(file[end])) ++end;
    if (end == file.size() || file[end] != ')') return {};
    ++end;
  }
  for (; unopened > 0; --unopened) {
    while (begin > 0 && is_blank(file[begin - 1])) --begin;
    if (begin == 0 || file[begin - 1] != '(') return {};
    --begin;
  }
  return file.substr(begin, end - begin);
}

// Whitespace runs become one space, so a pill written over lines quotes on one.
std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_space = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (space && in_space) continue;
    out.push_back(space ? ' ' : c);
    in_space = space;
  }
  return out;
}

}  // namespace
}  // namespace pill_eval

using pill_eval::Evaluation;
using pill_eval::Operand;

std::string expression_text(const Expr& expr) {
  std::string_view written = pill_eval::written_text(expr);
  std::string text;
  if (!written.empty()) {
    text = pill_eval::one_line(written);
  } else {
    pill_eval::unparse(text, expr, pill_eval::kLowest);
  }
  if (text.size() > EvalLimits::kMaxQuotedBytes) {
    size_t cut = EvalLimits::kMaxQuotedBytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "…";
  }
  return text;
}

std::string to_display_string(const Value& value) {
  if (value.is_string()) return value.as_string();
  std::string out;
  pill_eval::append_display(out, value);
  return out;
}

bool is_truthy(const Value& value) {
  switch (value.type()) {
    case Value::Type::Null:
      return false;
    case Value::Type::Boolean:
      return value.as_bool();
    case Value::Type::Integer:
      return value.as_integer() != 0;
    case Value::Type::Number:
      return value.as_number() != 0.0;
    case Value::Type::String:
      return !value.as_string().empty();
    case Value::Type::Array:
      return !value.as_array().empty();
    case Value::Type::Object:
      return !value.as_object().empty();
  }
  return false;
}

namespace {

Status internal_failure(const Expr* expr, const char* what) {
  std::string where = expr ? fmt::format(" in '{}'", expression_text(*expr)) : std::string();
  return Status("expression_error", fmt::format("internal error{}: {}", where, what));
}

// Renders the pills of a template that has text around them into `out`.
bool interpolate(Evaluation& evaluation, const Template& tmpl, std::string& out) {
  for (const TemplatePart& part : tmpl.parts) {
    if (!part.expr) {
      out += part.text;
      continue;
    }
    Operand value;
    if (!evaluation.eval(*part.expr, value)) return false;
    pill_eval::append_display(out, *value);
    if (!evaluation.check_result_bytes(*part.expr, out.size())) return false;
  }
  return true;
}

}  // namespace

Result<Value> evaluate(const Expr& expr, const EvalScope& scope) {
  try {
    Evaluation evaluation(scope);
    Operand result;
    if (!evaluation.eval(expr, result)) return evaluation.failure();
    return result.take();
  } catch (const std::exception& e) {
    return internal_failure(&expr, e.what());
  } catch (...) {
    return internal_failure(&expr, "unknown exception");
  }
}

Result<Value> render(const Template& tmpl, const EvalScope& scope) {
  if (tmpl.is_single_pill()) return evaluate(*tmpl.parts[0].expr, scope);
  try {
    if (tmpl.parts.empty()) return Value(tmpl.source);
    if (tmpl.parts.size() == 1) return Value(tmpl.parts[0].text);
    Evaluation evaluation(scope);
    std::string out;
    out.reserve(tmpl.source.size());
    if (!interpolate(evaluation, tmpl, out)) return evaluation.failure();
    return Value(std::move(out));
  } catch (const std::exception& e) {
    return internal_failure(nullptr, e.what());
  } catch (...) {
    return internal_failure(nullptr, "unknown exception");
  }
}

namespace {

// render(ValueTemplate) without its exception guard.
Result<Value> render_tree(const ValueTemplate& value, const EvalScope& scope) {
  switch (value.kind) {
    case ValueTemplate::Kind::Literal:
      return value.literal;
    case ValueTemplate::Kind::Template:
      return render(value.tmpl, scope);
    case ValueTemplate::Kind::Array: {
      ValueArray items;
      items.reserve(value.items.size());
      for (const ValueTemplate& item : value.items) {
        Result<Value> rendered = render_tree(item, scope);
        if (!rendered.ok()) return rendered;
        items.push_back(std::move(rendered).value());
      }
      return Value(std::move(items));
    }
    case ValueTemplate::Kind::Object: {
      ValueObject fields;
      for (const ValueTemplateField& field : value.fields) {
        Result<Value> rendered = render_tree(field.value, scope);
        if (!rendered.ok()) return rendered;
        fields.insert_or_assign(field.name, std::move(rendered).value());
      }
      return Value(std::move(fields));
    }
  }
  return Value();
}

}  // namespace

Result<Value> render(const ValueTemplate& value, const EvalScope& scope) {
  try {
    return render_tree(value, scope);
  } catch (const std::exception& e) {
    return internal_failure(nullptr, e.what());
  } catch (...) {
    return internal_failure(nullptr, "unknown exception");
  }
}

}  // namespace flowline
