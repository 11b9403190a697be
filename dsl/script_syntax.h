// Script steps at validation time: compiling the JavaScript without running
// it (Duktape), and mapping a line of a script back to its definition file.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "definitions/source.h"
#include "definitions/steps.h"

namespace flowline {

struct ScriptSyntaxError {
  std::string message;  // "SyntaxError: unterminated string literal"
  int line = 0;         // 1-based within the script; 0 when unknown
};

// Compiles `code` as a program (never runs it). nullopt when it compiles.
std::optional<ScriptSyntaxError> find_script_syntax_error(std::string_view code);

// Where line `script_line` (1-based) of the step's script is in its file: that
// line, from its first non-blank character, when the script's lines are the
// file's (ScriptStep::code_line); otherwise the `code` value's own range.
SourceRange script_line_range(const ScriptStep& step, int script_line);

}  // namespace flowline
