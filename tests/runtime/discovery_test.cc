// OAuth discovery (runtime/oauth/discovery.h): the well-known URL rules, the
// metadata checks, and ProfileDiscovery against a real loopback HTTP server —
// fall-through, exact issuer match, errors, caching and single-flight.
#include "runtime/oauth/discovery.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/http/curl_transport.h"
#include "runtime/loop/event_loop.h"
#include "support/http_test_server.h"

namespace flowline {
namespace {

using namespace std::chrono_literals;
using test_support::CannedResponse;
using test_support::HttpTestServer;
using test_support::ReceivedRequest;

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::vector<std::string> urls_of(const std::string& issuer) {
  auto urls = discovery_urls(issuer);
  EXPECT_TRUE(urls.ok()) << issuer << ": " << urls.status().message();
  return urls.ok() ? *urls : std::vector<std::string>{};
}

// --- discovery_urls ---------------------------------------------------------

TEST(DiscoveryUrls, IssuerWithoutPathAsksBelowTheOrigin) {
  std::vector<std::string> expected = {"https://as.example/.well-known/oauth-authorization-server",
                                       "https://as.example/.well-known/openid-configuration"};
  EXPECT_EQ(urls_of("https://as.example"), expected);
  EXPECT_EQ(urls_of("https://as.example/"), expected);  // no double slash
}

TEST(DiscoveryUrls, IssuerWithPathInsertsTheRfc8414SuffixBeforeThePath) {
  std::vector<std::string> expected = {
      "https://as.example/.well-known/oauth-authorization-server/tenant1",
      "https://as.example/tenant1/.well-known/openid-configuration"};
  EXPECT_EQ(urls_of("https://as.example/tenant1"), expected);
  EXPECT_EQ(urls_of("https://as.example/tenant1/"), expected);  // the trailing '/' is dropped
  EXPECT_EQ(
      urls_of("http://127.0.0.1:8080/a/b"),
      (std::vector<std::string>{"http://127.0.0.1:8080/.well-known/oauth-authorization-server/a/b",
                                "http://127.0.0.1:8080/a/b/.well-known/openid-configuration"}));
}

TEST(DiscoveryUrls, BadIssuersAreRefusedWithAMessageNamingThem) {
  for (std::string issuer :
       {"", "as.example", "/tenant1", "ftp://as.example", "https://", "https://user@as.example",
        "https://as example", "https://as.example/?tenant=1", "https://as.example?",
        "https://as.example/#x"}) {
    auto urls = discovery_urls(issuer);
    ASSERT_FALSE(urls.ok()) << issuer;
    EXPECT_EQ(urls.status().code(), "discovery_error") << issuer;
    EXPECT_TRUE(contains(urls.status().message(),
                         "the issuer '" + issuer + "' cannot be used for discovery"))
        << urls.status().message();
    EXPECT_TRUE(contains(urls.status().message(), "RFC 8414 §2")) << urls.status().message();
  }
  EXPECT_EQ(
      discovery_urls("https://as.example/t?x=1").status().message(),
      "the issuer 'https://as.example/t?x=1' cannot be used for discovery: it has a query ('?'); "
      "an issuer is an absolute https URL without query or fragment, such as "
      "'https://login.example.com' or 'https://login.example.com/tenant1' (RFC 8414 §2)");
}

// --- parse_metadata ---------------------------------------------------------

constexpr char kUrl[] = "https://as.example/.well-known/oauth-authorization-server";

TEST(ParseMetadata, ReadsTheFieldsFlowlineUses) {
  auto metadata = parse_metadata(R"({
      "issuer": "https://as.example",
      "authorization_endpoint": "https://as.example/authorize?tenant=1",
      "token_endpoint": "https://as.example/token",
      "revocation_endpoint": "https://as.example/revoke",
      "code_challenge_methods_supported": ["S256", "plain"],
      "authorization_response_iss_parameter_supported": true,
      "response_types_supported": ["code"],
      "jwks_uri": "https://as.example/jwks"})",
                                 "https://as.example", kUrl);
  ASSERT_TRUE(metadata.ok()) << metadata.status().message();
  EXPECT_EQ(metadata->issuer, "https://as.example");
  EXPECT_EQ(metadata->authorization_endpoint, "https://as.example/authorize?tenant=1");
  EXPECT_EQ(metadata->token_endpoint, "https://as.example/token");
  EXPECT_EQ(metadata->revocation_endpoint, "https://as.example/revoke");
  EXPECT_EQ(metadata->code_challenge_methods_supported,
            (std::vector<std::string>{"S256", "plain"}));
  EXPECT_TRUE(metadata->authorization_response_iss_parameter_supported);
}

TEST(ParseMetadata, OptionalFieldsMayBeAbsent) {
  auto metadata = parse_metadata(R"({"issuer": "https://as.example"})", "https://as.example", kUrl);
  ASSERT_TRUE(metadata.ok()) << metadata.status().message();
  EXPECT_EQ(metadata->token_endpoint, "");
  EXPECT_TRUE(metadata->code_challenge_methods_supported.empty());
  EXPECT_FALSE(metadata->authorization_response_iss_parameter_supported);
}

TEST(ParseMetadata, IssuerMustMatchExactly) {
  // A trailing slash is a different issuer (RFC 8414 §3.3 compares strings).
  auto metadata = parse_metadata(
      R"({"issuer": "https://as.example/", "token_endpoint": "https://as.example/t"})",
      "https://as.example", kUrl);
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.status().code(), "discovery_error");
  EXPECT_EQ(
      metadata.status().message(),
      "the metadata at https://as.example/.well-known/oauth-authorization-server names issuer "
      "'https://as.example/', but the profile's issuer is 'https://as.example'; they must match "
      "exactly, character for character (RFC 8414 §3.3). Set the profile's `issuer:` to the "
      "server's issuer if that is the right server");
}

TEST(ParseMetadata, BrokenDocumentsAreRefusedNamingTheUrlAndTheProblem) {
  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {"<html>not json</html>", "is not JSON (invalid JSON at offset 0"},
      {R"(["issuer"])", "is not a JSON object"},
      {R"({"token_endpoint": "https://as.example/token"})", "has no 'issuer' string"},
      {R"({"issuer": 7})", "has no 'issuer' string"},
      {R"({"issuer": "https://as.example", "token_endpoint": 5})",
       "has a 'token_endpoint' that is not a string"},
      {R"({"issuer": "https://as.example", "token_endpoint": "/token"})",
       "has 'token_endpoint' '/token', which is not an absolute http or https URL"},
      {R"({"issuer": "https://as.example", "authorization_endpoint": "ftp://as.example/authorize"})",
       "'authorization_endpoint' 'ftp://as.example/authorize', which is not an absolute http or "
       "https URL"},
      {R"({"issuer": "https://as.example", "token_endpoint": "https://as.example/t#frag"})",
       "has a fragment"},
      {R"({"issuer": "https://as.example", "token_endpoint": "http://as.example/token"})",
       "has 'token_endpoint' 'http://as.example/token', which is not https although the issuer is"},
      {R"({"issuer": "https://as.example", "code_challenge_methods_supported": "S256"})",
       "'code_challenge_methods_supported' that is not an array"},
      {R"({"issuer": "https://as.example", "code_challenge_methods_supported": [1]})",
       "'code_challenge_methods_supported' entry that is not a string"},
      {R"({"issuer": "https://as.example", "authorization_response_iss_parameter_supported": "yes"})",
       "'authorization_response_iss_parameter_supported' that is not true or false"},
  };
  for (const Case& c : cases) {
    auto metadata = parse_metadata(c.body, "https://as.example", kUrl);
    ASSERT_FALSE(metadata.ok()) << c.body;
    EXPECT_EQ(metadata.status().code(), "discovery_error");
    EXPECT_TRUE(contains(metadata.status().message(), std::string("the metadata at ") + kUrl))
        << metadata.status().message();
    EXPECT_TRUE(contains(metadata.status().message(), c.message)) << metadata.status().message();
  }
}

TEST(ParseMetadata, PlainHttpEndpointsAreFineForAnHttpIssuer) {
  auto metadata = parse_metadata(
      R"({"issuer": "http://127.0.0.1:9", "token_endpoint": "http://127.0.0.1:9/t"})",
      "http://127.0.0.1:9", kUrl);
  ASSERT_TRUE(metadata.ok()) << metadata.status().message();
  EXPECT_EQ(metadata->token_endpoint, "http://127.0.0.1:9/t");
}

TEST(ParseMetadata, BodyOverTheLimitIsRefused) {
  std::string body =
      R"({"issuer": "https://as.example", "pad": ")" + std::string(1 << 20, 'x') + "\"}";
  auto metadata = parse_metadata(body, "https://as.example", kUrl);
  ASSERT_FALSE(metadata.ok());
  EXPECT_TRUE(contains(metadata.status().message(), "is larger than 1048576 bytes"))
      << metadata.status().message();
}

// --- merge_endpoints --------------------------------------------------------

TEST(MergeEndpoints, ExplicitUrlsWinAndEmptyOnesAreFilled) {
  OAuthProfile profile;
  profile.issuer = "https://as.example";
  profile.token_url = "https://proxy.example/token";
  AuthorizationServerMetadata metadata;
  metadata.issuer = "https://as.example";
  metadata.authorization_endpoint = "https://as.example/authorize";
  metadata.token_endpoint = "https://as.example/token";
  OAuthEndpoints merged = merge_endpoints(profile, &metadata);
  EXPECT_EQ(merged.issuer, "https://as.example");
  EXPECT_EQ(merged.authorization_url, "https://as.example/authorize");
  EXPECT_EQ(merged.token_url, "https://proxy.example/token");
  EXPECT_EQ(merged.revocation_url, "");  // neither given nor discovered
  EXPECT_FALSE(merged.iss_required);
  metadata.authorization_response_iss_parameter_supported = true;
  EXPECT_TRUE(merge_endpoints(profile, &metadata).iss_required);

  OAuthEndpoints own = merge_endpoints(profile, nullptr);
  EXPECT_FALSE(own.iss_required);
  EXPECT_EQ(own.authorization_url, "");
  EXPECT_EQ(own.token_url, "https://proxy.example/token");
}

// --- ProfileDiscovery against a loopback server ------------------------------

constexpr char kRfc8414Path[] = "/.well-known/oauth-authorization-server";
constexpr char kOpenIdPath[] = "/.well-known/openid-configuration";

CannedResponse json(std::string body, std::chrono::milliseconds delay = 0ms) {
  return CannedResponse{
      .status = 200, .body = std::move(body), .content_type = "application/json", .delay = delay};
}

// A metadata document for `issuer` whose endpoints live below `base`.
std::string document(const std::string& issuer, const std::string& base) {
  return fmt::format(R"({{"issuer": "{0}", "authorization_endpoint": "{1}/authorize",
                          "token_endpoint": "{1}/token", "revocation_endpoint": "{1}/revoke",
                          "code_challenge_methods_supported": ["S256"]}})",
                     issuer, base);
}

// The server first: destroyed last, after the loop has closed its connections.
class ProfileDiscoveryTest : public ::testing::Test {
 protected:
  ProfileDiscoveryTest() { server_.start(); }

  OAuthProfile& profile(std::string issuer, std::string name = "global.acme") {
    auto p = std::make_unique<OAuthProfile>();
    p->full_name = std::move(name);
    p->issuer = std::move(issuer);
    p->client_id = "client";
    profiles_.push_back(std::move(p));
    return *profiles_.back();
  }

  // Serves a matching document for `issuer` at `path`.
  void serve(const std::string& path, const std::string& issuer,
             std::chrono::milliseconds delay = 0ms) {
    std::string body = document(issuer, server_.origin());
    server_.on("GET", path, [body, delay](const ReceivedRequest&) { return json(body, delay); });
  }

  Result<OAuthEndpoints> endpoints(const OAuthProfile& p) {
    std::optional<Result<OAuthEndpoints>> out;
    spawn<Result<OAuthEndpoints>>(discovery_.endpoints(p),
                                  [&](Result<OAuthEndpoints> r) { out.emplace(std::move(r)); });
    if (!out) loop_.run_until([&] { return out.has_value(); });
    return std::move(*out);
  }

  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const ReceivedRequest& r : server_.requests()) out.push_back(r.path);
    return out;
  }

  HttpTestServer server_;
  EventLoop loop_;
  CurlTransport transport_{loop_};
  std::chrono::steady_clock::time_point clock_{std::chrono::hours(1000)};
  ProfileDiscovery discovery_{transport_, [this] { return clock_; }};
  std::vector<std::unique_ptr<OAuthProfile>> profiles_;
};

TEST_F(ProfileDiscoveryTest, MatchingIssuerFillsTheMissingUrlsAndExplicitOnesWin) {
  serve(kRfc8414Path, server_.origin());
  OAuthProfile& p = profile(server_.origin());
  p.token_url = "https://proxy.example/token";
  auto got = endpoints(p);
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->issuer, server_.origin());
  EXPECT_EQ(got->authorization_url, server_.url("/authorize"));
  EXPECT_EQ(got->token_url, "https://proxy.example/token");
  EXPECT_EQ(got->revocation_url, server_.url("/revoke"));

  ASSERT_EQ(server_.request_count(), 1u);
  ReceivedRequest request = server_.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, kRfc8414Path);
  ASSERT_NE(request.header("accept"), nullptr);
  EXPECT_EQ(*request.header("accept"), "application/json");
  EXPECT_EQ(discovery_.fetches(), 1);
}

TEST_F(ProfileDiscoveryTest, MismatchingIssuerIsRejectedAndDoesNotFallThroughToOpenId) {
  serve(kRfc8414Path, "https://evil.example");
  serve(kOpenIdPath, server_.origin());  // would match, but must never be asked
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_EQ(got.status().message(),
            fmt::format(
                "discovery for OAuth profile 'global.acme' failed: the metadata at {} names issuer "
                "'https://evil.example', but the profile's issuer is '{}'; they must match "
                "exactly, character for character (RFC 8414 §3.3). Set the profile's `issuer:` to "
                "the server's issuer if that is the right server",
                server_.url(kRfc8414Path), server_.origin()));
  EXPECT_EQ(paths(), std::vector<std::string>{kRfc8414Path});
}

TEST_F(ProfileDiscoveryTest, IssuerIsCheckedEvenWhenEveryUrlIsExplicit) {
  serve(kRfc8414Path, server_.origin() + "/");
  OAuthProfile& p = profile(server_.origin());
  p.authorization_url = "https://as.example/authorize";
  p.token_url = "https://as.example/token";
  p.revocation_url = "https://as.example/revoke";
  auto got = endpoints(p);
  ASSERT_FALSE(got.ok());
  EXPECT_TRUE(contains(got.status().message(), "must match exactly")) << got.status().message();
}

TEST_F(ProfileDiscoveryTest, NotFoundAtTheRfc8414LocationMovesOnToOpenId) {
  serve(kOpenIdPath, server_.origin());  // the RFC 8414 location is unrouted: 404
  auto got = endpoints(profile(server_.origin()));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->token_url, server_.url("/token"));
  EXPECT_EQ(paths(), (std::vector<std::string>{kRfc8414Path, kOpenIdPath}));
  EXPECT_EQ(discovery_.fetches(), 2);
}

TEST_F(ProfileDiscoveryTest, OtherClientErrorsThatMeanNoDocumentAlsoMoveOn) {
  for (int status : {400, 405, 410}) {
    const std::string tenant = fmt::format("/s{}", status);
    const std::string issuer = server_.origin() + tenant;
    server_.on("GET", kRfc8414Path + tenant,
               [status](const ReceivedRequest&) { return CannedResponse{.status = status}; });
    serve(tenant + kOpenIdPath, issuer);
    auto got = endpoints(profile(issuer));
    EXPECT_TRUE(got.ok()) << status << ": " << got.status().message();
  }
  EXPECT_EQ(server_.request_count(), 6u);
}

TEST_F(ProfileDiscoveryTest, IssuerWithAPathUsesBothPathForms) {
  const std::string issuer = server_.origin() + "/tenant1";
  serve(std::string(kRfc8414Path) + "/tenant1", issuer);
  auto got = endpoints(profile(issuer));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->issuer, issuer);
  EXPECT_EQ(got->authorization_url, server_.url("/authorize"));

  // With a trailing slash: same locations, and the document repeats the slash.
  const std::string slashed = server_.origin() + "/tenant2/";
  serve("/tenant2" + std::string(kOpenIdPath), slashed);
  auto other = endpoints(profile(slashed));
  ASSERT_TRUE(other.ok()) << other.status().message();
  EXPECT_EQ(other->issuer, slashed);
  EXPECT_EQ(paths(), (std::vector<std::string>{std::string(kRfc8414Path) + "/tenant1",
                                               std::string(kRfc8414Path) + "/tenant2",
                                               "/tenant2" + std::string(kOpenIdPath)}));
}

TEST_F(ProfileDiscoveryTest, ServerErrorIsUnavailableAndDoesNotFallThrough) {
  server_.on("GET", kRfc8414Path,
             [](const ReceivedRequest&) { return CannedResponse{.status = 503}; });
  serve(kOpenIdPath, server_.origin());
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_unavailable");
  EXPECT_TRUE(contains(got.status().message(),
                       server_.url(kRfc8414Path) + " could not be fetched: HTTP 503"))
      << got.status().message();
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(ProfileDiscoveryTest, UnreachableServerIsUnavailable) {
  std::string closed;
  {
    HttpTestServer gone;
    gone.start();
    closed = gone.origin();
  }
  auto got = endpoints(profile(closed));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_unavailable");
  EXPECT_TRUE(contains(got.status().message(), closed + kRfc8414Path)) << got.status().message();
}

TEST_F(ProfileDiscoveryTest, GarbageJsonIsAnErrorNamingTheUrlsAsked) {
  server_.on("GET", kRfc8414Path, [](const ReceivedRequest&) { return json("{\"issuer\": "); });
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_TRUE(
      contains(got.status().message(),
               server_.url(kRfc8414Path) + " (HTTP 200, but the body is not JSON (invalid JSON"))
      << got.status().message();
  EXPECT_TRUE(contains(got.status().message(), server_.url(kOpenIdPath) + " (HTTP 404)"))
      << got.status().message();
}

TEST_F(ProfileDiscoveryTest, ACatchAllPageAtTheFirstLocationIsNotADocument) {
  server_.on("GET", kRfc8414Path, [](const ReceivedRequest&) {
    return CannedResponse{
        .status = 200, .body = "<html>Welcome</html>", .content_type = "text/html"};
  });
  serve(kOpenIdPath, server_.origin());
  auto got = endpoints(profile(server_.origin()));
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(got->token_url, server_.url("/token"));
}

TEST_F(ProfileDiscoveryTest, NoMetadataAnywhereNamesTheUrlsTried) {
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_EQ(got.status().message(),
            fmt::format(
                "discovery for OAuth profile 'global.acme' failed: no metadata for issuer '{}' at "
                "{} (HTTP 404), {} (HTTP 404); check the issuer, or give the profile's "
                "authorization_url and token_url explicitly",
                server_.origin(), server_.url(kRfc8414Path), server_.url(kOpenIdPath)));
}

TEST_F(ProfileDiscoveryTest, RedirectsAreNotFollowed) {
  server_.on("GET", kRfc8414Path, [this](const ReceivedRequest&) {
    return CannedResponse{.status = 302, .headers = {{"Location", server_.url("/elsewhere")}}};
  });
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_TRUE(contains(got.status().message(), "answered HTTP 302; redirects are not followed"))
      << got.status().message();
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(ProfileDiscoveryTest, AnOversizeDocumentIsRefused) {
  server_.on("GET", kRfc8414Path,
             [](const ReceivedRequest&) { return json(std::string(2 << 20, ' ') + "{}"); });
  auto got = endpoints(profile(server_.origin()));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_TRUE(contains(got.status().message(), "is larger than 1048576 bytes"))
      << got.status().message();
}

TEST_F(ProfileDiscoveryTest, ABadIssuerSendsNothing) {
  auto got = endpoints(profile(server_.origin() + "/?tenant=1"));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");
  EXPECT_TRUE(contains(got.status().message(), "it has a query")) << got.status().message();
  EXPECT_EQ(discovery_.fetches(), 0);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(ProfileDiscoveryTest, WithoutAnIssuerTheProfilesOwnUrlsAreUsedAndNothingIsSent) {
  OAuthProfile& p = profile("");
  p.authorization_url = "https://as.example/authorize";
  p.token_url = "https://as.example/token";
  auto got = endpoints(p);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->issuer, "");
  EXPECT_EQ(got->authorization_url, "https://as.example/authorize");
  EXPECT_EQ(got->token_url, "https://as.example/token");
  EXPECT_EQ(got->revocation_url, "");
  EXPECT_EQ(discovery_.fetches(), 0);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(ProfileDiscoveryTest, ASuccessIsCachedPerIssuerForTheTtl) {
  serve(kRfc8414Path, server_.origin());
  OAuthProfile& first = profile(server_.origin(), "global.first");
  OAuthProfile& second = profile(server_.origin(), "global.second");
  second.token_url = "https://proxy.example/token";
  ASSERT_TRUE(endpoints(first).ok());
  auto again = endpoints(second);  // another profile, same issuer: same metadata
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->token_url, "https://proxy.example/token");
  EXPECT_EQ(again->authorization_url, server_.url("/authorize"));
  EXPECT_EQ(discovery_.fetches(), 1);

  clock_ += kDiscoveryTtl - 1s;
  ASSERT_TRUE(endpoints(first).ok());
  EXPECT_EQ(discovery_.fetches(), 1);
  clock_ += 2s;
  ASSERT_TRUE(endpoints(first).ok());
  EXPECT_EQ(discovery_.fetches(), 2);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(ProfileDiscoveryTest, ATransientFailureIsNotCached) {
  server_.on("GET", kRfc8414Path,
             [](const ReceivedRequest&) { return CannedResponse{.status = 500}; });
  OAuthProfile& p = profile(server_.origin());
  auto got = endpoints(p);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_unavailable");

  serve(kRfc8414Path, server_.origin());  // the server recovers: the next call asks again
  auto retried = endpoints(p);
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  EXPECT_EQ(discovery_.fetches(), 2);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(ProfileDiscoveryTest, ADefiniteFailureIsCachedForTheFailureTtlThenRetried) {
  serve(kRfc8414Path, "https://someone-else.example");  // issuer mismatch
  OAuthProfile& p = profile(server_.origin());
  auto got = endpoints(p);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), "discovery_error");

  serve(kRfc8414Path, server_.origin());  // the server is fixed
  clock_ += kDiscoveryFailureTtl - 1s;
  auto cached = endpoints(p);
  ASSERT_FALSE(cached.ok());
  EXPECT_EQ(cached.status().code(), "discovery_error");
  EXPECT_EQ(discovery_.fetches(), 1);

  clock_ += 2s;
  auto retried = endpoints(p);
  ASSERT_TRUE(retried.ok()) << retried.status().message();
  EXPECT_EQ(discovery_.fetches(), 2);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(ProfileDiscoveryTest, ConcurrentCallersShareOneFetchPerIssuer) {
  const std::string other = server_.origin() + "/other";
  serve(kRfc8414Path, server_.origin(), 100ms);
  serve(std::string(kRfc8414Path) + "/other", other, 100ms);
  constexpr int kCallers = 6;
  std::vector<std::optional<Result<OAuthEndpoints>>> results(kCallers);
  for (int i = 0; i < kCallers; ++i) {
    OAuthProfile& p = profile(i % 3 == 2 ? other : server_.origin(), fmt::format("global.p{}", i));
    spawn<Result<OAuthEndpoints>>(discovery_.endpoints(p), [&results, i](Result<OAuthEndpoints> r) {
      results[i].emplace(std::move(r));
    });
  }
  EXPECT_EQ(discovery_.fetches(), 2);  // both sent before the loop runs
  loop_.run_until([&] {
    for (const auto& r : results)
      if (!r) return false;
    return true;
  });
  for (int i = 0; i < kCallers; ++i) {
    ASSERT_TRUE(results[i]->ok()) << i << ": " << results[i]->status().message();
    EXPECT_EQ((*results[i])->issuer, i % 3 == 2 ? other : server_.origin());
  }
  EXPECT_EQ(discovery_.fetches(), 2);
  EXPECT_EQ(server_.request_count(), 2u);
}

TEST_F(ProfileDiscoveryTest, ConcurrentCallersShareAFailureToo) {
  server_.on("GET", kRfc8414Path,
             [](const ReceivedRequest&) { return CannedResponse{.status = 502, .delay = 50ms}; });
  constexpr int kCallers = 4;
  std::vector<std::optional<Result<OAuthEndpoints>>> results(kCallers);
  for (int i = 0; i < kCallers; ++i)
    spawn<Result<OAuthEndpoints>>(
        discovery_.endpoints(profile(server_.origin())),
        [&results, i](Result<OAuthEndpoints> r) { results[i].emplace(std::move(r)); });
  loop_.run_until([&] {
    for (const auto& r : results)
      if (!r) return false;
    return true;
  });
  for (const auto& r : results) {
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status().code(), "discovery_unavailable");
  }
  EXPECT_EQ(server_.request_count(), 1u);
}

// A caller resumed with the shared result may call straight back in; it finds
// the result cached, not a flight that has already landed.
TEST_F(ProfileDiscoveryTest, AResumedCallerMayCallBackIn) {
  serve(kRfc8414Path, server_.origin(), 50ms);
  OAuthProfile& p = profile(server_.origin());
  std::optional<Result<OAuthEndpoints>> first, waiter, nested;
  spawn<Result<OAuthEndpoints>>(discovery_.endpoints(p),
                                [&](Result<OAuthEndpoints> r) { first.emplace(std::move(r)); });
  spawn<Result<OAuthEndpoints>>(discovery_.endpoints(p), [&](Result<OAuthEndpoints> r) {
    waiter.emplace(std::move(r));
    spawn<Result<OAuthEndpoints>>(
        discovery_.endpoints(p), [&](Result<OAuthEndpoints> r2) { nested.emplace(std::move(r2)); });
    EXPECT_TRUE(nested.has_value()) << "a cache hit completes without waiting";
  });
  loop_.run_until([&] { return first && waiter && nested; });
  EXPECT_TRUE(first->ok());
  EXPECT_TRUE(waiter->ok());
  EXPECT_TRUE(nested->ok());
  EXPECT_EQ(discovery_.fetches(), 1);
}

// The waiters are resumed from inside the fetching caller's frame; one of
// them may even destroy the ProfileDiscovery, and the rest must still finish.
TEST_F(ProfileDiscoveryTest, AResumedCallerMayDestroyTheDiscovery) {
  serve(kRfc8414Path, server_.origin(), 50ms);
  OAuthProfile& p = profile(server_.origin());
  auto discovery = std::make_unique<ProfileDiscovery>(transport_);
  std::vector<std::optional<Result<OAuthEndpoints>>> results(3);
  for (int i = 0; i < 3; ++i)
    spawn<Result<OAuthEndpoints>>(discovery->endpoints(p), [&, i](Result<OAuthEndpoints> r) {
      results[i].emplace(std::move(r));
      if (i == 1) discovery.reset();
    });
  loop_.run_until([&] {
    for (const auto& r : results)
      if (!r) return false;
    return true;
  });
  EXPECT_EQ(discovery, nullptr);
  for (const auto& r : results) EXPECT_TRUE(r->ok());
  EXPECT_EQ(server_.request_count(), 1u);
}

}  // namespace
}  // namespace flowline
