// Decoding typed declarations: parameter specs (inputs, outputs,
// variables), type specs and retry policies.
#include <fmt/format.h>

#include "definitions/type_check.h"
#include "dsl/decoder.h"

namespace flowline {

std::optional<RetryPolicy> Decoder::retry_policy(const Node& node) {
  if (!node.is_mapping()) {
    wrong_type(node, "retry_policy", "a mapping");
    return std::nullopt;
  }
  MapFields f(node, *this,
              {"strategy", "interval", "max_interval", "max_elapsed", "count", "jitter", "on_status",
               "retry_non_idempotent"});
  RetryPolicy policy;
  policy.range = node.range;
  if (auto n = f.get("strategy"))
    if (auto s = enumeration<RetryPolicy::Strategy>(*n, "strategy",
                                                    {{"exponential", RetryPolicy::Strategy::Exponential},
                                                     {"fixed", RetryPolicy::Strategy::Fixed},
                                                     {"retry_after", RetryPolicy::Strategy::RetryAfter}}))
      policy.strategy = *s;
  if (auto n = f.get("interval"))
    if (auto d = duration(*n, "interval")) policy.interval = *d;
  if (auto n = f.get("max_interval")) policy.max_interval = duration(*n, "max_interval");
  if (auto n = f.get("max_elapsed")) policy.max_elapsed = duration(*n, "max_elapsed");
  if (auto n = f.get("count")) {
    if (auto c = integer(*n, "count")) {
      if (*c < 0 || *c > 100)
        diagnostics_.error("out-of-range", n->range, "'count' must be between 0 and 100");
      else
        policy.count = static_cast<int>(*c);
    }
  }
  if (auto n = f.get("jitter"))
    if (auto b = boolean(*n, "jitter")) policy.jitter = *b;
  if (auto n = f.get("on_status"))
    if (auto l = status_list(*n, "on_status")) policy.on_status = *l;
  if (auto n = f.get("retry_non_idempotent"))
    if (auto b = boolean(*n, "retry_non_idempotent")) policy.retry_non_idempotent = *b;
  return policy;
}

TypeSpec Decoder::type_spec(const Node& node, std::string_view what) {
  TypeSpec spec;
  spec.range = node.range;
  if (node.is_scalar()) {
    if (auto t = enumeration<ValueType>(node, what,
                                        {{"string", ValueType::String},
                                         {"integer", ValueType::Integer},
                                         {"number", ValueType::Number},
                                         {"boolean", ValueType::Boolean},
                                         {"object", ValueType::Object},
                                         {"array", ValueType::Array},
                                         {"any", ValueType::Any}}))
      spec.type = *t;
    return spec;
  }
  if (node.is_mapping()) {  // items: {type: string}
    MapFields f(node, *this, {"type", "items"});
    if (auto t = f.required("type", "the item type")) spec = type_spec(*t, "type");
    if (auto i = f.get("items")) spec.items = std::make_shared<TypeSpec>(type_spec(*i, "items"));
    spec.range = node.range;
    return spec;
  }
  wrong_type(node, what, "a type name");
  return spec;
}

std::vector<ParamSpec> Decoder::params(const Node& node, std::string_view what, bool allow_value) {
  std::vector<ParamSpec> out;
  if (!node.is_mapping()) {
    if (node.type != Node::Type::Null)
      wrong_type(node, what, "a mapping of names to specs (e.g. limit: {type: integer})");
    return out;
  }
  for (const auto& [key, spec_node] : node.entries) {
    ParamSpec param;
    param.name = key.text;
    param.name_range = key.range;
    param.range = spec_node.range;
    if (!is_valid_definition_name(key.text) || key.text.find('.') != std::string::npos) {
      diagnostics_.error("bad-name", key.range,
                         fmt::format("invalid {} name '{}': use letters, digits and '_'", what,
                                     key.text));
    }
    if (spec_node.is_scalar() && spec_node.type != Node::Type::Null) {
      param.type = type_spec(spec_node, "type");  // shorthand: `limit: integer`
    } else if (spec_node.is_mapping()) {
      std::vector<std::string_view> keys = {"type", "items", "mandatory", "default", "description"};
      if (allow_value) keys.push_back("value");
      MapFields f(spec_node, *this, keys);
      if (auto n = f.get("type")) param.type = type_spec(*n, "type");
      if (auto n = f.get("items")) {
        param.type.items = std::make_shared<TypeSpec>(type_spec(*n, "items"));
        if (param.type.type != ValueType::Array)
          diagnostics_.error("items-without-array", n->range,
                             fmt::format("'items' applies only to type array ('{}' is {})",
                                         key.text, value_type_name(param.type.type)));
      }
      if (auto n = f.get("mandatory"))
        if (auto b = boolean(*n, "mandatory")) param.mandatory = *b;
      if (auto n = f.get("description"))
        if (auto s = string(*n, "description")) param.description = *s;
      if (auto n = f.get("value")) param.value = tmpl(*n, "value");
      if (auto n = f.get("default")) {
        param.default_value = literal(*n);
        param.default_range = n->range;
        if (!value_fits(*param.default_value, param.type))
          diagnostics_.error("wrong-default-type", n->range,
                             fmt::format("default of '{}' must be {}, not {}", key.text,
                                         describe_type(param.type), Node::describe(n->type)));
      }
    } else {
      wrong_type(spec_node, key.text, "a type name or a mapping with 'type'");
    }
    out.push_back(std::move(param));
  }
  return out;
}

}  // namespace flowline
