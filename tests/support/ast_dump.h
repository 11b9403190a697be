// A canonical text form of a DefinitionSet — every field, no source
// positions — so tests can compare what YAML and JSON inputs decode to.
#pragma once

#include <string>

#include "definitions/definitions.h"

namespace flowline::test_support {

std::string dump_definitions(const DefinitionSet& set);

}  // namespace flowline::test_support
