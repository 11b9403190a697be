#include "dsl/document.h"

namespace flowline {

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k.text == key) return &v;
  return nullptr;
}

const Node* Node::find_key(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k.text == key) return &k;
  return nullptr;
}

std::string_view Node::describe(Type type) {
  switch (type) {
    case Type::Null: return "null";
    case Type::Boolean: return "a boolean";
    case Type::Integer: return "an integer";
    case Type::Float: return "a number";
    case Type::String: return "a string";
    case Type::Sequence: return "a list";
    case Type::Mapping: return "a mapping";
  }
  return "?";
}

}  // namespace flowline
