// Internal to dsl/: the helpers that turn positioned Nodes into definitions.
// A Decoder reports every problem it finds and keeps going, returning a
// sensible default, so one pass reports everything.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/definitions.h"
#include "dsl/diagnostics.h"
#include "dsl/document.h"

namespace flowline {

class Decoder {
 public:
  explicit Decoder(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  Diagnostics& diagnostics() { return diagnostics_; }

  // Each reads one value and reports "wrong-type" (or a more specific code)
  // naming `what` (usually the key) when the node does not fit.
  std::optional<std::string> string(const Node& node, std::string_view what);
  std::optional<bool> boolean(const Node& node, std::string_view what);
  std::optional<int64_t> integer(const Node& node, std::string_view what);
  std::optional<Duration> duration(const Node& node, std::string_view what);
  std::optional<std::vector<std::string>> string_list(const Node& node, std::string_view what);
  std::optional<std::vector<int>> status_list(const Node& node, std::string_view what);
  // A string map such as `headers:`, in written order.
  std::vector<std::pair<std::string, std::string>> string_map(const Node& node, std::string_view what);
  SecretRef secret(const Node& node, std::string_view what);
  Ref ref(const Node& node, std::string_view what);
  Value literal(const Node& node);
  // A templated string; non-string scalars are taken as their text.
  Template tmpl(const Node& node, std::string_view what);
  ValueTemplate value_template(const Node& node);
  std::vector<NamedValue> named_values(const Node& node, std::string_view what);
  std::vector<std::pair<std::string, Template>> template_map(const Node& node, std::string_view what);
  std::optional<RetryPolicy> retry_policy(const Node& node);
  TypeSpec type_spec(const Node& node, std::string_view what);
  // `inputs:`, `outputs:`, `variables:` — a mapping of name to spec (or type name).
  std::vector<ParamSpec> params(const Node& node, std::string_view what, bool allow_value);

  template <typename E>
  std::optional<E> enumeration(const Node& node, std::string_view what,
                               std::initializer_list<std::pair<std::string_view, E>> choices);

  // Reports "wrong-type": "'what' must be EXPECTED, not a list".
  void wrong_type(const Node& node, std::string_view what, std::string_view expected);
  // Checks a definition or reference name: `name` or `scope.name`.
  bool check_name(const Node& node, std::string_view what);

 private:
  void unknown_choice(const Node& node, std::string_view what,
                      const std::vector<std::string>& choices);
  Diagnostics& diagnostics_;
};

// Reads the keys of one mapping. Reports unknown keys (with "did you mean")
// when constructed, and missing required keys on request.
class MapFields {
 public:
  MapFields(const Node& map, Decoder& decoder, std::vector<std::string_view> allowed);

  const Node* get(std::string_view key) const { return map_.find(key); }
  // Reports "missing-field" at the mapping when absent.
  const Node* required(std::string_view key, std::string_view context) const;
  // The key's range, for FieldRanges.
  void record(FieldRanges& fields) const;

 private:
  const Node& map_;
  Decoder& decoder_;
  // Keys offered as "did you mean" for a misspelt key: already reported, so
  // not reported again as missing.
  std::vector<std::string> suggested_;
};

template <typename E>
std::optional<E> Decoder::enumeration(const Node& node, std::string_view what,
                                      std::initializer_list<std::pair<std::string_view, E>> choices) {
  auto text = string(node, what);
  if (!text) return std::nullopt;
  for (const auto& [name, value] : choices)
    if (name == *text) return value;
  std::vector<std::string> names;
  for (const auto& [name, value] : choices) names.emplace_back(name);
  unknown_choice(node, what, names);
  return std::nullopt;
}

bool is_valid_definition_name(std::string_view name);
std::optional<Duration> parse_duration(std::string_view text);

// The decoders for each family of kinds (decode_*.cc).
std::unique_ptr<Definition> decode_connection_kind(Kind kind, const Node& root, Decoder& decoder);
std::unique_ptr<Definition> decode_runnable_kind(Kind kind, const Node& root, Decoder& decoder);

enum class StepContext { Action, Flow };
StepList decode_steps(const Node& node, Decoder& decoder, StepContext context);

// The keys every document may have.
inline constexpr std::string_view kCommonKeys[] = {"kind", "name", "description"};

}  // namespace flowline
