// TokenService: the token lifecycle operations behind `flowline token login
// | refresh | revoke` and `flowline token serve` — redeeming an
// authorization code, fetching a client-credentials token, refreshing now,
// and revoking at the provider — each a blocking call that drives its own
// event loop and HTTP transport.
//
// Refresh goes through the same VaultTokenBroker the runs use, so a forced
// refresh takes the same lease and compare-and-swap and can never race a
// running flow into a lost or duplicated refresh.
//
// Thread-safety: every method may be called from any thread; calls are
// serialised (one at a time) on the service's loop. Borrows the vault.
// Token values never appear in a Status message.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "definitions/definitions.h"
#include "runtime/oauth/discovery.h"
#include "runtime/status.h"
#include "runtime/vault/token_vault.h"

namespace flowline {

// What a revocation did. `provider_note` explains a provider that was not
// told (no revocation endpoint, --local-only).
struct RevokeReport {
  bool had_token = false;
  bool provider_told = false;       // the provider confirmed (HTTP 200) every revocation sent
  std::string provider_note;        // empty when provider_told
};

class TokenService {
 public:
  explicit TokenService(TokenVault& vault);
  ~TokenService();
  TokenService(const TokenService&) = delete;
  TokenService& operator=(const TokenService&) = delete;

  // The profile's endpoints after discovery (no request without `issuer`).
  Result<OAuthEndpoints> endpoints(const OAuthProfile& profile);

  // Exchanges an authorization code (RFC 6749 §4.1.3, with the PKCE
  // verifier unless empty) and stores the token for (credential, user),
  // replacing any earlier one. Codes: oauth_invalid_grant (the code was
  // refused: used, expired, wrong verifier or redirect URI), oauth_error,
  // oauth_transient, vault_*.
  Result<StoredToken> redeem_code(const Credential& credential, const OAuthProfile& profile,
                                  const std::string& user, const std::string& code,
                                  const std::string& redirect_uri, const std::string& verifier);

  // A client-credentials token (RFC 6749 §4.4) stored as the credential's
  // system token.
  Result<StoredToken> fetch_client_token(const Credential& credential, const OAuthProfile& profile);

  // Refreshes the stored token now, valid or not (client credentials: a new
  // token). Codes as for a run: token_missing, token_invalid (needs a new
  // login; invalid_grant marks the row needs_login), token_refresh_failed.
  Result<StoredToken> refresh(const Credential& credential, const OAuthProfile& profile,
                              const std::string& user);

  // Revokes the token at the provider (RFC 7009: the refresh token first,
  // then the access token unless it has expired) and then deletes it from the
  // vault. When the provider cannot be reached or answers 5xx
  // ("revoke_unavailable") or refuses ("revoke_error"), the token is KEPT
  // and that Status returned. A profile without a revocation endpoint, or
  // `local_only`, deletes it here only and says so in provider_note.
  Result<RevokeReport> revoke(const Credential& credential, const OAuthProfile& profile,
                              const std::string& user, bool local_only);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::mutex mutex_;
};

}  // namespace flowline
