#include "dsl/validate/validator.h"

namespace flowline {

void check_step_ids(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
