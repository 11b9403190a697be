#include "runtime/oauth/token_service.h"

#include <fmt/format.h>

#include <optional>

#include "runtime/http/curl_transport.h"
#include "runtime/loop/event_loop.h"
#include "runtime/oauth/oauth_client.h"
#include "runtime/oauth/token_broker.h"
#include "runtime/task.h"

namespace flowline {

namespace {

std::string display_user(const std::string& user) {
  return user == kSystemUser ? "the system" : "user '" + user + "'";
}

StoredToken to_stored(const TokenResponse& reply, SystemTime now) {
  StoredToken token;
  token.access_token = reply.access_token;
  token.refresh_token = reply.refresh_token;
  token.token_type = reply.token_type;
  token.scope = reply.scope;
  token.obtained_at = now;
  if (reply.expires_in) token.expires_at = now + std::chrono::seconds(*reply.expires_in);
  return token;
}

}  // namespace

struct TokenService::Impl {
  explicit Impl(TokenVault& v)
      : vault(v),
        transport(loop),
        oauth(transport),
        broker(vault, oauth, loop, [] { return std::chrono::system_clock::now(); }) {}

  // Runs `task` to completion on this thread, which is the loop's thread meanwhile.
  template <typename T>
  T run(Task<T> task) {
    std::optional<T> out;
    spawn<T>(std::move(task), [&out](T value) { out.emplace(std::move(value)); });
    loop.run_until([&out] { return out.has_value(); });
    return std::move(*out);
  }

  Result<StoredToken> store(const Credential& credential, const std::string& user,
                            Result<TokenResponse> reply) {
    if (!reply.ok()) return reply.status();
    StoredToken token = to_stored(*reply, std::chrono::system_clock::now());
    Status put = vault.put(credential.full_name, user, token);
    if (!put.ok()) return put;
    auto stored = vault.get(credential.full_name, user);
    if (!stored.ok()) return stored.status();
    if (!*stored) return Status("vault_error", "the token vanished from the vault right after it was stored");
    return std::move(**stored);
  }

  TokenVault& vault;
  EventLoop loop;
  CurlTransport transport;
  OAuthClient oauth;
  VaultTokenBroker broker;
};

TokenService::TokenService(TokenVault& vault) : impl_(std::make_unique<Impl>(vault)) {}
TokenService::~TokenService() = default;

Result<OAuthEndpoints> TokenService::endpoints(const OAuthProfile& profile) {
  std::lock_guard lock(mutex_);
  return impl_->run(impl_->oauth.endpoints(profile));
}

Result<StoredToken> TokenService::redeem_code(const Credential& credential,
                                              const OAuthProfile& profile, const std::string& user,
                                              const std::string& code,
                                              const std::string& redirect_uri,
                                              const std::string& verifier) {
  std::lock_guard lock(mutex_);
  auto reply = impl_->run(impl_->oauth.exchange_code(profile, code, redirect_uri, verifier));
  return impl_->store(credential, user, std::move(reply));
}

Result<StoredToken> TokenService::fetch_client_token(const Credential& credential,
                                                     const OAuthProfile& profile) {
  std::lock_guard lock(mutex_);
  auto reply = impl_->run(impl_->oauth.client_credentials(profile));
  return impl_->store(credential, kSystemUser, std::move(reply));
}

Result<StoredToken> TokenService::refresh(const Credential& credential, const OAuthProfile& profile,
                                          const std::string& user) {
  std::lock_guard lock(mutex_);
  ResolvedConnection binding;
  binding.credential = &credential;
  binding.profile = &profile;
  auto current = impl_->vault.get(credential.full_name, user);
  if (!current.ok()) return current.status();
  AccessToken rejected;
  if (*current) {
    rejected.version = (*current)->version;
  } else {
    rejected.version = -1;  // nothing stored: the broker says token_missing (or fetches a client token)
  }
  auto fresh = impl_->run(impl_->broker.refresh_after_rejection(binding, user, rejected));
  if (!fresh.ok()) return fresh.status();
  auto stored = impl_->vault.get(credential.full_name, user);
  if (!stored.ok()) return stored.status();
  if (!*stored)
    return Status("token_missing", fmt::format("the token of {} on credential '{}' was deleted during "
                                               "the refresh",
                                               display_user(user), credential.full_name));
  return std::move(**stored);
}

Result<RevokeReport> TokenService::revoke(const Credential& credential, const OAuthProfile& profile,
                                          const std::string& user, bool local_only) {
  std::lock_guard lock(mutex_);
  RevokeReport report;
  auto current = impl_->vault.get(credential.full_name, user);
  if (!current.ok()) return current.status();
  if (!*current) return report;
  report.had_token = true;
  const StoredToken& token = **current;
  if (local_only) {
    report.provider_note = "--local-only: the provider was not told; the grant (its refresh token) "
                           "stays valid there until it expires or is revoked at the provider";
  } else {
    bool sent_any = false;
    auto revoke_one = [&](const std::string& value, const char* hint) -> Status {
      sent_any = true;
      return impl_->run(impl_->oauth.revoke(profile, value, hint));
    };
    Status status;
    if (!token.refresh_token.empty()) status = revoke_one(token.refresh_token, "refresh_token");
    bool access_live = !token.expires_at || *token.expires_at > std::chrono::system_clock::now();
    if (status.ok() && access_live && token.state == TokenState::Valid)
      status = revoke_one(token.access_token, "access_token");
    if (status.code() == "revoke_unsupported") {
      report.provider_note = status.message() +
                             ", so the provider was not told; the token was deleted here, and the "
                             "grant (its refresh token) stays valid at the provider until it expires "
                             "or is revoked there";
    } else if (!status.ok()) {
      return Status(status.code(),
                    fmt::format("{}; the token of {} on credential '{}' is kept in the vault{}",
                                status.message(), display_user(user), credential.full_name,
                                status.code() == "revoke_unavailable"
                                    ? fmt::format(" — run `flowline token revoke {} {}` again later",
                                                  credential.full_name,
                                                  user == kSystemUser ? "--system" : "--user " + user)
                                    : " — fix the cause, or delete it here only with --local-only"));
    } else {
      report.provider_told = sent_any;
    }
  }
  Status removed = impl_->vault.remove(credential.full_name, user);
  if (!removed.ok()) return removed;
  return report;
}

}  // namespace flowline
