#include "samples/endpoint/sample_endpoint.h"

#include <sys/socket.h>

#include <httplib.h>

#include <cstdio>
#include <set>
#include <thread>

#include "samples/endpoint/control_api.h"
#include "samples/endpoint/crypto.h"
#include "samples/endpoint/fault_plan.h"
#include "samples/endpoint/incident_api.h"
#include "samples/endpoint/incident_store.h"
#include "samples/endpoint/oauth_server.h"
#include "samples/endpoint/request_log.h"
#include "samples/endpoint/responses.h"
#include "samples/endpoint/stats.h"
#include "samples/endpoint/token_store.h"

namespace flowline::sample {

namespace {
constexpr int kListenBacklog = 1024;  // pending connections the kernel queues for us
}  // namespace
namespace {

// Idle keep-alive connections each hold a server thread; closing them after a short idle time
// keeps threads free, and Stop() never waits long for one.
constexpr time_t kKeepAliveTimeoutSeconds = 2;
// httplib closes a keep-alive connection after 5 requests by default; clients that reuse
// connections (libcurl) should be able to see reuse.
constexpr size_t kKeepAliveMaxRequests = 1000;
constexpr auto kStartTimeout = std::chrono::seconds(5);

void LogToStderr(std::string_view line) {
  std::string text = "flowline-sample-endpoint: " + std::string(line) + "\n";
  std::fputs(text.c_str(), stderr);
}

std::vector<OAuthClient> ClientsOrDefault(std::vector<OAuthClient> clients) {
  if (clients.empty()) clients.push_back(DefaultClient());
  return clients;
}

}  // namespace

OAuthClient DefaultClient(std::string secret) {
  return OAuthClient{"flow-basic", std::move(secret), {}, false};
}

// Everything the server owns, in dependency order: later members refer to earlier ones.
struct SampleEndpoint::Parts {
  explicit Parts(EndpointOptions opts)
      : options(std::move(opts)),
        clients(ClientsOrDefault(options.clients)),
        tokens(options.access_token_lifetime, options.code_lifetime),
        oauth(clients, {options.users.begin(), options.users.end()}, tokens, stats, faults),
        api(tokens, incidents, stats, faults, options.other_origin),
        control(tokens, incidents, stats, faults, oauth, options.refresh_omits_new_token) {
    oauth.set_refresh_omits_new_token(options.refresh_omits_new_token);
  }

  EndpointOptions options;
  Stats stats;
  FaultPlan faults;
  ClientRegistry clients;
  TokenStore tokens;
  IncidentStore incidents;
  OAuthServer oauth;
  IncidentApi api;
  ControlApi control;
  httplib::Server server;
  std::thread serving;
  int port = 0;
  std::string origin;
};

SampleEndpoint::SampleEndpoint(EndpointOptions options)
    : parts_(std::make_unique<Parts>(std::move(options))) {}

SampleEndpoint::~SampleEndpoint() { Stop(); }

bool SampleEndpoint::Start(std::string* error) {
  Parts& p = *parts_;
  if (!InitCrypto()) {
    *error = "libsodium failed to initialise";
    return false;
  }
  if (!IsLoopbackAddress(p.options.host)) {
    *error = "refusing to listen on '" + p.options.host +
             "': the sample endpoint serves loopback only (127.0.0.1 or ::1)";
    return false;
  }

  auto log = p.options.log ? p.options.log : LogToStderr;
  const int threads = std::max(1, p.options.threads);
  p.server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  p.server.set_keep_alive_timeout(kKeepAliveTimeoutSeconds);
  p.server.set_keep_alive_max_count(kKeepAliveMaxRequests);
  p.server.set_logger([log](const httplib::Request& request, const httplib::Response& response) {
    log(FormatRequestLogLine(request, response));
  });
  // Give bodiless errors (unknown path, wrong method) a JSON body like every other answer.
  p.server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& response) {
        if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        SendJson(response, response.status,
                 ServiceNowError(response.status == 404 ? "Not Found" : "Request failed",
                                 "HTTP " + std::to_string(response.status)));
        return httplib::Server::HandlerResponse::Handled;
      }));
  p.oauth.Register(p.server);
  p.api.Register(p.server);
  p.control.Register(p.server);

  // libcpp-httplib 0.11 listens with a backlog of 5: a burst of concurrent
  // connections (64 runs at once) overflows it, the kernel drops SYNs and
  // clients retry only after 1, 3, 7… s. Keep the listening socket and raise
  // the backlog once bound (listen() again on Linux updates it).
  int listen_fd = -1;
  p.server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  p.port = p.options.port == 0
               ? p.server.bind_to_any_port(p.options.host)
               : (p.server.bind_to_port(p.options.host, p.options.port) ? p.options.port : -1);
  if (p.port > 0 && listen_fd >= 0) ::listen(listen_fd, kListenBacklog);
  if (p.port <= 0) {
    *error = "cannot listen on " + p.options.host + ":" + std::to_string(p.options.port) +
             " (is the port in use?)";
    return false;
  }
  std::string host =
      p.options.host.find(':') != std::string::npos ? "[" + p.options.host + "]" : p.options.host;
  p.origin = "http://" + host + ":" + std::to_string(p.port);
  p.oauth.set_issuer(p.origin);

  p.serving = std::thread([&p] { p.server.listen_after_bind(); });
  // The socket already accepts connections; wait for the accept loop too, because a stop()
  // that came before it started would be lost.
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!p.server.is_running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      *error = "the server thread did not start";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

void SampleEndpoint::Stop() {
  Parts& p = *parts_;
  p.faults.Shutdown();
  p.server.stop();
  if (p.serving.joinable()) p.serving.join();
}

int SampleEndpoint::port() const { return parts_->port; }

std::string SampleEndpoint::origin() const { return parts_->origin; }

}  // namespace flowline::sample
