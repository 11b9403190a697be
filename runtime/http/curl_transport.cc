#include "runtime/http/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "runtime/http/url.h"

namespace flowline {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kUserAgentHeader[] = "User-Agent: flowline/" FLOWLINE_VERSION;

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void lower_in_place(std::string& text) {
  for (char& c : text) c = to_lower(c);
}

std::string lower(std::string_view text) {
  std::string out(text);
  lower_in_place(out);
  return out;
}

// Whether `name` is `lower_name`, ignoring ASCII case (header names).
bool names_equal(std::string_view name, std::string_view lower_name) {
  if (name.size() != lower_name.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (to_lower(name[i]) != lower_name[i]) return false;
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  return text;
}

// Room reserved for a response's headers at the first one: most have fewer.
constexpr size_t kExpectedResponseHeaders = 16;

bool is_redirect_status(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// Headers that carry credentials: sent only to the original origin.
bool is_credential_header(std::string_view name) {
  return names_equal(name, "authorization") || names_equal(name, "cookie") ||
         names_equal(name, "proxy-authorization");
}

// Headers the transport itself must control: letting a pill set them would
// allow request smuggling or misrouting.
bool is_managed_header(std::string_view name) {
  return names_equal(name, "host") || names_equal(name, "content-length") ||
         names_equal(name, "transfer-encoding");
}

bool is_supported_method(const std::string& method) {
  return method == "GET" || method == "POST" || method == "PUT" || method == "PATCH" ||
         method == "DELETE" || method == "HEAD";
}

// Whether libcurl's URL parser reads the same scheme, host and port as
// origin_of() did.
bool curl_agrees(const std::string& url, const Origin& origin) {
  CURLU* parsed = curl_url();
  bool agrees = false;
  if (parsed != nullptr && curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      agrees = lower(scheme) == origin.scheme && lower(host) == origin.host &&
               std::to_string(origin.port) == port;
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
  }
  curl_url_cleanup(parsed);
  return agrees;
}

struct Failure {
  HttpError error;
  std::string what;
};

Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return {HttpError::Timeout, "timed out"};
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return {HttpError::Connect, "connection failed"};
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return {HttpError::Tls, "TLS failure"};
    case CURLE_FILESIZE_EXCEEDED:
      return {HttpError::TooLarge, "the response body exceeded max_response_bytes"};
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return {HttpError::InvalidRequest, "libcurl refused the request"};
    case CURLE_ABORTED_BY_CALLBACK:
      return {HttpError::Cancelled, "cancelled"};
    default:
      return {HttpError::Other, "request failed"};
  }
}

struct Exchange;

// An easy handle with what outlives any one request on it. Between requests
// (idle in the pool, and before each redirect hop) a handle is in its pooled
// state: the options every request shares are set (set_shared_options), every
// other option is at libcurl's default. send_hop() sets only what differs per
// request and records what restore_pooled_state() must undo, so no request
// inherits another's method, body, headers (the token above all) or CA file.
// Cheaper than curl_easy_reset() and setting ~20 options again per request.
struct PooledEasy {
  CURL* easy = nullptr;
  Exchange* exchange = nullptr;  // the request using the handle, for the callbacks
  bool method_set = false;       // NOBODY, CUSTOMREQUEST or POSTFIELDS changed
  bool ca_file_set = false;      // CAINFO changed
  char error_buffer[CURL_ERROR_SIZE] = {};

  PooledEasy() = default;
  PooledEasy(const PooledEasy&) = delete;
  PooledEasy& operator=(const PooledEasy&) = delete;
  ~PooledEasy() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

size_t on_body(char* data, size_t size, size_t count, void* user);
size_t on_header(char* data, size_t size, size_t count, void* user);

void set_shared_options(PooledEasy& handle) {
  CURL* easy = handle.easy;
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, handle.error_buffer);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &handle);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &handle);
}

std::unique_ptr<PooledEasy> new_pooled_easy() {
  auto handle = std::make_unique<PooledEasy>();
  handle->easy = curl_easy_init();
  if (handle->easy == nullptr) return nullptr;
  set_shared_options(*handle);
  return handle;
}

// Undoes what send_hop() set beyond the shared options.
void restore_pooled_state(PooledEasy& handle) {
  CURL* easy = handle.easy;
  if (handle.ca_file_set) {
    // Rare, and libcurl's default CA file is build-specific: start over.
    curl_easy_reset(easy);
    set_shared_options(handle);
    handle.ca_file_set = false;
    handle.method_set = false;
  } else {
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);  // the list is about to be freed
    if (handle.method_set) {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, nullptr);
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, nullptr);  // this selects POST, ...
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(-1));
      curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);  // ... this GET again, and clears NOBODY
      handle.method_set = false;
    }
  }
}

// One request, across its redirect hops.
struct Exchange {
  HttpRequest request;
  std::function<void(HttpResponse)> done;
  Clock::time_point started;

  Origin origin;       // of request.url: the only origin that sees credentials
  std::string url;     // this hop's
  std::string method;  // this hop's (a 303 turns it into GET)
  bool send_body = true;
  bool left_origin = false;  // some hop went to another origin
  int redirects = 0;

  std::unique_ptr<PooledEasy> handle;  // while on the network
  curl_slist* header_list = nullptr;
  HttpResponse response;
  size_t header_bytes = 0;
  bool body_too_large = false;
  bool headers_too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  Exchange* exchange = static_cast<PooledEasy*>(user)->exchange;
  const size_t bytes = size * count;
  std::string& body = exchange->response.body;
  if (bytes > exchange->request.max_response_bytes - body.size()) {
    exchange->body_too_large = true;
    return 0;  // CURLE_WRITE_ERROR
  }
  if (body.empty()) {
    curl_off_t length = -1;
    curl_easy_getinfo(exchange->handle->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length > 0)
      body.reserve(
          std::min<size_t>(static_cast<size_t>(length), exchange->request.max_response_bytes));
  }
  body.append(data, bytes);
  return bytes;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  Exchange* exchange = static_cast<PooledEasy*>(user)->exchange;
  const size_t bytes = size * count;
  exchange->header_bytes += bytes;
  if (exchange->header_bytes > CurlTransport::kMaxResponseHeaderBytes) {
    exchange->headers_too_large = true;
    return 0;
  }
  const std::string_view line = trim(std::string_view(data, bytes));
  HttpHeaders& headers = exchange->response.headers;
  if (line.starts_with("HTTP/")) {
    headers.clear();  // a new response: after a 1xx interim one, or a new hop
  } else if (line.empty()) {
    // The blank line that ends the headers.
  } else if (data[0] == ' ' || data[0] == '\t') {
    if (!headers.empty()) {  // obsolete line folding: continues the previous value
      headers.back().second += ' ';
      headers.back().second += line;
    }
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    if (headers.capacity() == 0) headers.reserve(kExpectedResponseHeaders);
    // Built in place, then lower-cased there: no temporary strings.
    std::string& name = headers
                            .emplace_back(std::piecewise_construct,
                                          std::forward_as_tuple(trim(line.substr(0, colon))),
                                          std::forward_as_tuple(trim(line.substr(colon + 1))))
                            .first;
    lower_in_place(name);
  }
  return bytes;
}

HttpResponse failed(HttpError error, std::string message) {
  HttpResponse response;
  response.error = error;
  response.error_message = std::move(message);
  return response;
}

}  // namespace

struct CurlTransport::State : std::enable_shared_from_this<CurlTransport::State> {
  // "scheme://authority" prefixes libcurl was seen to read as origin_of() does.
  static constexpr size_t kMaxCheckedAuthorities = 256;

  explicit State(EventLoop& loop) : loop(loop) {}

  // Looks "scheme://authority" prefixes up without copying them.
  struct PrefixHash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>()(text); }
  };

  EventLoop& loop;
  std::vector<std::unique_ptr<PooledEasy>> idle;
  std::unordered_map<Exchange*, std::shared_ptr<Exchange>> in_flight;
  uint64_t connections_opened = 0;
  std::unordered_map<std::string, Origin, PrefixHash, std::equal_to<>> checked_authorities;

  // origin_of(), cross-checked against libcurl's own URL parser: a URL the two
  // read differently (numeric IPv4 forms, odd escapes) is refused, so the
  // origin the token is matched against is the one libcurl connects to. Both
  // end the authority at the first '/', '?' or '#', so the verdict, and the
  // origin, hold for every URL with the same "scheme://authority" and are
  // cached by it (libcurl's parser costs ~2 us a call, origin_of ~0.5 us).
  // What origin_of checks beyond the authority — no unsafe byte anywhere in
  // the URL — is checked on every call.
  Result<Origin> checked_origin(const std::string& url) {
    const size_t scheme_end = url.find("://");
    if (scheme_end != std::string::npos && !has_unsafe_url_byte(url)) {
      const std::string_view prefix =
          std::string_view(url).substr(0, url.find_first_of("/?#", scheme_end + 3));
      if (auto it = checked_authorities.find(prefix); it != checked_authorities.end())
        return it->second;
    }
    Result<Origin> origin = origin_of(url);
    if (!origin.ok()) return origin;
    const size_t authority_start = url.find("://") + 3;
    const std::string_view prefix =
        std::string_view(url).substr(0, url.find_first_of("/?#", authority_start));
    if (!curl_agrees(url, *origin))
      return Status("invalid_url", "libcurl reads the URL's host or port differently");
    if (checked_authorities.size() >= kMaxCheckedAuthorities) checked_authorities.clear();
    checked_authorities.emplace(prefix, *origin);
    return origin;
  }


  // A handle in its pooled state, or nullptr when libcurl cannot make one.
  std::unique_ptr<PooledEasy> acquire_easy() {
    if (idle.empty()) return new_pooled_easy();
    std::unique_ptr<PooledEasy> handle = std::move(idle.back());
    idle.pop_back();
    return handle;
  }

  // Detaches the exchange from its handle; the handle goes back to the pool
  // (its connection stays in the multi's cache for the next request).
  void release(Exchange& exchange) {
    if (std::unique_ptr<PooledEasy> handle = std::move(exchange.handle)) {
      handle->exchange = nullptr;
      if (idle.size() < kMaxIdleEasyHandles) {
        restore_pooled_state(*handle);
        idle.push_back(std::move(handle));
      }  // else destroyed here
    }
    if (exchange.header_list != nullptr) {
      curl_slist_free_all(exchange.header_list);
      exchange.header_list = nullptr;
    }
  }

  // Checks what the caller asked for; an empty status means the request may go.
  Status validate(const HttpRequest& request) const {
    if (!is_supported_method(request.method))
      return Status("invalid_request", "unsupported HTTP method '" + request.method + "'");
    if (request.timeout.count() <= 0)
      return Status("invalid_request", "the request timeout must be positive");
    bool has_authorization = false;
    for (const HttpHeaders* list : {&request.headers, &request.secret_headers}) {
      for (const auto& [name, value] : *list) {
        if (Status safe = check_header(name, value); !safe.ok()) return safe;
        if (is_managed_header(name))
          return Status("invalid_request",
                        "header '" + name + "' is set by the transport and may not be given");
        has_authorization |= names_equal(name, "authorization");
      }
    }
    if (!request.bearer_token.empty()) {
      if (has_authorization)
        return Status("invalid_request",
                      "the request has both a bearer token and an Authorization header");
      if (!check_header("Authorization", request.bearer_token).ok())
        return Status("unsafe_header", "the bearer token contains a line break or NUL byte");
    }
    return Status();
  }

  void start(std::shared_ptr<Exchange> exchange) {
    Exchange& ex = *exchange;
    ex.url = ex.request.url;
    ex.method = ex.request.method;
    Result<Origin> origin = checked_origin(ex.url);
    Status valid = origin.ok() ? validate(ex.request) : origin.status();
    if (!valid.ok()) {
      fail_later(std::move(exchange), HttpError::InvalidRequest, valid.message());
      return;
    }
    ex.origin = *origin;
    ex.handle = acquire_easy();
    if (ex.handle == nullptr) {
      fail_later(std::move(exchange), HttpError::Other, "curl_easy_init failed");
      return;
    }
    ex.handle->exchange = &ex;
    in_flight.emplace(&ex, std::move(exchange));
    send_hop(ex);
  }

  // Completes an exchange that never reached the network, on the loop.
  void fail_later(std::shared_ptr<Exchange> exchange, HttpError error, std::string message) {
    HttpResponse response = failed(error, std::move(message));
    response.final_url = exchange->url;
    response.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - exchange->started);
    loop.post([done = std::move(exchange->done), response = std::move(response)]() mutable {
      done(std::move(response));
    });
  }

  // Sets up the handle for ex.url / ex.method and hands it to the loop.
  void send_hop(Exchange& ex) {
    const auto elapsed = Clock::now() - ex.started;
    auto remaining =
        std::chrono::duration_cast<std::chrono::milliseconds>(ex.request.timeout - elapsed);
    // The first hop may not complete inside send(): libcurl times it out instead.
    if (ex.redirects == 0) remaining = std::max(remaining, std::chrono::milliseconds(1));
    if (remaining.count() <= 0) {
      // Only a redirect hop gets here (start() refuses a timeout <= 0), from
      // a loop callback, so completing inline is allowed.
      finish_with_error(ex, HttpError::Timeout,
                        "timed out: no complete response within " +
                            std::to_string(ex.request.timeout.count()) + " ms");
      return;
    }
    ex.response = HttpResponse();
    ex.header_bytes = 0;
    ex.body_too_large = false;
    ex.headers_too_large = false;

    // The handle is in its pooled state (see PooledEasy): set what this hop
    // needs beyond it, and flag what restore_pooled_state() must undo.
    PooledEasy& handle = *ex.handle;
    handle.error_buffer[0] = '\0';
    CURL* easy = handle.easy;
    curl_easy_setopt(easy, CURLOPT_URL, ex.url.c_str());
    if (!ex.request.ca_file.empty()) {
      handle.ca_file_set = true;
      curl_easy_setopt(easy, CURLOPT_CAINFO, ex.request.ca_file.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(ex.request.max_response_bytes));

    if (ex.method == "GET") {
      // libcurl's default.
    } else if (ex.method == "HEAD") {
      handle.method_set = true;
      curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    } else {
      handle.method_set = true;
      if (ex.method != "POST") curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, ex.method.c_str());
      if (sends_body(ex)) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(ex.request.body.size()));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, ex.request.body.data());
      }
    }

    set_headers(ex);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, ex.header_list);

    // The exchange lives while its transfer does; the transport may not (a
    // `done` posted after a refused add_transfer outlives remove_transfer).
    loop.add_transfer(easy, [weak = weak_from_this(), &ex](int code) {
      if (std::shared_ptr<State> self = weak.lock())
        self->on_hop_done(ex, static_cast<CURLcode>(code));
    });
  }

  void set_headers(Exchange& ex) {
    if (ex.header_list != nullptr) curl_slist_free_all(ex.header_list);
    ex.header_list = nullptr;
    const bool credentials_allowed = !ex.left_origin;
    bool has_content_type = false;
    bool has_user_agent = false;
    auto add = [&ex](const char* line) {
      ex.header_list = curl_slist_append(ex.header_list, line);
    };
    std::string line;  // one buffer for every line: libcurl copies each
    auto add_header = [&](std::string_view name, std::string_view separator,
                          std::string_view value) {
      line.assign(name).append(separator).append(value);
      add(line.c_str());
    };
    auto add_named = [&](const std::string& name, const std::string& value) {
      // "Name;" is libcurl's way to send a header with an empty value ("Name:"
      // would remove it).
      add_header(name, value.empty() ? ";" : ": ", value);
    };
    for (const auto& [name, value] : ex.request.headers) {
      if (!credentials_allowed && is_credential_header(name)) continue;
      has_content_type |= names_equal(name, "content-type");
      has_user_agent |= names_equal(name, "user-agent");
      add_named(name, value);
    }
    if (credentials_allowed) {
      for (const auto& [name, value] : ex.request.secret_headers) add_named(name, value);
      if (!ex.request.bearer_token.empty())
        add_header("Authorization", ": Bearer ", ex.request.bearer_token);
    }
    if (!has_user_agent) add(kUserAgentHeader);
    if (sends_body(ex)) {
      // libcurl would otherwise label every body form-encoded, and wait up to
      // a second for "100 Continue" before sending a large one.
      if (!has_content_type) add("Content-Type:");
      add("Expect:");
    }
  }

  static bool sends_body(const Exchange& ex) {
    // DELETE sends a body only when it has one; POST, PUT and PATCH always
    // carry a Content-Length, if only 0.
    if (ex.method == "GET" || ex.method == "HEAD" || !ex.send_body) return false;
    return ex.method != "DELETE" || !ex.request.body.empty();
  }

  void on_hop_done(Exchange& ex, CURLcode code) {
    CURL* easy = ex.handle->easy;
    long connects = 0;
    curl_easy_getinfo(easy, CURLINFO_NUM_CONNECTS, &connects);
    connections_opened += static_cast<uint64_t>(connects);

    if (code != CURLE_OK) {
      if (ex.body_too_large) {
        finish_with_error(ex, HttpError::TooLarge,
                          "the response body exceeded max_response_bytes (" +
                              std::to_string(ex.request.max_response_bytes) + " bytes)");
      } else if (ex.headers_too_large) {
        finish_with_error(
            ex, HttpError::TooLarge,
            "the response headers exceeded " + std::to_string(kMaxResponseHeaderBytes) + " bytes");
      } else {
        const Failure failure = classify(code);
        const char* error_buffer = ex.handle->error_buffer;
        std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        std::string message = failure.what + ": " + detail;
        if (failure.error == HttpError::TooLarge)
          message += " (" + std::to_string(ex.request.max_response_bytes) + " bytes)";
        finish_with_error(ex, failure.error, std::move(message));
      }
      return;
    }

    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    ex.response.status = static_cast<int>(status);
    if (is_redirect_status(status) && ex.request.redirects != RedirectPolicy::Never &&
        follow_redirect(ex, status))
      return;
    finish(ex);
  }

  // Starts the next hop when policy allows; false: the 3xx is the answer.
  bool follow_redirect(Exchange& ex, long status) {
    char* location = nullptr;  // resolved against this hop's URL by libcurl
    curl_easy_getinfo(ex.handle->easy, CURLINFO_REDIRECT_URL, &location);
    if (location == nullptr) return false;
    std::string target = location;  // owned by the handle, which is about to be reused
    Result<Origin> next = checked_origin(target);
    if (!next.ok()) return false;  // e.g. a non-http(s) scheme: not followed
    const bool same_origin = *next == ex.origin;
    if (!same_origin && ex.request.redirects == RedirectPolicy::SameOrigin) return false;
    if (ex.redirects >= ex.request.max_redirects) {
      finish_with_error(
          ex, HttpError::TooManyRedirects,
          "stopped after " + std::to_string(ex.redirects) + " redirects (max_redirects)");
      return true;
    }
    ++ex.redirects;
    if (!same_origin) ex.left_origin = true;
    // As browsers do: 303 turns any method but HEAD into GET; 301 and 302
    // turn POST into GET. 307 and 308 repeat the request as it was.
    if ((status == 303 && ex.method != "HEAD") ||
        ((status == 301 || status == 302) && ex.method == "POST")) {
      ex.method = "GET";
      ex.send_body = false;
    }
    ex.url = std::move(target);
    restore_pooled_state(*ex.handle);
    send_hop(ex);
    return true;
  }

  void finish_with_error(Exchange& ex, HttpError error, std::string message) {
    // libcurl's messages name hosts and ports, never headers; this is a last
    // guard that the token cannot leave through an error.
    if (!ex.request.bearer_token.empty() &&
        message.find(ex.request.bearer_token) != std::string::npos)
      message = "request failed";
    HttpResponse response = failed(error, std::move(message));
    ex.response = std::move(response);
    finish(ex);
  }

  void finish(Exchange& ex) {
    ex.response.final_url = ex.url;
    ex.response.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - ex.started);
    release(ex);
    auto node = in_flight.extract(&ex);
    std::shared_ptr<Exchange> keep = std::move(node.mapped());
    auto done = std::move(ex.done);
    HttpResponse response = std::move(ex.response);
    keep.reset();
    done(std::move(response));  // last: it may send again, reusing the handle
  }
};

CurlTransport::CurlTransport(EventLoop& loop) : state_(std::make_shared<State>(loop)) {}

CurlTransport::~CurlTransport() {
  State& state = *state_;
  for (auto& [raw, exchange] : state.in_flight) {
    if (exchange->handle != nullptr) state.loop.remove_transfer(exchange->handle->easy);
    state.release(*exchange);
    HttpResponse response = failed(HttpError::Cancelled, "the HTTP transport was shut down");
    response.final_url = exchange->url;
    state.loop.post([done = std::move(exchange->done), response = std::move(response)]() mutable {
      done(std::move(response));
    });
  }
  state.in_flight.clear();
}

void CurlTransport::send(HttpRequest request, std::function<void(HttpResponse)> done) {
  auto exchange = std::make_shared<Exchange>();
  exchange->request = std::move(request);
  exchange->done = std::move(done);
  exchange->started = Clock::now();
  if (state_->loop.in_loop_thread()) {
    state_->start(std::move(exchange));
    return;
  }
  state_->loop.post([weak = std::weak_ptr<State>(state_), exchange]() mutable {
    if (std::shared_ptr<State> state = weak.lock()) {
      state->start(std::move(exchange));
    } else {
      HttpResponse response = failed(HttpError::Cancelled, "the HTTP transport was shut down");
      exchange->done(std::move(response));
    }
  });
}

size_t CurlTransport::in_flight() const { return state_->in_flight.size(); }

uint64_t CurlTransport::connections_opened() const { return state_->connections_opened; }

}  // namespace flowline
