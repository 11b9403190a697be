// The OAuth clients the sample authorization server knows, and how a request proves it is one.
//
// Immutable after construction, so it is shared by every server thread without a lock.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "samples/endpoint/oauth_error.h"
#include "samples/endpoint/url_codec.h"

namespace flowline::sample {

struct OAuthClient {
  std::string id;
  std::string secret;
  // Exactly registered redirect URIs. A loopback one matches on any port (RFC 8252 §7.3).
  // Empty: any loopback http URL is accepted, which is what a native app like `flowline token
  // login` needs, since it listens on whichever port is free.
  std::vector<std::string> redirect_uris;
  // PKCE is required unless this is set (for testing a client that cannot do it).
  bool allow_no_pkce = false;
};

// Reads clients from a JSON file: {"clients": [{"client_id", "client_secret", "redirect_uris",
// "allow_no_pkce"}]} (or the bare array). Returns nullopt and sets `error` when unreadable.
std::optional<std::vector<OAuthClient>> LoadClientsFile(const std::string& path,
                                                        std::string* error);

// "http://127.0.0.1/cb?x" for "http://127.0.0.1:53100/cb?x": the URI with its port removed, when
// it is an http URL on a loopback IP literal (127.0.0.1 or [::1]) without user info or fragment.
// nullopt for anything else, including "localhost" (RFC 8252 §8.3 advises against it).
std::optional<std::string> LoopbackUriWithoutPort(std::string_view uri);

class ClientRegistry {
 public:
  explicit ClientRegistry(std::vector<OAuthClient> clients);

  const OAuthClient* Find(std::string_view client_id) const;

  // Whether `redirect_uri` may receive this client's authorization responses.
  bool AcceptsRedirect(const OAuthClient& client, std::string_view redirect_uri) const;

  // Authenticates the client of a token or revocation request: HTTP Basic with form-urlencoded
  // id and secret (RFC 6749 §2.3.1), or client_id/client_secret in the body — one method, not
  // both. Failures are invalid_client (HTTP 401) and never say whether the id or the secret
  // was wrong.
  std::variant<const OAuthClient*, OAuthError> Authenticate(std::string_view authorization_header,
                                                            const ParsedForm& body) const;

 private:
  std::vector<OAuthClient> clients_;
};

}  // namespace flowline::sample
