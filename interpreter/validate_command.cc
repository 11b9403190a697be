// `flowline validate [PATH…] [--format text|json|sarif] [--strict]`
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "interpreter/commands.h"

namespace flowline::cli {

namespace {

struct ValidateOptions {
  std::vector<std::string> paths;
  std::string format = "text";
  bool strict = false;
};

int run_validate(const ValidateOptions& options) {
  for (const auto& path : options.paths) {
    std::error_code ec;
    if (path != "-" && !std::filesystem::exists(path, ec)) {
      std::cerr << fmt::format("flowline validate: no such file or directory: '{}'\n", path);
      return kExitUsage;
    }
  }
  Diagnostics diagnostics;
  DefinitionSet set = load_definitions(options.paths, diagnostics);
  validate(set, diagnostics);
  diagnostics.sort();

  if (options.format == "json") {
    std::cout << render_json(diagnostics) << "\n";
  } else if (options.format == "sarif") {
    std::cout << render_sarif(diagnostics) << "\n";
  } else if (diagnostics.items().empty()) {
    std::cout << fmt::format("{} definition{} checked, no problems\n", set.all().size(),
                             set.all().size() == 1 ? "" : "s");
  } else {
    TextRenderOptions text_options;
    text_options.color = use_color(stdout);
    std::string text = render_text(diagnostics, text_options);
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << "\n";
  }
  if (diagnostics.has_errors()) return kExitFailed;
  if (options.strict && diagnostics.warning_count() > 0) return kExitFailed;
  return kExitOk;
}

}  // namespace

void add_validate_command(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<ValidateOptions>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Check definition files and report every problem in one pass (file:line:col, the source "
      "line and a caret). Exit 0 clean, 1 errors (or warnings with --strict), 2 usage.");
  cmd->add_option("paths", options->paths,
                  "Files or directories of *.yaml, *.yml, *.json definitions ('-' reads standard "
                  "input); default: the current directory");
  cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"text", "json", "sarif"}))
      ->default_str("text");
  cmd->add_flag("--strict", options->strict, "Treat warnings as errors (exit 1)");
  cmd->callback([options, &exit_code] { exit_code = run_validate(*options); });
}

}  // namespace flowline::cli
