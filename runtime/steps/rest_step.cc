// The REST step: bind the alias at call time, render the request, add the
// session user's token at the last moment, send with retries, and turn the
// response into step outputs.
#include <fmt/format.h>

#include <sodium.h>

#include <cstring>
#include <random>

#include "runtime/eval/evaluator.h"
#include "runtime/http/url.h"
#include "runtime/secrets.h"
#include "runtime/vault/token_vault.h"
#include "runtime/value_types.h"
#include "runtime/walker.h"

namespace flowline {

namespace {

using Outcome = RunExecution::Outcome;

bool is_idempotent(HttpMethod method) {
  return method == HttpMethod::Get || method == HttpMethod::Put || method == HttpMethod::Delete;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "";
  }
}

std::string_view http_error_code(HttpError error) {
  switch (error) {
    case HttpError::Timeout: return "http_timeout";
    case HttpError::Connect: return "http_connect";
    case HttpError::Tls: return "http_tls";
    case HttpError::TooLarge: return "response_too_large";
    case HttpError::TooManyRedirects: return "too_many_redirects";
    case HttpError::InvalidRequest: return "unsafe_request";
    case HttpError::Cancelled: return "cancelled";
    default: return "http_error";
  }
}

bool is_retryable_error(HttpError error) {
  return error == HttpError::Timeout || error == HttpError::Connect || error == HttpError::Other;
}

// "Bearer realm=…, error="invalid_token"" → true.
bool rejects_token(const HttpResponse& response) {
  if (response.status != 401) return false;
  const std::string* challenge = response.header("www-authenticate");
  return challenge && challenge->find("invalid_token") != std::string::npos;
}

// Seconds or an HTTP date (RFC 9110 §10.2.3); nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> retry_after(const HttpResponse& response) {
  const std::string* header = response.header("retry-after");
  if (!header) return std::nullopt;
  char* end = nullptr;
  long seconds = std::strtol(header->c_str(), &end, 10);
  if (end != header->c_str() && *end == '\0' && seconds >= 0)
    return std::chrono::milliseconds(std::min<long>(seconds, 3600) * 1000);
  struct tm tm {};
  if (strptime(header->c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
    auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
    auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(
        when - std::chrono::system_clock::now());
    return std::max(std::chrono::milliseconds(0), delta);
  }
  return std::nullopt;
}

std::chrono::milliseconds backoff(const RetryPolicy& policy, int retry, const HttpResponse& response) {
  using std::chrono::milliseconds;
  // A server's Retry-After is honoured as given: never earlier, no jitter
  // (max_elapsed still bounds the whole step).
  if (policy.strategy == RetryPolicy::Strategy::RetryAfter)
    if (auto hinted = retry_after(response)) return *hinted;
  milliseconds delay = policy.interval;
  if (policy.strategy != RetryPolicy::Strategy::Fixed) {
    for (int i = 1; i < retry && delay < milliseconds(3'600'000); ++i) delay *= 2;
  }
  if (policy.max_interval) delay = std::min(delay, *policy.max_interval);
  if (policy.jitter && delay.count() > 1) {
    thread_local std::mt19937_64 random{std::random_device{}()};
    std::uniform_int_distribution<int64_t> spread(delay.count() / 2, delay.count());
    delay = milliseconds(spread(random));
  }
  // Whatever the strategy, never sooner than the server asked (Retry-After).
  if (auto hinted = retry_after(response)) delay = std::max(delay, *hinted);
  return delay;
}

std::string form_encode(const Value& body) {
  std::string out;
  if (!body.is_object()) return percent_encode(to_display_string(body));
  for (const auto& [name, value] : body.as_object()) {
    if (!out.empty()) out += '&';
    out += percent_encode(name) + "=" + percent_encode(to_display_string(value));
  }
  return out;
}

bool has_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size(); ++i)
      same &= std::tolower(static_cast<unsigned char>(n[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return true;
  }
  return false;
}

Value response_headers(const HttpResponse& response) {
  ValueObject headers;
  for (const auto& [name, value] : response.headers) {
    auto [it, inserted] = headers.emplace(name, Value(value));
    if (!inserted) it->second = Value(it->second.as_string() + ", " + value);
  }
  return Value(std::move(headers));
}

Value response_body(const HttpResponse& response) {
  const std::string* type = response.header("content-type");
  if (type && type->find("json") != std::string::npos && !response.body.empty()) {
    auto parsed = parse_json_value(response.body);
    if (parsed.ok()) return std::move(parsed).value();
  }
  return Value(response.body);
}

}  // namespace

Task<Outcome> RunExecution::run_rest(Frame& frame, const Step& step, const RestStep& s) {
  const std::string path = step_path(frame, step);
  ValueObject outputs;
  outputs.emplace("status_code", Value(static_cast<int64_t>(0)));
  outputs.emplace("headers", Value(ValueObject{}));
  outputs.emplace("body", Value());
  outputs.emplace("duration_ms", Value(static_cast<int64_t>(0)));
  outputs.emplace("attempts", Value(static_cast<int64_t>(0)));

  // Ends the step as failed: outputs stored, status set, on_failure honoured.
  auto fail = [&](std::string code, std::string message, int status_code) -> Outcome {
    if (status_code) outputs.insert_or_assign("status_code", Value(static_cast<int64_t>(status_code)));
    RunError error{std::move(code), std::move(message), path};
    store_step(frame, step, Value(outputs), &error);
    if (!result_.steps.empty() && result_.steps.back().path == path) {
      result_.steps.back().error_code = error.code;
      result_.steps.back().error_message = error.message;
    }
    if (step.on_failure == OnFailure::Continue) return Outcome::next();
    return Outcome{Outcome::Kind::Failed, std::move(error)};
  };

  // 1. Bind: alias -> active connection -> credential (at call time).
  const ResolvedConnection* binding = nullptr;
  std::string base_url;
  if (!s.connection.empty()) {
    binding = services_.connections->resolve(s.connection);
    if (binding == nullptr || binding->connection == nullptr)
      co_return fail("connection_missing",
                     fmt::format("connection alias '{}' has no active HTTP connection",
                                 s.connection.name),
                     0);
    base_url = binding->connection->url;
  } else if (s.url) {
    auto url = render(*s.url, frame.scope);
    if (!url.ok()) co_return fail("expression_error", url.status().message(), 0);
    base_url = to_display_string(*url);
    if (!origin_of(base_url).ok())
      co_return fail("unsafe_path", fmt::format("'{}' is not an absolute http(s) URL", base_url), 0);
  }

  // 2. Render the request from pills.
  // A literal path on a connection: its URL up to the query was built once.
  const std::string* fixed = nullptr;
  if (binding != nullptr && services_.fixed_url_paths != nullptr) {
    auto it = services_.fixed_url_paths->find(&s);
    if (it != services_.fixed_url_paths->end()) fixed = &it->second;
  }
  Result<Value> rendered_path = Value();
  if (fixed == nullptr) {
    rendered_path = render(s.path, frame.scope);
    if (!rendered_path.ok()) co_return fail("expression_error", rendered_path.status().message(), 0);
  }
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [name, tmpl] : s.query) {
    auto value = render(tmpl, frame.scope);
    if (!value.ok()) co_return fail("expression_error", value.status().message(), 0);
    if (value->is_null()) continue;
    query.emplace_back(name, to_display_string(*value));
  }
  Result<std::string> url = fixed != nullptr ? Result<std::string>(*fixed)
                                             : build_url(base_url, to_display_string(*rendered_path), query);
  if (!url.ok()) co_return fail(url.status().code(), url.status().message(), 0);
  if (fixed != nullptr) append_query(*url, query);

  HttpRequest request;
  request.method = std::string(http_method_name(s.method));
  request.url = *url;
  if (binding) {
    for (const auto& [name, value] : binding->connection->headers) request.headers.emplace_back(name, value);
    request.redirects = binding->connection->follow_redirects == HttpConnection::FollowRedirects::SameOrigin
                            ? RedirectPolicy::SameOrigin
                        : binding->connection->follow_redirects == HttpConnection::FollowRedirects::StripToken
                            ? RedirectPolicy::StripToken
                            : RedirectPolicy::Never;
    request.ca_file = binding->connection->ca_file;
  }
  for (const auto& [name, tmpl] : s.headers) {
    auto value = render(tmpl, frame.scope);
    if (!value.ok()) co_return fail("expression_error", value.status().message(), 0);
    std::string text = to_display_string(*value);
    Status safe = check_header(name, text);
    if (!safe.ok()) co_return fail(safe.code(), safe.message(), 0);
    request.headers.emplace_back(name, std::move(text));
  }
  if (s.body) {
    auto body = render(*s.body, frame.scope);
    if (!body.ok()) co_return fail("expression_error", body.status().message(), 0);
    switch (s.body_type) {
      case BodyType::Json:
        request.body = body->to_json();
        if (!has_header(request.headers, "content-type"))
          request.headers.emplace_back("Content-Type", "application/json");
        break;
      case BodyType::Form:
        request.body = form_encode(*body);
        if (!has_header(request.headers, "content-type"))
          request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
        break;
      case BodyType::Text:
        request.body = to_display_string(*body);
        if (!has_header(request.headers, "content-type"))
          request.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        break;
    }
  }
  std::chrono::milliseconds timeout = s.timeout ? *s.timeout
                                      : (binding && binding->connection->timeout)
                                          ? *binding->connection->timeout
                                          : std::chrono::milliseconds(30'000);
  request.max_response_bytes = services_.limits.max_response_bytes;

  // 3. The token, for the identity this step runs as. No token, no request.
  std::optional<AccessToken> token;
  std::string token_user;
  if (binding && binding->credential && binding->credential->type == Credential::Type::OAuth2) {
    const Credential& credential = *binding->credential;
    if (credential.integration_type == Credential::IntegrationType::Personal) {
      if (!frame.user)
        co_return fail("personal_credential_in_system_context",
                       fmt::format("credential '{}' is personal, but this step runs as system; set "
                                   "`run_as: session_user` on the subflow that calls it",
                                   credential.full_name),
                       401);
      token_user = *frame.user;
    } else {
      token_user = kSystemUser;
    }
    token = services_.tokens->ready_token(*binding, token_user);
    if (!token) {
      auto got = co_await services_.tokens->token_for(*binding, token_user);
      if (!got.ok()) {
        int status = (got.status().code() == "token_missing" || got.status().code() == "token_invalid") ? 401 : 0;
        co_return fail(got.status().code(), got.status().message(), status);
      }
      token = std::move(got).value();
    }
  }
  // Basic and API-key credentials: resolved at use, sent only to this origin.
  if (binding && binding->credential && binding->credential->type != Credential::Type::OAuth2) {
    const Credential& credential = *binding->credential;
    if (credential.type == Credential::Type::Basic) {
      auto password = resolve_secret(credential.password,
                                     fmt::format("password of credential '{}'", credential.full_name));
      if (!password.ok()) co_return fail(password.status().code(), password.status().message(), 0);
      std::string plain = credential.username + ":" + *password;
      std::string encoded(sodium_base64_encoded_len(plain.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
      sodium_bin2base64(encoded.data(), encoded.size(),
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                        sodium_base64_VARIANT_ORIGINAL);
      encoded.resize(std::strlen(encoded.c_str()));
      sodium_memzero(plain.data(), plain.size());
      request.secret_headers.emplace_back("Authorization", "Basic " + encoded);
    } else {
      auto value = resolve_secret(credential.value,
                                  fmt::format("value of credential '{}'", credential.full_name));
      if (!value.ok()) co_return fail(value.status().code(), value.status().message(), 0);
      request.secret_headers.emplace_back(credential.header, std::move(value).value());
    }
  }

  // 4. Send, retrying per policy; a rejected token is refreshed once.
  const RetryPolicy* policy = s.retry_policy        ? &*s.retry_policy
                              : (binding && binding->alias && binding->alias->retry_policy)
                                  ? &*binding->alias->retry_policy
                                  : nullptr;
  bool may_retry = policy && (is_idempotent(s.method) || policy->retry_non_idempotent);
  auto started = std::chrono::steady_clock::now();
  int attempts = 0;
  int retries = 0;
  bool refreshed = false;
  HttpResponse response;
  for (;;) {
    ++attempts;
    HttpRequest attempt = request;
    attempt.bearer_token = token ? token->value : std::string();
    attempt.timeout = timeout;
    if (request_.timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          request_.timeout - (std::chrono::steady_clock::now() - started_));
      if (left.count() <= 0) co_return fail("timeout", "the run's timeout passed during the request", 0);
      attempt.timeout = std::min(attempt.timeout, left);
    }
    HttpCall call(*services_.transport, std::move(attempt));
    response = co_await call;
    if (cancelled_) co_return fail("cancelled", "the run was cancelled", 0);

    if (token && token->from_vault && !refreshed && rejects_token(response)) {
      refreshed = true;
      auto renewed = co_await services_.tokens->refresh_after_rejection(*binding, token_user, *token);
      if (!renewed.ok()) {
        int status = (renewed.status().code() == "token_missing" || renewed.status().code() == "token_invalid") ? 401 : 0;
        co_return fail(renewed.status().code(), renewed.status().message(), status);
      }
      token = std::move(renewed).value();
      continue;
    }
    bool retryable = false;
    if (response.error != HttpError::None)
      retryable = is_retryable_error(response.error);
    else if (policy)
      retryable = std::find(policy->on_status.begin(), policy->on_status.end(), response.status) !=
                  policy->on_status.end();
    if (!may_retry || !retryable || retries >= policy->count) break;
    auto delay = backoff(*policy, retries + 1, response);
    if (policy->max_elapsed && std::chrono::steady_clock::now() - started + delay > *policy->max_elapsed) break;
    ++retries;
    Sleep sleep(*services_.loop, delay);
    co_await sleep;
    if (cancelled_) co_return fail("cancelled", "the run was cancelled", 0);
  }

  double duration_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  outputs.insert_or_assign("attempts", Value(static_cast<int64_t>(attempts)));
  outputs.insert_or_assign("duration_ms", Value(static_cast<int64_t>(duration_ms)));
  if (!result_.steps.empty() && result_.steps.back().path == path) {
    HttpSummary summary;
    summary.method = request.method;
    summary.url = request.url;
    summary.status = response.status;
    summary.attempts = attempts;
    summary.time_ms = duration_ms;
    result_.steps.back().http = summary;
    // What was sent, as the author wrote it: never the token or secret headers.
    ValueObject sent;
    sent.emplace("method", Value(request.method));
    sent.emplace("url", Value(request.url));
    ValueObject headers;
    for (const auto& [name, value] : request.headers) headers.insert_or_assign(name, Value(value));
    sent.emplace("headers", Value(std::move(headers)));
    if (!request.body.empty()) sent.emplace("body", Value(request.body));
    result_.steps.back().inputs = Value(std::move(sent));
  }
  // "GET https://host/path", for messages: without the query, which may hold values.
  auto target = [&request] {
    return request.method + " " + request.url.substr(0, request.url.find('?'));
  };
  if (response.error != HttpError::None)
    co_return fail(std::string(http_error_code(response.error)),
                   fmt::format("{} failed: {}", target(), response.error_message), 0);

  outputs.insert_or_assign("status_code", Value(static_cast<int64_t>(response.status)));
  if (services_.record_steps || services_.unread_headers == nullptr ||
      !services_.unread_headers->contains(&s))
    outputs.insert_or_assign("headers", response_headers(response));
  outputs.insert_or_assign("body", response_body(response));
  bool expected = s.expect.empty() ? (response.status >= 200 && response.status < 300)
                                   : std::find(s.expect.begin(), s.expect.end(), response.status) != s.expect.end();
  if (!expected) {
    std::string_view reason = reason_phrase(response.status);
    co_return fail("http_status",
                   fmt::format("HTTP {}{}{} from {}", response.status, reason.empty() ? "" : " ",
                               reason, target()),
                   0);
  }
  store_step(frame, step, Value(std::move(outputs)), nullptr);
  co_return Outcome::next();
}

}  // namespace flowline
