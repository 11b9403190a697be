// The ServiceNow-like incident API of the sample endpoint, a resource server that accepts only
// the access tokens of the sample authorization server (RFC 6750 bearer tokens).
//
//   GET  /api/now/table/incident[?sysparm_limit=N&sysparm_offset=M]  the token user's incidents
//   GET  /api/now/table/incident/{number or sys_id}                  one of them (404 otherwise)
//   POST /api/now/table/incident  {"short_description": ...}         creates one (201)
//   GET  /api/redirect-elsewhere[?to=URL&status=302]                 redirects to another origin
//   ANY  /api/record-auth                                            notes whether Authorization
//                                                                    arrived (never its value)
//
// A client-credentials token (user "*system*") sees every user's incidents and creates
// incidents with caller_id "*system*". Thread-safe; the stores, Stats and FaultPlan must
// outlive it.
#pragma once

#include <httplib.h>

#include <atomic>

#include <optional>
#include <string>

#include "samples/endpoint/fault_plan.h"
#include "samples/endpoint/incident_store.h"
#include "samples/endpoint/stats.h"
#include "samples/endpoint/token_store.h"

namespace flowline::sample {

class IncidentApi {
 public:
  // `other_origin` (e.g. "http://127.0.0.1:8766") is where /api/redirect-elsewhere points
  // when the request has no `to`; may be empty.
  IncidentApi(const TokenStore& tokens, IncidentStore& incidents, Stats& stats, FaultPlan& faults,
              std::string other_origin);
  IncidentApi(const IncidentApi&) = delete;
  IncidentApi& operator=(const IncidentApi&) = delete;

  void Register(httplib::Server& server);

 private:
  // Counts the request, then applies slow mode and injected failures. Returns false when an
  // injected failure has already answered it.
  bool Admit(const httplib::Request& request, httplib::Response& response);
  // The user of a valid bearer token; otherwise answers 401 with a WWW-Authenticate challenge
  // and returns nullopt.
  std::optional<std::string> Authenticate(const httplib::Request& request,
                                          httplib::Response& response);

  void ListIncidents(const httplib::Request& request, httplib::Response& response);
  void GetIncident(const httplib::Request& request, httplib::Response& response);
  void CreateIncident(const httplib::Request& request, httplib::Response& response);
  void RedirectElsewhere(const httplib::Request& request, httplib::Response& response);
  void RecordAuth(const httplib::Request& request, httplib::Response& response);

  const TokenStore& tokens_;
  IncidentStore& incidents_;
  Stats& stats_;
  FaultPlan& faults_;
  std::atomic<int64_t> in_flight_{0};  // API requests inside Admit()
  const std::string other_origin_;
};

// A ServiceNow-style error body: {"error": {"message", "detail"}, "status": "failure"}.
std::string ServiceNowError(std::string_view message, std::string_view detail);

}  // namespace flowline::sample
