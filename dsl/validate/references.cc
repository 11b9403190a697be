#include "dsl/validate/validator.h"

namespace flowline {

void check_references(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
