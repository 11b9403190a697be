#include "runtime/http/url.h"

#include <cctype>
#include <charconv>
#include <string>

namespace flowline {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";
// The longest port number, "65535".
constexpr size_t kMaxPortDigits = 5;

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_unreserved(char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 pchar minus '%' (handled apart): unreserved, sub-delims, ':' and '@'.
bool is_path_char(char c) {
  return is_unreserved(c) || std::string_view("!$&'()*+,;=:@").find(c) != std::string_view::npos;
}

// RFC 7230 tchar: the characters of a header name.
bool is_token_char(char c) {
  return is_alpha(c) || is_digit(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_control(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

void append_escaped(std::string& out, char c) {
  const auto byte = static_cast<unsigned char>(c);
  out += '%';
  out += kHexDigits[byte >> 4];
  out += kHexDigits[byte & 0x0f];
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  return to_lower(c) - 'a' + 10;
}

Status invalid_url(std::string message) { return Status("invalid_url", std::move(message)); }
Status unsafe_path(std::string message) { return Status("unsafe_path", std::move(message)); }

// Decodes %2E/%2e so that encoded dot-segments are recognised as dot-segments.
std::string decode_dots(std::string_view segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size() && segment[i + 1] == '2' &&
        to_lower(segment[i + 2]) == 'e') {
      out += '.';
      i += 2;
    } else {
      out += segment[i];
    }
  }
  return out;
}

// Checks and encodes one rendered path. Never echoes the path in messages: it
// may carry anything a pill rendered.
Result<std::string> encode_path(std::string_view path) {
  if (path.starts_with("//"))
    return unsafe_path("the path starts with '//', which would name another host");
  if (path.find("://") != std::string_view::npos)
    return unsafe_path("the path contains '://', which would name another scheme and host");
  const std::string_view first_segment = path.substr(0, path.find('/'));
  if (!path.starts_with('/')) {
    if (first_segment.find(':') != std::string_view::npos)
      return unsafe_path("the path's first segment contains ':' and reads as a URL scheme");
    if (first_segment.find('@') != std::string_view::npos)
      return unsafe_path("the path contains '@' before its first '/' and reads as user info");
  }

  std::string out;
  out.reserve(path.size() + 8);
  size_t segment_start = 0;  // in `path`
  auto check_segment = [&](size_t end) -> Status {
    const std::string segment = decode_dots(path.substr(segment_start, end - segment_start));
    if (segment == "." || segment == "..")
      return unsafe_path("the path contains a '.' or '..' segment");
    return Status();
  };
  for (size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') return unsafe_path("the path contains a backslash");
    if (c == '\r' || c == '\n') return unsafe_path("the path contains a line break");
    if (c == '\0') return unsafe_path("the path contains a NUL byte");
    if (is_control(c)) return unsafe_path("the path contains a control character");
    if (c == '/') {
      if (Status s = check_segment(i); !s.ok()) return s;
      segment_start = i + 1;
      out += '/';
    } else if (c == '%') {
      if (i + 2 < path.size() && is_hex(path[i + 1]) && is_hex(path[i + 2])) {
        const int byte = hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]);
        if (byte == '/') return unsafe_path("the path contains an encoded '/' (%2F)");
        if (byte == '\\') return unsafe_path("the path contains an encoded backslash (%5C)");
        if (byte < 0x20 || byte == 0x7f)
          return unsafe_path("the path contains an encoded control character");
        // A valid escape is kept as written, in upper case.
        out += '%';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
        i += 2;
      } else {
        out += "%25";  // a lone '%' is data
      }
    } else if (is_path_char(c)) {
      out += c;
    } else {
      append_escaped(out, c);  // space, '?', '#', quotes, brackets, non-ASCII bytes...
    }
  }
  if (Status s = check_segment(path.size()); !s.ok()) return s;
  return out;
}

}  // namespace

bool has_unsafe_url_byte(std::string_view url) {
  for (const char c : url) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte >= 0x7f || c == '\\') return true;
  }
  return false;
}

Result<Origin> origin_of(std::string_view url) {
  if (has_unsafe_url_byte(url))
    return invalid_url("the URL contains a space, control character, backslash or non-ASCII byte");
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos) return invalid_url("the URL is not absolute (no '://')");
  Origin origin;
  for (const char c : url.substr(0, colon)) origin.scheme += to_lower(c);
  int default_port;
  if (origin.scheme == "https") {
    default_port = 443;
  } else if (origin.scheme == "http") {
    default_port = 80;
  } else {
    return invalid_url("the URL's scheme is not http or https");
  }

  const std::string_view rest = url.substr(colon + 3);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return invalid_url("the URL carries user info ('user@host'); use a credential instead");

  std::string_view host = authority;
  std::string_view port_text;
  bool has_port = false;
  if (authority.starts_with('[')) {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid_url("the URL's IPv6 host has no ']'");
    host = authority.substr(0, close + 1);
    for (const char c : host.substr(1, host.size() - 2))
      if (!is_hex(c) && c != ':' && c != '.') return invalid_url("the URL's IPv6 host is invalid");
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return invalid_url("unexpected text after the URL's IPv6 host");
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const size_t port_colon = authority.find(':');
    if (port_colon != std::string_view::npos) {
      host = authority.substr(0, port_colon);
      port_text = authority.substr(port_colon + 1);
      has_port = true;
    }
    for (const char c : host)
      if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.' && c != '_')
        return invalid_url("the URL's host contains a character hosts do not have");
  }
  if (host.empty() || host == "[]") return invalid_url("the URL has no host");
  for (const char c : host) origin.host += to_lower(c);

  origin.port = default_port;
  if (has_port) {
    if (port_text.empty() || port_text.size() > kMaxPortDigits)
      return invalid_url("the URL's port is out of range");
    int port = 0;
    const auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size())
      return invalid_url("the URL's port is not a number");
    if (port < 1 || port > 65535) return invalid_url("the URL's port is out of range");
    origin.port = port;
  }
  return origin;
}

Result<std::string> build_url_path(std::string_view base_url, std::string_view path) {
  if (Result<Origin> origin = origin_of(base_url); !origin.ok()) return origin.status();
  if (base_url.find('#') != std::string_view::npos)
    return invalid_url("the base URL has a fragment ('#')");

  const size_t question = base_url.find('?');
  std::string_view prefix = base_url.substr(0, question);
  const std::string_view base_query =
      question == std::string_view::npos ? std::string_view() : base_url.substr(question + 1);

  Result<std::string> encoded = encode_path(path);
  if (!encoded.ok()) return encoded.status();

  std::string url(prefix);
  // The authority ends at the first '/' after "://"; with none, the base has no path.
  const bool base_has_path = prefix.find('/', prefix.find("://") + 3) != std::string_view::npos;
  const std::string& tail = *encoded;
  if (tail.empty()) {
    if (!base_has_path) url += '/';
  } else {
    const bool url_slash = url.ends_with('/');
    const bool tail_slash = tail.starts_with('/');
    if (url_slash && tail_slash) {
      url.append(tail, 1);
    } else {
      if (!url_slash && !tail_slash) url += '/';
      url += tail;
    }
  }
  if (!base_query.empty()) {
    url += '?';
    url += base_query;
  }
  return url;
}

void append_query(std::string& url, const std::vector<std::pair<std::string, std::string>>& query) {
  // The base URL's own query, if any, came first.
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : query) {
    url += separator;
    url += percent_encode(name);
    url += '=';
    url += percent_encode(value);
    separator = '&';
  }
}

Result<std::string> build_url(std::string_view base_url, std::string_view path,
                              const std::vector<std::pair<std::string, std::string>>& query) {
  Result<std::string> url = build_url_path(base_url, path);
  if (!url.ok()) return url;
  append_query(*url, query);
  return url;
}

Status check_header(std::string_view name, std::string_view value) {
  // Messages name the header only when its name is clean, and never show the
  // value: it may be a secret.
  if (name.empty()) return Status("unsafe_header", "a header has an empty name");
  for (const char c : name)
    if (!is_token_char(c))
      return Status("unsafe_header",
                    "a header name contains a character header names may not have "
                    "(space, ':', a line break or a control character)");
  for (const char c : value) {
    if (c == '\r' || c == '\n')
      return Status("unsafe_header", "the value of header '" + std::string(name) +
                                         "' contains a line break (header injection)");
    if (c == '\0')
      return Status("unsafe_header",
                    "the value of header '" + std::string(name) + "' contains a NUL byte");
  }
  return Status();
}

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (is_unreserved(c)) {
      out += c;
    } else {
      append_escaped(out, c);
    }
  }
  return out;
}

}  // namespace flowline
