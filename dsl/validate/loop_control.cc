#include "dsl/validate/validator.h"

namespace flowline {

void check_loop_control(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
