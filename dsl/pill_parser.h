// The pill language: `{{ expression }}` inside definition strings
// (DESIGN.md §2). Parsed once when definitions load; the runtime only
// evaluates the resulting Expr trees.
#pragma once

#include <string>
#include <string_view>

#include "definitions/template.h"
#include "dsl/diagnostics.h"

namespace flowline {

// Named limits of the pill language.
struct PillLimits {
  static constexpr size_t kMaxExpressionBytes = 64 * 1024;  // "pill-too-long"
  static constexpr int kMaxNestingDepth = 64;               // "pill-too-deep"
};

// Splits `text` into literal parts and pills and parses each pill.
// `range` is where the string was written; `text_offset` is the file byte
// offset of text[0] when the text stands verbatim in the file (Node::text_offset),
// or UINT32_MAX, in which case diagnostics point at `range`.
// Syntax errors ("pill-syntax"), unknown functions ("unknown-function", with
// "did you mean") and wrong argument counts ("function-arity") are reported
// to `diagnostics`; the returned Template then has no parts.
Template parse_template(std::string text, const SourceRange& range, uint32_t text_offset,
                        Diagnostics& diagnostics);

// Parses one bare expression (no braces), e.g. for tests and tools.
ExprPtr parse_expression(std::string_view text, const SourceRange& range, uint32_t text_offset,
                         Diagnostics& diagnostics);

// The name of a builtin as written in pills ("starts_with").
std::string_view builtin_name(Builtin builtin);

}  // namespace flowline
