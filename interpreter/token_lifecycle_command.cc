// `flowline token login | refresh | revoke` — getting, renewing and dropping
// a user's token ("Get OAuth Token" and "Manage Tokens" in the reference
// product). Token values, codes and verifiers are never printed.
#include <fmt/format.h>
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "interpreter/commands.h"
#include "interpreter/token_common.h"
#include "runtime/oauth/authorization.h"
#include "runtime/oauth/loopback_listener.h"
#include "runtime/oauth/token_service.h"

extern char** environ;

namespace flowline::cli {

namespace {

struct LifecycleOptions {
  std::string credential;
  std::string user;
  bool system = false;
  std::string defs = ".";
  bool no_browser = false;
  int port = 0;
  std::string timeout = "5m";
  bool local_only = false;
};

// Opens `url` in the user's browser when there is one to open: a graphical session
// ($DISPLAY / $WAYLAND_DISPLAY) or $BROWSER, and xdg-open on the PATH. The URL is passed as
// an argument, never through a shell. Returns whether a browser was started.
bool open_browser(const std::string& url) {
  bool graphical = std::getenv("DISPLAY") || std::getenv("WAYLAND_DISPLAY") || std::getenv("BROWSER");
  if (!graphical) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* argv[] = {"xdg-open", url.c_str(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, "xdg-open", &actions, nullptr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  // Not waited for: a terminal browser run by xdg-open would hold us until it quits, while
  // the reply must be received meanwhile. The child is reaped when this process exits.
  return rc == 0;
}

int fail(std::string_view command, const Status& status, int code = kExitFailed) {
  std::cerr << fmt::format("flowline {}: {}\n", command, status.message());
  return code;
}

int client_credentials_login(TokenService& service, const CredentialTarget& target) {
  auto token = service.fetch_client_token(*target.credential, *target.profile);
  if (!token.ok()) return fail("token login", token.status());
  std::cout << fmt::format("stored a client-credentials token as the system token of credential '{}' "
                           "({})\n",
                           target.credential->full_name,
                           token_summary(*token, std::chrono::system_clock::now()));
  return kExitOk;
}

int token_login(const LifecycleOptions& options) {
  constexpr std::string_view command = "token login";
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/true);
  if (!target) return kExitUsage;
  auto user = acting_user(options.user, options.system, *target->credential, command);
  if (!user) return kExitUsage;
  auto timeout = duration_option(options.timeout, command, "--timeout");
  if (!timeout) return kExitUsage;
  const OAuthProfile& profile = *target->profile;

  // Check the vault key and the client secret first: either would otherwise stop the login
  // only after the user has signed in for nothing.
  if (!client_secret_available(profile, command)) return kExitFailed;
  auto vault = open_vault();
  if (!vault.ok()) return fail(command, vault.status());
  TokenService service(**vault);
  if (profile.grant_type == OAuthProfile::GrantType::ClientCredentials)
    return client_credentials_login(service, *target);

  auto redirect = loopback_redirect(profile);
  if (!redirect.ok()) return fail(command, redirect.status(), kExitUsage);
  auto endpoints = service.endpoints(profile);
  if (!endpoints.ok()) return fail(command, endpoints.status());

  InterruptGuard interrupt;
  auto listener = LoopbackListener::start(redirect->host, options.port, redirect->path);
  if (!listener.ok()) return fail(command, listener.status());
  std::string redirect_uri = loopback_redirect_uri(profile, *redirect, (*listener)->port());
  LoginAttempt attempt = new_login_attempt(profile.pkce);
  auto url = authorization_request_url(profile, *endpoints, redirect_uri, attempt);
  if (!url.ok()) return fail(command, url.status(), kExitUsage);

  std::cerr << fmt::format("To log {} in for credential '{}', open this URL in a browser (waiting {}; "
                           "Ctrl-C cancels):\n",
                           describe_user(*user), target->credential->full_name, options.timeout);
  std::cout << *url << std::endl;
  if (!options.no_browser && open_browser(*url)) std::cerr << "(opened in your browser)\n";

  std::multimap<std::string, std::string> params;
  auto deadline = std::chrono::steady_clock::now() + *timeout;
  Result<std::string> code = Status("login_error", "no reply");
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    switch ((*listener)->wait(std::max(left, std::chrono::milliseconds(0)),
                              [&] { return interrupt.interrupted(); }, &params)) {
      case LoopbackListener::WaitEnd::Cancelled:
        std::cerr << "flowline token login: cancelled; nothing was stored\n";
        return kExitInterrupted;
      case LoopbackListener::WaitEnd::TimedOut:
        std::cerr << fmt::format("flowline token login: no reply from the browser within {}; nothing was "
                                 "stored. Run the command again (--timeout waits longer)\n",
                                 options.timeout);
        return kExitFailed;
      case LoopbackListener::WaitEnd::Reply:
        break;
    }
    code = accept_authorization_response(params, attempt, *endpoints);
    if (code.ok() || code.status().code() != "login_state_mismatch") break;
    // Not this login's reply (a stale tab, a replayed or forged request): refuse it and keep
    // waiting, so that it cannot cancel the login in progress.
    (*listener)->reject("Not this login's reply",
                        "This reply does not carry the state of the login in progress (a stale tab, "
                        "or a replayed or forged request), so it was ignored. The login goes on: "
                        "finish it in the window where it started.");
    std::cerr << "flowline token login: warning: ignored a reply that does not carry this login's "
                 "state (a stale browser tab, or a replayed or forged request); still waiting\n";
  }
  if (!code.ok()) {
    (*listener)->respond(false, "Login failed", code.status().message());
    return fail(command, code.status());
  }
  auto token = service.redeem_code(*target->credential, profile, *user, *code, redirect_uri,
                                   attempt.code_verifier);
  if (!token.ok()) {
    std::string message = token.status().message();
    if (token.status().code() == "oauth_invalid_grant")
      message += "; the authorization code was refused (already used, expired, or issued for "
                 "another login). Log in again";
    (*listener)->respond(false, "Login failed", message);
    return fail(command, Status(token.status().code(), message));
  }
  (*listener)->respond(true, "Logged in",
                       fmt::format("Flowline stored the token of {} for credential '{}'. You can "
                                   "close this tab.",
                                   describe_user(*user), target->credential->full_name));
  std::cout << fmt::format("logged in: stored the token of {} for credential '{}' ({})\n",
                           describe_user(*user), target->credential->full_name,
                           token_summary(*token, std::chrono::system_clock::now()));
  return kExitOk;
}

int token_refresh(const LifecycleOptions& options) {
  constexpr std::string_view command = "token refresh";
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/true);
  if (!target) return kExitUsage;
  auto user = acting_user(options.user, options.system, *target->credential, command);
  if (!user) return kExitUsage;
  auto vault = open_vault();
  if (!vault.ok()) return fail(command, vault.status());
  TokenService service(**vault);
  auto token = service.refresh(*target->credential, *target->profile, *user);
  if (!token.ok()) {
    bool login = token.status().code() == "token_missing" || token.status().code() == "token_invalid";
    return fail(command, token.status(), login ? kExitAuthRequired : kExitFailed);
  }
  std::cout << fmt::format("refreshed the token of {} for credential '{}' ({})\n", describe_user(*user),
                           target->credential->full_name,
                           token_summary(*token, std::chrono::system_clock::now()));
  return kExitOk;
}

int token_revoke(const LifecycleOptions& options) {
  constexpr std::string_view command = "token revoke";
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/true);
  if (!target) return kExitUsage;
  auto user = acting_user(options.user, options.system, *target->credential, command);
  if (!user) return kExitUsage;
  auto vault = open_vault();
  if (!vault.ok()) return fail(command, vault.status());
  TokenService service(**vault);
  auto report = service.revoke(*target->credential, *target->profile, *user, options.local_only);
  if (!report.ok()) return fail(command, report.status());
  if (!report->had_token) {
    std::cout << fmt::format("{} has no token for credential '{}'; nothing to revoke\n",
                             describe_user(*user), target->credential->full_name);
    return kExitOk;
  }
  if (report->provider_told) {
    std::cout << fmt::format("revoked the token of {} for credential '{}' at the provider and deleted "
                             "it from the vault\n",
                             describe_user(*user), target->credential->full_name);
  } else {
    std::cout << fmt::format("deleted the token of {} for credential '{}' from the vault\n",
                             describe_user(*user), target->credential->full_name);
    std::cerr << fmt::format("flowline token revoke: warning: {}\n", report->provider_note);
  }
  return kExitOk;
}

void add_identity_options(CLI::App* cmd, LifecycleOptions& options) {
  cmd->add_option("credential", options.credential, "The credential")->required();
  cmd->add_option("--user", options.user, "Whose token (default: $FLOWLINE_USER, else your login)");
  cmd->add_flag("--system", options.system, "The credential's shared system token");
  cmd->add_option("-d,--defs", options.defs, "Definition directory")->default_str(".");
}

}  // namespace

void add_token_lifecycle_commands(CLI::App& token, int& exit_code) {
  auto login_options = std::make_shared<LifecycleOptions>();
  CLI::App* login = token.add_subcommand(
      "login", "Log a user in (authorization code + PKCE, loopback redirect) and store the token");
  add_identity_options(login, *login_options);
  login->add_flag("--no-browser", login_options->no_browser, "Only print the URL; do not open a browser");
  login->add_option("--port", login_options->port, "Listen for the reply on this port (default: any free one)")
      ->check(CLI::Range(1, 65535));
  login->add_option("--timeout", login_options->timeout, "How long to wait for the browser")
      ->default_str("5m");
  login->callback([login_options, &exit_code] { exit_code = token_login(*login_options); });

  auto refresh_options = std::make_shared<LifecycleOptions>();
  CLI::App* refresh = token.add_subcommand(
      "refresh", "Renew a stored token now with its refresh token (exit 3 when a new login is needed)");
  add_identity_options(refresh, *refresh_options);
  refresh->callback([refresh_options, &exit_code] { exit_code = token_refresh(*refresh_options); });

  auto revoke_options = std::make_shared<LifecycleOptions>();
  CLI::App* revoke = token.add_subcommand(
      "revoke", "Revoke a token at the provider (RFC 7009), then delete it from the vault");
  add_identity_options(revoke, *revoke_options);
  revoke->add_flag("--local-only", revoke_options->local_only,
                   "Delete it from the vault without telling the provider");
  revoke->callback([revoke_options, &exit_code] { exit_code = token_revoke(*revoke_options); });
}

}  // namespace flowline::cli
