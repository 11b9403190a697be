// [script-syntax]: a script step whose JavaScript does not compile would fail
// every run; it is compiled (never run) at validation time and the error is
// reported on the line of the definition file where it is. Also refused: a
// declared output named `status`, which the step's own status would hide.
#include <fmt/format.h>

#include "dsl/script_syntax.h"
#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {

void check_script_syntax(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const Definition* definition : set.of_kind(Kind::Action)) {
    for_each_step(static_cast<const Action*>(definition)->steps, [&](const Step& step) {
      if (step.kind() != StepKind::Script) return;
      const auto& script = *step.as<ScriptStep>();
      for (const ParamSpec& output : script.outputs) {
        if (output.name == "status")
          diagnostics.error("script-syntax", output.name_range,
                            fmt::format("step '{}' cannot declare an output named 'status': "
                                        "steps.{}.status is the step's own status (code, message); "
                                        "choose another name",
                                        step.id, step.id));
      }
      if (script.code.empty()) return;  // the decoder reported the missing code
      auto error = find_script_syntax_error(script.code);
      if (!error) return;
      std::string where = error->line > 0 && script.code_line == 0
                              ? fmt::format(" (script line {})", error->line)
                              : "";
      diagnostics.error("script-syntax", script_line_range(script, error->line),
                        fmt::format("the script of step '{}' does not compile: {}{}", step.id,
                                    error->message, where));
    });
  }
}

}  // namespace flowline
