// What can be worked out about REST steps once, when an engine starts,
// instead of on every request: which steps' `headers` output no pill reads,
// and the URL up to the query of steps whose path has no pill.
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "definitions/definitions.h"
#include "runtime/services.h"

namespace flowline {

struct RestPlans {
  // No pill of their action can read their `headers` (dsl/output_reads.h).
  std::unordered_set<const RestStep*> unread_headers;
  // On a connection, with a literal path: build_url_path(connection URL, path).
  // A path that fails to build is left out, to fail on each run as before.
  std::unordered_map<const RestStep*, std::string> fixed_url_paths;
};

RestPlans plan_rest_steps(const DefinitionSet& set, const ConnectionResolver& connections);

}  // namespace flowline
