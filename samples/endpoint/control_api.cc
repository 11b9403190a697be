#include "samples/endpoint/control_api.h"

#include <charconv>
#include <functional>

#include "samples/endpoint/responses.h"

namespace flowline::sample {
namespace {

void SendControlError(httplib::Response& response, int status, std::string_view message) {
  SendJson(response, status, "{\"error\":" + JsonString(message) + "}");
}

// An integer parameter in [low, high]; `fallback` when absent; nullopt when malformed.
std::optional<int> IntParameter(const httplib::Request& request, const char* name, int low,
                                int high, std::optional<int> fallback) {
  if (!request.has_param(name)) return fallback;
  std::string text = request.get_param_value(name);
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < low ||
      value > high) {
    return std::nullopt;
  }
  return value;
}

std::optional<Surface> TargetParameter(const httplib::Request& request) {
  return request.has_param("target") ? ParseSurface(request.get_param_value("target"))
                                     : Surface::kApi;
}

}  // namespace

bool IsLoopbackAddress(std::string_view address) {
  return address.substr(0, 4) == "127." || address == "::1" ||
         address.substr(0, 11) == "::ffff:127.";
}

ControlApi::ControlApi(TokenStore& tokens, IncidentStore& incidents, Stats& stats,
                       FaultPlan& faults, OAuthServer& oauth, bool refresh_omits_new_token_default)
    : tokens_(tokens),
      incidents_(incidents),
      stats_(stats),
      faults_(faults),
      oauth_(oauth),
      refresh_omits_new_token_default_(refresh_omits_new_token_default) {}

void ControlApi::Register(httplib::Server& server) {
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  // The control API changes what every client sees and needs no credentials: loopback only.
  auto loopback_only = [](Handler handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      if (!IsLoopbackAddress(req.remote_addr)) {
        return SendControlError(res, 403, "the control API answers loopback clients only");
      }
      handler(req, res);
    };
  };
  server.Get("/control/stats", loopback_only([this](const auto&, auto& res) { GetStats(res); }));
  server.Post("/control/reset",
              loopback_only([this](const auto& req, auto& res) { Reset(req, res); }));
  server.Post("/control/fail",
              loopback_only([this](const auto& req, auto& res) { Fail(req, res); }));
  server.Post("/control/delay",
              loopback_only([this](const auto& req, auto& res) { SetDelay(req, res); }));
  server.Post("/control/expire-tokens",
              loopback_only([this](const auto&, auto& res) { ExpireTokens(res); }));
  server.Post("/control/refresh-omits-new-token", loopback_only([this](const auto& req, auto& res) {
                RefreshOmitsNewToken(req, res);
              }));
}

void ControlApi::GetStats(httplib::Response& response) const {
  SendJson(response, 200,
           stats_.ToJson({{"active_grants", static_cast<int64_t>(tokens_.ActiveGrantCount())}}));
}

void ControlApi::Reset(const httplib::Request& request, httplib::Response& response) {
  bool everything = request.get_param_value("all") == "1";
  stats_.Reset();
  faults_.Reset();
  oauth_.set_refresh_omits_new_token(refresh_omits_new_token_default_);
  if (everything) {
    tokens_.Clear();
    incidents_.Reset();
  }
  SendJson(response, 200,
           std::string("{\"reset\":") + (everything ? "\"all\"" : "\"counters_and_modes\"") + "}");
}

void ControlApi::Fail(const httplib::Request& request, httplib::Response& response) {
  auto count = IntParameter(request, "count", 0, 1'000'000, std::nullopt);
  auto status = IntParameter(request, "status", 400, 599, 503);
  auto target = TargetParameter(request);
  if (!count || !status || !target) {
    return SendControlError(response, 400,
                            "usage: POST /control/fail?count=N[&status=400..599]"
                            "[&retry_after=SECONDS|none][&target=api|token|revoke]");
  }
  InjectedFailure failure{*status, 1};
  if (request.has_param("retry_after")) {
    std::string text = request.get_param_value("retry_after");
    if (text == "none" || text.empty()) {
      failure.retry_after_seconds.reset();
    } else if (auto seconds = IntParameter(request, "retry_after", 0, 86400, std::nullopt)) {
      failure.retry_after_seconds = *seconds;
    } else {
      return SendControlError(response, 400, "retry_after must be 0..86400 seconds or none");
    }
  }
  faults_.FailNext(*target, *count, failure);
  SendJson(response, 200,
           "{\"target\":" +
               JsonString(request.get_param_value("target").empty()
                              ? "api"
                              : request.get_param_value("target")) +
               ",\"count\":" + std::to_string(*count) + ",\"status\":" + std::to_string(*status) +
               "}");
}

void ControlApi::SetDelay(const httplib::Request& request, httplib::Response& response) {
  auto ms = IntParameter(request, "ms", 0, 600'000, std::nullopt);
  auto target = TargetParameter(request);
  if (!ms || !target) {
    return SendControlError(response, 400,
                            "usage: POST /control/delay?ms=0..600000[&target=api|token|revoke]");
  }
  faults_.SetDelay(*target, std::chrono::milliseconds(*ms));
  SendJson(response, 200, "{\"delay_ms\":" + std::to_string(*ms) + "}");
}

void ControlApi::ExpireTokens(httplib::Response& response) {
  tokens_.ExpireAccessTokens();
  SendJson(response, 200, "{\"expired\":true}");
}

void ControlApi::RefreshOmitsNewToken(const httplib::Request& request,
                                      httplib::Response& response) {
  std::string on = request.get_param_value("on");
  if (on != "1" && on != "0" && on != "true" && on != "false") {
    return SendControlError(response, 400, "usage: POST /control/refresh-omits-new-token?on=1|0");
  }
  bool enabled = on == "1" || on == "true";
  oauth_.set_refresh_omits_new_token(enabled);
  SendJson(response, 200,
           std::string("{\"refresh_omits_new_token\":") + (enabled ? "true" : "false") + "}");
}

}  // namespace flowline::sample
