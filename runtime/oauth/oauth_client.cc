#include "runtime/oauth/oauth_client.h"

#include <fmt/format.h>
#include <sodium.h>

#include "runtime/eval/evaluator.h"
#include "runtime/http/url.h"
#include "runtime/secrets.h"
#include "runtime/services.h"

namespace flowline {

namespace {

// application/x-www-form-urlencoded (space as '+' is also fine, but %20 is
// what percent_encode gives and servers accept both).
std::string form_body(const std::vector<std::pair<std::string, std::string>>& form) {
  std::string out;
  for (const auto& [name, value] : form) {
    if (!out.empty()) out += '&';
    out += percent_encode(name) + "=" + percent_encode(value);
  }
  return out;
}

std::string trimmed(std::string text, size_t limit) {
  if (text.size() > limit) text = text.substr(0, limit) + "…";
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

}  // namespace

std::string client_authentication_hint(const OAuthProfile& profile) {
  std::string secret;
  switch (profile.client_secret.source) {
    case SecretRef::Source::Env: secret = "$" + profile.client_secret.value; break;
    case SecretRef::Source::File: secret = "the file " + profile.client_secret.value; break;
    case SecretRef::Source::Literal: secret = "the literal in the profile"; break;
    case SecretRef::Source::None: secret = "nowhere: the profile has no client_secret"; break;
  }
  return fmt::format("check client_id '{}' and its secret (from {}) in OAuth profile '{}', and that "
                     "send_credentials ({}) is the method the provider expects",
                     profile.client_id, secret, profile.full_name,
                     profile.send_credentials == OAuthProfile::SendCredentials::BasicHeader
                         ? "basic_header"
                         : "request_body");
}

std::string basic_authorization(const std::string& client_id, const std::string& client_secret) {
  std::string plain = percent_encode(client_id) + ":" + percent_encode(client_secret);
  std::string encoded(sodium_base64_encoded_len(plain.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), reinterpret_cast<const unsigned char*>(plain.data()),
                    plain.size(), sodium_base64_VARIANT_ORIGINAL);
  encoded.resize(std::strlen(encoded.c_str()));
  sodium_memzero(plain.data(), plain.size());
  return "Basic " + encoded;
}

Result<TokenResponse> OAuthClient::parse_token_reply(const HttpResponse& response) {
  if (response.error != HttpError::None)
    return Status("oauth_transient", fmt::format("the token endpoint could not be reached: {}",
                                                 response.error_message));
  if (response.status >= 500)
    return Status("oauth_transient",
                  fmt::format("the token endpoint answered HTTP {}", response.status));
  auto parsed = parse_json_value(response.body);
  if (!parsed.ok() || !parsed->is_object())
    return Status("oauth_error", fmt::format("the token endpoint answered HTTP {} without a JSON "
                                             "object",
                                             response.status));
  const Value& body = *parsed;
  if (response.status != 200 || body.find("error")) {
    const Value* error = body.find("error");
    const Value* description = body.find("error_description");
    std::string code = error && error->is_string() ? error->as_string() : "unknown_error";
    std::string message = fmt::format("the token endpoint refused the request: {}", trimmed(code, 64));
    if (description && description->is_string())
      message += " (" + trimmed(description->as_string(), 200) + ")";
    return Status(code == "invalid_grant" ? "oauth_invalid_grant" : "oauth_error", message);
  }
  TokenResponse out;
  const Value* access = body.find("access_token");
  if (!access || !access->is_string() || access->as_string().empty())
    return Status("oauth_error", "the token endpoint's reply has no access_token");
  out.access_token = access->as_string();
  const Value* type = body.find("token_type");
  out.token_type = type && type->is_string() ? type->as_string() : "Bearer";
  std::string lower;
  for (char c : out.token_type) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower != "bearer")
    return Status("oauth_error", fmt::format("the token endpoint issued a '{}' token; Flowline sends "
                                             "only Bearer tokens",
                                             trimmed(out.token_type, 32)));
  out.token_type = "Bearer";
  if (const Value* refresh = body.find("refresh_token"); refresh && refresh->is_string())
    out.refresh_token = refresh->as_string();
  if (const Value* scope = body.find("scope"); scope && scope->is_string()) out.scope = scope->as_string();
  if (const Value* expires = body.find("expires_in")) {
    if (expires->is_integer() && expires->as_integer() >= 0) {
      out.expires_in = expires->as_integer();
    } else if (expires->is_number() && expires->as_number() >= 0) {
      out.expires_in = static_cast<int64_t>(expires->as_number());
    } else if (expires->is_string()) {
      char* end = nullptr;
      long long v = std::strtoll(expires->as_string().c_str(), &end, 10);
      if (end && *end == '\0' && v >= 0) out.expires_in = v;
    }
  }
  return out;
}

Task<Result<HttpResponse>> OAuthClient::send_form(
    const OAuthProfile& profile, const std::string& url,
    std::vector<std::pair<std::string, std::string>> form) {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.redirects = RedirectPolicy::Never;  // credentials never follow a redirect
  request.timeout = std::chrono::milliseconds(30'000);
  request.max_response_bytes = 1 << 20;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.headers.emplace_back("Accept", "application/json");
  std::string secret;
  if (profile.client_secret.present()) {
    auto resolved = resolve_secret(profile.client_secret,
                                   fmt::format("client_secret of OAuth profile '{}'", profile.full_name));
    if (!resolved.ok()) co_return resolved.status();
    secret = std::move(resolved).value();
  }
  if (profile.send_credentials == OAuthProfile::SendCredentials::BasicHeader) {
    request.headers.emplace_back("Authorization", basic_authorization(profile.client_id, secret));
  } else {
    form.emplace_back("client_id", profile.client_id);
    if (!secret.empty()) form.emplace_back("client_secret", secret);
  }
  request.body = form_body(form);
  sodium_memzero(secret.data(), secret.size());
  for (auto& [name, value] : form) sodium_memzero(value.data(), value.size());
  HttpCall call(transport_, std::move(request));
  HttpResponse response = co_await call;
  co_return response;
}

Task<Result<TokenResponse>> OAuthClient::post(const OAuthProfile& profile,
                                              std::vector<std::pair<std::string, std::string>> form) {
  auto endpoints = co_await discovery_.endpoints(profile);
  if (!endpoints.ok())
    co_return Status(endpoints.status().code() == "discovery_unavailable" ? "oauth_transient" : "oauth_error",
                     endpoints.status().message());
  if (endpoints->token_url.empty())
    co_return Status("oauth_error", fmt::format("OAuth profile '{}' has no token_url{}", profile.full_name,
                                                profile.issuer.empty() ? "" : " and its issuer's metadata names none"));
  auto response = co_await send_form(profile, endpoints->token_url, std::move(form));
  if (!response.ok()) co_return response.status();
  auto parsed = parse_token_reply(*response);
  if (!parsed.ok() && parsed.status().message().find(": invalid_client") != std::string::npos)
    co_return Status(parsed.status().code(),
                     parsed.status().message() + "; " + client_authentication_hint(profile));
  co_return parsed;
}

Task<Status> OAuthClient::revoke(const OAuthProfile& profile, const std::string& token,
                                 const std::string& type_hint) {
  auto endpoints = co_await discovery_.endpoints(profile);
  if (!endpoints.ok())
    co_return Status(endpoints.status().code() == "discovery_unavailable" ? "revoke_unavailable" : "revoke_error",
                     endpoints.status().message());
  if (endpoints->revocation_url.empty())
    co_return Status("revoke_unsupported",
                     fmt::format("OAuth profile '{}' has no revocation_url{}", profile.full_name,
                                 profile.issuer.empty() ? "" : " and its issuer's metadata names none"));
  std::vector<std::pair<std::string, std::string>> form;
  form.emplace_back("token", token);
  form.emplace_back("token_type_hint", type_hint);
  auto sent = co_await send_form(profile, endpoints->revocation_url, std::move(form));
  if (!sent.ok()) co_return sent.status();
  const HttpResponse& response = *sent;
  if (response.error != HttpError::None)
    co_return Status("revoke_unavailable", fmt::format("the revocation endpoint could not be reached: {}",
                                                       response.error_message));
  if (response.status == 200) co_return Status();
  if (response.status >= 500)
    co_return Status("revoke_unavailable",
                     fmt::format("the revocation endpoint answered HTTP {}", response.status));
  std::string message = fmt::format("the revocation endpoint answered HTTP {}", response.status);
  if (auto body = parse_json_value(response.body); body.ok() && body->is_object()) {
    if (const Value* error = body->find("error"); error && error->is_string())
      message += ": " + trimmed(error->as_string(), 64);
    if (const Value* description = body->find("error_description"); description && description->is_string())
      message += " (" + trimmed(description->as_string(), 200) + ")";
    if (const Value* error = body->find("error"); error && error->is_string() && error->as_string() == "invalid_client")
      message += "; " + client_authentication_hint(profile);
  }
  co_return Status("revoke_error", message);
}

Task<Result<TokenResponse>> OAuthClient::refresh(const OAuthProfile& profile,
                                                 const std::string& refresh_token) {
  std::vector<std::pair<std::string, std::string>> form;
  form.emplace_back("grant_type", "refresh_token");
  form.emplace_back("refresh_token", refresh_token);
  co_return co_await post(profile, std::move(form));
}

Task<Result<TokenResponse>> OAuthClient::client_credentials(const OAuthProfile& profile) {
  std::vector<std::pair<std::string, std::string>> form;
  form.emplace_back("grant_type", "client_credentials");
  if (!profile.scopes.empty()) {
    std::string scope;
    for (const auto& s : profile.scopes) scope += (scope.empty() ? "" : " ") + s;
    form.emplace_back("scope", scope);
  }
  co_return co_await post(profile, std::move(form));
}

Task<Result<TokenResponse>> OAuthClient::exchange_code(const OAuthProfile& profile,
                                                       const std::string& code,
                                                       const std::string& redirect_uri,
                                                       const std::string& code_verifier) {
  std::vector<std::pair<std::string, std::string>> form;
  form.emplace_back("grant_type", "authorization_code");
  form.emplace_back("code", code);
  form.emplace_back("redirect_uri", redirect_uri);
  if (!code_verifier.empty()) form.emplace_back("code_verifier", code_verifier);
  co_return co_await post(profile, std::move(form));
}

}  // namespace flowline
