#include "dsl/validate/validator.h"

namespace flowline {

void check_alias_connections(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
