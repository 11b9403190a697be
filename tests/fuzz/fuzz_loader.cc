// Feeds arbitrary bytes to both loaders and to the whole definition pipeline
// (decode, pill parsing). Any crash, sanitizer report, leak or timeout is a
// bug: every input must end as documents and/or diagnostics.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "definitions/definitions.h"
#include "dsl/diagnostics.h"
#include "dsl/document.h"
#include "dsl/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A tenth of the default node limit: alias bombs still hit it, but each such
  // input costs milliseconds instead of a second under the sanitizers.
  flowline::LoadLimits limits;
  limits.max_nodes = 100'000;

  std::string text(reinterpret_cast<const char*>(data), size);
  auto file = std::make_shared<flowline::SourceFile>("fuzz.yaml", text);
  flowline::Diagnostics yaml_diagnostics;
  flowline::load_yaml(file, yaml_diagnostics, limits);
  flowline::Diagnostics json_diagnostics;
  flowline::load_json(file, json_diagnostics, limits);

  for (const char* path : {"fuzz.yaml", "fuzz.json"}) {
    flowline::DefinitionSet set;
    flowline::Diagnostics diagnostics;
    flowline::load_definitions_from_text(path, text, set, diagnostics, limits);
  }
  return 0;
}
