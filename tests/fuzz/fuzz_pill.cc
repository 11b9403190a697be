// libFuzzer target for the pill language: any bytes as a template string and
// as a bare expression. Beyond not crashing, hanging or leaking, it checks the
// contract of parse_template: a template has parts exactly when nothing was
// reported, and every node's range lies inside the text in order.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "dsl/pill_parser.h"

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

void check_ranges(const flowline::Expr& expr, size_t text_size) {
  require(expr.range.known());
  require(expr.range.begin.offset <= expr.range.end.offset);
  require(expr.range.end.offset <= text_size);
  for (const auto& arg : expr.args) {
    require(arg != nullptr);
    check_ranges(*arg, text_size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto file = std::make_shared<flowline::SourceFile>("fuzz.yaml", text);
  flowline::SourceRange range{file, file->position_at(0), file->position_at(size)};

  flowline::Diagnostics diagnostics;
  flowline::Template tmpl = flowline::parse_template(text, range, 0, diagnostics);
  require(tmpl.source == text);
  require(tmpl.parts.empty() == (diagnostics.has_errors() || text.empty()));
  for (const auto& part : tmpl.parts)
    if (part.expr) check_ranges(*part.expr, size);

  flowline::Diagnostics expression_diagnostics;
  flowline::ExprPtr expr = flowline::parse_expression(text, range, 0, expression_diagnostics);
  require((expr == nullptr) == expression_diagnostics.has_errors());
  if (expr) check_ranges(*expr, size);
  for (const auto& d : expression_diagnostics.items()) require(!d.message.empty());
  return 0;
}
