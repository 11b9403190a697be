// HTTP requests and responses as the runtime sees them, and the transport
// interface that sends them. The default transport is libcurl (CurlTransport);
// tests swap in doubles.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace flowline {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

enum class RedirectPolicy {
  SameOrigin,  // follow same-origin redirects (with the token); stop at another origin
  StripToken,  // follow any redirect; send the token only to the original origin
  Never,       // return the 3xx response as it is
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute, already percent-encoded (see url.h)
  HttpHeaders headers;
  std::string body;
  // The bearer token, kept apart from `headers` so that nothing that logs or
  // records a request can see it; the transport adds `Authorization: Bearer`
  // at the last moment, and only for the request's own origin.
  std::string bearer_token;
  // Other credential headers (an api_key credential's header, basic auth):
  // like the token, sent only to the request's own origin and kept apart
  // from `headers` so that records and logs never see them.
  HttpHeaders secret_headers;
  std::chrono::milliseconds timeout{30'000};
  size_t max_response_bytes = 10 * 1024 * 1024;
  RedirectPolicy redirects = RedirectPolicy::SameOrigin;
  int max_redirects = 10;
  // A PEM file of trust anchors for this request (private CAs), used instead
  // of the system bundle (the system CA directory stays in use); empty: the
  // system store. TLS verification is never switched off.
  std::string ca_file;
};

enum class HttpError {
  None,
  Timeout,   // the whole request exceeded `timeout`
  Connect,   // DNS, refused, reset
  Tls,       // certificate or handshake failure
  TooLarge,  // the body exceeded max_response_bytes
  TooManyRedirects,
  InvalidRequest,  // a URL or header the transport refuses to send
  Cancelled,
  Other,
};

struct HttpResponse {
  int status = 0;       // 0 when the request failed before a response (see error)
  HttpHeaders headers;  // names lower-cased, in received order
  std::string body;
  HttpError error = HttpError::None;
  std::string error_message;  // never contains the token
  std::string final_url;      // after redirects
  std::chrono::microseconds duration{0};

  // The first header with this (lower-case) name, or nullptr.
  const std::string* header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers)
      if (name == lower_name) return &value;
    return nullptr;
  }
};

// Sends requests. Implementations complete `done` on the event loop thread,
// exactly once per send(), never inline inside send().
//
// What the transport refuses (HttpError::InvalidRequest, nothing sent): a URL
// that is not absolute http(s) or carries user info; a header that fails
// check_header(); Host, Content-Length or Transfer-Encoding among the headers
// (the transport sets them); an Authorization header together with a bearer
// token. Headers named Authorization, Cookie or Proxy-Authorization in
// `headers` are treated like `secret_headers`: sent to the original origin only.
// Once a redirect chain has left the original origin, neither the token nor
// the secret headers are sent again, even if it comes back.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual void send(HttpRequest request, std::function<void(HttpResponse)> done) = 0;
};

}  // namespace flowline
