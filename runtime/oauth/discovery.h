// OAuth profile discovery: an OAuthProfile with `issuer:` gets the endpoint
// URLs it does not give explicitly from the issuer's metadata — RFC 8414
// authorization-server metadata first, OpenID Connect Discovery 1.0 second.
//
// Well-known locations (RFC 8414 §3.1, OpenID Discovery §4): for the issuer
// "https://as.example/tenant1" Flowline asks, in order,
//   https://as.example/.well-known/oauth-authorization-server/tenant1
//   https://as.example/tenant1/.well-known/openid-configuration
// (for an issuer without a path both are directly below the origin). The
// first document that is a 200 JSON object is used; its `issuer` must equal
// the configured issuer exactly, character for character (RFC 8414 §3.3) —
// otherwise discovery fails, it never falls through to the next location.
// 404, 400, 405, 410 and a 200 that is not a JSON object (a catch-all page)
// mean "no document here" and move on; anything else ends discovery.
//
// Explicit URLs in the profile always win over the metadata's. Results are
// cached per issuer for the life of the ProfileDiscovery (a process): a
// success for kDiscoveryTtl, a definite failure (bad metadata, issuer
// mismatch) for kDiscoveryFailureTtl, a transient one not at all; and
// concurrent callers for one issuer share one fetch.
//
// Lives on the loop thread (like OAuthClient, which owns one). Messages name
// the issuer and the URL asked, never a secret (metadata holds none).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "definitions/definitions.h"
#include "runtime/http/http.h"
#include "runtime/status.h"
#include "runtime/task.h"

namespace flowline {

inline constexpr std::chrono::minutes kDiscoveryTtl{60};
inline constexpr std::chrono::seconds kDiscoveryFailureTtl{30};

// The endpoints a profile talks to, after discovery.
struct OAuthEndpoints {
  std::string issuer;             // empty when the profile has none
  std::string authorization_url;  // empty when neither given nor discovered
  std::string token_url;
  std::string revocation_url;
  // The metadata promises `iss` in every authorization reply (RFC 9207 §3),
  // so a reply without one must be refused.
  bool iss_required = false;
};

// The metadata fields Flowline uses, parsed from a metadata document.
struct AuthorizationServerMetadata {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string revocation_endpoint;
  std::vector<std::string> code_challenge_methods_supported;
  bool authorization_response_iss_parameter_supported = false;
};

// The metadata URLs to try for `issuer`, in order (see above). A Status
// ("discovery_error") when the issuer is not an absolute http(s) URL without
// query or fragment (RFC 8414 §2).
Result<std::vector<std::string>> discovery_urls(const std::string& issuer);

// Parses a metadata document; checks that it is a JSON object, that
// `issuer` equals `expected_issuer` exactly, and that endpoint values are
// absolute http(s) URLs without fragment (https when the issuer is https:
// secrets go there) and the optional fields have their RFC types. At most
// 1 MiB. Status code "discovery_error" with a message that says what was
// wrong and at which URL (`url` is only used in messages).
Result<AuthorizationServerMetadata> parse_metadata(const std::string& body,
                                                   const std::string& expected_issuer,
                                                   const std::string& url);

// The profile's own URLs, with the empty ones filled from `metadata`.
OAuthEndpoints merge_endpoints(const OAuthProfile& profile,
                               const AuthorizationServerMetadata* metadata);

class ProfileDiscovery {
 public:
  // `now` dates cache entries (tests pass a fake clock); empty: steady_clock.
  explicit ProfileDiscovery(HttpTransport& transport,
                            std::function<std::chrono::steady_clock::time_point()> now = {});
  ~ProfileDiscovery();
  ProfileDiscovery(const ProfileDiscovery&) = delete;
  ProfileDiscovery& operator=(const ProfileDiscovery&) = delete;

  // The profile's endpoints. Without `issuer` these are the profile's own
  // URLs (no request). With one, the issuer's metadata is fetched (or taken
  // from the cache) and merged in — also when every URL is explicit, so a
  // wrong issuer is always found. Fails with "discovery_error" (bad metadata,
  // issuer mismatch, 4xx, no metadata at any location) or
  // "discovery_unavailable" (network error, timeout, 5xx: worth retrying).
  // Messages start with the profile's name. `profile` and this object must
  // outlive the call; a caller waiting here must not be destroyed before it
  // is resumed (waiters are resumed directly, not posted to a loop).
  Task<Result<OAuthEndpoints>> endpoints(const OAuthProfile& profile);

  // Metadata requests sent so far (for tests).
  int fetches() const { return fetches_; }

 private:
  struct Entry;
  Task<Result<std::shared_ptr<const AuthorizationServerMetadata>>> metadata(
      const std::string& issuer);
  Task<Result<AuthorizationServerMetadata>> fetch(const std::string& issuer);

  HttpTransport& transport_;
  std::function<std::chrono::steady_clock::time_point()> now_;
  std::map<std::string, std::shared_ptr<Entry>> cache_;
  int fetches_ = 0;
};

}  // namespace flowline
