// VaultTokenBroker: tokens for REST steps from the vault, refreshed when
// they expire (or are rejected) exactly once per (credential, user) — across
// the runs of this process (one refresh in flight, the others wait for it)
// and across processes (a lease row in the vault, never held inside a
// database transaction across the HTTP call).
//
// Lives on the loop thread. Borrows the vault, OAuth client and loop.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

#include "runtime/oauth/oauth_client.h"
#include "runtime/services.h"
#include "runtime/vault/token_vault.h"

namespace flowline {

struct RefreshPolicy {
  std::chrono::milliseconds max_skew{60'000};  // refresh this long before expiry (or half the lifetime)
  std::chrono::milliseconds lease_ttl{30'000};  // a crashed holder's lease is taken over after this
  std::chrono::milliseconds lease_poll{50};     // how often a waiting process re-reads the vault
  int transient_attempts = 4;                   // network errors / 5xx at the token endpoint
  std::chrono::milliseconds transient_backoff{250};
  // How long a token read from the vault is reused from memory without
  // reading the row again (0: every request reads the vault). A batch sets
  // it so a burst of runs does not read and decrypt one row per request;
  // another process's refresh or revocation shows after at most this long,
  // and a token the server rejects meanwhile is refreshed as usual.
  std::chrono::milliseconds token_cache_ttl{0};
};

class VaultTokenBroker : public TokenBroker {
 public:
  VaultTokenBroker(TokenVault& vault, OAuthClient& oauth, EventLoop& loop,
                   std::function<SystemTime()> now, RefreshPolicy policy = {});

  Task<Result<AccessToken>> token_for(const ResolvedConnection& binding,
                                      const std::string& user) override;
  Task<Result<AccessToken>> refresh_after_rejection(const ResolvedConnection& binding,
                                                    const std::string& user,
                                                    const AccessToken& rejected) override;
  // From the in-memory cache (RefreshPolicy::token_cache_ttl) only.
  std::optional<AccessToken> ready_token(const ResolvedConnection& binding,
                                         const std::string& user) override;

  // Token requests this broker has sent (for tests and `runs show`).
  int token_requests() const { return token_requests_; }

  // Whether `token` must be refreshed at `now` (DESIGN.md §4: expired, or
  // expiring within 60 s or half its lifetime, whichever is shorter).
  static bool needs_refresh(const StoredToken& token, SystemTime now,
                            std::chrono::milliseconds max_skew);

 private:
  struct Flight;
  Task<Result<AccessToken>> refresh(const ResolvedConnection& binding, const std::string& user,
                                    std::optional<int64_t> rejected_version);
  Task<Result<AccessToken>> refresh_under_lease(const ResolvedConnection& binding,
                                                const std::string& user,
                                                std::optional<int64_t> rejected_version);
  Task<Result<TokenResponse>> request_token(const ResolvedConnection& binding,
                                            const StoredToken* stored);
  Status missing(const ResolvedConnection& binding, const std::string& user) const;
  Status needs_login(const ResolvedConnection& binding, const std::string& user,
                     std::string_view why) const;

  TokenVault& vault_;
  OAuthClient& oauth_;
  EventLoop& loop_;
  std::function<SystemTime()> now_;
  RefreshPolicy policy_;
  std::string owner_;  // this broker's lease owner id: pid + random
  std::map<std::string, std::shared_ptr<Flight>> flights_;
  struct CachedToken {
    StoredToken token;
    std::chrono::steady_clock::time_point read_at;
  };
  std::unordered_map<std::string, CachedToken> cache_;  // credential '\0' user
  std::string key_;  // ready_token's lookup key, reused
  int token_requests_ = 0;
};

}  // namespace flowline
