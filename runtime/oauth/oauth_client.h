// OAuthClient: requests to an OAuth 2.0 token endpoint (RFC 6749 §4.1.3,
// §4.4, §6), with the client authentication the profile asks for.
//
// Borrows the transport; safe to use from the loop thread only. Secrets (the
// client secret, tokens, codes) never appear in a returned Status.
#pragma once

#include <optional>
#include <string>

#include "definitions/definitions.h"
#include "runtime/http/http.h"
#include "runtime/oauth/discovery.h"
#include "runtime/status.h"
#include "runtime/task.h"

namespace flowline {

struct TokenResponse {
  std::string access_token;
  std::string token_type;
  std::string refresh_token;          // empty when the reply had none
  std::string scope;                  // empty when the reply had none
  std::optional<int64_t> expires_in;  // seconds
};

// Status codes of a failed token request:
//   oauth_invalid_grant  the grant (refresh token, code) is no longer valid
//   oauth_transient      network error, timeout or 5xx (also from discovery): worth retrying
//   oauth_error          any other error reply (invalid_client, …), a malformed reply, or
//                        discovery that failed for good (issuer mismatch, no metadata)
// A profile with `issuer:` gets the URLs it does not give from the issuer's
// metadata (runtime/oauth/discovery.h), fetched once per issuer and cached.
class OAuthClient {
 public:
  explicit OAuthClient(HttpTransport& transport) : transport_(transport), discovery_(transport) {}

  Task<Result<TokenResponse>> refresh(const OAuthProfile& profile, const std::string& refresh_token);
  Task<Result<TokenResponse>> client_credentials(const OAuthProfile& profile);
  Task<Result<TokenResponse>> exchange_code(const OAuthProfile& profile, const std::string& code,
                                            const std::string& redirect_uri,
                                            const std::string& code_verifier);

  // RFC 7009 revocation of `token` ("refresh_token" or "access_token" as
  // `type_hint`), with the profile's client authentication. Codes:
  //   revoke_unsupported  the profile has no revocation_url (nor metadata with one)
  //   revoke_unavailable  network error, timeout, 5xx (503 included): the token
  //                       may still be valid at the provider
  //   revoke_error        any other refusal (invalid_client, unsupported_token_type, …)
  Task<Status> revoke(const OAuthProfile& profile, const std::string& token,
                      const std::string& type_hint);

  // The profile's endpoints after discovery (see discovery.h).
  Task<Result<OAuthEndpoints>> endpoints(const OAuthProfile& profile) {
    return discovery_.endpoints(profile);
  }
  ProfileDiscovery& discovery() { return discovery_; }

  // Parses a token endpoint reply (exposed for tests and fuzzing).
  static Result<TokenResponse> parse_token_reply(const HttpResponse& response);

 private:
  Task<Result<TokenResponse>> post(const OAuthProfile& profile,
                                   std::vector<std::pair<std::string, std::string>> form);
  // POSTs `form` to `url` with the profile's client authentication.
  Task<Result<HttpResponse>> send_form(const OAuthProfile& profile, const std::string& url,
                                       std::vector<std::pair<std::string, std::string>> form);
  HttpTransport& transport_;
  ProfileDiscovery discovery_;
};

// What to check when the provider answers invalid_client: the client id, where
// the secret comes from (never its value) and the send_credentials mode.
std::string client_authentication_hint(const OAuthProfile& profile);

// "Basic " + base64(form-urlencode(id) ":" form-urlencode(secret)) (RFC 6749 §2.3.1).
std::string basic_authorization(const std::string& client_id, const std::string& client_secret);

}  // namespace flowline
