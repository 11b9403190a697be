// Chrome trace-event JSON of one run (`flowline run --trace FILE`), for
// Perfetto (ui.perfetto.dev) and chrome://tracing.
//
// Shape: {"traceEvents": [...], "displayTimeUnit": "ms"} with one complete
// event ("ph": "X") for the run and one per step; "ts" and "dur" are integer
// microseconds since the run started (the run's wall-clock start is in its
// args). A step's "name" is its path ("get/fetch"), its "cat" its type, its
// "args" its id, state, HTTP method, URL, status, attempts and time, and its
// error. Viewers nest complete events on one thread by time, so a step that
// ran inside another (a call's children) shows beneath it; steps that
// overlap without nesting (parallel branches) are put on further threads
// ("tid") so that every thread's events nest properly. Metadata events ("ph":
// "M") name the process and the threads.
//
// Secrets: URLs pass through redact_url and messages through redact_text;
// step inputs and outputs are not written.
//
// Thread-safety: pure functions of their argument. Failure: write_trace
// returns "trace_io" (naming the path and the system's reason) when the file
// cannot be written.
#pragma once

#include <string>

#include "runtime/run_types.h"
#include "runtime/status.h"

namespace flowline {

std::string chrome_trace_json(const RunResult& run);

// Writes chrome_trace_json(run) to `path`, replacing the file.
Status write_trace(const RunResult& run, const std::string& path);

}  // namespace flowline
