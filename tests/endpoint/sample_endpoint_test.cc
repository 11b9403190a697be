// Tests of the sample endpoint (samples/endpoint/): the OAuth 2.0 authorization server, the
// incident API and the control API, served in-process on a free loopback port and driven with
// httplib::Client as both the "browser" and the OAuth client.
#include "samples/endpoint/sample_endpoint.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "samples/endpoint/client_registry.h"
#include "samples/endpoint/control_api.h"
#include "samples/endpoint/crypto.h"
#include "samples/endpoint/token_store.h"
#include "samples/endpoint/url_codec.h"

extern char** environ;

namespace flowline::sample {
namespace {

using std::chrono::milliseconds;

constexpr char kClientId[] = "flow-basic";
constexpr char kSecret[] = "test-secret";
// A second client whose id and secret need form-encoding inside HTTP Basic (RFC 6749 §2.3.1).
constexpr char kOddClientId[] = "odd client:1";
constexpr char kOddSecret[] = "p@ss:w+rd/ü %";
constexpr char kNoPkceClientId[] = "legacy";
constexpr char kRedirect[] = "http://127.0.0.1:53100/callback";

rapidjson::Document ParseJson(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

// The query of a URL as name -> value.
std::map<std::string, std::string> QueryOf(const std::string& url) {
  size_t question = url.find('?');
  if (question == std::string::npos) return {};
  return ParseForm(url.substr(question + 1)).fields;
}

std::string FormBody(const std::map<std::string, std::string>& fields) {
  std::string body;
  for (const auto& [name, value] : fields) {
    if (!body.empty()) body += "&";
    body += PercentEncode(name) + "=" + PercentEncode(value);
  }
  return body;
}

std::string BasicAuthorization(const std::string& id, const std::string& secret) {
  return "Basic " + Base64Encode(PercentEncode(id) + ":" + PercentEncode(secret));
}

// The Location header of GET `path`, exactly as the server sent it, read over a plain socket.
std::string RawLocationHeader(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (fd >= 0) ::close(fd);
    return "connect failed";
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string reply;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) reply.append(buffer, n);
  ::close(fd);
  size_t start = reply.find("\r\nLocation: ");
  if (start == std::string::npos) return "no Location in: " + reply;
  start += 12;
  return reply.substr(start, reply.find("\r\n", start) - start);
}

struct Pkce {
  std::string verifier = RandomOpaqueValue();
  std::string challenge = S256Challenge(verifier);
};

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;
  std::string scope;
};

// How a token request authenticates the client.
enum class ClientAuth { kBasic, kBody, kNone };

EndpointOptions TestOptions() {
  EndpointOptions options;
  options.clients = {
      OAuthClient{kClientId, kSecret, {}, false},
      OAuthClient{kOddClientId, kOddSecret, {}, false},
      OAuthClient{kNoPkceClientId, kSecret, {"https://app.example/cb"}, true},
  };
  options.threads = 16;
  return options;
}

class SampleEndpointTest : public ::testing::Test {
 protected:
  void SetUp() override { StartWith(TestOptions()); }
  void TearDown() override {
    client_.reset();
    if (endpoint_) endpoint_->Stop();
  }

  void StartWith(EndpointOptions options) {
    client_.reset();
    endpoint_.reset();
    options.log = [this](std::string_view line) {
      std::lock_guard lock(log_mu_);
      log_.emplace_back(line);
    };
    endpoint_ = std::make_unique<SampleEndpoint>(std::move(options));
    std::string error;
    ASSERT_TRUE(endpoint_->Start(&error)) << error;
    client_ = std::make_unique<httplib::Client>(endpoint_->origin());
    // Paths are built already percent-encoded; httplib's own pass would decode "%26" into a
    // query separator.
    client_->set_url_encode(false);
  }

  httplib::Client& client() { return *client_; }

  // GET /oauth/authorize as a scripted browser; returns the response.
  httplib::Result Authorize(std::map<std::string, std::string> params,
                            httplib::Headers headers = {}) {
    std::string path = "/oauth/authorize";
    for (const auto& [name, value] : params) AppendQueryParameter(path, name, value);
    return client().Get(path.c_str(), headers);
  }

  std::map<std::string, std::string> AuthorizeParams(const std::string& user, const Pkce& pkce,
                                                     const std::string& state = "st-123") {
    return {{"response_type", "code"},
            {"client_id", kClientId},
            {"redirect_uri", kRedirect},
            {"scope", "openid offline_access incidents.read"},
            {"state", state},
            {"code_challenge", pkce.challenge},
            {"code_challenge_method", "S256"},
            {"login_hint", user}};
  }

  // The code from an approved authorization for `user`.
  std::string CodeFor(const std::string& user, const Pkce& pkce) {
    auto response = Authorize(AuthorizeParams(user, pkce));
    EXPECT_TRUE(response);
    if (!response) return "";
    EXPECT_EQ(response->status, 302) << response->body;
    return QueryOf(response->get_header_value("Location"))["code"];
  }

  httplib::Result TokenRequest(std::map<std::string, std::string> fields,
                               ClientAuth auth = ClientAuth::kBasic,
                               const std::string& id = kClientId,
                               const std::string& secret = kSecret) {
    httplib::Headers headers;
    if (auth == ClientAuth::kBasic)
      headers.emplace("Authorization", BasicAuthorization(id, secret));
    if (auth == ClientAuth::kBody) {
      fields["client_id"] = id;
      fields["client_secret"] = secret;
    }
    return client().Post("/oauth/token", headers, FormBody(fields),
                         "application/x-www-form-urlencoded");
  }

  static Tokens TokensFrom(const httplib::Result& response) {
    EXPECT_TRUE(response);
    if (!response) return {};
    EXPECT_EQ(response->status, 200) << response->body;
    auto json = ParseJson(response->body);
    Tokens tokens;
    if (!json.IsObject() || !json.HasMember("access_token")) return tokens;
    tokens.access_token = json["access_token"].GetString();
    if (json.HasMember("refresh_token")) tokens.refresh_token = json["refresh_token"].GetString();
    tokens.expires_in = json["expires_in"].GetInt64();
    tokens.scope = json["scope"].GetString();
    return tokens;
  }

  httplib::Result ExchangeCode(const std::string& code, const Pkce& pkce,
                               const std::string& redirect_uri = kRedirect) {
    return TokenRequest({{"grant_type", "authorization_code"},
                         {"code", code},
                         {"redirect_uri", redirect_uri},
                         {"code_verifier", pkce.verifier}});
  }

  // The whole authorization code flow with PKCE for `user`.
  Tokens LoginAs(const std::string& user) {
    Pkce pkce;
    return TokensFrom(ExchangeCode(CodeFor(user, pkce), pkce));
  }

  httplib::Result Refresh(const std::string& refresh_token) {
    return TokenRequest({{"grant_type", "refresh_token"}, {"refresh_token", refresh_token}});
  }

  httplib::Result ApiGet(const std::string& path, const std::string& access_token) {
    httplib::Headers headers;
    if (!access_token.empty()) headers.emplace("Authorization", "Bearer " + access_token);
    return client().Get(path.c_str(), headers);
  }

  // The numbers of the incidents `access_token` lists, or the HTTP status when not 200.
  std::vector<std::string> IncidentNumbers(const std::string& access_token,
                                           const std::string& query = "") {
    auto response = ApiGet("/api/now/table/incident" + query, access_token);
    EXPECT_TRUE(response);
    if (!response) return {"no response"};
    if (response->status != 200) return {"HTTP " + std::to_string(response->status)};
    std::vector<std::string> numbers;
    auto json = ParseJson(response->body);
    for (const auto& incident : json["result"].GetArray()) {
      numbers.emplace_back(incident["number"].GetString());
    }
    return numbers;
  }

  int ApiStatus(const std::string& access_token) {
    auto response = ApiGet("/api/now/table/incident", access_token);
    return response ? response->status : -1;
  }

  httplib::Result Control(const std::string& path_and_query) {
    return client().Post(path_and_query.c_str());
  }

  rapidjson::Document Stats() {
    auto response = client().Get("/control/stats");
    EXPECT_TRUE(response && response->status == 200);
    return ParseJson(response ? response->body : "{}");
  }

  int64_t Stat(const char* name) {
    auto stats = Stats();
    const rapidjson::Value* value = &stats;
    std::string_view path = name;
    while (true) {
      size_t dot = path.find('.');
      std::string key(path.substr(0, dot));
      if (!value->IsObject() || !value->HasMember(key.c_str())) return -1;
      value = &(*value)[key.c_str()];
      if (dot == std::string_view::npos) break;
      path = path.substr(dot + 1);
    }
    return value->GetInt64();
  }

  // The log lines so far, once there are at least `expected`: httplib logs a request after
  // sending its response, so the last line may trail the client by a moment.
  std::vector<std::string> LogLines(size_t expected) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (true) {
      {
        std::lock_guard lock(log_mu_);
        if (log_.size() >= expected || std::chrono::steady_clock::now() > deadline) return log_;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }

  std::unique_ptr<SampleEndpoint> endpoint_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

// ---------------------------------------------------------------------------------------------
// Building blocks

TEST(SampleEndpointCrypto, S256MatchesRfc7636AppendixB) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_EQ(S256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(SampleEndpointCrypto, OpaqueValuesAre32RandomBytesInBase64Url) {
  ASSERT_TRUE(InitCrypto());
  std::string a = RandomOpaqueValue();
  EXPECT_EQ(a.size(), 43u);
  EXPECT_EQ(a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
  EXPECT_NE(a, RandomOpaqueValue());
}

TEST(SampleEndpointCodec, FormDecodingAndDuplicateParameters) {
  EXPECT_EQ(FormUrlDecode("a+b%2Fc%3a"), "a b/c:");
  EXPECT_EQ(FormUrlDecode("bad%2"), std::nullopt);
  EXPECT_EQ(FormUrlDecode("bad%zz"), std::nullopt);
  EXPECT_EQ(PercentEncode("a b/ü~"), "a%20b%2F%C3%BC~");
  ParsedForm form = ParseForm("grant_type=x&code=1&code=2");
  EXPECT_FALSE(form.ok());
  EXPECT_NE(form.error.find("'code'"), std::string::npos) << form.error;
  EXPECT_EQ(ParseForm("a=1&&b=").fields,
            (std::map<std::string, std::string>{{"a", "1"}, {"b", ""}}));
}

TEST(SampleEndpointRedirects, LoopbackUrisMatchOnAnyPort) {
  EXPECT_EQ(LoopbackUriWithoutPort("http://127.0.0.1:5000/cb?x=1"), "http://127.0.0.1/cb?x=1");
  EXPECT_EQ(LoopbackUriWithoutPort("http://127.0.0.1/cb"), "http://127.0.0.1/cb");
  EXPECT_EQ(LoopbackUriWithoutPort("http://[::1]:80/cb"), "http://[::1]/cb");
  for (const char* rejected :
       {"https://127.0.0.1/cb", "http://localhost:5000/cb", "http://127.0.0.1.evil.example/cb",
        "http://evil@127.0.0.1/cb", "http://127.0.0.1:99999/cb", "http://127.0.0.1:5000/cb#f",
        "http://127.0.0.1:/cb", "http://10.0.0.1/cb", "http://127.0.0.1/c\\b"}) {
    EXPECT_EQ(LoopbackUriWithoutPort(rejected), std::nullopt) << rejected;
  }
  ClientRegistry registry({OAuthClient{"any", "s", {}, false},
                           OAuthClient{"fixed", "s", {"http://127.0.0.1/cb", "app:/x"}, false}});
  EXPECT_TRUE(registry.AcceptsRedirect(*registry.Find("any"), "http://127.0.0.1:1234/whatever"));
  EXPECT_TRUE(registry.AcceptsRedirect(*registry.Find("fixed"), "http://127.0.0.1:4321/cb"));
  EXPECT_TRUE(registry.AcceptsRedirect(*registry.Find("fixed"), "app:/x"));
  EXPECT_FALSE(registry.AcceptsRedirect(*registry.Find("fixed"), "http://127.0.0.1:4321/other"));
}

TEST(SampleEndpointControl, LoopbackAddresses) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackAddress("127.10.0.3"));
  EXPECT_TRUE(IsLoopbackAddress("::1"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("::ffff:10.0.0.1"));
}

TEST(SampleEndpointStart, RefusesNonLoopbackHosts) {
  EndpointOptions options;
  options.host = "0.0.0.0";
  SampleEndpoint endpoint(options);
  std::string error;
  EXPECT_FALSE(endpoint.Start(&error));
  EXPECT_NE(error.find("loopback"), std::string::npos) << error;
}

// ---------------------------------------------------------------------------------------------
// Authorization endpoint

TEST_F(SampleEndpointTest, MetadataDocumentsDescribeTheServer) {
  for (const char* path :
       {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}) {
    auto response = client().Get(path);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 200);
    auto json = ParseJson(response->body);
    std::string issuer = endpoint_->origin();
    EXPECT_EQ(json["issuer"].GetString(), issuer) << path;
    EXPECT_EQ(json["authorization_endpoint"].GetString(), issuer + "/oauth/authorize");
    EXPECT_EQ(json["token_endpoint"].GetString(), issuer + "/oauth/token");
    EXPECT_EQ(json["revocation_endpoint"].GetString(), issuer + "/oauth/revoke");
    ASSERT_EQ(json["code_challenge_methods_supported"].Size(), 1u);
    EXPECT_STREQ(json["code_challenge_methods_supported"][0].GetString(), "S256");
    EXPECT_TRUE(json["authorization_response_iss_parameter_supported"].GetBool());
    std::vector<std::string> grants;
    for (const auto& grant : json["grant_types_supported"].GetArray()) {
      grants.emplace_back(grant.GetString());
    }
    EXPECT_EQ(grants, (std::vector<std::string>{"authorization_code", "refresh_token",
                                                "client_credentials"}));
  }
}

TEST_F(SampleEndpointTest, ApprovalRedirectsWithCodeStateAndIssuer) {
  Pkce pkce;
  std::string path = "/oauth/authorize";
  for (const auto& [name, value] : AuthorizeParams("alice", pkce, "state with spaces&symbols")) {
    AppendQueryParameter(path, name, value);
  }
  // httplib::Client percent-decodes Location headers, which would turn an encoded "&" in the
  // state into a separator; read the header as sent.
  std::string location = RawLocationHeader(endpoint_->port(), path);
  EXPECT_EQ(location.rfind(std::string(kRedirect) + "?", 0), 0u) << location;
  auto query = QueryOf(location);
  EXPECT_EQ(query["code"].size(), 43u);
  EXPECT_EQ(query["state"], "state with spaces&symbols");
  EXPECT_EQ(query["iss"], endpoint_->origin());
}

TEST_F(SampleEndpointTest, UserMayComeFromAHeaderAndAnyLoopbackPort) {
  Pkce pkce;
  auto params = AuthorizeParams("", pkce);
  params.erase("login_hint");
  params["redirect_uri"] = "http://[::1]:61000/cb";
  auto response = Authorize(params, {{"X-Sample-User", "bob"}});
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 302) << response->body;
  std::string code = QueryOf(response->get_header_value("Location"))["code"];
  Tokens tokens = TokensFrom(ExchangeCode(code, pkce, "http://[::1]:61000/cb"));
  EXPECT_EQ(IncidentNumbers(tokens.access_token),
            (std::vector<std::string>{"INC0020001", "INC0020002"}));
}

TEST_F(SampleEndpointTest, DenialRedirectsAccessDenied) {
  Pkce pkce;
  auto params = AuthorizeParams("alice", pkce);
  params["consent"] = "deny";
  auto response = Authorize(params);
  ASSERT_TRUE(response);
  ASSERT_EQ(response->status, 302);
  auto query = QueryOf(response->get_header_value("Location"));
  EXPECT_EQ(query["error"], "access_denied");
  EXPECT_EQ(query["state"], "st-123");
  EXPECT_EQ(query["iss"], endpoint_->origin());
  EXPECT_FALSE(query.count("code"));
}

TEST_F(SampleEndpointTest, UnknownUserGetsA403PageAndNoUserAConsentForm) {
  Pkce pkce;
  auto unknown = Authorize(AuthorizeParams("mallory", pkce));
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 403);
  EXPECT_FALSE(unknown->has_header("Location"));
  EXPECT_NE(unknown->get_header_value("Content-Type").find("text/html"), std::string::npos);

  auto params = AuthorizeParams("", pkce);
  params.erase("login_hint");
  auto form = Authorize(params);
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 200);
  EXPECT_NE(form->body.find("<form"), std::string::npos);
  EXPECT_NE(form->body.find("value=\"approve\""), std::string::npos);
  EXPECT_NE(form->body.find("<option>carol</option>"), std::string::npos);
}

TEST_F(SampleEndpointTest, BadClientOrRedirectUriIsShownNotRedirected) {
  Pkce pkce;
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"client_id", "nobody"},
           {"redirect_uri", "http://evil.example/cb"},
           {"redirect_uri", "http://localhost:5000/cb"},
           {"redirect_uri", "http://127.0.0.1@evil.example/cb"},
           {"redirect_uri", ""}}) {
    auto params = AuthorizeParams("alice", pkce);
    params[name] = value;
    auto response = Authorize(params);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << name << "=" << value;
    EXPECT_FALSE(response->has_header("Location")) << name << "=" << value;
  }
}

TEST_F(SampleEndpointTest, AuthorizationErrorsAreRedirectedToTheClient) {
  Pkce pkce;
  struct Case {
    std::string name, value, error;
  };
  for (const Case& c : std::vector<Case>{{"response_type", "token", "unsupported_response_type"},
                                         {"code_challenge", "", "invalid_request"},
                                         {"code_challenge_method", "plain", "invalid_request"},
                                         {"code_challenge", "short", "invalid_request"},
                                         {"scope", "incidents.read admin", "invalid_scope"},
                                         {"consent", "maybe", "invalid_request"}}) {
    auto params = AuthorizeParams("alice", pkce);
    params[c.name] = c.value;
    auto response = Authorize(params);
    ASSERT_TRUE(response);
    ASSERT_EQ(response->status, 302) << c.name;
    auto query = QueryOf(response->get_header_value("Location"));
    EXPECT_EQ(query["error"], c.error) << c.name << "=" << c.value;
    EXPECT_FALSE(query["error_description"].empty());
    EXPECT_EQ(query["state"], "st-123");
    EXPECT_EQ(query["iss"], endpoint_->origin());
  }
}

// ---------------------------------------------------------------------------------------------
// Authorization code exchange

TEST_F(SampleEndpointTest, EachUserSeesOnlyTheirOwnIncidents) {
  Tokens alice = LoginAs("alice");
  Tokens bob = LoginAs("bob");
  Tokens carol = LoginAs("carol");
  EXPECT_EQ(alice.scope, "openid offline_access incidents.read");
  EXPECT_EQ(alice.expires_in, 3600);
  EXPECT_FALSE(alice.refresh_token.empty());
  EXPECT_NE(alice.access_token, bob.access_token);

  EXPECT_EQ(IncidentNumbers(alice.access_token),
            (std::vector<std::string>{"INC0010001", "INC0010002", "INC0010003"}));
  EXPECT_EQ(IncidentNumbers(bob.access_token),
            (std::vector<std::string>{"INC0020001", "INC0020002"}));
  EXPECT_EQ(IncidentNumbers(carol.access_token), std::vector<std::string>{});
  EXPECT_EQ(IncidentNumbers(alice.access_token, "?sysparm_limit=2"),
            (std::vector<std::string>{"INC0010001", "INC0010002"}));
  EXPECT_EQ(IncidentNumbers(alice.access_token, "?sysparm_limit=abc"),
            std::vector<std::string>{"HTTP 400"});

  auto response = ApiGet("/api/now/table/incident?sysparm_limit=1", bob.access_token);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_header_value("X-Total-Count"), "2");
  auto json = ParseJson(response->body);
  EXPECT_STREQ(json["result"][0]["caller_id"].GetString(), "bob");
  EXPECT_STREQ(json["result"][0]["state"].GetString(), "New");
  EXPECT_TRUE(json["result"][0].HasMember("short_description"));

  EXPECT_EQ(Stat("api_requests_by_user.alice"), 3);
  EXPECT_EQ(Stat("api_requests_by_user.bob"), 2);
}

TEST_F(SampleEndpointTest, TokenResponsesAreNotCached) {
  Pkce pkce;
  auto response = ExchangeCode(CodeFor("alice", pkce), pkce);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->get_header_value("Cache-Control"), "no-store");
  auto json = ParseJson(response->body);
  EXPECT_STREQ(json["token_type"].GetString(), "Bearer");
}

TEST_F(SampleEndpointTest, WrongOrMissingCodeVerifierIsInvalidGrant) {
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  Pkce other;
  auto wrong = ExchangeCode(code, other);
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 400);
  EXPECT_STREQ(ParseJson(wrong->body)["error"].GetString(), "invalid_grant");

  auto missing = TokenRequest(
      {{"grant_type", "authorization_code"}, {"code", code}, {"redirect_uri", kRedirect}});
  ASSERT_TRUE(missing);
  EXPECT_STREQ(ParseJson(missing->body)["error"].GetString(), "invalid_grant");

  // A refused exchange does not spend the code: the right verifier still works.
  TokensFrom(ExchangeCode(code, pkce));
}

TEST_F(SampleEndpointTest, RedirectUriMustMatchTheAuthorizationRequest) {
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  for (const char* redirect :
       {"http://127.0.0.1:53101/callback", "http://127.0.0.1:53100/other", ""}) {
    auto response = ExchangeCode(code, pkce, redirect);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << redirect;
    EXPECT_STREQ(ParseJson(response->body)["error"].GetString(), "invalid_grant") << redirect;
  }
}

TEST_F(SampleEndpointTest, ReplayedCodeIsInvalidGrantAndRevokesItsTokens) {
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  Tokens first = TokensFrom(ExchangeCode(code, pkce));
  EXPECT_EQ(ApiStatus(first.access_token), 200);

  auto replay = ExchangeCode(code, pkce);
  ASSERT_TRUE(replay);
  EXPECT_EQ(replay->status, 400);
  EXPECT_STREQ(ParseJson(replay->body)["error"].GetString(), "invalid_grant");

  auto api = ApiGet("/api/now/table/incident", first.access_token);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_NE(api->get_header_value("WWW-Authenticate").find("error=\"invalid_token\""),
            std::string::npos);
  auto refresh = Refresh(first.refresh_token);
  ASSERT_TRUE(refresh);
  EXPECT_STREQ(ParseJson(refresh->body)["error"].GetString(), "invalid_grant");
  EXPECT_EQ(Stat("code_replays"), 1);
  EXPECT_EQ(Stat("revoked_grants"), 1);
}

TEST_F(SampleEndpointTest, CodesExpire) {
  EndpointOptions options = TestOptions();
  options.code_lifetime = milliseconds(150);
  StartWith(options);
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  std::this_thread::sleep_for(milliseconds(250));
  auto response = ExchangeCode(code, pkce);
  ASSERT_TRUE(response);
  EXPECT_STREQ(ParseJson(response->body)["error"].GetString(), "invalid_grant");
}

TEST_F(SampleEndpointTest, ClientWithoutPkceMayOmitItButNotSendAStrayVerifier) {
  auto authorize = [&] {
    auto response = Authorize({{"response_type", "code"},
                               {"client_id", kNoPkceClientId},
                               {"redirect_uri", "https://app.example/cb"},
                               {"login_hint", "alice"}});
    EXPECT_TRUE(response && response->status == 302);
    return QueryOf(response->get_header_value("Location"))["code"];
  };
  auto stray = TokenRequest({{"grant_type", "authorization_code"},
                             {"code", authorize()},
                             {"redirect_uri", "https://app.example/cb"},
                             {"code_verifier", Pkce().verifier}},
                            ClientAuth::kBody, kNoPkceClientId);
  ASSERT_TRUE(stray);
  EXPECT_STREQ(ParseJson(stray->body)["error"].GetString(), "invalid_grant");

  Tokens tokens = TokensFrom(TokenRequest({{"grant_type", "authorization_code"},
                                           {"code", authorize()},
                                           {"redirect_uri", "https://app.example/cb"}},
                                          ClientAuth::kBody, kNoPkceClientId));
  EXPECT_EQ(tokens.scope, "incidents.read");  // the default scope
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);
}

TEST_F(SampleEndpointTest, CodeIssuedToOneClientCannotBeRedeemedByAnother) {
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  auto response = TokenRequest({{"grant_type", "authorization_code"},
                                {"code", code},
                                {"redirect_uri", kRedirect},
                                {"code_verifier", pkce.verifier}},
                               ClientAuth::kBasic, kOddClientId, kOddSecret);
  ASSERT_TRUE(response);
  EXPECT_STREQ(ParseJson(response->body)["error"].GetString(), "invalid_grant");
}

// ---------------------------------------------------------------------------------------------
// Client authentication

TEST_F(SampleEndpointTest, BasicAndBodyClientAuthenticationBothWork) {
  for (ClientAuth auth : {ClientAuth::kBasic, ClientAuth::kBody}) {
    Pkce pkce;
    auto response = TokenRequest({{"grant_type", "authorization_code"},
                                  {"code", CodeFor("alice", pkce)},
                                  {"redirect_uri", kRedirect},
                                  {"code_verifier", pkce.verifier}},
                                 auth);
    EXPECT_EQ(ApiStatus(TokensFrom(response).access_token), 200);
  }
  // The id and secret are form-encoded before base64 (RFC 6749 §2.3.1).
  auto odd = TokenRequest({{"grant_type", "client_credentials"}}, ClientAuth::kBasic, kOddClientId,
                          kOddSecret);
  EXPECT_EQ(ApiStatus(TokensFrom(odd).access_token), 200);
  auto odd_body = TokenRequest({{"grant_type", "client_credentials"}}, ClientAuth::kBody,
                               kOddClientId, kOddSecret);
  EXPECT_EQ(ApiStatus(TokensFrom(odd_body).access_token), 200);
}

TEST_F(SampleEndpointTest, BadClientCredentialsAre401InvalidClient) {
  auto expect_invalid_client = [](const httplib::Result& response, const std::string& what) {
    ASSERT_TRUE(response) << what;
    EXPECT_EQ(response->status, 401) << what;
    EXPECT_EQ(response->get_header_value("WWW-Authenticate"), "Basic realm=\"sample\"") << what;
    EXPECT_STREQ(ParseJson(response->body)["error"].GetString(), "invalid_client") << what;
  };
  std::map<std::string, std::string> grant = {{"grant_type", "client_credentials"}};
  expect_invalid_client(TokenRequest(grant, ClientAuth::kBasic, kClientId, "wrong"), "basic");
  expect_invalid_client(TokenRequest(grant, ClientAuth::kBody, kClientId, "wrong"), "body");
  expect_invalid_client(TokenRequest(grant, ClientAuth::kBasic, "nobody", kSecret), "unknown");
  expect_invalid_client(TokenRequest(grant, ClientAuth::kNone), "none");
  // Without form-encoding, the odd client's secret does not match.
  httplib::Headers raw = {
      {"Authorization",
       "Basic " + Base64Encode(std::string(kOddClientId) + ":" + std::string(kOddSecret))}};
  expect_invalid_client(client().Post("/oauth/token", raw, "grant_type=client_credentials",
                                      "application/x-www-form-urlencoded"),
                        "not form-encoded");
  // Both methods at once.
  httplib::Headers basic = {{"Authorization", BasicAuthorization(kClientId, kSecret)}};
  expect_invalid_client(client().Post("/oauth/token", basic,
                                      FormBody({{"grant_type", "client_credentials"},
                                                {"client_id", kClientId},
                                                {"client_secret", kSecret}}),
                                      "application/x-www-form-urlencoded"),
                        "both");
}

TEST_F(SampleEndpointTest, MalformedTokenRequestsAreInvalidRequest) {
  httplib::Headers basic = {{"Authorization", BasicAuthorization(kClientId, kSecret)}};
  auto error_of = [](const httplib::Result& response) {
    return response ? std::string(ParseJson(response->body)["error"].GetString()) : "none";
  };
  EXPECT_EQ(error_of(client().Post("/oauth/token", basic, "{\"grant_type\":\"client_credentials\"}",
                                   "application/json")),
            "invalid_request");
  EXPECT_EQ(error_of(client().Post("/oauth/token", basic,
                                   "grant_type=client_credentials&grant_type=refresh_token",
                                   "application/x-www-form-urlencoded")),
            "invalid_request");
  EXPECT_EQ(error_of(TokenRequest({{"grant_type", "password"}})), "unsupported_grant_type");
  EXPECT_EQ(error_of(TokenRequest({})), "invalid_request");
  EXPECT_EQ(error_of(TokenRequest({{"grant_type", "refresh_token"}})), "invalid_request");
  EXPECT_EQ(error_of(TokenRequest({{"grant_type", "authorization_code"}})), "invalid_request");
}

// ---------------------------------------------------------------------------------------------
// Refresh tokens

TEST_F(SampleEndpointTest, RefreshRotatesAndReuseRevokesTheGrant) {
  Tokens first = LoginAs("alice");
  Tokens second = TokensFrom(Refresh(first.refresh_token));
  EXPECT_FALSE(second.refresh_token.empty());
  EXPECT_NE(second.refresh_token, first.refresh_token);
  EXPECT_NE(second.access_token, first.access_token);
  EXPECT_EQ(second.scope, first.scope);
  EXPECT_EQ(ApiStatus(second.access_token), 200);

  // The rotated-away token comes back: reuse. The whole grant ends, the newest tokens too.
  auto reuse = Refresh(first.refresh_token);
  ASSERT_TRUE(reuse);
  EXPECT_EQ(reuse->status, 400);
  EXPECT_STREQ(ParseJson(reuse->body)["error"].GetString(), "invalid_grant");
  EXPECT_EQ(ApiStatus(second.access_token), 401);
  EXPECT_EQ(ApiStatus(first.access_token), 401);
  auto newest = Refresh(second.refresh_token);
  ASSERT_TRUE(newest);
  EXPECT_STREQ(ParseJson(newest->body)["error"].GetString(), "invalid_grant");

  // Other users' grants are untouched.
  Tokens bob = LoginAs("bob");
  EXPECT_EQ(ApiStatus(bob.access_token), 200);
  EXPECT_EQ(Stat("refresh_reuse_detected"), 1);
  EXPECT_EQ(Stat("revoked_grants"), 1);
  EXPECT_EQ(Stat("refresh_requests"), 3);
  EXPECT_EQ(Stat("token_requests.refresh_token"), 3);
}

TEST_F(SampleEndpointTest, ConcurrentUseOfOneRefreshTokenSucceedsOnce) {
  Tokens tokens = LoginAs("alice");
  std::atomic<int> successes = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      httplib::Client own(endpoint_->origin());
      auto response = own.Post(
          "/oauth/token", {{"Authorization", BasicAuthorization(kClientId, kSecret)}},
          FormBody({{"grant_type", "refresh_token"}, {"refresh_token", tokens.refresh_token}}),
          "application/x-www-form-urlencoded");
      if (response && response->status == 200) ++successes;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(successes, 1);
  // Every later presentation was reuse, so the grant is gone.
  EXPECT_EQ(Stat("refresh_reuse_detected"), 7);
  EXPECT_EQ(Stat("revoked_grants"), 1);
}

TEST_F(SampleEndpointTest, RefreshOmitsNewTokenModeKeepsTheOldOneValid) {
  Tokens first = LoginAs("alice");
  auto on = Control("/control/refresh-omits-new-token?on=1");
  ASSERT_TRUE(on && on->status == 200);
  for (int i = 0; i < 3; ++i) {
    Tokens refreshed = TokensFrom(Refresh(first.refresh_token));
    EXPECT_TRUE(refreshed.refresh_token.empty());
    EXPECT_EQ(ApiStatus(refreshed.access_token), 200);
  }
  ASSERT_TRUE(Control("/control/refresh-omits-new-token?on=0"));
  Tokens rotated = TokensFrom(Refresh(first.refresh_token));
  EXPECT_FALSE(rotated.refresh_token.empty());
  EXPECT_EQ(Stat("revoked_grants"), 0);

  EndpointOptions options = TestOptions();
  options.refresh_omits_new_token = true;
  StartWith(options);
  Tokens again = LoginAs("bob");
  EXPECT_TRUE(TokensFrom(Refresh(again.refresh_token)).refresh_token.empty());
}

TEST_F(SampleEndpointTest, RefreshMayNarrowButNotWidenTheScope) {
  Tokens tokens = LoginAs("alice");
  Tokens narrow = TokensFrom(TokenRequest({{"grant_type", "refresh_token"},
                                           {"refresh_token", tokens.refresh_token},
                                           {"scope", "incidents.read"}}));
  EXPECT_EQ(narrow.scope, "incidents.read");
  auto wide = TokenRequest({{"grant_type", "refresh_token"},
                            {"refresh_token", narrow.refresh_token},
                            {"scope", "incidents.write"}});
  ASSERT_TRUE(wide);
  EXPECT_STREQ(ParseJson(wide->body)["error"].GetString(), "invalid_scope");
}

TEST_F(SampleEndpointTest, RefreshTokenOfAnotherClientIsRefused) {
  Tokens tokens = LoginAs("alice");
  auto response =
      TokenRequest({{"grant_type", "refresh_token"}, {"refresh_token", tokens.refresh_token}},
                   ClientAuth::kBasic, kOddClientId, kOddSecret);
  ASSERT_TRUE(response);
  EXPECT_STREQ(ParseJson(response->body)["error"].GetString(), "invalid_grant");
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);  // and nothing was revoked
}

// ---------------------------------------------------------------------------------------------
// Client credentials

TEST_F(SampleEndpointTest, ClientCredentialsTokenActsForTheSystem) {
  Tokens system = TokensFrom(TokenRequest({{"grant_type", "client_credentials"}}));
  EXPECT_TRUE(system.refresh_token.empty());
  EXPECT_EQ(system.scope, "incidents.read");
  EXPECT_EQ(IncidentNumbers(system.access_token).size(), 5u);  // every user's incidents
  auto one = ApiGet("/api/now/table/incident/INC0020001", system.access_token);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->status, 200);
  EXPECT_EQ(Stat("token_requests.client_credentials"), 1);
  EXPECT_EQ(Stat("api_requests_by_user.*system*"), 2);
}

// ---------------------------------------------------------------------------------------------
// Revocation

TEST_F(SampleEndpointTest, RevokingAnAccessTokenEndsOnlyThatToken) {
  Tokens tokens = LoginAs("alice");
  auto response =
      client().Post("/oauth/revoke", {{"Authorization", BasicAuthorization(kClientId, kSecret)}},
                    FormBody({{"token", tokens.access_token}, {"token_type_hint", "access_token"}}),
                    "application/x-www-form-urlencoded");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  auto api = ApiGet("/api/now/table/incident", tokens.access_token);
  ASSERT_TRUE(api);
  EXPECT_EQ(api->status, 401);
  EXPECT_NE(api->get_header_value("WWW-Authenticate").find("revoked"), std::string::npos);
  // The refresh token still works.
  EXPECT_EQ(ApiStatus(TokensFrom(Refresh(tokens.refresh_token)).access_token), 200);
}

TEST_F(SampleEndpointTest, RevokingARefreshTokenEndsTheGrant) {
  Tokens tokens = LoginAs("alice");
  auto response = client().Post(
      "/oauth/revoke", {},
      FormBody(
          {{"token", tokens.refresh_token}, {"client_id", kClientId}, {"client_secret", kSecret}}),
      "application/x-www-form-urlencoded");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(ApiStatus(tokens.access_token), 401);
  auto refresh = Refresh(tokens.refresh_token);
  ASSERT_TRUE(refresh);
  EXPECT_STREQ(ParseJson(refresh->body)["error"].GetString(), "invalid_grant");
  EXPECT_EQ(Stat("revoked_grants"), 1);
}

TEST_F(SampleEndpointTest, RevocationAnswers200ForUnknownTokensButNeedsAClient) {
  httplib::Headers basic = {{"Authorization", BasicAuthorization(kClientId, kSecret)}};
  auto unknown = client().Post("/oauth/revoke", basic, "token=never-issued",
                               "application/x-www-form-urlencoded");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 200);
  auto anonymous =
      client().Post("/oauth/revoke", "token=never-issued", "application/x-www-form-urlencoded");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  auto no_token = client().Post("/oauth/revoke", basic, "", "application/x-www-form-urlencoded");
  ASSERT_TRUE(no_token);
  EXPECT_STREQ(ParseJson(no_token->body)["error"].GetString(), "invalid_request");

  ASSERT_TRUE(Control("/control/fail?count=1&status=503&target=revoke"));
  auto unavailable =
      client().Post("/oauth/revoke", basic, "token=x", "application/x-www-form-urlencoded");
  ASSERT_TRUE(unavailable);
  EXPECT_EQ(unavailable->status, 503);
  EXPECT_EQ(unavailable->get_header_value("Retry-After"), "1");
  EXPECT_EQ(Stat("revocation_requests"), 4);
}

// ---------------------------------------------------------------------------------------------
// Access token checks at the API

TEST_F(SampleEndpointTest, RequestWithoutTokenGetsABearerChallenge) {
  for (const httplib::Headers& headers :
       {httplib::Headers{}, httplib::Headers{{"Authorization", "Basic YTpi"}}}) {
    auto response = client().Get("/api/now/table/incident", headers);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
    EXPECT_EQ(response->get_header_value("WWW-Authenticate"), "Bearer realm=\"sample\"");
    EXPECT_STREQ(ParseJson(response->body)["status"].GetString(), "failure");
  }
}

TEST_F(SampleEndpointTest, InvalidTokenGetsInvalidTokenChallenge) {
  auto response = ApiGet("/api/now/table/incident", "not-a-token");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  std::string challenge = response->get_header_value("WWW-Authenticate");
  EXPECT_EQ(challenge.rfind("Bearer realm=\"sample\", error=\"invalid_token\", "
                            "error_description=\"",
                            0),
            0u)
      << challenge;
}

TEST_F(SampleEndpointTest, AccessTokensExpireAndRefreshRenewsThem) {
  EndpointOptions options = TestOptions();
  options.access_token_lifetime = milliseconds(1000);
  StartWith(options);
  Tokens tokens = LoginAs("alice");
  EXPECT_EQ(tokens.expires_in, 1);
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);
  std::this_thread::sleep_for(milliseconds(1100));
  auto expired = ApiGet("/api/now/table/incident", tokens.access_token);
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->status, 401);
  EXPECT_NE(expired->get_header_value("WWW-Authenticate").find("expired"), std::string::npos);
  EXPECT_EQ(ApiStatus(TokensFrom(Refresh(tokens.refresh_token)).access_token), 200);
}

TEST_F(SampleEndpointTest, ControlCanExpireEveryAccessTokenNow) {
  Tokens alice = LoginAs("alice");
  Tokens system = TokensFrom(TokenRequest({{"grant_type", "client_credentials"}}));
  auto response = Control("/control/expire-tokens");
  ASSERT_TRUE(response && response->status == 200);
  EXPECT_EQ(ApiStatus(alice.access_token), 401);
  EXPECT_EQ(ApiStatus(system.access_token), 401);
  EXPECT_EQ(ApiStatus(TokensFrom(Refresh(alice.refresh_token)).access_token), 200);
}

// ---------------------------------------------------------------------------------------------
// Incident records

TEST_F(SampleEndpointTest, OneIncidentIsVisibleOnlyToItsCaller) {
  Tokens alice = LoginAs("alice");
  Tokens bob = LoginAs("bob");
  auto own = ApiGet("/api/now/table/incident/INC0010002", alice.access_token);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->status, 200);
  auto json = ParseJson(own->body);
  EXPECT_STREQ(json["result"]["number"].GetString(), "INC0010002");
  // By sys_id as well, as ServiceNow addresses records.
  std::string sys_id = json["result"]["sys_id"].GetString();
  EXPECT_EQ(sys_id.size(), 32u);
  auto by_id = ApiGet("/api/now/table/incident/" + sys_id, alice.access_token);
  ASSERT_TRUE(by_id);
  EXPECT_EQ(by_id->status, 200);

  auto others = ApiGet("/api/now/table/incident/INC0010002", bob.access_token);
  ASSERT_TRUE(others);
  EXPECT_EQ(others->status, 404);
  EXPECT_STREQ(ParseJson(others->body)["error"]["message"].GetString(), "No Record found");
}

TEST_F(SampleEndpointTest, PostCreatesAnIncidentForTheCallerAndEchoesTheBody) {
  Tokens carol = LoginAs("carol");
  httplib::Headers auth = {{"Authorization", "Bearer " + carol.access_token}};
  auto created = client().Post("/api/now/table/incident", auth,
                               R"({"short_description":"Laptop fan is loud","urgency":2,)"
                               R"("caller_id":"alice","vip":true})",
                               "application/json");
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  auto json = ParseJson(created->body);
  const auto& result = json["result"];
  EXPECT_STREQ(result["short_description"].GetString(), "Laptop fan is loud");
  EXPECT_STREQ(result["caller_id"].GetString(), "carol");  // the token's user, not the body's
  EXPECT_STREQ(result["urgency"].GetString(), "2");
  EXPECT_STREQ(result["vip"].GetString(), "true");
  EXPECT_STREQ(result["number"].GetString(), "INC0030001");
  EXPECT_EQ(created->get_header_value("Location"),
            std::string("/api/now/table/incident/") + result["sys_id"].GetString());
  EXPECT_EQ(IncidentNumbers(carol.access_token), std::vector<std::string>{"INC0030001"});

  for (const char* body : {"not json", "[1]", "{\"urgency\":1}", "{\"short_description\":{}}"}) {
    auto bad = client().Post("/api/now/table/incident", auth, body, "application/json");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << body;
  }
  auto anonymous =
      client().Post("/api/now/table/incident", R"({"short_description":"x"})", "application/json");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);

  // A full reset restores the seed data.
  ASSERT_TRUE(Control("/control/reset?all=1"));
  EXPECT_EQ(IncidentNumbers(carol.access_token), std::vector<std::string>{"HTTP 401"});
  EXPECT_EQ(IncidentNumbers(LoginAs("carol").access_token), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------------------------
// Fault injection and the control API

TEST_F(SampleEndpointTest, FailModeAnswers503WithRetryAfterThenRecovers) {
  Tokens tokens = LoginAs("alice");
  auto armed = Control("/control/fail?count=2&status=503&retry_after=1");
  ASSERT_TRUE(armed && armed->status == 200);
  for (int i = 0; i < 2; ++i) {
    auto response = ApiGet("/api/now/table/incident", tokens.access_token);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(response->get_header_value("Retry-After"), "1");
  }
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);
  // Failures come before authentication, as a load balancer's would.
  ASSERT_TRUE(Control("/control/fail?count=1&status=429&retry_after=none"));
  auto throttled = ApiGet("/api/now/table/incident", "");
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->status, 429);
  EXPECT_FALSE(throttled->has_header("Retry-After"));
  EXPECT_EQ(Stat("api_injected_failures"), 3);

  ASSERT_TRUE(Control("/control/fail?count=1&target=token&retry_after=2"));
  auto token = Refresh(tokens.refresh_token);
  ASSERT_TRUE(token);
  EXPECT_EQ(token->status, 503);
  EXPECT_EQ(token->get_header_value("Retry-After"), "2");
  EXPECT_STREQ(ParseJson(token->body)["error"].GetString(), "temporarily_unavailable");
  // The refresh token was not spent by the failed attempt.
  EXPECT_EQ(ApiStatus(TokensFrom(Refresh(tokens.refresh_token)).access_token), 200);

  for (const char* bad :
       {"/control/fail", "/control/fail?count=-1", "/control/fail?count=1&status=200",
        "/control/fail?count=1&target=moon", "/control/delay?ms=x"}) {
    auto response = Control(bad);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400) << bad;
  }
}

TEST_F(SampleEndpointTest, DelayModeSlowsTheApiUntilReset) {
  Tokens tokens = LoginAs("alice");
  ASSERT_TRUE(Control("/control/delay?ms=300"));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(300));

  httplib::Client impatient(endpoint_->origin());
  impatient.set_read_timeout(0, 100'000);
  auto timed_out = impatient.Get("/api/now/table/incident",
                                 {{"Authorization", "Bearer " + tokens.access_token}});
  EXPECT_FALSE(timed_out);
  EXPECT_EQ(timed_out.error(), httplib::Error::Read);

  // The token endpoint is not slowed by an API delay.
  start = std::chrono::steady_clock::now();
  TokensFrom(Refresh(tokens.refresh_token));
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(300));

  ASSERT_TRUE(Control("/control/reset"));
  start = std::chrono::steady_clock::now();
  Tokens fresh = LoginAs("alice");
  EXPECT_EQ(ApiStatus(fresh.access_token), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(300));
}

TEST_F(SampleEndpointTest, PeakInFlightCountsRequestsHeldAtOnce) {
  Tokens tokens = LoginAs("alice");
  ApiStatus(tokens.access_token);
  EXPECT_EQ(Stat("api_peak_in_flight"), 1);
  ASSERT_TRUE(Control("/control/delay?ms=600"));
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i)
    clients.emplace_back([origin = endpoint_->origin(), token = tokens.access_token] {
      httplib::Client own(origin);
      own.Get("/api/now/table/incident", {{"Authorization", "Bearer " + token}});
    });
  for (auto& client : clients) client.join();
  EXPECT_EQ(Stat("api_peak_in_flight"), 4);  // all four inside the 600 ms delay together
  ASSERT_TRUE(Control("/control/reset"));
  EXPECT_EQ(Stat("api_peak_in_flight"), 0);
}

TEST_F(SampleEndpointTest, StopEndsADelayAtOnce) {
  ASSERT_TRUE(Control("/control/delay?ms=10000"));
  std::thread slow([origin = endpoint_->origin()] {
    httplib::Client own(origin);
    own.Get("/api/now/table/incident");
  });
  std::this_thread::sleep_for(milliseconds(100));
  auto start = std::chrono::steady_clock::now();
  client_.reset();
  endpoint_->Stop();
  slow.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(SampleEndpointTest, StatsCountWhatReachedTheServerAndResetZeroesThem) {
  Tokens tokens = LoginAs("alice");
  TokensFrom(Refresh(tokens.refresh_token));
  TokensFrom(TokenRequest({{"grant_type", "client_credentials"}}));
  TokenRequest({{"grant_type", "password"}});
  ApiStatus(tokens.access_token);
  ApiStatus("");

  auto stats = Stats();
  EXPECT_EQ(stats["authorize_requests"].GetInt64(), 1);
  EXPECT_EQ(stats["codes_issued"].GetInt64(), 1);
  EXPECT_EQ(stats["token_requests"]["total"].GetInt64(), 4);
  EXPECT_EQ(stats["token_requests"]["authorization_code"].GetInt64(), 1);
  EXPECT_EQ(stats["token_requests"]["refresh_token"].GetInt64(), 1);
  EXPECT_EQ(stats["token_requests"]["client_credentials"].GetInt64(), 1);
  EXPECT_EQ(stats["token_requests"]["other"].GetInt64(), 1);
  EXPECT_EQ(stats["token_errors"].GetInt64(), 1);
  EXPECT_EQ(stats["refresh_requests"].GetInt64(), 1);
  EXPECT_EQ(stats["api_requests"].GetInt64(), 2);
  EXPECT_EQ(stats["api_requests_with_auth"].GetInt64(), 1);
  EXPECT_EQ(stats["api_unauthorized"].GetInt64(), 1);
  EXPECT_EQ(stats["active_grants"].GetInt64(), 2);
  EXPECT_EQ(stats["revoked_grants"].GetInt64(), 0);

  ASSERT_TRUE(Control("/control/reset"));
  EXPECT_EQ(Stat("token_requests.total"), 0);
  EXPECT_EQ(Stat("api_requests"), 0);
  EXPECT_EQ(Stat("api_requests_by_user.alice"), -1);  // per-user counters start over
  // A plain reset keeps issued tokens (rotation does not end access tokens); all=1 forgets them.
  EXPECT_EQ(ApiStatus(tokens.access_token), 200);
  ASSERT_TRUE(Control("/control/reset?all=1"));
  EXPECT_EQ(ApiStatus(tokens.access_token), 401);
  EXPECT_EQ(Stat("active_grants"), 0);
}

// ---------------------------------------------------------------------------------------------
// Redirects to another origin

TEST_F(SampleEndpointTest, RedirectElsewhereLeadsToAnotherInstanceThatRecordsAuthorization) {
  EndpointOptions other_options = TestOptions();
  other_options.log = [](std::string_view) {};
  SampleEndpoint other(other_options);
  std::string error;
  ASSERT_TRUE(other.Start(&error)) << error;
  ASSERT_NE(other.port(), endpoint_->port());

  EndpointOptions options = TestOptions();
  options.other_origin = other.origin();
  StartWith(options);
  Tokens tokens = LoginAs("alice");

  auto redirect = ApiGet("/api/redirect-elsewhere", tokens.access_token);
  ASSERT_TRUE(redirect);
  EXPECT_EQ(redirect->status, 302);
  std::string location = redirect->get_header_value("Location");
  EXPECT_EQ(location, other.origin() + "/api/record-auth");

  httplib::Client other_client(other.origin());
  auto record = [&](bool with_auth) {
    httplib::Headers headers;
    if (with_auth) headers.emplace("Authorization", "Bearer " + tokens.access_token);
    auto response = other_client.Get("/api/record-auth", headers);
    EXPECT_TRUE(response && response->status == 200);
    return ParseJson(response->body)["result"]["authorization_received"].GetBool();
  };
  auto seen = [&] {
    auto response = other_client.Get("/control/stats");
    return ParseJson(response->body)["auth_headers_seen_on_record_endpoint"].GetInt64();
  };
  EXPECT_FALSE(record(false));
  EXPECT_EQ(seen(), 0);
  EXPECT_TRUE(record(true));
  EXPECT_EQ(seen(), 1);

  // `to` overrides the configured origin; `status` picks the redirect code.
  auto to = client().Get("/api/redirect-elsewhere?to=http%3A%2F%2F127.0.0.1%3A9%2Fx&status=307");
  ASSERT_TRUE(to);
  EXPECT_EQ(to->status, 307);
  EXPECT_EQ(to->get_header_value("Location"), "http://127.0.0.1:9/x");
  EXPECT_EQ(Stat("redirects_elsewhere"), 2);
}

TEST_F(SampleEndpointTest, RedirectElsewhereWithoutATargetIs404) {
  auto response = client().Get("/api/redirect-elsewhere");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
}

// ---------------------------------------------------------------------------------------------
// Logging

TEST_F(SampleEndpointTest, RequestLogNamesEveryRequestAndNoSecret) {
  Pkce pkce;
  std::string code = CodeFor("alice", pkce);
  Tokens tokens = TokensFrom(ExchangeCode(code, pkce));
  Tokens rotated = TokensFrom(Refresh(tokens.refresh_token));
  ApiStatus(rotated.access_token);
  TokenRequest({{"grant_type", "client_credentials"}}, ClientAuth::kBody);
  client().Post("/oauth/revoke", {{"Authorization", BasicAuthorization(kClientId, kSecret)}},
                FormBody({{"token", rotated.refresh_token}}), "application/x-www-form-urlencoded");
  // Raw token in the Authorization header with no scheme.
  client().Get("/api/now/table/incident", {{"Authorization", rotated.access_token}});

  auto lines = LogLines(7);
  ASSERT_EQ(lines.size(), 7u);
  // Lines are written after each response, so neighbours may swap; look them up by content.
  auto has_line = [&](std::initializer_list<std::string_view> parts) {
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
      return std::all_of(parts.begin(), parts.end(),
                         [&](std::string_view part) { return line.find(part) != line.npos; });
    });
  };
  EXPECT_TRUE(has_line({"127.0.0.1 GET /oauth/authorize ", "login_hint=alice", "state=[redacted]",
                        "code_challenge=[redacted]", "-> 302"}));
  EXPECT_TRUE(has_line({"POST /oauth/token ", "code=[redacted]", "code_verifier=[redacted]",
                        "grant_type=authorization_code", "auth=Basic", "-> 200"}));
  EXPECT_TRUE(
      has_line({"POST /oauth/token ", "grant_type=refresh_token", "refresh_token=[redacted]"}));
  EXPECT_TRUE(has_line({"POST /oauth/token ", "client_secret=[redacted]"}));
  EXPECT_TRUE(has_line({"GET /api/now/table/incident auth=Bearer -> 200"}));
  EXPECT_TRUE(has_line({"GET /api/now/table/incident auth=other -> 401"}));
  for (const std::string& line : lines) {
    for (const std::string& secret :
         {code, pkce.verifier, tokens.access_token, tokens.refresh_token, rotated.access_token,
          rotated.refresh_token, std::string(kSecret), std::string("st-123"),
          Base64Encode(std::string(kClientId) + ":" + kSecret)}) {
      EXPECT_EQ(line.find(secret), std::string::npos) << line;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The program

#ifdef FLOWLINE_SAMPLE_ENDPOINT_BINARY
TEST(SampleEndpointProgram, WritesItsPortServesAndStopsOnSigterm) {
  auto directory = std::filesystem::temp_directory_path() /
                   ("flowline-sample-endpoint-" + std::to_string(::getpid()));
  std::filesystem::create_directories(directory);
  std::string port_file = (directory / "port").string();
  std::string log_file = (directory / "stderr").string();

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<std::string> args = {FLOWLINE_SAMPLE_ENDPOINT_BINARY,
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--port-file",
                                   port_file,
                                   "--token-lifetime",
                                   "2s",
                                   "--users",
                                   "alice,dave"};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage = {"ACME_CLIENT_SECRET=from-environment"};
  std::vector<char*> envp = {env_storage[0].data(), nullptr};
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&actions);

  int port = 0;
  for (int i = 0; i < 500 && port == 0; ++i) {
    std::ifstream in(port_file);
    if (!(in >> port)) std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_GT(port, 0);
  {
    httplib::Client client("127.0.0.1", port);
    auto token = client.Post("/oauth/token",
                             {{"Authorization", BasicAuthorization(kClientId, "from-environment")}},
                             "grant_type=client_credentials", "application/x-www-form-urlencoded");
    ASSERT_TRUE(token);
    EXPECT_EQ(token->status, 200);
    EXPECT_EQ(ParseJson(token->body)["expires_in"].GetInt(), 2);
    Pkce pkce;
    std::string path = "/oauth/authorize";
    for (const auto& [name, value] :
         std::map<std::string, std::string>{{"response_type", "code"},
                                            {"client_id", kClientId},
                                            {"redirect_uri", kRedirect},
                                            {"code_challenge", pkce.challenge},
                                            {"code_challenge_method", "S256"},
                                            {"login_hint", "dave"}}) {
      AppendQueryParameter(path, name, value);
    }
    auto authorize = client.Get(path.c_str());
    ASSERT_TRUE(authorize);
    EXPECT_EQ(authorize->status, 302);  // --users made dave known
  }
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  std::ifstream log(log_file);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("listening on http://127.0.0.1:" + std::to_string(port)), std::string::npos)
      << text;
  EXPECT_EQ(text.find("warning"), std::string::npos) << text;  // the secret came from the env
  EXPECT_EQ(text.find("from-environment"), std::string::npos) << text;
  std::filesystem::remove_all(directory);
}
#endif

}  // namespace
}  // namespace flowline::sample
