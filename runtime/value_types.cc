#include "runtime/value_types.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "dsl/suggest.h"
#include "runtime/eval/evaluator.h"

namespace flowline {

std::string describe_value_type(const Value& value) {
  switch (value.type()) {
    case Value::Type::Null: return "null";
    case Value::Type::Boolean: return "a boolean";
    case Value::Type::Integer: return "an integer";
    case Value::Type::Number: return "a number";
    case Value::Type::String: return "a string";
    case Value::Type::Array: return "an array";
    case Value::Type::Object: return "an object";
  }
  return "?";
}

Result<Value> check_inputs(const std::vector<ParamSpec>& specs, const Value& given,
                           std::string_view owner) {
  return check_inputs(specs, given, [owner] { return std::string(owner); });
}

Result<Value> check_inputs(const std::vector<ParamSpec>& specs, const Value& given,
                           const std::function<std::string()>& owner) {
  if (!given.is_object() && !given.is_null())
    return Status("invalid_input", fmt::format("inputs of {} must be an object", owner()));
  if (given.is_object()) {
    for (const auto& [name, value] : given.as_object()) {
      bool declared = false;
      for (const auto& spec : specs) declared |= spec.name == name;
      if (!declared) {
        std::vector<std::string> names;
        for (const auto& spec : specs) names.push_back(spec.name);
        std::string message = fmt::format("{} has no input '{}'", owner(), name);
        message += did_you_mean(name, names);
        return Status("invalid_input", message);
      }
    }
  }
  ValueObject out;
  for (const auto& spec : specs) {
    const Value* value = given.find(spec.name);
    if (value == nullptr || value->is_null()) {
      if (spec.default_value) {
        out.emplace(spec.name, *spec.default_value);
        continue;
      }
      if (spec.mandatory)
        return Status("invalid_input", fmt::format("{} needs input '{}' ({})", owner(), spec.name,
                                                   describe_type(spec.type)));
      out.emplace(spec.name, Value());
      continue;
    }
    // An integral number given for `integer` (e.g. 5.0 from JSON) is taken.
    if (spec.type.type == ValueType::Integer && value->type() == Value::Type::Number) {
      double d = value->as_number();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 9.2e18) {
        out.emplace(spec.name, Value(static_cast<int64_t>(d)));
        continue;
      }
    }
    if (!value_fits(*value, spec.type))
      return Status("invalid_input", fmt::format("input '{}' of {} must be {}, not {}", spec.name,
                                                 owner(), describe_type(spec.type),
                                                 describe_value_type(*value)));
    out.emplace(spec.name, *value);
  }
  return Value(std::move(out));
}

Result<Value> parse_typed_input(const std::vector<ParamSpec>& specs, std::string_view name,
                                std::string_view text, std::string_view owner) {
  const ParamSpec* spec = nullptr;
  std::vector<std::string> names;
  for (const auto& s : specs) {
    names.push_back(s.name);
    if (s.name == name) spec = &s;
  }
  if (!spec) {
    std::string message = fmt::format("{} has no input '{}'", owner, name);
    message += did_you_mean(name, names);
    return Status("invalid_input", message);
  }
  auto bad = [&] {
    return Status("invalid_input", fmt::format("input '{}' must be {}, not '{}'", name,
                                               describe_type(spec->type), text));
  };
  switch (spec->type.type) {
    case ValueType::String: return Value(std::string(text));
    case ValueType::Integer: {
      int64_t v = 0;
      auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || ptr != text.data() + text.size()) return bad();
      return Value(v);
    }
    case ValueType::Number: {
      auto parsed = parse_json_value(text);
      if (!parsed.ok() || !parsed->is_number()) return bad();
      return parsed.value();
    }
    case ValueType::Boolean:
      if (text == "true") return Value(true);
      if (text == "false") return Value(false);
      return bad();
    case ValueType::Object:
    case ValueType::Array: {
      auto parsed = parse_json_value(text);
      if (!parsed.ok() || !value_fits(*parsed, spec->type)) return bad();
      return parsed.value();
    }
    case ValueType::Any: {
      auto parsed = parse_json_value(text);
      return parsed.ok() ? parsed.value() : Value(std::string(text));
    }
  }
  return bad();
}

}  // namespace flowline
