// Printing values and run results for people and tools.
#pragma once

#include <string>

#include "flowline/value.h"
#include "runtime/run_types.h"

namespace flowline::cli {

// Indented JSON (2 spaces), for people.
std::string pretty_json(const Value& value, int indent = 0);
// YAML (block style), via yaml-cpp's emitter.
std::string to_yaml(const Value& value);

// `run --output json|yaml|text`: {"context_id", "state", "outputs"} plus
// "error": {"code", "message", "step"} when the run failed.
std::string render_run_result(const RunResult& result, const std::string& format);

// "59m 59s", "2h 3m", "12s", "expired 3m ago".
std::string describe_duration(std::chrono::seconds seconds);

}  // namespace flowline::cli
