// The client side of the authorization-code login: PKCE, the loopback
// redirect, the authorization request URL and the checks on the reply.
#include "runtime/oauth/authorization.h"

#include <gtest/gtest.h>

#include <memory>
#include <set>

namespace flowline {
namespace {

using Params = std::multimap<std::string, std::string>;

// Definitions are neither copied nor moved: each test gets its own.
std::unique_ptr<OAuthProfile> make_profile() {
  auto p = std::make_unique<OAuthProfile>();
  p->full_name = "global.acme_oauth";
  p->client_id = "flow basic";
  p->redirect_url = "http://127.0.0.1/callback";
  p->scopes = {"openid", "incidents.read"};
  return p;
}
const OAuthProfile& sample_profile() {
  static const auto profile = make_profile();
  return *profile;
}

OAuthEndpoints sample_endpoints(std::string issuer = "") {
  OAuthEndpoints e;
  e.issuer = std::move(issuer);
  e.authorization_url = "https://as.example/oauth/authorize";
  e.token_url = "https://as.example/oauth/token";
  return e;
}

TEST(PkceTest, S256MatchesTheRfc7636Example) {
  // RFC 7636 Appendix B.
  EXPECT_EQ(pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

TEST(PkceTest, EachAttemptHasItsOwnVerifierAndState) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    LoginAttempt a = new_login_attempt(OAuthProfile::Pkce::S256);
    EXPECT_EQ(a.code_verifier.size(), 43u);  // 256 bits of base64url
    EXPECT_EQ(a.code_challenge, pkce_s256(a.code_verifier));
    EXPECT_EQ(a.state.size(), 43u);
    EXPECT_EQ(a.code_verifier.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_TRUE(seen.insert(a.code_verifier).second);
    EXPECT_TRUE(seen.insert(a.state).second);
  }
}

TEST(PkceTest, NoneSendsNoChallenge) {
  LoginAttempt a = new_login_attempt(OAuthProfile::Pkce::None);
  EXPECT_TRUE(a.code_verifier.empty());
  EXPECT_TRUE(a.code_challenge.empty());
  EXPECT_FALSE(a.state.empty());
  auto url = authorization_request_url(sample_profile(), sample_endpoints(), "http://127.0.0.1:5/cb", a);
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->find("code_challenge"), std::string::npos);
}

TEST(LoopbackRedirectTest, LoopbackUrlsListenOnTheLoopbackAddressWithThePath) {
  auto owned = make_profile();
  OAuthProfile& p = *owned;
  struct Case {
    std::string redirect_url, host, path, uri_on_port_5000;
  };
  for (const Case& c : std::vector<Case>{
           {"http://127.0.0.1/callback", "127.0.0.1", "/callback", "http://127.0.0.1:5000/callback"},
           {"http://127.0.0.1:8080/cb?x=1", "127.0.0.1", "/cb", "http://127.0.0.1:5000/cb"},
           {"http://localhost/oauth/done", "127.0.0.1", "/oauth/done", "http://localhost:5000/oauth/done"},
           {"http://[::1]/callback", "::1", "/callback", "http://[::1]:5000/callback"},
           {"http://127.0.0.1", "127.0.0.1", "/", "http://127.0.0.1:5000/"},
           {"", "127.0.0.1", "/callback", "http://127.0.0.1:5000/callback"},
       }) {
    p.redirect_url = c.redirect_url;
    auto where = loopback_redirect(p);
    ASSERT_TRUE(where.ok()) << c.redirect_url << ": " << where.status().message();
    EXPECT_EQ(where->host, c.host) << c.redirect_url;
    EXPECT_EQ(where->path, c.path) << c.redirect_url;
    EXPECT_EQ(loopback_redirect_uri(p, *where, 5000), c.uri_on_port_5000) << c.redirect_url;
  }
}

TEST(LoopbackRedirectTest, OtherRedirectUrlsAreRefusedWithAFix) {
  auto owned = make_profile();
  OAuthProfile& p = *owned;
  for (const char* url : {"https://app.example/callback", "http://10.0.0.1/callback",
                          "http://127.0.0.1.evil.example/cb", "https://127.0.0.1/callback"}) {
    p.redirect_url = url;
    auto where = loopback_redirect(p);
    ASSERT_FALSE(where.ok()) << url;
    EXPECT_EQ(where.status().code(), "login_redirect_not_loopback");
    EXPECT_NE(where.status().message().find("http://127.0.0.1/callback"), std::string::npos);
    EXPECT_NE(where.status().message().find("token serve"), std::string::npos);
  }
}

TEST(AuthorizationRequestTest, CarriesEveryParameterEncoded) {
  LoginAttempt a = new_login_attempt(OAuthProfile::Pkce::S256);
  auto url = authorization_request_url(sample_profile(), sample_endpoints(),
                                       "http://127.0.0.1:5000/callback", a, {{"login_hint", "a b"}});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url,
            "https://as.example/oauth/authorize?response_type=code&client_id=flow%20basic"
            "&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback&scope=openid%20incidents.read"
            "&state=" + a.state + "&code_challenge=" + a.code_challenge +
                "&code_challenge_method=S256&login_hint=a%20b");
}

TEST(AuthorizationRequestTest, KeepsAQueryTheAuthorizationUrlAlreadyHas) {
  OAuthEndpoints e = sample_endpoints();
  e.authorization_url = "https://as.example/authorize?tenant=t1";
  auto url = authorization_request_url(sample_profile(), e, "http://127.0.0.1:5/cb",
                                       new_login_attempt(OAuthProfile::Pkce::None));
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->rfind("https://as.example/authorize?tenant=t1&response_type=code&", 0), 0u) << *url;
}

TEST(AuthorizationRequestTest, NoAuthorizationUrlIsAnError) {
  OAuthEndpoints e = sample_endpoints("https://as.example");
  e.authorization_url.clear();
  auto url = authorization_request_url(sample_profile(), e, "http://127.0.0.1:5/cb",
                                       new_login_attempt(OAuthProfile::Pkce::S256));
  ASSERT_FALSE(url.ok());
  EXPECT_NE(url.status().message().find("metadata"), std::string::npos);
}

class ReplyTest : public ::testing::Test {
 protected:
  LoginAttempt attempt = new_login_attempt(OAuthProfile::Pkce::S256);
  Params reply(Params extra) {
    extra.emplace("state", attempt.state);
    return extra;
  }
};

TEST_F(ReplyTest, AGoodReplyGivesTheCode) {
  auto code = accept_authorization_response(reply({{"code", "c1"}}), attempt, sample_endpoints());
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, "c1");
}

TEST_F(ReplyTest, AWrongOrMissingStateIsRefusedFirst) {
  for (Params params : std::vector<Params>{{{"code", "c1"}, {"state", attempt.state + "x"}},
                                           {{"code", "c1"}},
                                           {{"error", "access_denied"}, {"state", "forged"}}}) {
    auto code = accept_authorization_response(params, attempt, sample_endpoints());
    ASSERT_FALSE(code.ok());
    EXPECT_EQ(code.status().code(), "login_state_mismatch");
    EXPECT_EQ(code.status().message().find(attempt.state), std::string::npos);
  }
}

TEST_F(ReplyTest, IssMustMatchTheConfiguredIssuerExactly) {
  OAuthEndpoints e = sample_endpoints("https://as.example");
  EXPECT_TRUE(accept_authorization_response(reply({{"code", "c"}, {"iss", "https://as.example"}}),
                                            attempt, e)
                  .ok());
  for (const char* iss : {"https://as.example/", "https://evil.example", "http://as.example"}) {
    auto code = accept_authorization_response(reply({{"code", "c"}, {"iss", iss}}), attempt, e);
    ASSERT_FALSE(code.ok()) << iss;
    EXPECT_EQ(code.status().code(), "login_issuer_mismatch");
    EXPECT_NE(code.status().message().find("RFC 9207"), std::string::npos);
  }
  // No iss at all is accepted from servers that do not promise one...
  EXPECT_TRUE(accept_authorization_response(reply({{"code", "c"}}), attempt, e).ok());
  // ...and refused from one whose metadata does (RFC 9207 §2.4).
  e.iss_required = true;
  auto missing = accept_authorization_response(reply({{"code", "c"}}), attempt, e);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), "login_issuer_mismatch");
}

TEST_F(ReplyTest, WithoutAConfiguredIssuerIssMustShareTheAuthorizationUrlsOrigin) {
  OAuthEndpoints e = sample_endpoints();
  EXPECT_TRUE(accept_authorization_response(reply({{"code", "c"}, {"iss", "https://as.example/t1"}}),
                                            attempt, e)
                  .ok());
  auto code = accept_authorization_response(reply({{"code", "c"}, {"iss", "https://evil.example"}}),
                                            attempt, e);
  ASSERT_FALSE(code.ok());
  EXPECT_EQ(code.status().code(), "login_issuer_mismatch");
}

TEST_F(ReplyTest, ErrorRepliesAreShownClearly) {
  auto denied = accept_authorization_response(
      reply({{"error", "access_denied"}, {"error_description", "the user said no\r\nInjected: x"}}),
      attempt, sample_endpoints());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), "login_denied");
  EXPECT_NE(denied.status().message().find("access_denied (the user said no  Injected: x)"),
            std::string::npos)
      << denied.status().message();
  EXPECT_EQ(denied.status().message().find('\n'), std::string::npos);

  auto scope = accept_authorization_response(reply({{"error", "invalid_scope"}}), attempt,
                                             sample_endpoints());
  ASSERT_FALSE(scope.ok());
  EXPECT_EQ(scope.status().code(), "login_error");
  EXPECT_NE(scope.status().message().find("invalid_scope"), std::string::npos);
}

TEST_F(ReplyTest, RepeatedParametersAndMissingCodesAreRefused) {
  Params twice = reply({{"code", "a"}});
  twice.emplace("code", "b");
  auto code = accept_authorization_response(twice, attempt, sample_endpoints());
  ASSERT_FALSE(code.ok());
  EXPECT_NE(code.status().message().find("more than once"), std::string::npos);

  auto none = accept_authorization_response(reply({}), attempt, sample_endpoints());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), "login_error");
}

}  // namespace
}  // namespace flowline
