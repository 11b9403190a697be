// MemoryVault: an in-memory TokenVault for tests. Keeps tokens and refresh
// leases in maps under one mutex, so it is safe from several threads (not
// across processes). Never fails unless told to (fail_next_get).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "runtime/vault/token_vault.h"

namespace flowline::testing {

class MemoryVault : public TokenVault {
 public:
  // `now` dates leases; empty: the system clock.
  explicit MemoryVault(std::function<SystemTime()> now = {}) : now_(std::move(now)) {}

  Result<std::optional<StoredToken>> get(const std::string& credential,
                                         const std::string& user) override;
  Status put(const std::string& credential, const std::string& user,
             const StoredToken& token) override;
  Result<bool> compare_and_swap(const std::string& credential, const std::string& user,
                                int64_t expected_version, const StoredToken& token) override;
  Status remove(const std::string& credential, const std::string& user) override;
  Result<std::vector<TokenInfo>> list() override;
  Result<bool> try_acquire_lease(const std::string& credential, const std::string& user,
                                 const std::string& owner, std::chrono::milliseconds ttl) override;
  Status release_lease(const std::string& credential, const std::string& user,
                       const std::string& owner) override;

  // Test helpers.
  void put_access_token(const std::string& credential, const std::string& user,
                        const std::string& access_token, const std::string& refresh_token = {});
  int put_count() const;

 private:
  using Key = std::pair<std::string, std::string>;
  struct Lease {
    std::string owner;
    SystemTime taken{};
  };
  SystemTime now() const { return now_ ? now_() : std::chrono::system_clock::now(); }

  std::function<SystemTime()> now_;
  mutable std::mutex mutex_;
  std::map<Key, StoredToken> tokens_;
  std::map<Key, Lease> leases_;
  int puts_ = 0;
};

}  // namespace flowline::testing
