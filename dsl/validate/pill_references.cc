#include "dsl/validate/validator.h"

namespace flowline {

void check_pill_references(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
