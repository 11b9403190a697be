#include "samples/endpoint/responses.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>

#include "samples/endpoint/url_codec.h"

namespace flowline::sample {

void SendJson(httplib::Response& response, int status, std::string json) {
  response.status = status;
  response.set_content(std::move(json), "application/json");
}

void SendHtml(httplib::Response& response, int status, std::string_view title,
              std::string_view body_html) {
  response.status = status;
  std::string page = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" +
                     HtmlEscape(title) + "</title></head>\n<body>\n<h1>" + HtmlEscape(title) +
                     "</h1>\n" + std::string(body_html) + "\n</body></html>\n";
  response.set_content(page, "text/html; charset=utf-8");
}

void SendOAuthError(httplib::Response& response, const OAuthError& error) {
  response.set_header("Cache-Control", "no-store");
  response.set_header("Pragma", "no-cache");
  if (error.http_status == 401) response.set_header("WWW-Authenticate", "Basic realm=\"sample\"");
  SendJson(response, error.http_status,
           "{\"error\":" + JsonString(error.code) +
               ",\"error_description\":" + JsonString(error.description) + "}");
}

void SendInjectedFailure(httplib::Response& response, const InjectedFailure& failure,
                         std::string json_body) {
  if (failure.retry_after_seconds) {
    response.set_header("Retry-After", std::to_string(*failure.retry_after_seconds));
  }
  SendJson(response, failure.status, std::move(json_body));
}

bool HasMediaType(const httplib::Request& request, std::string_view media_type) {
  std::string value = request.get_header_value("Content-Type");
  value = value.substr(0, value.find(';'));
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  return value.size() == media_type.size() &&
         std::equal(value.begin(), value.end(), media_type.begin(),
                    [](char a, char b) { return std::tolower(a) == std::tolower(b); });
}

std::string JsonString(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return buffer.GetString();
}

}  // namespace flowline::sample
