#include "runtime/steps/rest_plan.h"

#include <vector>

#include "dsl/output_reads.h"
#include "dsl/validate/call_graph.h"
#include "runtime/eval/evaluator.h"
#include "runtime/http/url.h"

namespace flowline {
namespace {

void plan_step(const Action& action, const Step& step, const RestStep& rest,
               const ConnectionResolver& connections, RestPlans& plans) {
  if (!action_reads_step_output(action, step.id, "headers")) plans.unread_headers.insert(&rest);

  if (rest.connection.empty() || !rest.path.is_literal()) return;
  const ResolvedConnection* binding = connections.resolve(rest.connection);
  if (binding == nullptr || binding->connection == nullptr) return;
  auto path = render(rest.path, EvalScope{});  // no pill: needs no scope
  if (!path.ok()) return;
  auto url = build_url_path(binding->connection->url, to_display_string(*path));
  if (url.ok()) plans.fixed_url_paths.emplace(&rest, std::move(url).value());
}

}  // namespace

RestPlans plan_rest_steps(const DefinitionSet& set, const ConnectionResolver& connections) {
  RestPlans plans;
  for (const auto& definition : set.all()) {
    if (definition->kind != Kind::Action) continue;
    const auto& action = static_cast<const Action&>(*definition);
    std::vector<const StepList*> lists = {&action.steps};
    while (!lists.empty()) {
      const StepList* list = lists.back();
      lists.pop_back();
      for (const Step& step : *list) {
        if (const auto* rest = step.as<RestStep>()) plan_step(action, step, *rest, connections, plans);
        for (const StepList* nested : nested_step_lists(step)) lists.push_back(nested);
      }
    }
  }
  return plans;
}

}  // namespace flowline
