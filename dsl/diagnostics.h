// Diagnostics: what `flowline validate` reports. A diagnostic is a value
// {severity, code, range, message}; rendering is separate (diagnostic_render.h).
#pragma once

#include <string>
#include <vector>

#include "definitions/source.h"

namespace flowline {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code;     // stable, kebab-case: "unknown-key", "dangling-reference", …
  SourceRange range;
  std::string message;  // one line; includes "did you mean 'x'?" where there is one
  std::string help;     // optional: how to fix it, shown on its own line
  // The range holds a secret (a literal client_secret, say): excerpts show it
  // masked, so validation output in CI logs never repeats it.
  bool secret_range = false;
};

// Collects diagnostics from every stage. Not thread-safe.
class Diagnostics {
 public:
  Diagnostic& error(std::string code, const SourceRange& range, std::string message,
                    std::string help = {});
  Diagnostic& warning(std::string code, const SourceRange& range, std::string message,
                      std::string help = {});
  void add(Diagnostic diagnostic) { items_.push_back(std::move(diagnostic)); }

  const std::vector<Diagnostic>& items() const { return items_; }
  size_t error_count() const;
  size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }
  // Orders by file, line, column (stable for equal positions).
  void sort();

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace flowline
