#include "runtime/http/http_server.h"

#include <sys/socket.h>

#include <chrono>

namespace flowline {

int bind_exclusive(httplib::Server& server, const std::string& host, int port, int backlog) {
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = sock;
  });
  int bound = port == 0 ? server.bind_to_any_port(host.c_str())
                        : (server.bind_to_port(host.c_str(), port) ? port : -1);
  // httplib listens with a backlog of 5; listen() again on a bound socket updates it (Linux).
  if (bound > 0 && listen_fd >= 0) ::listen(listen_fd, backlog);
  server.set_socket_options(httplib::default_socket_options);
  return bound;
}

std::thread start_listening(httplib::Server& server) {
  std::thread thread([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return thread;
}

}  // namespace flowline
