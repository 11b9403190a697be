// HttpTestServer: a real HTTP(S) server on 127.0.0.1 and a free port, for tests
// that exercise the transport and REST steps against the network stack.
//
//   HttpTestServer server;
//   server.on("GET", "/items", [](const ReceivedRequest& r) {
//     return CannedResponse{.status = 200, .body = R"({"n":1})",
//                           .content_type = "application/json"};
//   });
//   server.start();
//   ... send to server.url("/items") ...
//   EXPECT_EQ(server.request_count(), 1u);
//   EXPECT_EQ(*server.requests()[0].header("authorization"), "Bearer t");
//
// Every request is recorded (method, target, lower-cased headers, body, client
// port) before its handler runs, including requests no route matches (those
// get a 404). connection_count() is the number of distinct client ports seen,
// i.e. TCP connections the server accepted and served a request on.
//
// Thread-safety: handlers run on the server's worker threads; every method of
// HttpTestServer may be called from any thread. Routes may be added before or
// after start(). The destructor stops the server and joins its threads; a
// handler still sleeping delays that by its remaining `delay`.
//
// Failure behaviour: start() throws std::runtime_error when it cannot bind or
// the TLS files do not load; GoogleTest reports that as a failed test.
//
// httplib is hidden behind this header. Tests that include <httplib.h>
// themselves get the CPPHTTPLIB_* defines Debian's compiled libcpp-httplib
// was built with from flowline_test_support (tests/CMakeLists.txt).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace flowline::test_support {

struct ReceivedRequest {
  std::string method;
  std::string path;    // without the query, percent-decoding NOT applied
  std::string target;  // as on the request line: path and query
  // Names lower-cased, sorted by name (httplib keeps them in a map). httplib
  // drops headers whose value is empty.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int client_port = 0;

  // The first header with this lower-case name, or nullptr.
  const std::string* header(std::string_view lower_name) const;
};

// Members all have initialisers, so designated initialisers may skip any of
// them without -Wmissing-field-initializers.
struct CannedResponse {
  int status = 200;
  std::string body{};
  std::string content_type = "text/plain";
  std::vector<std::pair<std::string, std::string>> headers{};
  // Sleeps this long before answering (timeouts, concurrency).
  std::chrono::milliseconds delay{0};
};

using TestHandler = std::function<CannedResponse(const ReceivedRequest&)>;

struct HttpTestServerOptions {
  // Worker threads. httplib holds one worker per open keep-alive connection, so
  // a test with N concurrent connections needs at least N workers.
  size_t threads = 16;
  // Requests served on one connection before the server closes it (httplib's
  // own default is 5, which would defeat keep-alive tests).
  size_t keep_alive_max_count = 100'000;
  // How long a worker waits for the next request on an idle connection. stop()
  // waits for that too, so destroy clients (their connection caches) first.
  std::chrono::seconds keep_alive_timeout{2};
  // Both set: serve HTTPS with this PEM certificate and key.
  std::string cert_file{};
  std::string key_file{};
};

class HttpTestServer {
 public:
  explicit HttpTestServer(HttpTestServerOptions options = {});
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  // Answers `method` ("GET", "POST", ..., or "*" for any) on exactly `path`
  // (the query is ignored for matching). A later route for the same method and
  // path replaces the earlier one. HEAD requests are routed as GET.
  void on(std::string method, std::string path, TestHandler handler);

  // Binds 127.0.0.1 on a free port and returns once the server accepts.
  void start();
  // Stops accepting and joins the workers. Idempotent.
  void stop();

  int port() const;
  // "http://127.0.0.1:PORT" (or https when TLS is on).
  std::string origin() const;
  // origin() + path.
  std::string url(std::string_view path) const;

  size_t request_count() const;
  std::vector<ReceivedRequest> requests() const;
  // Distinct client ports seen: the number of connections that carried requests.
  size_t connection_count() const;
  // Forgets recorded requests and connections.
  void clear_records();
  // Blocks until at least `count` requests were recorded or `timeout` passed;
  // returns whether the count was reached.
  bool wait_for_requests(size_t count, std::chrono::milliseconds timeout) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A self-signed certificate for 127.0.0.1 (CN and subjectAltName IP), written
// by the openssl command into a fresh temporary directory that is removed with
// this object. Throws std::runtime_error when openssl fails.
class SelfSignedCertificate {
 public:
  SelfSignedCertificate();
  ~SelfSignedCertificate();
  SelfSignedCertificate(const SelfSignedCertificate&) = delete;
  SelfSignedCertificate& operator=(const SelfSignedCertificate&) = delete;

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }

 private:
  std::string dir_;
  std::string cert_file_;
  std::string key_file_;
};

}  // namespace flowline::test_support
