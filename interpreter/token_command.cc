// `flowline token import|status|list` — personal and system tokens in the
// vault — and the registration of every `token` subcommand (login, refresh
// and revoke live in token_lifecycle_command.cc, url and serve in
// token_initiator_command.cc). Token values are never printed.
#include <fmt/format.h>

#include <cstring>
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

// The credential (found in the definitions) and the vault user the command acts for, checked
// against each other; nullopt after printing the problem.
struct Subject {
  CredentialTarget target;
  std::string user;
  const std::string& credential() const { return target.credential->full_name; }
};
std::optional<Subject> subject(const TokenOptions& options, std::string_view command) {
  auto target = find_credential(options.defs, options.credential, command, /*need_oauth=*/false);
  if (!target) return std::nullopt;
  auto user = acting_user(options.user, options.system, *target->credential, command);
  if (!user) return std::nullopt;
  return Subject{std::move(*target), *user};
}

bool fetched_automatically(const Credential& credential, const OAuthProfile* profile) {
  return credential.integration_type == Credential::IntegrationType::System && profile &&
         profile->grant_type == OAuthProfile::GrantType::ClientCredentials;
}

int import_token(const TokenOptions& options) {
  constexpr std::string_view command = "token import";
  auto who = subject(options, command);
  if (!who) return kExitUsage;
  std::string text;
  std::string source = options.file == "-" ? "standard input" : "'" + options.file + "'";
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
  auto json = parse_json_value(text);
  if (!json.ok() || !json->is_object()) {
    std::cerr << fmt::format("flowline token import: {} is not a JSON object; expected the JSON of an "
                             "OAuth 2.0 token response, e.g. {{\"access_token\": \"…\", "
                             "\"token_type\": \"Bearer\", \"expires_in\": 3600}}\n",
                             text.empty() ? source + " is empty, so it" : source);
    return kExitUsage;
  }
  HttpResponse reply;  // reuse the token-endpoint parser: same fields, same checks
  reply.status = 200;
  reply.body = text;
  auto parsed = OAuthClient::parse_token_reply(reply);
  if (!parsed.ok()) {
    // The checks are the token endpoint's; say them in terms of the JSON given.
    std::string message = parsed.status().message();
    for (auto [from, to] : {std::pair{"the token endpoint's reply has", "the token JSON has"},
                            std::pair{"the token endpoint refused the request:", "the token JSON is an error reply:"},
                            std::pair{"the token endpoint issued", "the token JSON holds"}}) {
      if (size_t at = message.find(from); at != std::string::npos)
        message.replace(at, std::strlen(from), to);
    }
    std::cerr << fmt::format("flowline token import: {} (in {}; expected the JSON of an OAuth 2.0 "
                             "token response)\n",
                             message, source);
    return kExitUsage;
  }
  if (const Value* expires = json->find("expires_in");
      expires && !expires->is_null() && !parsed->expires_in) {
    std::cerr << fmt::format("flowline token import: \"expires_in\" in {} must be a number of "
                             "seconds, not {}\n",
                             source, expires->to_json().substr(0, 60));
    return kExitUsage;
  }
  StoredToken token;
  token.access_token = parsed->access_token;
  token.refresh_token = parsed->refresh_token;
  token.token_type = parsed->token_type;
  token.scope = parsed->scope;
  token.obtained_at = std::chrono::system_clock::now();
  if (parsed->expires_in) token.expires_at = token.obtained_at + std::chrono::seconds(*parsed->expires_in);
  if (const Value* at = json->find("expires_at"); at && at->is_number())
    token.expires_at = std::chrono::system_clock::time_point(
        std::chrono::seconds(static_cast<int64_t>(at->as_number())));
  auto vault = open_vault();
  if (!vault.ok()) {
    std::cerr << "flowline token import: " << vault.status().message() << "\n";
    return kExitFailed;
  }
  Status put = (*vault)->put(who->credential(), who->user, token);
  if (!put.ok()) {
    std::cerr << "flowline token import: " << put.message() << "\n";
    return kExitFailed;
  }
  std::cout << fmt::format("stored the token of {} for credential '{}' ({})\n", describe_user(who->user),
                           who->credential(), token_summary(token, token.obtained_at));
  return kExitOk;
}

int token_status(const TokenOptions& options) {
  auto who = subject(options, "token status");
  if (!who) return kExitUsage;
  const std::string* credential = &who->credential();
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
  const std::string& user = who->user;
  bool automatic = fetched_automatically(*who->target.credential, who->target.profile);
  auto now = std::chrono::system_clock::now();
  for (const auto& info : *all) {
    if (info.credential != *credential || info.user != user) continue;
    std::string state = state_name(info, now);
    bool usable = state == "valid" || (state == "expired" && (info.has_refresh_token || automatic));
    if (options.output == "json") {
      ValueObject o;
      o.emplace("credential", Value(info.credential));
      o.emplace("user", info.user == kSystemUser ? Value() : Value(info.user));
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
                               info.credential, info.user == kSystemUser ? "(system)" : info.user, state, expiry_text(info, now),
                               info.scope.empty() ? "-" : info.scope,
                               info.has_refresh_token ? "yes" : "no");
    }
    return usable ? kExitOk : kExitAuthRequired;
  }
  if (options.output == "json") {
    std::cout << fmt::format("{{\"credential\":{},\"user\":{},\"exists\":false,\"valid\":{}}}\n",
                             Value(*credential).to_json(),
                             user == kSystemUser ? "null" : Value(user).to_json(),
                             automatic ? "true" : "false");
  } else if (automatic) {
    std::cout << fmt::format("no system token stored for credential '{}' yet; runs fetch one "
                             "automatically (client credentials), or fetch it now with `flowline "
                             "token login {} --system`\n",
                             *credential, *credential);
  } else {
    std::cout << fmt::format("no token for {} on credential '{}'; log in with `flowline token login "
                             "{} {}`\n",
                             describe_user(user), *credential, *credential, user_flag(user));
  }
  return automatic ? kExitOk : kExitAuthRequired;
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
    std::cout << fmt::format("{:<12} {:<32} {:<12} {:<18} {}\n",
                             info.user == kSystemUser ? "(system)" : info.user, info.credential,
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
