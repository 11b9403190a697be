// What the sample authorization server has issued: authorization codes, grants, access tokens
// and refresh tokens, and the rules that tie them together.
//
// A *grant* is one authorization: a code exchange or a client-credentials request. Every access
// and refresh token belongs to exactly one grant, and revoking the grant revokes them all — which
// is what a replayed code (RFC 6749 §4.1.2) and a reused refresh token (refresh token rotation
// with reuse detection, RFC 9700 §4.14.2) do.
//
// Tokens and codes are kept only as SHA-256 digests. Thread-safe: every method takes one mutex,
// so each is atomic with respect to the others (a code is redeemed at most once even when two
// requests race for it).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "samples/endpoint/oauth_error.h"

namespace flowline::sample {

// The user of a client-credentials grant: the client acting for itself.
inline constexpr std::string_view kSystemUser = "*system*";

// What an authorization code is bound to when it is issued.
struct AuthorizationRequest {
  std::string client_id;
  std::string redirect_uri;
  std::string code_challenge;  // S256 challenge; empty when the client may skip PKCE
  std::string user;
  std::string scope;
};

// A successful token response (RFC 6749 §5.1).
struct IssuedTokens {
  std::string access_token;
  std::string refresh_token;  // empty: none issued
  std::chrono::seconds expires_in{0};
  std::string scope;
};

struct TokenOutcome {
  static TokenOutcome Success(IssuedTokens tokens) { return {std::move(tokens), {}, false, false}; }
  static TokenOutcome Failure(OAuthError error) { return {{}, std::move(error), false, false}; }

  std::optional<IssuedTokens> tokens;  // set on success
  std::optional<OAuthError> error;     // set on failure
  bool reuse_detected = false;         // a spent code or refresh token was presented again
  bool revoked_grant = false;          // ... and that revoked a grant still active
};

// What the resource server learns from an access token.
struct AccessTokenCheck {
  enum class Verdict { kValid, kUnknown, kExpired, kRevoked };
  Verdict verdict = Verdict::kUnknown;
  std::string user;  // set when valid; kSystemUser for client credentials
  std::string client_id;
  std::string scope;
};

enum class RevokeResult {
  kRevokedAccessToken,  // that access token only
  kRevokedGrant,        // a refresh token: its whole grant
  kAlreadyRevoked,
  kUnknownToken,
  kOtherClientsToken,  // issued to a different client: refused, nothing revoked
};

class TokenStore {
 public:
  using Clock = std::chrono::steady_clock;

  TokenStore(std::chrono::milliseconds access_token_lifetime,
             std::chrono::milliseconds code_lifetime);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // Issues a single-use authorization code bound to `request`.
  std::string IssueCode(AuthorizationRequest request);

  // Exchanges a code for tokens. `check` sees what the code is bound to (under the lock) and
  // returns an error to refuse the exchange, e.g. a wrong redirect_uri or code_verifier; a
  // refused exchange leaves the code unused. A code that was already exchanged is
  // invalid_grant and revokes the grant issued from it.
  TokenOutcome RedeemCode(
      std::string_view code,
      const std::function<std::optional<OAuthError>(const AuthorizationRequest&)>& check);

  // The refresh_token grant. With `rotate`, the presented refresh token is spent and a new one
  // returned; presenting a spent one again revokes the whole grant. Without `rotate` the
  // response has no refresh token and the presented one stays valid. `requested_scope`, when
  // not empty, must be a subset of the grant's scope.
  TokenOutcome Refresh(std::string_view refresh_token, std::string_view client_id,
                       std::string_view requested_scope, bool rotate);

  // The client_credentials grant: an access token for the client itself, no refresh token.
  IssuedTokens IssueClientToken(std::string_view client_id, std::string scope);

  // RFC 7009: revokes an access token, or a refresh token and with it its grant.
  RevokeResult Revoke(std::string_view token, std::string_view client_id);

  AccessTokenCheck CheckAccessToken(std::string_view access_token) const;

  // Makes every access token issued so far expired now (refresh tokens stay usable).
  void ExpireAccessTokens();

  // Forgets every code, grant and token.
  void Clear();

  size_t ActiveGrantCount() const;

 private:
  struct CodeRecord {
    AuthorizationRequest request;
    Clock::time_point expires_at;
    bool used = false;
    std::string grant_id;  // the grant its exchange created
  };
  struct Grant {
    std::string client_id;
    std::string user;
    std::string scope;
    bool revoked = false;
  };
  struct AccessRecord {
    std::string grant_id;
    std::string scope;
    Clock::time_point expires_at;
    bool revoked = false;
  };
  struct RefreshRecord {
    std::string grant_id;
    bool spent = false;  // rotated away; presenting it again is reuse
  };

  // All below require mu_ held.
  std::string NewGrant(std::string client_id, std::string user, std::string scope);
  IssuedTokens IssueTokens(const std::string& grant_id, const std::string& scope,
                           bool with_refresh_token);
  bool RevokeGrant(const std::string& grant_id);  // false when already revoked

  const std::chrono::milliseconds access_token_lifetime_;
  const std::chrono::milliseconds code_lifetime_;

  mutable std::mutex mu_;
  std::map<std::string, CodeRecord> codes_;              // by digest
  std::map<std::string, Grant> grants_;                  // by grant id
  std::map<std::string, AccessRecord> access_tokens_;    // by digest
  std::map<std::string, RefreshRecord> refresh_tokens_;  // by digest
};

// True when every space-separated scope in `requested` is in `granted`.
bool ScopeIsSubset(std::string_view requested, std::string_view granted);

}  // namespace flowline::sample
