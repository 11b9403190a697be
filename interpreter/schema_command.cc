// `flowline schema`: the JSON Schema of every definition kind, for editors.
#include <iostream>

#include "dsl/schema.h"
#include "interpreter/commands.h"

namespace flowline::cli {

void add_schema_command(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand(
      "schema",
      "Print a JSON Schema (draft-07) of every definition kind, for yaml-language-server, VS Code "
      "and other tools");
  cmd->callback([&exit_code] {
    std::cout << definition_json_schema();
    exit_code = kExitOk;
  });
}

}  // namespace flowline::cli
