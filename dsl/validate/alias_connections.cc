// [alias-without-connection] and [multiple-active-connections]: a REST step
// binds through its alias to exactly one active HttpConnection, so an alias
// needs one and may not have two.
#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {

void check_alias_connections(const DefinitionSet& set, Diagnostics& diagnostics) {
  AliasBindings bindings(set);
  for (const Definition* definition : set.of_kind(Kind::ConnectionAlias)) {
    const auto& alias = static_cast<const ConnectionAlias&>(*definition);
    const auto& active = bindings.active_connections(alias.full_name);
    if (active.empty()) {
      // A `credential` alias carries only a credential; it has no endpoint to serve.
      if (alias.type != ConnectionAlias::Type::ConnectionAndCredential) continue;
      diagnostics.error("alias-without-connection", alias.name_range,
                        "connection alias '" + short_name_of(alias) + "' has no active connection",
                        "add an HttpConnection with `alias: " + short_name_of(alias) +
                            "`, or set `active: true` on one that has it");
      continue;
    }
    const HttpConnection& first = *active.front();
    for (size_t i = 1; i < active.size(); ++i) {
      diagnostics.error(
          "multiple-active-connections", active[i]->alias.range,
          "alias '" + active[i]->alias.name + "' already has an active connection '" +
              short_name_of(first) + "' (" + file_and_line(first.name_range) + ")",
          "set `active: false` on all but one connection of '" + short_name_of(alias) + "'");
    }
  }
}

}  // namespace flowline
