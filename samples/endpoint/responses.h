// Response helpers shared by the sample endpoint's OAuth, incident and control surfaces.
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>

#include "samples/endpoint/fault_plan.h"
#include "samples/endpoint/oauth_error.h"

namespace flowline::sample {

void SendJson(httplib::Response& response, int status, std::string json);

void SendHtml(httplib::Response& response, int status, std::string_view title,
              std::string_view body_html);

// An RFC 6749 §5.2 error: JSON {error, error_description}, Cache-Control: no-store, and for
// invalid_client (401) a WWW-Authenticate: Basic challenge (RFC 6749 §5.2 requires it when the
// client tried HTTP Basic; sending it always tells every client which scheme to use).
void SendOAuthError(httplib::Response& response, const OAuthError& error);

// An injected failure: its status, Retry-After when set, and `json_body`.
void SendInjectedFailure(httplib::Response& response, const InjectedFailure& failure,
                         std::string json_body);

// Whether the request's media type (ignoring parameters such as charset) is `media_type`.
bool HasMediaType(const httplib::Request& request, std::string_view media_type);

// A JSON string literal for `text`, quotes included.
std::string JsonString(std::string_view text);

}  // namespace flowline::sample
