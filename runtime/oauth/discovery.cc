#include "runtime/oauth/discovery.h"

#include <fmt/format.h>

#include <algorithm>
#include <coroutine>
#include <optional>
#include <string_view>
#include <utility>

#include "runtime/eval/evaluator.h"
#include "runtime/http/url.h"
#include "runtime/services.h"

namespace flowline {

namespace {

constexpr std::string_view kRfc8414Suffix = "/.well-known/oauth-authorization-server";
constexpr std::string_view kOpenIdSuffix = "/.well-known/openid-configuration";
// Metadata documents are a few KiB; anything near this is not metadata.
constexpr size_t kMaxMetadataBytes = 1 << 20;
constexpr std::chrono::milliseconds kMetadataTimeout{10'000};

Status discovery_error(std::string message) {
  return Status("discovery_error", std::move(message));
}

// Text from the server, made safe and short for a message.
std::string shown(std::string_view text, size_t limit = 200) {
  std::string out;
  for (char c : text.substr(0, limit)) {
    auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? ' ' : c;
  }
  if (text.size() > limit) out += "…";
  return out;
}

// An absolute http(s) URL without a fragment; what is wrong otherwise.
std::optional<std::string> url_problem(std::string_view url) {
  if (Result<Origin> origin = origin_of(url); !origin.ok()) return origin.status().message();
  if (url.find('#') != std::string_view::npos) return "the URL has a fragment ('#')";
  return std::nullopt;
}

// A string member that must be an absolute http(s) URL; "" when absent.
Result<std::string> endpoint_member(const Value& document, std::string_view field,
                                    const std::string& issuer, const std::string& url) {
  const Value* value = document.find(field);
  if (value == nullptr || value->is_null()) return std::string();
  if (!value->is_string())
    return discovery_error(
        fmt::format("the metadata at {} has a '{}' that is not a string", url, field));
  const std::string& endpoint = value->as_string();
  if (auto problem = url_problem(endpoint))
    return discovery_error(
        fmt::format("the metadata at {} has '{}' '{}', which is not an absolute http "
                    "or https URL: {}",
                    url, field, shown(endpoint), *problem));
  // Secrets and codes go to these endpoints: an https issuer must not send them in clear.
  Result<Origin> issuer_origin = origin_of(issuer);
  if (issuer_origin.ok() && issuer_origin->scheme == "https" &&
      origin_of(endpoint)->scheme != "https")
    return discovery_error(
        fmt::format("the metadata at {} has '{}' '{}', which is not https although the "
                    "issuer is; give the profile's URL explicitly if this is intended",
                    url, field, shown(endpoint)));
  return endpoint;
}

// The fields Flowline uses from a metadata document that is a JSON object.
Result<AuthorizationServerMetadata> metadata_from(const Value& document,
                                                  const std::string& expected_issuer,
                                                  const std::string& url) {
  const Value* issuer = document.find("issuer");
  if (issuer == nullptr || !issuer->is_string())
    return discovery_error(
        fmt::format("the metadata at {} has no 'issuer' string (RFC 8414 §2)", url));
  if (issuer->as_string() != expected_issuer)
    return discovery_error(
        fmt::format("the metadata at {} names issuer '{}', but the profile's issuer is "
                    "'{}'; they must match exactly, character for character (RFC 8414 "
                    "§3.3). Set the profile's `issuer:` to the server's issuer if "
                    "that is the right server",
                    url, shown(issuer->as_string()), expected_issuer));
  AuthorizationServerMetadata out;
  out.issuer = issuer->as_string();
  for (auto [field, member] :
       {std::pair{"authorization_endpoint", &AuthorizationServerMetadata::authorization_endpoint},
        std::pair{"token_endpoint", &AuthorizationServerMetadata::token_endpoint},
        std::pair{"revocation_endpoint", &AuthorizationServerMetadata::revocation_endpoint}}) {
    Result<std::string> endpoint = endpoint_member(document, field, expected_issuer, url);
    if (!endpoint.ok()) return endpoint.status();
    out.*member = std::move(endpoint).value();
  }
  if (const Value* methods = document.find("code_challenge_methods_supported");
      methods != nullptr && !methods->is_null()) {
    if (!methods->is_array())
      return discovery_error(fmt::format(
          "the metadata at {} has a 'code_challenge_methods_supported' that is not an array", url));
    for (const Value& method : methods->as_array()) {
      if (!method.is_string())
        return discovery_error(
            fmt::format("the metadata at {} has a 'code_challenge_methods_supported' entry that is "
                        "not a string",
                        url));
      out.code_challenge_methods_supported.push_back(method.as_string());
    }
  }
  if (const Value* iss_supported = document.find("authorization_response_iss_parameter_supported");
      iss_supported != nullptr && !iss_supported->is_null()) {
    if (!iss_supported->is_bool())
      return discovery_error(
          fmt::format("the metadata at {} has an "
                      "'authorization_response_iss_parameter_supported' that is not "
                      "true or false",
                      url));
    out.authorization_response_iss_parameter_supported = iss_supported->as_bool();
  }
  return out;
}

// Why a 200 body is not a metadata document (not JSON, not an object), or nothing.
std::optional<std::string> not_a_document(const Result<Value>& parsed) {
  if (!parsed.ok()) return fmt::format("is not JSON ({})", parsed.status().message());
  if (!parsed->is_object()) return "is not a JSON object";
  return std::nullopt;
}

// Awaitable: waits in an entry's waiter list until its fetch lands.
class JoinFetch {
 public:
  explicit JoinFetch(std::vector<std::coroutine_handle<>>* waiters) : waiters_(waiters) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { waiters_->push_back(h); }
  void await_resume() const noexcept {}

 private:
  std::vector<std::coroutine_handle<>>* waiters_;
};

}  // namespace

Result<std::vector<std::string>> discovery_urls(const std::string& issuer) {
  auto unusable = [&](std::string_view what) {
    return discovery_error(
        fmt::format("the issuer '{}' cannot be used for discovery: {}; an issuer is an "
                    "absolute https URL without query or fragment, such as "
                    "'https://login.example.com' or 'https://login.example.com/tenant1' "
                    "(RFC 8414 §2)",
                    shown(issuer), what));
  };
  if (issuer.empty()) return unusable("it is empty");
  if (Result<Origin> origin = origin_of(issuer); !origin.ok())
    return unusable(origin.status().message());
  if (issuer.find('?') != std::string::npos) return unusable("it has a query ('?')");
  if (issuer.find('#') != std::string::npos) return unusable("it has a fragment ('#')");

  // origin_of accepted it, so "://" is there; the path starts at the next '/'.
  const size_t authority_start = issuer.find("://") + 3;
  const size_t path_start = std::min(issuer.find('/', authority_start), issuer.size());
  std::string_view origin = std::string_view(issuer).substr(0, path_start);
  std::string_view path = std::string_view(issuer).substr(path_start);
  if (path.ends_with('/')) path.remove_suffix(1);

  return std::vector<std::string>{
      fmt::format("{}{}{}", origin, kRfc8414Suffix, path),
      fmt::format("{}{}{}", origin, path, kOpenIdSuffix),
  };
}

Result<AuthorizationServerMetadata> parse_metadata(const std::string& body,
                                                   const std::string& expected_issuer,
                                                   const std::string& url) {
  if (body.size() > kMaxMetadataBytes)
    return discovery_error(
        fmt::format("the metadata at {} is larger than {} bytes", url, kMaxMetadataBytes));
  Result<Value> parsed = parse_json_value(body);
  if (auto problem = not_a_document(parsed))
    return discovery_error(fmt::format("the metadata at {} {}", url, *problem));
  return metadata_from(*parsed, expected_issuer, url);
}

OAuthEndpoints merge_endpoints(const OAuthProfile& profile,
                               const AuthorizationServerMetadata* metadata) {
  auto pick = [&](const std::string& explicit_url,
                  std::string AuthorizationServerMetadata::*field) {
    if (!explicit_url.empty() || metadata == nullptr) return explicit_url;
    return metadata->*field;
  };
  OAuthEndpoints out;
  out.issuer = profile.issuer;
  out.authorization_url =
      pick(profile.authorization_url, &AuthorizationServerMetadata::authorization_endpoint);
  out.token_url = pick(profile.token_url, &AuthorizationServerMetadata::token_endpoint);
  out.revocation_url =
      pick(profile.revocation_url, &AuthorizationServerMetadata::revocation_endpoint);
  out.iss_required = metadata != nullptr && metadata->authorization_response_iss_parameter_supported;
  return out;
}

// One issuer's cached result, or the fetch in flight for it (then `waiters`
// are the callers sharing it). Held by shared_ptr so that whoever resumes or
// is resumed keeps it alive even when the cache replaces or drops it.
struct ProfileDiscovery::Entry {
  bool in_flight = true;
  std::vector<std::coroutine_handle<>> waiters;
  std::optional<Result<std::shared_ptr<const AuthorizationServerMetadata>>> result;
  std::chrono::steady_clock::time_point expires_at;
};

ProfileDiscovery::ProfileDiscovery(HttpTransport& transport,
                                   std::function<std::chrono::steady_clock::time_point()> now)
    : transport_(transport), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now(); };
}

ProfileDiscovery::~ProfileDiscovery() = default;

Task<Result<OAuthEndpoints>> ProfileDiscovery::endpoints(const OAuthProfile& profile) {
  if (profile.issuer.empty()) co_return merge_endpoints(profile, nullptr);
  auto metadata = co_await this->metadata(profile.issuer);
  if (!metadata.ok())
    co_return Status(metadata.status().code(),
                     fmt::format("discovery for OAuth profile '{}' failed: {}", profile.full_name,
                                 metadata.status().message()));
  co_return merge_endpoints(profile, metadata->get());
}

Task<Result<std::shared_ptr<const AuthorizationServerMetadata>>> ProfileDiscovery::metadata(
    const std::string& issuer_ref) {
  const std::string issuer = issuer_ref;  // the caller's string need not outlive a suspension
  if (auto it = cache_.find(issuer); it != cache_.end()) {
    std::shared_ptr<Entry> entry = it->second;
    if (entry->in_flight) {
      JoinFetch join(&entry->waiters);
      co_await join;
      co_return *entry->result;
    }
    if (now_() < entry->expires_at) co_return *entry->result;
  }

  auto entry = std::make_shared<Entry>();
  cache_[issuer] = entry;
  Result<AuthorizationServerMetadata> fetched = co_await fetch(issuer);
  if (fetched.ok()) {
    entry->result.emplace(
        std::make_shared<const AuthorizationServerMetadata>(std::move(fetched).value()));
    entry->expires_at = now_() + kDiscoveryTtl;
  } else {
    // A definite failure (bad metadata, issuer mismatch) is remembered; a
    // transient one is shared only with the callers that waited for this
    // fetch, so the next refresh attempt asks again.
    bool transient = fetched.status().code() == "discovery_unavailable";
    entry->result.emplace(fetched.status());
    entry->expires_at = transient ? now_() : now_() + kDiscoveryFailureTtl;
  }
  entry->in_flight = false;
  // Resume the callers that joined, one after another. Each runs until it
  // next suspends and may call back into this object (a cache hit now) or
  // even destroy it, so from here on only locals are touched.
  std::vector<std::coroutine_handle<>> waiters = std::move(entry->waiters);
  entry->waiters.clear();
  for (std::coroutine_handle<> waiter : waiters) waiter.resume();
  co_return *entry->result;
}

Task<Result<AuthorizationServerMetadata>> ProfileDiscovery::fetch(const std::string& issuer) {
  Result<std::vector<std::string>> urls = discovery_urls(issuer);
  if (!urls.ok()) co_return urls.status();
  std::vector<std::string> tried;  // "URL (what it answered)", for the final message
  for (const std::string& url : *urls) {
    HttpRequest request;
    request.method = "GET";
    request.url = url;
    request.headers.emplace_back("Accept", "application/json");
    request.redirects = RedirectPolicy::Never;  // the metadata's location is part of its identity
    request.timeout = kMetadataTimeout;
    request.max_response_bytes = kMaxMetadataBytes;
    ++fetches_;
    HttpCall call(transport_, std::move(request));
    HttpResponse response = co_await call;

    if (response.error == HttpError::TooLarge)
      co_return discovery_error(
          fmt::format("the metadata at {} is larger than {} bytes", url, kMaxMetadataBytes));
    if (response.error == HttpError::InvalidRequest)
      co_return discovery_error(
          fmt::format("the metadata URL {} was refused: {}", url, shown(response.error_message)));
    if (response.error != HttpError::None)
      co_return Status(
          "discovery_unavailable",
          fmt::format("the metadata at {} could not be fetched: {}", url,
                      shown(response.error_message)));
    if (response.status >= 500)
      co_return Status(
          "discovery_unavailable",
          fmt::format("the metadata at {} could not be fetched: HTTP {}", url,
                      response.status));
    if (response.status == 200) {
      // A 200 that is not a JSON object (a catch-all HTML page) is no
      // document: the next location may have one. A JSON object is the
      // document, and its verdict is final.
      Result<Value> parsed = parse_json_value(response.body);
      if (auto problem = not_a_document(parsed)) {
        tried.push_back(fmt::format("{} (HTTP 200, but the body {})", url, *problem));
        continue;
      }
      co_return metadata_from(*parsed, issuer, url);
    }
    if (response.status == 400 || response.status == 404 || response.status == 405 ||
        response.status == 410) {
      tried.push_back(fmt::format("{} (HTTP {})", url, response.status));
      continue;
    }
    std::string why = response.status >= 300 && response.status < 400
                          ? "; redirects are not followed for metadata"
                          : "";
    co_return discovery_error(
        fmt::format("the metadata at {} answered HTTP {}{}", url, response.status, why));
  }
  std::string listed;
  for (const std::string& t : tried) listed += (listed.empty() ? "" : ", ") + t;
  co_return discovery_error(
      fmt::format("no metadata for issuer '{}' at {}; check the issuer, or give "
                  "the profile's authorization_url and token_url explicitly",
                  issuer, listed));
}

}  // namespace flowline
