// `flowline batch` as a user runs it, end to end against the sample endpoint on
// loopback with a real vault: mixed good and bad JSONL lines, CSV quoting and
// typed text inputs, resuming after SIGKILL at random points, Ctrl-C, a
// thousand jobs in flight, one refresh of an expired token under load, and
// the usage errors. No token value may show up in any output or result.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "support/endpoint_fixture.h"

namespace flowline {
namespace {

using e2e::ChildResult;
using e2e::Endpoint;
using Clock = std::chrono::steady_clock;

constexpr char kSubflow[] = "global.getpersonalincidentssubflow";

// Network-free subflows beside the sample: a mandatory integer echoed back
// after a wait (three paces), and a mandatory string echoed back.
constexpr char kBatchDefs[] = R"yaml(kind: Subflow
name: needs_n
description: Echoes its mandatory integer after a short wait
inputs:
  n: {type: integer, mandatory: true}
outputs:
  n: {type: integer}
steps:
  - wait: 5ms
  - assign_outputs:
      n: "{{ inputs.n }}"
---
kind: Subflow
name: paced_n
description: Echoes its mandatory integer after 30 ms
inputs:
  n: {type: integer, mandatory: true}
outputs:
  n: {type: integer}
steps:
  - wait: 30ms
  - assign_outputs:
      n: "{{ inputs.n }}"
---
kind: Subflow
name: slow_n
description: Echoes its mandatory integer after 300 ms
inputs:
  n: {type: integer, mandatory: true}
outputs:
  n: {type: integer}
steps:
  - wait: 300ms
  - assign_outputs:
      n: "{{ inputs.n }}"
---
kind: Action
name: incident_content_type
description: The Content-Type header of the incident list, read by a pill
outputs:
  type: {type: string, value: "{{ steps.fetch.headers['content-type'] }}"}
  count: {type: integer, value: "{{ length(steps.fetch.body.result) }}"}
steps:
  - id: fetch
    rest: {connection: acme, method: GET, path: /api/now/table/incident}
---
kind: Subflow
name: echo
description: Echoes its mandatory text
inputs:
  text: {type: string, mandatory: true}
outputs:
  text: {type: string}
steps:
  - assign_outputs:
      text: "{{ inputs.text }}"
)yaml";

// The result lines of a results file, parsed, by id.
struct Results {
  std::vector<std::string> lines;  // complete lines, without '\n'
  std::vector<std::unique_ptr<rapidjson::Document>> docs;
  std::map<std::string, int> count;          // id -> lines
  std::map<std::string, size_t> index;       // id -> its (last) doc
  std::string torn;                          // text after the last '\n'

  const rapidjson::Document& operator[](const std::string& id) const {
    static const rapidjson::Document kNull;
    auto it = index.find(id);
    return it == index.end() ? kNull : *docs[it->second];
  }
  bool has(const std::string& id) const { return index.count(id) > 0; }
};

// The value at a path of members, or null when there is none (rapidjson asserts on a
// missing member).
const rapidjson::Value& At(const rapidjson::Value& v, std::initializer_list<const char*> path) {
  static const rapidjson::Value kNull;
  const rapidjson::Value* at = &v;
  for (const char* member : path) {
    if (!at->IsObject() || !at->HasMember(member)) return kNull;
    at = &(*at)[member];
  }
  return *at;
}

int64_t Int(const rapidjson::Value& v) { return v.IsInt64() ? v.GetInt64() : -999; }

std::string Str(const rapidjson::Value& v, const char* member) {
  if (!v.IsObject() || !v.HasMember(member) || !v[member].IsString()) return "<none>";
  return v[member].GetString();
}

std::string ErrorCode(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("error") || !v["error"].IsObject()) return "<none>";
  return Str(v["error"], "code");
}

std::string ErrorMessage(const rapidjson::Value& v) {
  if (!v.IsObject() || !v.HasMember("error") || !v["error"].IsObject()) return "<none>";
  return Str(v["error"], "message");
}

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

class CliBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = e2e::MakeTempDir("cli-batch");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
  }
  void TearDown() override {
    endpoint_.reset();
    std::error_code ec;
    if (!HasFailure()) std::filesystem::remove_all(root_, ec);
    else std::cerr << "kept " << root_ << " for a look\n";
  }

  // Starts the endpoint and copies the sample definitions, plus kBatchDefs, pointed at it.
  void Start(sample::EndpointOptions options = {}) {
    endpoint_ = std::make_unique<Endpoint>(std::move(options));
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
    e2e::WriteFile(defs_ + "/batch_jobs.yaml", kBatchDefs);
  }

  std::map<std::string, std::string> Env() const {
    return {{"FLOWLINE_HOME", home_},
            {"ACME_CLIENT_SECRET", e2e::kClientSecret},
            {"FLOWLINE_VAULT_KEY", e2e::kVaultKey},
            {"FLOWLINE_USER", "batchuser"},
            {"NO_COLOR", "1"}};
  }

  ChildResult Flowline(const std::vector<std::string>& args) {
    ChildResult result = e2e::RunFlowline(args, Env(), root_);
    ExpectNoToken(result.out, "stdout");
    ExpectNoToken(result.err, "stderr");
    return result;
  }

  std::vector<std::string> BatchArgs(const std::string& jobs, const std::string& out,
                                     std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"batch", jobs, "-d", defs_, "--out", out};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  // Logs `user` in at the endpoint and imports the token JSON with `flowline token import`;
  // `expires` is the JSON member giving the expiry ("expires_in":3600 by default).
  e2e::Tokens Import(const std::string& user, const std::string& expires = "") {
    e2e::Tokens tokens = endpoint_->Login(user);
    EXPECT_FALSE(tokens.access_token.empty());
    EXPECT_FALSE(tokens.refresh_token.empty());
    secrets_.push_back(tokens.access_token);
    secrets_.push_back(tokens.refresh_token);
    std::string file = root_ + "/" + user + "-token.json";
    e2e::WriteFile(file, "{\"access_token\":\"" + tokens.access_token +
                             "\",\"token_type\":\"Bearer\"," +
                             (expires.empty() ? "\"expires_in\":" + std::to_string(tokens.expires_in)
                                              : expires) +
                             ",\"refresh_token\":\"" + tokens.refresh_token + "\",\"scope\":\"" +
                             tokens.scope + "\"}");
    ChildResult imported = Flowline({"token", "import", "acme_personal", "--user", user, "--file",
                                     file, "-d", defs_});
    EXPECT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    std::filesystem::remove(file);
    return tokens;
  }

  void ExpectNoToken(const std::string& text, const std::string& where) {
    for (const auto& secret : secrets_)
      EXPECT_EQ(text.find(secret), std::string::npos) << "a token value in " << where;
  }

  // Reads a results file; every complete line must be a JSON object with a string id.
  // Unless `torn_ok`, the file must end with '\n' (no torn line).
  Results ReadResults(const std::string& path, bool torn_ok = false) {
    Results results;
    std::string text = e2e::ReadFile(path);
    ExpectNoToken(text, path);
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string line = text.substr(start, nl - start);
      if (line.empty()) continue;
      auto doc = std::make_unique<rapidjson::Document>();
      doc->Parse(line.c_str(), line.size());
      EXPECT_FALSE(doc->HasParseError()) << "line " << results.lines.size() + 1 << ": " << line;
      EXPECT_TRUE(doc->IsObject()) << line;
      std::string id = Str(*doc, "id");
      EXPECT_NE(id, "<none>") << line;
      std::string status = Str(*doc, "status");
      EXPECT_TRUE(status == "completed" || status == "error") << line;
      EXPECT_TRUE(doc->HasMember("duration_ms") && (*doc)["duration_ms"].IsNumber()) << line;
      EXPECT_TRUE(doc->HasMember("context_id")) << line;
      if (status == "completed") {
        EXPECT_TRUE(doc->HasMember("outputs")) << line;
      } else if (status == "error") {
        EXPECT_TRUE(doc->HasMember("error") && (*doc)["error"].IsObject()) << line;
      }
      results.count[id]++;
      results.index[id] = results.docs.size();
      results.docs.push_back(std::move(doc));
      results.lines.push_back(std::move(line));
    }
    results.torn = text.substr(start);
    if (!torn_ok) {
      EXPECT_TRUE(results.torn.empty()) << "torn last line: " << results.torn;
    }
    return results;
  }

  // Every id in `ids` has exactly one line and there is no other.
  static void ExpectExactlyOnce(const Results& results, const std::vector<std::string>& ids) {
    for (const auto& id : ids) EXPECT_EQ(results.count.count(id) ? results.count.at(id) : 0, 1) << id;
    EXPECT_EQ(results.count.size(), ids.size());
    EXPECT_EQ(results.lines.size(), ids.size());
  }

  // The caller of every incident in a completed result of the sample subflow, and how many.
  static void ExpectIncidentsOf(const rapidjson::Value& result, const std::string& user,
                                size_t count) {
    ASSERT_EQ(Str(result, "status"), "completed");
    const rapidjson::Value& incidents = At(result, {"outputs", "incidents"});
    ASSERT_TRUE(incidents.IsArray());
    EXPECT_EQ(incidents.Size(), count);
    EXPECT_EQ(Int(At(result, {"outputs", "total"})), static_cast<int64_t>(count));
    for (const auto& incident : incidents.GetArray())
      EXPECT_EQ(Str(incident, "caller_id"), user);
  }

  // A JSONL file of `n` jobs "<prefix>N" running `run` with input n = N.
  std::vector<std::string> WriteNumberedJobs(const std::string& path, const std::string& prefix,
                                             const std::string& run, int n) {
    std::vector<std::string> ids;
    std::string text;
    for (int i = 0; i < n; ++i) {
      ids.push_back(prefix + std::to_string(i));
      text += "{\"id\":\"" + ids.back() + "\",\"run\":\"" + run + "\",\"inputs\":{\"n\":" +
              std::to_string(i) + "}}\n";
    }
    e2e::WriteFile(path, text);
    return ids;
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
  std::vector<std::string> secrets_;
};

TEST_F(CliBatchTest, MixedGoodAndBadLinesGiveOneResultEach) {
  Start();
  Import("alice");
  Import("bob");
  std::string jobs = root_ + "/jobs.jsonl";
  e2e::WriteFile(jobs,
                 // 1-3: alice and bob, each their own incidents; carol has no token.
                 "{\"id\":\"a1\",\"run\":\"global.getpersonalincidentssubflow\",\"user\":\"alice\",\"inputs\":{}}\n"
                 "{\"id\":\"b1\",\"run\":\"getpersonalincidentssubflow\",\"user\":\"bob\"}\n"
                 "{\"id\":\"c1\",\"run\":\"getpersonalincidentssubflow\",\"user\":\"carol\"}\n"
                 // 4: invalid JSON; 5: no run.
                 "{\"id\":\"j4\",\"run\":\n"
                 "{\"id\":\"norun\",\"user\":\"alice\"}\n"
                 // 6, 7: unknown run names, a full-name and a short-name typo.
                 "{\"id\":\"typo\",\"run\":\"getpersonalincidentsubflow\",\"user\":\"alice\"}\n"
                 "{\"id\":\"typo-short\",\"run\":\"needs_m\",\"inputs\":{\"n\":1}}\n"
                 // 8: the mandatory input missing; 9, 10: wrong input types.
                 "{\"id\":\"no-n\",\"run\":\"needs_n\",\"inputs\":{}}\n"
                 "{\"id\":\"n-text\",\"run\":\"needs_n\",\"inputs\":{\"n\":\"five\"}}\n"
                 "{\"id\":\"limit-text\",\"run\":\"getpersonalincidentssubflow\",\"user\":\"alice\",\"inputs\":{\"limit\":\"2\"}}\n"
                 // 11: fine, no network; 12: inputs not an object.
                 "{\"id\":\"n-ok\",\"run\":\"needs_n\",\"inputs\":{\"n\":7}}\n"
                 "{\"id\":\"inputs-array\",\"run\":\"needs_n\",\"inputs\":[1]}\n"
                 // 13, 14: a comment and a blank line, skipped but counted.
                 "# bob again, limited\n"
                 "\n"
                 "{\"id\":\"b2\",\"run\":\"global.getpersonalincidentssubflow\",\"user\":\"bob\",\"inputs\":{\"limit\":1}}\n");
  std::string out = root_ + "/results.jsonl";
  ChildResult batch = Flowline(BatchArgs(jobs, out));
  EXPECT_EQ(batch.exit_code, 1) << batch.out << batch.err;
  EXPECT_EQ(batch.out, "");

  Results results = ReadResults(out);
  ExpectExactlyOnce(results, {"a1", "b1", "c1", "line:4", "norun", "typo", "typo-short", "no-n",
                              "n-text", "limit-text", "n-ok", "inputs-array", "b2"});

  ExpectIncidentsOf(results["a1"], "alice", 3);
  ExpectIncidentsOf(results["b1"], "bob", 2);
  ExpectIncidentsOf(results["b2"], "bob", 1);
  const rapidjson::Value& b2 = At(results["b2"], {"outputs", "incidents"});
  if (b2.IsArray() && b2.Size() > 0) {
    EXPECT_EQ(Str(b2[0], "number"), "INC0020001");
  }
  EXPECT_EQ(Str(results["n-ok"], "status"), "completed");
  EXPECT_EQ(Int(At(results["n-ok"], {"outputs", "n"})), 7);
  for (const char* id : {"a1", "b1", "b2", "n-ok", "c1"}) {
    EXPECT_EQ(Str(results[id], "context_id").size(), 36u) << id;  // it ran
    EXPECT_FALSE(results[id].HasMember("line")) << id;
  }

  // carol ran, and failed for want of a token.
  EXPECT_EQ(Str(results["c1"], "status"), "error");
  EXPECT_EQ(ErrorCode(results["c1"]), "token_missing");
  EXPECT_NE(ErrorMessage(results["c1"]).find("carol"), std::string::npos) << ErrorMessage(results["c1"]);

  // The jobs that never ran carry their line, and their message starts with it.
  struct Bad {
    const char* id;
    int line;
    const char* code;
    const char* mentions;
  };
  for (const Bad& bad : {Bad{"line:4", 4, "invalid_job", "JSON"},
                         Bad{"norun", 5, "invalid_job", "run"},
                         Bad{"typo", 6, "unknown_target", "did you mean 'getpersonalincidentssubflow'"},
                         Bad{"typo-short", 7, "unknown_target", "needs_m"},
                         Bad{"no-n", 8, "invalid_input", "'n'"},
                         Bad{"n-text", 9, "invalid_input", "'n'"},
                         Bad{"limit-text", 10, "invalid_input", "'limit'"},
                         Bad{"inputs-array", 12, "invalid_job", "inputs"}}) {
    SCOPED_TRACE(bad.id);
    const rapidjson::Document& result = results[bad.id];
    EXPECT_EQ(Str(result, "status"), "error");
    EXPECT_EQ(ErrorCode(result), bad.code);
    std::string message = ErrorMessage(result);
    EXPECT_TRUE(StartsWith(message, "line " + std::to_string(bad.line) + ": ")) << message;
    EXPECT_NE(message.find(bad.mentions), std::string::npos) << message;
    EXPECT_EQ(Int(At(result, {"line"})), bad.line);
    EXPECT_TRUE(result.HasMember("context_id") && result["context_id"].IsNull());
  }
  // A bare name is matched against bare names, as `flowline run` does.
  EXPECT_NE(ErrorMessage(results["typo-short"]).find("did you mean 'needs_n'"), std::string::npos)
      << ErrorMessage(results["typo-short"]);
  EXPECT_NE(ErrorMessage(results["no-n"]).find("needs input 'n'"), std::string::npos);
  EXPECT_NE(ErrorMessage(results["n-text"]).find("integer"), std::string::npos);

  // The summary: counts, errors by code, percentiles, where the results are.
  EXPECT_NE(batch.err.find("batch: 13 jobs in "), std::string::npos) << batch.err;
  EXPECT_NE(batch.err.find("4 completed, 9 failed"), std::string::npos) << batch.err;
  EXPECT_NE(batch.err.find("errors: invalid_input 3, invalid_job 3, token_missing 1, unknown_target 2"),
            std::string::npos)
      << batch.err;
  EXPECT_NE(batch.err.find("duration: p50 "), std::string::npos) << batch.err;
  EXPECT_NE(batch.err.find(", p95 "), std::string::npos) << batch.err;
  EXPECT_NE(batch.err.find("results: " + out), std::string::npos) << batch.err;

  // Only the three runs with a token called the API; carol's never did.
  EXPECT_EQ(endpoint_->Stat("api_requests"), 3);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.bob"), 2);
}

TEST_F(CliBatchTest, CsvQuotingAndTypedTextInputs) {
  Start();
  Import("alice");
  Import("bob");
  std::string jobs = root_ + "/jobs.csv";
  e2e::WriteFile(jobs,
                 "id,run,user,input.limit,input.text\n"                                     // 1
                 "\"c,1\",getpersonalincidentssubflow,alice,2,\n"                           // 2
                 "\"c \"\"2\"\"\",global.getpersonalincidentssubflow,bob,,\n"               // 3
                 "\"c\n3\",getpersonalincidentssubflow,alice,abc,\n"                        // 4-5
                 "e1,echo,,,\"a, \"\"quoted\"\"\nsecond line\"\n"                           // 6-7
                 "e2,echo,carol,7,x\n"                                                      // 8
                 "\n"                                                                       // 9
                 "short,echo\n");                                                           // 10
  std::string out = root_ + "/results.jsonl";
  ChildResult batch = Flowline(BatchArgs(jobs, out));
  EXPECT_EQ(batch.exit_code, 1) << batch.out << batch.err;
  Results results = ReadResults(out);
  ExpectExactlyOnce(results, {"c,1", "c \"2\"", "c\n3", "e1", "e2", "line:10"});

  // "2" from the text is the integer 2; an empty cell is the default (5).
  ExpectIncidentsOf(results["c,1"], "alice", 2);
  ExpectIncidentsOf(results["c \"2\""], "bob", 2);
  EXPECT_EQ(Str(results["e1"], "status"), "completed");
  EXPECT_EQ(Str(At(results["e1"], {"outputs"}), "text"), "a, \"quoted\"\nsecond line");

  const rapidjson::Document& abc = results["c\n3"];
  EXPECT_EQ(ErrorCode(abc), "invalid_input");
  EXPECT_TRUE(StartsWith(ErrorMessage(abc), "line 4: ")) << ErrorMessage(abc);
  EXPECT_NE(ErrorMessage(abc).find("'abc'"), std::string::npos) << ErrorMessage(abc);
  EXPECT_EQ(Int(At(abc, {"line"})), 4);

  // echo has no input 'limit'.
  const rapidjson::Document& e2 = results["e2"];
  EXPECT_EQ(ErrorCode(e2), "invalid_input");
  EXPECT_TRUE(StartsWith(ErrorMessage(e2), "line 8: ")) << ErrorMessage(e2);
  EXPECT_NE(ErrorMessage(e2).find("'limit'"), std::string::npos) << ErrorMessage(e2);

  // A row with too few cells has no trustworthy id.
  const rapidjson::Document& short_row = results["line:10"];
  EXPECT_EQ(ErrorCode(short_row), "invalid_job");
  EXPECT_TRUE(StartsWith(ErrorMessage(short_row), "line 10: ")) << ErrorMessage(short_row);
  EXPECT_EQ(Int(At(short_row, {"line"})), 10);

  EXPECT_NE(batch.err.find("3 completed, 3 failed"), std::string::npos) << batch.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 2);
}

// A batch killed with SIGKILL at random points, resumed again and again, ends
// with every job's result exactly once and no torn line.
TEST_F(CliBatchTest, ResumeAfterSigkillAtRandomPoints) {
  Start();
  std::string jobs = root_ + "/jobs.jsonl";
  std::string out = root_ + "/results.jsonl";
  // 300 × 30 ms at 8 in flight: a bit over a second of work.
  std::vector<std::string> ids = WriteNumberedJobs(jobs, "k", "paced_n", 300);
  std::random_device device;
  unsigned seed = device();
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> delay_ms(50, 400);

  int kills = 0, torn = 0, rounds = 0;
  std::string lines_after_kills;
  bool torn_left = false;  // the last kill left a torn line for the next --resume to cut
  ChildResult last;
  for (; rounds < 12; ++rounds) {
    std::vector<std::string> args = BatchArgs(jobs, out, {"--concurrency", "8"});
    if (rounds > 0) args.push_back("--resume");
    e2e::FlowlineChild child(args, Env(), root_);
    if (rounds < 5) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(random)));
      child.Kill(SIGKILL);
    }
    last = child.Wait();
    ExpectNoToken(last.out + last.err, "output");
    if (last.exit_code == 128 + SIGKILL) {
      ++kills;
      Results partial = ReadResults(out, /*torn_ok=*/true);
      torn += !partial.torn.empty();
      torn_left = !partial.torn.empty();
      lines_after_kills += std::to_string(partial.lines.size()) + (partial.torn.empty() ? " " : "+torn ");
      for (const auto& [id, n] : partial.count) EXPECT_EQ(n, 1) << id << " after round " << rounds;
      if (rounds == 4 && partial.torn.empty()) {
        // SIGKILL seldom lands inside a write of one short line: tear one by hand, as a
        // kill in the middle of write(2) would, for a job that has no result yet.
        for (const auto& id : ids) {
          if (partial.count.count(id)) continue;
          std::ofstream(out, std::ios::app) << "{\"id\":\"" << id << "\",\"status\":\"compl";
          lines_after_kills += "(torn " + id + " added) ";
          torn_left = true;
          break;
        }
      }
      continue;
    }
    if (rounds > 0 && last.exit_code == 0) {
      EXPECT_NE(last.err.find("skipped"), std::string::npos) << last.err;
      if (torn_left) {
        EXPECT_NE(last.err.find("a torn last line was cut off"), std::string::npos) << last.err;
      }
    }
    break;
  }
  RecordProperty("kills", kills);
  RecordProperty("torn_lines_seen", torn);
  RecordProperty("lines_after_kills", lines_after_kills);
  ASSERT_EQ(last.exit_code, 0) << "after " << rounds << " rounds: " << last.out << last.err;
  EXPECT_GE(kills, 1);

  Results results = ReadResults(out);
  ExpectExactlyOnce(results, ids);
  for (int i = 0; i < 300; ++i) {
    const rapidjson::Document& result = results["k" + std::to_string(i)];
    EXPECT_EQ(Str(result, "status"), "completed") << i;
    EXPECT_EQ(Int(At(result, {"outputs", "n"})), i);
  }
}

// Ctrl-C: no new job starts, the jobs in flight finish and are written, exit
// 130; --resume then runs the rest.
TEST_F(CliBatchTest, SigintFinishesTheJobsInFlightAndResumeDoesTheRest) {
  Start();
  std::string jobs = root_ + "/jobs.jsonl";
  std::string out = root_ + "/results.jsonl";
  constexpr int kJobs = 60;
  std::vector<std::string> ids = WriteNumberedJobs(jobs, "s", "slow_n", kJobs);
  ChildResult stopped;
  size_t seen_at_signal = 0;
  {
    e2e::FlowlineChild child(BatchArgs(jobs, out, {"--concurrency", "10"}), Env(), root_);
    // Wait for the first results (~300 ms), so the batch is surely running, then Ctrl-C
    // while the next ten are in flight.
    auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      seen_at_signal = Count(e2e::ReadFile(out), "\n");
      if (seen_at_signal > 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(seen_at_signal, 0u);
    child.Kill(SIGINT);
    stopped = child.Wait();
  }
  ExpectNoToken(stopped.out + stopped.err, "output");
  EXPECT_EQ(stopped.exit_code, 130) << stopped.err;
  EXPECT_NE(stopped.err.find("stopping"), std::string::npos) << stopped.err;
  EXPECT_NE(stopped.err.find("interrupted"), std::string::npos) << stopped.err;

  Results first = ReadResults(out);  // every line complete
  EXPECT_GE(first.lines.size(), seen_at_signal);
  EXPECT_LT(first.lines.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : first.count) EXPECT_EQ(n, 1) << id;
  // The jobs in flight ran to their end: none was cancelled.
  for (const auto& doc : first.docs) {
    EXPECT_EQ(Str(*doc, "status"), "completed") << Str(*doc, "id") << " " << ErrorCode(*doc);
    EXPECT_GE(At(*doc, {"duration_ms"}).IsNumber() ? At(*doc, {"duration_ms"}).GetDouble() : 0, 290.0)
        << Str(*doc, "id");
  }
  // Every job that started has its line: the summary counts what the file holds.
  EXPECT_NE(stopped.err.find("batch: " + std::to_string(first.lines.size()) + " jobs in "),
            std::string::npos)
      << stopped.err;

  ChildResult resumed = Flowline(BatchArgs(jobs, out, {"--concurrency", "30", "--resume"}));
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("resuming: " + std::to_string(first.lines.size()) + " results already"),
            std::string::npos)
      << resumed.err;
  EXPECT_NE(resumed.err.find(std::to_string(first.lines.size()) + " skipped"), std::string::npos)
      << resumed.err;
  Results results = ReadResults(out);
  ExpectExactlyOnce(results, ids);
  for (const auto& doc : results.docs) EXPECT_EQ(Str(*doc, "status"), "completed") << Str(*doc, "id");
}

// --max-failures stops starting jobs once that many failed (runs and bad lines
// alike); the jobs read ahead but not started get no line, and --resume runs them.
TEST_F(CliBatchTest, MaxFailuresStopsStartingJobsAndResumeRunsTheRest) {
  Start();
  Import("alice");
  constexpr int kJobs = 200;
  std::string jobs = root_ + "/jobs.jsonl";
  std::string text = "{\"id\":\"bad\",\"user\":\"alice\"}\n";  // no run: the first failure
  std::vector<std::string> ids = {"bad"};
  for (int i = 0; i < kJobs; ++i) {
    // carol has no token: each of her runs fails at once with token_missing.
    ids.push_back("m" + std::to_string(i));
    text += "{\"id\":\"" + ids.back() + "\",\"run\":\"" + kSubflow + "\",\"user\":\"carol\"}\n";
  }
  e2e::WriteFile(jobs, text);
  std::string out = root_ + "/results.jsonl";
  ChildResult stopped = Flowline(BatchArgs(jobs, out, {"--concurrency", "4", "--max-failures", "5"}));
  EXPECT_EQ(stopped.exit_code, 1) << stopped.err;
  EXPECT_NE(stopped.err.find("stopped starting jobs after --max-failures"), std::string::npos)
      << stopped.err;
  Results first = ReadResults(out);
  // Five failures stop it; runs already going when the fifth ended still finish.
  EXPECT_GE(first.lines.size(), 5u);
  EXPECT_LE(first.lines.size(), 5u + 4u);
  for (const auto& [id, n] : first.count) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(ErrorCode(first["bad"]), "invalid_job") << first.lines[0];
  for (const auto& doc : first.docs)
    if (Str(*doc, "id") != "bad") EXPECT_EQ(ErrorCode(*doc), "token_missing");

  ChildResult resumed = Flowline(BatchArgs(jobs, out, {"--concurrency", "4", "--resume"}));
  EXPECT_EQ(resumed.exit_code, 1) << resumed.err;  // carol's runs still fail
  Results results = ReadResults(out);
  ExpectExactlyOnce(results, ids);
}

// A batch without records skips building a REST step's headers object only
// when no pill reads it: here one does, and gets the header.
TEST_F(CliBatchTest, ResponseHeadersReachThePillsThatReadThem) {
  Start();
  Import("alice");
  std::string jobs = root_ + "/jobs.jsonl";
  e2e::WriteFile(jobs,
                 "{\"id\":\"h1\",\"run\":\"incident_content_type\",\"user\":\"alice\"}\n"
                 "{\"id\":\"h2\",\"run\":\"get_my_incidents\",\"user\":\"alice\"}\n");
  std::string out = root_ + "/results.jsonl";
  ChildResult batch = Flowline(BatchArgs(jobs, out));
  EXPECT_EQ(batch.exit_code, 0) << batch.err;
  Results results = ReadResults(out);
  ASSERT_EQ(Str(results["h1"], "status"), "completed") << ErrorMessage(results["h1"]);
  EXPECT_NE(Str(At(results["h1"], {"outputs"}), "type").find("application/json"), std::string::npos)
      << results.lines[0];
  EXPECT_EQ(Int(At(results["h1"], {"outputs", "count"})), 3);
  ASSERT_EQ(Str(results["h2"], "status"), "completed") << ErrorMessage(results["h2"]);
  EXPECT_EQ(Int(At(results["h2"], {"outputs", "count"})), 3);
}

// A thousand runs in flight against the endpoint, each waiting 200 ms there.
TEST_F(CliBatchTest, ThousandJobsInFlight) {
  sample::EndpointOptions options;
  options.threads = 1100;  // each keep-alive connection holds one
  Start(options);
  Import("alice");
  Import("bob");
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/delay?ms=200&target=api");
  constexpr int kJobs = 2000;
  std::string jobs = root_ + "/jobs.jsonl";
  std::string text;
  for (int i = 0; i < kJobs; ++i)
    text += "{\"id\":\"t" + std::to_string(i) + "\",\"run\":\"" + kSubflow + "\",\"user\":\"" +
            (i % 2 ? "bob" : "alice") + "\",\"inputs\":{\"limit\":1}}\n";
  e2e::WriteFile(jobs, text);
  std::string out = root_ + "/results.jsonl";
  auto started = Clock::now();
  ChildResult batch = Flowline(BatchArgs(jobs, out, {"--concurrency", "1000", "--threads", "2"}));
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  RecordProperty("wall_ms", static_cast<int>(seconds * 1000));
  EXPECT_EQ(batch.exit_code, 0) << batch.err;
  EXPECT_NE(batch.err.find(std::to_string(kJobs) + " completed, 0 failed"), std::string::npos)
      << batch.err;

  Results results = ReadResults(out);
  std::vector<std::string> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back("t" + std::to_string(i));
  ExpectExactlyOnce(results, ids);
  int completed = 0;
  for (int i = 0; i < kJobs; ++i) {
    const rapidjson::Document& result = results["t" + std::to_string(i)];
    if (Str(result, "status") != "completed") {
      ADD_FAILURE() << "t" << i << ": " << ErrorCode(result) << " " << ErrorMessage(result);
      continue;
    }
    ++completed;
    ExpectIncidentsOf(result, i % 2 ? "bob" : "alice", 1);
  }
  EXPECT_EQ(completed, kJobs);
  EXPECT_EQ(endpoint_->Stat("api_requests"), kJobs);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), kJobs / 2);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.bob"), kJobs / 2);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
  // The endpoint's own high-water mark of requests inside their 200 ms delay
  // (one at a time would make it 1). How many of the thousand the endpoint
  // holds at once depends on how fast it accepts connections (about 650
  // here under ASan); 200 is far from serial and safe on a loaded machine.
  EXPECT_GE(endpoint_->Stat("api_peak_in_flight"), 200) << endpoint_->StatsText();
}

// Every access token expires at the provider; 100 runs in flight get their 401
// together and the vault refreshes alice's token exactly once.
TEST_F(CliBatchTest, OneRefreshUnderLoadAfterTheProviderExpiresTheToken) {
  sample::EndpointOptions options;
  options.threads = 256;  // 100 keep-alive connections, one thread each
  Start(options);
  Import("alice");
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/expire-tokens");
  endpoint_->Control("/control/delay?ms=100&target=api");  // the first 100 requests all overlap
  std::string jobs = root_ + "/jobs.jsonl";
  std::string text;
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ids.push_back("r" + std::to_string(i));
    text += "{\"id\":\"" + ids.back() + "\",\"run\":\"" + kSubflow + "\",\"user\":\"alice\"}\n";
  }
  e2e::WriteFile(jobs, text);
  std::string out = root_ + "/results.jsonl";
  // Three event loops, each with its own broker: they still make one refresh.
  ChildResult batch = Flowline(BatchArgs(jobs, out, {"--concurrency", "100", "--threads", "3"}));
  EXPECT_EQ(batch.exit_code, 0) << batch.err;
  Results results = ReadResults(out);
  ExpectExactlyOnce(results, ids);
  for (const auto& id : ids) {
    if (Str(results[id], "status") != "completed") {
      ADD_FAILURE() << id << ": " << ErrorCode(results[id]) << " " << ErrorMessage(results[id]);
      continue;
    }
    ExpectIncidentsOf(results[id], "alice", 3);
  }
  EXPECT_EQ(endpoint_->Stat("token_requests.refresh_token"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 0) << endpoint_->StatsText();
  EXPECT_GE(endpoint_->Stat("api_unauthorized"), 1) << endpoint_->StatsText();
}

// The vault's copy of alice's token has expired; 100 runs in flight at once
// need it and the vault refreshes it exactly once, before any API call.
TEST_F(CliBatchTest, OneRefreshUnderLoadOfATokenExpiredInTheVault) {
  sample::EndpointOptions options;
  options.threads = 256;
  Start(options);
  Import("alice", "\"expires_at\":1000000000");
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/delay?ms=100&target=token");  // a slow refresh, for all to wait on
  std::string jobs = root_ + "/jobs.jsonl";
  std::string text;
  std::vector<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    ids.push_back("v" + std::to_string(i));
    text += "{\"id\":\"" + ids.back() + "\",\"run\":\"" + kSubflow + "\",\"user\":\"alice\"}\n";
  }
  e2e::WriteFile(jobs, text);
  std::string out = root_ + "/results.jsonl";
  ChildResult batch = Flowline(BatchArgs(jobs, out, {"--concurrency", "100", "--threads", "3"}));
  EXPECT_EQ(batch.exit_code, 0) << batch.err;
  Results results = ReadResults(out);
  ExpectExactlyOnce(results, ids);
  for (const auto& id : ids)
    EXPECT_EQ(Str(results[id], "status"), "completed") << id << ": " << ErrorMessage(results[id]);
  EXPECT_EQ(endpoint_->Stat("token_requests.refresh_token"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_unauthorized"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests"), 200);
}

TEST_F(CliBatchTest, UsageErrors) {
  Start();
  std::string jobs = root_ + "/jobs.jsonl";
  WriteNumberedJobs(jobs, "u", "needs_n", 3);
  std::string out = root_ + "/results.jsonl";

  // Without --out, the results go beside the jobs as jobs.results.jsonl.
  ChildResult first = Flowline({"batch", jobs, "-d", defs_});
  EXPECT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(ReadResults(root_ + "/jobs.results.jsonl").lines.size(), 3u);
  // A second run would mix results: refused, with the way out.
  ChildResult again = Flowline({"batch", jobs, "-d", defs_});
  EXPECT_EQ(again.exit_code, 2) << again.err;
  EXPECT_NE(again.err.find("--resume"), std::string::npos) << again.err;
  EXPECT_NE(again.err.find("--out"), std::string::npos) << again.err;
  EXPECT_EQ(ReadResults(root_ + "/jobs.results.jsonl").lines.size(), 3u);
  ChildResult resumed = Flowline({"batch", jobs, "-d", defs_, "--resume"});
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(ReadResults(root_ + "/jobs.results.jsonl").lines.size(), 3u);

  // A name that tells no format, unless --format does.
  std::string txt = root_ + "/jobs.txt";
  std::filesystem::copy_file(jobs, txt);
  ChildResult unknown = Flowline(BatchArgs(txt, out));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("--format"), std::string::npos) << unknown.err;
  EXPECT_FALSE(std::filesystem::exists(out));
  ChildResult told = Flowline(BatchArgs(txt, out, {"--format", "jsonl"}));
  EXPECT_EQ(told.exit_code, 0) << told.err;
  EXPECT_EQ(ReadResults(out).lines.size(), 3u);

  ChildResult zero = Flowline(BatchArgs(jobs, root_ + "/zero.jsonl", {"--concurrency", "0"}));
  EXPECT_EQ(zero.exit_code, 2) << zero.err;
  ChildResult threads = Flowline(BatchArgs(jobs, root_ + "/threads.jsonl", {"--threads", "65"}));
  EXPECT_EQ(threads.exit_code, 2) << threads.err;
  EXPECT_NE(threads.err.find("--threads wants a number from 1 to 64"), std::string::npos) << threads.err;
  // More loops than runs in flight: the extra ones are not started.
  ChildResult many = Flowline(
      BatchArgs(jobs, root_ + "/many.jsonl", {"--threads", "8", "--concurrency", "2"}));
  EXPECT_EQ(many.exit_code, 0) << many.err;
  EXPECT_EQ(ReadResults(root_ + "/many.jsonl").lines.size(), 3u);
  ChildResult missing = Flowline(BatchArgs(root_ + "/nope.jsonl", root_ + "/nope-results.jsonl"));
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

}  // namespace
}  // namespace flowline
