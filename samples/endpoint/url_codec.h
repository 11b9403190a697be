// Percent-encoding and application/x-www-form-urlencoded parsing for the sample endpoint.
//
// The endpoint parses request bodies itself rather than taking httplib's merged `req.params`,
// because OAuth parameters must come from the body (RFC 6749 §3.2) and must not repeat, and a
// client secret in the query string must not count as client authentication.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace flowline::sample {

// Decodes one form-urlencoded component: "+" is a space, "%XX" a byte. Returns nullopt on a
// truncated or non-hex escape.
std::optional<std::string> FormUrlDecode(std::string_view text);

// Encodes everything but RFC 3986 unreserved characters (ALPHA DIGIT "-" "." "_" "~"), so the
// result is safe in a query value, a form value and (RFC 6749 §2.3.1) a Basic credential.
std::string PercentEncode(std::string_view text);

// A parsed form: name -> value. Parsing fails when a name appears twice (RFC 6749 §3.2: "MUST
// NOT be included more than once") or an escape is malformed; `error` then says which.
struct ParsedForm {
  std::map<std::string, std::string> fields;
  std::string error;  // empty on success

  bool ok() const { return error.empty(); }
  // The value of `name`, or "" when absent (OAuth treats an empty parameter as omitted).
  std::string Get(const std::string& name) const;
  bool Has(const std::string& name) const { return fields.count(name) != 0; }
};

ParsedForm ParseForm(std::string_view body);

// Appends `name=value` (both percent-encoded) to a URL, with "?" or "&" as its query needs.
void AppendQueryParameter(std::string& url, std::string_view name, std::string_view value);

// Escapes text for an HTML element or a double-quoted attribute.
std::string HtmlEscape(std::string_view text);

}  // namespace flowline::sample
