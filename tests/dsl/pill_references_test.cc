// check_pill_references on definition sets built in code. Every pill lives in
// its own one-line file named after where it is used ("fetch.path"), so a
// diagnostic reads "fetch.path:1:4-1:15 [code] message".
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/definitions.h"
#include "dsl/pill_parser.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

class PillReferencesTest : public ::testing::Test {
 protected:
  // ---- Pills and names ----

  static SourceRange whole(const std::shared_ptr<SourceFile>& file) {
    return SourceRange{file, file->position_at(0), file->position_at(file->text().size())};
  }

  static Template pill(std::string where, std::string text) {
    auto file = std::make_shared<SourceFile>(std::move(where), text);
    Diagnostics parse_diagnostics;
    Template t = parse_template(text, whole(file), 0, parse_diagnostics);
    EXPECT_FALSE(parse_diagnostics.has_errors()) << text;
    return t;
  }

  static ValueTemplate value(std::string where, std::string text) {
    ValueTemplate out;
    out.tmpl = pill(std::move(where), std::move(text));
    out.kind = ValueTemplate::Kind::Template;
    out.range = out.tmpl.range;
    return out;
  }

  // `name: text`, the name in a file of its own called "<where>.name".
  static NamedValue named(std::string where, std::string name, std::string text) {
    auto name_file = std::make_shared<SourceFile>(where + ".name", name);
    return NamedValue{name, whole(name_file), value(std::move(where), std::move(text))};
  }

  static ParamSpec param(std::string name, bool mandatory = false,
                         std::optional<Value> default_value = std::nullopt) {
    ParamSpec spec;
    spec.name = std::move(name);
    spec.mandatory = mandatory;
    spec.default_value = std::move(default_value);
    return spec;
  }

  static Ref ref(std::string name) {
    auto file = std::make_shared<SourceFile>("callee", name);
    return Ref{name, DefinitionSet::qualify(name), whole(file)};
  }

  // ---- Steps ----

  template <typename Body>
  static Step step(std::string id, Body body) {
    Step s;
    s.id = std::move(id);
    s.body = std::move(body);
    return s;
  }

  static Step rest(std::string id, std::string path = "/x") {
    RestStep body;
    body.path = pill(id + ".path", std::move(path));
    return step(std::move(id), std::move(body));
  }

  static Step log(std::string id, std::string message) {
    LogStep body;
    body.message = pill(id + ".message", std::move(message));
    return step(std::move(id), std::move(body));
  }

  static Step call(std::string id, CallStep::Target target, std::string callee,
                   std::vector<NamedValue> inputs = {}) {
    CallStep body;
    body.target = target;
    body.callee = ref(std::move(callee));
    body.inputs = std::move(inputs);
    return step(std::move(id), std::move(body));
  }

  static Step if_step(std::string id, std::vector<std::pair<std::string, StepList>> branches,
                      std::optional<StepList> else_steps = std::nullopt) {
    IfStep body;
    for (size_t i = 0; i < branches.size(); ++i) {
      body.branches.push_back(
          {pill(fmt::format("{}.condition{}", id, i), branches[i].first), branches[i].second, {}});
    }
    body.else_steps = std::move(else_steps);
    return step(std::move(id), std::move(body));
  }

  static Step for_each(std::string id, std::string items, std::string as, StepList steps) {
    ForEachStep body;
    body.items = pill(id + ".items", std::move(items));
    body.as = std::move(as);
    body.body = std::move(steps);
    return step(std::move(id), std::move(body));
  }

  static Step set(std::string id, std::vector<NamedValue> assignments) {
    return step(std::move(id), SetStep{std::move(assignments)});
  }

  static Step assign_outputs(std::string id, std::vector<NamedValue> assignments) {
    return step(std::move(id), AssignOutputsStep{std::move(assignments)});
  }

  // ---- Definitions ----

  template <typename T>
  T& add(std::string name) {
    auto definition = std::make_unique<T>();
    definition->name = name;
    definition->full_name = "global." + name;
    T& added = *definition;
    set_.add(std::move(definition));
    return added;
  }

  // The action of the personal-incidents sample: a REST step and outputs.
  Action& incidents_action() {
    Action& action = add<Action>("get_my_incidents");
    action.inputs = {param("limit", false, Value(10))};
    action.outputs = {param("incidents"), param("count")};
    action.steps.push_back(rest("fetch", "/api/now/table/incident?limit={{ inputs.limit }}"));
    return action;
  }

  // Every diagnostic as "file:line:col-line:col [code] message", one per line.
  std::string check() {
    Diagnostics diagnostics;
    check_pill_references(set_, diagnostics);
    std::string out;
    for (const auto& d : diagnostics.items()) {
      if (!out.empty()) out += "\n";
      out += fmt::format("{}:{}:{}-{}:{} [{}] {}", d.range.path(), d.range.begin.line,
                         d.range.begin.column, d.range.end.line, d.range.end.column, d.code,
                         d.message);
      helps_.push_back(d.help);
    }
    return out;
  }

  DefinitionSet set_;
  std::vector<std::string> helps_;  // of the last check(), in order
};

using Target = CallStep::Target;

TEST_F(PillReferencesTest, TheSampleScenarioIsClean) {
  Action& action = incidents_action();
  action.outputs[0].value = pill("out.incidents", "{{ steps.fetch.body.result }}");
  action.outputs[1].value = pill("out.count", "{{ length(steps.fetch.body.result) }}");
  action.error_evaluation.push_back({pill("when", "{{ steps.fetch.status_code == 401 }}"),
                                     pill("message", "Denied: {{ steps.fetch.status.message }}"),
                                     {}});
  Subflow& subflow = add<Subflow>("getpersonalincidentssubflow");
  subflow.inputs = {param("limit", false, Value(5))};
  subflow.outputs = {param("incidents"), param("total")};
  subflow.variables = {param("seen", false, Value(0))};
  subflow.steps = {
      call("get", Target::Action, "get_my_incidents",
           {named("get.limit", "limit", "{{ inputs.limit }}")}),
      for_each("loop", "{{ steps.get.incidents }}", "inc",
               {set("", {named("seen", "seen", "{{ vars.seen + 1 + inc.priority * 0 }}")})}),
      assign_outputs("", {named("o1", "incidents", "{{ steps.get.incidents }}"),
                          named("o2", "total", "{{ vars.seen }}")}),
      log("done", "{{ session.user }} ran {{ run.id }} with {{ steps.get.status.code }}"),
  };
  EXPECT_EQ(check(), "");
}

TEST_F(PillReferencesTest, UnknownInputs) {
  Action& action = incidents_action();
  action.steps.push_back(log("a", "{{ inputs.limt }}"));
  action.steps.push_back(log("b", "{{ inputs.page }}"));
  action.steps.push_back(log("c", "{{ inputs['limit'] + inputs['limt'] }}"));
  EXPECT_EQ(check(),
            "a.message:1:4-1:15 [unknown-input] unknown input 'limt' (did you mean 'limit'?)\n"
            "b.message:1:4-1:15 [unknown-input] unknown input 'page'\n"
            "c.message:1:22-1:36 [unknown-input] unknown input 'limt' (did you mean 'limit'?)");
  EXPECT_EQ(helps_[0], "");
  EXPECT_EQ(helps_[1], "the inputs are: limit");
}

TEST_F(PillReferencesTest, UnknownInputsWhereNoneAreDeclared) {
  Subflow& subflow = add<Subflow>("s");
  subflow.steps = {log("a", "{{ inputs.x }}")};
  Flow& flow = add<Flow>("f");
  flow.steps = {log("b", "{{ inputs.x }}")};
  EXPECT_EQ(check(),
            "a.message:1:4-1:12 [unknown-input] unknown input 'x'\n"
            "b.message:1:4-1:12 [unknown-input] unknown input 'x'");
  EXPECT_EQ(helps_, (std::vector<std::string>{"declare it under 'inputs' of 's'",
                                              "a flow has no declared inputs"}));
}

TEST_F(PillReferencesTest, UnknownVariables) {
  Subflow& subflow = add<Subflow>("s");
  subflow.variables = {param("seen")};
  subflow.steps = {log("a", "{{ vars.sen }}"), log("b", "{{ vars.seen }} {{ vars }}")};
  Action& action = add<Action>("act");
  action.steps = {log("c", "{{ vars.seen }}")};
  EXPECT_EQ(check(),
            "a.message:1:4-1:12 [unknown-variable] unknown variable 'sen' (did you mean 'seen'?)\n"
            "c.message:1:4-1:13 [unknown-variable] unknown variable 'seen'");
  EXPECT_EQ(helps_[1], "an action has no variables");
}

TEST_F(PillReferencesTest, UnknownSteps) {
  Action& action = incidents_action();
  action.steps.push_back(log("a", "{{ steps.fetc.body }}"));
  action.steps.push_back(log("b", "{{ steps.nothing_like_it }}"));
  EXPECT_EQ(check(),
            "a.message:1:4-1:14 [unknown-step] unknown step 'fetc' (did you mean 'fetch'?)\n"
            "b.message:1:4-1:25 [unknown-step] unknown step 'nothing_like_it'");
}

TEST_F(PillReferencesTest, StepsThatComeLater) {
  Action& action = add<Action>("act");
  action.steps = {log("first", "{{ steps.second.status }}"), rest("second"),
                  log("self", "{{ steps.self.status }}")};
  EXPECT_EQ(check(),
            "first.message:1:4-1:16 [step-not-run-yet] step 'second' has not run at this point "
            "(it comes later)\n"
            "self.message:1:4-1:14 [step-not-run-yet] step 'self' has not run at this point (it "
            "is this step)");
}

TEST_F(PillReferencesTest, BranchesOfAnIfCannotSeeEachOther) {
  Subflow& subflow = add<Subflow>("s");
  subflow.steps = {
      rest("before"),
      if_step("choose",
              {{"{{ steps.before.status_code == 200 && steps.a.status_code == 1 }}",
                {rest("a"), log("a_log", "{{ steps.a.body }} {{ steps.b.body }}")}},
               {"{{ true }}", {rest("b")}}},
              StepList{log("c", "{{ steps.a.body }}")}),
      log("after", "{{ steps.a.body ?? steps.b.body }} {{ steps.c.status }} {{ steps.choose }}"),
  };
  EXPECT_EQ(check(),
            "choose.condition0:1:39-1:46 [step-not-run-yet] step 'a' has not run at this point "
            "(it comes later)\n"
            "a_log.message:1:23-1:30 [step-not-run-yet] step 'b' has not run at this point (it "
            "is in another branch)\n"
            "c.message:1:4-1:11 [step-not-run-yet] step 'a' has not run at this point (it is in "
            "another branch)");
}

TEST_F(PillReferencesTest, ParallelBranchesCannotSeeEachOther) {
  Subflow& subflow = add<Subflow>("s");
  subflow.steps = {
      step("both", ParallelStep{{{rest("left")}, {log("right", "{{ steps.left.body }}")}}}),
      log("after", "{{ steps.left.body }}"),
  };
  EXPECT_EQ(check(),
            "right.message:1:4-1:14 [step-not-run-yet] step 'left' has not run at this point (it "
            "runs in another parallel branch)");
  EXPECT_EQ(helps_[0],
            "parallel branches cannot see each other's steps; refer to it after the 'parallel'");
}

TEST_F(PillReferencesTest, StepsInsideALoop) {
  Subflow& subflow = add<Subflow>("s");
  subflow.steps = {
      for_each("loop", "{{ steps.inner.body }}", "item",
               {log("early", "{{ steps.inner.body }} {{ steps.loop.status }}"), rest("inner"),
                log("late", "{{ steps.inner.body }}")}),
      // After the loop its body's steps hold their last iteration.
      log("after", "{{ steps.inner.body }} {{ steps.loop.status }}"),
  };
  EXPECT_EQ(check(),
            "loop.items:1:4-1:15 [step-not-run-yet] step 'inner' has not run at this point (it "
            "comes later)\n"
            "early.message:1:4-1:15 [step-not-run-yet] step 'inner' has not run at this point "
            "(it comes later)\n"
            "early.message:1:27-1:37 [step-not-run-yet] step 'loop' has not run at this point "
            "(it is still running)");
}

TEST_F(PillReferencesTest, AnUntilConditionSeesItsBody) {
  Subflow& subflow = add<Subflow>("s");
  UntilStep until;
  until.body = {rest("poll")};
  until.condition = pill("until", "{{ steps.poll.body.done }}");
  subflow.steps = {step("wait_done", std::move(until))};
  EXPECT_EQ(check(), "");
}

TEST_F(PillReferencesTest, LoopNamesExistOnlyInsideTheirDo) {
  Subflow& subflow = add<Subflow>("s");
  subflow.steps = {
      for_each("outer", "{{ [1, 2] }}", "row",
               {for_each("inner", "{{ row.cells }}", "cell",
                         {log("in", "{{ row.id }} {{ cell.value }} {{ cel }}")}),
                log("mid", "{{ cell }}")}),
      log("out", "{{ row }}"),
  };
  EXPECT_EQ(check(),
            "in.message:1:34-1:37 [unknown-root] unknown name 'cel' (did you mean 'cell'?)\n"
            "mid.message:1:4-1:8 [unknown-root] unknown name 'cell'\n"
            "out.message:1:4-1:7 [unknown-root] unknown name 'row'");
  EXPECT_EQ(helps_[1], "'cell' is a loop name: it exists only inside the 'do' of its loop");
}

TEST_F(PillReferencesTest, ErrorExistsOnlyInsideCatch) {
  Subflow& subflow = add<Subflow>("s");
  TryStep attempt;
  attempt.body = {rest("risky"), log("in_try", "{{ error.message }}")};
  attempt.handler = {log("handler",
                         "{{ error.code }} {{ error.step }} {{ error.mesage }} "
                         "{{ steps.risky.status.message }}")};
  subflow.steps = {step("guarded", std::move(attempt)), log("after", "{{ steps.handler.status }}")};
  EXPECT_EQ(check(),
            "in_try.message:1:4-1:9 [unknown-root] 'error' is only available inside 'catch'\n"
            "handler.message:1:38-1:50 [unknown-field] unknown field 'mesage' of 'error' (did you "
            "mean 'message'?)");
}

TEST_F(PillReferencesTest, SessionAndRunFields) {
  Action& action = add<Action>("act");
  action.steps = {log("a", "{{ session.user }} {{ run.id }} {{ session.usr }} {{ run.name }}")};
  EXPECT_EQ(check(),
            "a.message:1:36-1:47 [unknown-field] unknown field 'usr' of 'session' (did you mean "
            "'user'?)\n"
            "a.message:1:54-1:62 [unknown-field] unknown field 'name' of 'run'");
  EXPECT_EQ(helps_[1], "'run' has: id");
}

TEST_F(PillReferencesTest, UnknownRoots) {
  Action& action = add<Action>("act");
  action.steps = {log("a", "{{ imputs.limit }}"), log("b", "{{ length }}"),
                  log("c", "{{ whatever }}")};
  EXPECT_EQ(check(),
            "a.message:1:4-1:10 [unknown-root] unknown name 'imputs' (did you mean 'inputs'?)\n"
            "b.message:1:4-1:10 [unknown-root] unknown name 'length'\n"
            "c.message:1:4-1:12 [unknown-root] unknown name 'whatever'");
  EXPECT_EQ(helps_, (std::vector<std::string>{
                        "", "'length' is a function: call it as length(…)",
                        "a pill starts with inputs, vars, steps, session, run, a loop name inside "
                        "its 'do', or error inside 'catch'"}));
}

TEST_F(PillReferencesTest, StepOutputsByKind) {
  Action& action = incidents_action();
  ScriptStep script;
  script.outputs = {param("total")};
  action.steps.push_back(step("calc", std::move(script)));
  JsonParseStep parse;
  parse.source = pill("parse.source", "{{ steps.fetch.body }}");
  action.steps.push_back(step("parse", std::move(parse)));
  action.steps.push_back(log("quiet", "hello"));
  action.steps.push_back(log(
      "ok",
      "{{ steps.fetch.status_code }} {{ steps.fetch.headers['x-a'] }} {{ steps.fetch.attempts }}"
      "{{ steps.fetch.duration_ms }} {{ steps.calc.total }} {{ steps.parse.value.deep.er }}"
      "{{ steps.quiet.status.code }} {{ steps.fetch.body.anything[0].goes }}"));
  action.steps.push_back(log("bad",
                             "{{ steps.fetch.bdy }} {{ steps.calc.totl }} "
                             "{{ steps.parse.values }} {{ steps.quiet.text }}"));
  action.steps.push_back(log("status", "{{ steps.fetch.status.cod }}"));
  EXPECT_EQ(check(),
            "bad.message:1:4-1:19 [unknown-step-output] step 'fetch' has no output 'bdy' (did you "
            "mean 'body'?)\n"
            "bad.message:1:26-1:41 [unknown-step-output] step 'calc' has no output 'totl' (did "
            "you mean 'total'?)\n"
            "bad.message:1:48-1:66 [unknown-step-output] step 'parse' has no output 'values' (did "
            "you mean 'value'?)\n"
            "bad.message:1:73-1:89 [unknown-step-output] step 'quiet' has no output 'text'\n"
            "status.message:1:4-1:26 [unknown-step-output] unknown field 'cod' of the status of "
            "step 'fetch' (did you mean 'code'?)");
  EXPECT_EQ(helps_[3], "its outputs are: status");
}

TEST_F(PillReferencesTest, CallOutputsComeFromTheCallee) {
  incidents_action();
  Subflow& inner = add<Subflow>("inner");
  inner.outputs = {param("total")};
  Subflow& outer = add<Subflow>("outer");
  outer.steps = {
      call("get", Target::Action, "get_my_incidents"),
      call("sub", Target::Subflow, "global.inner"),
      call("lost", Target::Action, "no_such_action"),
      log("use",
          "{{ steps.get.incidents }} {{ steps.get.count }} {{ steps.sub.total }} "
          "{{ steps.lost.anything }} {{ steps.get.incident }} {{ steps.sub.totl }}"),
  };
  EXPECT_EQ(check(),
            "use.message:1:100-1:118 [unknown-step-output] step 'get' has no output 'incident' "
            "(did you mean 'incidents'?)\n"
            "use.message:1:125-1:139 [unknown-step-output] step 'sub' has no output 'totl' (did "
            "you mean 'total'?)");
}

TEST_F(PillReferencesTest, ComputedIndexesStopTheCheck) {
  Action& action = incidents_action();
  action.inputs.push_back(param("which"));
  action.inputs.push_back(param("key"));
  action.inputs.push_back(param("f"));
  action.steps.push_back(log(
      "a",
      "{{ steps[inputs.which].anything }} {{ inputs[inputs.key] }} {{ steps.fetch[inputs.f] }}"));
  action.steps.push_back(log("b", "{{ steps[inputs.wich] }} {{ steps['fetch'].bdy }}"));
  EXPECT_EQ(check(),
            "b.message:1:10-1:21 [unknown-input] unknown input 'wich' (did you mean 'which'?)\n"
            "b.message:1:29-1:47 [unknown-step-output] step 'fetch' has no output 'bdy' (did you "
            "mean 'body'?)");
}

TEST_F(PillReferencesTest, PillsInsideFunctionsAndOperators) {
  Action& action = incidents_action();
  action.steps.push_back(log("a", "{{ length(inputs.limt) > 0 ? upper(vars.x) : [steps.y] }}"));
  EXPECT_EQ(check(),
            "a.message:1:11-1:22 [unknown-input] unknown input 'limt' (did you mean 'limit'?)\n"
            "a.message:1:36-1:42 [unknown-variable] unknown variable 'x'\n"
            "a.message:1:47-1:54 [unknown-step] unknown step 'y'");
}

TEST_F(PillReferencesTest, EveryTemplateOfARestStepIsChecked) {
  Action& action = add<Action>("act");
  RestStep body;
  body.url = pill("url", "{{ inputs.u }}");
  body.path = pill("path", "{{ inputs.p }}");
  body.query = {{"q", pill("query", "{{ inputs.q }}")}};
  body.headers = {{"h", pill("header", "{{ inputs.h }}")}};
  ValueTemplate json;
  json.kind = ValueTemplate::Kind::Object;
  json.fields = {{"list", ValueTemplate{}}};
  json.fields[0].value.kind = ValueTemplate::Kind::Array;
  json.fields[0].value.items = {value("body", "{{ inputs.b }}")};
  body.body = std::move(json);
  action.steps = {step("call", std::move(body))};
  EXPECT_EQ(check(),
            "url:1:4-1:12 [unknown-input] unknown input 'u'\n"
            "path:1:4-1:12 [unknown-input] unknown input 'p'\n"
            "query:1:4-1:12 [unknown-input] unknown input 'q'\n"
            "header:1:4-1:12 [unknown-input] unknown input 'h'\n"
            "body:1:4-1:12 [unknown-input] unknown input 'b'");
}

TEST_F(PillReferencesTest, ActionOutputsAndErrorEvaluationSeeEveryStep) {
  Action& action = incidents_action();
  action.outputs[0].value = pill("out.incidents", "{{ steps.fetch.body }} {{ steps.fetch.bod }}");
  action.error_evaluation.push_back({pill("when", "{{ error.code == 1 }}"),
                                     pill("message", "{{ steps.fetsh.status.message }}"),
                                     {}});
  EXPECT_EQ(check(),
            "out.incidents:1:27-1:42 [unknown-step-output] step 'fetch' has no output 'bod' (did "
            "you mean 'body'?)\n"
            "when:1:4-1:9 [unknown-root] 'error' is only available inside 'catch'\n"
            "message:1:4-1:15 [unknown-step] unknown step 'fetsh' (did you mean 'fetch'?)");
}

TEST_F(PillReferencesTest, SetNamesMustBeDeclaredVariables) {
  Subflow& subflow = add<Subflow>("s");
  subflow.variables = {param("seen"), param("total")};
  subflow.steps = {set("", {named("n1", "seen", "{{ 1 }}"), named("n2", "sen", "{{ 2 }}"),
                            named("n3", "other", "{{ inputs.nope }}")})};
  EXPECT_EQ(check(),
            "n2.name:1:1-1:4 [unknown-variable] unknown variable 'sen' (did you mean 'seen'?)\n"
            "n3.name:1:1-1:6 [unknown-variable] unknown variable 'other'\n"
            "n3:1:4-1:15 [unknown-input] unknown input 'nope'");
  EXPECT_EQ(helps_[1], "the variables are: seen, total");
}

TEST_F(PillReferencesTest, AssignedOutputsMustBeDeclared) {
  Subflow& subflow = add<Subflow>("s");
  subflow.outputs = {param("total")};
  subflow.steps = {assign_outputs("", {named("o1", "totl", "{{ 1 }}")})};
  Flow& flow = add<Flow>("f");
  flow.steps = {assign_outputs("", {named("o2", "total", "{{ 1 }}")})};
  EXPECT_EQ(check(),
            "o1.name:1:1-1:5 [unknown-output] unknown output 'totl' (did you mean 'total'?)\n"
            "o2.name:1:1-1:6 [unknown-output] unknown output 'total'");
  EXPECT_EQ(helps_[1], "a flow has no declared outputs");
}

TEST_F(PillReferencesTest, CallInputsMustMatchTheCallee) {
  Action& action = add<Action>("fetch_one");
  action.inputs = {param("number", true), param("limit", true, Value(1)), param("extra")};
  Subflow& inner = add<Subflow>("inner");
  inner.inputs = {param("who", true)};
  Subflow& outer = add<Subflow>("outer");
  outer.steps = {
      call("a", Target::Action, "fetch_one", {named("a.in", "numbr", "{{ 1 }}")}),
      call("b", Target::Action, "fetch_one", {named("b.in", "number", "{{ 1 }}")}),
      call("c", Target::Subflow, "inner", {named("c.in", "whom", "{{ inputs.x }}")}),
      call("d", Target::Action, "missing_action", {named("d.in", "anything", "{{ 1 }}")}),
  };
  EXPECT_EQ(check(),
            "a.in.name:1:1-1:6 [unknown-input] 'fetch_one' has no input 'numbr' (did you mean "
            "'number'?)\n"
            "callee:1:1-1:10 [missing-input] missing mandatory input 'number' of 'fetch_one'\n"
            "c.in:1:4-1:12 [unknown-input] unknown input 'x'\n"
            "c.in.name:1:1-1:5 [unknown-input] 'inner' has no input 'whom' (did you mean 'who'?)\n"
            "callee:1:1-1:6 [missing-input] missing mandatory input 'who' of 'inner'");
  EXPECT_EQ(helps_[1], "give it under 'inputs', e.g. {number: …}");
}

TEST_F(PillReferencesTest, BrokenPillsAreSkipped) {
  // A pill that failed to parse has no parts; the parser already reported it.
  Action& action = add<Action>("act");
  LogStep body;
  body.message.source = "{{ inputs.x +";
  action.steps = {step("a", std::move(body))};
  EXPECT_EQ(check(), "");
}

}  // namespace
}  // namespace flowline
