// The sample endpoint: an OAuth 2.0 authorization server and a ServiceNow-like incident API in
// one loopback HTTP server, for the runtime's tests and the README demo.
//
//   SampleEndpoint endpoint(EndpointOptions{});        // port 0: any free port
//   if (std::string error; !endpoint.Start(&error)) ...
//   httplib::Client client(endpoint.origin());        // "http://127.0.0.1:PORT"
//
// Start() binds and returns once the port accepts connections; requests are served on a pool
// of threads until Stop() or destruction. Not copyable or movable (handlers point into it).
// See samples/endpoint/README.md for the HTTP API.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "samples/endpoint/client_registry.h"

namespace flowline::sample {

struct EndpointOptions {
  // A loopback IP literal (127.0.0.1, ::1): the control API has no authentication.
  std::string host = "127.0.0.1";
  int port = 0;  // 0: the system picks a free port
  std::chrono::milliseconds access_token_lifetime = std::chrono::hours(1);
  std::chrono::milliseconds code_lifetime = std::chrono::seconds(60);
  // Empty: one client "flow-basic" with secret "sample-secret" and any loopback redirect URI.
  std::vector<OAuthClient> clients;
  std::vector<std::string> users = {"alice", "bob", "carol"};
  // Where /api/redirect-elsewhere sends requests that name no `to`, e.g. "http://127.0.0.1:8766".
  std::string other_origin;
  // Refresh responses leave out refresh_token (the control API can switch it too).
  bool refresh_omits_new_token = false;
  // Server threads. Each keep-alive connection holds one while it is open, so this bounds how
  // many clients can be connected at once.
  int threads = 64;
  // Receives one line per request (already redacted). Null: stderr.
  std::function<void(std::string_view)> log;
};

// The client registered when EndpointOptions::clients is empty.
OAuthClient DefaultClient(std::string secret = "sample-secret");

class SampleEndpoint {
 public:
  explicit SampleEndpoint(EndpointOptions options);
  ~SampleEndpoint();  // Stop()s
  SampleEndpoint(const SampleEndpoint&) = delete;
  SampleEndpoint& operator=(const SampleEndpoint&) = delete;

  // Binds and starts serving. False, with `error` set, when the host is not loopback, the
  // port is taken, or the crypto library cannot start. Call at most once.
  bool Start(std::string* error);
  // Stops accepting, ends slow-mode delays, and waits for the serving thread. Idempotent.
  void Stop();

  int port() const;
  // "http://127.0.0.1:PORT" — also the OAuth issuer.
  std::string origin() const;

 private:
  struct Parts;
  std::unique_ptr<Parts> parts_;
};

}  // namespace flowline::sample
