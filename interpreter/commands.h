// The `flowline` program's commands. Each registers its CLI11 subcommand and
// returns the process exit code through the shared ExitCode.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/definitions.h"

namespace flowline::cli {

// Exit codes of DESIGN.md §6.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,        // a run failed, validation found errors, a batch had failed jobs
  kExitUsage = 2,         // usage, or definitions that do not load
  kExitAuthRequired = 3,  // token missing or needs a new login
};

// Whether to colour output written to `stream` (a TTY, and NO_COLOR unset).
bool use_color(FILE* stream);

void add_validate_command(CLI::App& app, int& exit_code);
void add_schema_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_token_command(CLI::App& app, int& exit_code);
void add_runs_command(CLI::App& app, int& exit_code);
void add_script_command(CLI::App& app, int& exit_code);
void add_batch_command(CLI::App& app, int& exit_code);

// Loads and validates the definitions at `path` for `command`; on errors
// prints them to stderr and returns nullopt (the caller exits 2).
std::optional<DefinitionSet> load_checked_definitions(const std::string& path,
                                                      std::string_view command);
// " (did you mean 'x'?)" or "".
std::string did_you_mean_suffix(std::string_view word, const std::vector<std::string>& names);

}  // namespace flowline::cli
