// [dangling-reference]: every name a definition uses must name a definition
// of the right kind. Required references that are missing altogether are the
// decoder's [missing-field]; this rule only checks the ones written.
#include <string>
#include <vector>

#include "dsl/suggest.h"
#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

std::string_view noun_of(Kind kind) {
  switch (kind) {
    case Kind::OAuthProfile:
      return "OAuth profile";
    case Kind::ConnectionAlias:
      return "connection alias";
    case Kind::HttpConnection:
      return "HTTP connection";
    case Kind::Credential:
      return "credential";
    case Kind::Action:
      return "action";
    case Kind::Subflow:
      return "subflow";
    case Kind::Flow:
      return "flow";
  }
  return "definition";
}

// Names of `kind` spelt the way the reference was: bare names for the global
// scope unless the reference was itself qualified.
std::vector<std::string> candidates_for(const DefinitionSet& set, Kind kind,
                                        std::string_view written) {
  bool qualified = written.find('.') != std::string_view::npos;
  std::vector<std::string> names;
  for (const Definition* definition : set.of_kind(kind))
    names.push_back(qualified ? definition->full_name : short_name_of(*definition));
  return names;
}

class ReferenceChecker {
 public:
  ReferenceChecker(const DefinitionSet& set, Diagnostics& diagnostics)
      : set_(set), diagnostics_(diagnostics) {}

  void check(const Ref& ref, Kind kind) {
    if (ref.empty() || set_.find(kind, full_name_of(ref))) return;
    if (const Definition* other = other_kind_named(ref, kind)) {
      report_wrong_kind(ref, kind, *other);
      return;
    }
    diagnostics_.error("dangling-reference", ref.range,
                       "unknown " + std::string(noun_of(kind)) + " '" + ref.name + "'" +
                           did_you_mean(ref.name, candidates_for(set_, kind, ref.name)));
  }

 private:
  // A definition of a kind the reference might have been confused with.
  const Definition* other_kind_named(const Ref& ref, Kind kind) const {
    std::string full = full_name_of(ref);
    switch (kind) {
      case Kind::Action:
      case Kind::Subflow:
        return set_.find_runnable(full);
      case Kind::ConnectionAlias:
        return set_.find(Kind::HttpConnection, full);
      default:
        return nullptr;
    }
  }

  void report_wrong_kind(const Ref& ref, Kind wanted, const Definition& found) {
    std::string message = "'" + ref.name + "' is " + article(found.kind) + " " +
                          std::string(kind_name(found.kind)) + ", not " + article(wanted) + " " +
                          std::string(kind_name(wanted));
    std::string help;
    if (found.kind == Kind::Action) {
      help = "call an action with `action: " + ref.name + "`";
    } else if (found.kind == Kind::Subflow) {
      help = "call a subflow with `subflow: " + ref.name + "`";
    } else if (found.kind == Kind::Flow) {
      help = "a flow cannot be called; make '" + ref.name + "' a Subflow to call it";
    } else if (found.kind == Kind::HttpConnection) {
      const auto& connection = static_cast<const HttpConnection&>(found);
      help = "a REST step names the connection alias";
      if (!connection.alias.empty()) help += " ('" + connection.alias.name + "')";
      help += ", not the HTTP connection";
    }
    diagnostics_.error("dangling-reference", ref.range, message, help);
  }

  static std::string article(Kind kind) {
    return kind == Kind::Action || kind == Kind::OAuthProfile || kind == Kind::HttpConnection ? "an"
                                                                                              : "a";
  }

  const DefinitionSet& set_;
  Diagnostics& diagnostics_;
};

}  // namespace

void check_references(const DefinitionSet& set, Diagnostics& diagnostics) {
  ReferenceChecker checker(set, diagnostics);
  for (const auto& definition : set.all()) {
    switch (definition->kind) {
      case Kind::HttpConnection: {
        const auto& connection = static_cast<const HttpConnection&>(*definition);
        checker.check(connection.alias, Kind::ConnectionAlias);
        checker.check(connection.credential, Kind::Credential);
        break;
      }
      case Kind::Credential: {
        const auto& credential = static_cast<const Credential&>(*definition);
        checker.check(credential.oauth_profile, Kind::OAuthProfile);
        break;
      }
      default:
        break;
    }
    const StepList* steps = steps_of(*definition);
    if (!steps) continue;
    for_each_step(*steps, [&](const Step& step) {
      if (const auto* rest = step.as<RestStep>()) {
        checker.check(rest->connection, Kind::ConnectionAlias);
      } else if (const auto* call = step.as<CallStep>()) {
        checker.check(call->callee,
                      call->target == CallStep::Target::Action ? Kind::Action : Kind::Subflow);
      }
    });
  }
}

}  // namespace flowline
