#include "samples/endpoint/oauth_server.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <sstream>

#include "samples/endpoint/crypto.h"
#include "samples/endpoint/responses.h"
#include "samples/endpoint/url_codec.h"

namespace flowline::sample {
namespace {

constexpr char kDefaultScope[] = "incidents.read";
constexpr char kFormMediaType[] = "application/x-www-form-urlencoded";

// The parameters of an authorization request, each of which may appear at most once.
constexpr const char* kAuthorizeParameters[] = {
    "response_type",         "client_id",  "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "login_hint", "consent"};

// RFC 7636 §4.1: 43-128 characters of [A-Z a-z 0-9 - . _ ~]. An S256 challenge has the same
// alphabet (base64url without padding) and is exactly 43 long.
bool IsPkceString(std::string_view text) {
  return text.size() >= 43 && text.size() <= 128 &&
         std::all_of(text.begin(), text.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
                  c == '~';
         });
}

// The first scope name that the server does not support, or "" when all are supported.
std::string UnsupportedScope(std::string_view scope) {
  std::istringstream in{std::string(scope)};
  for (std::string name; in >> name;) {
    if (!SupportedScopes().count(name)) return name;
  }
  return "";
}

std::string SupportedScopeList() {
  std::string list;
  for (const auto& name : SupportedScopes()) list += (list.empty() ? "" : " ") + name;
  return list;
}

// A page shown instead of redirecting, for errors that make the redirect URI untrustworthy
// (RFC 6749 §4.1.2.1: unknown client, bad redirect_uri) and for an unknown user.
void SendErrorPage(httplib::Response& response, int status, std::string_view title,
                   std::string_view explanation) {
  SendHtml(response, status, title, "<p>" + HtmlEscape(explanation) + "</p>");
}

// The consent screen for a request without a user: the same request again, plus a user and
// a decision. Exists for people trying the flow in a browser; tests pass login_hint instead.
void SendConsentForm(httplib::Response& response, const httplib::Request& request,
                     const std::set<std::string, std::less<>>& users, const std::string& client_id,
                     const std::string& scope) {
  std::string html = "<p>The application <b>" + HtmlEscape(client_id) +
                     "</b> asks for access to your incidents (scope: <code>" + HtmlEscape(scope) +
                     "</code>).</p>\n<form method=\"get\" action=\"" + std::string(kAuthorizePath) +
                     "\">\n";
  for (const auto& [name, value] : request.params) {
    if (name == "login_hint" || name == "consent") continue;
    html += "<input type=\"hidden\" name=\"" + HtmlEscape(name) + "\" value=\"" +
            HtmlEscape(value) + "\">\n";
  }
  html += "<label>Sign in as <select name=\"login_hint\">";
  for (const auto& user : users) {
    html += "<option>" + HtmlEscape(user) + "</option>";
  }
  html +=
      "</select></label>\n"
      "<button name=\"consent\" value=\"approve\">Approve</button>\n"
      "<button name=\"consent\" value=\"deny\">Deny</button>\n</form>";
  SendHtml(response, 200, "Sample authorization server: consent", html);
}

void SendTokens(httplib::Response& response, const IssuedTokens& tokens) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.StartObject();
  writer.Key("access_token");
  writer.String(tokens.access_token.c_str());
  writer.Key("token_type");
  writer.String("Bearer");
  writer.Key("expires_in");
  writer.Int64(tokens.expires_in.count());
  if (!tokens.refresh_token.empty()) {
    writer.Key("refresh_token");
    writer.String(tokens.refresh_token.c_str());
  }
  writer.Key("scope");
  writer.String(tokens.scope.c_str());
  writer.EndObject();
  // RFC 6749 §5.1: token responses must not be cached.
  response.set_header("Cache-Control", "no-store");
  response.set_header("Pragma", "no-cache");
  SendJson(response, 200, buffer.GetString());
}

std::string InjectedOAuthErrorBody(int status) {
  return std::string("{\"error\":\"temporarily_unavailable\",\"error_description\":") +
         JsonString("injected failure: HTTP " + std::to_string(status)) + "}";
}

}  // namespace

const std::set<std::string, std::less<>>& SupportedScopes() {
  static const std::set<std::string, std::less<>> scopes = {"openid", "offline_access",
                                                            "incidents.read", "incidents.write"};
  return scopes;
}

OAuthServer::OAuthServer(const ClientRegistry& clients, std::set<std::string, std::less<>> users,
                         TokenStore& tokens, Stats& stats, FaultPlan& faults)
    : clients_(clients),
      users_(std::move(users)),
      tokens_(tokens),
      stats_(stats),
      faults_(faults) {}

void OAuthServer::Register(httplib::Server& server) {
  server.Get(kAuthorizePath,
             [this](const httplib::Request& req, httplib::Response& res) { Authorize(req, res); });
  server.Post(kTokenPath,
              [this](const httplib::Request& req, httplib::Response& res) { Token(req, res); });
  server.Post(kRevokePath,
              [this](const httplib::Request& req, httplib::Response& res) { Revoke(req, res); });
  server.Get("/.well-known/oauth-authorization-server",
             [this](const httplib::Request& req, httplib::Response& res) { Metadata(req, res); });
  server.Get("/.well-known/openid-configuration",
             [this](const httplib::Request& req, httplib::Response& res) { Metadata(req, res); });
}

void OAuthServer::Authorize(const httplib::Request& request, httplib::Response& response) {
  stats_.Add("authorize_requests");
  for (const char* name : kAuthorizeParameters) {
    if (request.params.count(name) > 1) {
      return SendErrorPage(response, 400, "Invalid authorization request",
                           std::string("The parameter ") + name + " appears more than once.");
    }
  }
  const std::string client_id = request.get_param_value("client_id");
  const std::string redirect_uri = request.get_param_value("redirect_uri");
  const std::string state = request.get_param_value("state");

  // Until the client and its redirect URI are known good, errors are shown, not redirected:
  // redirecting to an unchecked URI would make this server an open redirector.
  const OAuthClient* client = clients_.Find(client_id);
  if (client == nullptr) {
    return SendErrorPage(response, 400, "Invalid authorization request",
                         "Unknown client_id '" + client_id + "'.");
  }
  if (redirect_uri.empty() || !clients_.AcceptsRedirect(*client, redirect_uri)) {
    return SendErrorPage(response, 400, "Invalid authorization request",
                         "The redirect_uri is not registered for this client and is not a "
                         "loopback http URL (http://127.0.0.1:PORT/... or http://[::1]:PORT/...).");
  }

  if (request.get_param_value("response_type") != "code") {
    return RedirectError(response, redirect_uri, state, "unsupported_response_type",
                         "only response_type=code is supported");
  }
  std::string scope = request.get_param_value("scope");
  if (scope.empty()) scope = kDefaultScope;
  if (std::string unsupported = UnsupportedScope(scope); !unsupported.empty()) {
    return RedirectError(
        response, redirect_uri, state, "invalid_scope",
        "unsupported scope '" + unsupported + "'; supported: " + SupportedScopeList());
  }
  const std::string challenge = request.get_param_value("code_challenge");
  const std::string method = request.get_param_value("code_challenge_method");
  if (challenge.empty()) {
    if (!client->allow_no_pkce) {
      return RedirectError(response, redirect_uri, state, "invalid_request",
                           "code_challenge is required (PKCE with S256)");
    }
  } else if (method != "S256") {
    // An absent method means "plain" (RFC 7636 §4.3), which this server does not accept.
    return RedirectError(response, redirect_uri, state, "invalid_request",
                         "code_challenge_method must be S256");
  } else if (challenge.size() != 43 || !IsPkceString(challenge)) {
    return RedirectError(response, redirect_uri, state, "invalid_request",
                         "code_challenge is not a base64url SHA-256 value");
  }

  std::string user = request.get_param_value("login_hint");
  if (user.empty()) user = request.get_header_value("X-Sample-User");
  if (user.empty()) return SendConsentForm(response, request, users_, client->id, scope);
  if (!users_.count(user)) {
    return SendErrorPage(response, 403, "Sign-in failed",
                         "There is no user '" + user + "' at this server.");
  }
  const std::string consent = request.get_param_value("consent");
  if (consent == "deny") {
    return RedirectError(response, redirect_uri, state, "access_denied",
                         "the user denied the request");
  }
  if (!consent.empty() && consent != "approve") {
    return RedirectError(response, redirect_uri, state, "invalid_request",
                         "consent must be approve or deny");
  }

  std::string code =
      tokens_.IssueCode(AuthorizationRequest{client->id, redirect_uri, challenge, user, scope});
  stats_.Add("codes_issued");
  std::string location = redirect_uri;
  AppendQueryParameter(location, "code", code);
  if (!state.empty()) AppendQueryParameter(location, "state", state);
  AppendQueryParameter(location, "iss", issuer_);  // RFC 9207
  response.set_redirect(location, 302);
}

void OAuthServer::RedirectError(httplib::Response& response, const std::string& redirect_uri,
                                const std::string& state, std::string_view error,
                                std::string_view description) const {
  std::string location = redirect_uri;
  AppendQueryParameter(location, "error", error);
  AppendQueryParameter(location, "error_description", description);
  if (!state.empty()) AppendQueryParameter(location, "state", state);
  AppendQueryParameter(location, "iss", issuer_);
  response.set_redirect(location, 302);
}

void OAuthServer::Token(const httplib::Request& request, httplib::Response& response) {
  ParsedForm form = ParseForm(request.body);
  const std::string grant_type = form.Get("grant_type");
  stats_.Add("token_requests.total");
  if (grant_type == "authorization_code" || grant_type == "refresh_token" ||
      grant_type == "client_credentials") {
    stats_.Add("token_requests." + grant_type);
  } else {
    stats_.Add("token_requests.other");
  }
  if (grant_type == "refresh_token") stats_.Add("refresh_requests");

  faults_.Delay(Surface::kToken);
  if (auto failure = faults_.TakeFailure(Surface::kToken)) {
    response.set_header("Cache-Control", "no-store");
    return SendInjectedFailure(response, *failure, InjectedOAuthErrorBody(failure->status));
  }

  auto fail = [&](const OAuthError& error) {
    stats_.Add("token_errors");
    SendOAuthError(response, error);
  };
  if (!HasMediaType(request, kFormMediaType)) {
    return fail(OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded"));
  }
  if (!form.ok()) return fail(OAuthError::InvalidRequest(form.error));

  auto authenticated = clients_.Authenticate(request.get_header_value("Authorization"), form);
  if (auto* error = std::get_if<OAuthError>(&authenticated)) return fail(*error);
  const OAuthClient& client = *std::get<const OAuthClient*>(authenticated);

  TokenOutcome outcome;
  if (grant_type == "authorization_code") {
    outcome = ExchangeCode(client, form);
    if (outcome.reuse_detected) stats_.Add("code_replays");
  } else if (grant_type == "refresh_token") {
    if (form.Get("refresh_token").empty()) {
      return fail(OAuthError::InvalidRequest("refresh_token is required"));
    }
    outcome = tokens_.Refresh(form.Get("refresh_token"), client.id, form.Get("scope"),
                              /*rotate=*/!refresh_omits_new_token_);
    if (outcome.reuse_detected) stats_.Add("refresh_reuse_detected");
  } else if (grant_type == "client_credentials") {
    std::string scope = form.Get("scope").empty() ? kDefaultScope : form.Get("scope");
    if (std::string unsupported = UnsupportedScope(scope); !unsupported.empty()) {
      return fail(OAuthError::InvalidScope("unsupported scope '" + unsupported + "'"));
    }
    outcome.tokens = tokens_.IssueClientToken(client.id, scope);
  } else if (grant_type.empty()) {
    return fail(OAuthError::InvalidRequest("grant_type is required"));
  } else {
    return fail({"unsupported_grant_type", "grant_type '" + grant_type + "' is not supported"});
  }

  if (outcome.revoked_grant) stats_.Add("revoked_grants");
  if (outcome.error) return fail(*outcome.error);
  SendTokens(response, *outcome.tokens);
}

TokenOutcome OAuthServer::ExchangeCode(const OAuthClient& client, const ParsedForm& form) {
  const std::string code = form.Get("code");
  if (code.empty()) return TokenOutcome::Failure(OAuthError::InvalidRequest("code is required"));
  const std::string redirect_uri = form.Get("redirect_uri");
  const std::string verifier = form.Get("code_verifier");
  if (!verifier.empty() && !IsPkceString(verifier)) {
    return TokenOutcome::Failure(
        OAuthError::InvalidRequest("code_verifier is malformed (RFC 7636 §4.1)"));
  }
  return tokens_.RedeemCode(
      code, [&](const AuthorizationRequest& bound) -> std::optional<OAuthError> {
        if (bound.client_id != client.id) {
          return OAuthError::InvalidGrant("the code was issued to another client");
        }
        if (bound.redirect_uri != redirect_uri) {
          return OAuthError::InvalidGrant("redirect_uri does not match the authorization request");
        }
        if (bound.code_challenge.empty()) {
          if (!verifier.empty()) {
            return OAuthError::InvalidGrant(
                "code_verifier sent, but the authorization request had no code_challenge");
          }
          return std::nullopt;
        }
        if (verifier.empty()) return OAuthError::InvalidGrant("code_verifier is required (PKCE)");
        if (!SecretsEqual(S256Challenge(verifier), bound.code_challenge)) {
          return OAuthError::InvalidGrant("code_verifier does not match the code_challenge");
        }
        return std::nullopt;
      });
}

void OAuthServer::Revoke(const httplib::Request& request, httplib::Response& response) {
  stats_.Add("revocation_requests");
  faults_.Delay(Surface::kRevoke);
  if (auto failure = faults_.TakeFailure(Surface::kRevoke)) {
    return SendInjectedFailure(response, *failure, InjectedOAuthErrorBody(failure->status));
  }
  if (!HasMediaType(request, kFormMediaType)) {
    return SendOAuthError(
        response, OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded"));
  }
  ParsedForm form = ParseForm(request.body);
  if (!form.ok()) return SendOAuthError(response, OAuthError::InvalidRequest(form.error));
  auto authenticated = clients_.Authenticate(request.get_header_value("Authorization"), form);
  if (auto* error = std::get_if<OAuthError>(&authenticated)) {
    return SendOAuthError(response, *error);
  }
  const OAuthClient& client = *std::get<const OAuthClient*>(authenticated);
  if (form.Get("token").empty()) {
    return SendOAuthError(response, OAuthError::InvalidRequest("token is required"));
  }
  // token_type_hint only speeds up a lookup; both kinds are searched either way (RFC 7009 §2.1).
  switch (tokens_.Revoke(form.Get("token"), client.id)) {
    case RevokeResult::kRevokedGrant:
      stats_.Add("revoked_grants");
      break;
    case RevokeResult::kRevokedAccessToken:
      stats_.Add("revoked_access_tokens");
      break;
    case RevokeResult::kOtherClientsToken:
      return SendOAuthError(response,
                            {"unauthorized_client", "the token was issued to another client"});
    case RevokeResult::kAlreadyRevoked:
    case RevokeResult::kUnknownToken:
      break;  // RFC 7009 §2.2: an invalid token is answered with 200 as well
  }
  response.status = 200;
}

void OAuthServer::Metadata(const httplib::Request&, httplib::Response& response) const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  auto strings = [&](const char* key, std::initializer_list<const char*> values) {
    writer.Key(key);
    writer.StartArray();
    for (const char* value : values) writer.String(value);
    writer.EndArray();
  };
  writer.StartObject();
  writer.Key("issuer");
  writer.String(issuer_.c_str());
  writer.Key("authorization_endpoint");
  writer.String((issuer_ + kAuthorizePath).c_str());
  writer.Key("token_endpoint");
  writer.String((issuer_ + kTokenPath).c_str());
  writer.Key("revocation_endpoint");
  writer.String((issuer_ + kRevokePath).c_str());
  strings("response_types_supported", {"code"});
  strings("grant_types_supported", {"authorization_code", "refresh_token", "client_credentials"});
  strings("code_challenge_methods_supported", {"S256"});
  strings("token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"});
  strings("revocation_endpoint_auth_methods_supported",
          {"client_secret_basic", "client_secret_post"});
  writer.Key("scopes_supported");
  writer.StartArray();
  for (const auto& scope : SupportedScopes()) writer.String(scope.c_str());
  writer.EndArray();
  writer.Key("authorization_response_iss_parameter_supported");
  writer.Bool(true);
  writer.EndObject();
  SendJson(response, 200, buffer.GetString());
}

}  // namespace flowline::sample
