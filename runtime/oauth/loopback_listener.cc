#include "runtime/oauth/loopback_listener.h"

#include <fmt/format.h>
#include <httplib.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "runtime/http/http_server.h"

namespace flowline {

namespace {

constexpr std::chrono::seconds kHoldBrowserFor{60};

// Headers for every page: nothing cached, no referrer (the reply's URL holds the code),
// nothing loaded or run.
void secure(httplib::Response& response) {
  response.set_header("Cache-Control", "no-store");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  response.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string html_page(const std::string& title, const std::string& body_html) {
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0}</title>"
      "<style>body{{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5}}"
      "</style></head>\n<body><h1>{0}</h1>\n{1}\n</body></html>\n",
      html_escape(title), body_html);
}

struct LoopbackListener::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string path;

  std::mutex mutex;
  std::condition_variable changed;
  bool have_reply = false;      // a reply arrived (and was handed over or not yet)
  bool reply_taken = false;
  std::multimap<std::string, std::string> params;
  std::optional<std::pair<int, std::string>> page;  // status, html for the held request
  bool rearm = false;  // after answering the held request, wait for another reply
  bool closing = false;

  void handle(const httplib::Request& request, httplib::Response& response) {
    secure(response);
    bool is_reply = request.has_param("state") || request.has_param("code") || request.has_param("error");
    std::unique_lock lock(mutex);
    if (!is_reply) {
      response.status = 400;
      response.set_content(html_page("Not an authorization reply",
                                     "<p>This address receives the reply of a Flowline login; "
                                     "open the URL that <code>flowline token login</code> printed.</p>"),
                           "text/html; charset=utf-8");
      return;
    }
    if (have_reply || closing) {
      response.status = 409;
      response.set_content(html_page("This login is over",
                                     "<p>Flowline already received a reply for this login. "
                                     "Run <code>flowline token login</code> again if you need a new one.</p>"),
                           "text/html; charset=utf-8");
      return;
    }
    have_reply = true;
    params.clear();
    for (const auto& [name, value] : request.params) params.emplace(name, value);
    changed.notify_all();
    changed.wait_for(lock, kHoldBrowserFor, [&] { return page.has_value() || closing; });
    if (page) {
      response.status = page->first;
      response.set_content(page->second, "text/html; charset=utf-8");
      if (rearm) {
        have_reply = reply_taken = rearm = false;
        page.reset();
        changed.notify_all();
      }
    } else {
      response.status = 200;
      response.set_content(html_page("Flowline login",
                                     "<p>Flowline received the reply. See the terminal for the result; "
                                     "you can close this tab.</p>"),
                           "text/html; charset=utf-8");
    }
  }
};

LoopbackListener::LoopbackListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<LoopbackListener>> LoopbackListener::start(const std::string& host, int port,
                                                                  const std::string& callback_path) {
  auto impl = std::make_unique<Impl>();
  impl->path = callback_path;
  Impl* raw = impl.get();
  impl->server.set_keep_alive_max_count(1);
  impl->server.set_read_timeout(10, 0);
  impl->server.Get(callback_path, [raw](const httplib::Request& req, httplib::Response& res) {
    raw->handle(req, res);
  });
  impl->server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;  // a page of ours, headers set already
    secure(res);
    res.set_content(html_page("Not found", "<p>Nothing here.</p>"), "text/html; charset=utf-8");
  });
  impl->port = bind_exclusive(impl->server, host, port);
  if (impl->port <= 0)
    return Status("login_listen_failed",
                  port == 0 ? fmt::format("cannot listen on {} for the login reply", host)
                            : fmt::format("cannot listen on {} port {} for the login reply (is it in "
                                          "use?); pick another with --port, or leave --port out to "
                                          "use any free port",
                                          host, port));
  impl->thread = start_listening(impl->server);
  return std::unique_ptr<LoopbackListener>(new LoopbackListener(std::move(impl)));
}

LoopbackListener::~LoopbackListener() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->closing = true;
  }
  impl_->changed.notify_all();
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int LoopbackListener::port() const { return impl_->port; }

LoopbackListener::WaitEnd LoopbackListener::wait(std::chrono::milliseconds timeout,
                                                 const std::function<bool()>& cancelled,
                                                 std::multimap<std::string, std::string>* params) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(impl_->mutex);
  while (true) {
    if (impl_->have_reply && !impl_->reply_taken) {
      impl_->reply_taken = true;
      *params = impl_->params;
      return WaitEnd::Reply;
    }
    if (cancelled && cancelled()) return WaitEnd::Cancelled;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return WaitEnd::TimedOut;
    impl_->changed.wait_for(lock, std::min<std::chrono::steady_clock::duration>(
                                      deadline - now, std::chrono::milliseconds(100)));
  }
}

void LoopbackListener::reject(const std::string& title, const std::string& text) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->page.emplace(400, html_page(title, "<p>" + html_escape(text) + "</p>"));
    impl_->rearm = true;
  }
  impl_->changed.notify_all();
}

void LoopbackListener::respond(bool success, const std::string& title, const std::string& text) {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->page.emplace(success ? 200 : 400, html_page(title, "<p>" + html_escape(text) + "</p>"));
  }
  impl_->changed.notify_all();
}

}  // namespace flowline
