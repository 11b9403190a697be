#include "dsl/validate/validator.h"

namespace flowline {

void check_run_as_personal(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
