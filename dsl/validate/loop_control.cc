// [loop-control-outside-loop]: `exit_loop` and `skip_iteration` act on the
// innermost enclosing loop of the same definition. Branches, parallel blocks
// and try/catch inside a loop are still inside it; a loop in the caller of a
// subflow is not, because each run of a subflow is its own scope.
#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

void check_steps(const StepList& steps, bool inside_loop, Diagnostics& diagnostics) {
  for (const Step& step : steps) {
    StepKind kind = step.kind();
    if (!inside_loop && (kind == StepKind::ExitLoop || kind == StepKind::SkipIteration)) {
      diagnostics.error("loop-control-outside-loop", step.range,
                        "'" + std::string(step_kind_name(kind)) +
                            "' is only allowed inside 'for_each' or 'until'");
    }
    bool opens_loop = kind == StepKind::ForEach || kind == StepKind::Until;
    for (const StepList* nested : nested_step_lists(step))
      check_steps(*nested, inside_loop || opens_loop, diagnostics);
  }
}

}  // namespace

void check_loop_control(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const auto& definition : set.all()) {
    if (const StepList* steps = steps_of(*definition))
      check_steps(*steps, /*inside_loop=*/false, diagnostics);
  }
}

}  // namespace flowline
