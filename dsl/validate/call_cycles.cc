#include "dsl/validate/validator.h"

namespace flowline {

void check_call_cycles(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
