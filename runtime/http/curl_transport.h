// CurlTransport: the default HttpTransport, libcurl easy handles driven by an
// EventLoop's multi handle, so connections (keep-alive, TLS sessions) are
// reused across requests, steps and runs through the multi's cache.
//
// Redirects are followed here, not by libcurl, so that the bearer token is
// attached per hop and only for the original origin (see RedirectPolicy).
// TLS peer and host verification are always on.
//
// Ownership and lifetime: borrows the loop, which must outlive the transport.
// Easy handles are pooled (at most kMaxIdleEasyHandles idle) and keep the
// options every request shares; what one request set is undone before the
// next uses the handle. Destroying the transport cancels requests in flight:
// each `done` is posted to the loop with HttpError::Cancelled.
//
// Thread-safety: send() may be called from any thread (off the loop thread
// the request is posted to the loop and started there); everything else,
// including destruction, on the loop thread or while the loop is not running.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "runtime/http/http.h"
#include "runtime/loop/event_loop.h"

namespace flowline {

class CurlTransport : public HttpTransport {
 public:
  // Idle easy handles kept for reuse; more in flight are created as needed.
  static constexpr size_t kMaxIdleEasyHandles = 256;
  // Response header bytes per hop; more fails the request with TooLarge.
  static constexpr size_t kMaxResponseHeaderBytes = 256 * 1024;

  explicit CurlTransport(EventLoop& loop);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  void send(HttpRequest request, std::function<void(HttpResponse)> done) override;

  // Requests started and not yet completed.
  size_t in_flight() const;
  // New connections libcurl opened for this transport's requests, over its
  // lifetime (sum of CURLINFO_NUM_CONNECTS); with keep-alive working, far
  // fewer than the requests sent.
  uint64_t connections_opened() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace flowline
