// [missing-step-id] and [duplicate-step-id]: `steps.<id>` must name exactly
// one step of the definition. Action steps produce outputs, so they need an
// id; flow logic may go without one.
#include <map>
#include <string>

#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

bool is_action_step(StepKind kind) {
  return kind == StepKind::Rest || kind == StepKind::Script || kind == StepKind::Log ||
         kind == StepKind::JsonParse;
}

}  // namespace

void check_step_ids(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const auto& definition : set.all()) {
    const StepList* steps = steps_of(*definition);
    if (!steps) continue;
    // Ids are unique in the whole tree, not per block: a pill may name a step
    // in an enclosing block, and branches would otherwise shadow each other.
    std::map<std::string, const Step*, std::less<>> first_with_id;
    for_each_step(*steps, [&](const Step& step) {
      if (step.id.empty()) {
        // Action steps need ids so outputs can be read; a `log` in a subflow
        // or flow has no outputs worth naming.
        bool needs_id = is_action_step(step.kind()) &&
                        (definition->kind == Kind::Action || step.kind() != StepKind::Log);
        if (needs_id) {
          std::string keyword(step_kind_name(step.kind()));
          diagnostics.error("missing-step-id", step.range, "'" + keyword + "' step has no id",
                            "add `id: <name>` so its outputs can be read as `steps.<name>`");
        }
        return;
      }
      auto [it, inserted] = first_with_id.try_emplace(step.id, &step);
      if (inserted) return;
      diagnostics.error("duplicate-step-id", step.id_range,
                        "duplicate step id '" + step.id + "' (first used on line " +
                            std::to_string(it->second->id_range.begin.line) + ")");
    });
  }
}

}  // namespace flowline
