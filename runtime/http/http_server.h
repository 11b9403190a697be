// Binding cpp-httplib servers the way Flowline's listeners need (the login's
// loopback listener, `flowline token serve`).
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

namespace flowline {

// Binds `server` to host:port (port 0: any free one) and returns the bound
// port, or -1. Unlike httplib's default socket options, the socket gets
// SO_REUSEADDR but not SO_REUSEPORT: with SO_REUSEPORT a second process
// could listen on the same port and the kernel would split the browser's
// connections between the two. The listen backlog is raised from httplib's
// 5 to `backlog`.
int bind_exclusive(httplib::Server& server, const std::string& host, int port, int backlog = 128);

// Runs server.listen_after_bind() on a new thread and returns it once the
// server is running. (httplib's stop() does nothing to a server that has not
// started listening yet, so stopping right after an unsynchronised start
// could leave the thread listening for ever.)
std::thread start_listening(httplib::Server& server);

}  // namespace flowline
