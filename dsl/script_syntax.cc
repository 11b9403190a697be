#include "dsl/script_syntax.h"

#include <duktape.h>

#include <cstdlib>

namespace flowline {

namespace {

// Compiling runs no bytecode, so the heap never calls the execution-timeout
// hook; the fatal handler only guards against a Duktape bug.
void fatal(void*, const char* message) {
  std::fprintf(stderr, "flowline: fatal JavaScript engine error while compiling a script: %s\n",
               message ? message : "(no message)");
  std::abort();
}

int line_from_message(std::string_view message) {
  size_t at = message.rfind("(line ");
  if (at == std::string_view::npos) return 0;
  return std::atoi(std::string(message.substr(at + 6)).c_str());
}

}  // namespace

std::optional<ScriptSyntaxError> find_script_syntax_error(std::string_view code) {
  duk_context* ctx = duk_create_heap(nullptr, nullptr, nullptr, nullptr, fatal);
  if (!ctx) return ScriptSyntaxError{"the JavaScript engine could not start (out of memory)", 0};
  duk_push_string(ctx, "script");
  std::optional<ScriptSyntaxError> error;
  if (duk_pcompile_lstring_filename(ctx, DUK_COMPILE_SHEBANG, code.data(), code.size()) != 0) {
    ScriptSyntaxError e;
    if (duk_is_error(ctx, -1)) {
      duk_get_prop_string(ctx, -1, "lineNumber");
      if (duk_is_number(ctx, -1)) e.line = duk_get_int(ctx, -1);
      duk_pop(ctx);
    }
    e.message = duk_safe_to_string(ctx, -1);
    if (e.line == 0) e.line = line_from_message(e.message);
    // Duktape appends " (line N)"; the diagnostic gives the line itself.
    if (size_t at = e.message.rfind(" (line "); at != std::string::npos) e.message.resize(at);
    error = std::move(e);
  }
  duk_destroy_heap(ctx);
  return error;
}

SourceRange script_line_range(const ScriptStep& step, int script_line) {
  const SourceRange& code = step.code_range;
  if (!code.known() || step.code_line == 0 || script_line <= 0) return code;
  if (step.code_line == code.begin.line) return code;  // a one-line script: its own range
  uint32_t line = step.code_line + static_cast<uint32_t>(script_line) - 1;
  if (line > code.file->line_count()) return code;
  std::string_view text = code.file->line_text(line);
  size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) first = 0;
  SourceRange out;
  out.file = code.file;
  out.begin = code.file->position_at_line_byte(line - 1, first);
  out.end = code.file->position_at_line_byte(line - 1, text.size());
  return out;
}

}  // namespace flowline
