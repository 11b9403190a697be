#include "dsl/decoder.h"

#include <fmt/format.h>

#include <charconv>
#include <regex>

#include "dsl/pill_parser.h"
#include "dsl/suggest.h"

namespace flowline {

namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += names[i];
  }
  return out;
}

bool is_name_part(std::string_view part) {
  if (part.empty()) return false;
  for (char c : part)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

}  // namespace

bool is_valid_definition_name(std::string_view name) {
  auto dot = name.find('.');
  if (dot == std::string_view::npos) return is_name_part(name);
  return is_name_part(name.substr(0, dot)) && is_name_part(name.substr(dot + 1));
}

void Decoder::wrong_type(const Node& node, std::string_view what, std::string_view expected) {
  diagnostics_.error("wrong-type", node.range,
                     fmt::format("'{}' must be {}, not {}", what, expected,
                                 Node::describe(node.type)));
}

void Decoder::unknown_choice(const Node& node, std::string_view what,
                             const std::vector<std::string>& choices) {
  std::string message =
      fmt::format("'{}' must be one of {}, not '{}'", what, join_names(choices), node.text);
  if (auto near = closest_match(node.text, choices)) message += fmt::format(" (did you mean '{}'?)", *near);
  diagnostics_.error("unknown-value", node.range, std::move(message));
}

std::optional<std::string> Decoder::string(const Node& node, std::string_view what) {
  if (node.type == Node::Type::String) return node.text;
  // Numbers and booleans written where text is expected are taken as written
  // (`X-Debug: true` is the header value "true").
  if (node.type == Node::Type::Integer || node.type == Node::Type::Float ||
      node.type == Node::Type::Boolean)
    return node.text;
  wrong_type(node, what, "a string");
  return std::nullopt;
}

std::optional<bool> Decoder::boolean(const Node& node, std::string_view what) {
  if (node.type == Node::Type::Boolean) return node.boolean;
  wrong_type(node, what, "true or false");
  return std::nullopt;
}

std::optional<int64_t> Decoder::integer(const Node& node, std::string_view what) {
  if (node.type == Node::Type::Integer) return node.integer;
  wrong_type(node, what, "an integer");
  return std::nullopt;
}

std::optional<Duration> parse_duration(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 12) return std::nullopt;
  int64_t amount = 0;
  std::from_chars(text.data(), text.data() + digits, amount);
  std::string_view unit = text.substr(digits);
  if (unit == "ms") return Duration(amount);
  if (unit == "s") return Duration(amount * 1000);
  if (unit == "m") return Duration(amount * 60'000);
  if (unit == "h") return Duration(amount * 3'600'000);
  return std::nullopt;
}

std::optional<Duration> Decoder::duration(const Node& node, std::string_view what) {
  if (node.type != Node::Type::String && node.type != Node::Type::Integer) {
    wrong_type(node, what, "a duration such as 10s");
    return std::nullopt;
  }
  if (auto d = parse_duration(node.text)) return d;
  diagnostics_.error("invalid-duration", node.range,
                     fmt::format("invalid duration '{}' for '{}': write a number and a unit "
                                 "(250ms, 10s, 5m, 2h)",
                                 node.text, what));
  return std::nullopt;
}

std::optional<std::vector<std::string>> Decoder::string_list(const Node& node, std::string_view what) {
  if (!node.is_sequence()) {
    wrong_type(node, what, "a list of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : node.items)
    if (auto s = string(item, what)) out.push_back(*s);
  return out;
}

std::optional<std::vector<int>> Decoder::status_list(const Node& node, std::string_view what) {
  std::vector<int> out;
  auto one = [&](const Node& item) {
    if (item.type != Node::Type::Integer || item.integer < 100 || item.integer > 599) {
      diagnostics_.error("invalid-status", item.range,
                         fmt::format("'{}' must list HTTP status codes (100-599), not '{}'", what,
                                     item.text));
      return;
    }
    out.push_back(static_cast<int>(item.integer));
  };
  if (node.is_sequence()) {
    for (const auto& item : node.items) one(item);
  } else if (node.is_scalar()) {
    one(node);
  } else {
    wrong_type(node, what, "a list of HTTP status codes");
    return std::nullopt;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> Decoder::string_map(const Node& node,
                                                                     std::string_view what) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!node.is_mapping()) {
    if (node.type != Node::Type::Null) wrong_type(node, what, "a mapping");
    return out;
  }
  for (const auto& [key, value] : node.entries)
    if (auto s = string(value, key.text)) out.emplace_back(key.text, *s);
  return out;
}

SecretRef Decoder::secret(const Node& node, std::string_view what) {
  SecretRef secret;
  secret.range = node.range;
  if (node.type == Node::Type::String) {
    secret.source = SecretRef::Source::Literal;
    secret.value = node.text;
    return secret;
  }
  if (node.is_mapping() && node.entries.size() == 1) {
    const auto& [key, value] = node.entries[0];
    if ((key.text == "env" || key.text == "file") && value.type == Node::Type::String &&
        !value.text.empty()) {
      secret.source = key.text == "env" ? SecretRef::Source::Env : SecretRef::Source::File;
      secret.value = value.text;
      return secret;
    }
  }
  diagnostics_.error("invalid-secret", node.range,
                     fmt::format("'{}' must be a string, {{env: NAME}} or {{file: PATH}}", what));
  return secret;
}

bool Decoder::check_name(const Node& node, std::string_view what) {
  if (is_valid_definition_name(node.text)) return true;
  diagnostics_.error("bad-name", node.range,
                     fmt::format("invalid {} '{}': use letters, digits and '_', optionally "
                                 "prefixed by a scope ('scope.name')",
                                 what, node.text));
  return false;
}

Ref Decoder::ref(const Node& node, std::string_view what) {
  Ref ref;
  ref.range = node.range;
  auto text = string(node, what);
  if (!text) return ref;
  if (!check_name(node, "name")) return ref;
  ref.name = *text;
  ref.full = DefinitionSet::qualify(*text);
  return ref;
}

Value Decoder::literal(const Node& node) {
  switch (node.type) {
    case Node::Type::Null: return Value();
    case Node::Type::Boolean: return Value(node.boolean);
    case Node::Type::Integer: return Value(node.integer);
    case Node::Type::Float: return Value(node.number);
    case Node::Type::String: return Value(node.text);
    case Node::Type::Sequence: {
      ValueArray array;
      array.reserve(node.items.size());
      for (const auto& item : node.items) array.push_back(literal(item));
      return Value(std::move(array));
    }
    case Node::Type::Mapping: {
      ValueObject object;
      for (const auto& [key, value] : node.entries) object.emplace(key.text, literal(value));
      return Value(std::move(object));
    }
  }
  return Value();
}

Template Decoder::tmpl(const Node& node, std::string_view what) {
  if (!node.is_scalar()) {
    wrong_type(node, what, "a string");
    Template empty;
    empty.range = node.range;
    return empty;
  }
  std::string text = node.type == Node::Type::Null ? std::string() : node.text;
  return parse_template(std::move(text), node.range, node.text_offset, diagnostics_);
}

ValueTemplate Decoder::value_template(const Node& node) {
  ValueTemplate out;
  out.range = node.range;
  if (node.type == Node::Type::String) {
    Template t = parse_template(node.text, node.range, node.text_offset, diagnostics_);
    if (t.is_literal()) {
      out.literal = Value(node.text);
    } else {
      out.kind = ValueTemplate::Kind::Template;
      out.tmpl = std::move(t);
    }
    return out;
  }
  if (node.is_scalar()) {
    out.literal = literal(node);
    return out;
  }
  bool all_literal = true;
  if (node.is_sequence()) {
    out.kind = ValueTemplate::Kind::Array;
    for (const auto& item : node.items) {
      out.items.push_back(value_template(item));
      all_literal &= out.items.back().kind == ValueTemplate::Kind::Literal;
    }
  } else {
    out.kind = ValueTemplate::Kind::Object;
    for (const auto& [key, value] : node.entries) {
      out.fields.push_back(ValueTemplateField{key.text, value_template(value)});
      all_literal &= out.fields.back().value.kind == ValueTemplate::Kind::Literal;
    }
  }
  if (all_literal) {
    out.kind = ValueTemplate::Kind::Literal;
    out.literal = literal(node);
    out.items.clear();
    out.fields.clear();
  }
  return out;
}

std::vector<NamedValue> Decoder::named_values(const Node& node, std::string_view what) {
  std::vector<NamedValue> out;
  if (!node.is_mapping()) {
    if (node.type != Node::Type::Null) wrong_type(node, what, "a mapping of names to values");
    return out;
  }
  for (const auto& [key, value] : node.entries)
    out.push_back(NamedValue{key.text, key.range, value_template(value)});
  return out;
}

std::vector<std::pair<std::string, Template>> Decoder::template_map(const Node& node,
                                                                    std::string_view what) {
  std::vector<std::pair<std::string, Template>> out;
  if (!node.is_mapping()) {
    if (node.type != Node::Type::Null) wrong_type(node, what, "a mapping");
    return out;
  }
  for (const auto& [key, value] : node.entries) out.emplace_back(key.text, tmpl(value, key.text));
  return out;
}


MapFields::MapFields(const Node& map, Decoder& decoder, std::vector<std::string_view> allowed)
    : map_(map), decoder_(decoder) {
  std::vector<std::string> candidates(allowed.begin(), allowed.end());
  for (const auto& [key, value] : map.entries) {
    bool known = false;
    for (auto a : allowed) known |= (a == key.text);
    if (known) continue;
    std::string message = fmt::format("unknown key '{}'", key.text);
    std::string help;
    if (auto near = closest_match(key.text, candidates)) {
      message += fmt::format(" (did you mean '{}'?)", *near);
      suggested_.push_back(*near);
    } else {
      help = "allowed keys here: " + join_names(candidates);
    }
    decoder_.diagnostics().error("unknown-key", key.range, std::move(message), std::move(help));
  }
}

const Node* MapFields::required(std::string_view key, std::string_view context) const {
  if (const Node* n = map_.find(key)) return n;
  for (const auto& s : suggested_)
    if (s == key) return nullptr;
  decoder_.diagnostics().error("missing-field", map_.range,
                               fmt::format("missing required key '{}' in {}", key, context));
  return nullptr;
}

void MapFields::record(FieldRanges& fields) const {
  for (const auto& [key, value] : map_.entries) fields.emplace(key.text, key.range);
}

}  // namespace flowline
