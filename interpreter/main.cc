// flowline: validate and run declarative flow definitions.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "interpreter/commands.h"

namespace flowline::cli {

bool use_color(FILE* stream) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color && *no_color) return false;
  return isatty(fileno(stream)) != 0;
}

}  // namespace flowline::cli

int main(int argc, char** argv) {
  using namespace flowline::cli;
  CLI::App app{
      "Flowline validates declarative flow definitions (YAML/JSON) and runs them, calling REST "
      "APIs as the session user with that user's own OAuth token.",
      "flowline"};
  app.set_version_flag("--version", std::string("flowline ") + FLOWLINE_VERSION);
  app.require_subcommand(1);
  app.footer("Run `flowline COMMAND --help` for a command's options. Docs: docs/cli.md");

  int exit_code = kExitOk;
  add_validate_command(app, exit_code);
  add_schema_command(app, exit_code);
  add_run_command(app, exit_code);
  add_token_command(app, exit_code);
  add_script_command(app, exit_code);
  add_batch_command(app, exit_code);
  add_runs_command(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  return exit_code;
}
