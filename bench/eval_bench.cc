// Pill evaluation cost: the interpreter's share of a simple step (DESIGN.md §8
// wants at most 1 µs per `set` or `if` step). Trees are parsed once, outside
// the timed loops, as definitions are; only evaluate/render is timed.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "dsl/pill_parser.h"
#include "runtime/eval/evaluator.h"

namespace flowline {
namespace {

// A template written verbatim in a file, as the loader hands it over.
Template parse(const std::string& text) {
  auto file = std::make_shared<SourceFile>("bench.yaml", text);
  SourceRange range{file, file->position_at(0), file->position_at(text.size())};
  Diagnostics diagnostics;
  Template tmpl = parse_template(text, range, 0, diagnostics);
  if (diagnostics.has_errors() || tmpl.parts.empty()) std::abort();
  return tmpl;
}

Value json(std::string_view text) {
  Result<Value> value = parse_json_value(text);
  if (!value.ok()) std::abort();
  return value.value();
}

// The values of a subflow partway through its run.
struct Scope {
  Scope() {
    std::string result = "[";
    for (int i = 0; i < 100; ++i) {
      if (i > 0) result += ",";
      result += "{\"number\": \"INC00" + std::to_string(1000 + i) +
                "\", \"priority\": 2, \"assigned_to\": null, "
                "\"short_description\": \"VPN drops every few minutes\"}";
    }
    result += "]";
    steps = json(R"({"get": {"count": 4}, "fetch": {"status_code": 200, "body": {"result": )" +
                 result + "}}}");
    inc = steps.find("fetch")->find("body")->find("result")->as_array()[7];
    scope.inputs = &inputs;
    scope.steps = &steps;
    scope.vars = &vars;
    scope.session = &session;
    scope.run = &run;
    scope.loop_items = {{"inc", &inc}};
  }

  Value inputs = json(R"({"limit": 5, "flag": true})");
  Value steps;
  Value vars = json(R"({"seen": 41})");
  Value session = json(R"({"user": "alice"})");
  Value run = json(R"({"id": "run-1"})");
  Value inc;
  EvalScope scope;
};

void evaluate_pill(benchmark::State& state, const std::string& text) {
  Scope scope;
  Template tmpl = parse("{{ " + text + " }}");
  const Expr& expr = *tmpl.parts[0].expr;
  for (auto _ : state) {
    Result<Value> value = evaluate(expr, scope.scope);
    benchmark::DoNotOptimize(value);
  }
}

void render_template(benchmark::State& state, const std::string& text) {
  Scope scope;
  Template tmpl = parse(text);
  for (auto _ : state) {
    Result<Value> value = render(tmpl, scope.scope);
    benchmark::DoNotOptimize(value);
  }
}

// `set: {seen: "{{ vars.seen + 1 }}"}`
void BM_AddToVariable(benchmark::State& state) { evaluate_pill(state, "vars.seen + 1"); }
BENCHMARK(BM_AddToVariable);

// `if: "{{ steps.get.count > 3 && inputs.flag }}"`, with the truth test.
void BM_Condition(benchmark::State& state) {
  Scope scope;
  Template tmpl = parse("{{ steps.get.count > 3 && inputs.flag }}");
  for (auto _ : state) {
    Result<Value> value = evaluate(*tmpl.parts[0].expr, scope.scope);
    benchmark::DoNotOptimize(value.ok() && is_truthy(*value));
  }
}
BENCHMARK(BM_Condition);

// An output value over a 100-item response body.
void BM_LengthOfBody(benchmark::State& state) {
  evaluate_pill(state, "length(steps.fetch.body.result)");
}
BENCHMARK(BM_LengthOfBody);

// A deep read that returns a string (copied out of the scope once).
void BM_DeepMember(benchmark::State& state) {
  evaluate_pill(state, "steps.fetch.body.result[50].short_description");
}
BENCHMARK(BM_DeepMember);

// The whole-template path of a `set` value: render() of a single pill.
void BM_RenderSinglePill(benchmark::State& state) { render_template(state, "{{ vars.seen + 1 }}"); }
BENCHMARK(BM_RenderSinglePill);

// A log message with three pills.
void BM_Interpolate3Pills(benchmark::State& state) {
  render_template(state,
                  "Incident {{ inc.number }} (priority {{ inc.priority }}) is assigned to "
                  "{{ inc.assigned_to ?? 'nobody' }}");
}
BENCHMARK(BM_Interpolate3Pills);

// A failing pill: the cost of building the quoted message.
void BM_TypeError(benchmark::State& state) { evaluate_pill(state, "steps.fetch.body + 1"); }
BENCHMARK(BM_TypeError);

}  // namespace
}  // namespace flowline

BENCHMARK_MAIN();
