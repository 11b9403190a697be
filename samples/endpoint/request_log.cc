#include "samples/endpoint/request_log.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string_view>

namespace flowline::sample {
namespace {

// Parameter names whose values are safe to print. Allow-listing rather than deny-listing means
// a new secret parameter is redacted without anyone remembering to add it.
const std::set<std::string, std::less<>>& HarmlessParameters() {
  static const std::set<std::string, std::less<>> names = {
      "response_type",
      "client_id",
      "redirect_uri",
      "scope",
      "code_challenge_method",
      "login_hint",
      "consent",
      "grant_type",
      "token_type_hint",
      "sysparm_limit",
      "sysparm_offset",
      "count",
      "status",
      "retry_after",
      "ms",
      "on",
      "target",
      "all",
      "to",
  };
  return names;
}

constexpr size_t kMaxValueLength = 80;

// Printable ASCII only, so a request cannot forge extra log lines; a space becomes "+" to keep
// `name=value` pairs apart; long values are cut.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, kMaxValueLength)) {
    out.push_back(c == ' ' ? '+' : c >= 0x21 && c < 0x7F ? c : '?');
  }
  if (text.size() > kMaxValueLength) out += "...";
  return out;
}

// The scheme of an Authorization header when it is a known one. A header without a scheme could
// be a bare token, so anything unrecognised is shown as "other".
std::string AuthorizationScheme(std::string_view header) {
  std::string_view scheme = header.substr(0, header.find(' '));
  for (std::string_view known : {"Bearer", "Basic", "Digest", "DPoP"}) {
    if (scheme.size() == known.size() && header.size() > scheme.size() &&
        std::equal(scheme.begin(), scheme.end(), known.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return std::string(known);
    }
  }
  return "other";
}

}  // namespace

std::string FormatRequestLogLine(const httplib::Request& request,
                                 const httplib::Response& response) {
  std::string line = Printable(request.remote_addr) + " " + Printable(request.method) + " " +
                     Printable(request.path);
  for (const auto& [name, value] : request.params) {
    bool harmless = HarmlessParameters().count(name) != 0;
    line += " " + Printable(name) + "=" + (harmless ? Printable(value) : "[redacted]");
  }
  std::string authorization = request.get_header_value("Authorization");
  if (!authorization.empty()) line += " auth=" + AuthorizationScheme(authorization);
  line += " -> " + std::to_string(response.status);
  return line;
}

}  // namespace flowline::sample
