// The client side of the OAuth 2.0 authorization-code grant for a native
// app (RFC 6749 §4.1, RFC 7636 PKCE, RFC 8252 loopback redirect, RFC 9207
// `iss`): what `flowline token login` and `flowline token serve` send the
// browser to, and how they check what comes back.
//
// Pure functions; safe from any thread. Nothing here puts a code, a
// verifier or a state value into a Status message.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "definitions/definitions.h"
#include "runtime/oauth/discovery.h"
#include "runtime/status.h"

namespace flowline {

// One login attempt's secrets: the PKCE verifier (43 characters of
// base64url, 256 random bits) and its S256 challenge, and the `state`
// (256 random bits, base64url). With `pkce: none` the verifier and the
// challenge are empty.
struct LoginAttempt {
  std::string code_verifier;
  std::string code_challenge;
  std::string state;
};

LoginAttempt new_login_attempt(OAuthProfile::Pkce pkce);

// BASE64URL(SHA-256(verifier)) without padding (RFC 7636 §4.2).
std::string pkce_s256(const std::string& verifier);

// The loopback redirect URI for a listener on `port`: the profile's
// redirect_url (default http://127.0.0.1/callback) with the port set.
// A Status "login_redirect_not_loopback" when the profile's redirect_url is
// not a loopback http URL — `token login` cannot receive the reply then.
struct LoopbackRedirect {
  std::string host;  // what to listen on: "127.0.0.1" or "::1"
  std::string path;  // e.g. "/callback"
};
Result<LoopbackRedirect> loopback_redirect(const OAuthProfile& profile);
std::string loopback_redirect_uri(const OAuthProfile& profile, const LoopbackRedirect& where,
                                  int port);

// The authorization request URL: response_type=code, client_id,
// redirect_uri, scope (the profile's scopes, space-separated), state, and
// code_challenge + code_challenge_method=S256 unless pkce is none. Extra
// parameters (e.g. login_hint) are appended in order. A Status
// "login_error" when the endpoints have no authorization URL.
Result<std::string> authorization_request_url(
    const OAuthProfile& profile, const OAuthEndpoints& endpoints, const std::string& redirect_uri,
    const LoginAttempt& attempt,
    const std::vector<std::pair<std::string, std::string>>& extra = {});

// Checks the parameters of the redirect back from the authorization server
// and returns the code. In this order:
//   - `state` must equal the attempt's (constant-time compare):
//     "login_state_mismatch" — checked first, so a forged error reply is
//     refused as well;
//   - `iss`, when present (RFC 9207), must equal the profile's issuer
//     exactly; a profile without `issuer` accepts an `iss` only when its
//     origin is the authorization URL's origin (a reply from another server
//     is a mix-up attack); a reply without `iss` is refused when the
//     issuer's metadata promises one (RFC 9207 §2.4): "login_issuer_mismatch";
//   - an `error` reply (RFC 6749 §4.1.2.1): "login_denied" for
//     access_denied, else "login_error"; the message carries the error code
//     and error_description (trimmed, control characters removed);
//   - a missing `code`: "login_error".
// Parameters appearing more than once are refused ("login_error").
Result<std::string> accept_authorization_response(
    const std::multimap<std::string, std::string>& params, const LoginAttempt& attempt,
    const OAuthEndpoints& endpoints);

// The scope parameter for a profile: its scopes joined with spaces.
std::string scope_string(const OAuthProfile& profile);

}  // namespace flowline
