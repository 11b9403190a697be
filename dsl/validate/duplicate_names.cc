#include "dsl/validate/validator.h"

namespace flowline {

void check_duplicate_names(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
