#include "dsl/diagnostics.h"

#include <algorithm>
#include <tuple>

namespace flowline {

Diagnostic& Diagnostics::error(std::string code, const SourceRange& range, std::string message,
                               std::string help) {
  items_.push_back({Severity::Error, std::move(code), range, std::move(message), std::move(help)});
  return items_.back();
}

Diagnostic& Diagnostics::warning(std::string code, const SourceRange& range, std::string message,
                                 std::string help) {
  items_.push_back({Severity::Warning, std::move(code), range, std::move(message), std::move(help)});
  return items_.back();
}

size_t Diagnostics::error_count() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::Error; });
}

size_t Diagnostics::warning_count() const {
  return items_.size() - error_count();
}

void Diagnostics::sort() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::make_tuple(a.range.path(), a.range.begin.line, a.range.begin.column) <
           std::make_tuple(b.range.path(), b.range.begin.line, b.range.begin.column);
  });
}

}  // namespace flowline
