// `flowline run` and `flowline token import|status|list` as a user runs them, against the
// sample endpoint on loopback: typed --input, output formats, exit codes, did-you-mean,
// broken definitions, --timeout, and tokens imported from a token JSON file.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/endpoint_fixture.h"

namespace flowline {
namespace {

using e2e::ChildResult;
using e2e::Endpoint;

class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = e2e::MakeTempDir("cli-run");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
    endpoint_ = std::make_unique<Endpoint>();
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  ChildResult Flowline(const std::vector<std::string>& args,
                       std::map<std::string, std::string> extra_env = {}) {
    std::map<std::string, std::string> env = {{"FLOWLINE_HOME", home_},
                                              {"ACME_CLIENT_SECRET", e2e::kClientSecret},
                                              {"FLOWLINE_VAULT_KEY", e2e::kVaultKey},
                                              {"NO_COLOR", "1"}};
    for (auto& [name, value] : extra_env) env[name] = value;
    return e2e::RunFlowline(args, env, root_);
  }

  // Logs `user` in at the endpoint and imports the token JSON with `flowline token import`.
  e2e::Tokens Import(const std::string& user) {
    e2e::Tokens tokens = endpoint_->Login(user);
    std::string file = root_ + "/" + user + "-token.json";
    e2e::WriteFile(file, "{\"access_token\":\"" + tokens.access_token +
                             "\",\"token_type\":\"Bearer\",\"expires_in\":" +
                             std::to_string(tokens.expires_in) + ",\"refresh_token\":\"" +
                             tokens.refresh_token + "\",\"scope\":\"" + tokens.scope + "\"}");
    ChildResult imported = Flowline({"token", "import", "acme_personal", "--user", user, "--file",
                                     file, "-d", defs_});
    EXPECT_EQ(imported.exit_code, 0) << imported.out << imported.err;
    std::filesystem::remove(file);
    return tokens;
  }

  static rapidjson::Document Json(const std::string& text) {
    rapidjson::Document json;
    json.Parse(text.c_str());
    EXPECT_FALSE(json.HasParseError()) << text;
    return json;
  }

  std::vector<std::string> RunArgs(const std::string& user, std::vector<std::string> more = {}) {
    std::vector<std::string> args = {"run", "getpersonalincidentssubflow", "-d", defs_, "--user", user};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
};

// A process killed with SIGKILL in the middle of a refresh (holding the lease,
// its token request in flight) leaves a vault that opens, reads and works: the
// old token is still there, and the next run takes over the dead lease.
TEST_F(CliRunTest, KillDuringRefreshLeavesAUsableVault) {
  e2e::Tokens tokens = endpoint_->Login("alice");
  std::string file = root_ + "/expired.json";
  e2e::WriteFile(file, "{\"access_token\":\"" + tokens.access_token +
                           "\",\"token_type\":\"Bearer\",\"expires_in\":0,\"refresh_token\":\"" +
                           tokens.refresh_token + "\"}");
  ASSERT_EQ(Flowline({"token", "import", "acme_personal", "--user", "alice", "--file", file, "-d",
                      defs_})
                .exit_code,
            0);
  endpoint_->Control("/control/delay?ms=4000&target=token");
  std::map<std::string, std::string> env = {{"FLOWLINE_HOME", home_},
                                            {"ACME_CLIENT_SECRET", e2e::kClientSecret},
                                            {"FLOWLINE_VAULT_KEY", e2e::kVaultKey}};
  {
    e2e::FlowlineChild child(RunArgs("alice"), env, root_);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // well into the 4 s refresh
    child.Kill(SIGKILL);
    EXPECT_EQ(child.Wait().exit_code, 128 + SIGKILL);
  }
  endpoint_->Control("/control/delay?ms=0&target=token");

  ChildResult status = Flowline({"token", "status", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_NE(status.out.find("credential:    global.acme_personal"), std::string::npos)
      << status.out << status.err;
  EXPECT_EQ(status.err.find("vault"), std::string::npos) << status.err;

  // The dead process's lease is taken over (after 1 s here); the run then
  // refreshes with the stored refresh token. If the provider had already
  // rotated it for the killed request, rotation reuse detection refuses it and
  // the run asks for a new login — either way no vault error and no crash.
  ChildResult again = Flowline(RunArgs("alice", {"--output", "json"}),
                               {{"FLOWLINE_REFRESH_LEASE_TTL", "1s"}});
  ASSERT_TRUE(again.exit_code == 0 || again.exit_code == 3) << again.out << again.err;
  rapidjson::Document json = Json(again.out);
  RecordProperty("after_kill", again.exit_code == 0 ? "completed" : "token_invalid");
  if (again.exit_code == 0) {
    EXPECT_STREQ(json["state"].GetString(), "completed");
  } else {
    EXPECT_STREQ(json["error"]["code"].GetString(), "token_invalid") << again.out;
  }
  EXPECT_EQ(again.err.find("vault_"), std::string::npos) << again.err;
}

TEST_F(CliRunTest, ImportedTokenRunsAndTypedInputLimits) {
  Import("alice");
  ChildResult all = Flowline(RunArgs("alice", {"--output", "json"}));
  ASSERT_EQ(all.exit_code, 0) << all.out << all.err;
  auto json = Json(all.out);
  ASSERT_TRUE(json.IsObject()) << all.out;
  EXPECT_STREQ(json["state"].GetString(), "completed");
  EXPECT_FALSE(std::string(json["context_id"].GetString()).empty());
  EXPECT_EQ(json["outputs"]["total"].GetInt64(), 3);
  EXPECT_EQ(json["outputs"]["incidents"].Size(), 3u);
  EXPECT_FALSE(json.HasMember("error"));

  ChildResult two = Flowline(RunArgs("alice", {"--input", "limit=2", "--output", "json"}));
  ASSERT_EQ(two.exit_code, 0) << two.out << two.err;
  auto limited = Json(two.out);
  EXPECT_EQ(limited["outputs"]["total"].GetInt64(), 2);
  ASSERT_EQ(limited["outputs"]["incidents"].Size(), 2u);
  EXPECT_STREQ(limited["outputs"]["incidents"][0]["number"].GetString(), "INC0010001");

  // A limit that is not an integer is a usage error naming the input; nothing is sent.
  int64_t api_before = endpoint_->Stat("api_requests");
  ChildResult bad = Flowline(RunArgs("alice", {"--input", "limit=two"}));
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.err.find("limit"), std::string::npos) << bad.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), api_before);

  ChildResult unknown = Flowline(RunArgs("alice", {"--input", "limt=2"}));
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
  EXPECT_NE(unknown.err.find("limt"), std::string::npos) << unknown.err;
  ChildResult no_equals = Flowline(RunArgs("alice", {"--input", "limit"}));
  EXPECT_EQ(no_equals.exit_code, 2) << no_equals.out << no_equals.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), api_before);

  // --inputs from a JSON file; a later --input wins.
  std::string inputs = root_ + "/inputs.json";
  e2e::WriteFile(inputs, R"({"limit": 1})");
  ChildResult from_file = Flowline(RunArgs("alice", {"--inputs", inputs, "--output", "json"}));
  ASSERT_EQ(from_file.exit_code, 0) << from_file.out << from_file.err;
  EXPECT_EQ(Json(from_file.out)["outputs"]["total"].GetInt64(), 1);
  ChildResult overridden =
      Flowline(RunArgs("alice", {"--inputs", inputs, "--input", "limit=2", "--output", "json"}));
  ASSERT_EQ(overridden.exit_code, 0) << overridden.out << overridden.err;
  EXPECT_EQ(Json(overridden.out)["outputs"]["total"].GetInt64(), 2);
}

TEST_F(CliRunTest, OutputFormats) {
  Import("bob");
  ChildResult yaml = Flowline(RunArgs("bob", {"--output", "yaml"}));
  ASSERT_EQ(yaml.exit_code, 0) << yaml.out << yaml.err;
  // Plain or double-quoted scalars are the same YAML string.
  EXPECT_TRUE(yaml.out.find("\nstate: completed\n") != std::string::npos ||
              yaml.out.find("\nstate: \"completed\"\n") != std::string::npos)
      << yaml.out;
  EXPECT_NE(yaml.out.find("INC0020002"), std::string::npos) << yaml.out;
  EXPECT_EQ(yaml.out.find("INC0010001"), std::string::npos) << yaml.out;
  EXPECT_EQ(yaml.out.find('{'), std::string::npos) << "not block YAML:\n" << yaml.out;

  ChildResult text = Flowline(RunArgs("bob"));
  ASSERT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("INC0020001"), std::string::npos) << text.out;

  ChildResult bogus = Flowline(RunArgs("bob", {"--output", "xml"}));
  EXPECT_EQ(bogus.exit_code, 2) << bogus.out << bogus.err;
}

TEST_F(CliRunTest, MissingTokenExitsThreeWithoutCallingTheApi) {
  ChildResult run = Flowline(RunArgs("bob", {"--output", "json"}));
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  auto json = Json(run.out);
  ASSERT_TRUE(json.IsObject()) << run.out;
  EXPECT_STREQ(json["state"].GetString(), "error");
  EXPECT_STREQ(json["error"]["code"].GetString(), "token_missing");
  std::string message = json["error"]["message"].GetString();
  EXPECT_NE(message.find("bob"), std::string::npos) << message;
  EXPECT_NE(message.find("flowline token login"), std::string::npos) << message;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);

  ChildResult status = Flowline({"token", "status", "acme_personal", "--user", "bob", "-d", defs_});
  EXPECT_EQ(status.exit_code, 3) << status.out << status.err;

  Import("alice");
  ChildResult alice = Flowline({"token", "status", "acme_personal", "--user", "alice", "-d", defs_,
                                "--output", "json"});
  EXPECT_EQ(alice.exit_code, 0) << alice.out << alice.err;
  auto info = Json(alice.out);
  ASSERT_TRUE(info.IsObject()) << alice.out;
  EXPECT_TRUE(info["valid"].GetBool());
  EXPECT_TRUE(info["has_refresh_token"].GetBool());
  ChildResult list = Flowline({"token", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("alice"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find("bob"), std::string::npos) << list.out;
}

TEST_F(CliRunTest, UnknownTargetSuggestsTheClosestName) {
  ChildResult run = Flowline({"run", "getpersonalincidentsubflow", "-d", defs_, "--user", "alice"});
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("getpersonalincidentsubflow"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("getpersonalincidentssubflow"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean"), std::string::npos) << run.err;
}

TEST_F(CliRunTest, DefinitionsWithErrorsExitTwo) {
  e2e::WriteFile(defs_ + "/broken.yaml",
                 "kind: Action\nname: broken\nsteps:\n  - id: a\n    rest: {connection: nowhere, "
                 "method: GET, path: /x}\n");
  ChildResult run = Flowline(RunArgs("alice"));
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("broken.yaml"), std::string::npos) << run.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);

  e2e::WriteFile(defs_ + "/broken.yaml", "kind: Action\nname: [unterminated\n");
  ChildResult syntax = Flowline(RunArgs("alice"));
  EXPECT_EQ(syntax.exit_code, 2) << syntax.out << syntax.err;
}

TEST_F(CliRunTest, TimeoutFailsTheRun) {
  Import("alice");
  endpoint_->Control("/control/delay?ms=5000&target=api");
  auto started = std::chrono::steady_clock::now();
  ChildResult run = Flowline(RunArgs("alice", {"--timeout", "1s", "--output", "json"}));
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  auto json = Json(run.out);
  ASSERT_TRUE(json.IsObject()) << run.out;
  EXPECT_STREQ(json["state"].GetString(), "error");
  std::string code = json["error"]["code"].GetString();
  EXPECT_TRUE(code == "timeout" || code == "http_timeout") << code;
  EXPECT_LT(elapsed, std::chrono::milliseconds(4500));

  ChildResult bad = Flowline(RunArgs("alice", {"--timeout", "soon"}));
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
}


TEST_F(CliRunTest, BackgroundRunIsRecordedAndTraceIsJson) {
  Import("alice");
  ChildResult started = Flowline(RunArgs("alice", {"--background"}));
  ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
  std::string id = started.out.substr(0, started.out.find('\n'));
  ASSERT_EQ(id.size(), 36u) << started.out;
  ChildResult shown;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    shown = Flowline({"runs", "show", id, "--output", "json"});
  } while ((shown.exit_code != 0 || shown.out.find("\"completed\"") == std::string::npos) &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(shown.exit_code, 0) << shown.out << shown.err;
  auto record = Json(shown.out);
  ASSERT_TRUE(record.IsObject()) << shown.out;
  EXPECT_NE(shown.out.find("\"completed\""), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("alice"), std::string::npos) << shown.out;

  std::string trace = root_ + "/trace.json";
  ChildResult traced = Flowline(RunArgs("alice", {"--trace", trace}));
  ASSERT_EQ(traced.exit_code, 0) << traced.out << traced.err;
  std::string text = e2e::ReadFile(trace);
  auto json = Json(text);
  EXPECT_TRUE(json.IsObject() || json.IsArray()) << text;
  EXPECT_NE(text.find("fetch"), std::string::npos) << text;
}


TEST_F(CliRunTest, ExpiredTokenWithoutClientSecretKeepsTheToken) {
  e2e::Tokens tokens = endpoint_->Login("alice");
  std::string file = root_ + "/expired.json";
  e2e::WriteFile(file, "{\"access_token\":\"" + tokens.access_token +
                           "\",\"token_type\":\"Bearer\",\"expires_at\":1000000000,\"refresh_token\":\"" +
                           tokens.refresh_token + "\"}");
  ChildResult imported =
      Flowline({"token", "import", "acme_personal", "--user", "alice", "--file", file, "-d", defs_});
  ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  ChildResult status = Flowline({"token", "status", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;  // expired, but refreshable
  EXPECT_NE(status.out.find("expired"), std::string::npos) << status.out;

  endpoint_->Control("/control/reset");
  ChildResult run = Flowline(RunArgs("alice", {"--output", "json"}), {{"ACME_CLIENT_SECRET", ""}});
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  EXPECT_NE(run.out.find("token_refresh_failed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("ACME_CLIENT_SECRET"), std::string::npos) << run.out;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
  // The token is still there and still refreshable once the secret is back.
  ChildResult again = Flowline(RunArgs("alice", {"--output", "json"}));
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;

  ChildResult unknown = Flowline({"token", "import", "nope", "--user", "alice", "--file", file, "-d", defs_});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out << unknown.err;
}


TEST_F(CliRunTest, OddUserNamesAreJustNames) {
  for (const std::string& user : {std::string("o'brien; DROP TABLE tokens"), std::string("../../etc/passwd"),
                                  std::string("ünïcode user")}) {
    ChildResult run = Flowline(RunArgs(user, {"--output", "json"}));
    EXPECT_EQ(run.exit_code, 3) << user << ": " << run.out << run.err;
    auto json = Json(run.out);
    ASSERT_TRUE(json.IsObject()) << run.out;
    EXPECT_STREQ(json["error"]["code"].GetString(), "token_missing");
    EXPECT_NE(std::string(json["error"]["message"].GetString()).find(user), std::string::npos);
  }
  ChildResult list = Flowline({"token", "list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);
}

}  // namespace
}  // namespace flowline
