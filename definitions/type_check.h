// Whether a value has a declared type, and how to name a type in messages.
// Shared by validation (input defaults) and the runtime (inputs, outputs).
#pragma once

#include <string>

#include "definitions/common.h"
#include "flowline/value.h"

namespace flowline {

// Integers fit `number`; null fits nothing but `any`.
bool value_fits(const Value& value, const TypeSpec& type);

// "an integer", "an array of string values", … for messages.
std::string describe_type(const TypeSpec& type);

}  // namespace flowline
