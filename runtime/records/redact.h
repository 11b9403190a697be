// Redaction: what an execution record, a trace or a log may keep of a value,
// a URL or a message. Everything the run store and the trace writer write
// passes through here first, so a token never reaches a record.
//
// A name "looks secret" (is_secret_name) when, lower-cased with '-', '_' and
// '.' removed, it contains one of:
//   token, secret, password, passwd, passphrase, authorization, cookie,
//   apikey, privatekey, sessionid, signature, jwt
// so access_token, X-Auth-Token, client_secret, Proxy-Authorization,
// Set-Cookie, x-api-key, apiKey and PRIVATE_KEY all do. "credential" is
// deliberately not on the list: in Flowline it names a credential definition
// ("global.acme_oauth"), which is metadata, not a secret. Over-redaction
// (token_type, tokens_used) is accepted as the price of a short, safe rule.
// In URL query strings and fragments the bare names "key", "code" (an OAuth
// authorization code) and "sig" are secret too. Text also loses JSON Web
// Tokens ("eyJ….….…") wherever they appear.
//
// All functions are pure: thread-safe, no allocation limits beyond the
// input's size, never fail.
#pragma once

#include <string>
#include <string_view>

#include "definitions/value.h"

namespace flowline {

// What replaces a redacted value, userinfo, query value or bearer token.
inline constexpr std::string_view kRedacted = "[redacted]";

// Whether a member or header name holds a secret (see above).
bool is_secret_name(std::string_view name);

// A copy of `value` in which, recursively:
//  - a member whose name looks secret has its value replaced by "[redacted]"
//    (whatever its type; null stays null, since it hides nothing);
//  - every string passes through redact_text (URLs, bearer tokens).
Value redact(const Value& value);

// `url` with its userinfo ("user:pass@") replaced by "[redacted]@" and the
// values of query (and fragment) parameters with secret-looking names
// replaced by "[redacted]". Anything that does not parse as a URL comes back
// unchanged apart from those two rules applied where they can be found.
std::string redact_url(std::string_view url);

// Free text (an error message, a string value) with every http(s) URL in it
// passed through redact_url, the credential after "Bearer " or "Basic " (a
// run of 8 or more token characters) and every JSON Web Token replaced by
// "[redacted]".
std::string redact_text(std::string_view text);

}  // namespace flowline
