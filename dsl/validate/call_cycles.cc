// [call-cycle]: a subflow that calls itself, directly or through other
// subflows, would only stop at the call depth limit. Actions call nothing and
// flows cannot be called, so every cycle runs through subflows alone.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "dsl/validate/call_graph.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

struct SubflowCall {
  const Ref* callee_ref;
  const Definition* callee;
};

std::vector<SubflowCall> subflow_calls_of(const DefinitionSet& set, const Definition& caller) {
  std::vector<SubflowCall> calls;
  for_each_step(*steps_of(caller), [&](const Step& step) {
    const auto* call = step.as<CallStep>();
    if (!call || call->target != CallStep::Target::Subflow) return;
    if (const Definition* callee = resolve_callee(set, *call))
      calls.push_back({&call->callee, callee});
  });
  return calls;
}

// The same cycle found from another call step starts at another member;
// rotating it to its smallest name makes one key for every rotation.
std::vector<std::string> rotation_key(std::vector<std::string> members) {
  std::rotate(members.begin(), std::min_element(members.begin(), members.end()), members.end());
  return members;
}

}  // namespace

void check_call_cycles(const DefinitionSet& set, Diagnostics& diagnostics) {
  std::map<const Definition*, std::vector<SubflowCall>> calls;
  for (const Definition* subflow : set.of_kind(Kind::Subflow))
    calls[subflow] = subflow_calls_of(set, *subflow);

  enum class State { Unvisited, OnPath, Done };
  std::map<const Definition*, State> state;
  std::set<std::vector<std::string>> reported;

  // Depth-first search with an explicit stack: a long chain of subflows in a
  // hostile file must not overflow the native one.
  struct Frame {
    const Definition* subflow;
    size_t next_call = 0;
  };
  for (const Definition* root : set.of_kind(Kind::Subflow)) {
    if (state[root] != State::Unvisited) continue;
    std::vector<Frame> path{{root}};
    state[root] = State::OnPath;
    while (!path.empty()) {
      Frame& frame = path.back();
      const auto& outgoing = calls[frame.subflow];
      if (frame.next_call == outgoing.size()) {
        state[frame.subflow] = State::Done;
        path.pop_back();
        continue;
      }
      const SubflowCall& call = outgoing[frame.next_call++];
      State callee_state = state[call.callee];
      if (callee_state == State::Unvisited) {
        state[call.callee] = State::OnPath;
        path.push_back({call.callee});
        continue;
      }
      if (callee_state == State::Done) continue;
      // A call back into the current path closes a cycle.
      auto start = std::find_if(path.begin(), path.end(),
                                [&](const Frame& f) { return f.subflow == call.callee; });
      std::vector<std::string> members;
      for (auto it = start; it != path.end(); ++it) members.push_back(it->subflow->full_name);
      if (!reported.insert(rotation_key(members)).second) continue;
      std::string cycle;
      for (const auto& member : members) cycle += member + " → ";
      cycle += call.callee->full_name;
      diagnostics.error("call-cycle", call.callee_ref->range, "subflow call cycle: " + cycle);
    }
  }
}

}  // namespace flowline
