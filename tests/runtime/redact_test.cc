#include "runtime/records/redact.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flowline {
namespace {

TEST(IsSecretNameTest, SecretLookingNamesInAnySpelling) {
  const std::vector<std::string> secret = {
      "token",         "access_token",        "refresh_token",   "id_token",    "X-Auth-Token",
      "client_secret", "clientSecret",        "password",        "db.passwd",   "passphrase",
      "Authorization", "proxy-authorization", "Cookie",          "Set-Cookie",  "api_key",
      "apiKey",        "X-API-Key",           "APIKEY",          "private_key", "session_id",
      "SessionId",     "signature",           "X-Amz-Signature", "jwt",
  };
  for (const auto& name : secret) EXPECT_TRUE(is_secret_name(name)) << name;
}

TEST(IsSecretNameTest, OrdinaryNamesAndCredentialNamesAreNot) {
  const std::vector<std::string> plain = {
      "credential", "credentials", "credential_name", "user",  "author", "name",
      "key",        "code",        "status_code",     "state", "body",   "headers",
      "url",        "incident",    "session",         "",
  };
  for (const auto& name : plain) EXPECT_FALSE(is_secret_name(name)) << name;
}

TEST(RedactTest, SecretMembersAreReplacedAtAnyDepth) {
  ValueObject headers{{"Authorization", Value("Bearer abcdefgh12345")},
                      {"Accept", Value("application/json")}};
  ValueObject token{{"access_token", Value("SECRET123")},
                    {"refresh_token", Value(ValueObject{{"nested", Value("x")}})},
                    {"expires_in", Value(3600)},
                    {"id_token", Value()}};
  Value input(ValueObject{
      {"headers", Value(headers)},
      {"token", Value(ValueArray{Value(token)})},
      {"items", Value(ValueArray{Value(1), Value("two"), Value(ValueObject{{"password", 5}})})},
      {"credential", Value("global.acme_oauth")},
  });

  Value out = redact(input);

  EXPECT_EQ(out.find("headers")->find("Authorization")->as_string(), "[redacted]");
  EXPECT_EQ(out.find("headers")->find("Accept")->as_string(), "application/json");
  // The member "token" itself looks secret: its whole value goes.
  EXPECT_EQ(out.find("token")->as_string(), "[redacted]");
  const ValueArray& items = out.find("items")->as_array();
  EXPECT_EQ(items[0], Value(1));
  EXPECT_EQ(items[1], Value("two"));
  EXPECT_EQ(items[2].find("password")->as_string(), "[redacted]");
  EXPECT_EQ(out.find("credential")->as_string(), "global.acme_oauth");
  EXPECT_EQ(out.to_json().find("SECRET123"), std::string::npos);
  EXPECT_EQ(out.to_json().find("abcdefgh12345"), std::string::npos);

  // The input is untouched (copy-on-write storage is not shared mutably).
  EXPECT_EQ(input.find("headers")->find("Authorization")->as_string(), "Bearer abcdefgh12345");
}

TEST(RedactTest, NestedSecretMemberInsideAnArray) {
  Value input(ValueObject{
      {"result", Value(ValueArray{Value(ValueObject{{"access_token", Value("SECRET123")},
                                                    {"expires_in", Value(3600)},
                                                    {"id_token", Value()}})})}});
  Value out = redact(input);
  const Value& first = out.find("result")->as_array()[0];
  EXPECT_EQ(first.find("access_token")->as_string(), "[redacted]");
  EXPECT_EQ(*first.find("expires_in"), Value(3600));
  EXPECT_TRUE(first.find("id_token")->is_null()) << "null hides nothing and stays null";
}

TEST(RedactTest, StringsLoseUrlSecretsAndBearerTokens) {
  Value input(ValueArray{Value("https://api.example/next?page=2&access_token=SECRET123"),
                         Value("sent Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl to the API"),
                         Value("plain text")});
  Value out = redact(input);
  EXPECT_EQ(out.as_array()[0].as_string(),
            "https://api.example/next?page=2&access_token=[redacted]");
  EXPECT_EQ(out.as_array()[1].as_string(), "sent Bearer [redacted] to the API");
  EXPECT_EQ(out.as_array()[2].as_string(), "plain text");
}

TEST(RedactTest, ValuesWithoutSecretsComeBackEqual) {
  Value input(ValueObject{{"a", Value(ValueArray{Value(1.5), Value(true), Value()})},
                          {"b", Value("https://api.example/x?page=3")}});
  EXPECT_EQ(redact(input), input);
  EXPECT_EQ(redact(Value()), Value());
  EXPECT_EQ(redact(Value(42)), Value(42));
}

TEST(RedactUrlTest, UserinfoIsReplaced) {
  EXPECT_EQ(redact_url("https://alice:hunter2@api.example/v1/x"),
            "https://[redacted]@api.example/v1/x");
  EXPECT_EQ(redact_url("http://alice@h:8080"), "http://[redacted]@h:8080");
  // Only the authority's '@' counts, not one in the path or the query.
  EXPECT_EQ(redact_url("https://h/users/@me?by=a@b"), "https://h/users/@me?by=a@b");
}

TEST(RedactUrlTest, SecretQueryValuesAreReplaced) {
  EXPECT_EQ(redact_url("https://h/x?token=SECRET123"), "https://h/x?token=[redacted]");
  EXPECT_EQ(redact_url("https://h/x?a=1&access_token=S&b=2&client_secret=T&api-key=U"),
            "https://h/x?a=1&access_token=[redacted]&b=2&client_secret=[redacted]&api-key="
            "[redacted]");
  // Bare names that are secrets only in a query.
  EXPECT_EQ(redact_url("https://h/cb?code=abc&state=xyz"),
            "https://h/cb?code=[redacted]&state=xyz");
  EXPECT_EQ(redact_url("https://maps.example/api?key=AIza&q=x"),
            "https://maps.example/api?key=[redacted]&q=x");
  // Encoded names are decoded before the check.
  EXPECT_EQ(redact_url("https://h/?access%5Ftoken=S"), "https://h/?access%5Ftoken=[redacted]");
  // Case does not matter.
  EXPECT_EQ(redact_url("https://h/?Access_Token=S"), "https://h/?Access_Token=[redacted]");
}

TEST(RedactUrlTest, FragmentParametersAreReplaced) {
  EXPECT_EQ(redact_url("https://h/cb#access_token=S&token_type=bearer&expires_in=3600"),
            "https://h/cb#access_token=[redacted]&token_type=[redacted]&expires_in=3600");
  EXPECT_EQ(redact_url("https://h/doc#section-2"), "https://h/doc#section-2");
}

TEST(RedactUrlTest, LeavesOrdinaryUrlsAlone) {
  const std::vector<std::string> plain = {
      "https://api.example/v1/incidents?limit=5&user=alice",
      "http://127.0.0.1:8080/",
      "https://h",
      "https://h/x?token=",  // nothing to hide
      "https://h/x?flag&other",
      "/relative/path?q=1",
      "",
      "not a url at all",
  };
  for (const auto& url : plain) EXPECT_EQ(redact_url(url), url) << url;
  EXPECT_EQ(redact_url("/relative?password=x"), "/relative?password=[redacted]");
}

TEST(RedactTextTest, UrlsInsideMessages) {
  EXPECT_EQ(redact_text("GET https://u:p@h/x?token=S failed: 404; see https://h/doc"),
            "GET https://[redacted]@h/x?token=[redacted] failed: 404; see https://h/doc");
  EXPECT_EQ(redact_text("\"HTTPS://h/?secret=abc\""), "\"HTTPS://h/?secret=[redacted]\"");
}

TEST(RedactTextTest, BearerAndBasicCredentials) {
  EXPECT_EQ(redact_text("Authorization: Bearer abc.DEF-123_xyz~+/="),
            "Authorization: Bearer [redacted]");
  EXPECT_EQ(redact_text("basic YWxpY2U6aHVudGVyMg== was refused"), "basic [redacted] was refused");
  // Prose keeps its words: what follows is not a credential.
  EXPECT_EQ(redact_text("the bearer token is missing"), "the bearer token is missing");
  EXPECT_EQ(redact_text("basic auth failed"), "basic auth failed");
  EXPECT_EQ(redact_text("Bearer"), "Bearer");
}

TEST(RedactTextTest, JsonWebTokensAnywhere) {
  std::string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sflKxwRJSMeKKF2QT4fw";
  EXPECT_EQ(redact_text("got " + jwt + " back"), "got [redacted] back");
  EXPECT_EQ(redact_text("eyJ is just text"), "eyJ is just text");
  EXPECT_EQ(redact_text("keyJSON.a.b"), "keyJSON.a.b");
}

TEST(RedactTextTest, PlainTextIsUnchanged) {
  for (std::string text : {"", "step 'fetch' returned 404 Not Found", "http", "https:/x",
                           "no secrets here: token_missing for user alice"}) {
    EXPECT_EQ(redact_text(text), text);
  }
}

}  // namespace
}  // namespace flowline
