#include "dsl/validate/validator.h"

namespace flowline {

void check_unused_definitions(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
