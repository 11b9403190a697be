// End-to-end tests of personal OAuth tokens: the engine (FlowAPI, start_run) and the `flowline`
// program against the sample endpoint on loopback — per-user identity, missing and revoked
// tokens, refresh single-flight (threads and processes), rotation, reactive refresh, redirects,
// path injection, secrets in outputs, and Retry-After.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/endpoint_fixture.h"
#include "flowline/flow_api.h"
#include "runtime/engine.h"
#include "dsl/loader.h"

namespace flowline {
namespace {

using namespace std::chrono_literals;
using e2e::Endpoint;
using e2e::Tokens;

constexpr char kSubflow[] = "global.getpersonalincidentssubflow";

// Two extra actions for redirect and injection cases.
constexpr char kProbeActions[] = R"(kind: Action
name: follow_redirect
outputs:
  status: {type: integer, value: "{{ steps.go.status_code }}"}
steps:
  - id: go
    rest: {connection: acme, method: GET, path: /api/redirect-elsewhere}
    on_failure: stop
---
kind: Action
name: probe_path
inputs:
  p: {type: string, mandatory: true}
outputs:
  status: {type: integer, value: "{{ steps.go.status_code }}"}
steps:
  - id: go
    rest: {connection: acme, method: GET, path: "{{ inputs.p }}"}
    on_failure: stop
---
kind: Action
name: probe_header
inputs:
  h: {type: string, mandatory: true}
outputs:
  status: {type: integer, value: "{{ steps.go.status_code }}"}
steps:
  - id: go
    rest:
      connection: acme
      method: GET
      path: /api/record-auth
      headers: {X-Probe: "{{ inputs.h }}"}
    on_failure: stop
---
kind: Action
name: redirect_to
inputs:
  to: {type: string, mandatory: true}
  status: {type: string, default: "302"}
outputs:
  status: {type: integer, value: "{{ steps.go.status_code }}"}
  body: {type: any, value: "{{ steps.go.body }}"}
steps:
  - id: go
    rest:
      connection: acme
      method: GET
      path: /api/redirect-elsewhere
      query: {to: "{{ inputs.to }}", status: "{{ inputs.status }}"}
    on_failure: stop
---
kind: Action
name: create_incident
outputs:
  number: {type: string, value: "{{ steps.go.body.result.number }}"}
steps:
  - id: go
    rest:
      connection: acme
      method: POST
      path: /api/now/table/incident
      body: {short_description: from a test}
    on_failure: stop
)";

class PersonalOAuthE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("ACME_CLIENT_SECRET", e2e::kClientSecret, 1);
    ::setenv("FLOWLINE_VAULT_KEY", e2e::kVaultKey, 1);
    root_ = e2e::MakeTempDir("e2e");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  // Starts the main endpoint (and writes the definitions pointing at it).
  void StartEndpoint(sample::EndpointOptions options = {}) {
    endpoint_ = std::make_unique<Endpoint>(std::move(options));
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
  }

  std::unique_ptr<Engine> OpenEngine(const std::string& defs = {}) {
    EngineConfig config;
    config.home = home_;
    return Engine::open({defs.empty() ? defs_ : defs}, config);
  }

  static void Store(Engine& engine, const std::string& user, const Tokens& tokens,
                    std::chrono::system_clock::duration expires_from_now = 1h) {
    StoredToken token;
    token.access_token = tokens.access_token;
    token.refresh_token = tokens.refresh_token;
    token.scope = tokens.scope;
    token.obtained_at = std::chrono::system_clock::now() - 2h;
    token.expires_at = std::chrono::system_clock::now() + expires_from_now;
    Status put = engine_vault(engine).put(e2e::kCredential, user, token);
    ASSERT_TRUE(put.ok()) << put.message();
  }

  static StoredToken Load(Engine& engine, const std::string& user) {
    auto got = engine_vault(engine).get(e2e::kCredential, user);
    EXPECT_TRUE(got.ok());
    if (!got.ok() || !got->has_value()) {
      ADD_FAILURE() << "no token for " << user;
      return {};
    }
    return **got;
  }

  static RunResult Run(Engine& engine, const std::string& target, std::optional<std::string> user,
                       ValueObject inputs = {}) {
    RunRequest request;
    request.target = target;
    request.user = std::move(user);
    request.inputs = Value(std::move(inputs));
    request.timeout = 60s;
    return start_run(engine, std::move(request))->wait();
  }

  static std::string Describe(const RunResult& result) {
    std::string text = std::string(run_state_name(result.state));
    if (result.error)
      text += " [" + result.error->code + "] " + result.error->message + " at " + result.error->step;
    return text + " outputs=" + result.outputs.to_json();
  }

  std::map<std::string, std::string> ChildEnv() const {
    return {{"FLOWLINE_HOME", home_},
            {"ACME_CLIENT_SECRET", e2e::kClientSecret},
            {"FLOWLINE_VAULT_KEY", e2e::kVaultKey},
            {"NO_COLOR", "1"}};
  }

  e2e::ChildResult Cli(const std::vector<std::string>& args) {
    return e2e::RunFlowline(args, ChildEnv(), root_);
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
};

// 1. Each user's run carries that user's own token and sees only their incidents.
TEST_F(PersonalOAuthE2E, EachUserSeesOnlyTheirOwnIncidents) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));
  Store(*engine, "bob", endpoint_->Login("bob"));

  struct Expect {
    std::string user;
    std::vector<std::string> numbers;
  };
  for (const Expect& expect : {Expect{"alice", {"INC0010001", "INC0010002", "INC0010003"}},
                               Expect{"bob", {"INC0020001", "INC0020002"}}}) {
    auto result = FlowAPI::getRunner(*engine)
                      .subflow(kSubflow)
                      .inSession(Session{expect.user})
                      .inForeground()
                      .withInputs({{"limit", Value(int64_t{10})}})
                      .timeout(30s)
                      .run();
    Value outputs = result.getOutputs();
    ASSERT_TRUE(outputs.is_object()) << outputs.to_json();
    const Value* incidents = outputs.find("incidents");
    const Value* total = outputs.find("total");
    ASSERT_TRUE(incidents && incidents->is_array()) << outputs.to_json();
    ASSERT_TRUE(total && total->is_integer()) << outputs.to_json();
    EXPECT_EQ(total->as_integer(), static_cast<int64_t>(expect.numbers.size()));
    ASSERT_EQ(incidents->as_array().size(), expect.numbers.size()) << outputs.to_json();
    for (size_t i = 0; i < expect.numbers.size(); ++i) {
      const Value& incident = incidents->as_array()[i];
      EXPECT_EQ(incident.find("number")->as_string(), expect.numbers[i]);
      EXPECT_EQ(incident.find("caller_id")->as_string(), expect.user);
    }
  }
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.bob"), 1);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 0);
}

// 2. No token: token_missing naming the user, the credential and the login command; nothing sent.
TEST_F(PersonalOAuthE2E, MissingTokenFailsBeforeAnyRequest) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));

  RunResult result = Run(*engine, kSubflow, "carol");
  ASSERT_EQ(result.state, RunState::Error) << Describe(result);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.error->code, "token_missing") << Describe(result);
  EXPECT_NE(result.error->message.find("carol"), std::string::npos) << result.error->message;
  EXPECT_NE(result.error->message.find("acme_personal"), std::string::npos) << result.error->message;
  EXPECT_NE(result.error->message.find("flowline token login"), std::string::npos)
      << result.error->message;
  EXPECT_TRUE(result.authorization_required());

  try {
    FlowAPI::getRunner(*engine).subflow(kSubflow).inSession(Session{"carol"}).inForeground().run();
    ADD_FAILURE() << "run() did not throw";
  } catch (const FlowError& error) {
    EXPECT_EQ(error.code(), "token_missing");
    EXPECT_NE(error.getMessage().find("carol"), std::string::npos) << error.getMessage();
    EXPECT_FALSE(error.getContextId().empty());
  }

  auto cli = Cli({"run", "getpersonalincidentssubflow", "-d", defs_, "--user", "carol", "--output", "json"});
  EXPECT_EQ(cli.exit_code, 3) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("token_missing"), std::string::npos) << cli.out;

  EXPECT_EQ(endpoint_->Stat("api_requests"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("token_requests.refresh_token"), 0);
}

// 3. An expired access token is refreshed exactly once; the rotated refresh token is stored.
TEST_F(PersonalOAuthE2E, ExpiredTokenIsRefreshedOnceAndRotated) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  endpoint_->Control("/control/reset");

  RunResult first = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(first.state, RunState::Completed) << Describe(first);
  EXPECT_EQ(first.outputs.find("total")->as_integer(), 3);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1);
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);

  StoredToken stored = Load(*engine, "alice");
  EXPECT_NE(stored.access_token, tokens.access_token);
  EXPECT_FALSE(stored.refresh_token.empty());
  EXPECT_NE(stored.refresh_token, tokens.refresh_token);
  ASSERT_TRUE(stored.expires_at);
  EXPECT_GT(*stored.expires_at, std::chrono::system_clock::now() + 30min);

  RunResult second = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(second.state, RunState::Completed) << Describe(second);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 2);

  // The stored refresh token is the live one: a fresh engine refreshes with it once more.
  StoredToken expired = Load(*engine, "alice");
  expired.expires_at = std::chrono::system_clock::now() - 1min;
  ASSERT_TRUE(engine_vault(*engine).put(e2e::kCredential, "alice", expired).ok());
  RunResult third = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(third.state, RunState::Completed) << Describe(third);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 2);
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 0);
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
}

// 4. 64 runs in one engine plus 3 processes, all with an expired token: one refresh in total.
TEST_F(PersonalOAuthE2E, ConcurrentRunsAndProcessesRefreshOnce) {
  sample::EndpointOptions options;
  options.threads = 160;  // one per keep-alive connection: 64 runs + 3 processes + this test
  StartEndpoint(options);
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"), -1min);
  endpoint_->Control("/control/reset");

  std::vector<std::unique_ptr<e2e::FlowlineChild>> children;
  for (int i = 0; i < 3; ++i)
    children.push_back(std::make_unique<e2e::FlowlineChild>(
        std::vector<std::string>{"run", "getpersonalincidentssubflow", "-d", defs_, "--user", "alice",
                                 "--output", "json"},
        ChildEnv(), root_));
  std::vector<FlowResult> results;
  std::vector<std::string> ids;
  for (int i = 0; i < 64; ++i) {
    results.push_back(FlowAPI::getRunner(*engine)
                          .subflow(kSubflow)
                          .inSession(Session{"alice"})
                          .inBackground()
                          .timeout(60s)
                          .run());
    ids.push_back(results.back().getContextId());
  }

  for (const auto& id : ids) {
    auto deadline = std::chrono::steady_clock::now() + 90s;
    while (FlowAPI::getStatus(id) == "in_progress" && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(10ms);
    ASSERT_EQ(FlowAPI::getStatus(id), "completed") << id;
    EXPECT_EQ(FlowAPI::getOutputs(id).find("total")->as_integer(), 3);
  }
  auto waiting_since = std::chrono::steady_clock::now();
  for (auto& child : children) {
    auto result = child->Wait();
    EXPECT_LT(std::chrono::steady_clock::now() - waiting_since, 20s);
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("INC0010003"), std::string::npos) << result.out;
  }
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 0);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 67);
}

// 4b. An engine with three event loops (as a batch runs), each with its own
// broker and token memory: 60 runs on an expired token make one refresh; once
// each loop has read the refreshed token, runs take it from memory and do not
// see the vault change until the memory expires.
TEST_F(PersonalOAuthE2E, ThreeLoopsRefreshOnceAndReuseTheToken) {
  sample::EndpointOptions options;
  options.threads = 128;
  StartEndpoint(options);
  Diagnostics diagnostics;
  DefinitionSet set = load_definitions({defs_}, diagnostics);
  ASSERT_FALSE(diagnostics.has_errors());
  EngineOptions engine_options;
  engine_options.home = home_;
  engine_options.keep_records = false;
  engine_options.loops = 3;
  engine_options.refresh.token_cache_ttl = 10s;  // longer than the test
  auto made = make_engine(std::move(set), std::move(engine_options));
  ASSERT_TRUE(made.ok()) << made.status().message();
  Engine& engine = **made;
  ASSERT_EQ(engine_loops(engine), 3u);
  Store(engine, "alice", endpoint_->Login("alice"), -1min);
  endpoint_->Control("/control/reset");

  auto wave = [&](int runs) {
    std::vector<std::shared_ptr<RunHandle>> handles;
    for (int i = 0; i < runs; ++i) {
      RunRequest request;
      request.target = kSubflow;
      request.user = "alice";
      request.timeout = 60s;
      handles.push_back(start_run(engine, std::move(request)));
    }
    for (auto& handle : handles) {
      RunResult result = handle->wait();
      ASSERT_EQ(result.state, RunState::Completed) << Describe(result);
      EXPECT_EQ(result.outputs.find("total")->as_integer(), 3);
    }
  };
  wave(60);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 0);
  // Every loop saw the refreshed token; the vault now holds it.
  StoredToken refreshed = Load(engine, "alice");
  ASSERT_TRUE(refreshed.expires_at);
  EXPECT_GT(*refreshed.expires_at, std::chrono::system_clock::now() + 30min);

  wave(30);  // ten a loop: each loop reads the refreshed token once and keeps it
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();

  // Replace the vault's copy with a token the server refuses: runs within the
  // token memory still send the refreshed one, so all 30 succeed untouched.
  StoredToken bogus = refreshed;
  bogus.access_token = "not-a-token";
  ASSERT_TRUE(engine_vault(engine).put(e2e::kCredential, "alice", bogus).ok());
  wave(30);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_unauthorized"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 120);
}

// 5. A revoked grant: invalid_grant marks the token needs_login; no further token requests.
TEST_F(PersonalOAuthE2E, RevokedGrantNeedsLogin) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  ASSERT_EQ(endpoint_->Revoke(tokens.refresh_token), 200);
  endpoint_->Control("/control/reset");

  RunResult first = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(first.state, RunState::Error) << Describe(first);
  EXPECT_EQ(first.error->code, "token_invalid") << Describe(first);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);

  auto status = Cli({"token", "status", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(status.exit_code, 3) << status.out << status.err;
  EXPECT_NE(status.out.find("needs_login"), std::string::npos) << status.out;

  auto cli = Cli({"run", "getpersonalincidentssubflow", "-d", defs_, "--user", "alice", "--output", "json"});
  EXPECT_EQ(cli.exit_code, 3) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("token_invalid"), std::string::npos) << cli.out;

  RunResult second = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(second.state, RunState::Error);
  EXPECT_EQ(second.error->code, "token_invalid");
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);
}

// 6. A refresh reply without refresh_token keeps the stored one.
TEST_F(PersonalOAuthE2E, RefreshWithoutNewRefreshTokenKeepsTheOld) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  endpoint_->Control("/control/refresh-omits-new-token?on=1");

  RunResult first = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(first.state, RunState::Completed) << Describe(first);
  StoredToken stored = Load(*engine, "alice");
  EXPECT_NE(stored.access_token, tokens.access_token);
  EXPECT_EQ(stored.refresh_token, tokens.refresh_token);

  stored.expires_at = std::chrono::system_clock::now() - 1min;
  ASSERT_TRUE(engine_vault(*engine).put(e2e::kCredential, "alice", stored).ok());
  RunResult second = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(second.state, RunState::Completed) << Describe(second);
  EXPECT_EQ(Load(*engine, "alice").refresh_token, tokens.refresh_token);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 2);
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
}

// 7. A token the server rejects (401 invalid_token) is refreshed once and the call retried once.
TEST_F(PersonalOAuthE2E, RejectedTokenIsRefreshedAndRetriedOnce) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, 1h);
  endpoint_->Control("/control/expire-tokens");
  endpoint_->Control("/control/reset");

  RunResult result = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(result.state, RunState::Completed) << Describe(result);
  EXPECT_EQ(result.outputs.find("total")->as_integer(), 3);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests"), 2);
  EXPECT_EQ(endpoint_->Stat("api_unauthorized"), 1);
  EXPECT_NE(Load(*engine, "alice").access_token, tokens.access_token);
}

// 8. A redirect to another origin never carries the token.
TEST_F(PersonalOAuthE2E, RedirectToAnotherOriginNeverCarriesTheToken) {
  Endpoint other;
  ASSERT_TRUE(other.started());
  sample::EndpointOptions options;
  options.other_origin = other.origin();
  StartEndpoint(options);
  e2e::WriteFile(defs_ + "/probes.yaml", kProbeActions);
  std::string strip_defs = root_ + "/defs-strip";
  e2e::CopySampleDefs(strip_defs, endpoint_->hostport());
  e2e::WriteFile(strip_defs + "/probes.yaml", kProbeActions);
  std::string connection = e2e::ReadFile(strip_defs + "/connection.yaml");
  connection += "follow_redirects: strip_token\n";
  e2e::WriteFile(strip_defs + "/connection.yaml", connection);

  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));

  RunResult same_origin = Run(*engine, "follow_redirect", "alice");
  EXPECT_EQ(same_origin.state, RunState::Error) << Describe(same_origin);
  ASSERT_TRUE(same_origin.error);
  EXPECT_EQ(same_origin.error->code, "http_status") << Describe(same_origin);
  EXPECT_EQ(endpoint_->Stat("redirects_elsewhere"), 1);
  EXPECT_EQ(other.Stat("record_auth_requests"), 0);
  EXPECT_EQ(other.Stat("auth_headers_seen_on_record_endpoint"), 0);

  engine.reset();
  auto strip_engine = OpenEngine(strip_defs);
  RunResult stripped = Run(*strip_engine, "follow_redirect", "alice");
  ASSERT_EQ(stripped.state, RunState::Completed) << Describe(stripped);
  EXPECT_EQ(stripped.outputs.find("status")->as_integer(), 200);
  EXPECT_EQ(other.Stat("record_auth_requests"), 1);
  EXPECT_EQ(other.Stat("auth_headers_seen_on_record_endpoint"), 0) << other.StatsText();
}

// 9. Pills cannot change the origin, smuggle path segments or inject headers.
TEST_F(PersonalOAuthE2E, PillsCannotChangeTheOriginOrInjectHeaders) {
  Endpoint other;
  ASSERT_TRUE(other.started());
  StartEndpoint();
  e2e::WriteFile(defs_ + "/probes.yaml", kProbeActions);
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));
  std::string other_hostport = other.hostport();

  // Sanity: a plain path works.
  RunResult plain = Run(*engine, "probe_path", "alice", {{"p", Value("/api/record-auth")}});
  ASSERT_EQ(plain.state, RunState::Completed) << Describe(plain);
  int64_t main_requests = endpoint_->Stat("record_auth_requests");

  for (const std::string& p : {"//" + other_hostport + "/api/record-auth",
                               "http://" + other_hostport + "/x", "@" + other_hostport,
                               std::string("/a%2F..%2Fb"), std::string("/x\r\nHost: evil"),
                               std::string("\\\\") + other_hostport + "/api/record-auth",
                               "/\\" + other_hostport + "/api/record-auth",
                               std::string("@localhost/api/record-auth")}) {
    RunResult result = Run(*engine, "probe_path", "alice", {{"p", Value(p)}});
    EXPECT_EQ(result.state, RunState::Error) << p << ": " << Describe(result);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->code, "unsafe_path") << p << ": " << Describe(result);
  }
  EXPECT_EQ(other.Stat("record_auth_requests"), 0) << other.StatsText();
  EXPECT_EQ(other.Stat("api_requests"), 0);
  EXPECT_EQ(other.Stat("auth_headers_seen_on_record_endpoint"), 0);

  for (const std::string& h : {std::string("a\r\nX-Evil: 1"), std::string("a\nX-Evil: 1"),
                               std::string("a\rb")}) {
    RunResult result = Run(*engine, "probe_header", "alice", {{"h", Value(h)}});
    EXPECT_EQ(result.state, RunState::Error) << Describe(result);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->code, "unsafe_header") << Describe(result);
  }
  EXPECT_EQ(endpoint_->Stat("record_auth_requests"), main_requests) << endpoint_->StatsText();
  RunResult fine = Run(*engine, "probe_header", "alice", {{"h", Value("fine")}});
  EXPECT_EQ(fine.state, RunState::Completed) << Describe(fine);
}

// 10. Token values appear in no output, trace, log or database byte.
TEST_F(PersonalOAuthE2E, SecretsNeverLeak) {
  StartEndpoint();
  e2e::WriteFile(defs_ + "/probes.yaml", kProbeActions);
  std::vector<std::string> secrets;
  {
    auto engine = OpenEngine();
    Tokens alice = endpoint_->Login("alice");
    Tokens bob = endpoint_->Login("bob");
    secrets = {alice.access_token, alice.refresh_token, bob.access_token, bob.refresh_token};
    Store(*engine, "alice", alice, -1min);
    Store(*engine, "bob", bob, 1h);
    endpoint_->Control("/control/expire-tokens");  // bob's is rejected, then refreshed
  }
  std::vector<e2e::ChildResult> runs;
  std::vector<std::string> traces;
  auto run = [&](std::vector<std::string> args) {
    std::string trace = root_ + "/trace-" + std::to_string(traces.size()) + ".json";
    traces.push_back(trace);
    args.insert(args.end(), {"-d", defs_, "--trace", trace, "--output", "json"});
    runs.push_back(Cli(args));
  };
  run({"run", "getpersonalincidentssubflow", "--user", "alice"});
  run({"run", "getpersonalincidentssubflow", "--user", "bob"});
  run({"run", "probe_path", "--user", "alice", "--input", "p=/api/now/table/incident/INC0020001"});
  run({"run", "probe_header", "--user", "alice", "--input", "h=a\r\nb"});
  run({"run", "getpersonalincidentssubflow", "--user", "carol"});
  EXPECT_EQ(runs[0].exit_code, 0) << runs[0].out << runs[0].err;
  EXPECT_EQ(runs[1].exit_code, 0) << runs[1].out << runs[1].err;
  EXPECT_EQ(runs[2].exit_code, 1) << runs[2].out << runs[2].err;
  EXPECT_EQ(runs[4].exit_code, 3) << runs[4].out << runs[4].err;
  {
    auto engine = OpenEngine();
    for (const std::string& user : {"alice", "bob"}) {
      StoredToken now = Load(*engine, user);
      secrets.push_back(now.access_token);
      secrets.push_back(now.refresh_token);
    }
  }
  auto list = Cli({"token", "list", "--output", "json"});
  auto runs_list = Cli({"runs", "list"});
  std::string shown;
  for (const auto& run : runs) {
    size_t at = run.out.find("\"context_id\":\"");
    if (at == std::string::npos) continue;
    std::string id = run.out.substr(at + 14, 36);
    auto show = Cli({"runs", "show", id});
    EXPECT_EQ(show.exit_code, 0) << id << ": " << show.out << show.err;
    shown += show.out + show.err;
  }
  std::vector<std::pair<std::string, std::string>> haystacks = {
      {"token list", list.out + list.err}, {"runs list", runs_list.out + runs_list.err}, {"runs show", shown}};
  for (size_t i = 0; i < runs.size(); ++i) {
    haystacks.push_back({"stdout " + std::to_string(i), runs[i].out});
    haystacks.push_back({"stderr " + std::to_string(i), runs[i].err});
    std::string trace = e2e::ReadFile(traces[i]);
    if (i < 3) EXPECT_FALSE(trace.empty()) << traces[i];
    haystacks.push_back({traces[i], trace});
  }
  for (const char* file : {"/flowline.db", "/flowline.db-wal", "/flowline.db-shm"})
    haystacks.push_back({file, e2e::ReadFile(home_ + file)});
  secrets.push_back(e2e::kClientSecret);  // the OAuth client secret, from the environment
  for (const auto& secret : secrets) {
    ASSERT_GE(secret.size(), 13u);
    for (const auto& [name, text] : haystacks)
      EXPECT_EQ(text.find(secret), std::string::npos) << "a token value appears in " << name;
  }
}

// 11. 503 with Retry-After twice, then success: the step took three attempts.
TEST_F(PersonalOAuthE2E, RetryAfterIsHonoured) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));
  endpoint_->Control("/control/fail?count=2&status=503&retry_after=1&target=api");

  auto started = std::chrono::steady_clock::now();
  RunResult result = Run(*engine, "get_my_incidents", "alice");
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(result.state, RunState::Completed) << Describe(result);
  EXPECT_EQ(result.outputs.find("count")->as_integer(), 3);
  const StepRecord* fetch = nullptr;
  for (const auto& step : result.steps)
    if (step.id == "fetch") fetch = &step;
  ASSERT_NE(fetch, nullptr);
  ASSERT_TRUE(fetch->http);
  EXPECT_EQ(fetch->http->attempts, 3);
  EXPECT_EQ(fetch->http->status, 200);
  if (const Value* attempts = fetch->outputs.is_object() ? fetch->outputs.find("attempts") : nullptr)
    EXPECT_EQ(attempts->as_integer(), 3);
  EXPECT_GE(elapsed, 1900ms);
  EXPECT_EQ(endpoint_->Stat("api_requests"), 3);
  EXPECT_EQ(endpoint_->Stat("api_injected_failures"), 2);
}


// 7b. Many runs rejected at once (tokens expired at the server only) share one refresh.
TEST_F(PersonalOAuthE2E, ConcurrentRejectionsShareOneRefresh) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"), 1h);
  endpoint_->Control("/control/expire-tokens");
  endpoint_->Control("/control/reset");

  std::vector<std::shared_ptr<RunHandle>> handles;
  for (int i = 0; i < 32; ++i) {
    RunRequest request;
    request.target = kSubflow;
    request.user = "alice";
    request.timeout = std::chrono::seconds(60);
    handles.push_back(start_run(*engine, std::move(request)));
  }
  for (auto& handle : handles) {
    RunResult result = handle->wait();
    EXPECT_EQ(result.state, RunState::Completed) << Describe(result);
  }
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 32);
}

// 4b. Alice and Bob expire together: one refresh each, each run still sees its own data.
TEST_F(PersonalOAuthE2E, ConcurrentRefreshesAreKeyedByUser) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"), -1min);
  Store(*engine, "bob", endpoint_->Login("bob"), -1min);
  endpoint_->Control("/control/reset");
  std::vector<std::pair<std::string, std::shared_ptr<RunHandle>>> handles;
  for (int i = 0; i < 40; ++i) {
    RunRequest request;
    request.target = kSubflow;
    std::string user = i % 2 ? "bob" : "alice";
    request.user = user;
    request.timeout = std::chrono::seconds(60);
    handles.emplace_back(user, start_run(*engine, std::move(request)));
  }
  for (auto& [user, handle] : handles) {
    RunResult result = handle->wait();
    ASSERT_EQ(result.state, RunState::Completed) << Describe(result);
    EXPECT_EQ(result.outputs.find("total")->as_integer(), user == "alice" ? 3 : 2);
    for (const Value& incident : result.outputs.find("incidents")->as_array())
      EXPECT_EQ(incident.find("caller_id")->as_string(), user);
  }
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 2) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
}

// 5b. A revoked grant seen by many runs at once costs one token request.
TEST_F(PersonalOAuthE2E, ConcurrentRunsWithRevokedGrantAskOnce) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  ASSERT_EQ(endpoint_->Revoke(tokens.refresh_token), 200);
  endpoint_->Control("/control/reset");
  std::vector<std::shared_ptr<RunHandle>> handles;
  for (int i = 0; i < 16; ++i) {
    RunRequest request;
    request.target = kSubflow;
    request.user = "alice";
    request.timeout = std::chrono::seconds(60);
    handles.push_back(start_run(*engine, std::move(request)));
  }
  for (auto& handle : handles) {
    RunResult result = handle->wait();
    ASSERT_EQ(result.state, RunState::Error) << Describe(result);
    EXPECT_EQ(result.error->code, "token_invalid") << Describe(result);
  }
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);
  EXPECT_EQ(Load(*engine, "alice").state, TokenState::NeedsLogin);
}

// 3b. A 503 from the token endpoint during refresh is retried, keeping the refresh token.
TEST_F(PersonalOAuthE2E, TransientTokenEndpointFailureIsRetried) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/fail?count=2&status=503&retry_after=none&target=token");
  RunResult result = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(result.state, RunState::Completed) << Describe(result);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 3) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
  StoredToken stored = Load(*engine, "alice");
  EXPECT_NE(stored.refresh_token, tokens.refresh_token);
  EXPECT_EQ(stored.state, TokenState::Valid);
}

// 3c. A short-lived token (2 s) is refreshed before it expires (half its lifetime), once.
TEST_F(PersonalOAuthE2E, ShortLivedTokenIsRefreshedWithinHalfItsLifetime) {
  sample::EndpointOptions options;
  options.access_token_lifetime = std::chrono::seconds(2);
  StartEndpoint(options);
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  ASSERT_EQ(tokens.expires_in, 2);
  StoredToken token;
  token.access_token = tokens.access_token;
  token.refresh_token = tokens.refresh_token;
  token.scope = tokens.scope;
  token.obtained_at = std::chrono::system_clock::now();
  token.expires_at = token.obtained_at + std::chrono::seconds(2);
  ASSERT_TRUE(engine_vault(*engine).put(e2e::kCredential, "alice", token).ok());
  endpoint_->Control("/control/reset");

  RunResult fresh = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(fresh.state, RunState::Completed) << Describe(fresh);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // past half the lifetime
  RunResult later = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(later.state, RunState::Completed) << Describe(later);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  EXPECT_EQ(endpoint_->Stat("api_unauthorized"), 0);
}

// FlowAPI by context id: a failed background run's outputs throw its error.
TEST_F(PersonalOAuthE2E, BackgroundRunErrorsReachFlowApi) {
  StartEndpoint();
  auto engine = OpenEngine();
  FlowResult result =
      FlowAPI::getRunner(*engine).subflow(kSubflow).inSession(Session{"carol"}).inBackground().run();
  std::string id = result.getContextId();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (FlowAPI::getStatus(id) == "in_progress" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(FlowAPI::getStatus(id), "error");
  try {
    FlowAPI::getOutputs(id);
    ADD_FAILURE() << "getOutputs did not throw";
  } catch (const FlowError& error) {
    EXPECT_EQ(error.code(), "token_missing");
    EXPECT_EQ(error.getContextId(), id);
  }
}


// A foreground timeout throws FlowError("timeout"); cancelling a background run ends it.
TEST_F(PersonalOAuthE2E, TimeoutAndCancelThroughFlowApi) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));
  endpoint_->Control("/control/delay?ms=3000&target=api");

  auto started = std::chrono::steady_clock::now();
  try {
    FlowAPI::getRunner(*engine)
        .subflow(kSubflow)
        .inSession(Session{"alice"})
        .inForeground()
        .timeout(500ms)
        .run();
    ADD_FAILURE() << "run() did not throw";
  } catch (const FlowError& error) {
    EXPECT_TRUE(error.code() == "timeout" || error.code() == "http_timeout") << error.code();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2500ms);

  FlowResult background =
      FlowAPI::getRunner(*engine).subflow(kSubflow).inSession(Session{"alice"}).inBackground().run();
  std::string id = background.getContextId();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(FlowAPI::getStatus(id), "in_progress");
  started = std::chrono::steady_clock::now();
  FlowAPI::cancel(id);
  while (FlowAPI::getStatus(id) == "in_progress" && std::chrono::steady_clock::now() - started < 10s)
    std::this_thread::sleep_for(5ms);
  EXPECT_EQ(FlowAPI::getStatus(id), "cancelled");
  // The transport cannot abort a request in flight: the run ends when the delayed reply lands.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  try {
    FlowAPI::getOutputs(id);
    ADD_FAILURE() << "getOutputs of a cancelled run did not throw";
  } catch (const FlowError& error) {
    EXPECT_EQ(error.code(), "cancelled");
  }
}


// A token rejected again right after its refresh fails the run: one refresh, one retry, no loop.
TEST_F(PersonalOAuthE2E, RejectionAfterRefreshDoesNotLoop) {
  sample::EndpointOptions options;
  options.access_token_lifetime = 1ms;  // every token is dead on arrival at the API
  StartEndpoint(options);
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"), 1h);
  endpoint_->Control("/control/reset");
  RunResult result = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(result.state, RunState::Error) << Describe(result);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("api_requests"), 2) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
}

// POST is not idempotent: a 503 is not retried unless the policy says so.
TEST_F(PersonalOAuthE2E, NonIdempotentRequestsAreNotRetried) {
  StartEndpoint();
  e2e::WriteFile(defs_ + "/probes.yaml", kProbeActions);
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"));
  endpoint_->Control("/control/fail?count=1&status=503&retry_after=1&target=api");
  RunResult failed = Run(*engine, "create_incident", "alice");
  ASSERT_EQ(failed.state, RunState::Error) << Describe(failed);
  EXPECT_EQ(endpoint_->Stat("api_requests"), 1);
  RunResult created = Run(*engine, "create_incident", "alice");
  ASSERT_EQ(created.state, RunState::Completed) << Describe(created);
  EXPECT_EQ(created.outputs.find("number")->as_string(), "INC0030001");
  EXPECT_EQ(endpoint_->Stat("api_requests"), 2);
}

// A stale copy of a rotated refresh token is reuse: the grant is revoked and the user must log in.
TEST_F(PersonalOAuthE2E, StaleRefreshTokenEndsInNeedsLogin) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  RunResult first = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(first.state, RunState::Completed) << Describe(first);
  Store(*engine, "alice", tokens, -1min);  // a backup restored over the rotated token
  RunResult second = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(second.state, RunState::Error) << Describe(second);
  EXPECT_EQ(second.error->code, "token_invalid") << Describe(second);
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 1);
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 1);
  EXPECT_EQ(Load(*engine, "alice").state, TokenState::NeedsLogin);
}


// Same-origin redirects keep the token; a chain that leaves the origin never carries it.
TEST_F(PersonalOAuthE2E, RedirectChainsKeepTheTokenOnlyOnTheSameOrigin) {
  Endpoint other;
  ASSERT_TRUE(other.started());
  sample::EndpointOptions options;
  options.other_origin = other.origin();
  StartEndpoint(options);
  e2e::WriteFile(defs_ + "/probes.yaml", kProbeActions);
  std::string strip_defs = root_ + "/defs-strip";
  e2e::CopySampleDefs(strip_defs, endpoint_->hostport());
  e2e::WriteFile(strip_defs + "/probes.yaml", kProbeActions);
  e2e::WriteFile(strip_defs + "/connection.yaml",
                 e2e::ReadFile(strip_defs + "/connection.yaml") + "follow_redirects: strip_token\n");
  std::string never_defs = root_ + "/defs-never";
  e2e::CopySampleDefs(never_defs, endpoint_->hostport());
  e2e::WriteFile(never_defs + "/probes.yaml", kProbeActions);
  e2e::WriteFile(never_defs + "/connection.yaml",
                 e2e::ReadFile(never_defs + "/connection.yaml") + "follow_redirects: never\n");

  Tokens tokens = endpoint_->Login("alice");
  std::string same = endpoint_->origin() + "/api/record-auth";
  std::string hop = endpoint_->origin() + "/api/redirect-elsewhere";  // then on to `other`
  {
    auto engine = OpenEngine();
    Store(*engine, "alice", tokens);
    for (const char* status : {"302", "307", "308"}) {
      RunResult followed = Run(*engine, "redirect_to", "alice", {{"to", Value(same)}, {"status", Value(status)}});
      ASSERT_EQ(followed.state, RunState::Completed) << status << " " << Describe(followed);
      EXPECT_EQ(followed.outputs.find("status")->as_integer(), 200);
    }
    EXPECT_EQ(endpoint_->Stat("auth_headers_seen_on_record_endpoint"), 3);
    RunResult chain = Run(*engine, "redirect_to", "alice", {{"to", Value(hop)}});
    EXPECT_EQ(chain.state, RunState::Error) << Describe(chain);
    EXPECT_EQ(other.Stat("record_auth_requests"), 0);
  }
  {
    auto engine = OpenEngine(strip_defs);
    RunResult chain = Run(*engine, "redirect_to", "alice", {{"to", Value(hop)}, {"status", Value("307")}});
    ASSERT_EQ(chain.state, RunState::Completed) << Describe(chain);
    EXPECT_EQ(other.Stat("record_auth_requests"), 1);
    EXPECT_EQ(other.Stat("auth_headers_seen_on_record_endpoint"), 0) << other.StatsText();
  }
  {
    auto engine = OpenEngine(never_defs);
    int64_t seen = endpoint_->Stat("record_auth_requests");
    RunResult refused = Run(*engine, "redirect_to", "alice", {{"to", Value(same)}});
    EXPECT_EQ(refused.state, RunState::Error) << Describe(refused);
    EXPECT_EQ(endpoint_->Stat("record_auth_requests"), seen);
  }
}


// Only processes (no engine in this one): six `flowline run` at once with an expired token.
TEST_F(PersonalOAuthE2E, ProcessesAloneRefreshOnce) {
  StartEndpoint();
  {
    auto engine = OpenEngine();
    Store(*engine, "alice", endpoint_->Login("alice"), -1min);
  }
  endpoint_->Control("/control/reset");
  std::vector<std::unique_ptr<e2e::FlowlineChild>> children;
  for (int i = 0; i < 6; ++i)
    children.push_back(std::make_unique<e2e::FlowlineChild>(
        std::vector<std::string>{"run", "get_my_incidents", "-d", defs_, "--user", "alice",
                                 "--output", "json"},
        ChildEnv(), root_));
  for (auto& child : children) {
    auto result = child->Wait();
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_NE(result.out.find("\"count\":3"), std::string::npos) << result.out;
  }
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 6);
}


// FlowAPI by context id works when the caller kept only the id.
TEST_F(PersonalOAuthE2E, BackgroundRunIsReachableByIdAlone) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "bob", endpoint_->Login("bob"));
  std::string id = FlowAPI::getRunner(*engine)
                       .subflow(kSubflow)
                       .inSession(Session{"bob"})
                       .inBackground()
                       .run()
                       .getContextId();
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (FlowAPI::getStatus(id) == "in_progress" && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(FlowAPI::getStatus(id), "completed");
  EXPECT_EQ(FlowAPI::getOutputs(id).find("total")->as_integer(), 2);
}


// A run that times out while its refresh is in flight does not lose the rotated token.
TEST_F(PersonalOAuthE2E, TimeoutDuringRefreshKeepsTheRotatedToken) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens, -1min);
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/delay?ms=1500&target=token");

  RunRequest request;
  request.target = kSubflow;
  request.user = "alice";
  request.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  RunResult timed_out = start_run(*engine, std::move(request))->wait();
  EXPECT_EQ(timed_out.state, RunState::Error) << Describe(timed_out);
  // Known limit: the run waits for its refresh (1.5 s here) before its timeout is noticed; the
  // refresh must not be abandoned halfway, but the run could stop waiting sooner.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s) << Describe(timed_out);
  ASSERT_TRUE(timed_out.error);
  EXPECT_EQ(timed_out.error->code, "timeout");

  std::this_thread::sleep_for(2s);  // the token request lands meanwhile
  endpoint_->Control("/control/delay?ms=0&target=token");
  RunResult next = Run(*engine, kSubflow, "alice");
  EXPECT_EQ(next.state, RunState::Completed) << Describe(next);
  EXPECT_EQ(endpoint_->Stat("refresh_reuse_detected"), 0) << endpoint_->StatsText();
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
  EXPECT_EQ(Load(*engine, "alice").state, TokenState::Valid);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
}


// Only invalid_grant means "log in again": another 4xx from the token endpoint keeps the token.
TEST_F(PersonalOAuthE2E, OtherTokenEndpointErrorsDoNotForceLogin) {
  StartEndpoint();
  auto engine = OpenEngine();
  Store(*engine, "alice", endpoint_->Login("alice"), -1min);
  endpoint_->Control("/control/reset");
  endpoint_->Control("/control/fail?count=1&status=400&retry_after=none&target=token");
  RunResult failed = Run(*engine, kSubflow, "alice");
  ASSERT_EQ(failed.state, RunState::Error) << Describe(failed);
  EXPECT_NE(failed.error->code, "token_invalid") << Describe(failed);
  EXPECT_EQ(Load(*engine, "alice").state, TokenState::Valid);
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);

  RunResult next = Run(*engine, kSubflow, "alice");
  EXPECT_EQ(next.state, RunState::Completed) << Describe(next);
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 0);
}

// The service is down: the run fails with a network error, the token is untouched.
TEST_F(PersonalOAuthE2E, ServiceDownFailsCleanly) {
  StartEndpoint();
  auto engine = OpenEngine();
  Tokens tokens = endpoint_->Login("alice");
  Store(*engine, "alice", tokens);
  endpoint_.reset();
  auto started = std::chrono::steady_clock::now();
  RunResult result = Run(*engine, "get_my_incidents", "alice");
  ASSERT_EQ(result.state, RunState::Error) << Describe(result);
  EXPECT_FALSE(result.authorization_required()) << Describe(result);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 30s);
  StoredToken stored = Load(*engine, "alice");
  EXPECT_EQ(stored.access_token, tokens.access_token);
  EXPECT_EQ(stored.state, TokenState::Valid);
  EXPECT_EQ(result.error->code, "http_connect") << Describe(result);
}

}  // namespace
}  // namespace flowline
