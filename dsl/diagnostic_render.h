// Rendering diagnostics for people (text, with the source line and a caret)
// and for tools (JSON, SARIF 2.1.0).
#pragma once

#include <string>

#include "dsl/diagnostics.h"

namespace flowline {

struct TextRenderOptions {
  bool color = false;  // ANSI colours (the CLI turns them on for a TTY without NO_COLOR)
};

// One diagnostic:
//   path:line:col: error [code] message
//     12 |     methd: GET
//        |     ^~~~~
//   help: …
std::string render_text(const Diagnostic& diagnostic, const TextRenderOptions& options = {});
// Every diagnostic, then a summary line ("2 errors, 1 warning").
std::string render_text(const Diagnostics& diagnostics, const TextRenderOptions& options = {});
// {"diagnostics":[{"severity","code","file","line","column","end_line","end_column","message","help"}],
//  "errors":N,"warnings":N}
std::string render_json(const Diagnostics& diagnostics);
// A SARIF 2.1.0 log with one run whose tool is flowline.
std::string render_sarif(const Diagnostics& diagnostics);

}  // namespace flowline
