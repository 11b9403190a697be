#include "support/http_test_server.h"

#include <httplib.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace flowline::test_support {
namespace {

// Pending connections the kernel queues before the server accepts them.
constexpr int kListenBacklog = 1024;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// httplib adds these pseudo headers to every request it parses; no client sent them.
bool is_httplib_pseudo_header(const std::string& lower_name) {
  return lower_name == "remote_addr" || lower_name == "remote_port" || lower_name == "local_addr" ||
         lower_name == "local_port";
}

}  // namespace

const std::string* ReceivedRequest::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers)
    if (name == lower_name) return &value;
  return nullptr;
}

struct HttpTestServer::Impl {
  HttpTestServerOptions options;
  std::unique_ptr<httplib::Server> server;
  std::thread listener;
  int port = 0;
  bool tls = false;

  mutable std::mutex mu;
  mutable std::condition_variable recorded;
  std::map<std::pair<std::string, std::string>, TestHandler> routes;  // (method, path)
  std::vector<ReceivedRequest> requests;
  std::set<int> client_ports;

  void dispatch(const httplib::Request& req, httplib::Response& res) {
    ReceivedRequest received;
    received.method = req.method;
    received.target = req.target;
    received.path = req.target.substr(0, req.target.find('?'));
    for (const auto& [name, value] : req.headers) {
      std::string lower_name = lower(name);
      if (!is_httplib_pseudo_header(lower_name)) received.headers.emplace_back(lower_name, value);
    }
    received.body = req.body;
    received.client_port = req.remote_port;

    TestHandler handler;
    {
      std::lock_guard lock(mu);
      requests.push_back(received);
      client_ports.insert(req.remote_port);
      const std::string method = req.method == "HEAD" ? "GET" : req.method;
      auto it = routes.find({method, received.path});
      if (it == routes.end()) it = routes.find({"*", received.path});
      if (it != routes.end()) handler = it->second;
    }
    recorded.notify_all();

    if (!handler) {
      res.status = 404;
      res.set_content("no route for " + req.method + " " + received.path, "text/plain");
      return;
    }
    CannedResponse canned = handler(received);
    if (canned.delay.count() > 0) std::this_thread::sleep_for(canned.delay);
    res.status = canned.status;
    for (const auto& [name, value] : canned.headers) res.set_header(name.c_str(), value);
    res.set_content(canned.body, canned.content_type.c_str());
  }
};

HttpTestServer::HttpTestServer(HttpTestServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

HttpTestServer::~HttpTestServer() { stop(); }

void HttpTestServer::on(std::string method, std::string path, TestHandler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->routes[{std::move(method), std::move(path)}] = std::move(handler);
}

void HttpTestServer::start() {
  Impl& impl = *impl_;
  if (impl.server) throw std::runtime_error("HttpTestServer::start called twice");
  const auto& options = impl.options;
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    auto ssl =
        std::make_unique<httplib::SSLServer>(options.cert_file.c_str(), options.key_file.c_str());
    if (!ssl->is_valid()) throw std::runtime_error("HttpTestServer: cannot load the TLS files");
    impl.server = std::move(ssl);
    impl.tls = true;
  } else {
    impl.server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *impl.server;
  const size_t threads = options.threads;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_keep_alive_max_count(options.keep_alive_max_count);
  server.set_keep_alive_timeout(options.keep_alive_timeout.count());
  // httplib writes a response in several send() calls; with Nagle's algorithm
  // the client's delayed ACK would add ~40 ms to every request.
  server.set_tcp_nodelay(true);
  auto handler = [&impl](const httplib::Request& req, httplib::Response& res) {
    impl.dispatch(req, res);
  };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);

  // libcpp-httplib 0.11 listens with a backlog of 5: a burst of concurrent
  // connections overflows it and the kernel drops SYNs, which clients only
  // retry after 1, 3, 7... seconds. Remember the listening socket and raise
  // the backlog once it listens (listen() again on Linux updates it).
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  impl.port = server.bind_to_any_port("127.0.0.1");
  if (impl.port <= 0) throw std::runtime_error("HttpTestServer: cannot bind 127.0.0.1");
  if (listen_fd >= 0) ::listen(listen_fd, kListenBacklog);
  impl.listener = std::thread([&server] { server.listen_after_bind(); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!server.is_running()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("HttpTestServer: the server did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void HttpTestServer::stop() {
  if (!impl_->server) return;
  impl_->server->stop();
  if (impl_->listener.joinable()) impl_->listener.join();
}

int HttpTestServer::port() const { return impl_->port; }

std::string HttpTestServer::origin() const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::string HttpTestServer::url(std::string_view path) const {
  return origin() + std::string(path);
}

size_t HttpTestServer::request_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests.size();
}

std::vector<ReceivedRequest> HttpTestServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->requests;
}

size_t HttpTestServer::connection_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->client_ports.size();
}

void HttpTestServer::clear_records() {
  std::lock_guard lock(impl_->mu);
  impl_->requests.clear();
  impl_->client_ports.clear();
}

bool HttpTestServer::wait_for_requests(size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mu);
  return impl_->recorded.wait_for(lock, timeout, [&] { return impl_->requests.size() >= count; });
}

SelfSignedCertificate::SelfSignedCertificate() {
  std::string pattern = (std::filesystem::temp_directory_path() / "flowline-cert-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("SelfSignedCertificate: mkdtemp failed");
  dir_ = pattern;
  cert_file_ = dir_ + "/cert.pem";
  key_file_ = dir_ + "/key.pem";
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1"
      " -addext subjectAltName=IP:127.0.0.1 -keyout '" +
      key_file_ + "' -out '" + cert_file_ + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) {
    std::filesystem::remove_all(dir_);
    throw std::runtime_error("SelfSignedCertificate: openssl req failed");
  }
}

SelfSignedCertificate::~SelfSignedCertificate() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace flowline::test_support
