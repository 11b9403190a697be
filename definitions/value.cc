#include "definitions/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace flowline {

ValueArray& Value::mutable_array() {
  auto& ptr = std::get<std::shared_ptr<ValueArray>>(data_);
  if (ptr.use_count() > 1) ptr = std::make_shared<ValueArray>(*ptr);
  return *ptr;
}

ValueObject& Value::mutable_object() {
  auto& ptr = std::get<std::shared_ptr<ValueObject>>(data_);
  if (ptr.use_count() > 1) ptr = std::make_shared<ValueObject>(*ptr);
  return *ptr;
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  const auto& object = as_object();
  auto it = object.find(key);
  return it == object.end() ? nullptr : &it->second;
}

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void append_json(std::string& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: out += "null"; break;
    case Value::Type::Boolean: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::Integer: out += std::to_string(v.as_integer()); break;
    case Value::Type::Number: {
      double d = v.as_number();
      if (!std::isfinite(d)) {
        out += "null";
      } else {
        // Shortest text that reads back as the same double (100000.0, 1e-07 -> 1e-07).
        char buf[32];
        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
        std::string text(buf, end);
        if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
        out += text;
      }
      break;
    }
    case Value::Type::String: append_json_string(out, v.as_string()); break;
    case Value::Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, item);
      }
      out.push_back(']');
      break;
    }
    case Value::Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.as_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, key);
        out.push_back(':');
        append_json(out, item);
      }
      out.push_back('}');
      break;
    }
  }
}

}  // namespace

std::string Value::to_json() const {
  std::string out;
  flowline::append_json(out, *this);
  return out;
}

void Value::append_json(std::string& out) const { flowline::append_json(out, *this); }

void Value::append_json_string(std::string& out, std::string_view text) {
  flowline::append_json_string(out, text);
}

std::string_view Value::type_name(Type type) {
  switch (type) {
    case Type::Null: return "null";
    case Type::Boolean: return "boolean";
    case Type::Integer: return "integer";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "unknown";
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number() && a.type() != b.type()) return a.as_number() == b.as_number();
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Null: return true;
    case Value::Type::Boolean: return a.as_bool() == b.as_bool();
    case Value::Type::Integer: return a.as_integer() == b.as_integer();
    case Value::Type::Number: return a.as_number() == b.as_number();
    case Value::Type::String: return a.as_string() == b.as_string();
    case Value::Type::Array: return a.as_array() == b.as_array();
    case Value::Type::Object: return a.as_object() == b.as_object();
  }
  return false;
}

}  // namespace flowline
