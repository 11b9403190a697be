#include "dsl/validate/validator.h"

namespace flowline {

void validate(const DefinitionSet& set, Diagnostics& diagnostics) {
  check_duplicate_names(set, diagnostics);
  check_references(set, diagnostics);
  check_alias_connections(set, diagnostics);
  check_step_ids(set, diagnostics);
  check_loop_control(set, diagnostics);
  check_pill_references(set, diagnostics);
  check_call_cycles(set, diagnostics);
  check_run_as_personal(set, diagnostics);
  check_credential_grants(set, diagnostics);
  check_literal_secrets(set, diagnostics);
  check_unused_definitions(set, diagnostics);
  check_script_syntax(set, diagnostics);
}

}  // namespace flowline
