#include "dsl/validate/call_graph.h"

#include <algorithm>

namespace flowline {

std::string full_name_of(const Ref& ref) {
  return ref.full.empty() ? DefinitionSet::qualify(ref.name) : ref.full;
}

std::string short_name_of(const Definition& definition) {
  return definition.scope == "global" ? definition.name : definition.full_name;
}

const StepList* steps_of(const Definition& definition) {
  switch (definition.kind) {
    case Kind::Action:
      return &static_cast<const Action&>(definition).steps;
    case Kind::Subflow:
    case Kind::Flow:
      return &static_cast<const Subflow&>(definition).steps;
    default:
      return nullptr;
  }
}

std::vector<const StepList*> nested_step_lists(const Step& step) {
  std::vector<const StepList*> lists;
  if (const auto* s = step.as<IfStep>()) {
    for (const auto& branch : s->branches) lists.push_back(&branch.steps);
    if (s->else_steps) lists.push_back(&*s->else_steps);
  } else if (const auto* s = step.as<ForEachStep>()) {
    lists.push_back(&s->body);
  } else if (const auto* s = step.as<UntilStep>()) {
    lists.push_back(&s->body);
  } else if (const auto* s = step.as<ParallelStep>()) {
    for (const auto& branch : s->branches) lists.push_back(&branch);
  } else if (const auto* s = step.as<TryStep>()) {
    lists.push_back(&s->body);
    lists.push_back(&s->handler);
  }
  return lists;
}

void for_each_step(const StepList& steps, const std::function<void(const Step&)>& visit) {
  for (const Step& step : steps) {
    visit(step);
    for (const StepList* nested : nested_step_lists(step)) for_each_step(*nested, visit);
  }
}

const Definition* resolve_callee(const DefinitionSet& set, const CallStep& call) {
  Kind kind = call.target == CallStep::Target::Action ? Kind::Action : Kind::Subflow;
  return set.find(kind, full_name_of(call.callee));
}

std::string file_and_line(const SourceRange& range) {
  return range.path() + ":" + std::to_string(range.begin.line);
}

AliasBindings::AliasBindings(const DefinitionSet& set) : set_(set) {
  for (const Definition* definition : set.of_kind(Kind::HttpConnection)) {
    const auto& connection = static_cast<const HttpConnection&>(*definition);
    if (connection.active && !connection.alias.empty())
      active_[full_name_of(connection.alias)].push_back(&connection);
  }
}

const std::vector<const HttpConnection*>& AliasBindings::active_connections(
    const std::string& alias_full_name) const {
  static const std::vector<const HttpConnection*> kNone;
  auto it = active_.find(alias_full_name);
  return it == active_.end() ? kNone : it->second;
}

std::vector<const Credential*> AliasBindings::credentials(
    const std::string& alias_full_name) const {
  std::vector<const Credential*> credentials;
  for (const HttpConnection* connection : active_connections(alias_full_name)) {
    if (connection->credential.empty()) continue;
    const auto* credential =
        set_.find_as<Credential>(Kind::Credential, full_name_of(connection->credential));
    if (credential &&
        std::find(credentials.begin(), credentials.end(), credential) == credentials.end())
      credentials.push_back(credential);
  }
  return credentials;
}

}  // namespace flowline
