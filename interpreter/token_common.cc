#include "interpreter/token_common.h"

#include <fmt/format.h>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "flowline/flow_api.h"
#include "dsl/decoder.h"
#include "interpreter/commands.h"
#include "interpreter/output.h"
#include "runtime/records/run_store.h"
#include "runtime/secrets.h"
#include "runtime/vault/sqlite_db.h"

#include <sodium.h>

namespace flowline::cli {

std::optional<CredentialTarget> find_credential(const std::string& defs, const std::string& name,
                                                std::string_view command, bool need_oauth) {
  auto loaded = load_checked_definitions(defs, command);
  if (!loaded) return std::nullopt;
  CredentialTarget target;
  target.set = std::make_shared<DefinitionSet>(std::move(*loaded));
  target.credential = target.set->find_as<Credential>(Kind::Credential, name);
  if (!target.credential) {
    std::vector<std::string> names;
    for (const Definition* d : target.set->of_kind(Kind::Credential)) names.push_back(d->name);
    std::cerr << fmt::format("flowline {}: no credential named '{}' in {}{}\n", command, name, defs,
                             did_you_mean_suffix(name, names));
    return std::nullopt;
  }
  if (target.credential->type == Credential::Type::OAuth2 && !target.credential->oauth_profile.empty())
    target.profile = target.set->find_as<OAuthProfile>(
        Kind::OAuthProfile, target.credential->oauth_profile.full.empty()
                                ? target.credential->oauth_profile.name
                                : target.credential->oauth_profile.full);
  if (need_oauth && !target.profile) {
    std::cerr << fmt::format("flowline {}: credential '{}' is not an oauth2 credential with an OAuth "
                             "profile; only OAuth tokens can be {}\n",
                             command, target.credential->full_name,
                             command.ends_with("revoke") ? "revoked" : "obtained or refreshed");
    return std::nullopt;
  }
  return target;
}

Result<std::unique_ptr<TokenVault>> open_vault() {
  std::string home = flowline_home();
  // The home holds the vault, its key and run records: private to its owner.
  if (Status made = ensure_private_directory(home); !made.ok()) return made;
  return open_sqlite_vault(home + "/flowline.db", home + "/vault.key");
}

std::optional<std::string> acting_user(const std::string& user, bool system,
                                       const Credential& credential, std::string_view command) {
  bool system_credential = credential.integration_type == Credential::IntegrationType::System;
  if (system && !system_credential) {
    std::cerr << fmt::format("flowline {}: credential '{}' is personal (integration_type: personal, a "
                             "token per user); use --user NAME instead of --system\n",
                             command, credential.full_name);
    return std::nullopt;
  }
  if (!system && system_credential) {
    std::cerr << fmt::format("flowline {}: credential '{}' has one shared token (integration_type: "
                             "system); use --system\n",
                             command, credential.full_name);
    return std::nullopt;
  }
  return token_user(user, system);
}

bool client_secret_available(const OAuthProfile& profile, std::string_view command) {
  if (!profile.client_secret.present()) return true;
  auto secret = resolve_secret(profile.client_secret,
                               fmt::format("client_secret of OAuth profile '{}'", profile.full_name));
  if (secret.ok()) {
    sodium_memzero(secret->data(), secret->size());
    return true;
  }
  std::cerr << fmt::format("flowline {}: {}\n", command, secret.status().message());
  return false;
}

std::string token_user(const std::string& user, bool system) {
  if (system) return kSystemUser;
  return user.empty() ? Engine::default_user() : user;
}

std::string describe_user(const std::string& vault_user) {
  return vault_user == kSystemUser ? "the system" : "user '" + vault_user + "'";
}

std::string user_flag(const std::string& vault_user) {
  return vault_user == kSystemUser ? "--system" : "--user " + vault_user;
}

std::string state_name(const TokenInfo& info, SystemTime now) {
  if (info.state == TokenState::NeedsLogin) return "needs_login";
  if (info.expires_at && *info.expires_at <= now) return "expired";
  return "valid";
}

std::string expiry_text(const TokenInfo& info, SystemTime now) {
  if (!info.expires_at) return "no expiry";
  return describe_duration(std::chrono::duration_cast<std::chrono::seconds>(*info.expires_at - now));
}

std::string token_summary(const StoredToken& token, SystemTime now) {
  std::string expiry = "no expiry";
  if (token.expires_at) {
    auto left = std::chrono::duration_cast<std::chrono::seconds>(*token.expires_at - now);
    expiry = left.count() < 0 ? describe_duration(left) : "expires in " + describe_duration(left);
  }
  return fmt::format("{}; scopes: {}; refresh token: {}", expiry,
                     token.scope.empty() ? "-" : token.scope, token.refresh_token.empty() ? "no" : "yes");
}

std::optional<std::chrono::milliseconds> duration_option(const std::string& text,
                                                         std::string_view command,
                                                         std::string_view option) {
  // Days too, for link lifetimes: "7d".
  std::optional<std::chrono::milliseconds> parsed;
  if (text.size() > 1 && text.back() == 'd' && text.find_first_not_of("0123456789") == text.size() - 1 &&
      text.size() < 8) {
    parsed = std::chrono::milliseconds(std::stoll(text.substr(0, text.size() - 1)) * 86'400'000LL);
  } else if (auto plain = parse_duration(text)) {
    parsed = std::chrono::duration_cast<std::chrono::milliseconds>(*plain);
  }
  if (!parsed || parsed->count() <= 0) {
    std::cerr << fmt::format("flowline {}: {} wants a positive duration such as 90s, 5m, 1h or 7d, "
                             "not '{}'\n",
                             command, option, text);
    return std::nullopt;
  }
  return *parsed;
}

namespace {
volatile std::sig_atomic_t g_interrupted = 0;
extern "C" void on_interrupt(int) { g_interrupted = 1; }
struct sigaction g_old_int, g_old_term;
}  // namespace

InterruptGuard::InterruptGuard() {
  g_interrupted = 0;
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_old_int);
  sigaction(SIGTERM, &action, &g_old_term);
}

InterruptGuard::~InterruptGuard() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool InterruptGuard::interrupted() const { return g_interrupted != 0; }

}  // namespace flowline::cli
