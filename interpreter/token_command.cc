// `flowline token import|status|list` — personal and system tokens in the
// vault — and the registration of every `token` subcommand (login, refresh
// and revoke live in token_lifecycle_command.cc, url and serve in
// token_initiator_command.cc). Token values are never printed.
#include <fmt/format.h>

#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

#include "interpreter/commands.h"
#include "flowline/flow_api.h"
#include "interpreter/output.h"
#include "interpreter/token_common.h"
#include "runtime/eval/evaluator.h"
#include "runtime/oauth/token_broker.h"
#include "runtime/records/run_store.h"
#include "runtime/vault/token_vault.h"

namespace flowline::cli {

namespace {

struct TokenOptions {
  std::string credential;
  std::string user;
  bool system = false;
  std::string file = "-";
  std::string defs = ".";
  std::string output = "text";
};

// The credential's full name, checked against the definitions.
std::optional<std::string> resolve_credential(const TokenOptions& options, std::string_view command) {
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/false);
  if (!target) return std::nullopt;
  return target->credential->full_name;
}

std::string who(const TokenOptions& options) { return token_user(options.user, options.system); }

int import_token(const TokenOptions& options) {
  auto credential = resolve_credential(options, "token import");
  if (!credential) return kExitUsage;
  std::string text;
  if (options.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(options.file);
    if (!in) {
      std::cerr << fmt::format("flowline token import: cannot read '{}'\n", options.file);
      return kExitUsage;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  HttpResponse reply;  // reuse the token-endpoint parser: same fields, same checks
  reply.status = 200;
  reply.body = text;
  auto parsed = OAuthClient::parse_token_reply(reply);
  if (!parsed.ok()) {
    std::cerr << "flowline token import: " << parsed.status().message()
              << " (expected the JSON of an OAuth 2.0 token response)\n";
    return kExitUsage;
  }
  auto json = parse_json_value(text);
  StoredToken token;
  token.access_token = parsed->access_token;
  token.refresh_token = parsed->refresh_token;
  token.token_type = parsed->token_type;
  token.scope = parsed->scope;
  token.obtained_at = std::chrono::system_clock::now();
  if (parsed->expires_in) token.expires_at = token.obtained_at + std::chrono::seconds(*parsed->expires_in);
  if (json.ok()) {
    if (const Value* at = json->find("expires_at"); at && at->is_number())
      token.expires_at = std::chrono::system_clock::time_point(
          std::chrono::seconds(static_cast<int64_t>(at->as_number())));
  }
  auto vault = open_vault();
  if (!vault.ok()) {
    std::cerr << "flowline token import: " << vault.status().message() << "\n";
    return kExitFailed;
  }
  std::string user = who(options);
  Status put = (*vault)->put(*credential, user, token);
  if (!put.ok()) {
    std::cerr << "flowline token import: " << put.message() << "\n";
    return kExitFailed;
  }
  TokenInfo info;
  info.expires_at = token.expires_at;
  std::cout << fmt::format("stored the token of {} for credential '{}' ({}; refresh token: {})\n",
                           user == kSystemUser ? "the system" : "user '" + user + "'", *credential,
                           expiry_text(info, token.obtained_at),
                           token.refresh_token.empty() ? "no" : "yes");
  return kExitOk;
}

int token_status(const TokenOptions& options) {
  auto credential = resolve_credential(options, "token status");
  if (!credential) return kExitUsage;
  auto vault = open_vault();
  if (!vault.ok()) {
    std::cerr << "flowline token status: " << vault.status().message() << "\n";
    return kExitFailed;
  }
  auto all = (*vault)->list();
  if (!all.ok()) {
    std::cerr << "flowline token status: " << all.status().message() << "\n";
    return kExitFailed;
  }
  std::string user = who(options);
  auto now = std::chrono::system_clock::now();
  for (const auto& info : *all) {
    if (info.credential != *credential || info.user != user) continue;
    std::string state = state_name(info, now);
    bool usable = state == "valid" || (state == "expired" && info.has_refresh_token);
    if (options.output == "json") {
      ValueObject o;
      o.emplace("credential", Value(info.credential));
      o.emplace("user", Value(info.user));
      o.emplace("exists", Value(true));
      o.emplace("state", Value(state));
      o.emplace("valid", Value(usable));
      o.emplace("expires_in_seconds",
                info.expires_at ? Value(static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(*info.expires_at - now).count()))
                                : Value());
      o.emplace("scope", Value(info.scope));
      o.emplace("has_refresh_token", Value(info.has_refresh_token));
      std::cout << Value(std::move(o)).to_json() << "\n";
    } else {
      std::cout << fmt::format("credential:    {}\nuser:          {}\nstate:         {}\nexpires:       {}\n"
                               "scopes:        {}\nrefresh token: {}\n",
                               info.credential, info.user, state, expiry_text(info, now),
                               info.scope.empty() ? "-" : info.scope,
                               info.has_refresh_token ? "yes" : "no");
    }
    return usable ? kExitOk : kExitAuthRequired;
  }
  if (options.output == "json") {
    std::cout << fmt::format("{{\"credential\":{},\"user\":{},\"exists\":false,\"valid\":false}}\n",
                             Value(*credential).to_json(), Value(user).to_json());
  } else {
    std::cout << fmt::format("no token for {} on credential '{}'; log in with `flowline token login "
                             "{} {}`\n",
                             user == kSystemUser ? "the system" : "user '" + user + "'", *credential,
                             *credential, user == kSystemUser ? "--system" : "--user " + user);
  }
  return kExitAuthRequired;
}

int token_list(const TokenOptions& options) {
  auto vault = open_vault();
  if (!vault.ok()) {
    std::cerr << "flowline token list: " << vault.status().message() << "\n";
    return kExitFailed;
  }
  auto all = (*vault)->list();
  if (!all.ok()) {
    std::cerr << "flowline token list: " << all.status().message() << "\n";
    return kExitFailed;
  }
  auto now = std::chrono::system_clock::now();
  if (options.output == "json") {
    ValueArray rows;
    for (const auto& info : *all) {
      ValueObject o;
      o.emplace("credential", Value(info.credential));
      o.emplace("user", Value(info.user));
      o.emplace("state", Value(state_name(info, now)));
      o.emplace("expires_at", info.expires_at ? Value(static_cast<int64_t>(std::chrono::system_clock::to_time_t(*info.expires_at))) : Value());
      o.emplace("scope", Value(info.scope));
      o.emplace("has_refresh_token", Value(info.has_refresh_token));
      rows.push_back(Value(std::move(o)));
    }
    std::cout << Value(std::move(rows)).to_json() << "\n";
    return kExitOk;
  }
  if (all->empty()) {
    std::cout << "no tokens stored\n";
    return kExitOk;
  }
  std::cout << fmt::format("{:<12} {:<32} {:<12} {:<18} {}\n", "USER", "CREDENTIAL", "STATE", "EXPIRES", "SCOPES");
  for (const auto& info : *all)
    std::cout << fmt::format("{:<12} {:<32} {:<12} {:<18} {}\n", info.user, info.credential,
                             state_name(info, now), expiry_text(info, now), info.scope);
  return kExitOk;
}

}  // namespace

void add_token_command(CLI::App& app, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "Manage the OAuth tokens in the vault (never shows their values)");
  token->require_subcommand(1);

  auto import_options = std::make_shared<TokenOptions>();
  CLI::App* import = token->add_subcommand(
      "import", "Store a token from the JSON of an OAuth 2.0 token response (for automation)");
  import->add_option("credential", import_options->credential, "The credential")->required();
  import->add_option("--user", import_options->user, "Whose token (default: $FLOWLINE_USER, else your login)");
  import->add_flag("--system", import_options->system, "Store the credential's shared system token");
  import->add_option("--file", import_options->file, "The token JSON ('-' for standard input)")->default_str("-");
  import->add_option("-d,--defs", import_options->defs, "Definition directory")->default_str(".");
  import->callback([import_options, &exit_code] { exit_code = import_token(*import_options); });

  auto status_options = std::make_shared<TokenOptions>();
  CLI::App* status = token->add_subcommand(
      "status", "Whether a user has a usable token: state, expiry, scopes, refresh token. Exit 3 when not");
  status->add_option("credential", status_options->credential, "The credential")->required();
  status->add_option("--user", status_options->user, "Whose token (default: $FLOWLINE_USER, else your login)");
  status->add_flag("--system", status_options->system, "The credential's shared system token");
  status->add_option("-d,--defs", status_options->defs, "Definition directory")->default_str(".");
  status->add_option("--output", status_options->output, "text or json")->check(CLI::IsMember({"text", "json"}));
  status->callback([status_options, &exit_code] { exit_code = token_status(*status_options); });

  auto list_options = std::make_shared<TokenOptions>();
  CLI::App* list = token->add_subcommand("list", "Every stored token: user, credential, state, expiry, scopes");
  list->add_option("--output", list_options->output, "text or json")->check(CLI::IsMember({"text", "json"}));
  list->callback([list_options, &exit_code] { exit_code = token_list(*list_options); });

  add_token_lifecycle_commands(*token, exit_code);
  add_token_initiator_commands(*token, exit_code);
}

}  // namespace flowline::cli
