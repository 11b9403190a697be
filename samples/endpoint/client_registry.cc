#include "samples/endpoint/client_registry.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "samples/endpoint/crypto.h"

namespace flowline::sample {
namespace {

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

bool ReadClient(const rapidjson::Value& value, OAuthClient* client, std::string* error) {
  if (!value.IsObject() || !value.HasMember("client_id") || !value["client_id"].IsString() ||
      !value.HasMember("client_secret") || !value["client_secret"].IsString()) {
    *error = "each client needs string fields client_id and client_secret";
    return false;
  }
  client->id = value["client_id"].GetString();
  client->secret = value["client_secret"].GetString();
  if (value.HasMember("redirect_uris")) {
    if (!value["redirect_uris"].IsArray()) {
      *error = "redirect_uris must be an array of strings";
      return false;
    }
    for (const auto& uri : value["redirect_uris"].GetArray()) {
      if (!uri.IsString()) {
        *error = "redirect_uris must be an array of strings";
        return false;
      }
      client->redirect_uris.emplace_back(uri.GetString());
    }
  }
  if (value.HasMember("allow_no_pkce")) {
    if (!value["allow_no_pkce"].IsBool()) {
      *error = "allow_no_pkce must be true or false";
      return false;
    }
    client->allow_no_pkce = value["allow_no_pkce"].GetBool();
  }
  return true;
}

}  // namespace

std::optional<std::vector<OAuthClient>> LoadClientsFile(const std::string& path,
                                                        std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path;
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document document;
  document.Parse(text.str().c_str());
  if (document.HasParseError()) {
    *error = path + " is not valid JSON";
    return std::nullopt;
  }
  const rapidjson::Value* list = &document;
  if (document.IsObject() && document.HasMember("clients")) list = &document["clients"];
  if (!list->IsArray()) {
    *error = path + ": expected {\"clients\": [...]} or an array of clients";
    return std::nullopt;
  }
  std::vector<OAuthClient> clients;
  for (const auto& value : list->GetArray()) {
    OAuthClient client;
    if (!ReadClient(value, &client, error)) {
      *error = path + ": " + *error;
      return std::nullopt;
    }
    clients.push_back(std::move(client));
  }
  return clients;
}

std::optional<std::string> LoopbackUriWithoutPort(std::string_view uri) {
  constexpr std::string_view kScheme = "http://";
  if (uri.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  for (char c : uri) {
    if (c == '#' || c == '\\' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return std::nullopt;
    }
  }
  std::string_view rest = uri.substr(kScheme.size());
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path_and_query =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  std::string_view host;
  std::string_view port;
  if (authority.substr(0, 5) == "[::1]") {
    host = authority.substr(0, 5);
    port = authority.substr(5);
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    port = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (host != "127.0.0.1" && host != "[::1]") return std::nullopt;
  if (!port.empty()) {
    std::string_view digits = port.substr(1);
    if (port[0] != ':' || digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(std::string(digits)) > 65535) {
      return std::nullopt;
    }
  }
  return std::string(kScheme) + std::string(host) + std::string(path_and_query);
}

ClientRegistry::ClientRegistry(std::vector<OAuthClient> clients) : clients_(std::move(clients)) {}

const OAuthClient* ClientRegistry::Find(std::string_view client_id) const {
  for (const auto& client : clients_) {
    if (client.id == client_id) return &client;
  }
  return nullptr;
}

bool ClientRegistry::AcceptsRedirect(const OAuthClient& client,
                                     std::string_view redirect_uri) const {
  auto loopback = LoopbackUriWithoutPort(redirect_uri);
  if (client.redirect_uris.empty()) return loopback.has_value();
  for (const auto& registered : client.redirect_uris) {
    if (registered == redirect_uri) return true;
    if (loopback && LoopbackUriWithoutPort(registered) == loopback) return true;
  }
  return false;
}

std::variant<const OAuthClient*, OAuthError> ClientRegistry::Authenticate(
    std::string_view authorization_header, const ParsedForm& body) const {
  std::string client_id;
  std::string secret;
  if (StartsWithIgnoringCase(authorization_header, "Basic ")) {
    if (body.Has("client_secret")) {
      return OAuthError::InvalidClient(
          "the client authenticated with both HTTP Basic and client_secret; use one method");
    }
    auto decoded = Base64Decode(authorization_header.substr(6));
    size_t colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      return OAuthError::InvalidClient("malformed HTTP Basic credentials");
    }
    // RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64.
    auto id = FormUrlDecode(std::string_view(*decoded).substr(0, colon));
    auto password = FormUrlDecode(std::string_view(*decoded).substr(colon + 1));
    if (!id || !password) return OAuthError::InvalidClient("malformed HTTP Basic credentials");
    client_id = *id;
    secret = *password;
    if (body.Has("client_id") && body.Get("client_id") != client_id) {
      return OAuthError::InvalidClient("client_id in the body differs from the authenticated one");
    }
  } else {
    if (!body.Has("client_id") || !body.Has("client_secret")) {
      return OAuthError::InvalidClient(
          "client authentication required: HTTP Basic or client_id and client_secret");
    }
    client_id = body.Get("client_id");
    secret = body.Get("client_secret");
  }
  const OAuthClient* client = Find(client_id);
  // Compare against a dummy secret for unknown ids so timing does not reveal which ids exist.
  bool secret_matches = SecretsEqual(secret, client ? client->secret : std::string("\x01"));
  if (client == nullptr || !secret_matches) {
    return OAuthError::InvalidClient("client authentication failed");
  }
  return client;
}

}  // namespace flowline::sample
