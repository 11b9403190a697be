#include "interpreter/output.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace flowline::cli {

std::string pretty_json(const Value& value, int indent) {
  std::string pad(indent + 2, ' ');
  std::string close(indent, ' ');
  if (value.is_array()) {
    const auto& array = value.as_array();
    if (array.empty()) return "[]";
    std::string out = "[\n";
    for (size_t i = 0; i < array.size(); ++i)
      out += pad + pretty_json(array[i], indent + 2) + (i + 1 < array.size() ? ",\n" : "\n");
    return out + close + "]";
  }
  if (value.is_object()) {
    const auto& object = value.as_object();
    if (object.empty()) return "{}";
    std::string out = "{\n";
    size_t i = 0;
    for (const auto& [key, item] : object)
      out += pad + Value(key).to_json() + ": " + pretty_json(item, indent + 2) +
             (++i < object.size() ? ",\n" : "\n");
    return out + close + "}";
  }
  return value.to_json();
}

namespace {

void emit(YAML::Emitter& out, const Value& value) {
  switch (value.type()) {
    case Value::Type::Null: out << YAML::Null; break;
    case Value::Type::Boolean: out << value.as_bool(); break;
    case Value::Type::Integer: out << value.as_integer(); break;
    case Value::Type::Number: out << value.as_number(); break;
    case Value::Type::String: out << YAML::DoubleQuoted << value.as_string(); break;
    case Value::Type::Array:
      out << YAML::BeginSeq;
      for (const auto& item : value.as_array()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case Value::Type::Object:
      out << YAML::BeginMap;
      for (const auto& [key, item] : value.as_object()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, item);
      }
      out << YAML::EndMap;
      break;
  }
}

Value result_value(const RunResult& result) {
  ValueObject object;
  object.emplace("context_id", Value(result.context_id));
  object.emplace("state", Value(std::string(run_state_name(result.state))));
  object.emplace("outputs", result.outputs);
  if (result.error) {
    ValueObject error;
    error.emplace("code", Value(result.error->code));
    error.emplace("message", Value(result.error->message));
    error.emplace("step", Value(result.error->step));
    object.emplace("error", Value(std::move(error)));
  }
  return Value(std::move(object));
}

}  // namespace

std::string to_yaml(const Value& value) {
  YAML::Emitter out;
  emit(out, value);
  return std::string(out.c_str()) + "\n";
}

std::string render_run_result(const RunResult& result, const std::string& format) {
  if (format == "json") return result_value(result).to_json() + "\n";
  if (format == "yaml") return to_yaml(result_value(result));
  std::string out = fmt::format("{} {} ({})\n", result.target, run_state_name(result.state),
                                result.context_id);
  if (result.error) {
    out += fmt::format("error [{}] {}\n", result.error->code, result.error->message);
    if (!result.error->step.empty()) out += fmt::format("  at step {}\n", result.error->step);
  }
  if (result.state == RunState::Completed) out += "outputs: " + pretty_json(result.outputs) + "\n";
  return out;
}

std::string describe_duration(std::chrono::seconds seconds) {
  bool past = seconds.count() < 0;
  long long s = std::llabs(seconds.count());
  std::string text;
  if (s >= 86400) text = fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
  else if (s >= 3600) text = fmt::format("{}h {}m", s / 3600, (s % 3600) / 60);
  else if (s >= 60) text = fmt::format("{}m {}s", s / 60, s % 60);
  else text = fmt::format("{}s", s);
  return past ? "expired " + text + " ago" : text;
}

}  // namespace flowline::cli
