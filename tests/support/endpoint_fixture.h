// Helpers for end-to-end tests against the sample endpoint (samples/endpoint/): start it on a
// free loopback port, copy samples/personal-incidents pointed at it, log users in the way a
// client does (authorization code + PKCE S256), read /control/stats, and run the `flowline`
// program as a child process with its own environment.
//
// Header-only on purpose: flowline_test_support does not link flowline_sample_endpoint_lib;
// only the tests that include this header do (samples/endpoint/CMakeLists.txt).
#pragma once

#include <signal.h>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <rapidjson/document.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "samples/endpoint/crypto.h"
#include "samples/endpoint/sample_endpoint.h"
#include "samples/endpoint/url_codec.h"

extern char** environ;

namespace flowline::e2e {

inline constexpr char kClientId[] = "flow-basic";
inline constexpr char kClientSecret[] = "sample-secret";
inline constexpr char kCredential[] = "global.acme_personal";  // the vault keys on full names
inline constexpr char kVaultKey[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
inline constexpr char kRedirect[] = "http://127.0.0.1/callback";

inline std::string MakeTempDir(const std::string& tag) {
  std::string pattern = (std::filesystem::temp_directory_path() / ("flowline-" + tag + "-XXXXXX")).string();
  char* made = ::mkdtemp(pattern.data());
  if (!made) throw std::runtime_error("mkdtemp failed");
  return made;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

inline void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size())
    text.replace(at, from.size(), to);
}

// Copies samples/personal-incidents to `dest` with "127.0.0.1:8765" replaced by `hostport`.
inline void CopySampleDefs(const std::string& dest, const std::string& hostport) {
  std::filesystem::create_directories(dest);
  std::string source = std::string(FLOWLINE_SOURCE_DIR) + "/samples/personal-incidents";
  for (const auto& entry : std::filesystem::directory_iterator(source)) {
    if (entry.path().extension() != ".yaml") continue;
    std::string text = ReadFile(entry.path().string());
    ReplaceAll(text, "127.0.0.1:8765", hostport);
    WriteFile(dest + "/" + entry.path().filename().string(), text);
  }
}

struct Tokens {
  std::string access_token;
  std::string refresh_token;
  int64_t expires_in = 0;
  std::string scope;
};

inline std::string BasicAuth() {
  return "Basic " + sample::Base64Encode(sample::PercentEncode(kClientId) + ":" +
                                         sample::PercentEncode(kClientSecret));
}

// A sample endpoint on a free loopback port, quiet, and a client for it.
class Endpoint {
 public:
  explicit Endpoint(sample::EndpointOptions options = {}) {
    options.log = [](std::string_view) {};
    endpoint_ = std::make_unique<sample::SampleEndpoint>(std::move(options));
    std::string error;
    started_ = endpoint_->Start(&error);
    EXPECT_TRUE(started_) << error;
    client_ = std::make_unique<httplib::Client>(endpoint_->origin());
    client_->set_url_encode(false);
  }

  bool started() const { return started_; }
  std::string origin() const { return endpoint_->origin(); }
  std::string hostport() const { return "127.0.0.1:" + std::to_string(endpoint_->port()); }
  int port() const { return endpoint_->port(); }
  httplib::Client& client() { return *client_; }

  // The authorization code flow with PKCE S256, as a client does it.
  Tokens Login(const std::string& user) {
    std::string verifier = sample::RandomOpaqueValue();
    std::string path = "/oauth/authorize";
    sample::AppendQueryParameter(path, "response_type", "code");
    sample::AppendQueryParameter(path, "client_id", kClientId);
    sample::AppendQueryParameter(path, "redirect_uri", kRedirect);
    sample::AppendQueryParameter(path, "scope", "openid offline_access incidents.read");
    sample::AppendQueryParameter(path, "state", "st-" + user);
    sample::AppendQueryParameter(path, "code_challenge", sample::S256Challenge(verifier));
    sample::AppendQueryParameter(path, "code_challenge_method", "S256");
    sample::AppendQueryParameter(path, "login_hint", user);
    auto authorized = client().Get(path.c_str());
    Tokens tokens;
    EXPECT_TRUE(authorized);
    if (!authorized) return tokens;
    EXPECT_EQ(authorized->status, 302) << authorized->body;
    std::string location = authorized->get_header_value("Location");
    size_t question = location.find('?');
    EXPECT_NE(question, std::string::npos) << location;
    if (question == std::string::npos) return tokens;
    // Codes are base64url: httplib's decoding of Location cannot change them.
    auto query = sample::ParseForm(location.substr(question + 1));
    std::string code = query.Get("code");
    EXPECT_FALSE(code.empty()) << location;
    std::string body = "grant_type=authorization_code&code=" + sample::PercentEncode(code) +
                       "&redirect_uri=" + sample::PercentEncode(kRedirect) +
                       "&code_verifier=" + sample::PercentEncode(verifier);
    auto issued = client().Post("/oauth/token", {{"Authorization", BasicAuth()}}, body,
                                "application/x-www-form-urlencoded");
    EXPECT_TRUE(issued);
    if (!issued) return tokens;
    EXPECT_EQ(issued->status, 200) << issued->body;
    rapidjson::Document json;
    json.Parse(issued->body.c_str());
    if (json.HasParseError() || !json.IsObject()) {
      ADD_FAILURE() << issued->body;
      return tokens;
    }
    tokens.access_token = json["access_token"].GetString();
    if (json.HasMember("refresh_token")) tokens.refresh_token = json["refresh_token"].GetString();
    tokens.expires_in = json["expires_in"].GetInt64();
    if (json.HasMember("scope")) tokens.scope = json["scope"].GetString();
    return tokens;
  }

  // POST /oauth/revoke with client authentication.
  int Revoke(const std::string& token) {
    auto response = client().Post("/oauth/revoke", {{"Authorization", BasicAuth()}},
                                  "token=" + sample::PercentEncode(token),
                                  "application/x-www-form-urlencoded");
    return response ? response->status : -1;
  }

  // POST to the control API (path with query), e.g. "/control/reset".
  void Control(const std::string& path) {
    auto response = client().Post(path.c_str());
    ASSERT_TRUE(response) << path;
    ASSERT_EQ(response->status, 200) << path << ": " << response->body;
  }

  // A counter from /control/stats: "api_requests", or "token_requests.total".
  int64_t Stat(const std::string& name) {
    auto response = client().Get("/control/stats");
    EXPECT_TRUE(response);
    if (!response) return -1;
    rapidjson::Document json;
    json.Parse(response->body.c_str());
    const rapidjson::Value* value = &json;
    std::string rest = name;
    while (true) {
      size_t dot = rest.find('.');
      std::string part = rest.substr(0, dot);
      if (!value->IsObject() || !value->HasMember(part.c_str())) {
        ADD_FAILURE() << "no stat " << name << " in " << response->body;
        return -1;
      }
      value = &(*value)[part.c_str()];
      if (dot == std::string::npos) break;
      rest = rest.substr(dot + 1);
    }
    return value->IsInt64() ? value->GetInt64() : -1;
  }

  std::string StatsText() {
    auto response = client().Get("/control/stats");
    return response ? response->body : "";
  }

 private:
  std::unique_ptr<sample::SampleEndpoint> endpoint_;
  std::unique_ptr<httplib::Client> client_;
  bool started_ = false;
};

struct ChildResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A `flowline` child process writing its stdout and stderr to files.
class FlowlineChild {
 public:
  FlowlineChild(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                const std::string& scratch_dir) {
    static int counter = 0;
    std::string stem = scratch_dir + "/child-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    out_path_ = stem + ".out";
    err_path_ = stem + ".err";
    std::vector<std::string> argv_storage = {FLOWLINE_BINARY};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::map<std::string, std::string> merged;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      size_t eq = entry.find('=');
      if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
    for (const auto& [name, value] : env) merged[name] = value;
    std::vector<std::string> env_storage;
    for (const auto& [name, value] : merged) env_storage.push_back(name + "=" + value);
    std::vector<char*> argv, envp;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot spawn " << argv[0];
      pid_ = -1;
    }
  }

  ChildResult Wait() {
    ChildResult result;
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
    }
    result.out = ReadFile(out_path_);
    result.err = ReadFile(err_path_);
    return result;
  }

  ~FlowlineChild() {
    if (pid_ > 0) Wait();
  }

  void Kill(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
  }

 private:
  pid_t pid_ = -1;
  std::string out_path_;
  std::string err_path_;
};

inline ChildResult RunFlowline(const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env,
                               const std::string& scratch_dir) {
  return FlowlineChild(args, env, scratch_dir).Wait();
}

}  // namespace flowline::e2e
