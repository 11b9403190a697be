// Decoding the connection-side kinds: OAuthProfile, ConnectionAlias,
// HttpConnection and Credential.
#include <fmt/format.h>

#include "dsl/decoder.h"

namespace flowline {

namespace {

std::vector<std::string_view> with_common(std::initializer_list<std::string_view> keys) {
  std::vector<std::string_view> all(std::begin(kCommonKeys), std::end(kCommonKeys));
  all.insert(all.end(), keys.begin(), keys.end());
  return all;
}

void read_string(const MapFields& f, Decoder& d, std::string_view key, std::string& out) {
  if (const Node* n = f.get(key))
    if (auto s = d.string(*n, key)) out = *s;
}

// The parts of an absolute URL that decide where a request goes.
struct UrlOrigin {
  std::string scheme;    // "http" or "https"
  std::string userinfo;  // before '@', if any
  std::string host;      // lower-case; IPv6 literals keep their brackets
};

std::optional<UrlOrigin> parse_origin(std::string_view url) {
  UrlOrigin origin;
  if (url.rfind("https://", 0) == 0) origin.scheme = "https";
  else if (url.rfind("http://", 0) == 0) origin.scheme = "http";
  else return std::nullopt;
  std::string_view rest = url.substr(origin.scheme.size() + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    origin.userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
  }
  std::string_view host = authority;
  if (!host.empty() && host[0] == '[') {
    auto close = host.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = host.substr(0, close + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  if (host.empty()) return std::nullopt;
  for (char c : host) origin.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return origin;
}

bool is_loopback_host(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

// A URL field must be absolute http(s) with a host; the error names the field.
void check_url(const Node* node, const std::string& url, Decoder& d, std::string_view key) {
  if (!node || url.empty()) return;
  if (!parse_origin(url)) {
    d.diagnostics().error("invalid-url", node->range,
                          fmt::format("'{}' must be an absolute http:// or https:// URL, not '{}'",
                                      key, url));
  }
}

std::unique_ptr<Definition> decode_profile(const Node& root, Decoder& d) {
  auto p = std::make_unique<OAuthProfile>();
  MapFields f(root, d,
              with_common({"client_id", "client_secret", "issuer", "authorization_url", "token_url",
                           "revocation_url", "redirect_url", "grant_type", "scopes",
                           "send_credentials", "pkce"}));
  f.record(p->fields);
  read_string(f, d, "client_id", p->client_id);
  if (!f.get("client_id")) f.required("client_id", "OAuthProfile");
  if (auto n = f.get("client_secret")) p->client_secret = d.secret(*n, "client_secret");
  for (auto [key, member] : {std::pair{"issuer", &OAuthProfile::issuer},
                             {"authorization_url", &OAuthProfile::authorization_url},
                             {"token_url", &OAuthProfile::token_url},
                             {"revocation_url", &OAuthProfile::revocation_url},
                             {"redirect_url", &OAuthProfile::redirect_url}}) {
    read_string(f, d, key, (*p).*member);
    check_url(f.get(key), (*p).*member, d, key);
  }
  if (auto n = f.get("grant_type"))
    if (auto g = d.enumeration<OAuthProfile::GrantType>(
            *n, "grant_type",
            {{"authorization_code", OAuthProfile::GrantType::AuthorizationCode},
             {"client_credentials", OAuthProfile::GrantType::ClientCredentials}}))
      p->grant_type = *g;
  // Without discovery, the token URL is always needed and the authorization
  // URL is needed for the code flow.
  if (p->issuer.empty()) {
    if (!f.get("token_url")) f.required("token_url", "OAuthProfile (or set 'issuer' for discovery)");
    if (p->grant_type == OAuthProfile::GrantType::AuthorizationCode && !f.get("authorization_url"))
      f.required("authorization_url", "OAuthProfile with grant_type authorization_code");
  }
  if (auto n = f.get("scopes")) {
    if (n->type == Node::Type::String) {  // "openid offline_access" (space-separated, RFC 6749)
      std::string word;
      for (char c : n->text + " ") {
        if (c == ' ') {
          if (!word.empty()) p->scopes.push_back(word);
          word.clear();
        } else {
          word += c;
        }
      }
    } else if (auto l = d.string_list(*n, "scopes")) {
      p->scopes = *l;
    }
  }
  if (auto n = f.get("send_credentials"))
    if (auto s = d.enumeration<OAuthProfile::SendCredentials>(
            *n, "send_credentials",
            {{"basic_header", OAuthProfile::SendCredentials::BasicHeader},
             {"request_body", OAuthProfile::SendCredentials::RequestBody}}))
      p->send_credentials = *s;
  if (auto n = f.get("pkce"))
    if (auto s = d.enumeration<OAuthProfile::Pkce>(
            *n, "pkce", {{"S256", OAuthProfile::Pkce::S256}, {"none", OAuthProfile::Pkce::None}}))
      p->pkce = *s;
  if (auto n = f.get("redirect_url")) {
    // Compare the parsed host, not a prefix: http://127.0.0.1.evil.example and
    // http://localhost@evil.example are not loopback.
    auto origin = parse_origin(p->redirect_url);
    bool loopback = origin && origin->scheme == "http" && origin->userinfo.empty() &&
                    is_loopback_host(origin->host);
    bool https = origin && origin->scheme == "https" && origin->userinfo.empty();
    const std::string& url = p->redirect_url;
    if (origin && !loopback && !https)
      d.diagnostics().error("insecure-redirect-url", n->range,
                            fmt::format("redirect_url '{}' must be https:// or a loopback "
                                        "http://127.0.0.1 address (RFC 8252)",
                                        url));
  }
  return p;
}

std::unique_ptr<Definition> decode_alias(const Node& root, Decoder& d) {
  auto a = std::make_unique<ConnectionAlias>();
  MapFields f(root, d, with_common({"type", "retry_policy"}));
  f.record(a->fields);
  if (auto n = f.get("type"))
    if (auto t = d.enumeration<ConnectionAlias::Type>(
            *n, "type",
            {{"connection_and_credential", ConnectionAlias::Type::ConnectionAndCredential},
             {"credential", ConnectionAlias::Type::Credential}}))
      a->type = *t;
  if (auto n = f.get("retry_policy")) a->retry_policy = d.retry_policy(*n);
  return a;
}

std::unique_ptr<Definition> decode_connection(const Node& root, Decoder& d) {
  auto c = std::make_unique<HttpConnection>();
  MapFields f(root, d,
              with_common({"alias", "url", "credential", "timeout", "headers", "active",
                           "follow_redirects", "ca_file"}));
  f.record(c->fields);
  if (auto n = f.required("alias", "HttpConnection")) c->alias = d.ref(*n, "alias");
  if (auto n = f.required("url", "HttpConnection")) {
    if (auto s = d.string(*n, "url")) c->url = *s;
    check_url(n, c->url, d, "url");
  }
  if (auto n = f.get("credential")) c->credential = d.ref(*n, "credential");
  if (auto n = f.get("timeout")) c->timeout = d.duration(*n, "timeout");
  if (auto n = f.get("headers")) {
    c->headers = d.string_map(*n, "headers");
    for (const auto& [key, value] : n->entries) {
      std::string lower;
      for (char ch : key.text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "authorization")
        d.diagnostics().error("authorization-header", key.range,
                              "connections may not set 'Authorization'; the credential supplies it",
                              "name a credential with `credential:` instead");
    }
  }
  if (auto n = f.get("active"))
    if (auto b = d.boolean(*n, "active")) c->active = *b;
  if (auto n = f.get("follow_redirects"))
    if (auto r = d.enumeration<HttpConnection::FollowRedirects>(
            *n, "follow_redirects",
            {{"same_origin", HttpConnection::FollowRedirects::SameOrigin},
             {"strip_token", HttpConnection::FollowRedirects::StripToken},
             {"never", HttpConnection::FollowRedirects::Never}}))
      c->follow_redirects = *r;
  read_string(f, d, "ca_file", c->ca_file);
  return c;
}

std::unique_ptr<Definition> decode_credential(const Node& root, Decoder& d) {
  auto c = std::make_unique<Credential>();
  MapFields f(root, d,
              with_common({"type", "oauth_profile", "integration_type", "username", "password",
                           "header", "value"}));
  f.record(c->fields);
  bool type_known = false;
  if (auto n = f.required("type", "Credential")) {
    if (auto t = d.enumeration<Credential::Type>(*n, "type",
                                                 {{"oauth2", Credential::Type::OAuth2},
                                                  {"basic", Credential::Type::Basic},
                                                  {"api_key", Credential::Type::ApiKey}})) {
      c->type = *t;
      type_known = true;
    }
  }
  // Without a known type, the type-specific checks would only add noise.
  if (!type_known) return c;
  if (auto n = f.get("integration_type"))
    if (auto t = d.enumeration<Credential::IntegrationType>(
            *n, "integration_type",
            {{"personal", Credential::IntegrationType::Personal},
             {"system", Credential::IntegrationType::System}}))
      c->integration_type = *t;

  // Each type has its own fields; a field of another type is a mistake.
  auto only_for = [&](std::string_view key, Credential::Type type, std::string_view type_name) {
    const Node* key_node = root.find_key(key);
    if (key_node && c->type != type)
      d.diagnostics().error("field-not-for-type", key_node->range,
                            fmt::format("'{}' applies only to credentials of type {}", key, type_name));
  };
  only_for("oauth_profile", Credential::Type::OAuth2, "oauth2");
  only_for("integration_type", Credential::Type::OAuth2, "oauth2");
  only_for("username", Credential::Type::Basic, "basic");
  only_for("password", Credential::Type::Basic, "basic");
  only_for("header", Credential::Type::ApiKey, "api_key");
  only_for("value", Credential::Type::ApiKey, "api_key");

  switch (c->type) {
    case Credential::Type::OAuth2:
      if (auto n = f.required("oauth_profile", "an oauth2 Credential"))
        c->oauth_profile = d.ref(*n, "oauth_profile");
      break;
    case Credential::Type::Basic:
      if (auto n = f.required("username", "a basic Credential"))
        if (auto s = d.string(*n, "username")) c->username = *s;
      if (auto n = f.required("password", "a basic Credential")) c->password = d.secret(*n, "password");
      break;
    case Credential::Type::ApiKey:
      if (auto n = f.required("header", "an api_key Credential"))
        if (auto s = d.string(*n, "header")) c->header = *s;
      if (auto n = f.required("value", "an api_key Credential")) c->value = d.secret(*n, "value");
      break;
  }
  return c;
}

}  // namespace

std::unique_ptr<Definition> decode_connection_kind(Kind kind, const Node& root, Decoder& d) {
  switch (kind) {
    case Kind::OAuthProfile: return decode_profile(root, d);
    case Kind::ConnectionAlias: return decode_alias(root, d);
    case Kind::HttpConnection: return decode_connection(root, d);
    case Kind::Credential: return decode_credential(root, d);
    default: return nullptr;
  }
}

}  // namespace flowline
