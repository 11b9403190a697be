// What the `flowline token …` commands share: finding the credential (and
// its OAuth profile) in the definitions, opening the vault, naming the user,
// and Ctrl-C handling for the commands that wait.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "definitions/definitions.h"
#include "runtime/status.h"
#include "runtime/vault/token_vault.h"

namespace flowline::cli {

// A credential looked up by name, with the definitions it lives in.
struct CredentialTarget {
  std::shared_ptr<DefinitionSet> set;
  const Credential* credential = nullptr;
  const OAuthProfile* profile = nullptr;  // null unless the credential is oauth2
};

// Loads the definitions in `defs` and finds credential `name`. Prints the
// problem (with "did you mean") to stderr and returns nullopt when the
// definitions do not load or there is no such credential; with
// `need_oauth`, also when it is not an oauth2 credential with a profile.
std::optional<CredentialTarget> find_credential(const std::string& defs, const std::string& name,
                                                std::string_view command, bool need_oauth);

// The vault in $FLOWLINE_HOME (flowline.db, key vault.key).
Result<std::unique_ptr<TokenVault>> open_vault();

// The vault user for --user/--system: kSystemUser, the given user, or the
// session's default user ($FLOWLINE_USER, else the login name).
std::string token_user(const std::string& user, bool system);

// The vault user a command acts for, after checking --user/--system against
// the credential's integration type (a personal credential holds a token
// per user, a system one a single shared token). Prints the problem and
// returns nullopt on a mismatch.
std::optional<std::string> acting_user(const std::string& user, bool system,
                                       const Credential& credential, std::string_view command);

// Whether the profile's client secret can be read now (before a user is sent
// to log in for nothing). Prints the problem and returns false when not.
bool client_secret_available(const OAuthProfile& profile, std::string_view command);

// "user 'alice'" or "the system".
std::string describe_user(const std::string& vault_user);

// The `--user alice` / `--system` to repeat in a hint.
std::string user_flag(const std::string& vault_user);

// "valid", "expired" or "needs_login".
std::string state_name(const TokenInfo& info, SystemTime now);
// "in 59m 58s", "3m ago", "no expiry".
std::string expiry_text(const TokenInfo& info, SystemTime now);
// "expires in 1h; scopes: a b; refresh token: yes" — never a token value.
std::string token_summary(const StoredToken& token, SystemTime now);

// A duration option ("5m", "90s", "7d") or nullopt with a message on stderr.
std::optional<std::chrono::milliseconds> duration_option(const std::string& text,
                                                         std::string_view command,
                                                         std::string_view option);

void add_token_lifecycle_commands(CLI::App& token, int& exit_code);  // login, refresh, revoke
void add_token_initiator_commands(CLI::App& token, int& exit_code);  // url, serve

// Ctrl-C / SIGTERM while a command waits: install() sets a flag instead of
// killing the process, so the command can close its listener and exit 130
// having written nothing. The previous handlers come back when the guard dies.
class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool interrupted() const;
};

inline constexpr int kExitInterrupted = 130;  // 128 + SIGINT, as shells expect

}  // namespace flowline::cli
