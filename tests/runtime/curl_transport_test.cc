// CurlTransport against real loopback HTTP(S) servers.
#include "runtime/http/curl_transport.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/http_test_server.h"

namespace flowline {
namespace {

using std::chrono::milliseconds;
using test_support::CannedResponse;
using test_support::HttpTestServer;
using test_support::HttpTestServerOptions;
using test_support::ReceivedRequest;
using Clock = std::chrono::steady_clock;

constexpr char kToken[] = "tok-5ecret-d00d";

CannedResponse ok(std::string body = "ok") {
  return CannedResponse{.status = 200, .body = std::move(body)};
}

CannedResponse redirect(int status, std::string location) {
  return CannedResponse{.status = status, .body = "moved", .headers = {{"Location", location}}};
}

// Echoes what the server received as JSON-free plain text the tests can compare.
CannedResponse echo(const ReceivedRequest& r) {
  return CannedResponse{.status = 200,
                        .body = r.method + " " + r.target + "\n" + r.body,
                        .headers = {{"X-Mixed-Case-Header", "Value"}}};
}

// A header value for comparisons; a missing header fails them instead of crashing.
std::string value_of(const std::string* header) { return header ? *header : "<missing>"; }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Servers first: they are destroyed last, after the loop has closed its
// keep-alive connections (httplib's stop() would otherwise wait them out).
class CurlTransportTest : public ::testing::Test {
 protected:
  CurlTransportTest() { server_.start(); }

  HttpRequest request(std::string method, std::string path) {
    HttpRequest r;
    r.method = std::move(method);
    r.url = server_.url(path);
    r.timeout = milliseconds(5000);
    return r;
  }

  // Sends and runs the loop until the response arrives.
  HttpResponse send(HttpRequest r) {
    std::optional<HttpResponse> response;
    transport_.send(std::move(r), [&](HttpResponse got) {
      EXPECT_TRUE(loop_.in_loop_thread());
      response = std::move(got);
    });
    EXPECT_FALSE(response.has_value()) << "done ran inside send()";
    loop_.run_until([&] { return response.has_value(); });
    return std::move(*response);
  }

  HttpTestServer server_;
  HttpTestServer other_;  // a second origin, started by the tests that need it
  EventLoop loop_;
  CurlTransport transport_{loop_};
};

TEST_F(CurlTransportTest, EveryMethodSendsItsBodyAndHeaders) {
  server_.on("*", "/echo", echo);
  for (const std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    server_.clear_records();
    HttpRequest r = request(method, "/echo?a=1&b=two");
    const bool has_body = method != "GET";
    if (has_body) r.body = "payload for " + method;
    r.headers = {{"X-Trace", "t-" + method}, {"Accept", "text/plain"}};
    HttpResponse response = send(std::move(r));

    ASSERT_EQ(response.error, HttpError::None) << method << ": " << response.error_message;
    EXPECT_EQ(response.status, 200);
    const std::string expected_body = has_body ? "payload for " + method : "";
    EXPECT_EQ(response.body, method + " /echo?a=1&b=two\n" + expected_body);
    ASSERT_EQ(server_.request_count(), 1u);
    const ReceivedRequest got = server_.requests()[0];
    EXPECT_EQ(got.method, method);
    EXPECT_EQ(got.body, expected_body);
    ASSERT_NE(got.header("x-trace"), nullptr) << method;
    EXPECT_EQ(*got.header("x-trace"), "t-" + method);
    EXPECT_EQ(got.header("authorization"), nullptr);
    EXPECT_EQ(got.header("expect"), nullptr);
    EXPECT_EQ(got.header("content-type"), nullptr) << "libcurl's form default must not leak in";
    ASSERT_NE(got.header("user-agent"), nullptr);
    EXPECT_TRUE(got.header("user-agent")->starts_with("flowline/"));
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      ASSERT_NE(got.header("content-length"), nullptr);
      EXPECT_EQ(*got.header("content-length"), std::to_string(expected_body.size()));
    }
    EXPECT_EQ(response.final_url, server_.url("/echo?a=1&b=two"));
    EXPECT_GT(response.duration.count(), 0);
  }
}

// Accepts one connection on 127.0.0.1, reads one request (headers and a
// Content-Length body) and answers 204: for asserting exact bytes on the wire,
// which httplib normalises away (it drops headers with empty values).
class RawRequestCapture {
 public:
  RawRequestCapture() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    socklen_t length = sizeof address;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this] {
      const int client = ::accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      char buffer[4096];
      while (true) {
        const ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        raw_.append(buffer, static_cast<size_t>(n));
        const size_t end = raw_.find("\r\n\r\n");
        if (end == std::string::npos) continue;
        size_t body_length = 0;
        if (const size_t cl = raw_.find("Content-Length: "); cl != std::string::npos)
          body_length = std::stoul(raw_.substr(cl + 16));
        if (raw_.size() >= end + 4 + body_length) break;
      }
      const std::string reply = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
      ::send(client, reply.data(), reply.size(), 0);
      ::close(client);
    });
  }
  ~RawRequestCapture() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Valid once the response arrived.
  const std::string& raw() const { return raw_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string raw_;
};

TEST_F(CurlTransportTest, RequestBytesOnTheWire) {
  RawRequestCapture capture;
  HttpRequest r;
  r.method = "POST";
  r.url = capture.url("/wire?q=1");
  r.body = "{}";
  r.headers = {{"X-Empty", ""}, {"Content-Type", "application/json"}};
  r.bearer_token = kToken;
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 204);
  const std::string& raw = capture.raw();
  EXPECT_TRUE(raw.starts_with("POST /wire?q=1 HTTP/1.1\r\n")) << raw;
  EXPECT_TRUE(contains(raw, "\r\nX-Empty:\r\n")) << "an empty header is sent empty: " << raw;
  EXPECT_TRUE(contains(raw, "\r\nContent-Type: application/json\r\n")) << raw;
  EXPECT_TRUE(contains(raw, std::string("\r\nAuthorization: Bearer ") + kToken + "\r\n"));
  EXPECT_TRUE(contains(raw, "\r\nContent-Length: 2\r\n")) << raw;
  EXPECT_FALSE(contains(raw, "Expect:")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n{}")) << raw;
}

TEST_F(CurlTransportTest, HeadAndBodylessPutWork) {
  server_.on("*", "/r", echo);
  HttpResponse head = send(request("HEAD", "/r"));
  ASSERT_EQ(head.error, HttpError::None) << head.error_message;
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");

  HttpResponse put = send(request("PUT", "/r"));
  ASSERT_EQ(put.error, HttpError::None) << put.error_message;
  EXPECT_EQ(value_of(server_.requests().back().header("content-length")), "0");
}

// Sequential requests run on the same pooled easy handle, which keeps its
// options between requests: nothing of one request may reach the next.
TEST_F(CurlTransportTest, ReusedHandleForgetsThePreviousMethodAndBody) {
  server_.on("*", "/r", echo);
  struct Step {
    std::string method, body;
  };
  const std::vector<Step> steps = {
      {"POST", "first body"}, {"GET", ""}, {"PUT", "second"},  {"DELETE", ""},
      {"HEAD", ""},           {"GET", ""}, {"PATCH", "third"}, {"HEAD", ""},
      {"DELETE", "gone"},     {"GET", ""}, {"POST", ""},       {"GET", ""},
  };
  for (const Step& step : steps) {
    server_.clear_records();
    HttpRequest r = request(step.method, "/r");
    r.body = step.body;
    HttpResponse response = send(std::move(r));
    ASSERT_EQ(response.error, HttpError::None) << step.method << ": " << response.error_message;
    ASSERT_EQ(server_.request_count(), 1u) << step.method;
    const ReceivedRequest got = server_.requests()[0];
    EXPECT_EQ(got.method, step.method);
    EXPECT_EQ(got.body, step.body) << step.method;
    EXPECT_EQ(got.header("content-type"), nullptr) << step.method;
    const bool has_length = step.method == "POST" || step.method == "PUT" ||
                            step.method == "PATCH" || !step.body.empty();
    EXPECT_EQ(got.header("content-length") != nullptr, has_length) << step.method;
    EXPECT_EQ(response.body, step.method == "HEAD" ? "" : step.method + " /r\n" + step.body);
  }
  EXPECT_LE(transport_.connections_opened(), 2u);
}

TEST_F(CurlTransportTest, ReusedHandleSendsExactlyTheNewRequest) {
  server_.on("*", "/r", echo);
  HttpRequest post = request("POST", "/r");
  post.body = "{\"secret\":1}";
  post.bearer_token = kToken;
  post.headers = {{"Content-Type", "application/json"}, {"Cookie", "session=abc"}};
  post.secret_headers = {{"X-Api-Key", "k-123"}};
  ASSERT_EQ(send(std::move(post)).error, HttpError::None);

  RawRequestCapture capture;
  HttpRequest bare;
  bare.method = "DELETE";
  bare.url = capture.url("/wire");
  HttpResponse response = send(std::move(bare));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  const std::string& raw = capture.raw();
  EXPECT_TRUE(raw.starts_with("DELETE /wire HTTP/1.1\r\n")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << "no body: " << raw;
  for (const char* leftover :
       {"Authorization", "Cookie", "X-Api-Key", "Content-Type", "Content-Length", "Expect"})
    EXPECT_FALSE(contains(raw, std::string("\r\n") + leftover + ":")) << leftover << ": " << raw;
  EXPECT_FALSE(contains(raw, kToken)) << raw;
  EXPECT_TRUE(contains(raw, "\r\nUser-Agent: flowline/")) << raw;
}

TEST_F(CurlTransportTest, RequestAfterOneWithCredentialsSendsNone) {
  server_.on("GET", "/me", [](const ReceivedRequest&) { return ok("me"); });
  HttpRequest with = request("GET", "/me");
  with.bearer_token = kToken;
  with.secret_headers = {{"X-Api-Key", "k-123"}};
  with.headers = {{"Cookie", "session=abc"}};
  ASSERT_EQ(send(std::move(with)).error, HttpError::None);
  ASSERT_NE(server_.requests()[0].header("authorization"), nullptr);

  HttpResponse response = send(request("GET", "/me"));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  ASSERT_EQ(server_.request_count(), 2u);
  const ReceivedRequest got = server_.requests()[1];
  EXPECT_EQ(got.header("authorization"), nullptr);
  EXPECT_EQ(got.header("x-api-key"), nullptr);
  EXPECT_EQ(got.header("cookie"), nullptr);
}

TEST_F(CurlTransportTest, RequestAfterATimeoutSucceeds) {
  server_.on("GET", "/slow", [](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = "late", .delay = milliseconds(500)};
  });
  server_.on("GET", "/fast", [](const ReceivedRequest&) { return ok("fast"); });
  HttpRequest slow = request("GET", "/slow");
  slow.timeout = milliseconds(100);
  slow.max_response_bytes = 3;
  EXPECT_EQ(send(std::move(slow)).error, HttpError::Timeout);

  const auto start = Clock::now();
  HttpResponse response = send(request("GET", "/fast"));
  EXPECT_LT(Clock::now() - start, milliseconds(1000)) << "the old timeout must not linger";
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "fast");
}

TEST_F(CurlTransportTest, FailedRequestLeavesNoErrorForTheNext) {
  server_.on("GET", "/big", [](const ReceivedRequest&) { return ok(std::string(5000, 'x')); });
  HttpRequest big = request("GET", "/big");
  big.max_response_bytes = 10;
  EXPECT_EQ(send(std::move(big)).error, HttpError::TooLarge);
  HttpResponse response = send(request("GET", "/big"));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.body.size(), 5000u);
  EXPECT_EQ(response.error_message, "");
}

TEST_F(CurlTransportTest, JsonBodyRoundTrips) {
  server_.on("POST", "/json", [](const ReceivedRequest& r) {
    return CannedResponse{.status = 201, .body = r.body, .content_type = "application/json"};
  });
  const std::string json =
      R"({"name":"caf\u00e9 \ud83d\ude00","list":[1,2.5,true,null],"nested":{"k":"v"}})";
  HttpRequest r = request("POST", "/json");
  r.body = json;
  r.headers = {{"Content-Type", "application/json"}};
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.body, json);
  ASSERT_NE(response.header("content-type"), nullptr);
  EXPECT_EQ(*response.header("content-type"), "application/json");
  EXPECT_EQ(value_of(server_.requests()[0].header("content-type")), "application/json");
}

TEST_F(CurlTransportTest, ResponseHeaderNamesAreLowerCased) {
  server_.on("GET", "/h", echo);
  HttpResponse response = send(request("GET", "/h"));
  ASSERT_EQ(response.error, HttpError::None);
  ASSERT_NE(response.header("x-mixed-case-header"), nullptr);
  EXPECT_EQ(*response.header("x-mixed-case-header"), "Value");
  EXPECT_NE(response.header("content-length"), nullptr);
  for (const auto& [name, value] : response.headers)
    for (const char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
}

TEST_F(CurlTransportTest, BearerTokenReachesTheServerAndNothingElse) {
  server_.on("GET", "/me", [](const ReceivedRequest& r) { return ok("hello"); });
  HttpRequest r = request("GET", "/me");
  r.bearer_token = kToken;
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None);
  ASSERT_NE(server_.requests()[0].header("authorization"), nullptr);
  EXPECT_EQ(*server_.requests()[0].header("authorization"), std::string("Bearer ") + kToken);
  EXPECT_FALSE(contains(response.final_url, kToken));
  EXPECT_FALSE(contains(response.error_message, kToken));
  for (const auto& [name, value] : response.headers) EXPECT_FALSE(contains(value, kToken));
}

TEST_F(CurlTransportTest, SecretHeadersGoToTheOrigin) {
  server_.on("GET", "/k", [](const ReceivedRequest&) { return ok(); });
  HttpRequest r = request("GET", "/k");
  r.secret_headers = {{"X-Api-Key", "k-123"}};
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None);
  ASSERT_NE(server_.requests()[0].header("x-api-key"), nullptr);
  EXPECT_EQ(*server_.requests()[0].header("x-api-key"), "k-123");
}

TEST_F(CurlTransportTest, TimeoutEndsTheRequest) {
  server_.on("GET", "/slow", [](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .body = "late", .delay = milliseconds(700)};
  });
  HttpRequest r = request("GET", "/slow");
  r.timeout = milliseconds(150);
  r.bearer_token = kToken;
  const auto start = Clock::now();
  HttpResponse response = send(std::move(r));
  const auto took = Clock::now() - start;
  EXPECT_EQ(response.error, HttpError::Timeout) << response.error_message;
  EXPECT_EQ(response.status, 0);
  EXPECT_GE(took, milliseconds(140));  // libcurl's timer has millisecond granularity
  EXPECT_LT(took, milliseconds(600));
  EXPECT_FALSE(response.error_message.empty());
  EXPECT_FALSE(contains(response.error_message, kToken));
}

TEST_F(CurlTransportTest, ConnectionRefusedIsAConnectError) {
  // A bound socket that does not listen: connecting to it is refused.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  HttpRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(ntohs(address.sin_port)) + "/x";
  r.bearer_token = kToken;
  HttpResponse response = send(std::move(r));
  ::close(fd);
  EXPECT_EQ(response.error, HttpError::Connect) << response.error_message;
  EXPECT_EQ(response.status, 0);
  EXPECT_FALSE(contains(response.error_message, kToken));
}

TEST_F(CurlTransportTest, BodyOverTheLimitIsTooLarge) {
  server_.on("GET", "/big", [](const ReceivedRequest&) { return ok(std::string(5000, 'x')); });
  HttpRequest r = request("GET", "/big");
  r.max_response_bytes = 4999;
  HttpResponse response = send(r);
  EXPECT_EQ(response.error, HttpError::TooLarge) << response.error_message;
  EXPECT_TRUE(contains(response.error_message, "max_response_bytes"));
  EXPECT_TRUE(response.body.empty() || response.body.size() <= 4999);

  r.max_response_bytes = 5000;  // exactly the limit is fine
  HttpResponse fits = send(r);
  ASSERT_EQ(fits.error, HttpError::None) << fits.error_message;
  EXPECT_EQ(fits.body.size(), 5000u);
}

TEST_F(CurlTransportTest, CompressedResponsesAreDecodedAndLimitedAfterDecoding) {
  // httplib compresses text responses for clients that accept it; a small
  // compressed body that inflates past the limit must still be refused.
  server_.on("GET", "/text", [](const ReceivedRequest&) { return ok(std::string(200'000, 'a')); });
  HttpResponse response = send(request("GET", "/text"));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.body, std::string(200'000, 'a'));
  ASSERT_NE(server_.requests()[0].header("accept-encoding"), nullptr);
  ASSERT_NE(response.header("content-encoding"), nullptr) << "the server did not compress";
  ASSERT_NE(response.header("content-length"), nullptr);
  EXPECT_LT(std::stoul(*response.header("content-length")), 10'000u);

  HttpRequest r = request("GET", "/text");
  r.max_response_bytes = 100'000;
  HttpResponse bomb = send(std::move(r));
  EXPECT_EQ(bomb.error, HttpError::TooLarge) << bomb.error_message;
}

TEST_F(CurlTransportTest, HeaderInjectionIsRefusedAndNothingIsSent) {
  server_.on("*", "/x", echo);
  const std::vector<HttpHeaders> bad = {
      {{"X-A", "v\r\nX-Injected: 1"}},  {{"X-A", "v\nX-Injected: 1"}},
      {{"X-A\r\nX-Injected", "1"}},     {{"Host", "evil.example"}},
      {{"Content-Length", "0"}},        {{"Transfer-Encoding", "chunked"}},
      {{"Authorization", "Basic abc"}},  // together with the bearer token
  };
  for (const auto& headers : bad) {
    HttpRequest r = request("POST", "/x");
    r.headers = headers;
    r.bearer_token = kToken;
    HttpResponse response = send(std::move(r));
    EXPECT_EQ(response.error, HttpError::InvalidRequest) << headers[0].first;
    EXPECT_EQ(response.status, 0);
    EXPECT_FALSE(contains(response.error_message, kToken));
    EXPECT_FALSE(contains(response.error_message, "Injected"));
  }
  HttpRequest token_injection = request("GET", "/x");
  token_injection.bearer_token = std::string(kToken) + "\r\nX-Injected: 1";
  HttpResponse response = send(std::move(token_injection));
  EXPECT_EQ(response.error, HttpError::InvalidRequest);
  EXPECT_FALSE(contains(response.error_message, kToken));

  EXPECT_FALSE(server_.wait_for_requests(1, milliseconds(200)));
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(CurlTransportTest, UnsafeUrlsAndMethodsAreRefused) {
  server_.on("*", "/x", echo);
  const int port = server_.port();
  for (const std::string& url : std::vector<std::string>{
           "ftp://127.0.0.1:" + std::to_string(port) + "/x",
           "http://user:pw@127.0.0.1:" + std::to_string(port) + "/x",
           "http://127.1:" + std::to_string(port) + "/x",  // libcurl would read 127.0.0.1
           "http://127.0.0.1:" + std::to_string(port) + "/a b", "/relative", ""}) {
    HttpRequest r;
    r.url = url;
    HttpResponse response = send(std::move(r));
    EXPECT_EQ(response.error, HttpError::InvalidRequest) << url;
  }
  for (const std::string method : {"TRACE", "CONNECT", "get", "GET\r\nX: y"}) {
    HttpRequest r = request(method, "/x");
    EXPECT_EQ(send(std::move(r)).error, HttpError::InvalidRequest) << method;
  }
  HttpRequest zero = request("GET", "/x");
  zero.timeout = milliseconds(0);
  EXPECT_EQ(send(std::move(zero)).error, HttpError::InvalidRequest);
  EXPECT_EQ(server_.request_count(), 0u);
}

TEST_F(CurlTransportTest, SameOriginRedirectIsFollowedWithTheToken) {
  server_.on("GET", "/old", [](const ReceivedRequest&) { return redirect(302, "/mid"); });
  server_.on("GET", "/mid", [](const ReceivedRequest&) { return redirect(301, "new?x=1"); });
  server_.on("GET", "/new", [](const ReceivedRequest&) { return ok("arrived"); });
  HttpRequest r = request("GET", "/old");
  r.bearer_token = kToken;
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "arrived");
  EXPECT_EQ(response.final_url, server_.url("/new?x=1"));
  EXPECT_EQ(response.header("location"), nullptr) << "headers are the final hop's";
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& got : requests) {
    ASSERT_NE(got.header("authorization"), nullptr) << got.target;
    EXPECT_EQ(*got.header("authorization"), std::string("Bearer ") + kToken);
  }
}

TEST_F(CurlTransportTest, PostRedirectsSwitchToGetExceptFor307And308) {
  server_.on("POST", "/see-other", [](const ReceivedRequest&) { return redirect(303, "/land"); });
  server_.on("POST", "/found", [](const ReceivedRequest&) { return redirect(302, "/land"); });
  server_.on("POST", "/temporary", [](const ReceivedRequest&) { return redirect(307, "/land"); });
  server_.on("POST", "/permanent", [](const ReceivedRequest&) { return redirect(308, "/land"); });
  server_.on("*", "/land", echo);
  struct Case {
    std::string path, method_at_landing, body_at_landing;
  };
  for (const Case& c : std::vector<Case>{{"/see-other", "GET", ""},
                                         {"/found", "GET", ""},
                                         {"/temporary", "POST", "data"},
                                         {"/permanent", "POST", "data"}}) {
    server_.clear_records();
    HttpRequest r = request("POST", c.path);
    r.body = "data";
    HttpResponse response = send(std::move(r));
    ASSERT_EQ(response.error, HttpError::None) << c.path << ": " << response.error_message;
    ASSERT_EQ(server_.request_count(), 2u) << c.path;
    const ReceivedRequest landing = server_.requests()[1];
    EXPECT_EQ(landing.method, c.method_at_landing) << c.path;
    EXPECT_EQ(landing.body, c.body_at_landing) << c.path;
  }
}

TEST_F(CurlTransportTest, NeverPolicyReturnsTheRedirect) {
  server_.on("GET", "/old", [](const ReceivedRequest&) { return redirect(302, "/new"); });
  server_.on("GET", "/new", [](const ReceivedRequest&) { return ok(); });
  HttpRequest r = request("GET", "/old");
  r.redirects = RedirectPolicy::Never;
  HttpResponse response = send(std::move(r));
  ASSERT_EQ(response.error, HttpError::None);
  EXPECT_EQ(response.status, 302);
  ASSERT_NE(response.header("location"), nullptr);
  EXPECT_EQ(*response.header("location"), "/new");
  EXPECT_EQ(response.body, "moved");
  EXPECT_EQ(response.final_url, server_.url("/old"));
  EXPECT_EQ(server_.request_count(), 1u);
}

TEST_F(CurlTransportTest, TooManyRedirectsStops) {
  server_.on("GET", "/loop", [](const ReceivedRequest&) { return redirect(302, "/loop"); });
  HttpRequest r = request("GET", "/loop");
  r.max_redirects = 3;
  HttpResponse response = send(std::move(r));
  EXPECT_EQ(response.error, HttpError::TooManyRedirects) << response.error_message;
  EXPECT_EQ(server_.request_count(), 4u);  // the first request and three redirects
}

TEST_F(CurlTransportTest, RedirectToANonHttpSchemeIsNotFollowed) {
  server_.on("GET", "/ftp",
             [](const ReceivedRequest&) { return redirect(302, "ftp://127.0.0.1/file"); });
  HttpResponse response = send(request("GET", "/ftp"));
  ASSERT_EQ(response.error, HttpError::None);
  EXPECT_EQ(response.status, 302);
}

// Two loopback servers on different ports: two origins.
class CrossOriginRedirectTest : public CurlTransportTest {
 protected:
  CrossOriginRedirectTest() {
    other_.start();
    other_.on("*", "/landing", [](const ReceivedRequest&) { return ok("elsewhere"); });
    other_.on("GET", "/back",
              [this](const ReceivedRequest&) { return redirect(302, server_.url("/home")); });
    server_.on("*", "/go",
               [this](const ReceivedRequest&) { return redirect(302, other_.url("/landing")); });
    server_.on("GET", "/roundtrip",
               [this](const ReceivedRequest&) { return redirect(302, other_.url("/back")); });
    server_.on("GET", "/home", [](const ReceivedRequest&) { return ok("home"); });
  }

  HttpRequest with_credentials(std::string path, RedirectPolicy policy) {
    HttpRequest r = request("GET", std::move(path));
    r.bearer_token = kToken;
    r.redirects = policy;
    r.headers = {{"Cookie", "session=abc"}, {"X-Public", "p"}};
    r.secret_headers = {{"X-Api-Key", "k-123"}};
    return r;
  }
};

TEST_F(CrossOriginRedirectTest, SameOriginPolicyStopsAtAnotherOrigin) {
  HttpResponse response = send(with_credentials("/go", RedirectPolicy::SameOrigin));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 302);
  ASSERT_NE(response.header("location"), nullptr);
  EXPECT_EQ(*response.header("location"), other_.url("/landing"));
  EXPECT_EQ(other_.request_count(), 0u);
}

TEST_F(CrossOriginRedirectTest, StripTokenFollowsWithoutAnyCredential) {
  HttpResponse response = send(with_credentials("/go", RedirectPolicy::StripToken));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "elsewhere");
  EXPECT_EQ(response.final_url, other_.url("/landing"));

  ASSERT_EQ(server_.request_count(), 1u);
  EXPECT_NE(server_.requests()[0].header("authorization"), nullptr);
  ASSERT_EQ(other_.request_count(), 1u);
  const ReceivedRequest landed = other_.requests()[0];
  EXPECT_EQ(landed.header("authorization"), nullptr);
  EXPECT_EQ(landed.header("cookie"), nullptr);
  EXPECT_EQ(landed.header("x-api-key"), nullptr);
  ASSERT_NE(landed.header("x-public"), nullptr);
  for (const auto& [name, value] : landed.headers) EXPECT_FALSE(contains(value, kToken)) << name;
}

TEST_F(CrossOriginRedirectTest, StripTokenNeverResendsTheTokenAfterLeaving) {
  // origin -> other -> origin: the way back was chosen by the other origin.
  HttpResponse response = send(with_credentials("/roundtrip", RedirectPolicy::StripToken));
  ASSERT_EQ(response.error, HttpError::None) << response.error_message;
  EXPECT_EQ(response.body, "home");
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].header("authorization"), nullptr);
  EXPECT_EQ(requests[1].header("authorization"), nullptr);
  EXPECT_EQ(other_.requests()[0].header("authorization"), nullptr);
}

TEST_F(CrossOriginRedirectTest, NeverPolicyReturnsTheRedirect) {
  HttpResponse response = send(with_credentials("/go", RedirectPolicy::Never));
  EXPECT_EQ(response.status, 302);
  EXPECT_EQ(other_.request_count(), 0u);
}

TEST_F(CurlTransportTest, KeepAliveReusesOneConnection) {
  server_.on("GET", "/ping", [](const ReceivedRequest&) { return ok("pong"); });
  constexpr int kRequests = 100;
  for (int i = 0; i < kRequests; ++i) {
    HttpResponse response = send(request("GET", "/ping"));
    ASSERT_EQ(response.error, HttpError::None) << i << ": " << response.error_message;
  }
  EXPECT_EQ(server_.request_count(), static_cast<size_t>(kRequests));
  EXPECT_LE(server_.connection_count(), 2u);
  EXPECT_LE(transport_.connections_opened(), 2u);
}

TEST(CurlTransportConcurrencyTest, TwoHundredRequestsInFlightOnOneLoop) {
  constexpr int kRequests = 200;
  constexpr auto kHandlerDelay = milliseconds(100);
  // httplib serves one connection per worker thread.
  HttpTestServer server(HttpTestServerOptions{.threads = kRequests + 8});
  server.on("GET", "/slow", [&](const ReceivedRequest& r) {
    return CannedResponse{.status = 200, .body = r.target, .delay = kHandlerDelay};
  });
  server.start();
  {
    EventLoop loop;
    CurlTransport transport(loop);
    std::vector<std::optional<HttpResponse>> responses(kRequests);
    int completed = 0;
    const auto start = Clock::now();
    for (int i = 0; i < kRequests; ++i) {
      HttpRequest r;
      r.url = server.url("/slow?i=" + std::to_string(i));
      transport.send(std::move(r), [&, i](HttpResponse response) {
        responses[i] = std::move(response);
        ++completed;
      });
    }
    loop.run_until([&] { return completed == kRequests; });
    const auto took = Clock::now() - start;
    for (int i = 0; i < kRequests; ++i) {
      ASSERT_TRUE(responses[i].has_value());
      ASSERT_EQ(responses[i]->error, HttpError::None) << i << ": " << responses[i]->error_message;
      EXPECT_EQ(responses[i]->body, "/slow?i=" + std::to_string(i));
    }
    // One after another they would take kRequests * 100 ms = 20 s.
    EXPECT_LT(took, milliseconds(5000));
    EXPECT_EQ(transport.in_flight(), 0u);
    std::printf("[ measured ] %d concurrent requests with a %lld ms handler: %lld ms\n", kRequests,
                static_cast<long long>(kHandlerDelay.count()),
                static_cast<long long>(std::chrono::duration_cast<milliseconds>(took).count()));
  }
}

TEST_F(CurlTransportTest, SendFromAnotherThreadCompletesOnTheLoop) {
  server_.on("GET", "/t", [](const ReceivedRequest&) { return ok("threaded"); });
  std::optional<HttpResponse> response;
  bool on_loop = false;
  std::thread sender([&] {
    transport_.send(request("GET", "/t"), [&](HttpResponse r) {
      on_loop = loop_.in_loop_thread();
      response = std::move(r);
    });
  });
  sender.join();
  loop_.run_until([&] { return response.has_value(); });
  EXPECT_TRUE(on_loop);
  EXPECT_EQ(response->body, "threaded");
}

TEST_F(CurlTransportTest, DestroyingTheTransportCancelsRequestsInFlight) {
  server_.on("GET", "/slow", [](const ReceivedRequest&) {
    return CannedResponse{.status = 200, .delay = milliseconds(300)};
  });
  auto transport = std::make_unique<CurlTransport>(loop_);
  std::optional<HttpResponse> response;
  int calls = 0;
  HttpRequest r = request("GET", "/slow");
  transport->send(std::move(r), [&](HttpResponse got) {
    ++calls;
    response = std::move(got);
  });
  // Let the request reach the server, then shut the transport down.
  bool arrived = false;
  std::thread waiter([&] {
    server_.wait_for_requests(1, milliseconds(5000));
    loop_.post([&] { arrived = true; });
  });
  loop_.run_until([&] { return arrived; });
  waiter.join();
  ASSERT_EQ(server_.request_count(), 1u);
  ASSERT_EQ(transport->in_flight(), 1u);
  transport.reset();
  loop_.run_until([&] { return response.has_value(); });
  EXPECT_EQ(response->error, HttpError::Cancelled);
  bool later = false;
  loop_.call_after(milliseconds(400), [&] { later = true; });
  loop_.run_until([&] { return later; });
  EXPECT_EQ(calls, 1);
}

TEST(CurlTransportTlsTest, SelfSignedServerNeedsItsCaFile) {
  test_support::SelfSignedCertificate certificate;
  HttpTestServer server(HttpTestServerOptions{.cert_file = certificate.cert_file(),
                                              .key_file = certificate.key_file()});
  server.on("GET", "/secure", [](const ReceivedRequest&) { return ok("over tls"); });
  server.start();
  ASSERT_TRUE(server.origin().starts_with("https://"));
  {
    EventLoop loop;
    CurlTransport transport(loop);
    auto send = [&](HttpRequest r) {
      std::optional<HttpResponse> response;
      transport.send(std::move(r), [&](HttpResponse got) { response = std::move(got); });
      loop.run_until([&] { return response.has_value(); });
      return std::move(*response);
    };
    HttpRequest r;
    r.url = server.url("/secure");
    r.bearer_token = kToken;
    HttpResponse untrusted = send(r);
    EXPECT_EQ(untrusted.error, HttpError::Tls) << untrusted.error_message;
    EXPECT_EQ(untrusted.status, 0);
    EXPECT_FALSE(contains(untrusted.error_message, kToken));
    EXPECT_EQ(server.request_count(), 0u) << "nothing may be sent before the peer is verified";

    r.ca_file = certificate.cert_file();
    HttpResponse trusted = send(r);
    ASSERT_EQ(trusted.error, HttpError::None) << trusted.error_message;
    EXPECT_EQ(trusted.status, 200);
    EXPECT_EQ(trusted.body, "over tls");
    ASSERT_EQ(server.request_count(), 1u);
    EXPECT_EQ(value_of(server.requests()[0].header("authorization")),
              std::string("Bearer ") + kToken);

    // The certificate names 127.0.0.1, not localhost: host verification is on.
    HttpRequest wrong_name = r;
    wrong_name.url = "https://localhost:" + std::to_string(server.port()) + "/secure";
    HttpResponse mismatch = send(wrong_name);
    EXPECT_EQ(mismatch.error, HttpError::Tls) << mismatch.error_message;
    EXPECT_EQ(server.request_count(), 1u);
  }
}

// The pooled handle a trusted request used must not trust the CA file for
// the next request, nor hand it the connection that CA file verified.
TEST(CurlTransportTlsTest, CaFileIsNotInheritedByTheNextRequest) {
  test_support::SelfSignedCertificate certificate;
  HttpTestServer server(HttpTestServerOptions{.cert_file = certificate.cert_file(),
                                              .key_file = certificate.key_file()});
  server.on("GET", "/secure", [](const ReceivedRequest&) { return ok("over tls"); });
  server.on("GET", "/redirect", [&](const ReceivedRequest&) { return redirect(302, "/secure"); });
  server.start();
  {
    EventLoop loop;
    CurlTransport transport(loop);
    auto send = [&](HttpRequest r) {
      std::optional<HttpResponse> response;
      transport.send(std::move(r), [&](HttpResponse got) { response = std::move(got); });
      loop.run_until([&] { return response.has_value(); });
      return std::move(*response);
    };
    HttpRequest trusted;
    trusted.url = server.url("/redirect");  // two hops on the handle, both with the CA file
    trusted.ca_file = certificate.cert_file();
    HttpResponse first = send(trusted);
    ASSERT_EQ(first.error, HttpError::None) << first.error_message;
    EXPECT_EQ(first.body, "over tls");
    ASSERT_EQ(server.request_count(), 2u);

    HttpRequest untrusted;
    untrusted.url = server.url("/secure");
    untrusted.bearer_token = kToken;
    HttpResponse second = send(untrusted);
    EXPECT_EQ(second.error, HttpError::Tls) << second.error_message;
    EXPECT_EQ(server.request_count(), 2u) << "nothing may be sent before the peer is verified";

    HttpResponse third = send(trusted);
    EXPECT_EQ(third.error, HttpError::None) << third.error_message;
  }
}

// Sequential keep-alive GETs: the transport against bare libcurl on the same
// multi loop, alternating rounds. Each completion starts the next request on
// the loop thread, as the runtime's coroutines do. Wall time depends on the
// (shared) machine; the loop thread's CPU time per request is the steadier
// measure of overhead. Not a timed test; run with --gtest_also_run_disabled_tests.
TEST(CurlTransportBenchmark, DISABLED_SequentialKeepAliveGets) {
  constexpr int kRounds = 5;
  constexpr int kRequestsPerRound = 2'000;
  HttpTestServer server;
  // A type httplib does not compress: brotli-compressing each response would
  // cost the server ~0.6 ms and hide what is measured here.
  server.on("GET", "/ping", [](const ReceivedRequest&) {
    return CannedResponse{
        .status = 200, .body = "pong", .content_type = "application/octet-stream"};
  });
  server.start();
  EventLoop loop;
  const std::string url = server.url("/ping");

  // Bare libcurl: one easy handle, the same headers and the options that matter.
  CURL* easy = curl_easy_init();
  std::string sink;
  curl_slist* headers = nullptr;
  int remaining = 0;
  std::function<void()> bare_next = [&] {
    if (remaining-- == 0) return;
    sink.clear();
    curl_slist_free_all(headers);
    headers = curl_slist_append(nullptr, (std::string("Authorization: Bearer ") + kToken).c_str());
    headers = curl_slist_append(headers, "Accept: application/json");
    curl_easy_reset(easy);
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
          static_cast<std::string*>(out)->append(data, size * n);
          return size * n;
        });
    loop.add_transfer(easy, [&](int) { bare_next(); });
  };

  CurlTransport transport(loop);
  std::function<void()> transport_next = [&] {
    if (remaining-- == 0) return;
    HttpRequest r;
    r.url = url;
    r.bearer_token = kToken;
    r.headers = {{"Accept", "application/json"}};
    transport.send(std::move(r), [&](HttpResponse response) {
      ASSERT_EQ(response.status, 200);
      transport_next();
    });
  };

  auto thread_cpu = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;  // microseconds
  };
  struct Totals {
    double wall_us = 0, cpu_us = 0;
  } bare, ours;
  auto measure = [&](std::function<void()>& next, int requests, Totals* totals) {
    const auto wall = Clock::now();
    const double cpu = thread_cpu();
    remaining = requests;
    loop.post(next);
    loop.run_until([&] { return remaining < 0 && loop.pending() == 0; });
    if (totals == nullptr) return;
    totals->cpu_us += thread_cpu() - cpu;
    totals->wall_us += std::chrono::duration<double, std::micro>(Clock::now() - wall).count();
  };
  measure(bare_next, 200, nullptr);  // warm up both
  measure(transport_next, 200, nullptr);
  for (int round = 0; round < kRounds; ++round) {
    measure(bare_next, kRequestsPerRound, &bare);
    measure(transport_next, kRequestsPerRound, &ours);
  }
  curl_easy_cleanup(easy);
  curl_slist_free_all(headers);

  constexpr double kRequests = kRounds * kRequestsPerRound;
  std::printf(
      "[ measured ] %.0f sequential keep-alive GETs each: bare libcurl %.1f us wall, %.2f us "
      "client CPU per request (%.0f req/s); CurlTransport %.1f us wall, %.2f us client CPU "
      "(%.0f req/s); transport overhead %.0f ns CPU per request; %llu new connections\n",
      kRequests, bare.wall_us / kRequests, bare.cpu_us / kRequests, kRequests * 1e6 / bare.wall_us,
      ours.wall_us / kRequests, ours.cpu_us / kRequests, kRequests * 1e6 / ours.wall_us,
      (ours.cpu_us - bare.cpu_us) / kRequests * 1000,
      static_cast<unsigned long long>(transport.connections_opened()));
}

}  // namespace
}  // namespace flowline
