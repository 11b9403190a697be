#include "support/memory_vault.h"

namespace flowline::testing {

Result<std::optional<StoredToken>> MemoryVault::get(const std::string& credential,
                                                    const std::string& user) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find({credential, user});
  if (it == tokens_.end()) return std::optional<StoredToken>();
  return std::optional<StoredToken>(it->second);
}

Status MemoryVault::put(const std::string& credential, const std::string& user,
                        const StoredToken& token) {
  std::lock_guard lock(mutex_);
  ++puts_;
  auto it = tokens_.find({credential, user});
  int64_t version = it == tokens_.end() ? 1 : it->second.version + 1;
  StoredToken stored = token;
  stored.version = version;
  tokens_[{credential, user}] = std::move(stored);
  return Status();
}

Result<bool> MemoryVault::compare_and_swap(const std::string& credential, const std::string& user,
                                           int64_t expected_version, const StoredToken& token) {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find({credential, user});
  if (it == tokens_.end() || it->second.version != expected_version) return false;
  ++puts_;
  StoredToken stored = token;
  stored.version = expected_version + 1;
  it->second = std::move(stored);
  return true;
}

Status MemoryVault::remove(const std::string& credential, const std::string& user) {
  std::lock_guard lock(mutex_);
  tokens_.erase({credential, user});
  return Status();
}

Result<std::vector<TokenInfo>> MemoryVault::list() {
  std::lock_guard lock(mutex_);
  std::vector<TokenInfo> out;
  for (const auto& [key, token] : tokens_) {
    TokenInfo info;
    info.credential = key.first;
    info.user = key.second;
    info.state = token.state;
    info.expires_at = token.expires_at;
    info.obtained_at = token.obtained_at;
    info.scope = token.scope;
    info.has_refresh_token = !token.refresh_token.empty();
    out.push_back(std::move(info));
  }
  return out;
}

Result<bool> MemoryVault::try_acquire_lease(const std::string& credential, const std::string& user,
                                            const std::string& owner,
                                            std::chrono::milliseconds ttl) {
  std::lock_guard lock(mutex_);
  SystemTime t = now();
  auto it = leases_.find({credential, user});
  if (it != leases_.end() && it->second.owner != owner) {
    auto age = t - it->second.taken;
    bool stale = age > ttl || age < -ttl;
    if (!stale) return false;
  }
  leases_[{credential, user}] = Lease{owner, t};
  return true;
}

Status MemoryVault::release_lease(const std::string& credential, const std::string& user,
                                  const std::string& owner) {
  std::lock_guard lock(mutex_);
  auto it = leases_.find({credential, user});
  if (it != leases_.end() && it->second.owner == owner) leases_.erase(it);
  return Status();
}

void MemoryVault::put_access_token(const std::string& credential, const std::string& user,
                                   const std::string& access_token,
                                   const std::string& refresh_token) {
  StoredToken token;
  token.access_token = access_token;
  token.refresh_token = refresh_token;
  token.obtained_at = now();
  token.expires_at = now() + std::chrono::hours(1);
  put(credential, user, token);
}

int MemoryVault::put_count() const {
  std::lock_guard lock(mutex_);
  return puts_;
}

}  // namespace flowline::testing
