// Which step outputs an action's pills can read. The runtime uses it to skip
// building outputs nobody reads (a REST step's `headers` object, one value
// per response header, when no pill of its action mentions it).
#pragma once

#include <string_view>

#include "definitions/definitions.h"

namespace flowline {

// Whether a pill of `action` (in its steps, output values or
// error_evaluation) can read output `field` of its step `step_id`: it names
// steps.<step_id>.<field>, or takes steps.<step_id> or `steps` whole, or
// picks the step or the field with a computed index. Conservative: true
// whenever the pills alone cannot rule it out.
bool action_reads_step_output(const Action& action, std::string_view step_id,
                              std::string_view field);

}  // namespace flowline
