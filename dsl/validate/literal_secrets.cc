#include "dsl/validate/validator.h"

namespace flowline {

void check_literal_secrets(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
