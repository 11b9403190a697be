// [personal-credential-in-system-context]: the rule the product exists for.
// A subflow or flow that runs as system has no session user, so a REST step it
// reaches cannot use a personal (per-user) credential: at run time the step
// would fail with 401. Reaching follows action calls and calls of subflows
// that also run as system; a subflow with `run_as: session_user` runs as the
// session user whoever calls it (DESIGN.md §4 "Identity": children do not
// inherit a parent's run_as), so the walk stops there, as the runtime does.
// Actions run directly by a user run as that user, so they are not roots.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

// What a definition does that matters here: REST steps bound to an alias,
// and calls, in written order.
struct Hop {
  const Step* step;
  const RestStep* rest = nullptr;      // a REST step through an alias
  const Definition* callee = nullptr;  // or a resolved call
};

using HopsByDefinition = std::map<const Definition*, std::vector<Hop>>;

HopsByDefinition hops_of_runnables(const DefinitionSet& set) {
  HopsByDefinition hops;
  for (const auto& definition : set.all()) {
    const StepList* steps = steps_of(*definition);
    if (!steps) continue;
    auto& list = hops[definition.get()];
    for_each_step(*steps, [&](const Step& step) {
      if (const auto* rest = step.as<RestStep>(); rest && !rest->connection.empty()) {
        list.push_back({&step, rest, nullptr});
      } else if (const auto* call = step.as<CallStep>()) {
        if (const Definition* callee = resolve_callee(set, *call))
          list.push_back({&step, nullptr, callee});
      }
    });
  }
  return hops;
}

std::string describe_rest_step(const Step& step, const RestStep& rest) {
  std::string label = step.id.empty() ? "rest step on line " + std::to_string(step.range.begin.line)
                                      : "step '" + step.id + "'";
  return label + " (alias '" + rest.connection.name + "')";
}

std::string describe_callee(const Definition& callee) {
  return (callee.kind == Kind::Action ? "action " : "subflow ") + callee.full_name;
}

class SystemContextWalk {
 public:
  SystemContextWalk(const HopsByDefinition& hops, const AliasBindings& bindings,
                    Diagnostics& diagnostics)
      : hops_(hops), bindings_(bindings), diagnostics_(diagnostics) {}

  // Reports each personal credential reachable from `root` once, with the
  // first path (in written order) that reaches it.
  void run(const Subflow& root) {
    std::set<const Definition*> visited{&root};
    std::set<const Credential*> reported;
    // An explicit stack: a long chain of calls in a hostile file must not
    // overflow the native one.
    struct Frame {
      const Definition* definition;
      size_t next_hop = 0;
    };
    std::vector<Frame> path{{&root}};
    while (!path.empty()) {
      Frame& frame = path.back();
      const auto& hops = hops_.at(frame.definition);
      if (frame.next_hop == hops.size()) {
        path.pop_back();
        continue;
      }
      const Hop& hop = hops[frame.next_hop++];
      if (hop.callee) {
        bool regains_user = hop.callee->kind != Kind::Action &&
                            static_cast<const Subflow*>(hop.callee)->run_as == RunAs::SessionUser;
        if (!regains_user && visited.insert(hop.callee).second) path.push_back({hop.callee});
        continue;
      }
      for (const Credential* credential :
           bindings_.credentials(full_name_of(hop.rest->connection))) {
        if (credential->type != Credential::Type::OAuth2 ||
            credential->integration_type != Credential::IntegrationType::Personal ||
            !reported.insert(credential).second)
          continue;
        std::string route = root.full_name;
        for (size_t i = 1; i < path.size(); ++i)
          route += " → " + describe_callee(*path[i].definition);
        route += " → " + describe_rest_step(*hop.step, *hop.rest);
        report(root, *credential, route);
      }
    }
  }

 private:
  void report(const Subflow& root, const Credential& credential, const std::string& route) {
    auto run_as = root.fields.find("run_as");
    const SourceRange& range = run_as != root.fields.end() ? run_as->second : root.name_range;
    std::string noun = root.kind == Kind::Flow ? "flow" : "subflow";
    diagnostics_.error("personal-credential-in-system-context", range,
                       noun + " '" + root.full_name + "' runs as system but reaches personal " +
                           "credential '" + credential.full_name + "' through " + route,
                       "set `run_as: session_user` on '" + root.full_name +
                           "' so the REST step uses the session user's own token");
  }

  const HopsByDefinition& hops_;
  const AliasBindings& bindings_;
  Diagnostics& diagnostics_;
};

}  // namespace

void check_run_as_personal(const DefinitionSet& set, Diagnostics& diagnostics) {
  HopsByDefinition hops = hops_of_runnables(set);
  AliasBindings bindings(set);
  SystemContextWalk walk(hops, bindings, diagnostics);
  for (const auto& definition : set.all()) {
    if (definition->kind != Kind::Subflow && definition->kind != Kind::Flow) continue;
    const auto& subflow = static_cast<const Subflow&>(*definition);
    if (subflow.run_as == RunAs::System) walk.run(subflow);
  }
}

}  // namespace flowline
