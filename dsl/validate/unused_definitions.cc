// [unused-definition]: a profile, credential, alias or action that nothing
// uses is usually a typo or a leftover. Subflows and flows are entry points
// and HttpConnections are used through their alias, so neither is reported.
//
// A set without any subflow or flow is a library of actions and connections
// meant to be used by other sets (or run action by action), where "nothing
// calls it" is the normal state, so such a set draws no warning at all.
#include <set>
#include <string>

#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

struct Uses {
  std::set<std::string> profiles, credentials, aliases, actions;
};

Uses collect_uses(const DefinitionSet& set) {
  Uses uses;
  for (const auto& definition : set.all()) {
    if (definition->kind == Kind::Credential) {
      const auto& credential = static_cast<const Credential&>(*definition);
      if (!credential.oauth_profile.empty())
        uses.profiles.insert(full_name_of(credential.oauth_profile));
    } else if (definition->kind == Kind::HttpConnection) {
      const auto& connection = static_cast<const HttpConnection&>(*definition);
      if (!connection.credential.empty())
        uses.credentials.insert(full_name_of(connection.credential));
    }
    const StepList* steps = steps_of(*definition);
    if (!steps) continue;
    for_each_step(*steps, [&](const Step& step) {
      if (const auto* rest = step.as<RestStep>(); rest && !rest->connection.empty()) {
        uses.aliases.insert(full_name_of(rest->connection));
      } else if (const auto* call = step.as<CallStep>();
                 call && call->target == CallStep::Target::Action) {
        uses.actions.insert(full_name_of(call->callee));
      }
    });
  }
  return uses;
}

bool has_entry_point(const DefinitionSet& set) {
  for (const auto& definition : set.all())
    if (definition->kind == Kind::Subflow || definition->kind == Kind::Flow) return true;
  return false;
}

}  // namespace

void check_unused_definitions(const DefinitionSet& set, Diagnostics& diagnostics) {
  if (!has_entry_point(set)) return;
  Uses uses = collect_uses(set);
  for (const auto& definition : set.all()) {
    std::string name = "'" + short_name_of(*definition) + "'";
    const std::string& full = definition->full_name;
    switch (definition->kind) {
      case Kind::OAuthProfile:
        if (!uses.profiles.contains(full))
          diagnostics.warning("unused-definition", definition->name_range,
                              "OAuth profile " + name + " is not used by any credential");
        break;
      case Kind::Credential:
        if (!uses.credentials.contains(full))
          diagnostics.warning("unused-definition", definition->name_range,
                              "credential " + name + " is not used by any connection");
        break;
      case Kind::ConnectionAlias:
        if (!uses.aliases.contains(full))
          diagnostics.warning("unused-definition", definition->name_range,
                              "connection alias " + name + " is not used by any REST step");
        break;
      case Kind::Action:
        if (!uses.actions.contains(full))
          diagnostics.warning("unused-definition", definition->name_range,
                              "action " + name + " is not called by any subflow or flow");
        break;
      default:
        break;
    }
  }
}

}  // namespace flowline
