#include "dsl/validate/validator.h"

namespace flowline {

void check_credential_grants(const DefinitionSet& set, Diagnostics& diagnostics) {}

}  // namespace flowline
