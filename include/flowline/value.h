// Value: the dynamic value of Flowline's data — input defaults, literals in
// definitions, pill results, step outputs, HTTP bodies.
//
// Arrays and objects are held by shared_ptr to immutable storage, so copying a
// Value is O(1); mutation goes through the mutable_* accessors, which copy the
// storage first when it is shared (copy-on-write). Not thread-safe for
// concurrent mutation of one Value; concurrent reads are fine.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace flowline {

class Value;
using ValueArray = std::vector<Value>;
using ValueObject = std::map<std::string, Value, std::less<>>;

class Value {
 public:
  enum class Type { Null, Boolean, Integer, Number, String, Array, Object };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : data_(b) {}
  Value(int i) : data_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : data_(i) {}
  Value(double d) : data_(d) {}
  Value(const char* s) : data_(std::string(s)) {}
  Value(std::string s) : data_(std::move(s)) {}
  Value(std::string_view s) : data_(std::string(s)) {}
  Value(ValueArray a) : data_(std::make_shared<ValueArray>(std::move(a))) {}
  Value(ValueObject o) : data_(std::make_shared<ValueObject>(std::move(o))) {}

  Type type() const { return static_cast<Type>(data_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Boolean; }
  bool is_integer() const { return type() == Type::Integer; }
  bool is_number() const { return type() == Type::Number || type() == Type::Integer; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  // Accessors require the matching type (checked with the is_* calls).
  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_integer() const { return std::get<int64_t>(data_); }
  double as_number() const {  // integers widen
    return is_integer() ? static_cast<double>(as_integer()) : std::get<double>(data_);
  }
  const std::string& as_string() const { return std::get<std::string>(data_); }
  const ValueArray& as_array() const { return *std::get<std::shared_ptr<ValueArray>>(data_); }
  const ValueObject& as_object() const { return *std::get<std::shared_ptr<ValueObject>>(data_); }
  ValueArray& mutable_array();
  ValueObject& mutable_object();

  // Object member or nullptr (also nullptr when this is not an object).
  const Value* find(std::string_view key) const;

  // Compact JSON text (RFC 8259). Non-finite numbers become null.
  std::string to_json() const;
  // The same, appended to `out`.
  void append_json(std::string& out) const;
  // `text` as a JSON string (quoted and escaped), appended to `out`.
  static void append_json_string(std::string& out, std::string_view text);
  // The type's name as the definition language spells it ("integer", "object").
  static std::string_view type_name(Type type);

  friend bool operator==(const Value& a, const Value& b);

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<ValueArray>,
               std::shared_ptr<ValueObject>>
      data_;
};

}  // namespace flowline
