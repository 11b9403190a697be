#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/suggest.h"
#include "dsl/validate/validator.h"
#include "interpreter/commands.h"

namespace flowline::cli {

std::optional<DefinitionSet> load_checked_definitions(const std::string& path,
                                                      std::string_view command) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    std::cerr << fmt::format("flowline {}: no such file or directory: '{}'\n", command, path);
    return std::nullopt;
  }
  Diagnostics diagnostics;
  DefinitionSet set = load_definitions({path}, diagnostics);
  validate(set, diagnostics);
  if (diagnostics.has_errors()) {
    diagnostics.sort();
    TextRenderOptions options;
    options.color = use_color(stderr);
    std::cerr << render_text(diagnostics, options);
    std::cerr << fmt::format("flowline {}: the definitions in '{}' have errors; fix them (see "
                             "`flowline validate {}`)\n",
                             command, path, path);
    return std::nullopt;
  }
  return set;
}

std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& names) {
  return did_you_mean(word, names);
}

}  // namespace flowline::cli
