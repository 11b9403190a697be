// Semantic validation of a loaded definition set (DESIGN.md §3). Each rule
// lives in its own file and reports into the same Diagnostics, so one pass
// reports every problem.
#pragma once

#include "definitions/definitions.h"
#include "dsl/diagnostics.h"

namespace flowline {

// Runs every rule below, in order.
void validate(const DefinitionSet& set, Diagnostics& diagnostics);

// The rules. Each reads the set and only adds diagnostics.
void check_duplicate_names(const DefinitionSet& set, Diagnostics& diagnostics);     // duplicate_names.cc
void check_references(const DefinitionSet& set, Diagnostics& diagnostics);          // references.cc
void check_alias_connections(const DefinitionSet& set, Diagnostics& diagnostics);   // alias_connections.cc
void check_step_ids(const DefinitionSet& set, Diagnostics& diagnostics);            // step_ids.cc
void check_loop_control(const DefinitionSet& set, Diagnostics& diagnostics);        // loop_control.cc
void check_pill_references(const DefinitionSet& set, Diagnostics& diagnostics);     // pill_references.cc
void check_call_cycles(const DefinitionSet& set, Diagnostics& diagnostics);         // call_cycles.cc
void check_run_as_personal(const DefinitionSet& set, Diagnostics& diagnostics);     // run_as_personal.cc
void check_credential_grants(const DefinitionSet& set, Diagnostics& diagnostics);   // credential_grants.cc
void check_literal_secrets(const DefinitionSet& set, Diagnostics& diagnostics);     // literal_secrets.cc
void check_unused_definitions(const DefinitionSet& set, Diagnostics& diagnostics);  // unused_definitions.cc
void check_script_syntax(const DefinitionSet& set, Diagnostics& diagnostics);       // script_syntax.cc

}  // namespace flowline
