// LoopbackListener: the short-lived HTTP listener `flowline token login`
// receives the authorization reply on (RFC 8252 §7.3). It listens on a
// loopback address only, for as long as the object lives, on the given port
// or any free one.
//
// A request to the callback path that carries `state`, `code` or `error` is
// a reply: wait() hands its query parameters over and the browser's request
// is held open until respond() gives the page to show (so the page can say
// whether the token was stored), or 60 s pass; reject() answers it and
// waits for the next one. Other requests get a 404; requests while a reply
// is held, or after respond(), get a page saying the login is over. Nothing
// a request carries is logged.
//
// Thread-safety: requests are served on the listener's own thread; wait()
// and respond() are for the one thread that owns the listener.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "runtime/status.h"

namespace flowline {

class LoopbackListener {
 public:
  // Starts listening on host ("127.0.0.1" or "::1") and port (0: any free
  // port). Status "login_listen_failed" when the port cannot be bound (the
  // message names it and says to pick another with --port).
  static Result<std::unique_ptr<LoopbackListener>> start(const std::string& host, int port,
                                                         const std::string& callback_path);
  ~LoopbackListener();  // stops listening; a held request gets a closing page

  int port() const;

  enum class WaitEnd { Reply, TimedOut, Cancelled };
  // Waits for the reply, at most `timeout`; `cancelled` is polled every
  // 100 ms (for Ctrl-C). On Reply, `params` holds the query parameters.
  WaitEnd wait(std::chrono::milliseconds timeout, const std::function<bool()>& cancelled,
               std::multimap<std::string, std::string>* params);

  // The page for the held request: a title and a sentence (HTML-escaped here).
  void respond(bool success, const std::string& title, const std::string& text);
  // Answers the held request with an error page and waits for another reply:
  // for a request that is not this login's (a stale tab, a forged request),
  // which must not end the login.
  void reject(const std::string& title, const std::string& text);

 private:
  struct Impl;
  explicit LoopbackListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

// A small, self-contained HTML page (no scripts, no external resources).
std::string html_page(const std::string& title, const std::string& body_html);

}  // namespace flowline
