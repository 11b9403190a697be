// What the validation rules share about the shape of a definition set: the
// step trees inside definitions, what a call step calls, and which
// credentials a connection alias reaches. Read-only views over a
// DefinitionSet; every pointer returned points into the set and lives as long
// as it does.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "definitions/definitions.h"

namespace flowline {

// The scope-qualified name a reference points at. The loader fills Ref::full;
// sets built in code may leave it empty, so fall back to qualifying the name.
std::string full_name_of(const Ref& ref);

// How messages name a definition when the author wrote it bare: "acme" for
// global.acme, the full name in any other scope.
std::string short_name_of(const Definition& definition);

// The steps of an action, subflow or flow; nullptr for the other kinds.
const StepList* steps_of(const Definition& definition);

// The step lists directly inside `step`: if/elif/else branches, loop bodies,
// parallel branches, the try body and its catch. Empty for leaf steps.
std::vector<const StepList*> nested_step_lists(const Step& step);

// Visits every step of `steps`, including nested ones, depth first in written
// order (a step before the steps inside it).
void for_each_step(const StepList& steps, const std::function<void(const Step&)>& visit);

// The definition a call step calls, or nullptr when the name is unknown or
// names a definition of another kind than the call asks for.
const Definition* resolve_callee(const DefinitionSet& set, const CallStep& call);

// "file.yaml:12" for a range, for messages that point at a second place.
std::string file_and_line(const SourceRange& range);

// Connection aliases bound to the HttpConnections that serve them. Built once
// per rule so that following many REST steps stays linear.
class AliasBindings {
 public:
  explicit AliasBindings(const DefinitionSet& set);

  // The connections with `active: true` whose alias is `alias_full_name`, in load order.
  const std::vector<const HttpConnection*>& active_connections(
      const std::string& alias_full_name) const;
  // Every credential reachable from the alias through its active connections,
  // in load order, without repeats.
  std::vector<const Credential*> credentials(const std::string& alias_full_name) const;

 private:
  const DefinitionSet& set_;
  std::map<std::string, std::vector<const HttpConnection*>, std::less<>> active_;
};

}  // namespace flowline
