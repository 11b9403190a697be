// `flowline runs list|show ID`: the execution records in the run store.
// (Also declared in interpreter/commands.h with the other commands.)
#pragma once

#include <CLI/CLI.hpp>

namespace flowline::cli {

void add_runs_command(CLI::App& app, int& exit_code);

}  // namespace flowline::cli
