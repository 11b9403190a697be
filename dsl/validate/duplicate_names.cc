// [duplicate-name]: two definitions with one name. DefinitionSet::add keeps
// the first in its index, so every later one is reported at its name and
// points back at the first.
#include <map>
#include <utility>

#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

bool is_runnable(Kind kind) {
  return kind == Kind::Action || kind == Kind::Subflow || kind == Kind::Flow;
}

}  // namespace

void check_duplicate_names(const DefinitionSet& set, Diagnostics& diagnostics) {
  // Actions, subflows and flows share one namespace: `run NAME` must be unambiguous.
  std::map<std::pair<Kind, std::string>, const Definition*> first_by_name;
  for (const auto& definition : set.all()) {
    Kind space = is_runnable(definition->kind) ? Kind::Action : definition->kind;
    auto [it, inserted] =
        first_by_name.try_emplace({space, definition->full_name}, definition.get());
    if (inserted) continue;
    const Definition& first = *it->second;
    std::string where = first.name_range.known()
                            ? " (first defined at " + file_and_line(first.name_range) + ")"
                            : std::string();
    if (first.kind == definition->kind) {
      diagnostics.error("duplicate-name", definition->name_range,
                        "duplicate " + std::string(kind_name(definition->kind)) + " '" +
                            definition->full_name + "'" + where);
    } else {
      diagnostics.error("duplicate-name", definition->name_range,
                        std::string(kind_name(definition->kind)) + " '" + definition->full_name +
                            "' has the same name as " + std::string(kind_name(first.kind)) + " '" +
                            first.full_name + "'" + where,
                        "actions, subflows and flows share one namespace; rename one of them");
    }
  }
}

}  // namespace flowline
