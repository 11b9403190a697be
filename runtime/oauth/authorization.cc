#include "runtime/oauth/authorization.h"

#include <fmt/format.h>
#include <sodium.h>

#include "runtime/http/url.h"

namespace flowline {

namespace {

std::string base64url(const unsigned char* bytes, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string random_base64url(size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  randombytes_buf(buffer.data(), buffer.size());
  std::string out = base64url(buffer.data(), buffer.size());
  sodium_memzero(buffer.data(), buffer.size());
  return out;
}

// A server-supplied text made safe to show: at most `limit` bytes, no control characters.
std::string printable(std::string_view text, size_t limit) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? ' ' : c;
  }
  if (text.size() > limit) out += "…";
  return out;
}

bool equal_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string pkce_s256(const std::string& verifier) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(verifier.data()), verifier.size());
  return base64url(digest, sizeof digest);
}

LoginAttempt new_login_attempt(OAuthProfile::Pkce pkce) {
  LoginAttempt attempt;
  attempt.state = random_base64url(32);
  if (pkce == OAuthProfile::Pkce::S256) {
    attempt.code_verifier = random_base64url(32);  // 43 characters (RFC 7636 §4.1)
    attempt.code_challenge = pkce_s256(attempt.code_verifier);
  }
  return attempt;
}

std::string scope_string(const OAuthProfile& profile) {
  std::string scope;
  for (const auto& s : profile.scopes) scope += (scope.empty() ? "" : " ") + s;
  return scope;
}

Result<LoopbackRedirect> loopback_redirect(const OAuthProfile& profile) {
  std::string url = profile.redirect_url.empty() ? "http://127.0.0.1/callback" : profile.redirect_url;
  auto origin = origin_of(url);
  auto refuse = [&] {
    return Status("login_redirect_not_loopback",
                  fmt::format("OAuth profile '{}' has redirect_url '{}', which is not a loopback "
                              "http URL; `flowline token login` receives the reply on 127.0.0.1, so "
                              "set redirect_url: http://127.0.0.1/callback (any port is used), or "
                              "let users log in through `flowline token serve`",
                              profile.full_name, url));
  };
  if (!origin.ok() || origin->scheme != "http") return refuse();
  LoopbackRedirect where;
  if (origin->host == "127.0.0.1" || origin->host == "localhost") {
    where.host = "127.0.0.1";
  } else if (origin->host == "[::1]" || origin->host == "::1") {
    where.host = "::1";
  } else {
    return refuse();
  }
  // The path: everything after the authority, without query or fragment.
  size_t authority = url.find("//") + 2;
  size_t slash = url.find('/', authority);
  where.path = slash == std::string::npos ? "/" : url.substr(slash);
  where.path = where.path.substr(0, where.path.find_first_of("?#"));
  if (where.path.empty()) where.path = "/";
  return where;
}

std::string loopback_redirect_uri(const OAuthProfile& profile, const LoopbackRedirect& where,
                                  int port) {
  std::string url = profile.redirect_url.empty() ? "http://127.0.0.1/callback" : profile.redirect_url;
  size_t authority = url.find("//") + 2;
  size_t end = url.find_first_of("/?#", authority);
  std::string host_port = url.substr(authority, end == std::string::npos ? std::string::npos : end - authority);
  std::string host = host_port;
  if (host.starts_with("[")) {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return fmt::format("http://{}:{}{}", host, port, where.path);
}

Result<std::string> authorization_request_url(
    const OAuthProfile& profile, const OAuthEndpoints& endpoints, const std::string& redirect_uri,
    const LoginAttempt& attempt, const std::vector<std::pair<std::string, std::string>>& extra) {
  if (endpoints.authorization_url.empty())
    return Status("login_error",
                  fmt::format("OAuth profile '{}' has no authorization_url{}; add one", profile.full_name,
                              endpoints.issuer.empty() ? "" : " and its issuer's metadata names none"));
  std::vector<std::pair<std::string, std::string>> query = {
      {"response_type", "code"}, {"client_id", profile.client_id}, {"redirect_uri", redirect_uri}};
  if (std::string scope = scope_string(profile); !scope.empty()) query.emplace_back("scope", scope);
  query.emplace_back("state", attempt.state);
  if (!attempt.code_challenge.empty()) {
    query.emplace_back("code_challenge", attempt.code_challenge);
    query.emplace_back("code_challenge_method", "S256");
  }
  for (const auto& pair : extra) query.push_back(pair);
  std::string url = endpoints.authorization_url;
  char separator = url.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : query) {
    url += separator;
    url += percent_encode(name) + "=" + percent_encode(value);
    separator = '&';
  }
  return url;
}

Result<std::string> accept_authorization_response(
    const std::multimap<std::string, std::string>& params, const LoginAttempt& attempt,
    const OAuthEndpoints& endpoints) {
  for (const char* name : {"state", "code", "iss", "error", "error_description"}) {
    if (params.count(name) > 1)
      return Status("login_error",
                    fmt::format("the authorization reply carries '{}' more than once; refused", name));
  }
  auto get = [&](const char* name) -> const std::string* {
    auto it = params.find(name);
    return it == params.end() ? nullptr : &it->second;
  };
  const std::string* state = get("state");
  if (!state || !equal_constant_time(*state, attempt.state))
    return Status("login_state_mismatch",
                  "the authorization reply does not carry this login's state; it was refused "
                  "(it may be a replayed or forged reply, or the reply to an older login). "
                  "Start the login again");
  if (const std::string* iss = get("iss")) {
    bool ok;
    std::string expected;
    if (!endpoints.issuer.empty()) {
      ok = *iss == endpoints.issuer;
      expected = endpoints.issuer;
    } else {
      auto got = origin_of(*iss);
      auto want = origin_of(endpoints.authorization_url);
      ok = got.ok() && want.ok() && *got == *want;
      expected = "an issuer at the origin of " + endpoints.authorization_url;
    }
    if (!ok)
      return Status("login_issuer_mismatch",
                    fmt::format("the authorization reply comes from issuer '{}', but this login "
                                "expects {}; it was refused (RFC 9207). If the server's issuer "
                                "really is that, set `issuer:` in the OAuth profile",
                                printable(*iss, 200),
                                endpoints.issuer.empty() ? expected : "'" + expected + "'"));
  }
  if (!get("iss") && endpoints.iss_required)
    return Status("login_issuer_mismatch",
                  fmt::format("the authorization reply carries no iss, but issuer '{}' says in its "
                              "metadata that every reply does; it was refused (RFC 9207)",
                              endpoints.issuer));
  if (const std::string* error = get("error")) {
    std::string message = fmt::format("the authorization server refused the login: {}", printable(*error, 64));
    if (const std::string* description = get("error_description"))
      message += " (" + printable(*description, 300) + ")";
    if (*error == "access_denied")
      return Status("login_denied", message + "; the user (or the server's policy) declined access");
    return Status("login_error", message);
  }
  const std::string* code = get("code");
  if (!code || code->empty())
    return Status("login_error", "the authorization reply carries neither a code nor an error");
  return *code;
}

}  // namespace flowline
