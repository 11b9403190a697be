#include "runtime/records/redact.h"

#include <algorithm>
#include <array>
#include <optional>

namespace flowline {

namespace {

constexpr std::array<std::string_view, 12> kSecretFragments = {
    "token",  "secret", "password",   "passwd",    "passphrase", "authorization",
    "cookie", "apikey", "privatekey", "sessionid", "signature",  "jwt",
};
// Too generic for member names, but secrets when they name a query parameter.
constexpr std::array<std::string_view, 3> kSecretQueryNames = {"key", "code", "sig"};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 6750 b64token characters (also base64 for Basic, and base64url).
bool is_token_char(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
         c == '=';
}

bool is_base64url_char(char c) { return is_alnum(c) || c == '-' || c == '_'; }

// Lower-cased, without the separators people put between words.
std::string normalize_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '-' || c == '_' || c == '.' || c == ' ') continue;
    out.push_back(lower(c));
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Query names may be percent- or form-encoded ("access%5Ftoken").
std::string decode_component(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = hex_digit(text[i + 1]);
      int lo = hex_digit(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(text[i] == '+' ? ' ' : text[i]);
  }
  return out;
}

bool is_secret_query_name(std::string_view encoded_name) {
  std::string name = decode_component(encoded_name);
  if (is_secret_name(name)) return true;
  std::string normalized = normalize_name(name);
  for (std::string_view exact : kSecretQueryNames) {
    if (normalized == exact) return true;
  }
  return false;
}

// Appends `params` ("a=1&token=x") with secret values redacted.
void append_redacted_params(std::string_view params, std::string& out) {
  size_t start = 0;
  while (true) {
    size_t end = params.find_first_of("&;", start);
    std::string_view param =
        params.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    size_t eq = param.find('=');
    if (eq != std::string_view::npos && eq + 1 < param.size() &&
        is_secret_query_name(param.substr(0, eq))) {
      out.append(param.substr(0, eq + 1));
      out.append(kRedacted);
    } else {
      out.append(param);
    }
    if (end == std::string_view::npos) break;
    out.push_back(params[end]);
    start = end + 1;
  }
}

bool starts_with_ci(std::string_view text, size_t pos, std::string_view prefix) {
  if (text.size() - pos < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (lower(text[pos + i]) != prefix[i]) return false;
  }
  return true;
}

// Where a URL that starts at `pos` in free text ends.
size_t url_end(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == '`' || c == 0x7f) break;
    ++pos;
  }
  return pos;
}

// The length of a JSON Web Token starting at `pos` ("eyJ" + three base64url
// segments), or 0.
size_t jwt_length(std::string_view text, size_t pos) {
  if (text.compare(pos, 3, "eyJ") != 0) return 0;
  if (pos > 0 && is_base64url_char(text[pos - 1])) return 0;
  size_t i = pos;
  int dots = 0;
  while (i < text.size() && (is_base64url_char(text[i]) || text[i] == '.')) {
    if (text[i] == '.') ++dots;
    ++i;
  }
  return dots >= 2 ? i - pos : 0;
}

// The credential after "Bearer "/"Basic " at `pos`: {start, length}, or
// length 0 when there is none worth hiding.
std::pair<size_t, size_t> scheme_credential(std::string_view text, size_t pos) {
  for (std::string_view scheme : {std::string_view("bearer"), std::string_view("basic")}) {
    if (!starts_with_ci(text, pos, scheme)) continue;
    if (pos > 0 && is_alnum(text[pos - 1])) return {0, 0};
    size_t i = pos + scheme.size();
    size_t spaces = i;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == spaces) return {0, 0};
    size_t start = i;
    while (i < text.size() && is_token_char(text[i])) ++i;
    if (i - start < 8) return {0, 0};
    return {start, i - start};
  }
  return {0, 0};
}

// nullopt when `value` needs no change, so unchanged subtrees stay shared.
std::optional<Value> redacted_copy(const Value& value) {
  switch (value.type()) {
    case Value::Type::String: {
      std::string text = redact_text(value.as_string());
      if (text == value.as_string()) return std::nullopt;
      return Value(std::move(text));
    }
    case Value::Type::Array: {
      const ValueArray& items = value.as_array();
      std::optional<ValueArray> out;
      for (size_t i = 0; i < items.size(); ++i) {
        std::optional<Value> item = redacted_copy(items[i]);
        if (!item) continue;
        if (!out) out = items;
        (*out)[i] = std::move(*item);
      }
      if (!out) return std::nullopt;
      return Value(std::move(*out));
    }
    case Value::Type::Object: {
      const ValueObject& members = value.as_object();
      std::optional<ValueObject> out;
      for (const auto& [name, member] : members) {
        std::optional<Value> replacement;
        if (is_secret_name(name)) {
          if (!member.is_null() && !(member.is_string() && member.as_string() == kRedacted)) {
            replacement = Value(kRedacted);
          }
        } else {
          replacement = redacted_copy(member);
        }
        if (!replacement) continue;
        if (!out) out = members;
        out->insert_or_assign(name, std::move(*replacement));
      }
      if (!out) return std::nullopt;
      return Value(std::move(*out));
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

bool is_secret_name(std::string_view name) {
  std::string normalized = normalize_name(name);
  for (std::string_view fragment : kSecretFragments) {
    if (normalized.find(fragment) != std::string::npos) return true;
  }
  return false;
}

Value redact(const Value& value) {
  std::optional<Value> copy = redacted_copy(value);
  return copy ? std::move(*copy) : value;
}

std::string redact_url(std::string_view url) {
  std::string out;
  out.reserve(url.size());
  size_t pos = 0;

  // scheme "://" authority: userinfo is everything before the authority's last '@'.
  size_t scheme_end = url.find("://");
  bool has_scheme = scheme_end != std::string_view::npos && scheme_end > 0;
  for (size_t i = 0; has_scheme && i < scheme_end; ++i) {
    char c = url[i];
    if (!(is_alnum(c) || c == '+' || c == '-' || c == '.')) has_scheme = false;
  }
  if (has_scheme) {
    size_t authority = scheme_end + 3;
    size_t authority_end = url.find_first_of("/?#", authority);
    if (authority_end == std::string_view::npos) authority_end = url.size();
    size_t at = url.substr(authority, authority_end - authority).rfind('@');
    out.append(url.substr(0, authority));
    if (at != std::string_view::npos) {
      if (at > 0) out.append(kRedacted);
      pos = authority + at;  // from the '@'
    } else {
      pos = authority;
    }
  }

  size_t query = url.find('?', pos);
  size_t fragment = url.find('#', pos);
  if (query != std::string_view::npos && fragment != std::string_view::npos && query > fragment) {
    query = std::string_view::npos;  // a '?' inside the fragment
  }
  size_t rest_end = std::min(query, fragment);
  out.append(
      url.substr(pos, rest_end == std::string_view::npos ? url.size() - pos : rest_end - pos));
  if (query != std::string_view::npos) {
    out.push_back('?');
    size_t end = fragment == std::string_view::npos ? url.size() : fragment;
    append_redacted_params(url.substr(query + 1, end - query - 1), out);
  }
  if (fragment != std::string_view::npos) {
    // OAuth's implicit grant returns tokens in the fragment: treat a=b pairs alike.
    out.push_back('#');
    append_redacted_params(url.substr(fragment + 1), out);
  }
  return out;
}

std::string redact_text(std::string_view text) {
  std::string out;
  size_t copied = 0;  // text[0, copied) is in `out`
  size_t i = 0;
  auto replace = [&](size_t start, size_t length, std::string_view with) {
    if (out.empty()) out.reserve(text.size());
    out.append(text.substr(copied, start - copied));
    out.append(with);
    copied = start + length;
    i = copied;
  };
  while (i < text.size()) {
    char c = lower(text[i]);
    if (c == 'h' && (starts_with_ci(text, i, "http://") || starts_with_ci(text, i, "https://"))) {
      size_t end = url_end(text, i);
      std::string_view url = text.substr(i, end - i);
      std::string redacted = redact_url(url);
      if (redacted != url) {
        replace(i, url.size(), redacted);
      } else {
        i = end;
      }
      continue;
    }
    if (c == 'b') {
      auto [start, length] = scheme_credential(text, i);
      if (length > 0) {
        replace(start, length, kRedacted);
        continue;
      }
    }
    if (text[i] == 'e') {
      size_t length = jwt_length(text, i);
      if (length > 0) {
        replace(i, length, kRedacted);
        continue;
      }
    }
    ++i;
  }
  if (copied == 0) return std::string(text);  // nothing was replaced
  out.append(text.substr(copied));
  return out;
}

}  // namespace flowline
