// Checking values against declared types: run inputs, call inputs, outputs,
// and the typed parsing of `--input k=v` on the command line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "definitions/common.h"
#include "definitions/value.h"
#include "runtime/status.h"

namespace flowline {

// Whether `value` has the declared type (integers fit `number`; null fits
// nothing but `any`).
bool value_fits(const Value& value, const TypeSpec& type);

// "an integer", "an array of string values", … for messages.
std::string describe_type(const TypeSpec& type);
std::string describe_value_type(const Value& value);

// Applies defaults and checks every declared input: mandatory ones present,
// types right, no unknown names. `owner` names the callee in messages
// ("subflow 'global.x'"). Error code: "invalid_input".
Result<Value> check_inputs(const std::vector<ParamSpec>& specs, const Value& given,
                           std::string_view owner);

// Parses a command-line value for a declared type: integers, numbers and
// booleans from their text, arrays/objects/any from JSON, strings as given.
// An undeclared name is an error listing the declared inputs.
Result<Value> parse_typed_input(const std::vector<ParamSpec>& specs, std::string_view name,
                                std::string_view text, std::string_view owner);

// JSON text to Value: parse_json_value() in runtime/eval/evaluator.h.

}  // namespace flowline
