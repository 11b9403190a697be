// The SQLite run store against real files: every field round-trips, list
// order and filters, idempotent saves, redaction down to the file's bytes,
// retention, file modes, a file shared with the token vault, threads.
#include "runtime/records/run_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "runtime/vault/token_vault.h"
#include "runtime/vault/vault_crypto.h"

namespace flowline {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using TimePoint = std::chrono::system_clock::time_point;

constexpr const char* kSecret = "SECRET123";

TimePoint at_ms(int64_t ms) { return TimePoint(milliseconds(ms)); }

// A run whose every field is set and distinct.
RunResult full_run() {
  RunResult run;
  run.context_id = "ctx-full-0001";
  run.target = "global.getpersonalincidentssubflow";
  run.user = "alice";
  run.source = RunSource::Batch;
  run.state = RunState::Error;
  run.outputs = Value(ValueObject{
      {"count", Value(3)},
      {"ratio", Value(0.25)},
      {"names", Value(ValueArray{Value("a"), Value(), Value(true)})},
  });
  run.error =
      RunError{"http_status", "GET https://api.example/incidents returned 404", "get/fetch"};
  run.started_at = at_ms(1'714'567'890'123);
  run.duration_ms = 1234.567;

  StepRecord call;
  call.path = "get";
  call.id = "get";
  call.type = "call";
  call.state = RunState::Error;
  call.started_ms = 0.5;
  call.duration_ms = 1200.125;
  call.inputs = Value(ValueObject{{"limit", Value(5)}});
  call.outputs = Value();
  call.error_code = "http_status";
  call.error_message = "the call failed";

  StepRecord rest;
  rest.path = "get/fetch";
  rest.id = "fetch";
  rest.type = "rest";
  rest.state = RunState::Error;
  rest.started_ms = 1.75;
  rest.duration_ms = 1100.001;
  rest.inputs = Value(ValueObject{{"path", Value("/incidents")}});
  rest.outputs = Value(ValueObject{{"status_code", Value(404)}, {"body", Value("not found")}});
  rest.http = HttpSummary{"GET", "https://api.example/incidents?limit=5", 404, 3, 1099.999};
  rest.error_code = "http_status";
  rest.error_message = "404 Not Found";

  StepRecord set;
  set.path = "get/shape";
  set.id = "shape";
  set.type = "set";
  set.state = RunState::Cancelled;
  set.started_ms = 1102;
  set.duration_ms = 0;
  set.inputs = Value(ValueArray{});
  set.outputs = Value(ValueObject{});

  run.steps = {call, rest, set};
  return run;
}

RunResult simple_run(const std::string& id, int64_t started_ms,
                     RunState state = RunState::Completed, const std::string& target = "global.a",
                     std::optional<std::string> user = std::string("alice")) {
  RunResult run;
  run.context_id = id;
  run.target = target;
  run.user = std::move(user);
  run.source = RunSource::Cli;
  run.state = state;
  run.started_at = at_ms(started_ms);
  run.duration_ms = 10;
  if (state == RunState::Error) run.error = RunError{"boom", "it failed", ""};
  StepRecord step;
  step.path = "only";
  step.id = "only";
  step.type = "log";
  run.steps.push_back(step);
  return run;
}

void expect_same_run(const RunResult& got, const RunResult& want) {
  EXPECT_EQ(got.context_id, want.context_id);
  EXPECT_EQ(got.target, want.target);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.source, want.source);
  EXPECT_EQ(got.state, want.state);
  EXPECT_EQ(got.outputs, want.outputs) << got.outputs.to_json();
  ASSERT_EQ(got.error.has_value(), want.error.has_value());
  if (want.error) {
    EXPECT_EQ(got.error->code, want.error->code);
    EXPECT_EQ(got.error->message, want.error->message);
    EXPECT_EQ(got.error->step, want.error->step);
  }
  EXPECT_EQ(got.started_at, want.started_at);
  EXPECT_EQ(got.duration_ms, want.duration_ms);
  ASSERT_EQ(got.steps.size(), want.steps.size());
  for (size_t i = 0; i < want.steps.size(); ++i) {
    SCOPED_TRACE("step " + want.steps[i].path);
    const StepRecord& g = got.steps[i];
    const StepRecord& w = want.steps[i];
    EXPECT_EQ(g.path, w.path);
    EXPECT_EQ(g.id, w.id);
    EXPECT_EQ(g.type, w.type);
    EXPECT_EQ(g.state, w.state);
    EXPECT_EQ(g.started_ms, w.started_ms);
    EXPECT_EQ(g.duration_ms, w.duration_ms);
    EXPECT_EQ(g.inputs, w.inputs) << g.inputs.to_json();
    EXPECT_EQ(g.outputs, w.outputs) << g.outputs.to_json();
    ASSERT_EQ(g.http.has_value(), w.http.has_value());
    if (w.http) {
      EXPECT_EQ(g.http->method, w.http->method);
      EXPECT_EQ(g.http->url, w.http->url);
      EXPECT_EQ(g.http->status, w.http->status);
      EXPECT_EQ(g.http->attempts, w.http->attempts);
      EXPECT_EQ(g.http->time_ms, w.http->time_ms);
    }
    EXPECT_EQ(g.error_code, w.error_code);
    EXPECT_EQ(g.error_message, w.error_message);
  }
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One integer from a query on a separate raw connection.
int64_t query_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  int64_t result = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      result = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return result;
}

bool exec_raw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

std::string fmt_id(int thread, int i) {
  return "t" + std::to_string(thread) + "-" + std::to_string(i);
}

std::vector<std::string> ids_of(const std::vector<RunSummary>& runs) {
  std::vector<std::string> ids;
  for (const auto& run : runs) ids.push_back(run.context_id);
  return ids;
}

class RunStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flowline-runs-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    db_path_ = dir_ + "/home/flowline.db";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<RunStore> open(const RunStoreOptions& options = {}) {
    Result<std::unique_ptr<RunStore>> store = RunStore::open(db_path_, options);
    EXPECT_TRUE(store.ok()) << store.status().code() << ": " << store.status().message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  std::vector<RunSummary> list(RunStore& store, const RunFilter& filter) {
    Result<std::vector<RunSummary>> runs = store.list(filter);
    EXPECT_TRUE(runs.ok()) << runs.status().message();
    return runs.ok() ? *runs : std::vector<RunSummary>();
  }

  std::string dir_, db_path_;
};

TEST_F(RunStoreTest, SaveAndGetRoundTripEveryField) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  RunResult run = full_run();
  ASSERT_TRUE(store->save(run).ok());

  Result<std::optional<RunResult>> got = store->get(run.context_id);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_TRUE(got->has_value());
  expect_same_run(**got, run);

  // And from a fresh connection, after the first is closed.
  store.reset();
  store = open();
  got = store->get(run.context_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  expect_same_run(**got, run);
}

TEST_F(RunStoreTest, RunWithoutUserErrorOrStepsRoundTrips) {
  auto store = open();
  RunResult run;
  run.context_id = "ctx-bare";
  run.target = "global.system_job";
  run.user = std::nullopt;
  run.source = RunSource::Script;
  run.state = RunState::InProgress;
  run.started_at = at_ms(5);
  ASSERT_TRUE(store->save(run).ok());
  Result<std::optional<RunResult>> got = store->get("ctx-bare");
  ASSERT_TRUE(got.ok() && got->has_value());
  expect_same_run(**got, run);
  EXPECT_FALSE((*got)->user.has_value());
  EXPECT_FALSE((*got)->error.has_value());
}

TEST_F(RunStoreTest, DurationsKeepTheMicrosecond) {
  auto store = open();
  RunResult run = simple_run("ctx-precise", 1);
  run.duration_ms = 0.1 + 0.2;  // 0.30000000000000004
  run.steps[0].started_ms = 2.0004;
  run.steps[0].duration_ms = 123456789.12346;
  ASSERT_TRUE(store->save(run).ok());
  Result<std::optional<RunResult>> got = store->get("ctx-precise");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->duration_ms, 0.3);
  EXPECT_EQ((*got)->steps[0].started_ms, 2.0);
  EXPECT_EQ((*got)->steps[0].duration_ms, 123456789.123);
}

TEST_F(RunStoreTest, GetOfAnUnknownIdIsNullopt) {
  auto store = open();
  ASSERT_TRUE(store->save(simple_run("ctx-1", 1)).ok());
  Result<std::optional<RunResult>> got = store->get("ctx-2");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_F(RunStoreTest, ListIsNewestFirstWithSummaries) {
  auto store = open();
  ASSERT_TRUE(store->save(simple_run("ctx-b", 2000)).ok());
  ASSERT_TRUE(store->save(simple_run("ctx-c", 3000, RunState::Error)).ok());
  ASSERT_TRUE(store->save(simple_run("ctx-a", 1000)).ok());

  std::vector<RunSummary> runs = list(*store, {});
  EXPECT_EQ(ids_of(runs), (std::vector<std::string>{"ctx-c", "ctx-b", "ctx-a"}));
  ASSERT_EQ(runs.size(), 3u);
  const RunSummary& c = runs[0];
  EXPECT_EQ(c.target, "global.a");
  EXPECT_EQ(c.user, std::optional<std::string>("alice"));
  EXPECT_EQ(c.source, RunSource::Cli);
  EXPECT_EQ(c.state, RunState::Error);
  EXPECT_EQ(c.started_at, at_ms(3000));
  EXPECT_EQ(c.duration_ms, 10);
  EXPECT_EQ(c.error_code, "boom");
  EXPECT_EQ(runs[1].error_code, "");
}

TEST_F(RunStoreTest, ListFiltersAndLimits) {
  auto store = open();
  ASSERT_TRUE(store->save(simple_run("r1", 1000, RunState::Completed, "global.a", "alice")).ok());
  ASSERT_TRUE(store->save(simple_run("r2", 2000, RunState::Error, "global.a", "bob")).ok());
  ASSERT_TRUE(store->save(simple_run("r3", 3000, RunState::Completed, "global.b", "alice")).ok());
  ASSERT_TRUE(store->save(simple_run("r4", 4000, RunState::Error, "global.b", std::nullopt)).ok());
  ASSERT_TRUE(store->save(simple_run("r5", 5000, RunState::Completed, "global.a", "alice")).ok());

  using Ids = std::vector<std::string>;
  RunFilter filter;
  filter.limit = 2;
  EXPECT_EQ(ids_of(list(*store, filter)), (Ids{"r5", "r4"}));
  filter.limit = 0;
  EXPECT_EQ(ids_of(list(*store, filter)), (Ids{"r5", "r4", "r3", "r2", "r1"}));

  RunFilter by_state;
  by_state.state = RunState::Error;
  EXPECT_EQ(ids_of(list(*store, by_state)), (Ids{"r4", "r2"}));
  RunFilter by_target;
  by_target.target = "global.b";
  EXPECT_EQ(ids_of(list(*store, by_target)), (Ids{"r4", "r3"}));
  RunFilter by_user;
  by_user.user = "alice";
  EXPECT_EQ(ids_of(list(*store, by_user)), (Ids{"r5", "r3", "r1"}));
  RunFilter combined;
  combined.user = "alice";
  combined.target = "global.a";
  combined.state = RunState::Completed;
  combined.limit = 1;
  EXPECT_EQ(ids_of(list(*store, combined)), (Ids{"r5"}));
  RunFilter none;
  none.state = RunState::Cancelled;
  EXPECT_TRUE(list(*store, none).empty());
  // The run with no user is not "everyone's".
  RunFilter nobody;
  nobody.user = "";
  EXPECT_TRUE(list(*store, nobody).empty());
}

TEST_F(RunStoreTest, DefaultListLimitIsTwenty) {
  auto store = open();
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(store->save(simple_run("r" + std::to_string(i), 1000 + i)).ok());
  }
  std::vector<RunSummary> runs = list(*store, {});
  ASSERT_EQ(runs.size(), kDefaultRunListLimit);
  EXPECT_EQ(runs.front().context_id, "r24");
  EXPECT_EQ(runs.back().context_id, "r5");
}

TEST_F(RunStoreTest, SavingAgainReplacesTheRecordAndItsSteps) {
  auto store = open();
  RunResult run = full_run();
  run.state = RunState::InProgress;
  run.error.reset();
  run.steps.resize(1);
  ASSERT_TRUE(store->save(run).ok());
  ASSERT_TRUE(store->save(run).ok());  // the same save twice changes nothing

  RunResult final_run = full_run();
  final_run.state = RunState::Completed;
  final_run.error.reset();
  ASSERT_TRUE(store->save(final_run).ok());

  std::vector<RunSummary> runs = list(*store, {});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].state, RunState::Completed);
  Result<std::optional<RunResult>> got = store->get(final_run.context_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  expect_same_run(**got, final_run);
  store.reset();
  EXPECT_EQ(query_int(db_path_, "SELECT COUNT(*) FROM runs"), 1);
  EXPECT_EQ(query_int(db_path_, "SELECT COUNT(*) FROM steps"), 3);

  // A final record with fewer steps than the first leaves no stale ones.
  store = open();
  final_run.steps.resize(2);
  ASSERT_TRUE(store->save(final_run).ok());
  store.reset();
  EXPECT_EQ(query_int(db_path_, "SELECT COUNT(*) FROM steps"), 2);
}

TEST_F(RunStoreTest, SecretsNeverReachTheFile) {
  auto store = open();
  RunResult run = full_run();
  run.outputs = Value(ValueObject{
      {"access_token", Value(kSecret)},
      {"note", Value("VISIBLE456")},
      {"nested", Value(ValueArray{Value(ValueObject{{"client_secret", Value(kSecret)}})})},
  });
  run.error->message = std::string("GET https://api.example/x?token=") + kSecret + " failed";
  run.steps[1].http->url =
      std::string("https://bob:") + kSecret + "@api.example/x?token=" + kSecret;
  run.steps[1].inputs = Value(ValueObject{
      {"headers", Value(ValueObject{{"Authorization", Value(std::string("Bearer ") + kSecret)}})}});
  run.steps[1].outputs = Value(
      ValueObject{{"body", Value(std::string("{\"refresh_token\": \"x\"} Bearer ") + kSecret)},
                  {"next", Value(std::string("https://api.example/p2?apikey=") + kSecret)}});
  run.steps[1].error_message = std::string("Authorization: Bearer ") + kSecret;
  ASSERT_TRUE(store->save(run).ok());

  Result<std::optional<RunResult>> got = store->get(run.context_id);
  ASSERT_TRUE(got.ok() && got->has_value());
  const RunResult& stored = **got;
  EXPECT_EQ(stored.outputs.find("access_token")->as_string(), "[redacted]");
  EXPECT_EQ(stored.outputs.find("note")->as_string(), "VISIBLE456");
  EXPECT_EQ(stored.steps[1].http->url, "https://[redacted]@api.example/x?token=[redacted]");
  EXPECT_EQ(stored.error->message, "GET https://api.example/x?token=[redacted] failed");
  EXPECT_EQ(stored.steps[1].error_message, "Authorization: Bearer [redacted]");

  // The raw bytes of the database and its WAL, while open and after close.
  auto raw = [&] { return read_bytes(db_path_) + read_bytes(db_path_ + "-wal"); };
  std::string bytes = raw();
  EXPECT_NE(bytes.find("VISIBLE456"), std::string::npos) << "the search itself must work";
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
  store.reset();
  bytes = raw();
  EXPECT_NE(bytes.find("VISIBLE456"), std::string::npos);
  EXPECT_EQ(bytes.find(kSecret), std::string::npos);
}

TEST_F(RunStoreTest, KeepsOnlyTheNewestRuns) {
  RunStoreOptions options;
  options.max_runs = 3;
  auto store = open(options);
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(store->save(simple_run("r" + std::to_string(i), i * 1000)).ok());
  }
  RunFilter all;
  all.limit = 0;
  EXPECT_EQ(ids_of(list(*store, all)), (std::vector<std::string>{"r5", "r4", "r3"}));
  Result<std::optional<RunResult>> gone = store->get("r1");
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  // A run older than everything kept is pruned at once.
  ASSERT_TRUE(store->save(simple_run("ancient", 1)).ok());
  EXPECT_EQ(ids_of(list(*store, all)), (std::vector<std::string>{"r5", "r4", "r3"}));
  // Re-saving a kept run does not push another out.
  ASSERT_TRUE(store->save(simple_run("r3", 3000, RunState::Error)).ok());
  EXPECT_EQ(ids_of(list(*store, all)), (std::vector<std::string>{"r5", "r4", "r3"}));
  store.reset();
  EXPECT_EQ(query_int(db_path_, "SELECT COUNT(*) FROM steps"), 3) << "pruned runs' steps go too";
  EXPECT_EQ(query_int(db_path_,
                      "SELECT COUNT(*) FROM steps WHERE context_id NOT IN "
                      "(SELECT context_id FROM runs)"),
            0);
}

TEST_F(RunStoreTest, DefaultRetentionIsNamed) {
  EXPECT_EQ(RunStoreOptions{}.max_runs, kDefaultMaxStoredRuns);
  EXPECT_EQ(kDefaultMaxStoredRuns, 10'000u);
}

TEST_F(RunStoreTest, FileIsPrivate) {
  auto store = open();
  ASSERT_TRUE(store->save(simple_run("r1", 1)).ok());
  struct stat st;
  ASSERT_EQ(::stat(db_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ + "/home").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  store.reset();

  // An existing file left readable by others is tightened, not loosened.
  ASSERT_EQ(::chmod(db_path_.c_str(), 0644), 0);
  store = open();
  ASSERT_EQ(::stat(db_path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RunStoreTest, SharesTheFileWithTheTokenVault) {
  ::setenv(kVaultKeyEnv, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", 1);
  Result<std::unique_ptr<TokenVault>> vault = open_sqlite_vault(db_path_, dir_ + "/home/vault.key");
  ASSERT_TRUE(vault.ok()) << vault.status().message();
  StoredToken token;
  token.access_token = "access";
  ASSERT_TRUE((*vault)->put("global.cred", "alice", token).ok());

  auto store = open();
  ASSERT_TRUE(store->save(simple_run("r1", 1)).ok());
  Result<std::optional<StoredToken>> read = (*vault)->get("global.cred", "alice");
  ASSERT_TRUE(read.ok() && read->has_value());
  EXPECT_EQ((*read)->access_token, "access");
  ::unsetenv(kVaultKeyEnv);
  store.reset();
  vault->reset();
  EXPECT_EQ(query_int(db_path_, "SELECT version FROM schema_versions WHERE component = 'runs'"), 1);
  EXPECT_EQ(query_int(db_path_, "SELECT version FROM schema_versions WHERE component = 'vault'"),
            1);
  EXPECT_EQ(query_int(db_path_, "SELECT COUNT(*) FROM runs"), 1);
}

TEST_F(RunStoreTest, ConcurrentSavesFromThreads) {
  auto store = open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&store, t] {
      for (int i = 0; i < 25; ++i) {
        Status status = store->save(simple_run(fmt_id(t, i), t * 100 + i));
        EXPECT_TRUE(status.ok()) << status.message();
        RunFilter filter;
        filter.limit = 5;
        EXPECT_TRUE(store->list(filter).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  RunFilter all;
  all.limit = 0;
  EXPECT_EQ(list(*store, all).size(), 100u);
}

TEST_F(RunStoreTest, TwoStoresOnOneFile) {
  auto first = open();
  auto second = open();
  ASSERT_TRUE(first->save(simple_run("from-first", 1)).ok());
  ASSERT_TRUE(second->save(simple_run("from-second", 2)).ok());
  EXPECT_EQ(ids_of(list(*first, {})), (std::vector<std::string>{"from-second", "from-first"}));
}

TEST_F(RunStoreTest, ASchemaFromANewerFlowlineIsRefusedUntouched) {
  open().reset();
  ASSERT_TRUE(
      exec_raw(db_path_, "UPDATE schema_versions SET version = 99 WHERE component = 'runs'"));
  Result<std::unique_ptr<RunStore>> store = RunStore::open(db_path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), "run_store_schema_too_new");
  EXPECT_NE(store.status().message().find(db_path_), std::string::npos);
  EXPECT_EQ(query_int(db_path_, "SELECT version FROM schema_versions WHERE component = 'runs'"),
            99);
}

TEST_F(RunStoreTest, ADamagedRowIsReportedNotGuessed) {
  auto store = open();
  ASSERT_TRUE(store->save(simple_run("r1", 1)).ok());
  ASSERT_TRUE(exec_raw(db_path_, "UPDATE runs SET state = 'exploded'"));
  Result<std::optional<RunResult>> got = store->get("r1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "run_store_corrupt");
  EXPECT_FALSE(store->list({}).ok());

  ASSERT_TRUE(exec_raw(db_path_, "UPDATE runs SET state = 'completed', outputs = '{oops'"));
  got = store->get("r1");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "run_store_corrupt");
  EXPECT_TRUE(store->list({}).ok());
}

TEST_F(RunStoreTest, NotADatabaseIsACorruptStore) {
  fs::create_directories(dir_ + "/home");
  std::ofstream(db_path_) << "this is not an SQLite database, just some text long enough to matter";
  Result<std::unique_ptr<RunStore>> store = RunStore::open(db_path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), "run_store_corrupt") << store.status().message();
}

TEST_F(RunStoreTest, ADirectoryThatCannotBeMadeIsAnIoError) {
  // A file where the directory should be (permissions would not stop root).
  std::ofstream(dir_ + "/blocker") << "x";
  Result<std::unique_ptr<RunStore>> store = RunStore::open(dir_ + "/blocker/flowline.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), "run_store_io");
  EXPECT_NE(store.status().message().find(dir_ + "/blocker"), std::string::npos);
}

TEST_F(RunStoreTest, ARunNeedsAContextId) {
  auto store = open();
  RunResult run = simple_run("", 1);
  Status status = store->save(run);
  EXPECT_EQ(status.code(), "run_store_invalid");
}

TEST(RunStateNamesTest, ParseInvertsTheNames) {
  for (RunState state :
       {RunState::InProgress, RunState::Completed, RunState::Error, RunState::Cancelled}) {
    EXPECT_EQ(parse_run_state(run_state_name(state)), state);
  }
  for (RunSource source : {RunSource::Cli, RunSource::Batch, RunSource::Api, RunSource::Script}) {
    EXPECT_EQ(parse_run_source(run_source_name(source)), source);
  }
  EXPECT_EQ(parse_run_state("done"), std::nullopt);
  EXPECT_EQ(parse_run_source(""), std::nullopt);
}

// Restores an environment variable when it goes out of scope.
class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* value = std::getenv(name);
    if (value != nullptr) saved_ = value;
  }
  ~EnvGuard() {
    if (saved_) {
      ::setenv(name_, saved_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> saved_;
};

TEST(FlowlineHomeTest, EnvironmentThenHome) {
  EnvGuard home_guard("HOME");
  EnvGuard flowline_guard("FLOWLINE_HOME");
  ::setenv("FLOWLINE_HOME", "/srv/flowline", 1);
  EXPECT_EQ(flowline_home(), "/srv/flowline");
  EXPECT_EQ(default_database_path(), "/srv/flowline/flowline.db");
  ::setenv("FLOWLINE_HOME", "", 1);
  ::setenv("HOME", "/home/alice/", 1);
  EXPECT_EQ(flowline_home(), "/home/alice/.local/share/flowline");
  ::unsetenv("FLOWLINE_HOME");
  ::setenv("HOME", "/home/bob", 1);
  EXPECT_EQ(default_database_path(), "/home/bob/.local/share/flowline/flowline.db");
}

}  // namespace
}  // namespace flowline
