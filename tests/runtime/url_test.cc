#include "runtime/http/url.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace flowline {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(OriginOfTest, SchemeHostAndPortAreNormalised) {
  struct Case {
    std::string url;
    Origin expected;
  };
  const std::vector<Case> cases = {
      {"https://api.example/v1", {"https", "api.example", 443}},
      {"HTTPS://API.Example:443/x?y#z", {"https", "api.example", 443}},
      {"http://127.0.0.1:8080", {"http", "127.0.0.1", 8080}},
      {"http://h", {"http", "h", 80}},
      {"http://h:80/", {"http", "h", 80}},
      {"https://h?q=1", {"https", "h", 443}},
      {"http://[::1]:9000/p", {"http", "[::1]", 9000}},
      {"https://[FE80::1]/", {"https", "[fe80::1]", 443}},
  };
  for (const auto& c : cases) {
    Result<Origin> origin = origin_of(c.url);
    ASSERT_TRUE(origin.ok()) << c.url << ": " << origin.status().message();
    EXPECT_EQ(*origin, c.expected) << c.url;
  }
  EXPECT_EQ(*origin_of("https://h/a"), *origin_of("https://H:443/b"));
  EXPECT_NE(*origin_of("https://h/a"), *origin_of("http://h/a"));
  EXPECT_NE(*origin_of("http://h:1/a"), *origin_of("http://h:2/a"));
}

TEST(OriginOfTest, RejectsWhatIsNotAPlainHttpUrl) {
  const std::vector<std::string> bad = {
      "",
      "api.example/v1",
      "/relative",
      "ftp://h/",
      "file:///etc/passwd",
      "javascript://h/",
      "https://",
      "https:///path",
      "https://user:pass@h/",
      "https://good.example@evil.example/",
      "https://h:0/",
      "https://h:65536/",
      "https://h:123456/",
      "https://h:8x/",
      "https://h:/",
      "https://h o/",
      "https://h\\@evil/",
      "https://h/\r\nX: y",
      std::string("https://h/\0", 11),
      "https://h%2Eevil/",
      "https://h\xc3\xa9.example/",
      "http://[::1/",
      "http://[::1]x/",
      "http://[zz]/",
  };
  for (const auto& url : bad) {
    Result<Origin> origin = origin_of(url);
    EXPECT_FALSE(origin.ok()) << url;
    if (!origin.ok()) EXPECT_EQ(origin.status().code(), "invalid_url") << url;
  }
}

TEST(BuildUrlTest, JoinsBaseAndPathWithExactlyOneSlash) {
  struct Case {
    std::string base, path, expected;
  };
  const std::vector<Case> cases = {
      {"https://h", "/x", "https://h/x"},
      {"https://h/", "/x", "https://h/x"},
      {"https://h", "x", "https://h/x"},
      {"https://h/", "x", "https://h/x"},
      {"https://h/v1", "/x", "https://h/v1/x"},
      {"https://h/v1/", "/x", "https://h/v1/x"},
      {"https://h/v1", "x/y", "https://h/v1/x/y"},
      {"https://h/v1", "", "https://h/v1"},
      {"https://h", "", "https://h/"},
      {"https://h/v1", "/", "https://h/v1/"},
      {"https://h:8443/v1", "/a/b/", "https://h:8443/v1/a/b/"},
      {"https://h/v1?key=1", "/x", "https://h/v1/x?key=1"},
      {"https://h?key=1", "", "https://h/?key=1"},
      {"https://h", "/api/now/table/incident", "https://h/api/now/table/incident"},
  };
  for (const auto& c : cases) {
    Result<std::string> url = build_url(c.base, c.path, {});
    ASSERT_TRUE(url.ok()) << c.base << " + " << c.path << ": " << url.status().message();
    EXPECT_EQ(*url, c.expected) << c.base << " + " << c.path;
  }
}

TEST(BuildUrlTest, EncodesPathDataAndKeepsPathCharacters) {
  struct Case {
    std::string path, expected;
  };
  const std::vector<Case> cases = {
      {"/a b", "/a%20b"},
      {"/caf\xc3\xa9", "/caf%C3%A9"},       // UTF-8 bytes
      {"/\xe2\x82\xac/x", "/%E2%82%AC/x"},  // euro sign
      {"/q?x=1", "/q%3Fx=1"},               // a '?' is data, not a query
      {"/frag#x", "/frag%23x"},
      {"/100%", "/100%25"},  // a lone '%' is data
      {"/50%zz", "/50%25zz"},
      {"/a%20b", "/a%20b"},  // a valid escape is kept
      {"/a%c3%a9", "/a%C3%A9"},
      {"/<x>\"{}|^`[]", "/%3Cx%3E%22%7B%7D%7C%5E%60%5B%5D"},
      {"/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"},  // RFC 3986 pchar
      {"/users/me@example.com", "/users/me@example.com"},  // '@' after the first '/'
      {"/a//b", "/a//b"},                                  // an empty segment stays
      {"/...", "/..."},                                    // not a dot-segment
      {"/..a/b..", "/..a/b.."},
      {"/%2E%2E%2E", "/%2E%2E%2E"},
      {"/a\tb", ""},  // control: rejected (see below)
  };
  for (const auto& c : cases) {
    Result<std::string> url = build_url("https://h", c.path, {});
    if (c.expected.empty()) {
      EXPECT_FALSE(url.ok()) << c.path;
      continue;
    }
    ASSERT_TRUE(url.ok()) << c.path << ": " << url.status().message();
    EXPECT_EQ(*url, "https://h" + c.expected) << c.path;
  }
}

TEST(BuildUrlTest, RejectsPathsThatCouldLeaveTheOrigin) {
  const std::vector<std::string> hostile = {
      "//evil.example/x",
      "//evil.example",
      "http://evil/",
      "https://evil.example/x",
      "/redirect/http://evil/",
      "evil:8080/x",
      "javascript:alert(1)",
      "@evil",
      "@evil/x",
      "user@evil/x",
      "\\evil",
      "/\\evil",
      "\\\\evil\\x",
      "/a\\b",
      "%2F..",
      "%2f%2fevil.example",
      "/a%2Fb",
      "/a%2fb",
      "/a%5Cb",
      "/a%5cb",
      "/a/../b",
      "/..",
      "..",
      "../x",
      "/a/..",
      "/a/./b",
      "/.",
      "./x",
      "/%2e%2e/x",
      "/.%2E/x",
      "/%2E./x",
      "/a/%2e",
      "/a\r\nHost: evil",
      "/a\rb",
      "/a\nb",
      std::string("/a\0b", 4),
      "/a%0d%0aHost:%20evil",
      "/a%00",
      "/a%7F",
      "/a\x7f",
  };
  for (const auto& path : hostile) {
    Result<std::string> url = build_url("https://api.example/v1", path, {});
    EXPECT_FALSE(url.ok()) << "accepted: " << path << " -> " << (url.ok() ? *url : "");
    if (url.ok()) continue;
    EXPECT_EQ(url.status().code(), "unsafe_path") << path;
    // The message explains without echoing what the pill rendered.
    EXPECT_EQ(url.status().message().find("evil"), std::string::npos) << path;
  }
}

TEST(BuildUrlTest, EveryAcceptedUrlKeepsTheBaseOrigin) {
  // Whatever the path holds, an accepted result has the base's origin.
  const std::string base = "https://api.example:8443/v1";
  const Origin expected = *origin_of(base);
  const std::vector<std::string> paths = {
      "/x",   "x",      "",           "/@evil",   "/a@evil.example", "/evil.example",
      "/:80", "/;evil", "/a b/c?d#e", "/%40evil", "/%3A%2F",         "/x?url=http:/evil",
      "/%",
  };
  for (const auto& path : paths) {
    Result<std::string> url = build_url(base, path, {{"next", "//evil.example"}});
    if (!url.ok()) continue;
    Result<Origin> origin = origin_of(*url);
    ASSERT_TRUE(origin.ok()) << *url;
    EXPECT_EQ(*origin, expected) << path << " -> " << *url;
    EXPECT_TRUE(url->starts_with(base)) << *url;
  }
}

TEST(BuildUrlTest, QueryNamesAndValuesAreEncoded) {
  Result<std::string> url = build_url("https://h/v1", "/search",
                                      {{"q", "a b&c=d"},
                                       {"sysparm_limit", "10"},
                                       {"na me", "caf\xc3\xa9"},
                                       {"path", "/x?y#z"},
                                       {"empty", ""},
                                       {"plus", "1+1"}});
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(*url,
            "https://h/v1/search?q=a%20b%26c%3Dd&sysparm_limit=10&na%20me=caf%C3%A9"
            "&path=%2Fx%3Fy%23z&empty=&plus=1%2B1");
}

TEST(BuildUrlTest, QueryIsAppendedToAnExistingBaseQuery) {
  Result<std::string> url = build_url("https://h/v1?api=1", "/x", {{"a", "b"}});
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(*url, "https://h/v1/x?api=1&a=b");
}

// A REST step with a literal path builds its URL up to the query once
// (build_url_path) and appends each request's query (append_query): the two
// halves give exactly what build_url gives.
TEST(BuildUrlTest, TheTwoHalvesMakeTheSameUrl) {
  const std::vector<std::pair<std::string, std::string>> none;
  const std::vector<std::pair<std::string, std::string>> some = {{"sysparm_limit", "5"},
                                                                 {"q", "a b&c"}};
  for (const char* base : {"https://h", "https://h/", "https://h/v1", "https://h/v1/",
                           "https://h/v1?api=2", "https://h?x=1&y=2"}) {
    for (const char* path : {"", "/", "/api/now/table/incident", "items/", "a b/%41"}) {
      for (const auto* query : {&none, &some}) {
        Result<std::string> whole = build_url(base, path, *query);
        Result<std::string> half = build_url_path(base, path);
        ASSERT_EQ(whole.ok(), half.ok()) << base << " " << path;
        if (!whole.ok()) continue;
        append_query(*half, *query);
        EXPECT_EQ(*half, *whole) << base << " + " << path;
      }
    }
  }
  EXPECT_FALSE(build_url_path("https://h", "//evil.example").ok());
}

TEST(BuildUrlTest, BadBaseUrlsAreInvalid) {
  for (const std::string base : {"ftp://h", "h/v1", "https://u:p@h", "https://h/v1#frag"}) {
    Result<std::string> url = build_url(base, "/x", {});
    EXPECT_FALSE(url.ok()) << base;
    if (!url.ok()) EXPECT_EQ(url.status().code(), "invalid_url") << base;
  }
}

TEST(CheckHeaderTest, AcceptsOrdinaryHeaders) {
  EXPECT_TRUE(check_header("Accept", "application/json").ok());
  EXPECT_TRUE(check_header("X-Client", "flowline").ok());
  EXPECT_TRUE(check_header("X-Empty", "").ok());
  EXPECT_TRUE(check_header("X-Tab", "a\tb").ok());
  EXPECT_TRUE(check_header("X-Utf8", "caf\xc3\xa9").ok());
}

TEST(CheckHeaderTest, RejectsInjectionAndBadNames) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"X-A", "v\r\nX-Injected: 1"},
      {"X-A", "v\nX-Injected: 1"},
      {"X-A", "v\r"},
      {"X-A", std::string("v\0w", 3)},
      {"X-A\r\nX-B", "v"},
      {"X A", "v"},
      {"X-A:", "v"},
      {"", "v"},
      {std::string("X\0A", 3), "v"},
      {"X-\xc3\xa9", "v"},
  };
  for (const auto& [name, value] : bad) {
    Status status = check_header(name, value);
    EXPECT_FALSE(status.ok()) << name;
    if (status.ok()) continue;
    EXPECT_EQ(status.code(), "unsafe_header");
    EXPECT_EQ(status.message().find("Injected"), std::string::npos) << "value echoed";
  }
}

TEST(CheckHeaderTest, MessageNeverShowsTheValue) {
  Status status = check_header("Authorization", "Bearer s3cr3t-token\r\nX: y");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().find("s3cr3t"), std::string::npos);
  EXPECT_NE(status.message().find("Authorization"), std::string::npos);
}

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  EXPECT_EQ(percent_encode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percent_encode("a b"), "a%20b");
  EXPECT_EQ(percent_encode("/?#[]@!$&'()*+,;=%:"),
            "%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25%3A");
  EXPECT_EQ(percent_encode("\xff\x00"), "%FF");  // a C string ends at NUL
  EXPECT_EQ(percent_encode(std::string("\xff\x00", 2)), "%FF%00");
  EXPECT_EQ(percent_encode(""), "");
}

}  // namespace
}  // namespace flowline
