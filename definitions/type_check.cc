#include "definitions/type_check.h"

namespace flowline {

bool value_fits(const Value& value, const TypeSpec& type) {
  switch (type.type) {
    case ValueType::Any: return true;
    case ValueType::String: return value.is_string();
    case ValueType::Integer: return value.is_integer();
    case ValueType::Number: return value.is_number();
    case ValueType::Boolean: return value.is_bool();
    case ValueType::Object: return value.is_object();
    case ValueType::Array:
      if (!value.is_array()) return false;
      if (type.items)
        for (const auto& item : value.as_array())
          if (!value_fits(item, *type.items)) return false;
      return true;
  }
  return false;
}

std::string describe_type(const TypeSpec& type) {
  switch (type.type) {
    case ValueType::String: return "a string";
    case ValueType::Integer: return "an integer";
    case ValueType::Number: return "a number";
    case ValueType::Boolean: return "a boolean";
    case ValueType::Object: return "an object";
    case ValueType::Any: return "any value";
    case ValueType::Array:
      return type.items ? "an array of " + std::string(value_type_name(type.items->type)) + " values"
                        : "an array";
  }
  return "?";
}

}  // namespace flowline
