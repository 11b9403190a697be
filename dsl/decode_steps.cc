// Decoding steps: action steps (rest, script, log, json_parse) and flow logic.
// A step is a mapping whose "type key" (rest:, if:, for_each:, …) says what it
// is, plus the keys of that type; exit_loop, skip_iteration and end_flow may
// be written as bare words.
#include <fmt/format.h>

#include "dsl/decoder.h"
#include "dsl/suggest.h"

namespace flowline {

namespace {

constexpr std::string_view kActionStepKeys[] = {"rest", "script", "log", "json_parse"};
constexpr std::string_view kFlowStepKeys[] = {
    "action", "subflow", "if",   "for_each", "until",    "parallel",      "try",
    "set",    "log",     "wait", "exit_loop", "skip_iteration", "end_flow", "assign_outputs"};
constexpr std::string_view kAllTypeKeys[] = {
    "rest", "script", "json_parse", "action", "subflow", "if", "for_each", "until", "parallel", "try",
    "set", "log", "wait", "exit_loop", "skip_iteration", "end_flow", "assign_outputs"};
constexpr std::string_view kReservedRoots[] = {"inputs", "steps", "vars", "error", "session", "run"};

std::string allowed_list(StepContext context) {
  std::string out;
  auto add = [&](std::string_view k) {
    if (!out.empty()) out += ", ";
    out += k;
  };
  if (context == StepContext::Action)
    for (auto k : kActionStepKeys) add(k);
  else
    for (auto k : kFlowStepKeys) add(k);
  return out;
}

bool allowed_in(std::string_view type_key, StepContext context) {
  if (context == StepContext::Action) {
    for (auto k : kActionStepKeys)
      if (k == type_key) return true;
    return false;
  }
  for (auto k : kFlowStepKeys)
    if (k == type_key) return true;
  return false;
}

bool is_identifier(std::string_view s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

class StepDecoder {
 public:
  StepDecoder(Decoder& d, StepContext context) : d_(d), context_(context) {}

  StepList list(const Node& node, std::string_view what) {
    StepList steps;
    if (!node.is_sequence()) {
      d_.wrong_type(node, what, "a list of steps");
      return steps;
    }
    for (const auto& item : node.items)
      if (auto step = one(item)) steps.push_back(std::move(*step));
    return steps;
  }

 private:
  std::optional<Step> one(const Node& node) {
    if (node.type == Node::Type::String) return bare_word(node);
    if (!node.is_mapping()) {
      d_.wrong_type(node, "step", "a mapping (or exit_loop, skip_iteration, end_flow)");
      return std::nullopt;
    }
    std::vector<const Node*> type_keys;
    for (const auto& [key, value] : node.entries)
      for (auto k : kAllTypeKeys)
        if (k == key.text) type_keys.push_back(&key);
    if (type_keys.empty()) {
      no_type(node);
      return std::nullopt;
    }
    if (type_keys.size() > 1) {
      d_.diagnostics().error("ambiguous-step", type_keys[1]->range,
                             fmt::format("step has both '{}' and '{}'; write one step per list item",
                                         type_keys[0]->text, type_keys[1]->text));
      return std::nullopt;
    }
    const std::string& type_key = type_keys[0]->text;
    if (!allowed_in(type_key, context_)) {
      if (context_ == StepContext::Action)
        d_.diagnostics().error("flow-logic-in-action", type_keys[0]->range,
                               fmt::format("'{}' is not allowed in an action: actions hold only "
                                           "rest, script, log and json_parse steps",
                                           type_key),
                               "move the flow logic into a subflow that calls this action");
      else
        d_.diagnostics().error("action-step-in-flow", type_keys[0]->range,
                               fmt::format("'{}' steps belong in an action, not in a {}", type_key,
                                           "subflow or flow"),
                               "put the step in an Action and call it with `action:`");
      return std::nullopt;
    }
    return typed(node, type_key);
  }

  std::optional<Step> bare_word(const Node& node) {
    Step step;
    step.range = node.range;
    if (node.text == "exit_loop") step.body = ExitLoopStep{};
    else if (node.text == "skip_iteration") step.body = SkipIterationStep{};
    else if (node.text == "end_flow") step.body = EndFlowStep{};
    else {
      std::string message = fmt::format("unknown step '{}'", node.text);
      if (auto near = closest_match(node.text, {"exit_loop", "skip_iteration", "end_flow"}))
        message += fmt::format(" (did you mean '{}'?)", *near);
      d_.diagnostics().error("unknown-step-type", node.range, std::move(message),
                             "a step written as a word must be exit_loop, skip_iteration or end_flow");
      return std::nullopt;
    }
    if (context_ == StepContext::Action) {
      d_.diagnostics().error("flow-logic-in-action", node.range,
                             fmt::format("'{}' is not allowed in an action: actions hold only "
                                         "rest, script, log and json_parse steps",
                                         node.text));
      return std::nullopt;
    }
    return step;
  }

  void no_type(const Node& node) {
    std::vector<std::string> candidates;
    if (context_ == StepContext::Action)
      candidates.assign(std::begin(kActionStepKeys), std::end(kActionStepKeys));
    else
      candidates.assign(std::begin(kFlowStepKeys), std::end(kFlowStepKeys));
    for (const auto& [key, value] : node.entries) {
      if (key.text == "id" || key.text == "description" || key.text == "on_failure") continue;
      if (auto near = closest_match(key.text, candidates)) {
        d_.diagnostics().error("unknown-key", key.range,
                               fmt::format("unknown key '{}' (did you mean '{}'?)", key.text, *near));
        return;
      }
    }
    d_.diagnostics().error("missing-step-type", node.range,
                           "step has no type: give it one of " + allowed_list(context_));
  }

  Step typed(const Node& node, const std::string& type_key) {
    std::vector<std::string_view> keys = {"id", "description", "on_failure", type_key};
    if (type_key == "action" || type_key == "subflow") keys.push_back("inputs");
    if (type_key == "if") keys.insert(keys.end(), {"then", "elif", "else"});
    if (type_key == "for_each") keys.insert(keys.end(), {"as", "do", "max_iterations"});
    if (type_key == "until") keys.insert(keys.end(), {"do", "max_iterations"});
    if (type_key == "try") keys.push_back("catch");
    MapFields f(node, d_, keys);

    Step step;
    step.range = node.range;
    f.record(step.fields);
    if (const Node* id = f.get("id")) {
      step.id_range = id->range;
      if (auto s = d_.string(*id, "id")) {
        if (is_identifier(*s)) {
          step.id = *s;
        } else {
          d_.diagnostics().error("bad-step-id", id->range,
                                 fmt::format("invalid step id '{}': use letters, digits and '_', "
                                             "not starting with a digit",
                                             *s));
        }
      }
    }
    if (const Node* n = f.get("description"))
      if (auto s = d_.string(*n, "description")) step.description = *s;
    if (const Node* n = f.get("on_failure"))
      if (auto o = d_.enumeration<OnFailure>(*n, "on_failure",
                                             {{"stop", OnFailure::Stop}, {"continue", OnFailure::Continue}}))
        step.on_failure = *o;

    const Node& body = *f.get(type_key);
    if (type_key == "rest") step.body = rest(body);
    else if (type_key == "script") step.body = script(body);
    else if (type_key == "log") step.body = log(body);
    else if (type_key == "json_parse") step.body = json_parse(body);
    else if (type_key == "action" || type_key == "subflow") step.body = call(type_key, body, f);
    else if (type_key == "if") step.body = if_step(body, f);
    else if (type_key == "for_each") step.body = for_each(body, f);
    else if (type_key == "until") step.body = until(body, f);
    else if (type_key == "parallel") step.body = parallel(body);
    else if (type_key == "try") step.body = try_step(body, f);
    else if (type_key == "set") step.body = SetStep{d_.named_values(body, "set")};
    else if (type_key == "assign_outputs") step.body = AssignOutputsStep{d_.named_values(body, "assign_outputs")};
    else if (type_key == "wait") step.body = WaitStep{d_.duration(body, "wait").value_or(Duration(0))};
    else if (type_key == "exit_loop") step.body = ExitLoopStep{};
    else if (type_key == "skip_iteration") step.body = SkipIterationStep{};
    else if (type_key == "end_flow") step.body = EndFlowStep{};
    return step;
  }

  RestStep rest(const Node& node) {
    RestStep r;
    if (!node.is_mapping()) {
      d_.wrong_type(node, "rest", "a mapping with connection, method and path");
      return r;
    }
    MapFields f(node, d_,
                {"connection", "url", "method", "path", "query", "headers", "body", "body_type",
                 "timeout", "retry_policy", "expect"});
    const Node* connection = f.get("connection");
    const Node* url = f.get("url");
    if (connection && url) {
      d_.diagnostics().error("connection-and-url", url->range,
                             "a rest step takes either 'connection' or 'url', not both");
    } else if (!connection && !url) {
      d_.diagnostics().error("missing-field", node.range,
                             "missing required key 'connection' in rest step (or give 'url')");
    }
    if (connection) r.connection = d_.ref(*connection, "connection");
    if (url) r.url = d_.tmpl(*url, "url");
    if (auto n = f.get("method"))
      if (auto m = d_.enumeration<HttpMethod>(*n, "method",
                                              {{"GET", HttpMethod::Get},
                                               {"POST", HttpMethod::Post},
                                               {"PUT", HttpMethod::Put},
                                               {"PATCH", HttpMethod::Patch},
                                               {"DELETE", HttpMethod::Delete}}))
        r.method = *m;
    if (auto n = f.get("path")) r.path = d_.tmpl(*n, "path");
    if (auto n = f.get("query")) r.query = d_.template_map(*n, "query");
    if (auto n = f.get("headers")) {
      r.headers = d_.template_map(*n, "headers");
      for (const auto& [key, value] : n->entries) {
        std::string lower;
        for (char c : key.text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "authorization" && connection)
          d_.diagnostics().error("authorization-header", key.range,
                                 "a rest step on a connection may not set 'Authorization'; the "
                                 "connection's credential supplies it");
      }
    }
    if (auto n = f.get("body")) r.body = d_.value_template(*n);
    if (auto n = f.get("body_type"))
      if (auto b = d_.enumeration<BodyType>(*n, "body_type",
                                            {{"json", BodyType::Json}, {"form", BodyType::Form},
                                             {"text", BodyType::Text}}))
        r.body_type = *b;
    if (auto n = f.get("timeout")) r.timeout = d_.duration(*n, "timeout");
    if (auto n = f.get("retry_policy")) r.retry_policy = d_.retry_policy(*n);
    if (auto n = f.get("expect"))
      if (auto l = d_.status_list(*n, "expect")) r.expect = *l;
    if (r.body && (r.method == HttpMethod::Get || r.method == HttpMethod::Delete))
      d_.diagnostics().warning("body-on-get", f.get("body")->range,
                               fmt::format("a {} request usually has no body",
                                           http_method_name(r.method)));
    return r;
  }

  // See ScriptStep::code_line.
  static uint32_t script_first_line(const Node& node) {
    if (!node.range.known()) return 0;
    if (node.literal_block) return node.range.begin.line + 1;
    if (node.text.find('\n') == std::string::npos) return node.range.begin.line;
    return 0;
  }

  ScriptStep script(const Node& node) {
    ScriptStep s;
    if (node.type == Node::Type::String) {
      s.code = node.text;
      s.code_range = node.range;
      s.code_line = script_first_line(node);
      return s;
    }
    if (!node.is_mapping()) {
      d_.wrong_type(node, "script", "a mapping with 'code' (and 'inputs', 'outputs')");
      return s;
    }
    MapFields f(node, d_, {"code", "inputs", "outputs"});
    if (auto n = f.required("code", "script step")) {
      if (auto c = d_.string(*n, "code")) s.code = *c;
      s.code_range = n->range;
      s.code_line = script_first_line(*n);
    }
    if (auto n = f.get("inputs")) s.inputs = d_.named_values(*n, "inputs");
    if (auto n = f.get("outputs")) s.outputs = d_.params(*n, "output", false);
    return s;
  }

  LogStep log(const Node& node) {
    LogStep l;
    if (node.is_scalar()) {
      l.message = d_.tmpl(node, "log");
      return l;
    }
    if (!node.is_mapping()) {
      d_.wrong_type(node, "log", "a message or a mapping with 'level' and 'message'");
      return l;
    }
    MapFields f(node, d_, {"level", "message"});
    if (auto n = f.get("level"))
      if (auto v = d_.enumeration<LogLevel>(*n, "level",
                                            {{"info", LogLevel::Info}, {"warn", LogLevel::Warn},
                                             {"error", LogLevel::Error}}))
        l.level = *v;
    if (auto n = f.required("message", "log step")) l.message = d_.tmpl(*n, "message");
    return l;
  }

  JsonParseStep json_parse(const Node& node) {
    JsonParseStep j;
    if (node.is_scalar()) {
      j.source = d_.tmpl(node, "json_parse");
      return j;
    }
    if (!node.is_mapping()) {
      d_.wrong_type(node, "json_parse", "a mapping with 'source'");
      return j;
    }
    MapFields f(node, d_, {"source"});
    if (auto n = f.required("source", "json_parse step")) j.source = d_.tmpl(*n, "source");
    return j;
  }

  CallStep call(const std::string& type_key, const Node& body, const MapFields& f) {
    CallStep c;
    c.target = type_key == "action" ? CallStep::Target::Action : CallStep::Target::Subflow;
    c.callee = d_.ref(body, type_key);
    if (auto n = f.get("inputs")) c.inputs = d_.named_values(*n, "inputs");
    return c;
  }

  std::optional<int64_t> max_iterations(const MapFields& f) {
    const Node* n = f.get("max_iterations");
    if (!n) return std::nullopt;
    auto v = d_.integer(*n, "max_iterations");
    if (v && (*v < 1 || *v > 1'000'000'000)) {
      d_.diagnostics().error("out-of-range", n->range,
                             "'max_iterations' must be between 1 and 1000000000");
      return std::nullopt;
    }
    return v;
  }

  IfStep if_step(const Node& condition, const MapFields& f) {
    IfStep s;
    IfStep::Branch first;
    first.condition = d_.tmpl(condition, "if");
    first.range = condition.range;
    if (auto n = f.required("then", "if step")) first.steps = list(*n, "then");
    s.branches.push_back(std::move(first));
    if (auto n = f.get("elif")) {
      if (!n->is_sequence()) {
        d_.wrong_type(*n, "elif", "a list of {if, then}");
      } else {
        for (const auto& item : n->items) {
          if (!item.is_mapping()) {
            d_.wrong_type(item, "elif entry", "a mapping with 'if' and 'then'");
            continue;
          }
          MapFields ef(item, d_, {"if", "then"});
          IfStep::Branch branch;
          branch.range = item.range;
          if (auto c = ef.required("if", "elif entry")) branch.condition = d_.tmpl(*c, "if");
          if (auto t = ef.required("then", "elif entry")) branch.steps = list(*t, "then");
          s.branches.push_back(std::move(branch));
        }
      }
    }
    if (auto n = f.get("else")) s.else_steps = list(*n, "else");
    return s;
  }

  ForEachStep for_each(const Node& items, const MapFields& f) {
    ForEachStep s;
    s.items = d_.tmpl(items, "for_each");
    if (auto n = f.required("as", "for_each step")) {
      s.as_range = n->range;
      if (auto name = d_.string(*n, "as")) {
        bool reserved = false;
        for (auto r : kReservedRoots) reserved |= (r == *name);
        if (!is_identifier(*name) || reserved)
          d_.diagnostics().error("bad-loop-name", n->range,
                                 fmt::format("'{}' cannot name a loop item: use an identifier that "
                                             "is not inputs, steps, vars, error, session or run",
                                             *name));
        else
          s.as = *name;
      }
    }
    if (auto n = f.required("do", "for_each step")) s.body = list(*n, "do");
    s.max_iterations = max_iterations(f);
    return s;
  }

  UntilStep until(const Node& condition, const MapFields& f) {
    UntilStep s;
    s.condition = d_.tmpl(condition, "until");
    if (auto n = f.required("do", "until step")) s.body = list(*n, "do");
    s.max_iterations = max_iterations(f);
    return s;
  }

  ParallelStep parallel(const Node& node) {
    ParallelStep p;
    bool ok = node.is_sequence();
    if (ok)
      for (const auto& branch : node.items) ok &= branch.is_sequence();
    if (!ok) {
      d_.wrong_type(node, "parallel", "a list of branches, each a list of steps");
      return p;
    }
    for (const auto& branch : node.items) p.branches.push_back(list(branch, "parallel branch"));
    return p;
  }

  TryStep try_step(const Node& body, const MapFields& f) {
    TryStep t;
    t.body = list(body, "try");
    if (auto n = f.get("catch")) t.handler = list(*n, "catch");
    return t;
  }

  Decoder& d_;
  StepContext context_;
};

}  // namespace

StepList decode_steps(const Node& node, Decoder& decoder, StepContext context) {
  return StepDecoder(decoder, context).list(node, "steps");
}

}  // namespace flowline
