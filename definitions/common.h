// Building blocks shared by every kind: names, references, types, durations,
// secrets, parameters and retry policies.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/source.h"
#include "definitions/template.h"
#include "definitions/value.h"

namespace flowline {

using Duration = std::chrono::milliseconds;

// A reference to another definition by name, as written ("acme" or
// "global.acme"), with where it was written. `full` is the resolved
// scope-qualified name ("global.acme"), filled in by the loader.
struct Ref {
  std::string name;
  std::string full;
  SourceRange range;
  bool empty() const { return name.empty(); }
};

enum class ValueType { String, Integer, Number, Boolean, Object, Array, Any };

struct TypeSpec {
  ValueType type = ValueType::Any;
  std::shared_ptr<TypeSpec> items;  // for arrays: the element type, if given
  SourceRange range;
};

// A declared input, output or variable.
struct ParamSpec {
  std::string name;
  SourceRange name_range;
  TypeSpec type;
  bool mandatory = false;
  std::optional<Value> default_value;
  SourceRange default_range;
  std::string description;
  std::optional<Template> value;  // action outputs: the pill that computes the output
  SourceRange range;
};

// Where a secret comes from. Resolved at use, never logged.
struct SecretRef {
  enum class Source { None, Literal, Env, File };
  Source source = Source::None;
  std::string value;  // the literal itself, the variable name or the path
  SourceRange range;
  bool present() const { return source != Source::None; }
};

struct RetryPolicy {
  enum class Strategy { Exponential, Fixed, RetryAfter };
  Strategy strategy = Strategy::Exponential;
  Duration interval{1000};
  std::optional<Duration> max_interval;
  std::optional<Duration> max_elapsed;
  int count = 3;
  bool jitter = true;
  std::vector<int> on_status{429, 502, 503, 504};
  bool retry_non_idempotent = false;
  SourceRange range;
};

// Where each key of a definition or step was written, for diagnostics that
// point at one field ("run_as" of a subflow, "integration_type" of a credential).
using FieldRanges = std::map<std::string, SourceRange, std::less<>>;

std::string_view value_type_name(ValueType type);

}  // namespace flowline
