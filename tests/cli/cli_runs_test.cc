// `flowline runs list|show` from the user's side: a run store seeded through
// RunStore in a temporary FLOWLINE_HOME, read by the real program.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "runtime/records/run_store.h"

namespace flowline {
namespace {

namespace fs = std::filesystem;

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flowline-cli-runs-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    home_ = dir_ + "/home";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs `flowline ARGS` with FLOWLINE_HOME set, in UTC, without colour.
  Output flowline(const std::string& args) {
    std::string err_file = dir_ + "/stderr";
    std::string command = "FLOWLINE_HOME='" + home_ + "' TZ=UTC NO_COLOR=1 " +
                          std::string(FLOWLINE_BINARY) + " " + args + " 2>'" + err_file + "'";
    Output result;
    FILE* pipe = ::popen(command.c_str(), "r");
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
    int status = ::pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    result.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return result;
  }

  void seed() {
    Result<std::unique_ptr<RunStore>> store = RunStore::open(home_ + "/flowline.db");
    ASSERT_TRUE(store.ok()) << store.status().message();

    RunResult failed;
    failed.context_id = "ctx-0001";
    failed.target = "global.getpersonalincidentssubflow";
    failed.user = "alice";
    failed.source = RunSource::Cli;
    failed.state = RunState::Error;
    failed.outputs = Value(ValueObject{{"count", Value(2)}, {"access_token", Value("SECRET123")}});
    failed.error =
        RunError{"http_status", "GET https://api.example/incidents returned 404", "get/fetch"};
    failed.started_at = at(1'714'567'890'123);  // 2024-05-01T12:51:30.123Z
    failed.duration_ms = 1234.5;
    StepRecord call;
    call.path = "get";
    call.id = "get";
    call.type = "call";
    call.state = RunState::Error;
    call.duration_ms = 1200;
    call.error_code = "http_status";
    call.error_message = "the call failed";
    StepRecord fetch;
    fetch.path = "get/fetch";
    fetch.id = "fetch";
    fetch.type = "rest";
    fetch.state = RunState::Error;
    fetch.started_ms = 2;
    fetch.duration_ms = 1100.25;
    fetch.http =
        HttpSummary{"GET", "https://api.example/incidents?limit=5&token=SECRET123", 404, 3, 1100.2};
    fetch.error_code = "http_status";
    fetch.error_message = "404 Not Found";
    failed.steps = {call, fetch};
    ASSERT_TRUE((*store)->save(failed).ok());

    RunResult done;
    done.context_id = "ctx-0002";
    done.target = "global.x";
    done.source = RunSource::Batch;
    done.state = RunState::Completed;
    done.started_at = at(1'714'567'990'123);
    done.duration_ms = 4.25;
    ASSERT_TRUE((*store)->save(done).ok());
  }

  static std::chrono::system_clock::time_point at(int64_t ms) {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
  }

  std::string dir_, home_;
};

TEST_F(CliRunsTest, ListWithoutADatabaseIsEmptyAndCreatesNothing) {
  Output r = flowline("runs list");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "no runs recorded\n");
  EXPECT_FALSE(fs::exists(home_ + "/flowline.db"));
  r = flowline("runs list --output json");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[]\n");
}

TEST_F(CliRunsTest, ListIsATableNewestFirst) {
  seed();
  Output r = flowline("runs list");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "CONTEXT ID  TARGET                              USER   SOURCE  STATE      STARTED    "
            "          DURATION\n"
            "ctx-0002    global.x                            -      batch   completed  "
            "2024-05-01T12:53:10  4.2 ms\n"
            "ctx-0001    global.getpersonalincidentssubflow  alice  cli     error      "
            "2024-05-01T12:51:30  1.23 s\n");
}

TEST_F(CliRunsTest, ListFilters) {
  seed();
  Output r = flowline("runs list --state error");
  EXPECT_NE(r.out.find("ctx-0001"), std::string::npos);
  EXPECT_EQ(r.out.find("ctx-0002"), std::string::npos);
  r = flowline("runs list --user alice --target global.getpersonalincidentssubflow");
  EXPECT_NE(r.out.find("ctx-0001"), std::string::npos);
  EXPECT_EQ(r.out.find("ctx-0002"), std::string::npos);
  r = flowline("runs list --limit 1");
  EXPECT_EQ(r.out.find("ctx-0001"), std::string::npos);
  EXPECT_NE(r.out.find("ctx-0002"), std::string::npos);
  r = flowline("runs list --user nobody");
  EXPECT_EQ(r.out, "no runs recorded\n");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(CliRunsTest, ListAsJson) {
  seed();
  Output r = flowline("runs list --output json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  ASSERT_TRUE(doc.IsArray());
  ASSERT_EQ(doc.Size(), 2u);
  const auto& first = doc[0];
  EXPECT_EQ(first["context_id"], "ctx-0002");
  EXPECT_TRUE(first["user"].IsNull());
  EXPECT_EQ(first["state"], "completed");
  EXPECT_EQ(first["started_at"], "2024-05-01T12:53:10.123Z");
  EXPECT_DOUBLE_EQ(first["duration_ms"].GetDouble(), 4.25);
  EXPECT_EQ(doc[1]["error_code"], "http_status");
  EXPECT_EQ(doc[1]["user"], "alice");
}

TEST_F(CliRunsTest, ShowIsAReadableReportWithoutSecrets) {
  seed();
  Output r = flowline("runs show ctx-0001");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "run ctx-0001\n"
            "  target:   global.getpersonalincidentssubflow\n"
            "  user:     alice\n"
            "  source:   cli\n"
            "  state:    error\n"
            "  started:  2024-05-01T12:51:30.123+00:00\n"
            "  duration: 1.23 s\n"
            "  error:    http_status: GET https://api.example/incidents returned 404 (step "
            "get/fetch)\n"
            "\n"
            "outputs:\n"
            "  {\n"
            "    \"access_token\": \"[redacted]\",\n"
            "    \"count\": 2\n"
            "  }\n"
            "\n"
            "steps (2):\n"
            "  get        call  error  1.20 s\n"
            "      error: http_status: the call failed\n"
            "  get/fetch  rest  error  1.10 s\n"
            "      GET https://api.example/incidents?limit=5&token=[redacted] -> 404, 3 attempts, "
            "1.10 s\n"
            "      error: http_status: 404 Not Found\n");
  EXPECT_EQ(r.out.find("SECRET123"), std::string::npos);
}

TEST_F(CliRunsTest, ShowAsJson) {
  seed();
  Output r = flowline("runs show ctx-0001 --output json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  EXPECT_EQ(doc["context_id"], "ctx-0001");
  EXPECT_EQ(doc["error"]["code"], "http_status");
  EXPECT_EQ(doc["error"]["step"], "get/fetch");
  EXPECT_EQ(doc["outputs"]["access_token"], "[redacted]");
  ASSERT_EQ(doc["steps"].Size(), 2u);
  const auto& fetch = doc["steps"][1];
  EXPECT_EQ(fetch["path"], "get/fetch");
  EXPECT_EQ(fetch["http"]["url"], "https://api.example/incidents?limit=5&token=[redacted]");
  EXPECT_EQ(fetch["http"]["status"].GetInt(), 404);
  EXPECT_EQ(fetch["http"]["attempts"].GetInt(), 3);
  EXPECT_TRUE(doc["steps"][0]["http"].IsNull());
}

TEST_F(CliRunsTest, ShowOfAnUnknownIdExitsOne) {
  seed();
  Output r = flowline("runs show nope");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no run with context id 'nope'"), std::string::npos) << r.err;
  // And with no database at all.
  fs::remove_all(home_);
  r = flowline("runs show ctx-0001");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no run with context id 'ctx-0001'"), std::string::npos) << r.err;
}

TEST_F(CliRunsTest, UsageErrorsExitTwo) {
  EXPECT_EQ(flowline("runs list --state bogus").exit_code, 2);
  EXPECT_EQ(flowline("runs list --output yaml").exit_code, 2);
  EXPECT_EQ(flowline("runs show").exit_code, 2);
  EXPECT_EQ(flowline("runs").exit_code, 2);
}

}  // namespace
}  // namespace flowline
