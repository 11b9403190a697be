// `flowline token url` and `flowline token serve` — the personal auth
// initiator ("Generate Personal Auth Initiator URL" in the reference
// product): `url` prints a signed, expiring, single-use link for one user
// and credential; `serve` is the small HTTP service that turns an opened
// link into that user's login at the provider and receives the reply.
//
// The service never logs a link, a code or a token: its log lines name the
// user, the credential and the outcome.
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "interpreter/commands.h"
#include "interpreter/token_common.h"
#include "runtime/http/http_server.h"
#include "runtime/http/url.h"
#include "runtime/oauth/authorization.h"
#include "runtime/oauth/initiator.h"
#include "runtime/oauth/loopback_listener.h"
#include "runtime/oauth/token_service.h"
#include "runtime/records/run_store.h"
#include "runtime/secrets.h"

#include <sodium.h>

namespace flowline::cli {

namespace {

constexpr char kDefaultServeAddress[] = "127.0.0.1:8766";
constexpr size_t kMaxPendingLogins = 1024;

struct InitiatorOptions {
  std::string credential;
  std::string user;
  std::string defs = ".";
  std::string base = std::string("http://") + kDefaultServeAddress;
  std::string expires = "15m";
  std::string listen = kDefaultServeAddress;
  std::string public_url;
  std::string port_file;
  std::string login_timeout = "10m";
};

Result<SecretBytes> signing_key() {
  auto key = load_vault_key(flowline_home() + "/vault.key");
  if (!key.ok()) return key.status();
  return initiator_signing_key(key->key);
}

std::string utc(SystemTime t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(std::chrono::system_clock::to_time_t(t)));
}

int token_url(const InitiatorOptions& options) {
  constexpr std::string_view command = "token url";
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/true);
  if (!target) return kExitUsage;
  if (target->credential->integration_type != Credential::IntegrationType::Personal) {
    std::cerr << fmt::format("flowline token url: credential '{}' is not personal; initiator links are "
                             "for a user's own token (use `flowline token login {} --system`)\n",
                             target->credential->full_name, target->credential->full_name);
    return kExitUsage;
  }
  if (options.user.empty()) {
    std::cerr << "flowline token url: --user is required: a link logs in one named user\n";
    return kExitUsage;
  }
  if (options.user.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos ||
      options.user.size() > 1024) {
    std::cerr << "flowline token url: --user must be one line of at most 1024 bytes\n";
    return kExitUsage;
  }
  auto lifetime = duration_option(options.expires, command, "--expires");
  if (!lifetime) return kExitUsage;
  if (*lifetime > kMaxInitiatorLinkLifetime) {
    std::cerr << "flowline token url: --expires is at most 7d; a shorter life is safer\n";
    return kExitUsage;
  }
  auto origin = origin_of(options.base);
  if (!origin.ok()) {
    std::cerr << fmt::format("flowline token url: --base '{}' is not an http(s) URL such as {}\n",
                             options.base, std::string("http://") + kDefaultServeAddress);
    return kExitUsage;
  }
  auto key = signing_key();
  if (!key.ok()) {
    std::cerr << "flowline token url: " << key.status().message() << "\n";
    return kExitFailed;
  }
  auto now = std::chrono::system_clock::now();
  InitiatorLink link = make_initiator_link(target->credential->full_name, options.user, now,
                                           std::chrono::duration_cast<std::chrono::seconds>(*lifetime));
  std::string base = options.base;
  while (base.ends_with('/')) base.pop_back();
  std::cout << base << "/authorize?link=" << sign_initiator_link(link, *key) << std::endl;
  std::cerr << fmt::format("This link logs user '{}' in for credential '{}' through `flowline token "
                           "serve` at {}. It works once, until {}. Send it to {} only.\n",
                           options.user, target->credential->full_name, base, utc(link.expires_at),
                           options.user);
  return kExitOk;
}

// One login started from a link, waiting for the provider's reply.
struct PendingLogin {
  std::string credential;
  std::string user;
  LoginAttempt attempt;
  OAuthEndpoints endpoints;
  std::string redirect_uri;
  std::chrono::steady_clock::time_point expires;
};

class InitiatorService {
 public:
  InitiatorService(std::shared_ptr<DefinitionSet> set, TokenService& tokens, SecretBytes key,
                   LinkLedger& ledger, std::string public_url, std::chrono::milliseconds login_timeout)
      : set_(std::move(set)),
        tokens_(tokens),
        key_(std::move(key)),
        ledger_(ledger),
        public_url_(std::move(public_url)),
        login_timeout_(login_timeout) {}

  void routes(httplib::Server& server) {
    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
      page(res, 200, "Flowline personal auth initiator",
           "Open the link you were sent to log in. Links are made with `flowline token url`.");
    });
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/authorize", [this](const httplib::Request& req, httplib::Response& res) {
      start_login(req, res);
    });
    server.Get("/callback", [this](const httplib::Request& req, httplib::Response& res) {
      finish_login(req, res);
    });
  }

 private:
  static void page(httplib::Response& res, int status, const std::string& title, const std::string& text) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_content(html_page(title, "<p>" + html_escape(text) + "</p>"), "text/html; charset=utf-8");
  }

  static void log(const std::string& line) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    std::cerr << fmt::format("{} token serve: {}\n", utc(std::chrono::system_clock::now()), line);
  }

  void start_login(const httplib::Request& req, httplib::Response& res) {
    if (req.get_param_value_count("link") != 1)
      return page(res, 400, "Not a login link",
                  "This address needs the link made by `flowline token url`; open that link as it was sent.");
    auto now = std::chrono::system_clock::now();
    auto link = verify_initiator_link(req.get_param_value("link"), key_, now);
    if (!link.ok()) {
      log(fmt::format("refused a link: {}", link.status().code()));
      if (link.status().code() == "link_expired")
        return page(res, 410, "This link has expired", link.status().message());
      return page(res, 400, "This link is not valid",
                  "The link was altered, cut short, or not made by this server. Ask for a new link.");
    }
    const auto* credential = set_->find_as<Credential>(Kind::Credential, link->credential);
    const OAuthProfile* profile = nullptr;
    if (credential && !credential->oauth_profile.empty())
      profile = set_->find_as<OAuthProfile>(Kind::OAuthProfile, credential->oauth_profile.full.empty()
                                                                    ? credential->oauth_profile.name
                                                                    : credential->oauth_profile.full);
    if (!credential || !profile) {
      log(fmt::format("refused a link for credential '{}': not defined here", link->credential));
      return page(res, 404, "Unknown credential",
                  "The credential of this link is not defined on this server. Ask for a new link.");
    }
    if (!client_secret_ready(*profile)) {
      log(fmt::format("cannot start a login for credential '{}': the client secret of OAuth profile "
                      "'{}' cannot be read (see `flowline token serve`'s environment)",
                      link->credential, profile->full_name));
      return page(res, 500, "The login cannot start",
                  "This server is missing a setting it needs; the link was not used. Tell the person "
                  "who runs the service, and open the link again once it is fixed.");
    }
    auto endpoints = tokens_.endpoints(*profile);
    if (!endpoints.ok()) {
      log(fmt::format("cannot start a login for credential '{}': {}", link->credential,
                      endpoints.status().message()));
      return page(res, 502, "The login cannot start",
                  "The authorization server's settings could not be loaded; try the link again later.");
    }
    auto used = ledger_.consume(*link, now);
    if (!used.ok()) {
      log(fmt::format("cannot record a link as used: {}", used.status().message()));
      return page(res, 500, "The login cannot start", "This server could not record the link; try again later.");
    }
    if (!*used) {
      log(fmt::format("refused a reused link of user '{}' for credential '{}'", link->user, link->credential));
      return page(res, 410, "This link has already been used",
                  "Each link works once. Ask for a new link if you need to log in again.");
    }
    PendingLogin login{link->credential, link->user, new_login_attempt(profile->pkce), *endpoints,
                       public_url_ + "/callback", std::chrono::steady_clock::now() + login_timeout_};
    auto url = authorization_request_url(*profile, login.endpoints, login.redirect_uri, login.attempt);
    if (!url.ok()) {
      log(url.status().message());
      return page(res, 500, "The login cannot start", url.status().message());
    }
    {
      std::lock_guard lock(mutex_);
      purge_expired();
      if (pending_.size() >= kMaxPendingLogins) {
        log("refused a login: too many logins in progress");
        return page(res, 503, "Too many logins in progress", "Try again in a few minutes.");
      }
      pending_.emplace(login.attempt.state, login);
    }
    log(fmt::format("login started for user '{}' on credential '{}'", login.user, login.credential));
    res.set_header("Cache-Control", "no-store");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_redirect(*url, 302);
  }

  void finish_login(const httplib::Request& req, httplib::Response& res) {
    std::optional<PendingLogin> login;
    {
      std::lock_guard lock(mutex_);
      purge_expired();
      if (req.get_param_value_count("state") == 1) {
        if (auto it = pending_.find(req.get_param_value("state")); it != pending_.end()) {
          login = std::move(it->second);
          pending_.erase(it);  // a reply is used once
        }
      }
    }
    if (!login) {
      log("refused a reply that matches no login in progress");
      return page(res, 400, "Unknown or expired login",
                  "This reply does not belong to a login in progress (it may have expired or been used "
                  "already). Ask for a new link.");
    }
    std::multimap<std::string, std::string> params(req.params.begin(), req.params.end());
    auto code = accept_authorization_response(params, login->attempt, login->endpoints);
    const auto* credential = set_->find_as<Credential>(Kind::Credential, login->credential);
    const auto* profile = set_->find_as<OAuthProfile>(
        Kind::OAuthProfile, credential->oauth_profile.full.empty() ? credential->oauth_profile.name
                                                                   : credential->oauth_profile.full);
    if (!code.ok()) {
      log(fmt::format("login of user '{}' on credential '{}' failed: {}", login->user, login->credential,
                      code.status().message()));
      return page(res, 400, "Login failed",
                  code.status().message() + ". This link has been used; ask for a new one to try again.");
    }
    auto token = tokens_.redeem_code(*credential, *profile, login->user, *code, login->redirect_uri,
                                     login->attempt.code_verifier);
    if (!token.ok()) {
      log(fmt::format("login of user '{}' on credential '{}' failed: {}", login->user, login->credential,
                      token.status().message()));
      return page(res, 502, "Login failed",
                  token.status().message() + ". This link has been used; ask for a new one to try again.");
    }
    log(fmt::format("stored the token of user '{}' for credential '{}'", login->user, login->credential));
    page(res, 200, "You are logged in",
         fmt::format("Flowline stored your token for credential '{}' (user '{}'). You can close this tab.",
                     login->credential, login->user));
  }

  static bool client_secret_ready(const OAuthProfile& profile) {
    if (!profile.client_secret.present()) return true;
    auto secret = resolve_secret(profile.client_secret, "client_secret");
    if (!secret.ok()) return false;
    sodium_memzero(secret->data(), secret->size());
    return true;
  }

  void purge_expired() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      it = it->second.expires <= now ? pending_.erase(it) : std::next(it);
    }
  }

  std::shared_ptr<DefinitionSet> set_;
  TokenService& tokens_;
  SecretBytes key_;
  LinkLedger& ledger_;
  std::string public_url_;
  std::chrono::milliseconds login_timeout_;
  std::mutex mutex_;
  std::map<std::string, PendingLogin> pending_;
};

// "127.0.0.1:8766", "localhost:0", "[::1]:8766".
bool parse_listen(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return false;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return false;
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string::npos) {
    return false;
  }
  std::string p = text.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  *host = h;
  *port = std::stoi(p);
  return *port <= 65535;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "::1" || host == "localhost";
}

int token_serve(const InitiatorOptions& options) {
  constexpr std::string_view command = "token serve";
  std::string host;
  int port = 0;
  if (!parse_listen(options.listen, &host, &port)) {
    std::cerr << fmt::format("flowline token serve: --listen wants HOST:PORT such as {}, not '{}'\n",
                             kDefaultServeAddress, options.listen);
    return kExitUsage;
  }
  if (!is_loopback_host(host) && !options.public_url.starts_with("https://")) {
    std::cerr << "flowline token serve: a listener beyond loopback carries authorization codes over "
                 "plain HTTP; put it behind an HTTPS proxy and give --public-url https://…, or listen "
                 "on 127.0.0.1\n";
    return kExitUsage;
  }
  auto login_timeout = duration_option(options.login_timeout, command, "--login-timeout");
  if (!login_timeout) return kExitUsage;
  auto loaded = load_checked_definitions(options.defs, command);
  if (!loaded) return kExitUsage;
  auto set = std::make_shared<DefinitionSet>(std::move(*loaded));
  auto vault = open_vault();
  if (!vault.ok()) {
    std::cerr << "flowline token serve: " << vault.status().message() << "\n";
    return kExitFailed;
  }
  auto key = signing_key();
  if (!key.ok()) {
    std::cerr << "flowline token serve: " << key.status().message() << "\n";
    return kExitFailed;
  }
  auto ledger = LinkLedger::open(flowline_home() + "/initiator.db");
  if (!ledger.ok()) {
    std::cerr << "flowline token serve: " << ledger.status().message() << "\n";
    return kExitFailed;
  }
  TokenService tokens(**vault);
  // A secret that cannot be read would fail every link of its profile: say so now.
  for (const Definition* d : set->of_kind(Kind::OAuthProfile)) {
    const auto& profile = static_cast<const OAuthProfile&>(*d);
    if (profile.grant_type != OAuthProfile::GrantType::AuthorizationCode || !profile.client_secret.present())
      continue;
    auto secret = resolve_secret(profile.client_secret,
                                 fmt::format("client_secret of OAuth profile '{}'", profile.full_name));
    if (secret.ok()) {
      sodium_memzero(secret->data(), secret->size());
    } else {
      std::cerr << fmt::format("flowline token serve: warning: {}; logins through links for its "
                               "credentials will fail until it is set\n",
                               secret.status().message());
    }
  }

  httplib::Server server;
  server.set_read_timeout(10, 0);
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) res.set_content(html_page("Not found", "<p>Nothing here.</p>"), "text/html; charset=utf-8");
  });
  int bound = bind_exclusive(server, host, port);
  if (bound <= 0) {
    std::cerr << fmt::format("flowline token serve: cannot listen on {} (is the port in use?)\n",
                             options.listen);
    return kExitFailed;
  }
  std::string public_url = options.public_url;
  if (public_url.empty())
    public_url = fmt::format("http://{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, bound);
  while (public_url.ends_with('/')) public_url.pop_back();
  InitiatorService service(set, tokens, std::move(*key), **ledger, public_url, *login_timeout);
  service.routes(server);

  InterruptGuard interrupt;
  std::thread listening = start_listening(server);
  if (!options.port_file.empty()) {
    std::string temporary = options.port_file + ".tmp";
    std::ofstream(temporary, std::ios::trunc) << bound << "\n";
    std::error_code ec;
    std::filesystem::rename(temporary, options.port_file, ec);
  }
  std::string bound_address = fmt::format(
      "{}:{}", host.find(':') != std::string::npos ? "[" + host + "]" : host, bound);
  std::cerr << fmt::format("flowline token serve: listening on {}{} (links from `flowline token url "
                           "CRED --user U --base {}`; the provider must accept the redirect URI "
                           "{}/callback). Ctrl-C stops.\n",
                           bound_address,
                           options.public_url.empty() ? "" : ", reached as " + public_url, public_url,
                           public_url);
  while (!interrupt.interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  listening.join();
  std::cerr << "flowline token serve: stopped\n";
  return kExitOk;
}

}  // namespace

void add_token_initiator_commands(CLI::App& token, int& exit_code) {
  auto url_options = std::make_shared<InitiatorOptions>();
  CLI::App* url = token.add_subcommand(
      "url", "Print a personal auth initiator link: one user logs in through `token serve`, once");
  url->add_option("credential", url_options->credential, "The credential (personal)")->required();
  url->add_option("--user", url_options->user, "The user the link logs in")->required();
  url->add_option("--base", url_options->base, "Where `flowline token serve` is reached")
      ->default_str(url_options->base);
  url->add_option("--expires", url_options->expires, "How long the link works (at most 7d)")
      ->default_str("15m");
  url->add_option("-d,--defs", url_options->defs, "Definition directory")->default_str(".");
  url->callback([url_options, &exit_code] { exit_code = token_url(*url_options); });

  auto serve_options = std::make_shared<InitiatorOptions>();
  CLI::App* serve = token.add_subcommand(
      "serve", "Serve personal auth initiator links: start each user's login and store their token");
  serve->add_option("--listen", serve_options->listen, "HOST:PORT to listen on (port 0: any free one)")
      ->default_str(kDefaultServeAddress);
  serve->add_option("--public-url", serve_options->public_url,
                    "The URL users reach this service at, when behind a proxy (https://…)");
  serve->add_option("--login-timeout", serve_options->login_timeout,
                    "How long a started login waits for the provider's reply")
      ->default_str("10m");
  serve->add_option("--port-file", serve_options->port_file, "Write the bound port here once listening");
  serve->add_option("-d,--defs", serve_options->defs, "Definition directory")->default_str(".");
  serve->callback([serve_options, &exit_code] { exit_code = token_serve(*serve_options); });
}

}  // namespace flowline::cli
