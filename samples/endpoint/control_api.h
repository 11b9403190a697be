// The control API: how tests and the README demo steer and observe the sample endpoint.
//
//   GET  /control/stats                                  counters, as JSON
//   POST /control/reset[?all=1]                          counters, faults, delays and switches
//                                                        back to defaults; all=1 also forgets
//                                                        every code, grant and token and
//                                                        restores the incident data
//   POST /control/fail?count=N&status=503&retry_after=1&target=api|token|revoke
//   POST /control/delay?ms=N&target=api|token|revoke
//   POST /control/expire-tokens                          every access token expires now
//   POST /control/refresh-omits-new-token?on=1|0
//
// No authentication, so it answers loopback peers only (the endpoint also binds to loopback
// only). Thread-safe; everything it steers must outlive it.
#pragma once

#include <httplib.h>

#include "samples/endpoint/fault_plan.h"
#include "samples/endpoint/incident_store.h"
#include "samples/endpoint/oauth_server.h"
#include "samples/endpoint/stats.h"
#include "samples/endpoint/token_store.h"

namespace flowline::sample {

class ControlApi {
 public:
  ControlApi(TokenStore& tokens, IncidentStore& incidents, Stats& stats, FaultPlan& faults,
             OAuthServer& oauth, bool refresh_omits_new_token_default);
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;

  void Register(httplib::Server& server);

 private:
  void GetStats(httplib::Response& response) const;
  void Reset(const httplib::Request& request, httplib::Response& response);
  void Fail(const httplib::Request& request, httplib::Response& response);
  void SetDelay(const httplib::Request& request, httplib::Response& response);
  void ExpireTokens(httplib::Response& response);
  void RefreshOmitsNewToken(const httplib::Request& request, httplib::Response& response);

  TokenStore& tokens_;
  IncidentStore& incidents_;
  Stats& stats_;
  FaultPlan& faults_;
  OAuthServer& oauth_;
  const bool refresh_omits_new_token_default_;
};

// Whether `address` (as httplib reports a peer) is 127.0.0.0/8 or ::1.
bool IsLoopbackAddress(std::string_view address);

}  // namespace flowline::sample
