// The built-in functions of the pill language (DESIGN.md §2), parse_json_value
// (over json_document.h), and the replaceable clock of now().
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <vector>

#include "runtime/eval/eval_internal.h"
#include "runtime/eval/evaluator.h"
#include "runtime/eval/json_document.h"

namespace flowline {
namespace pill_eval {
namespace {

// ---- now() ------------------------------------------------------------------

std::mutex clock_mutex;
EvalClock& test_clock() {
  static EvalClock clock;
  return clock;
}

std::chrono::system_clock::time_point current_time() {
  std::lock_guard<std::mutex> lock(clock_mutex);
  const EvalClock& clock = test_clock();
  return clock ? clock() : std::chrono::system_clock::now();
}

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto ms = floor<milliseconds>(time);
  auto day = floor<days>(ms);
  year_month_day date(day);
  hh_mm_ss<milliseconds> clock_time(ms - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     clock_time.hours().count(), clock_time.minutes().count(),
                     clock_time.seconds().count(), clock_time.subseconds().count());
}

// ---- Strict number text -------------------------------------------------------

// JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view text) {
  size_t i = 0;
  auto digits = [&] {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i > start;
  };
  if (i < text.size() && text[i] == '-') ++i;
  if (i < text.size() && text[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == text.size();
}

// ---- parse_json ---------------------------------------------------------------

Status invalid_json(size_t offset, std::string_view reason) {
  return Status("invalid_json", fmt::format("invalid JSON at offset {}: {}", offset, reason));
}

// ---- The functions --------------------------------------------------------------

std::string_view function_name(const Expr& call) {
  return call.name.empty() ? std::string_view("function") : std::string_view(call.name);
}

bool expects(Evaluation& evaluation, const Expr& call, std::string_view what, const Value& got) {
  return evaluation.fail(
      call, fmt::format("{}() expects {}, got {}", function_name(call), what, describe_type(got)));
}

bool expects_two(Evaluation& evaluation, const Expr& call, std::string_view what, const Value& a,
                 const Value& b) {
  return evaluation.fail(call, fmt::format("{}() expects {}, got {} and {}", function_name(call),
                                           what, describe_type(a), describe_type(b)));
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool length(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  switch (v.type()) {
    case Value::Type::Null:
      out.set(0);
      return true;
    case Value::Type::String:
      out.set(static_cast<int64_t>(count_characters(v.as_string())));
      return true;
    case Value::Type::Array:
      out.set(static_cast<int64_t>(v.as_array().size()));
      return true;
    case Value::Type::Object:
      out.set(static_cast<int64_t>(v.as_object().size()));
      return true;
    default:
      return expects(evaluation, call, "a string, an array or an object", v);
  }
}

bool change_case(Evaluation& evaluation, const Expr& call, const Value& v, bool upper,
                 Operand& out) {
  if (!v.is_string()) return expects(evaluation, call, "a string", v);
  std::string text = v.as_string();
  for (char& c : text) {
    // Only ASCII letters: UTF-8 sequences are left byte for byte.
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  out.set(std::move(text));
  return true;
}

bool trim(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  if (!v.is_string()) return expects(evaluation, call, "a string", v);
  std::string_view text = v.as_string();
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  out.set(Value(text));
  return true;
}

bool contains(Evaluation& evaluation, const Expr& call, const Value& haystack, const Value& needle,
              Operand& out) {
  Membership found = find_in(haystack, needle);
  if (found == Membership::Invalid) {
    return evaluation.fail(call, fmt::format("{}() cannot look for {} in {}", function_name(call),
                                             describe_type(needle), describe_type(haystack)));
  }
  out.set(found == Membership::Present);
  return true;
}

bool affix(Evaluation& evaluation, const Expr& call, const Value& text, const Value& part,
           bool prefix, Operand& out) {
  if (!text.is_string() || !part.is_string())
    return expects_two(evaluation, call, "two strings", text, part);
  std::string_view t = text.as_string(), p = part.as_string();
  out.set(prefix ? t.starts_with(p) : t.ends_with(p));
  return true;
}

bool join(Evaluation& evaluation, const Expr& call, const Value& list, const Value& separator,
          Operand& out) {
  if (!list.is_array() || !separator.is_string())
    return expects_two(evaluation, call, "an array and a string", list, separator);
  std::string text;
  bool first = true;
  for (const Value& item : list.as_array()) {
    if (!first) text += separator.as_string();
    first = false;
    append_display(text, item);
    if (!evaluation.check_result_bytes(call, text.size())) return false;
  }
  out.set(std::move(text));
  return true;
}

bool split(Evaluation& evaluation, const Expr& call, const Value& text, const Value& separator,
           Operand& out) {
  if (!text.is_string() || !separator.is_string())
    return expects_two(evaluation, call, "two strings", text, separator);
  std::string_view t = text.as_string(), sep = separator.as_string();
  ValueArray pieces;
  if (sep.empty()) {
    for (size_t offset = 0; offset < t.size();) {
      size_t bytes = character_bytes(t, offset);
      pieces.emplace_back(t.substr(offset, bytes));
      offset += bytes;
      if (!evaluation.check_result_items(call, pieces.size())) return false;
    }
  } else {
    size_t begin = 0;
    while (true) {
      size_t at = t.find(sep, begin);
      pieces.emplace_back(t.substr(begin, at == std::string_view::npos ? at : at - begin));
      if (!evaluation.check_result_items(call, pieces.size())) return false;
      if (at == std::string_view::npos) break;
      begin = at + sep.size();
    }
  }
  out.set(std::move(pieces));
  return true;
}

bool keys(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  if (!v.is_object()) return expects(evaluation, call, "an object", v);
  ValueArray names;
  names.reserve(v.as_object().size());
  for (const auto& [name, value] : v.as_object()) names.emplace_back(name);
  out.set(std::move(names));
  return true;
}

bool to_int(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  switch (v.type()) {
    case Value::Type::Integer:
      out.set(v);
      return true;
    case Value::Type::Boolean:
      out.set(v.as_bool() ? 1 : 0);
      return true;
    case Value::Type::Number: {
      double d = std::trunc(v.as_number());
      if (!std::isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
        return evaluation.fail(
            call, fmt::format("to_int(): {} is out of the integer range", to_display_string(v)));
      }
      out.set(static_cast<int64_t>(d));
      return true;
    }
    case Value::Type::String: {
      const std::string& text = v.as_string();
      int64_t i;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
      if (ec == std::errc() && ptr == text.data() + text.size()) {
        out.set(i);
        return true;
      }
      Value quoted(text.substr(0, EvalLimits::kMaxQuotedBytes));
      if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
        return evaluation.fail(
            call, fmt::format("to_int(): {} is out of the integer range", quoted.to_json()));
      }
      return evaluation.fail(
          call, fmt::format("to_int(): {} is not an integer (decimal digits with an optional "
                            "leading '-')",
                            quoted.to_json()));
    }
    default:
      return expects(evaluation, call, "a number, a string or a boolean", v);
  }
}

bool to_number(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  switch (v.type()) {
    case Value::Type::Integer:
    case Value::Type::Number:
      out.set(v.as_number());
      return true;
    case Value::Type::Boolean:
      out.set(v.as_bool() ? 1.0 : 0.0);
      return true;
    case Value::Type::String: {
      const std::string& text = v.as_string();
      Value quoted(text.substr(0, EvalLimits::kMaxQuotedBytes));
      if (!is_json_number(text)) {
        return evaluation.fail(call,
                               fmt::format("to_number(): {} is not a number", quoted.to_json()));
      }
      Value number;
      if (parse_json_number(text, &number, false) == NumberParse::OutOfRange) {
        return evaluation.fail(
            call, fmt::format("to_number(): {} is out of the number range", quoted.to_json()));
      }
      out.set(std::move(number));
      return true;
    }
    default:
      return expects(evaluation, call, "a number, a string or a boolean", v);
  }
}

bool url_encode(Evaluation& evaluation, const Expr& call, const Value& v, Operand& out) {
  if (v.is_null() || v.is_array() || v.is_object())
    return expects(evaluation, call, "a string, a number or a boolean", v);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string text = to_display_string(v);
  std::string encoded;
  encoded.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      encoded.push_back(static_cast<char>(c));
    } else {
      encoded.push_back('%');
      encoded.push_back(kHex[c >> 4]);
      encoded.push_back(kHex[c & 0xF]);
    }
  }
  if (!evaluation.check_result_bytes(call, encoded.size())) return false;
  out.set(std::move(encoded));
  return true;
}

}  // namespace

bool Evaluation::call(const Expr& expr, Operand& out) {
  const size_t arity = expr.args.size();
  // default() evaluates its fallback only when it is needed, as `??` does.
  if (expr.builtin == Builtin::Default && arity == 2) {
    if (!eval(*expr.args[0], out)) return false;
    if (!out->is_null() && !(out->is_string() && out->as_string().empty())) return true;
    return eval(*expr.args[1], out);
  }
  if (expr.builtin == Builtin::Now && arity == 0) {
    out.set(iso8601_utc(current_time()));
    return true;
  }
  static constexpr size_t kMaxArity = 2;
  const size_t expected =
      expr.builtin == Builtin::Contains || expr.builtin == Builtin::StartsWith ||
              expr.builtin == Builtin::EndsWith || expr.builtin == Builtin::Join ||
              expr.builtin == Builtin::Split || expr.builtin == Builtin::Default
          ? 2
      : expr.builtin == Builtin::Now ? 0
                                     : 1;
  if (arity != expected || arity > kMaxArity) {
    return fail(expr, fmt::format("{}() takes {} argument{}, got {}", function_name(expr), expected,
                                  expected == 1 ? "" : "s", arity));
  }
  Operand args[kMaxArity];
  for (size_t i = 0; i < arity; ++i)
    if (!eval(*expr.args[i], args[i])) return false;
  const Value& a = *args[0];
  const Value& b = *args[1];

  switch (expr.builtin) {
    case Builtin::Length:
      return length(*this, expr, a, out);
    case Builtin::Upper:
      return change_case(*this, expr, a, true, out);
    case Builtin::Lower:
      return change_case(*this, expr, a, false, out);
    case Builtin::Trim:
      return trim(*this, expr, a, out);
    case Builtin::Contains:
      return contains(*this, expr, a, b, out);
    case Builtin::StartsWith:
      return affix(*this, expr, a, b, true, out);
    case Builtin::EndsWith:
      return affix(*this, expr, a, b, false, out);
    case Builtin::Join:
      return join(*this, expr, a, b, out);
    case Builtin::Split:
      return split(*this, expr, a, b, out);
    case Builtin::Keys:
      return keys(*this, expr, a, out);
    case Builtin::ToInt:
      return to_int(*this, expr, a, out);
    case Builtin::ToNumber:
      return to_number(*this, expr, a, out);
    case Builtin::ToString: {
      if (a.is_string()) {
        out.set(args[0].take());
        return true;
      }
      std::string text = to_display_string(a);
      if (!check_result_bytes(expr, text.size())) return false;
      out.set(std::move(text));
      return true;
    }
    case Builtin::Json: {
      std::string text = a.to_json();
      if (!check_result_bytes(expr, text.size())) return false;
      out.set(std::move(text));
      return true;
    }
    case Builtin::ParseJson: {
      if (!a.is_string()) return expects(*this, expr, "a string", a);
      Result<Value> parsed = parse_json_value(a.as_string());
      if (!parsed.ok()) return fail(expr, "parse_json(): " + parsed.status().message());
      out.set(std::move(parsed).value());
      return true;
    }
    case Builtin::UrlEncode:
      return url_encode(*this, expr, a, out);
    case Builtin::Default:
    case Builtin::Now:
      break;  // handled above
  }
  return fail(expr, fmt::format("unknown function '{}'", function_name(expr)));
}

}  // namespace pill_eval

Result<Value> parse_json_value(std::string_view text) {
  auto parsed = parse_json_document(text);
  if (auto* document = std::get_if<JsonDocument>(&parsed)) return std::move(document->value);
  const JsonSyntaxError& error = std::get<JsonSyntaxError>(parsed);
  if (error.too_deep)
    return Status("invalid_json", fmt::format("JSON nests deeper than {} levels at offset {}",
                                              EvalLimits::kMaxJsonDepth, error.offset));
  return pill_eval::invalid_json(error.offset, error.reason);
}

void set_eval_clock_for_testing(EvalClock clock) {
  std::lock_guard<std::mutex> lock(pill_eval::clock_mutex);
  pill_eval::test_clock() = std::move(clock);
}

}  // namespace flowline
