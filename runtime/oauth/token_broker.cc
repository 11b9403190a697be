#include "runtime/oauth/token_broker.h"

#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

namespace flowline {

// One refresh in flight for a (credential, user) in this process; later
// callers wait for it instead of starting another.
struct VaultTokenBroker::Flight {
  std::vector<std::coroutine_handle<>> waiters;
  std::optional<Result<AccessToken>> result;
};

namespace {

// Awaitable: joins a flight; resumes (posted to the loop) when it lands.
class JoinFlight {
 public:
  explicit JoinFlight(std::vector<std::coroutine_handle<>>* waiters) : waiters_(waiters) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { waiters_->push_back(h); }
  void await_resume() const noexcept {}

 private:
  std::vector<std::coroutine_handle<>>* waiters_;
};

bool is_client_credentials(const ResolvedConnection& binding) {
  return binding.profile &&
         binding.profile->grant_type == OAuthProfile::GrantType::ClientCredentials &&
         binding.credential->integration_type == Credential::IntegrationType::System;
}

std::string display_user(const std::string& user) {
  return user == kSystemUser ? "the system" : fmt::format("user '{}'", user);
}

}  // namespace

VaultTokenBroker::VaultTokenBroker(TokenVault& vault, OAuthClient& oauth, EventLoop& loop,
                                   std::function<SystemTime()> now, RefreshPolicy policy)
    : vault_(vault), oauth_(oauth), loop_(loop), now_(std::move(now)), policy_(policy) {
  if (sodium_init() < 0) std::abort();
  owner_ = fmt::format("{}-{:08x}", getpid(), randombytes_random());
}

bool VaultTokenBroker::needs_refresh(const StoredToken& token, SystemTime now,
                                     std::chrono::milliseconds max_skew) {
  if (!token.expires_at) return false;
  auto lifetime = std::chrono::duration_cast<std::chrono::milliseconds>(*token.expires_at - token.obtained_at);
  auto skew = std::min(max_skew, lifetime / 2);
  return now + skew >= *token.expires_at;
}

Status VaultTokenBroker::missing(const ResolvedConnection& binding, const std::string& user) const {
  const std::string& credential = binding.credential->full_name;
  if (user == kSystemUser)
    return Status("token_missing",
                  fmt::format("no system token for credential '{}'; store one with `flowline token "
                              "login {} --system` or `flowline token import {} --system`",
                              credential, credential, credential));
  return Status("token_missing",
                fmt::format("no token for user '{}' on credential '{}'; log in with `flowline token "
                            "login {} --user {}` (or import one with `flowline token import`)",
                            user, credential, credential, user));
}

Status VaultTokenBroker::needs_login(const ResolvedConnection& binding, const std::string& user,
                                     std::string_view why) const {
  const std::string& credential = binding.credential->full_name;
  return Status("token_invalid",
                fmt::format("the token of {} on credential '{}' {}; log in again with `flowline token "
                            "login {}{}`",
                            display_user(user), credential, why, credential,
                            user == kSystemUser ? " --system" : " --user " + user));
}

Task<Result<AccessToken>> VaultTokenBroker::token_for(const ResolvedConnection& binding,
                                                      const std::string& user) {
  std::string key = binding.credential->full_name + '\0' + user;
  auto cached = cache_.find(key);
  auto now_steady = std::chrono::steady_clock::now();
  StoredToken token;
  if (policy_.token_cache_ttl.count() > 0 && cached != cache_.end() &&
      now_steady - cached->second.read_at < policy_.token_cache_ttl) {
    token = cached->second.token;
  } else {
    auto stored = vault_.get(binding.credential->full_name, user);
    if (!stored.ok()) co_return stored.status();
    if (!stored->has_value()) {
      cache_.erase(key);
      if (is_client_credentials(binding)) co_return co_await refresh(binding, user, std::nullopt);
      co_return missing(binding, user);
    }
    token = std::move(**stored);
    if (policy_.token_cache_ttl.count() > 0) cache_[key] = CachedToken{token, now_steady};
  }
  if (token.state == TokenState::NeedsLogin)
    co_return needs_login(binding, user, "was refused by the provider");
  if (!needs_refresh(token, now_(), policy_.max_skew))
    co_return AccessToken{token.access_token, token.version, true};
  if (token.refresh_token.empty() && !is_client_credentials(binding)) {
    if (token.expires_at && now_() < *token.expires_at)  // about to expire; still usable
      co_return AccessToken{token.access_token, token.version, true};
    co_return needs_login(binding, user, "has expired and there is no refresh token");
  }
  co_return co_await refresh(binding, user, std::nullopt);
}

std::optional<AccessToken> VaultTokenBroker::ready_token(const ResolvedConnection& binding,
                                                        const std::string& user) {
  if (policy_.token_cache_ttl.count() <= 0 || cache_.empty()) return std::nullopt;
  key_.assign(binding.credential->full_name);
  key_ += '\0';
  key_ += user;
  auto cached = cache_.find(key_);
  if (cached == cache_.end() ||
      std::chrono::steady_clock::now() - cached->second.read_at >= policy_.token_cache_ttl)
    return std::nullopt;
  const StoredToken& token = cached->second.token;
  // Anything but a valid token that needs no refresh goes the long way.
  if (token.state != TokenState::Valid || needs_refresh(token, now_(), policy_.max_skew))
    return std::nullopt;
  return AccessToken{token.access_token, token.version, true};
}

Task<Result<AccessToken>> VaultTokenBroker::refresh_after_rejection(const ResolvedConnection& binding,
                                                                    const std::string& user,
                                                                    const AccessToken& rejected) {
  co_return co_await refresh(binding, user, rejected.version);
}

Task<Result<AccessToken>> VaultTokenBroker::refresh(const ResolvedConnection& binding,
                                                    const std::string& user,
                                                    std::optional<int64_t> rejected_version) {
  std::string key = binding.credential->full_name + '\0' + user;
  if (auto it = flights_.find(key); it != flights_.end()) {
    std::shared_ptr<Flight> flight = it->second;  // keep it alive while waiting
    JoinFlight join(&flight->waiters);
    co_await join;
    co_return *flight->result;
  }
  auto flight = std::make_shared<Flight>();
  flights_.emplace(key, flight);
  cache_.erase(key);  // read the vault again once the refresh is done
  Result<AccessToken> result = co_await refresh_under_lease(binding, user, rejected_version);
  flight->result = result;
  flights_.erase(key);
  // Resume the waiters from the loop, not from inside this frame.
  for (auto waiter : flight->waiters) loop_.post([waiter] { waiter.resume(); });
  flight->waiters.clear();
  co_return result;
}

Task<Result<TokenResponse>> VaultTokenBroker::request_token(const ResolvedConnection& binding,
                                                            const StoredToken* stored) {
  ++token_requests_;
  if (stored && !stored->refresh_token.empty())
    co_return co_await oauth_.refresh(*binding.profile, stored->refresh_token);
  co_return co_await oauth_.client_credentials(*binding.profile);
}

Task<Result<AccessToken>> VaultTokenBroker::refresh_under_lease(
    const ResolvedConnection& binding, const std::string& user,
    std::optional<int64_t> rejected_version) {
  const std::string& credential = binding.credential->full_name;
  if (binding.profile == nullptr)
    co_return Status("token_refresh_failed",
                     fmt::format("credential '{}' has no OAuth profile to refresh with", credential));
  // A token we can use now: fresh, and not the one the server just rejected.
  auto usable = [&](const std::optional<StoredToken>& token) {
    return token && token->state == TokenState::Valid &&
           !needs_refresh(*token, now_(), policy_.max_skew) &&
           (!rejected_version || token->version != *rejected_version);
  };

  // 1. Take the lease; while another process holds it, watch the vault.
  auto waited_since = std::chrono::steady_clock::now();
  for (;;) {
    auto lease = vault_.try_acquire_lease(credential, user, owner_, policy_.lease_ttl);
    if (!lease.ok()) co_return lease.status();
    if (*lease) break;
    Sleep pause(loop_, policy_.lease_poll);
    co_await pause;
    auto current = vault_.get(credential, user);
    if (!current.ok()) co_return current.status();
    if (usable(*current)) co_return AccessToken{(*current)->access_token, (*current)->version, true};
    if (*current && (*current)->state == TokenState::NeedsLogin)
      co_return needs_login(binding, user, "was refused by the provider");
    if (std::chrono::steady_clock::now() - waited_since > policy_.lease_ttl * 2)
      co_return Status("token_refresh_failed",
                       fmt::format("another process kept the refresh lease of credential '{}' too long",
                                   credential));
  }

  // 2. Holding the lease: someone may have refreshed just before we took it.
  auto release = [&] { vault_.release_lease(credential, user, owner_); };
  auto current = vault_.get(credential, user);
  if (!current.ok()) {
    release();
    co_return current.status();
  }
  if (usable(*current)) {
    release();
    co_return AccessToken{(*current)->access_token, (*current)->version, true};
  }
  std::optional<StoredToken> stored = *current;
  if (!stored && !is_client_credentials(binding)) {
    release();
    co_return missing(binding, user);
  }
  if (stored && stored->state == TokenState::NeedsLogin) {
    release();
    co_return needs_login(binding, user, "was refused by the provider");
  }
  if (stored && stored->refresh_token.empty() && !is_client_credentials(binding)) {
    release();
    co_return needs_login(binding, user, "cannot be renewed: there is no refresh token");
  }

  // 3. Ask the token endpoint; transient failures are retried and keep the
  //    refresh token.
  Result<TokenResponse> reply = Status("token_refresh_failed", "no attempt made");
  auto backoff = policy_.transient_backoff;
  for (int attempt = 1; attempt <= policy_.transient_attempts; ++attempt) {
    reply = co_await request_token(binding, stored && !is_client_credentials(binding) ? &*stored : nullptr);
    if (reply.ok() || reply.status().code() != "oauth_transient") break;
    if (attempt == policy_.transient_attempts) break;
    Sleep pause(loop_, backoff);
    co_await pause;
    backoff *= 2;
  }
  if (!reply.ok()) {
    if (reply.status().code() == "oauth_invalid_grant" && stored) {
      StoredToken refused = *stored;
      refused.state = TokenState::NeedsLogin;
      vault_.compare_and_swap(credential, user, stored->version, refused);
      release();
      co_return needs_login(binding, user, "was refused by the provider (invalid_grant)");
    }
    release();
    co_return Status("token_refresh_failed",
                     fmt::format("could not refresh the token of {} on credential '{}': {}",
                                 display_user(user), credential, reply.status().message()));
  }

  // 4. Store the new token; a reply without a refresh token keeps the old one.
  StoredToken fresh;
  fresh.access_token = reply->access_token;
  fresh.refresh_token = reply->refresh_token.empty() && stored ? stored->refresh_token : reply->refresh_token;
  fresh.token_type = reply->token_type;
  fresh.scope = reply->scope.empty() && stored ? stored->scope : reply->scope;
  fresh.obtained_at = now_();
  if (reply->expires_in) fresh.expires_at = fresh.obtained_at + std::chrono::seconds(*reply->expires_in);
  fresh.state = TokenState::Valid;
  int64_t version = 1;
  if (stored) {
    auto swapped = vault_.compare_and_swap(credential, user, stored->version, fresh);
    if (!swapped.ok()) {
      release();
      co_return swapped.status();
    }
    version = stored->version + 1;
    if (!*swapped) {  // written meanwhile (an import, a login): use what is there
      auto latest = vault_.get(credential, user);
      release();
      if (latest.ok() && usable(*latest))
        co_return AccessToken{(*latest)->access_token, (*latest)->version, true};
      co_return Status("token_refresh_failed",
                       fmt::format("the token of {} on credential '{}' changed during the refresh",
                                   display_user(user), credential));
    }
  } else {
    Status put = vault_.put(credential, user, fresh);
    if (!put.ok()) {
      release();
      co_return put;
    }
    auto latest = vault_.get(credential, user);
    if (latest.ok() && *latest) version = (*latest)->version;
  }
  release();
  co_return AccessToken{fresh.access_token, version, true};
}

}  // namespace flowline
