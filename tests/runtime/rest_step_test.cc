// The REST step from an author's side: definitions validated, then run
// through an engine whose transport is a FakeTransport.
#include "runtime/walker.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "runtime/engine.h"
#include "support/fake_transport.h"
#include "support/memory_vault.h"
#include "support/engine_harness.h"

namespace flowline {
namespace {

using flowline::testing::FakeHttp;
using flowline::testing::MemoryVault;
using flowline::testing::kAcme;

class RestStepTest : public flowline::testing::EngineHarness {};


// An action with one REST step, wrapped in a session-user subflow that
// returns the step's outputs; alice has a token.
std::string wrap(const std::string& rest_step, const std::string& inputs = "{}") {
  return R"yaml(
kind: Action
name: call
inputs: )yaml" + inputs + R"yaml(
outputs:
  out: {type: any, value: "{{ steps.r }}"}
steps:
  - id: r
)yaml" + rest_step + R"yaml(
---
kind: Subflow
name: run
run_as: session_user
inputs: )yaml" + inputs + R"yaml(
outputs: {out: {type: any}}
steps:
  - id: c
    action: call
    inputs: {}
  - assign_outputs: {out: "{{ steps.c.out }}"}
)yaml";
}

TEST_F(RestStepTest, UrlIsConnectionUrlPlusPathPlusEncodedQuery) {
  load(R"yaml(
kind: Action
name: call
inputs: {limit: {type: integer, default: 5}, q: {type: string, default: "a&b c/d"}}
steps:
  - id: r
    rest:
      connection: acme
      method: GET
      path: "/api/now/table/{{ 'incident' }}"
      query: {sysparm_limit: "{{ inputs.limit }}", q: "{{ inputs.q }}", skip: "{{ null }}"}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, "{}");
  RunResult r = run("call", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].request.method, "GET");
  EXPECT_EQ(requests[0].request.url,
            "https://api.acme.example/api/now/table/incident?sysparm_limit=5&q=a%26b%20c%2Fd");
  EXPECT_EQ(requests[0].request.bearer_token, "tok");
  EXPECT_TRUE(requests[0].request.body.empty());
}

TEST_F(RestStepTest, HeadersComeFromTheConnectionThenTheStep) {
  std::string acme_with_headers = R"yaml(
kind: Action
name: call
inputs: {v: {type: string, default: vee}}
steps:
  - id: r
    rest:
      connection: acme
      method: GET
      path: /h
      headers: {Accept: application/json, X-Req: "{{ inputs.v }}"}
)yaml";
  // kAcme has no connection headers; add a second set with them.
  DefinitionSet set;
  Diagnostics diagnostics;
  std::string acme = kAcme;
  acme.replace(acme.find("credential: acme_personal"), 25,
               "credential: acme_personal\nheaders: {X-Client: flowline, X-Env: prod}");
  load_definitions_from_text("acme.yaml", acme, set, diagnostics);
  load_definitions_from_text("test.yaml", acme_with_headers, set, diagnostics);
  validate(set, diagnostics);
  ASSERT_FALSE(diagnostics.has_errors()) << render_text(diagnostics);
  build(std::move(set));
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, "{}");
  RunResult r = run("call", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  HttpHeaders expected = {{"X-Client", "flowline"}, {"X-Env", "prod"},
                          {"Accept", "application/json"}, {"X-Req", "vee"}};
  EXPECT_EQ(http_->requests().at(0).request.headers, expected);
}

TEST_F(RestStepTest, AMapBodyIsSentAsJson) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: POST
      path: /items
      body: {name: "{{ 'widget' }}", count: "{{ 2 + 1 }}", tags: [a, b]}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(201, R"({"id":7})");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  HttpRequest sent = http_->requests().at(0).request;
  EXPECT_EQ(sent.method, "POST");
  EXPECT_EQ(sent.body, R"({"count":3,"name":"widget","tags":["a","b"]})");
  HttpHeaders expected = {{"Content-Type", "application/json"}};
  EXPECT_EQ(sent.headers, expected);
  EXPECT_EQ(r.outputs.find("out")->find("status_code")->to_json(), "201");
  EXPECT_EQ(r.outputs.find("out")->find("body")->to_json(), R"({"id":7})");
}

TEST_F(RestStepTest, AFormBodyIsUrlEncoded) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: POST
      path: /form
      body_type: form
      body: {user: "a b", n: "{{ 5 }}"}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, "{}");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  HttpRequest sent = http_->requests().at(0).request;
  EXPECT_EQ(sent.body, "n=5&user=a%20b");
  HttpHeaders expected = {{"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(sent.headers, expected);
}

TEST_F(RestStepTest, AStepContentTypeHeaderIsKept) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: PUT
      path: /text
      headers: {content-type: application/vnd.acme+json}
      body: {a: 1}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, "{}");
  ASSERT_EQ(run("run", ValueObject{}, "alice").state, RunState::Completed);
  HttpHeaders expected = {{"content-type", "application/vnd.acme+json"}};
  EXPECT_EQ(http_->requests().at(0).request.headers, expected);
}

TEST_F(RestStepTest, JsonResponsesAreParsedOthersAreText) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /x}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(200, R"({"result":[1,2]})", {{"x-request-id", "r1"}, {"set-cookie", "a=1"}, {"set-cookie", "b=2"}});
  HttpResponse text;
  text.status = 200;
  text.headers = {{"content-type", "text/plain"}};
  text.body = R"({"looks":"like json"})";
  http_->push(text);

  RunResult json = run("run", ValueObject{}, "alice");
  ASSERT_EQ(json.state, RunState::Completed) << error_of(json);
  const Value* out = json.outputs.find("out");
  EXPECT_EQ(out->find("body")->to_json(), R"({"result":[1,2]})");
  EXPECT_EQ(out->find("headers")->to_json(),
            R"({"content-type":"application/json","set-cookie":"a=1, b=2","x-request-id":"r1"})");
  EXPECT_EQ(out->find("attempts")->to_json(), "1");
  EXPECT_EQ(out->find("status")->to_json(), R"({"code":0,"message":""})");

  RunResult plain = run("run", ValueObject{}, "alice");
  ASSERT_EQ(plain.state, RunState::Completed) << error_of(plain);
  EXPECT_EQ(plain.outputs.find("out")->find("body")->to_json(), R"("{\"looks\":\"like json\"}")");
}

TEST_F(RestStepTest, ExpectMakesA404Succeed) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /gone, expect: [404]}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(404, R"({"error":"gone"})");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("out")->find("status_code")->to_json(), "404");
  // With expect, a 200 is no longer a success.
  http_->push_json(200, "{}");
  RunResult ok = run("run", ValueObject{}, "alice");
  ASSERT_EQ(ok.state, RunState::Error);
  EXPECT_EQ(ok.error->code, "http_status");
}

TEST_F(RestStepTest, NonSuccessStatusIsHttpStatusError) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /things, query: {secret: hidden}}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(404, "{}");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "http_status | HTTP 404 Not Found from GET https://api.acme.example/things | c/r");
}

TEST_F(RestStepTest, RetriesA503ThenSucceeds) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: GET
      path: /flaky
      retry_policy: {strategy: fixed, interval: 10ms, count: 3, jitter: false}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(503, "{}");
  http_->push_json(503, "{}");
  http_->push_json(200, R"({"ok":true})");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("out")->find("attempts")->to_json(), "3");
  EXPECT_EQ(r.outputs.find("out")->find("body")->to_json(), R"({"ok":true})");
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_GE(requests[1].sent_at - requests[0].sent_at, std::chrono::milliseconds(10));
}

TEST_F(RestStepTest, RetriesStopAtTheCount) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: GET
      path: /down
      retry_policy: {strategy: fixed, interval: 1ms, count: 2}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->set_handler([](const HttpRequest&) { return flowline::testing::json_response(503, "{}"); });
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "http_status | HTTP 503 Service Unavailable from GET https://api.acme.example/down | c/r");
  EXPECT_EQ(http_->request_count(), 3u);
}

TEST_F(RestStepTest, PostIsNotRetriedUnlessAllowed) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: POST
      path: /create
      retry_policy: {strategy: fixed, interval: 1ms, count: 3}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(503, "{}");
  http_->push_json(200, "{}");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "http_status");
  EXPECT_EQ(http_->request_count(), 1u);
}

TEST_F(RestStepTest, PostIsRetriedWithRetryNonIdempotent) {
  load(wrap(R"yaml(    rest:
      connection: acme
      method: POST
      path: /create
      retry_policy: {strategy: fixed, interval: 1ms, count: 3, retry_non_idempotent: true}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  http_->push_json(503, "{}");
  http_->push_json(200, "{}");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("out")->find("attempts")->to_json(), "2");
}

TEST_F(RestStepTest, InvalidTokenIsRefreshedOnceAndRetried) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /me}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "old-token", "refresh-1");
  http_->set_handler([](const HttpRequest& request) {
    if (request.url == "https://auth.acme.example/token")
      return flowline::testing::json_response(
          200, R"({"access_token":"new-token","token_type":"Bearer","expires_in":3600})");
    if (request.bearer_token == "old-token")
      return flowline::testing::json_response(
          401, R"({"error":"invalid_token"})",
          {{"www-authenticate", R"(Bearer realm="acme", error="invalid_token")"}});
    return flowline::testing::json_response(200, R"({"me":")" + request.bearer_token + R"("})");
  });
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.find("out")->find("body")->to_json(), R"({"me":"new-token"})");
  auto requests = http_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].request.bearer_token, "old-token");
  EXPECT_EQ(requests[1].request.url, "https://auth.acme.example/token");
  EXPECT_EQ(requests[1].request.method, "POST");
  EXPECT_NE(requests[1].request.body.find("grant_type=refresh_token"), std::string::npos)
      << requests[1].request.body;
  EXPECT_NE(requests[1].request.body.find("refresh_token=refresh-1"), std::string::npos)
      << requests[1].request.body;
  EXPECT_EQ(requests[2].request.bearer_token, "new-token");
  auto stored = vault_->get("global.acme_personal", "alice");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->access_token, "new-token");
  EXPECT_EQ((*stored)->refresh_token, "refresh-1");  // no new one in the reply: kept
}

TEST_F(RestStepTest, ASecondInvalidTokenIsNotRefreshedAgain) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /me}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "old-token", "refresh-1");
  http_->set_handler([](const HttpRequest& request) {
    if (request.url == "https://auth.acme.example/token")
      return flowline::testing::json_response(200, R"({"access_token":"new-token","expires_in":3600})");
    return flowline::testing::json_response(401, "{}", {{"www-authenticate", R"(Bearer error="invalid_token")"}});
  });
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(r.error->code, "http_status");
  EXPECT_EQ(http_->request_count(), 3u);  // call, refresh, one retry
}

TEST_F(RestStepTest, A401WithoutInvalidTokenIsNotRefreshed) {
  load(wrap(R"yaml(    rest: {connection: acme, method: GET, path: /me}
)yaml"),
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok", "refresh-1");
  http_->push_json(401, "{}");
  RunResult r = run("run", ValueObject{}, "alice");
  ASSERT_EQ(r.state, RunState::Error);
  EXPECT_EQ(error_of(r), "http_status | HTTP 401 Unauthorized from GET https://api.acme.example/me | c/r");
  EXPECT_EQ(http_->request_count(), 1u);
}

TEST_F(RestStepTest, AnInlineUrlNeedsNoConnection) {
  load(R"yaml(
kind: Action
name: inline
outputs: {body: {type: any, value: "{{ steps.r.body }}"}}
steps:
  - id: r
    rest: {url: "https://public.example/api", method: GET, path: /v1/x}
)yaml");
  http_->push_json(200, R"([1])");
  RunResult r = run("inline");
  ASSERT_EQ(r.state, RunState::Completed) << error_of(r);
  EXPECT_EQ(r.outputs.to_json(), R"({"body":[1]})");
  EXPECT_EQ(http_->requests().at(0).request.url, "https://public.example/api/v1/x");
  EXPECT_EQ(http_->requests().at(0).request.bearer_token, "");
}

TEST_F(RestStepTest, APillCannotChangeTheHost) {
  load(R"yaml(
kind: Action
name: sneaky
inputs: {p: {type: string}}
steps:
  - id: r
    rest: {connection: acme, method: GET, path: "{{ inputs.p }}"}
)yaml",
       true);
  vault_->put_access_token("global.acme_personal", "alice", "tok");
  for (std::string p : {"//evil.example/x", "http://evil.example/", "@evil.example"}) {
    RunResult r = run("sneaky", ValueObject{{"p", p}}, "alice");
    EXPECT_EQ(r.state, RunState::Error) << p;
    for (const auto& sent : http_->requests())
      EXPECT_EQ(sent.request.url.rfind("https://api.acme.example/", 0), 0u) << sent.request.url;
  }
}

}  // namespace
}  // namespace flowline
