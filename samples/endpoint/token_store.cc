#include "samples/endpoint/token_store.h"

#include <set>
#include <sstream>

#include "samples/endpoint/crypto.h"

namespace flowline::sample {
namespace {

std::set<std::string> SplitScope(std::string_view scope) {
  std::set<std::string> names;
  std::istringstream in{std::string(scope)};
  for (std::string name; in >> name;) names.insert(name);
  return names;
}

}  // namespace

bool ScopeIsSubset(std::string_view requested, std::string_view granted) {
  std::set<std::string> allowed = SplitScope(granted);
  for (const auto& name : SplitScope(requested)) {
    if (!allowed.count(name)) return false;
  }
  return true;
}

TokenStore::TokenStore(std::chrono::milliseconds access_token_lifetime,
                       std::chrono::milliseconds code_lifetime)
    : access_token_lifetime_(access_token_lifetime), code_lifetime_(code_lifetime) {}

std::string TokenStore::IssueCode(AuthorizationRequest request) {
  std::string code = RandomOpaqueValue();
  std::lock_guard lock(mu_);
  codes_[Sha256(code)] = CodeRecord{std::move(request), Clock::now() + code_lifetime_, false, ""};
  return code;
}

TokenOutcome TokenStore::RedeemCode(
    std::string_view code,
    const std::function<std::optional<OAuthError>(const AuthorizationRequest&)>& check) {
  std::lock_guard lock(mu_);
  auto it = codes_.find(Sha256(code));
  if (it == codes_.end())
    return TokenOutcome::Failure(OAuthError::InvalidGrant("unknown authorization code"));
  CodeRecord& record = it->second;
  if (record.used) {
    // RFC 6749 §4.1.2: a code used twice means it leaked; the tokens issued from it go too.
    bool revoked = !record.grant_id.empty() && RevokeGrant(record.grant_id);
    TokenOutcome outcome = TokenOutcome::Failure(OAuthError::InvalidGrant(
        "authorization code was already used; the tokens issued from it are revoked"));
    outcome.reuse_detected = true;
    outcome.revoked_grant = revoked;
    return outcome;
  }
  if (Clock::now() >= record.expires_at) {
    return TokenOutcome::Failure(OAuthError::InvalidGrant("authorization code expired"));
  }
  if (auto refused = check(record.request)) return TokenOutcome::Failure(std::move(*refused));

  record.used = true;
  record.grant_id = NewGrant(record.request.client_id, record.request.user, record.request.scope);
  return TokenOutcome::Success(IssueTokens(record.grant_id, record.request.scope, true));
}

TokenOutcome TokenStore::Refresh(std::string_view refresh_token, std::string_view client_id,
                                 std::string_view requested_scope, bool rotate) {
  std::lock_guard lock(mu_);
  auto it = refresh_tokens_.find(Sha256(refresh_token));
  if (it == refresh_tokens_.end()) {
    return TokenOutcome::Failure(OAuthError::InvalidGrant("unknown refresh token"));
  }
  RefreshRecord& record = it->second;
  Grant& grant = grants_.at(record.grant_id);
  if (grant.client_id != client_id) {
    return TokenOutcome::Failure(
        OAuthError::InvalidGrant("refresh token was issued to another client"));
  }
  if (record.spent) {
    // Only the holder of the newest refresh token may use the grant. An old one arriving means
    // two parties hold it — the client and an attacker — and the server cannot tell which is
    // which, so it ends the grant for both.
    TokenOutcome outcome = TokenOutcome::Failure(OAuthError::InvalidGrant(
        "refresh token was already used (reuse detected); the grant is revoked"));
    outcome.reuse_detected = true;
    outcome.revoked_grant = RevokeGrant(record.grant_id);
    return outcome;
  }
  if (grant.revoked)
    return TokenOutcome::Failure(OAuthError::InvalidGrant("the grant was revoked"));
  if (!requested_scope.empty() && !ScopeIsSubset(requested_scope, grant.scope)) {
    return TokenOutcome::Failure(
        OAuthError::InvalidScope("requested scope exceeds the granted scope"));
  }
  std::string scope = requested_scope.empty() ? grant.scope : std::string(requested_scope);
  if (rotate) record.spent = true;
  return TokenOutcome::Success(IssueTokens(record.grant_id, scope, rotate));
}

IssuedTokens TokenStore::IssueClientToken(std::string_view client_id, std::string scope) {
  std::lock_guard lock(mu_);
  std::string grant_id = NewGrant(std::string(client_id), std::string(kSystemUser), scope);
  return IssueTokens(grant_id, scope, false);
}

RevokeResult TokenStore::Revoke(std::string_view token, std::string_view client_id) {
  std::string digest = Sha256(token);
  std::lock_guard lock(mu_);
  if (auto it = access_tokens_.find(digest); it != access_tokens_.end()) {
    if (grants_.at(it->second.grant_id).client_id != client_id) {
      return RevokeResult::kOtherClientsToken;
    }
    if (it->second.revoked) return RevokeResult::kAlreadyRevoked;
    it->second.revoked = true;
    return RevokeResult::kRevokedAccessToken;
  }
  if (auto it = refresh_tokens_.find(digest); it != refresh_tokens_.end()) {
    if (grants_.at(it->second.grant_id).client_id != client_id) {
      return RevokeResult::kOtherClientsToken;
    }
    return RevokeGrant(it->second.grant_id) ? RevokeResult::kRevokedGrant
                                            : RevokeResult::kAlreadyRevoked;
  }
  return RevokeResult::kUnknownToken;
}

AccessTokenCheck TokenStore::CheckAccessToken(std::string_view access_token) const {
  std::string digest = Sha256(access_token);
  std::lock_guard lock(mu_);
  auto it = access_tokens_.find(digest);
  if (it == access_tokens_.end()) return {};
  const AccessRecord& record = it->second;
  const Grant& grant = grants_.at(record.grant_id);
  AccessTokenCheck check{AccessTokenCheck::Verdict::kValid, grant.user, grant.client_id,
                         record.scope};
  if (record.revoked || grant.revoked) {
    check.verdict = AccessTokenCheck::Verdict::kRevoked;
  } else if (Clock::now() >= record.expires_at) {
    check.verdict = AccessTokenCheck::Verdict::kExpired;
  }
  return check;
}

void TokenStore::ExpireAccessTokens() {
  auto now = Clock::now();
  std::lock_guard lock(mu_);
  for (auto& [digest, record] : access_tokens_)
    record.expires_at = std::min(record.expires_at, now);
}

void TokenStore::Clear() {
  std::lock_guard lock(mu_);
  codes_.clear();
  grants_.clear();
  access_tokens_.clear();
  refresh_tokens_.clear();
}

size_t TokenStore::ActiveGrantCount() const {
  std::lock_guard lock(mu_);
  size_t count = 0;
  for (const auto& [id, grant] : grants_) count += grant.revoked ? 0 : 1;
  return count;
}

std::string TokenStore::NewGrant(std::string client_id, std::string user, std::string scope) {
  std::string id = RandomOpaqueValue();
  grants_[id] = Grant{std::move(client_id), std::move(user), std::move(scope), false};
  return id;
}

IssuedTokens TokenStore::IssueTokens(const std::string& grant_id, const std::string& scope,
                                     bool with_refresh_token) {
  IssuedTokens tokens;
  tokens.access_token = RandomOpaqueValue();
  access_tokens_[Sha256(tokens.access_token)] =
      AccessRecord{grant_id, scope, Clock::now() + access_token_lifetime_, false};
  if (with_refresh_token) {
    tokens.refresh_token = RandomOpaqueValue();
    refresh_tokens_[Sha256(tokens.refresh_token)] = RefreshRecord{grant_id, false};
  }
  // expires_in is whole seconds; round up so a sub-second lifetime is not announced as 0.
  auto seconds = std::chrono::ceil<std::chrono::seconds>(access_token_lifetime_);
  tokens.expires_in = std::max(seconds, std::chrono::seconds(1));
  tokens.scope = scope;
  return tokens;
}

bool TokenStore::RevokeGrant(const std::string& grant_id) {
  auto it = grants_.find(grant_id);
  if (it == grants_.end() || it->second.revoked) return false;
  it->second.revoked = true;
  return true;
}

}  // namespace flowline::sample
