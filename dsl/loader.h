// Loading a definition set: files -> documents -> definitions.
#pragma once

#include <string>
#include <vector>

#include "definitions/definitions.h"
#include "dsl/diagnostics.h"
#include "dsl/document.h"

namespace flowline {

// Loads every *.yaml, *.yml and *.json file under `paths` (files, or
// directories searched recursively, in sorted order; "-" reads standard
// input as YAML) and decodes every document into a definition. Problems —
// unreadable paths, syntax, unknown kinds or keys, wrong value types, bad
// names, malformed pills — become diagnostics; what decodes cleanly is kept,
// so one pass reports everything. Never throws.
DefinitionSet load_definitions(const std::vector<std::string>& paths, Diagnostics& diagnostics,
                               const LoadLimits& limits = {});

// Decodes the documents of one file already read into memory. `path`
// decides the format (".json" is JSON, anything else YAML).
void load_definitions_from_text(const std::string& path, std::string text, DefinitionSet& set,
                                Diagnostics& diagnostics, const LoadLimits& limits = {});

// Decodes one document into a definition (or reports why it cannot).
void decode_document(const Document& document, DefinitionSet& set, Diagnostics& diagnostics);

}  // namespace flowline
