// JSON Schema (draft-07) of every definition kind, for editors and tools.
#pragma once

#include <string>

namespace flowline {

// The schema as pretty-printed JSON text. A document validates against it
// when it is one definition of any kind (the schema dispatches on `kind`).
std::string definition_json_schema();

}  // namespace flowline
