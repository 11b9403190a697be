// flowline-sample-endpoint: runs the sample OAuth 2.0 authorization server and incident API on
// loopback until SIGINT or SIGTERM. See README.md beside this file.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <string>

#include "samples/endpoint/sample_endpoint.h"

namespace {

using flowline::sample::EndpointOptions;

// "3600s", "2s", "500ms", "5m", "1h", or bare seconds ("3600").
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& text) {
  static const std::regex kDuration(R"((\d{1,9})(ms|s|m|h)?)");
  std::smatch match;
  if (!std::regex_match(text, match, kDuration)) return std::nullopt;
  long long value = std::stoll(match[1]);
  std::string unit = match[2];
  if (unit == "ms") return std::chrono::milliseconds(value);
  if (unit == "m") return std::chrono::minutes(value);
  if (unit == "h") return std::chrono::hours(value);
  return std::chrono::seconds(value);
}

// "127.0.0.1:8765" or "[::1]:8765" -> host and port.
bool ParseListen(const std::string& text, std::string* host, int* port) {
  static const std::regex kListen(R"((?:\[([0-9A-Fa-f:]+)\]|([0-9.]+)):(\d{1,5}))");
  std::smatch match;
  if (!std::regex_match(text, match, kListen)) return false;
  *host = match[1].matched ? match[1].str() : match[2].str();
  *port = std::stoi(match[3]);
  return *port <= 65535;
}

// Written to a temporary name and renamed, so a script polling for the file never reads half.
bool WritePortFile(const std::string& path, int port) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!(out << port << "\n")) return false;
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  return !error;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "The Flowline sample endpoint: an OAuth 2.0 authorization server (authorization code + "
      "PKCE, refresh token rotation, revocation, client credentials) and a ServiceNow-like "
      "incident API, on loopback, for tests and demos."};
  std::string listen = "127.0.0.1:8765";
  std::string port_file;
  std::string token_lifetime = "3600s";
  std::string clients_file;
  std::string client_id = "flow-basic";
  std::string client_secret;
  std::vector<std::string> redirect_uris;
  bool allow_no_pkce = false;
  std::vector<std::string> users = {"alice", "bob", "carol"};
  EndpointOptions options;
  bool quiet = false;

  app.add_option("--listen", listen, "HOST:PORT on loopback; port 0 picks a free one")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  app.add_option("--token-lifetime", token_lifetime, "access token lifetime (3600s, 2s, 500ms)")
      ->capture_default_str();
  auto* clients_option =
      app.add_option("--clients", clients_file,
                     "JSON file of clients: {\"clients\": [{\"client_id\", \"client_secret\", "
                     "\"redirect_uris\", \"allow_no_pkce\"}]}");
  auto* id_option =
      app.add_option("--client-id", client_id, "the registered client's id")->capture_default_str();
  auto* secret_option = app.add_option(
      "--client-secret", client_secret,
      "its secret (default: $ACME_CLIENT_SECRET, else \"sample-secret\"); prefer the variable, "
      "since arguments are visible to other local users");
  auto* redirect_option =
      app.add_option("--redirect-uri", redirect_uris,
                     "register an exact redirect URI (repeatable); default: any loopback http URL");
  auto* pkce_option = app.add_flag("--allow-no-pkce", allow_no_pkce, "let the client skip PKCE");
  for (auto* option : {id_option, secret_option, redirect_option, pkce_option}) {
    option->excludes(clients_option);
  }
  app.add_option("--users", users, "the users who can sign in")
      ->delimiter(',')
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& user) {
            return std::regex_match(user, std::regex("[A-Za-z0-9_-]{1,64}"))
                       ? std::string()
                       : "user names are letters, digits, '_' and '-'";
          },
          "NAME"));
  app.add_option("--other-origin", options.other_origin,
                 "where /api/redirect-elsewhere points, e.g. http://127.0.0.1:8766")
      ->check([](const std::string& url) {
        return url.rfind("http://", 0) == 0 ? std::string() : "must start with http://";
      });
  app.add_flag("--refresh-omits-new-token", options.refresh_omits_new_token,
               "refresh responses leave out refresh_token; the old one stays valid");
  app.add_option("--threads", options.threads, "server threads (one per open connection)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_flag("--quiet", quiet, "do not log requests");
  CLI11_PARSE(app, argc, argv);

  if (!ParseListen(listen, &options.host, &options.port)) {
    std::cerr << "flowline-sample-endpoint: --listen wants HOST:PORT, e.g. 127.0.0.1:8765\n";
    return 2;
  }
  auto lifetime = ParseDuration(token_lifetime);
  if (!lifetime || lifetime->count() == 0) {
    std::cerr << "flowline-sample-endpoint: --token-lifetime wants a positive duration such as "
                 "3600s, 2s or 500ms\n";
    return 2;
  }
  options.access_token_lifetime = *lifetime;
  options.users = users;
  if (quiet) options.log = [](std::string_view) {};

  if (!clients_file.empty()) {
    std::string error;
    auto clients = flowline::sample::LoadClientsFile(clients_file, &error);
    if (!clients) {
      std::cerr << "flowline-sample-endpoint: " << error << "\n";
      return 2;
    }
    options.clients = std::move(*clients);
  } else {
    if (client_secret.empty()) {
      const char* from_environment = std::getenv("ACME_CLIENT_SECRET");
      client_secret = from_environment ? from_environment : "";
    }
    if (client_secret.empty()) {
      std::cerr << "flowline-sample-endpoint: warning: no --client-secret or $ACME_CLIENT_SECRET; "
                   "using the well-known secret \"sample-secret\"\n";
      client_secret = "sample-secret";
    }
    options.clients = {{client_id, client_secret, redirect_uris, allow_no_pkce}};
  }

  // Handle SIGINT/SIGTERM synchronously with sigwait: blocked here, before any thread starts,
  // so every server thread inherits the mask and only this thread ever receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  flowline::sample::SampleEndpoint endpoint(std::move(options));
  std::string error;
  if (!endpoint.Start(&error)) {
    std::cerr << "flowline-sample-endpoint: " << error << "\n";
    return 1;
  }
  if (!port_file.empty() && !WritePortFile(port_file, endpoint.port())) {
    std::cerr << "flowline-sample-endpoint: cannot write " << port_file << "\n";
    return 1;
  }
  std::cerr << "flowline-sample-endpoint: listening on " << endpoint.origin()
            << " (issuer, incident API and /control)" << std::endl;

  int received = 0;
  sigwait(&signals, &received);
  std::cerr << "flowline-sample-endpoint: stopping" << std::endl;
  endpoint.Stop();
  return 0;
}
