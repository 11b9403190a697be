#include "definitions/definitions.h"

#include <cstring>

namespace flowline {

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::OAuthProfile: return "OAuthProfile";
    case Kind::ConnectionAlias: return "ConnectionAlias";
    case Kind::HttpConnection: return "HttpConnection";
    case Kind::Credential: return "Credential";
    case Kind::Action: return "Action";
    case Kind::Subflow: return "Subflow";
    case Kind::Flow: return "Flow";
  }
  return "?";
}

std::optional<Kind> kind_from_name(std::string_view name) {
  for (Kind k : {Kind::OAuthProfile, Kind::ConnectionAlias, Kind::HttpConnection, Kind::Credential,
                 Kind::Action, Kind::Subflow, Kind::Flow}) {
    if (kind_name(k) == name) return k;
  }
  return std::nullopt;
}

std::string_view value_type_name(ValueType type) {
  switch (type) {
    case ValueType::String: return "string";
    case ValueType::Integer: return "integer";
    case ValueType::Number: return "number";
    case ValueType::Boolean: return "boolean";
    case ValueType::Object: return "object";
    case ValueType::Array: return "array";
    case ValueType::Any: return "any";
  }
  return "?";
}

std::string_view step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::Rest: return "rest";
    case StepKind::Script: return "script";
    case StepKind::Log: return "log";
    case StepKind::JsonParse: return "json_parse";
    case StepKind::Call: return "call";
    case StepKind::If: return "if";
    case StepKind::ForEach: return "for_each";
    case StepKind::Until: return "until";
    case StepKind::Parallel: return "parallel";
    case StepKind::Try: return "try";
    case StepKind::Set: return "set";
    case StepKind::ExitLoop: return "exit_loop";
    case StepKind::SkipIteration: return "skip_iteration";
    case StepKind::EndFlow: return "end_flow";
    case StepKind::Wait: return "wait";
    case StepKind::AssignOutputs: return "assign_outputs";
  }
  return "?";
}

std::string_view http_method_name(HttpMethod method) {
  switch (method) {
    case HttpMethod::Get: return "GET";
    case HttpMethod::Post: return "POST";
    case HttpMethod::Put: return "PUT";
    case HttpMethod::Patch: return "PATCH";
    case HttpMethod::Delete: return "DELETE";
  }
  return "?";
}

std::string DefinitionSet::qualify(std::string_view name) {
  if (name.find('.') != std::string_view::npos) return std::string(name);
  return "global." + std::string(name);
}

static bool is_runnable(Kind kind) {
  return kind == Kind::Action || kind == Kind::Subflow || kind == Kind::Flow;
}

void DefinitionSet::add(std::unique_ptr<Definition> definition) {
  // Runnables share one namespace in the index.
  Kind index_kind = is_runnable(definition->kind) ? Kind::Action : definition->kind;
  index_.try_emplace({index_kind, definition->full_name}, definition.get());
  definitions_.push_back(std::move(definition));
}

std::string_view DefinitionSet::QualifiedName::of(std::string_view name) {
  if (name.find('.') != std::string_view::npos) return name;
  constexpr std::string_view kGlobal = "global.";
  if (kGlobal.size() + name.size() <= sizeof buffer_) {
    std::memcpy(buffer_, kGlobal.data(), kGlobal.size());
    std::memcpy(buffer_ + kGlobal.size(), name.data(), name.size());
    return std::string_view(buffer_, kGlobal.size() + name.size());
  }
  spill_ = qualify(name);
  return spill_;
}

const Definition* DefinitionSet::lookup(Kind index_kind, std::string_view name) const {
  QualifiedName full;
  auto it = index_.find(std::pair<Kind, std::string_view>(index_kind, full.of(name)));
  return it == index_.end() ? nullptr : it->second;
}

const Definition* DefinitionSet::find(Kind kind, std::string_view name) const {
  const Definition* found = lookup(is_runnable(kind) ? Kind::Action : kind, name);
  return found != nullptr && found->kind == kind ? found : nullptr;
}

const Definition* DefinitionSet::find_runnable(std::string_view name) const {
  return lookup(Kind::Action, name);
}

std::vector<const Definition*> DefinitionSet::of_kind(Kind kind) const {
  std::vector<const Definition*> out;
  for (const auto& d : definitions_)
    if (d->kind == kind) out.push_back(d.get());
  return out;
}

}  // namespace flowline
