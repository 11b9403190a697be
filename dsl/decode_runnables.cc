// Decoding the runnable kinds: Action, Subflow and Flow.
#include <fmt/format.h>

#include "dsl/decoder.h"

namespace flowline {

namespace {

std::vector<std::string_view> with_common(std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> all(std::begin(kCommonKeys), std::end(kCommonKeys));
  all.insert(all.end(), keys.begin(), keys.end());
  return all;
}

StepList read_steps(const MapFields& f, Decoder& d, StepContext context, std::string_view owner) {
  const Node* n = f.required("steps", owner);
  if (!n) return {};
  return decode_steps(*n, d, context);
}

std::unique_ptr<Definition> decode_action(const Node& root, Decoder& d) {
  auto a = std::make_unique<Action>();
  MapFields f(root, d, with_common({"inputs", "outputs", "steps", "error_evaluation"}));
  f.record(a->fields);
  if (auto n = f.get("inputs")) a->inputs = d.params(*n, "input", false);
  if (auto n = f.get("outputs")) a->outputs = d.params(*n, "output", true);
  a->steps = read_steps(f, d, StepContext::Action, "Action");
  if (auto n = f.get("error_evaluation")) {
    if (!n->is_sequence()) {
      d.wrong_type(*n, "error_evaluation", "a list of {when, message}");
    } else {
      for (const auto& item : n->items) {
        if (!item.is_mapping()) {
          d.wrong_type(item, "error_evaluation entry", "a mapping with 'when' and 'message'");
          continue;
        }
        MapFields ef(item, d, {"when", "message"});
        ErrorEvaluation e;
        e.range = item.range;
        if (auto w = ef.required("when", "error_evaluation entry")) e.when = d.tmpl(*w, "when");
        if (auto m = ef.required("message", "error_evaluation entry")) e.message = d.tmpl(*m, "message");
        a->error_evaluation.push_back(std::move(e));
      }
    }
  }
  return a;
}

void decode_subflow_body(const Node& root, Decoder& d, Subflow& s, const MapFields& f) {
  if (auto n = f.get("run_as"))
    if (auto r = d.enumeration<RunAs>(*n, "run_as",
                                      {{"session_user", RunAs::SessionUser}, {"system", RunAs::System}}))
      s.run_as = *r;
  if (auto n = f.get("variables")) s.variables = d.params(*n, "variable", false);
  s.steps = read_steps(f, d, StepContext::Flow, std::string(kind_name(s.kind)));
}

std::unique_ptr<Definition> decode_subflow(const Node& root, Decoder& d) {
  auto s = std::make_unique<Subflow>();
  MapFields f(root, d, with_common({"run_as", "inputs", "outputs", "variables", "steps"}));
  f.record(s->fields);
  if (auto n = f.get("inputs")) s->inputs = d.params(*n, "input", false);
  if (auto n = f.get("outputs")) s->outputs = d.params(*n, "output", false);
  decode_subflow_body(root, d, *s, f);
  return s;
}

std::unique_ptr<Definition> decode_flow(const Node& root, Decoder& d) {
  auto flow = std::make_unique<Flow>();
  MapFields f(root, d, with_common({"run_as", "trigger", "variables", "steps"}));
  f.record(flow->fields);
  if (auto n = f.get("trigger")) {
    flow->trigger.range = n->range;
    if (!n->is_mapping()) {
      d.wrong_type(*n, "trigger", "a mapping such as {type: manual}");
    } else {
      MapFields tf(*n, d, {"type"});
      if (auto t = tf.required("type", "trigger"))
        if (auto v = d.enumeration<Trigger::Type>(*t, "type", {{"manual", Trigger::Type::Manual}}))
          flow->trigger.type = *v;
    }
  }
  decode_subflow_body(root, d, *flow, f);
  return flow;
}

}  // namespace

std::unique_ptr<Definition> decode_runnable_kind(Kind kind, const Node& root, Decoder& d) {
  switch (kind) {
    case Kind::Action: return decode_action(root, d);
    case Kind::Subflow: return decode_subflow(root, d);
    case Kind::Flow: return decode_flow(root, d);
    default: return nullptr;
  }
}

}  // namespace flowline
