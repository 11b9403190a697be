// The one line the sample endpoint logs per request, with nothing secret in it.
//
// Parameter values are shown only for names known to be harmless (client_id, grant_type,
// sysparm_limit, ...); every other value — code, state, code_verifier, token, refresh_token,
// client_secret, anything unknown — is printed as "[redacted]". Headers are never printed; of
// Authorization only the scheme is shown ("auth=Bearer"). Bodies are never printed.
#pragma once

#include <httplib.h>

#include <string>

namespace flowline::sample {

// E.g. `127.0.0.1 POST /oauth/token grant_type=refresh_token auth=Basic -> 200`.
std::string FormatRequestLogLine(const httplib::Request& request,
                                 const httplib::Response& response);

}  // namespace flowline::sample
