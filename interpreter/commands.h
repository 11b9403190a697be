// The `flowline` program's commands. Each registers its CLI11 subcommand and
// returns the process exit code through the shared ExitCode.
#pragma once

#include <CLI/CLI.hpp>

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

}  // namespace flowline::cli
