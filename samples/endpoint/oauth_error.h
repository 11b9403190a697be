// An OAuth 2.0 error as the token and revocation endpoints report it (RFC 6749 §5.2).
#pragma once

#include <string>

namespace flowline::sample {

struct OAuthError {
  std::string code;         // "invalid_grant", "invalid_client", ...
  std::string description;  // human-readable; never contains a token, code or secret
  int http_status = 400;    // 401 for invalid_client, 503 for an injected outage

  static OAuthError InvalidRequest(std::string why) { return {"invalid_request", std::move(why)}; }
  static OAuthError InvalidGrant(std::string why) { return {"invalid_grant", std::move(why)}; }
  static OAuthError InvalidScope(std::string why) { return {"invalid_scope", std::move(why)}; }
  static OAuthError InvalidClient(std::string why) {
    return {"invalid_client", std::move(why), 401};
  }
};

}  // namespace flowline::sample
