// The sample OAuth 2.0 authorization server: authorization endpoint with PKCE and a scriptable
// consent, token endpoint (authorization_code, refresh_token with rotation and reuse detection,
// client_credentials), revocation (RFC 7009) and metadata (RFC 8414).
//
// Consent is scriptable because tests have no browser: the signed-in user is the `login_hint`
// query parameter or the `X-Sample-User` header, and the decision is `consent=approve|deny`.
// Without a user it shows an HTML form so a person with a browser can try the flow too.
//
// Thread-safe: its state lives in the TokenStore, Stats and FaultPlan it is given, which must
// outlive it; the refresh-omits-new-token switch is atomic.
#pragma once

#include <httplib.h>

#include <atomic>
#include <set>
#include <string>

#include "samples/endpoint/client_registry.h"
#include "samples/endpoint/fault_plan.h"
#include "samples/endpoint/stats.h"
#include "samples/endpoint/token_store.h"

namespace flowline::sample {

// The paths the sample definitions in samples/personal-incidents/ use.
inline constexpr char kAuthorizePath[] = "/oauth/authorize";
inline constexpr char kTokenPath[] = "/oauth/token";
inline constexpr char kRevokePath[] = "/oauth/revoke";

// Scope values the server grants; a request for any other is invalid_scope.
const std::set<std::string, std::less<>>& SupportedScopes();

class OAuthServer {
 public:
  OAuthServer(const ClientRegistry& clients, std::set<std::string, std::less<>> users,
              TokenStore& tokens, Stats& stats, FaultPlan& faults);
  OAuthServer(const OAuthServer&) = delete;
  OAuthServer& operator=(const OAuthServer&) = delete;

  void Register(httplib::Server& server);

  // The issuer (RFC 8414, RFC 9207 `iss`), e.g. "http://127.0.0.1:8765". Set once the port is
  // known and before the server accepts requests.
  void set_issuer(std::string issuer) { issuer_ = std::move(issuer); }

  // When on, refresh responses carry no refresh_token and the presented one stays valid.
  void set_refresh_omits_new_token(bool on) { refresh_omits_new_token_ = on; }

 private:
  void Authorize(const httplib::Request& request, httplib::Response& response);
  void Token(const httplib::Request& request, httplib::Response& response);
  void Revoke(const httplib::Request& request, httplib::Response& response);
  void Metadata(const httplib::Request& request, httplib::Response& response) const;

  TokenOutcome ExchangeCode(const OAuthClient& client, const ParsedForm& form);
  // Redirects an authorization error back to the client (RFC 6749 §4.1.2.1).
  void RedirectError(httplib::Response& response, const std::string& redirect_uri,
                     const std::string& state, std::string_view error,
                     std::string_view description) const;

  const ClientRegistry& clients_;
  const std::set<std::string, std::less<>> users_;
  TokenStore& tokens_;
  Stats& stats_;
  FaultPlan& faults_;
  std::string issuer_;
  std::atomic<bool> refresh_omits_new_token_{false};
};

}  // namespace flowline::sample
