// Checking values against declared types: run inputs, call inputs, outputs,
// and the typed parsing of `--input k=v` on the command line.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/common.h"
#include "definitions/type_check.h"
#include "definitions/value.h"
#include "runtime/status.h"

namespace flowline {

// value_fits() and describe_type() are in definitions/type_check.h.
std::string describe_value_type(const Value& value);

// Applies defaults and checks every declared input: mandatory ones present,
// types right, no unknown names. `owner` names the callee in messages
// ("subflow 'global.x'"). Error code: "invalid_input".
Result<Value> check_inputs(const std::vector<ParamSpec>& specs, const Value& given,
                           std::string_view owner);
// The same, with the callee's name made only when there is an error to report.
Result<Value> check_inputs(const std::vector<ParamSpec>& specs, const Value& given,
                           const std::function<std::string()>& owner);

// Parses a command-line value for a declared type: integers, numbers and
// booleans from their text, arrays/objects/any from JSON, strings as given.
// An undeclared name is an error listing the declared inputs.
Result<Value> parse_typed_input(const std::vector<ParamSpec>& specs, std::string_view name,
                                std::string_view text, std::string_view owner);

// JSON text to Value: parse_json_value() in runtime/eval/evaluator.h.

}  // namespace flowline
