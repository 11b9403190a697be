// Building request URLs safely: connection base URL + templated path + query.
// Nothing rendered from a pill may change the scheme, host or port.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/status.h"

namespace flowline {

struct Origin {
  std::string scheme;  // lower-case
  std::string host;    // lower-case
  int port = 0;        // explicit or the scheme's default
  bool operator==(const Origin&) const = default;
};

// The origin of an absolute http(s) URL, or an error status "invalid_url".
Result<Origin> origin_of(std::string_view url);
// Whether `url` holds a byte origin_of() refuses anywhere in a URL: a space
// or control character, a backslash, a non-ASCII byte.
bool has_unsafe_url_byte(std::string_view url);

// base_url (e.g. "https://api.example/v1") + path (rendered, may hold
// anything) + query pairs. The path is percent-encoded segment by segment
// (an existing valid %XX is kept... except %2F, which is rejected as a path
// smuggling attempt); a path that would escape the origin ("//host",
// "http://…", "\\", "@" before the first '/', CR/LF, NUL) is an error
// "unsafe_path". Query names and values are form-encoded (RFC 3986
// unreserved kept). Returns the full URL.
Result<std::string> build_url(std::string_view base_url, std::string_view path,
                              const std::vector<std::pair<std::string, std::string>>& query);

// build_url in two halves, for callers that reuse the first: the base URL
// and encoded path (with the base's own query, if any), then the query
// pairs appended to it. build_url(b, p, q) == build_url_path(b, p) +
// append_query(…, q).
Result<std::string> build_url_path(std::string_view base_url, std::string_view path);
void append_query(std::string& url, const std::vector<std::pair<std::string, std::string>>& query);

// A header name or value with CR, LF or NUL (header injection) is rejected:
// an error "unsafe_header".
Status check_header(std::string_view name, std::string_view value);

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string percent_encode(std::string_view text);

}  // namespace flowline
