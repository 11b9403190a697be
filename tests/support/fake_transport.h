// FakeTransport: an HttpTransport double. Records every request it is given
// and replies from a scripted queue of responses or from a handler function,
// always completing through EventLoop::post (never inline), as the
// HttpTransport contract requires.
//
// The script and the records live in a FakeHttp shared between the test
// (which scripts and inspects it from its own thread) and the transport the
// engine owns (which uses it on the loop thread); FakeHttp locks a mutex.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/http/http.h"
#include "runtime/loop/event_loop.h"

namespace flowline::testing {

struct RecordedRequest {
  HttpRequest request;
  std::chrono::steady_clock::time_point sent_at;
};

class FakeHttp {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Replies are taken from the queue first; when it is empty, from the
  // handler; with neither, a 599 with an error naming the URL.
  void push(HttpResponse response);
  void push_json(int status, std::string body, HttpHeaders extra = {});
  void set_handler(Handler handler);
  // Delays the completion of every reply by `delay` (on the loop's timer).
  void set_delay(std::chrono::milliseconds delay);

  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;

  // Used by FakeTransport.
  HttpResponse reply(const HttpRequest& request);
  std::chrono::milliseconds delay() const;

 private:
  mutable std::mutex mutex_;
  std::deque<HttpResponse> queue_;
  Handler handler_;
  std::chrono::milliseconds delay_{0};
  std::vector<RecordedRequest> requests_;
};

class FakeTransport : public HttpTransport {
 public:
  FakeTransport(EventLoop& loop, std::shared_ptr<FakeHttp> http)
      : loop_(loop), http_(std::move(http)) {}
  void send(HttpRequest request, std::function<void(HttpResponse)> done) override;

 private:
  EventLoop& loop_;
  std::shared_ptr<FakeHttp> http_;
};

// A JSON response: status, content-type application/json, the body.
HttpResponse json_response(int status, std::string body, HttpHeaders extra = {});

}  // namespace flowline::testing
