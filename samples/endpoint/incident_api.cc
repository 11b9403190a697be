#include "samples/endpoint/incident_api.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "samples/endpoint/responses.h"

namespace flowline::sample {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

constexpr char kRealm[] = "sample";

void WriteField(JsonWriter& writer, const std::string& name, const std::string& value) {
  writer.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
  writer.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void WriteIncident(JsonWriter& writer, const Incident& incident) {
  writer.StartObject();
  WriteField(writer, "sys_id", incident.sys_id);
  WriteField(writer, "number", incident.number);
  WriteField(writer, "short_description", incident.short_description);
  WriteField(writer, "caller_id", incident.caller_id);
  WriteField(writer, "state", incident.state);
  WriteField(writer, "priority", incident.priority);
  for (const auto& [name, value] : incident.other_fields) WriteField(writer, name, value);
  writer.EndObject();
}

std::string ResultJson(const Incident& incident) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("result");
  WriteIncident(writer, incident);
  writer.EndObject();
  return buffer.GetString();
}

// A non-negative integer query parameter: `fallback` when absent, nullopt when malformed.
std::optional<size_t> CountParameter(const httplib::Request& request, const char* name,
                                     std::optional<size_t> fallback, bool* malformed) {
  if (!request.has_param(name)) return fallback;
  std::string text = request.get_param_value(name);
  size_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    *malformed = true;
    return std::nullopt;
  }
  return value;
}

bool IsBearer(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  return header.size() >= kScheme.size() &&
         std::equal(kScheme.begin(), kScheme.end(), header.begin(), [](char a, char b) {
           return a == std::tolower(static_cast<unsigned char>(b));
         });
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// The incidents a user may see: their own, or everyone's for the client itself.
std::optional<std::string_view> CallerFilter(const std::string& user) {
  if (user == kSystemUser) return std::nullopt;
  return user;
}

}  // namespace

std::string ServiceNowError(std::string_view message, std::string_view detail) {
  return "{\"error\":{\"message\":" + JsonString(message) + ",\"detail\":" + JsonString(detail) +
         "},\"status\":\"failure\"}";
}

IncidentApi::IncidentApi(const TokenStore& tokens, IncidentStore& incidents, Stats& stats,
                         FaultPlan& faults, std::string other_origin)
    : tokens_(tokens),
      incidents_(incidents),
      stats_(stats),
      faults_(faults),
      other_origin_(std::move(other_origin)) {}

void IncidentApi::Register(httplib::Server& server) {
  constexpr char kTable[] = "/api/now/table/incident";
  constexpr char kRecord[] = R"(/api/now/table/incident/([A-Za-z0-9_.\-]+))";
  server.Get(kTable, [this](const httplib::Request& req, httplib::Response& res) {
    ListIncidents(req, res);
  });
  server.Post(kTable, [this](const httplib::Request& req, httplib::Response& res) {
    CreateIncident(req, res);
  });
  server.Get(kRecord, [this](const httplib::Request& req, httplib::Response& res) {
    GetIncident(req, res);
  });
  server.Get(
      "/api/redirect-elsewhere",
      [this](const httplib::Request& req, httplib::Response& res) { RedirectElsewhere(req, res); });
  auto record = [this](const httplib::Request& req, httplib::Response& res) {
    RecordAuth(req, res);
  };
  server.Get("/api/record-auth", record);
  server.Post("/api/record-auth", record);
  server.Put("/api/record-auth", record);
  server.Patch("/api/record-auth", record);
  server.Delete("/api/record-auth", record);
}

bool IncidentApi::Admit(const httplib::Request& request, httplib::Response& response) {
  stats_.Add("api_requests");
  if (request.has_header("Authorization")) stats_.Add("api_requests_with_auth");
  {
    // The most API requests in the endpoint at once (while their delay lasts).
    stats_.Max("api_peak_in_flight", ++in_flight_);
    faults_.Delay(Surface::kApi);
    --in_flight_;
  }
  if (auto failure = faults_.TakeFailure(Surface::kApi)) {
    stats_.Add("api_injected_failures");
    SendInjectedFailure(
        response, *failure,
        ServiceNowError("Service Unavailable",
                        "injected failure: HTTP " + std::to_string(failure->status)));
    return false;
  }
  return true;
}

std::optional<std::string> IncidentApi::Authenticate(const httplib::Request& request,
                                                     httplib::Response& response) {
  std::string header = request.get_header_value("Authorization");
  auto refuse = [&](std::string challenge, std::string_view detail) -> std::optional<std::string> {
    stats_.Add("api_unauthorized");
    response.set_header("WWW-Authenticate", challenge);
    SendJson(response, 401, ServiceNowError("User Not Authenticated", detail));
    return std::nullopt;
  };
  // RFC 6750 §3: a request without a bearer token gets a challenge with no error code.
  if (!IsBearer(header)) {
    return refuse(std::string("Bearer realm=\"") + kRealm + "\"",
                  "Required to provide Auth information");
  }
  std::string_view token = Trim(std::string_view(header).substr(7));
  AccessTokenCheck check = tokens_.CheckAccessToken(token);
  std::string why;
  switch (check.verdict) {
    case AccessTokenCheck::Verdict::kValid:
      stats_.Add("api_requests_by_user." + check.user);
      return check.user;
    case AccessTokenCheck::Verdict::kExpired:
      why = "The access token expired";
      break;
    case AccessTokenCheck::Verdict::kRevoked:
      why = "The access token was revoked";
      break;
    case AccessTokenCheck::Verdict::kUnknown:
      why = "The access token is not valid";
      break;
  }
  return refuse(std::string("Bearer realm=\"") + kRealm +
                    "\", error=\"invalid_token\", error_description=\"" + why + "\"",
                why);
}

void IncidentApi::ListIncidents(const httplib::Request& request, httplib::Response& response) {
  if (!Admit(request, response)) return;
  auto user = Authenticate(request, response);
  if (!user) return;
  bool malformed = false;
  auto limit = CountParameter(request, "sysparm_limit", std::nullopt, &malformed);
  auto offset = CountParameter(request, "sysparm_offset", 0, &malformed);
  if (malformed) {
    return SendJson(response, 400,
                    ServiceNowError("Invalid query parameter",
                                    "sysparm_limit and sysparm_offset must be non-negative "
                                    "integers"));
  }
  size_t total = 0;
  auto incidents = incidents_.List(CallerFilter(*user), *offset, limit, &total);

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  writer.Key("result");
  writer.StartArray();
  for (const auto& incident : incidents) WriteIncident(writer, incident);
  writer.EndArray();
  writer.EndObject();
  response.set_header("X-Total-Count", std::to_string(total));
  SendJson(response, 200, buffer.GetString());
}

void IncidentApi::GetIncident(const httplib::Request& request, httplib::Response& response) {
  if (!Admit(request, response)) return;
  auto user = Authenticate(request, response);
  if (!user) return;
  std::string key = request.matches[1];
  auto incident = incidents_.Find(CallerFilter(*user), key);
  if (!incident) {
    return SendJson(response, 404,
                    ServiceNowError("No Record found",
                                    "Record doesn't exist or ACL restricts the record retrieval"));
  }
  SendJson(response, 200, ResultJson(*incident));
}

void IncidentApi::CreateIncident(const httplib::Request& request, httplib::Response& response) {
  if (!Admit(request, response)) return;
  auto user = Authenticate(request, response);
  if (!user) return;
  auto bad_request = [&](std::string_view detail) {
    SendJson(response, 400, ServiceNowError("Invalid request body", detail));
  };
  if (!HasMediaType(request, "application/json")) {
    return bad_request("the body must be application/json");
  }
  rapidjson::Document body;
  body.Parse(request.body.c_str(), request.body.size());
  if (body.HasParseError() || !body.IsObject())
    return bad_request("the body must be a JSON object");

  // ServiceNow stores every field as a string; so does the sample, echoing what it was sent.
  std::map<std::string, std::string> fields;
  for (const auto& member : body.GetObject()) {
    std::string name = member.name.GetString();
    const auto& value = member.value;
    if (value.IsString()) {
      fields[name] = std::string(value.GetString(), value.GetStringLength());
    } else if (value.IsBool()) {
      fields[name] = value.GetBool() ? "true" : "false";
    } else if (value.IsNumber()) {
      rapidjson::StringBuffer number;
      JsonWriter writer(number);
      value.Accept(writer);
      fields[name] = number.GetString();
    } else if (!value.IsNull()) {
      return bad_request("field '" + name + "' must be a string, number or boolean");
    }
  }
  if (fields["short_description"].empty()) return bad_request("short_description is required");

  Incident incident = incidents_.Create(*user, std::move(fields));
  response.set_header("Location", "/api/now/table/incident/" + incident.sys_id);
  SendJson(response, 201, ResultJson(incident));
}

void IncidentApi::RedirectElsewhere(const httplib::Request& request, httplib::Response& response) {
  if (!Admit(request, response)) return;
  std::string target = request.get_param_value("to");
  if (target.empty() && !other_origin_.empty()) {
    // An origin alone gets the probe path, so the other instance can report what reached it.
    bool has_path = other_origin_.find('/', other_origin_.find("//") + 2) != std::string::npos;
    target = has_path ? other_origin_ : other_origin_ + "/api/record-auth";
  }
  if (target.empty()) {
    return SendJson(response, 404,
                    ServiceNowError("No redirect target",
                                    "start the endpoint with --other-origin or pass ?to=URL"));
  }
  int status = 302;
  if (request.has_param("status")) {
    std::string text = request.get_param_value("status");
    if (text == "301" || text == "302" || text == "303" || text == "307" || text == "308") {
      status = std::stoi(text);
    } else {
      return SendJson(
          response, 400,
          ServiceNowError("Invalid query parameter", "status must be 301, 302, 303, 307 or 308"));
    }
  }
  stats_.Add("redirects_elsewhere");
  response.set_redirect(target, status);
}

void IncidentApi::RecordAuth(const httplib::Request& request, httplib::Response& response) {
  // A probe: counted, but never delayed or failed, and it never looks at the header's value.
  stats_.Add("api_requests");
  stats_.Add("record_auth_requests");
  bool received = request.has_header("Authorization");
  if (received) {
    stats_.Add("api_requests_with_auth");
    stats_.Add("auth_headers_seen_on_record_endpoint");
  }
  SendJson(response, 200,
           std::string("{\"result\":{\"authorization_received\":") + (received ? "true" : "false") +
               "}}");
}

}  // namespace flowline::sample
