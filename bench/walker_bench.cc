// Interpreter overhead per step (DESIGN.md §8: ≤ 1 µs per simple step, ≤ 5 µs
// per REST step excluding the network). Runs are walked on a real EventLoop;
// the REST benchmark uses an in-process transport that answers at once, so
// what is measured is Flowline's own work: binding, rendering, URL building,
// scheduling the coroutine, parsing the JSON reply, storing outputs.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "runtime/loop/event_loop.h"
#include "runtime/services.h"
#include "runtime/walker.h"

using namespace flowline;

namespace {

constexpr const char* kDefinitions = R"(
kind: Subflow
name: counting
inputs: {items: {type: array}}
outputs: {seen: {type: integer}}
variables: {seen: {type: integer, default: 0}}
steps:
  - for_each: "{{ inputs.items }}"
    as: item
    do:
      - set: {seen: "{{ vars.seen + 1 }}"}
      - if: "{{ vars.seen > 1000000 }}"
        then: [exit_loop]
  - assign_outputs: {seen: "{{ vars.seen }}"}
---
kind: Action
name: fetch_one
inputs: {n: {type: integer}}
outputs: {code: {type: integer, value: "{{ steps.get.status_code }}"}}
steps:
  - id: get
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
---
kind: Subflow
name: fetching
inputs: {items: {type: array}}
outputs: {done: {type: integer}}
variables: {done: {type: integer, default: 0}}
steps:
  - for_each: "{{ inputs.items }}"
    as: item
    do:
      - id: call
        action: fetch_one
        inputs: {n: "{{ item }}"}
      - set: {done: "{{ vars.done + 1 }}"}
  - assign_outputs: {done: "{{ vars.done }}"}
---
kind: Subflow
name: waiting
inputs: {n: {type: integer}}
outputs: {n: {type: integer}}
variables: {seen: {type: integer, default: 0}}
steps:
  - set: {seen: "{{ inputs.n }}"}
  - wait: 300ms
  - assign_outputs: {n: "{{ vars.seen }}"}
---
kind: Action
name: fetch_ten
inputs: {n: {type: integer}}
steps:
  - id: get0
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get1
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get2
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get3
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get4
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get5
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get6
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get7
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get8
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
  - id: get9
    rest:
      url: "http://127.0.0.1:9/items"
      path: "/{{ inputs.n }}"
      query: {limit: "{{ inputs.n }}"}
      headers: {Accept: application/json}
---
kind: Subflow
name: fetching_ten
inputs: {items: {type: array}}
steps:
  - for_each: "{{ inputs.items }}"
    as: item
    do:
      - id: call
        action: fetch_ten
        inputs: {n: "{{ item }}"}
)";

// Answers every request at once (posted to the loop, as a real transport does).
class InstantTransport : public HttpTransport {
 public:
  explicit InstantTransport(EventLoop& loop) : loop_(loop) {}
  void send(HttpRequest, std::function<void(HttpResponse)> done) override {
    loop_.post([done = std::move(done)] {
      HttpResponse response;
      response.status = 200;
      response.headers = {{"content-type", "application/json"}};
      response.body = R"({"result":[{"number":"INC0010001","state":"New"}]})";
      done(std::move(response));
    });
  }

 private:
  EventLoop& loop_;
};

struct Fixture {
  DefinitionSet set;
  EventLoop loop;
  std::unique_ptr<InstantTransport> transport;
  std::unique_ptr<ConnectionResolver> resolver;
  RuntimeServices services;

  Fixture() {
    Diagnostics diagnostics;
    load_definitions_from_text("bench.yaml", kDefinitions, set, diagnostics);
    validate(set, diagnostics);
    if (diagnostics.has_errors()) std::abort();
    transport = std::make_unique<InstantTransport>(loop);
    resolver = std::make_unique<ConnectionResolver>(set);
    services.loop = &loop;
    services.transport = transport.get();
    services.connections = resolver.get();
    services.record_simple_steps = false;  // records cost memory, not interpreter time
    services.limits.max_iterations = 1'000'000;
  }

  RunResult run(const std::string& target, int items) {
    ValueArray array;
    for (int i = 0; i < items; ++i) array.push_back(Value(static_cast<int64_t>(i)));
    RunRequest request;
    request.target = target;
    request.user = "alice";
    ValueObject inputs;
    inputs.emplace("items", Value(std::move(array)));
    request.inputs = Value(std::move(inputs));
    RunExecution execution(set, services, std::move(request), "bench");
    std::optional<RunResult> result;
    spawn<RunResult>(execution.run(), [&](RunResult r) { result = std::move(r); });
    loop.run_until([&] { return result.has_value(); });
    return std::move(*result);
  }
};

std::string new_id(int i) { return "run-" + std::to_string(i); }

// Per iteration: one `set` and one `if` (two simple steps) plus the loop.
void BM_SimpleSteps(benchmark::State& state) {
  Fixture fixture;
  const int items = static_cast<int>(state.range(0));
  for (auto _ : state) {
    RunResult result = fixture.run("counting", items);
    if (result.state != RunState::Completed) state.SkipWithError("run failed");
  }
  state.counters["steps"] = benchmark::Counter(2.0 * items, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["ns_per_step"] = benchmark::Counter(
      2.0 * items, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SimpleSteps)->Arg(10000)->Unit(benchmark::kMillisecond);

// Per iteration: an action call whose REST step renders a path, a query and a
// header, goes through the transport and parses a JSON reply, then a `set`.
void BM_RestSteps(benchmark::State& state) {
  Fixture fixture;
  const int items = static_cast<int>(state.range(0));
  for (auto _ : state) {
    RunResult result = fixture.run("fetching", items);
    if (result.state != RunState::Completed) state.SkipWithError(result.error->message.c_str());
  }
  state.counters["ns_per_rest_step"] = benchmark::Counter(
      items, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RestSteps)->Arg(2000)->Unit(benchmark::kMillisecond);

// Ten REST steps per action call: the difference from BM_RestSteps, over
// nine steps, is the cost of one REST step without the call around it.
void BM_TenRestStepsPerCall(benchmark::State& state) {
  Fixture fixture;
  const int items = static_cast<int>(state.range(0));
  for (auto _ : state) {
    RunResult result = fixture.run("fetching_ten", items);
    if (result.state != RunState::Completed) state.SkipWithError(result.error->message.c_str());
  }
  state.counters["ns_per_rest_step"] = benchmark::Counter(
      10.0 * items, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_TenRestStepsPerCall)->Arg(200)->Unit(benchmark::kMillisecond);

long resident_kib() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

// Memory per in-flight run: N runs all suspended in a `wait` at once (each a
// RunExecution, its coroutine frames, frame values and records), measured as
// the growth of resident memory.
void BM_InFlightRunMemory(benchmark::State& state) {
  const int runs = static_cast<int>(state.range(0));
  for (auto _ : state) {
    Fixture fixture;
    fixture.services.record_simple_steps = true;
    std::vector<std::unique_ptr<RunExecution>> executions;
    int finished = 0;
    long before = resident_kib();
    for (int i = 0; i < runs; ++i) {
      RunRequest request;
      request.target = "waiting";
      request.user = "alice";
      ValueObject inputs;
      inputs.emplace("n", Value(static_cast<int64_t>(i)));
      request.inputs = Value(std::move(inputs));
      executions.push_back(std::make_unique<RunExecution>(fixture.set, fixture.services,
                                                          std::move(request), new_id(i)));
      spawn<RunResult>(executions.back()->run(), [&](RunResult) { ++finished; });
    }
    long during = resident_kib();
    fixture.loop.run_until([&] { return finished == runs; });
    state.counters["bytes_per_inflight_run"] =
        static_cast<double>(during - before) * 1024.0 / runs;
  }
}
BENCHMARK(BM_InFlightRunMemory)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
