// Chrome trace-event JSON: parsed back with RapidJSON and checked for the
// structure Perfetto and chrome://tracing load, microsecond units, nesting
// of steps on threads, and redaction.
#include "runtime/records/trace.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace flowline {
namespace {

namespace fs = std::filesystem;

struct Event {
  std::string name, cat, ph;
  int64_t ts = 0, dur = 0, tid = 0;
  const rapidjson::Value* args = nullptr;
};

StepRecord step(std::string path, std::string type, double started_ms, double duration_ms) {
  StepRecord s;
  s.path = std::move(path);
  s.id = s.path.substr(s.path.rfind('/') == std::string::npos ? 0 : s.path.rfind('/') + 1);
  s.type = std::move(type);
  s.started_ms = started_ms;
  s.duration_ms = duration_ms;
  return s;
}

RunResult base_run() {
  RunResult run;
  run.context_id = "ctx-trace-1";
  run.target = "global.getpersonalincidentssubflow";
  run.user = "alice";
  run.source = RunSource::Cli;
  run.state = RunState::Completed;
  run.started_at =
      std::chrono::system_clock::time_point(std::chrono::milliseconds(1'714'567'890'123));
  run.duration_ms = 20;
  return run;
}

// Parses the trace and checks what every loader needs: the top-level shape,
// and on each event name/ph/pid/tid, with ts/dur integers on complete events.
std::vector<Event> parse_trace(const std::string& json, rapidjson::Document& doc) {
  doc.Parse(json.c_str(), json.size());
  EXPECT_FALSE(doc.HasParseError()) << json;
  std::vector<Event> events;
  if (doc.HasParseError()) return events;
  EXPECT_TRUE(doc.IsObject());
  EXPECT_TRUE(doc.HasMember("displayTimeUnit") && doc["displayTimeUnit"] == "ms");
  EXPECT_TRUE(doc.HasMember("traceEvents") && doc["traceEvents"].IsArray());
  if (!doc.HasMember("traceEvents") || !doc["traceEvents"].IsArray()) return events;
  for (const auto& e : doc["traceEvents"].GetArray()) {
    EXPECT_TRUE(e.IsObject());
    EXPECT_TRUE(e.HasMember("name") && e["name"].IsString());
    EXPECT_TRUE(e.HasMember("ph") && e["ph"].IsString());
    EXPECT_TRUE(e.HasMember("pid") && e["pid"].IsInt());
    EXPECT_TRUE(e.HasMember("tid") && e["tid"].IsInt());
    Event event;
    event.name = e["name"].GetString();
    event.ph = e["ph"].GetString();
    event.tid = e["tid"].GetInt();
    if (e.HasMember("args")) event.args = &e["args"];
    if (event.ph == "X") {
      EXPECT_TRUE(e.HasMember("cat") && e["cat"].IsString());
      EXPECT_TRUE(e.HasMember("ts") && e["ts"].IsInt64()) << event.name;
      EXPECT_TRUE(e.HasMember("dur") && e["dur"].IsInt64()) << event.name;
      if (e.HasMember("cat")) event.cat = e["cat"].GetString();
      if (e.HasMember("ts")) event.ts = e["ts"].GetInt64();
      if (e.HasMember("dur")) event.dur = e["dur"].GetInt64();
      EXPECT_GE(event.ts, 0);
      EXPECT_GE(event.dur, 0);
    } else {
      EXPECT_EQ(event.ph, "M");
    }
    events.push_back(event);
  }
  return events;
}

const Event* find_event(const std::vector<Event>& events, const std::string& name) {
  for (const auto& e : events) {
    if (e.ph == "X" && e.name == name) return &e;
  }
  return nullptr;
}

// What viewers require of complete events on one thread: each either
// contains the next or has ended before it starts.
void expect_nesting_per_thread(const std::vector<Event>& events) {
  std::map<int64_t, std::vector<Event>> by_tid;
  for (const auto& e : events) {
    if (e.ph == "X") by_tid[e.tid].push_back(e);
  }
  for (auto& [tid, list] : by_tid) {
    std::stable_sort(list.begin(), list.end(), [](const Event& a, const Event& b) {
      return a.ts != b.ts ? a.ts < b.ts : a.dur > b.dur;
    });
    std::vector<const Event*> open;
    for (const auto& e : list) {
      while (!open.empty() && open.back()->ts + open.back()->dur <= e.ts) open.pop_back();
      if (!open.empty()) {
        EXPECT_LE(e.ts + e.dur, open.back()->ts + open.back()->dur)
            << "'" << e.name << "' overlaps '" << open.back()->name << "' on thread " << tid;
      }
      open.push_back(&e);
    }
  }
}

TEST(ChromeTraceTest, OneCompleteEventForTheRunAndEachStep) {
  RunResult run = base_run();
  run.steps = {step("first", "set", 0, 1), step("second", "log", 1, 2)};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  int complete = 0;
  for (const auto& e : events) complete += e.ph == "X";
  EXPECT_EQ(complete, 3);

  const Event* root = find_event(events, run.target);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->cat, "run");
  ASSERT_NE(root->args, nullptr);
  EXPECT_EQ((*root->args)["context_id"], "ctx-trace-1");
  EXPECT_EQ((*root->args)["user"], "alice");
  EXPECT_EQ((*root->args)["source"], "cli");
  EXPECT_EQ((*root->args)["state"], "completed");
  EXPECT_EQ((*root->args)["started_at"], "2024-05-01T12:51:30.123Z");

  const Event* second = find_event(events, "second");
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->cat, "log");
  EXPECT_EQ((*second->args)["id"], "second");
  EXPECT_EQ((*second->args)["state"], "completed");

  // Metadata names the process and the run's thread.
  bool named_process = false;
  for (const auto& e : events) {
    if (e.ph == "M" && e.name == "process_name") {
      named_process = true;
      EXPECT_EQ((*e.args)["name"], "flowline global.getpersonalincidentssubflow");
    }
  }
  EXPECT_TRUE(named_process);
}

TEST(ChromeTraceTest, TimesAreMicrosecondsSinceTheRunStarted) {
  RunResult run = base_run();
  run.duration_ms = 12.5;
  run.steps = {step("fetch", "rest", 1.5, 2.25), step("quick", "set", 4.0004, 0.0004)};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  const Event* root = find_event(events, run.target);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->ts, 0);
  EXPECT_EQ(root->dur, 12500);
  const Event* fetch = find_event(events, "fetch");
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->ts, 1500);
  EXPECT_EQ(fetch->dur, 2250);
  const Event* quick = find_event(events, "quick");
  ASSERT_NE(quick, nullptr);
  EXPECT_EQ(quick->ts, 4000);
  EXPECT_EQ(quick->dur, 1);
  // The exact duration stays in args.
  EXPECT_DOUBLE_EQ((*fetch->args)["duration_ms"].GetDouble(), 2.25);
}

TEST(ChromeTraceTest, CalledStepsNestUnderTheirCallOnTheRunsThread) {
  RunResult run = base_run();
  run.steps = {step("get", "call", 1, 10), step("get/fetch", "rest", 2, 3),
               step("get/parse", "json_parse", 5, 4), step("after", "log", 12, 1)};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  for (const char* name : {"get", "get/fetch", "get/parse", "after"}) {
    const Event* e = find_event(events, name);
    ASSERT_NE(e, nullptr) << name;
    EXPECT_EQ(e->tid, 1) << name;
  }
  const Event* get = find_event(events, "get");
  for (const char* child : {"get/fetch", "get/parse"}) {
    const Event* e = find_event(events, child);
    EXPECT_GE(e->ts, get->ts);
    EXPECT_LE(e->ts + e->dur, get->ts + get->dur);
  }
  expect_nesting_per_thread(events);
}

TEST(ChromeTraceTest, OverlappingParallelBranchesGetTheirOwnThreads) {
  RunResult run = base_run();
  run.steps = {step("fan", "parallel", 1, 10),   step("fan/a", "rest", 1, 6),
               step("fan/b", "rest", 2, 6),      step("fan/c", "rest", 3, 2),
               step("fan/b/inner", "set", 3, 1), step("then", "log", 12, 2)};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  expect_nesting_per_thread(events);
  const Event* a = find_event(events, "fan/a");
  const Event* b = find_event(events, "fan/b");
  const Event* inner = find_event(events, "fan/b/inner");
  ASSERT_TRUE(a && b && inner);
  EXPECT_NE(a->tid, b->tid);
  EXPECT_EQ(inner->tid, b->tid) << "a child stays with its parent when it fits there";
  // c overlaps a and b without being their child: it never shows beneath them.
  const Event* c = find_event(events, "fan/c");
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->tid, a->tid);
  EXPECT_NE(c->tid, b->tid);
  EXPECT_EQ(find_event(events, "then")->tid, 1);
  // Each extra thread is named.
  std::map<int64_t, bool> named;
  for (const auto& e : events) {
    if (e.ph == "M" && e.name == "thread_name") named[e.tid] = true;
  }
  for (const auto& e : events) {
    if (e.ph == "X") {
      EXPECT_TRUE(named[e.tid]) << "thread " << e.tid;
    }
  }
}

TEST(ChromeTraceTest, StepsPastTheRecordedRunDurationStillNest) {
  RunResult run = base_run();
  run.duration_ms = 5;  // a clock reading that disagrees with the steps
  run.steps = {step("late", "set", 4, 3)};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  const Event* root = find_event(events, run.target);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(root->dur, 7000);
  EXPECT_EQ(find_event(events, "late")->tid, 1);
  expect_nesting_per_thread(events);
}

TEST(ChromeTraceTest, HttpSummaryAndErrorsInArgsWithoutSecrets) {
  RunResult run = base_run();
  run.state = RunState::Error;
  run.error = RunError{"http_status", "fetch failed with Bearer SECRET123456", "get/fetch"};
  StepRecord fetch = step("get/fetch", "rest", 1, 5);
  fetch.state = RunState::Error;
  fetch.http = HttpSummary{"GET", "https://u:SECRET123456@api.example/x?token=SECRET123456&page=2",
                           404, 3, 4.5};
  fetch.error_code = "http_status";
  fetch.error_message = "404 Not Found at https://api.example/x?access_token=SECRET123456";
  fetch.inputs = Value(ValueObject{{"password", Value("SECRET123456")}});
  run.steps = {step("get", "call", 0, 8), fetch};

  std::string json = chrome_trace_json(run);
  EXPECT_EQ(json.find("SECRET123456"), std::string::npos) << json;
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(json, doc);
  const Event* e = find_event(events, "get/fetch");
  ASSERT_NE(e, nullptr);
  const rapidjson::Value& args = *e->args;
  EXPECT_EQ(args["state"], "error");
  EXPECT_EQ(args["http_method"], "GET");
  EXPECT_EQ(args["http_url"], "https://[redacted]@api.example/x?token=[redacted]&page=2");
  EXPECT_EQ(args["http_status"].GetInt(), 404);
  EXPECT_EQ(args["http_attempts"].GetInt(), 3);
  EXPECT_DOUBLE_EQ(args["http_time_ms"].GetDouble(), 4.5);
  EXPECT_EQ(args["error_code"], "http_status");
  EXPECT_EQ(args["error_message"],
            "404 Not Found at https://api.example/x?access_token=[redacted]");
  const rapidjson::Value& run_args = *find_event(events, run.target)->args;
  EXPECT_EQ(run_args["error_code"], "http_status");
  EXPECT_EQ(run_args["error_step"], "get/fetch");
  EXPECT_EQ(run_args["state"], "error");
  // Steps without HTTP have no HTTP args.
  EXPECT_FALSE(find_event(events, "get")->args->HasMember("http_method"));
}

TEST(ChromeTraceTest, InvalidUtf8AndOddValuesStillMakeValidJson) {
  RunResult run = base_run();
  run.user = std::nullopt;
  run.duration_ms = -3;
  StepRecord odd = step("odd\xff\xfe", "", -1, std::nan(""));
  odd.error_code = "x";
  odd.error_message = std::string("bad \xc3\x28 bytes \"quoted\" \n\t\x01", 22);
  run.steps = {odd};
  rapidjson::Document doc;
  std::vector<Event> events = parse_trace(chrome_trace_json(run), doc);
  ASSERT_FALSE(doc.HasParseError());
  const Event* e = find_event(events, "odd\xef\xbf\xbd\xef\xbf\xbd");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->cat, "step");
  EXPECT_EQ(e->ts, 0);
  EXPECT_EQ(e->dur, 0);
  EXPECT_EQ((*find_event(events, run.target)->args)["user"], "(none)");
}

TEST(ChromeTraceTest, WriteTraceWritesTheFile) {
  char pattern[] = "/tmp/flowline-trace-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  std::string dir = pattern;
  RunResult run = base_run();
  run.steps = {step("a", "set", 0, 1)};
  std::string path = dir + "/run.trace.json";
  ASSERT_TRUE(write_trace(run, path).ok());
  std::ifstream in(path, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, chrome_trace_json(run));

  Status status = write_trace(run, dir + "/missing/dir/run.json");
  EXPECT_EQ(status.code(), "trace_io");
  EXPECT_NE(status.message().find(dir + "/missing/dir/run.json"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flowline
