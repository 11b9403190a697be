// `flowline token login | refresh | revoke | list` as a user runs them, against the sample
// endpoint on loopback. The test plays the browser: it reads the authorization URL from the
// first line of login's stdout, asks the endpoint to sign a user in (login_hint, consent),
// takes the 302's Location without following it, and delivers it — as is, or tampered with —
// to the listener of the `flowline` child. Every test also checks that no token, code or
// client secret appears in anything any `flowline` process printed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "runtime/vault/token_vault.h"
#include "support/endpoint_fixture.h"

namespace flowline {
namespace {

using namespace std::chrono_literals;
using e2e::ChildResult;
using e2e::Endpoint;

constexpr char kSubflow[] = "global.getpersonalincidentssubflow";

struct HttpReply {
  int status = -1;  // -1: no answer (connection refused, timeout)
  std::string location;
  std::string body;
};

// `url` with the bytes a browser percent-encodes before sending it (space, quotes, non-ASCII…).
// httplib hands Location headers over decoded, so a redirect's error_description arrives with
// raw spaces.
std::string BrowserEncode(const std::string& url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("\"<>\\^`{|}").find(static_cast<char>(c)) != std::string_view::npos) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0x0F];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// GET an absolute http URL as a browser would, without following redirects.
HttpReply BrowserGet(const std::string& raw_url, time_t timeout_seconds = 10) {
  std::string url = BrowserEncode(raw_url);
  size_t authority = url.find("//");
  size_t path_start = url.find('/', authority == std::string::npos ? 0 : authority + 2);
  std::string origin = url.substr(0, path_start);
  std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(origin);
  client.set_url_encode(false);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(timeout_seconds, 0);
  HttpReply reply;
  auto response = client.Get(path.c_str());
  if (!response) return reply;
  reply.status = response->status;
  reply.location = response->get_header_value("Location");
  reply.body = response->body;
  return reply;
}

// The raw (still encoded) value of query parameter `name` in `url`, or nullopt.
std::optional<std::string> RawParam(const std::string& url, const std::string& name) {
  size_t question = url.find('?');
  if (question == std::string::npos) return std::nullopt;
  std::string query = "&" + url.substr(question + 1);
  size_t at = query.find("&" + name + "=");
  if (at == std::string::npos) return std::nullopt;
  size_t start = at + name.size() + 2;
  size_t end = query.find('&', start);
  return query.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// The decoded value of query parameter `name`, or "".
std::string Param(const std::string& url, const std::string& name) {
  auto raw = RawParam(url, name);
  if (!raw) return "";
  auto decoded = sample::FormUrlDecode(*raw);
  return decoded ? *decoded : "";
}

// `url` with query parameter `name` set to the raw (already encoded) `value`.
std::string WithParam(const std::string& url, const std::string& name, const std::string& value) {
  auto raw = RawParam(url, name);
  if (!raw) return url + (url.find('?') == std::string::npos ? "?" : "&") + name + "=" + value;
  size_t question = url.find('?');
  for (const std::string prefix : {"?", "&"}) {
    std::string needle = prefix + name + "=" + *raw;
    size_t at = url.find(needle, question);
    if (at != std::string::npos) {
      std::string out = url;
      out.replace(at, needle.size(), prefix + name + "=" + value);
      return out;
    }
  }
  return url;
}

// `url` without query parameter `name`.
std::string WithoutParam(const std::string& url, const std::string& name) {
  auto raw = RawParam(url, name);
  if (!raw) return url;
  std::string out = url;
  size_t question = url.find('?');
  std::string pair = name + "=" + *raw;
  if (size_t at = out.find("&" + pair, question); at != std::string::npos) {
    out.erase(at, pair.size() + 1);
  } else if (size_t first = out.find("?" + pair + "&"); first != std::string::npos) {
    out.erase(first + 1, pair.size() + 1);
  } else {
    out.erase(question);
  }
  return out;
}

// The port of the redirect URI that a login's authorization URL names.
int RedirectPort(const std::string& authorization_url) {
  std::string redirect = Param(authorization_url, "redirect_uri");
  size_t colon = redirect.find(':', redirect.find("//") + 2);
  if (colon == std::string::npos) return -1;
  return std::atoi(redirect.c_str() + colon + 1);
}

// A port that was free a moment ago.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t size = sizeof address;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

// A `flowline` child left running while the test plays the browser. Its stdout goes to the
// only *.out file of a directory of its own, so the first line can be read while it runs.
// A child still running when this goes away (a failed assertion) is killed.
class BackgroundFlowline {
 public:
  BackgroundFlowline(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env, const std::string& dir)
      : dir_(dir) {
    std::filesystem::create_directories(dir_);
    child_ = std::make_unique<e2e::FlowlineChild>(args, env, dir_);
  }
  ~BackgroundFlowline() {
    if (!finished_) {
      child_->Kill(SIGKILL);
      child_->Wait();
    }
  }

  // The first line of stdout (without the newline), or "" when none came in time.
  std::string FirstLine(std::chrono::milliseconds limit = 15s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        if (entry.path().extension() != ".out") continue;
        std::string text = e2e::ReadFile(entry.path().string());
        size_t newline = text.find('\n');
        if (newline != std::string::npos) return text.substr(0, newline);
      }
      std::this_thread::sleep_for(20ms);
    }
    return "";
  }

  void Signal(int signal) { child_->Kill(signal); }

  ChildResult Finish() {
    finished_ = true;
    return child_->Wait();
  }

 private:
  std::string dir_;
  std::unique_ptr<e2e::FlowlineChild> child_;
  bool finished_ = false;
};

class CliTokenLoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The children and this test read the vault key from $FLOWLINE_HOME/vault.key.
    ::unsetenv("FLOWLINE_VAULT_KEY");
    root_ = e2e::MakeTempDir("cli-token-login");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
    StartEndpoint();
    secrets_.insert(e2e::kClientSecret);
  }

  void TearDown() override {
    RememberStoredTokens();
    RecordProperty("secrets_checked", static_cast<int>(secrets_.size()));
    for (const std::string& secret : secrets_) {
      if (secret.empty()) continue;
      EXPECT_EQ(outputs_.find(secret), std::string::npos)
          << "a secret (" << secret.size() << " characters, starting '" << secret.substr(0, 4)
          << "') appears in the output of flowline:\n"
          << outputs_;
    }
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  void StartEndpoint(sample::EndpointOptions options = {}) {
    endpoint_.reset();
    endpoint_ = std::make_unique<Endpoint>(std::move(options));
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
  }

  std::map<std::string, std::string> Env(
      const std::map<std::string, std::string>& extra = {}) const {
    std::map<std::string, std::string> env = {
        {"FLOWLINE_HOME", home_}, {"ACME_CLIENT_SECRET", e2e::kClientSecret}, {"NO_COLOR", "1"}};
    for (const auto& [name, value] : extra) env[name] = value;
    return env;
  }

  ChildResult Record(ChildResult result) {
    outputs_ += result.out + "\n" + result.err + "\n";
    return result;
  }

  ChildResult Flowline(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& extra_env = {}) {
    return Record(e2e::RunFlowline(args, Env(extra_env), root_));
  }

  std::unique_ptr<BackgroundFlowline> StartLogin(
      const std::string& user, std::vector<std::string> more = {},
      const std::map<std::string, std::string>& extra_env = {}) {
    std::vector<std::string> args = {"token", "login", "acme_personal", "--user",
                                     user,    "-d",    defs_,           "--no-browser"};
    // Not the default 5 minutes: a test that fails before the reply should not hang.
    if (std::find(more.begin(), more.end(), "--timeout") == more.end())
      more.insert(more.end(), {"--timeout", "30s"});
    args.insert(args.end(), more.begin(), more.end());
    return std::make_unique<BackgroundFlowline>(args, Env(extra_env),
                                                root_ + "/bg-" + std::to_string(background_++));
  }

  // The endpoint signs `user` in for `authorization_url`; returns its redirect (the 302's
  // Location), or "" after a failed expectation.
  std::string Authorize(const std::string& authorization_url, const std::string& user,
                        const std::string& consent = "approve") {
    HttpReply reply = BrowserGet(authorization_url + "&login_hint=" + user + "&consent=" + consent);
    EXPECT_EQ(reply.status, 302) << reply.body;
    EXPECT_FALSE(reply.location.empty());
    if (std::string code = Param(reply.location, "code"); !code.empty()) secrets_.insert(code);
    return reply.location;
  }

  struct Login {
    ChildResult result;
    std::string url;     // the authorization URL flowline printed
    std::string code;    // the code the endpoint issued
    HttpReply callback;  // what flowline's listener answered the browser
  };

  // A whole login driven from the test: start, sign `user` in, deliver the reply.
  Login LogIn(const std::string& user, std::vector<std::string> more = {},
              const std::map<std::string, std::string>& extra_env = {},
              const std::string& consent = "approve") {
    Login login;
    auto child = StartLogin(user, std::move(more), extra_env);
    login.url = child->FirstLine();
    EXPECT_FALSE(login.url.empty()) << "no URL on stdout";
    if (!login.url.empty()) {
      std::string location = Authorize(login.url, user, consent);
      login.code = Param(location, "code");
      if (!location.empty()) login.callback = BrowserGet(location);
    }
    login.result = Record(child->Finish());
    RememberStoredTokens();
    return login;
  }

  std::optional<StoredToken> Stored(const std::string& user) {
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    EXPECT_TRUE(vault.ok()) << vault.status().message();
    if (!vault.ok()) return std::nullopt;
    auto token = (*vault)->get(e2e::kCredential, user);
    EXPECT_TRUE(token.ok()) << token.status().message();
    if (!token.ok()) return std::nullopt;
    return *token;
  }

  size_t StoredCount() {
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    EXPECT_TRUE(vault.ok()) << vault.status().message();
    if (!vault.ok()) return 0;
    auto all = (*vault)->list();
    return all.ok() ? all->size() : 0;
  }

  // Every token in the vault joins the secrets no output may show.
  void RememberStoredTokens() {
    if (!std::filesystem::exists(home_ + "/flowline.db")) return;
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    if (!vault.ok()) return;
    auto all = (*vault)->list();
    if (!all.ok()) return;
    for (const TokenInfo& info : *all) {
      auto token = (*vault)->get(info.credential, info.user);
      if (token.ok() && *token) {
        secrets_.insert((*token)->access_token);
        secrets_.insert((*token)->refresh_token);
      }
    }
  }

  std::vector<std::string> RunArgs(const std::string& user) {
    return {"run", kSubflow, "--user", user, "-d", defs_, "--output", "json"};
  }

  // The incident numbers a run as `user` returns.
  std::vector<std::string> IncidentsOf(const std::string& user) {
    ChildResult run = Flowline(RunArgs(user));
    EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
    rapidjson::Document json;
    json.Parse(run.out.c_str());
    std::vector<std::string> numbers;
    if (json.HasParseError() || !json.IsObject() || !json.HasMember("outputs")) {
      ADD_FAILURE() << run.out;
      return numbers;
    }
    for (const auto& incident : json["outputs"]["incidents"].GetArray())
      numbers.push_back(incident["number"].GetString());
    return numbers;
  }

  // Drops the profile's lines that start with one of `keys` (e.g. "issuer:") and appends `more`.
  void RewriteProfile(const std::vector<std::string>& keys, const std::string& more) {
    std::string path = defs_ + "/oauth_profile.yaml";
    std::istringstream lines(e2e::ReadFile(path));
    std::string kept;
    for (std::string line; std::getline(lines, line);) {
      bool drop = false;
      for (const std::string& key : keys) drop = drop || line.starts_with(key);
      if (!drop) kept += line + "\n";
    }
    e2e::WriteFile(path, kept + more);
  }

  void EditProfile(const std::string& from, const std::string& to) {
    std::string path = defs_ + "/oauth_profile.yaml";
    std::string text = e2e::ReadFile(path);
    ASSERT_NE(text.find(from), std::string::npos) << from << " not in\n" << text;
    e2e::ReplaceAll(text, from, to);
    e2e::WriteFile(path, text);
  }

  static void ExpectLoggedIn(const Login& login, const std::string& user) {
    EXPECT_EQ(login.result.exit_code, 0) << login.result.out << login.result.err;
    EXPECT_NE(login.result.out.find("logged in: stored the token of user '" + user +
                                    "' for credential 'global.acme_personal' (expires in "),
              std::string::npos)
        << login.result.out;
    EXPECT_NE(
        login.result.out.find("scopes: openid offline_access incidents.read; refresh token: yes"),
        std::string::npos)
        << login.result.out;
    EXPECT_EQ(login.callback.status, 200) << login.callback.body;
    EXPECT_NE(login.callback.body.find("Logged in"), std::string::npos) << login.callback.body;
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
  std::string outputs_;            // everything every flowline process printed
  std::set<std::string> secrets_;  // values none of it may contain
  int background_ = 0;
};

TEST_F(CliTokenLoginTest, TwoUsersLogInAndEachRunSeesTheirOwnIncidents) {
  Login alice = LogIn("alice");
  ExpectLoggedIn(alice, "alice");
  // The URL is the first line of stdout, a PKCE S256 authorization request to the endpoint.
  EXPECT_EQ(alice.url.rfind(endpoint_->origin() + "/oauth/authorize?", 0), 0u) << alice.url;
  EXPECT_EQ(Param(alice.url, "client_id"), "flow-basic");
  EXPECT_EQ(Param(alice.url, "response_type"), "code");
  EXPECT_EQ(Param(alice.url, "code_challenge_method"), "S256");
  EXPECT_EQ(Param(alice.url, "code_challenge").size(), 43u) << alice.url;
  EXPECT_FALSE(Param(alice.url, "state").empty());
  EXPECT_EQ(Param(alice.url, "scope"), "openid offline_access incidents.read");
  EXPECT_EQ(Param(alice.url, "redirect_uri").rfind("http://127.0.0.1:", 0), 0u) << alice.url;
  EXPECT_TRUE(Param(alice.url, "redirect_uri").ends_with("/callback")) << alice.url;
  EXPECT_NE(alice.result.err.find("open this URL"), std::string::npos) << alice.result.err;

  Login bob = LogIn("bob");
  ExpectLoggedIn(bob, "bob");
  EXPECT_NE(Param(alice.url, "state"), Param(bob.url, "state"));

  auto alice_token = Stored("alice");
  auto bob_token = Stored("bob");
  ASSERT_TRUE(alice_token && bob_token);
  EXPECT_NE(alice_token->access_token, bob_token->access_token);
  EXPECT_FALSE(alice_token->refresh_token.empty());
  EXPECT_EQ(alice_token->scope, "openid offline_access incidents.read");

  EXPECT_EQ(IncidentsOf("alice"),
            (std::vector<std::string>{"INC0010001", "INC0010002", "INC0010003"}));
  EXPECT_EQ(IncidentsOf("bob"), (std::vector<std::string>{"INC0020001", "INC0020002"}));
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 1);
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.bob"), 1);
  EXPECT_EQ(endpoint_->Stat("token_requests.authorization_code"), 2);

  // `token list`: state, expiry and scopes, no token values.
  ChildResult list = Flowline({"token", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  for (const char* want : {"USER", "STATE", "EXPIRES", "SCOPES", "alice", "bob",
                           "global.acme_personal", "valid", "openid offline_access incidents.read"})
    EXPECT_NE(list.out.find(want), std::string::npos) << want << " not in\n" << list.out;
  EXPECT_NE(list.out.find("59m"), std::string::npos) << list.out;  // an hour's token, just issued
  ChildResult json_list = Flowline({"token", "list", "--output", "json"});
  ASSERT_EQ(json_list.exit_code, 0) << json_list.err;
  rapidjson::Document rows;
  rows.Parse(json_list.out.c_str());
  ASSERT_TRUE(!rows.HasParseError() && rows.IsArray()) << json_list.out;
  ASSERT_EQ(rows.Size(), 2u) << json_list.out;
  EXPECT_NE(json_list.out.find("\"alice\""), std::string::npos) << json_list.out;
  EXPECT_NE(json_list.out.find("incidents.read"), std::string::npos) << json_list.out;
  EXPECT_NE(json_list.out.find("valid"), std::string::npos) << json_list.out;
}

// A reply with another state is refused without ending the login: a stale tab or a forged
// request must not be able to cancel it. The genuine reply still completes it.
TEST_F(CliTokenLoginTest, ReplyWithAnotherStateIsRefusedAndTheLoginGoesOn) {
  auto child = StartLogin("alice");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "alice");
  ASSERT_FALSE(Param(location, "state").empty());
  HttpReply forged = BrowserGet(WithParam(location, "state", "forged-state-value"));
  EXPECT_EQ(forged.status, 400) << forged.body;
  EXPECT_NE(forged.body.find("Not this login"), std::string::npos) << forged.body;
  EXPECT_NE(forged.body.find("does not carry the state of the login in progress"), std::string::npos)
      << forged.body;
  EXPECT_NE(forged.body.find("The login goes on"), std::string::npos) << forged.body;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);  // the forged code was never presented

  HttpReply genuine = BrowserGet(location);
  ChildResult result = Record(child->Finish());
  RememberStoredTokens();
  EXPECT_EQ(genuine.status, 200) << genuine.body;
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.err.find("ignored a reply that does not carry this login's state"),
            std::string::npos)
      << result.err;
  EXPECT_NE(result.out.find("logged in"), std::string::npos) << result.out;
  EXPECT_EQ(StoredCount(), 1u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1);
}

TEST_F(CliTokenLoginTest, ReplyWithAnotherStateAloneStoresNothing) {
  auto child = StartLogin("alice", {"--timeout", "2s"});
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "alice");
  HttpReply forged = BrowserGet(WithParam(location, "state", "forged-state-value"));
  EXPECT_EQ(forged.status, 400) << forged.body;
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("nothing was stored"), std::string::npos) << result.err;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
}

TEST_F(CliTokenLoginTest, ReplayedCodeIsRefusedAndNothingNewIsStored) {
  Login first = LogIn("alice");
  ExpectLoggedIn(first, "alice");
  ASSERT_FALSE(first.code.empty());
  auto stored = Stored("alice");
  ASSERT_TRUE(stored);

  // A second login receives the first login's code, carrying the second login's state.
  auto child = StartLogin("alice");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string callback_url = Param(url, "redirect_uri") +
                             "?code=" + sample::PercentEncode(first.code) +
                             "&state=" + sample::PercentEncode(Param(url, "state")) +
                             "&iss=" + sample::PercentEncode(endpoint_->origin());
  HttpReply callback = BrowserGet(callback_url);
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("invalid_grant"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("Log in again"), std::string::npos) << result.err;
  EXPECT_EQ(callback.status, 400) << callback.body;
  EXPECT_NE(callback.body.find("Login failed"), std::string::npos) << callback.body;
  EXPECT_EQ(endpoint_->Stat("token_requests.authorization_code"), 2);

  auto after = Stored("alice");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->access_token, stored->access_token);
  EXPECT_EQ(after->version, stored->version);
  EXPECT_EQ(StoredCount(), 1u);
}

TEST_F(CliTokenLoginTest, ReplyFromAnotherIssuerIsRefused) {
  auto child = StartLogin("alice");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "alice");
  ASSERT_EQ(Param(location, "iss"), endpoint_->origin()) << location;
  HttpReply callback =
      BrowserGet(WithParam(location, "iss", sample::PercentEncode("https://attacker.example")));
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("issuer"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("RFC 9207"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("https://attacker.example"), std::string::npos) << result.err;
  EXPECT_EQ(callback.status, 400) << callback.body;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
}

// The issuer's metadata promises iss in every reply (RFC 9207 §3), so a reply without one
// may be a mix-up and is refused.
TEST_F(CliTokenLoginTest, ReplyWithoutIssIsRefusedWhenTheIssuerPromisesOne) {
  auto child = StartLogin("alice");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "alice");
  std::string stripped = WithoutParam(location, "iss");
  ASSERT_EQ(stripped.find("iss="), std::string::npos) << stripped;
  HttpReply callback = BrowserGet(stripped);
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("RFC 9207"), std::string::npos) << result.err;
  EXPECT_EQ(callback.status, 400) << callback.body;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
}

// A profile without `issuer:` accepts the iss of the authorization URL's origin, and no other.
TEST_F(CliTokenLoginTest, ProfileWithoutIssuerChecksTheOriginOfIss) {
  RewriteProfile({"issuer:"}, "");
  Login good = LogIn("alice");
  ExpectLoggedIn(good, "alice");

  auto child = StartLogin("bob");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "bob");
  HttpReply callback =
      BrowserGet(WithParam(location, "iss", sample::PercentEncode("http://127.0.0.1:1")));
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("RFC 9207"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("http://127.0.0.1:1"), std::string::npos) << result.err;
  EXPECT_EQ(callback.status, 400) << callback.body;
  EXPECT_FALSE(Stored("bob").has_value());
}

TEST_F(CliTokenLoginTest, DeclinedConsentIsShownClearly) {
  Login login = LogIn("alice", {}, {}, "deny");
  EXPECT_EQ(login.result.exit_code, 1) << login.result.out << login.result.err;
  EXPECT_NE(login.result.err.find("access_denied"), std::string::npos) << login.result.err;
  EXPECT_NE(login.result.err.find("declined"), std::string::npos) << login.result.err;
  EXPECT_EQ(login.callback.status, 400) << login.callback.body;
  EXPECT_NE(login.callback.body.find("Login failed"), std::string::npos) << login.callback.body;
  EXPECT_NE(login.callback.body.find("declined"), std::string::npos) << login.callback.body;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
}

// Any other error reply shows its code and description: here the endpoint requires PKCE and
// the profile turned it off.
TEST_F(CliTokenLoginTest, OtherErrorRepliesShowCodeAndDescription) {
  EditProfile("pkce: S256", "pkce: none");
  Login login = LogIn("alice");
  EXPECT_EQ(login.result.exit_code, 1) << login.result.out << login.result.err;
  EXPECT_NE(login.result.err.find("invalid_request"), std::string::npos) << login.result.err;
  EXPECT_NE(login.result.err.find("code_challenge is required"), std::string::npos)
      << login.result.err;
  EXPECT_EQ(login.callback.status, 400) << login.callback.body;
  EXPECT_EQ(StoredCount(), 0u);
}

TEST_F(CliTokenLoginTest, WrongClientSecretIsShownClearly) {
  const std::string wrong = "not-the-sample-secret-4711";
  secrets_.insert(wrong);
  Login login = LogIn("alice", {}, {{"ACME_CLIENT_SECRET", wrong}});
  EXPECT_EQ(login.result.exit_code, 1) << login.result.out << login.result.err;
  EXPECT_NE(login.result.err.find("invalid_client"), std::string::npos) << login.result.err;
  // The fix is named: where the secret comes from, and the client authentication mode.
  EXPECT_NE(login.result.err.find("$ACME_CLIENT_SECRET"), std::string::npos) << login.result.err;
  EXPECT_NE(login.result.err.find("send_credentials (basic_header)"), std::string::npos)
      << login.result.err;
  EXPECT_EQ(login.callback.status, 400) << login.callback.body;
  EXPECT_NE(login.callback.body.find("invalid_client"), std::string::npos) << login.callback.body;
  EXPECT_EQ(StoredCount(), 0u);
  EXPECT_EQ(endpoint_->Stat("token_requests.authorization_code"), 1);
}

TEST_F(CliTokenLoginTest, NoReplyWithinTheTimeoutExitsOne) {
  auto started = std::chrono::steady_clock::now();
  auto child = StartLogin("alice", {"--timeout", "1s"});
  ChildResult result = Record(child->Finish());
  auto elapsed = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("no reply from the browser within 1s; nothing was stored"),
            std::string::npos)
      << result.err;
  EXPECT_LT(elapsed, 5s);
  EXPECT_EQ(StoredCount(), 0u);
}

TEST_F(CliTokenLoginTest, InterruptCancelsClosesTheListenerAndStoresNothing) {
  for (int signal : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(signal == SIGINT ? "SIGINT" : "SIGTERM");
    auto child = StartLogin("alice");
    std::string url = child->FirstLine();
    ASSERT_FALSE(url.empty());
    int port = RedirectPort(url);
    ASSERT_GT(port, 0) << url;
    std::string callback = "http://127.0.0.1:" + std::to_string(port) + "/callback";
    // Listening: a request that is not an authorization reply is turned away; the login goes on.
    HttpReply stray = BrowserGet(callback);
    EXPECT_EQ(stray.status, 400) << stray.body;
    EXPECT_NE(stray.body.find("Not an authorization reply"), std::string::npos) << stray.body;

    child->Signal(signal);
    ChildResult result = Record(child->Finish());
    EXPECT_EQ(result.exit_code, 130) << result.out << result.err;
    EXPECT_NE(result.err.find("cancelled; nothing was stored"), std::string::npos) << result.err;
    EXPECT_EQ(BrowserGet(callback + "?state=x&code=y", 2).status, -1) << "the port is still open";
    EXPECT_EQ(StoredCount(), 0u);
  }
}

TEST_F(CliTokenLoginTest, PortOptionIsHonoured) {
  int port = FreePort();
  ASSERT_GT(port, 0);
  Login login = LogIn("alice", {"--port", std::to_string(port)});
  ExpectLoggedIn(login, "alice");
  EXPECT_EQ(Param(login.url, "redirect_uri"),
            "http://127.0.0.1:" + std::to_string(port) + "/callback")
      << login.url;
}

TEST_F(CliTokenLoginTest, ClientSecretInTheRequestBodyLogsInAndRefreshes) {
  EditProfile("send_credentials: basic_header", "send_credentials: request_body");
  Login login = LogIn("alice");
  ExpectLoggedIn(login, "alice");
  ChildResult refreshed =
      Flowline({"token", "refresh", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(refreshed.exit_code, 0) << refreshed.out << refreshed.err;
  RememberStoredTokens();
  EXPECT_EQ(endpoint_->Stat("token_errors"), 0);
  EXPECT_EQ(IncidentsOf("alice").size(), 3u);
}

TEST_F(CliTokenLoginTest, WithoutPkceLogsInWhereTheProviderAllowsIt) {
  sample::EndpointOptions options;
  options.clients = {{e2e::kClientId, e2e::kClientSecret, {}, /*allow_no_pkce=*/true}};
  StartEndpoint(std::move(options));
  EditProfile("pkce: S256", "pkce: none");
  Login login = LogIn("alice");
  ExpectLoggedIn(login, "alice");
  EXPECT_EQ(login.url.find("code_challenge"), std::string::npos) << login.url;
  EXPECT_EQ(IncidentsOf("alice").size(), 3u);
}

TEST_F(CliTokenLoginTest, DiscoveryFillsTheUrlsForLoginRefreshAndRevoke) {
  RewriteProfile({"issuer:", "authorization_url:", "token_url:", "revocation_url:"},
                 "issuer: " + endpoint_->origin() + "\n");

  Login login = LogIn("alice");
  ExpectLoggedIn(login, "alice");
  EXPECT_EQ(login.url.rfind(endpoint_->origin() + "/oauth/authorize?", 0), 0u) << login.url;
  ChildResult refreshed =
      Flowline({"token", "refresh", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(refreshed.exit_code, 0) << refreshed.out << refreshed.err;
  RememberStoredTokens();
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  ChildResult revoked =
      Flowline({"token", "revoke", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
  EXPECT_NE(revoked.out.find("at the provider"), std::string::npos) << revoked.out;
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 1);
}

TEST_F(CliTokenLoginTest, IssuerThatDiffersFromTheMetadataNamesBoth) {
  std::string localhost = "http://localhost:" + std::to_string(endpoint_->port());
  RewriteProfile({"issuer:"}, "issuer: " + localhost + "\n");
  auto child = StartLogin("alice");
  ChildResult result = Record(child->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("'" + localhost + "'"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("'" + endpoint_->origin() + "'"), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "") << "no authorization URL when the issuer is wrong";
  EXPECT_EQ(endpoint_->Stat("authorize_requests"), 0);
  EXPECT_EQ(StoredCount(), 0u);
}

TEST_F(CliTokenLoginTest, RefreshRenewsTheTokenWithOneRefreshAtTheEndpoint) {
  ExpectLoggedIn(LogIn("alice"), "alice");
  auto before = Stored("alice");
  ASSERT_TRUE(before);
  endpoint_->Control("/control/reset");

  ChildResult refreshed =
      Flowline({"token", "refresh", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(refreshed.exit_code, 0) << refreshed.out << refreshed.err;
  EXPECT_NE(refreshed.out.find(
                "refreshed the token of user 'alice' for credential 'global.acme_personal' "
                "(expires in "),
            std::string::npos)
      << refreshed.out;
  RememberStoredTokens();
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 1);
  auto after = Stored("alice");
  ASSERT_TRUE(after);
  EXPECT_NE(after->access_token, before->access_token);
  EXPECT_NE(after->refresh_token, before->refresh_token);  // rotated
  EXPECT_EQ(IncidentsOf("alice").size(), 3u);
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);  // the run used the fresh token as is

  ChildResult nobody =
      Flowline({"token", "refresh", "acme_personal", "--user", "bob", "-d", defs_});
  EXPECT_EQ(nobody.exit_code, 3) << nobody.out << nobody.err;
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
}

TEST_F(CliTokenLoginTest, RefreshOfAGrantTheProviderEndedAsksForALogin) {
  ExpectLoggedIn(LogIn("alice"), "alice");
  auto token = Stored("alice");
  ASSERT_TRUE(token);
  ASSERT_EQ(endpoint_->Revoke(token->refresh_token), 200);  // e.g. the user revoked the app
  ChildResult refreshed =
      Flowline({"token", "refresh", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(refreshed.exit_code, 3) << refreshed.out << refreshed.err;
  EXPECT_NE(refreshed.err.find("flowline token login"), std::string::npos) << refreshed.err;
  EXPECT_EQ(endpoint_->Stat("refresh_requests"), 1);
}

TEST_F(CliTokenLoginTest, PortInUseIsAClearError) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  int port = ntohs(address.sin_port);
  auto child = StartLogin("alice", {"--port", std::to_string(port)});
  ChildResult result = Record(child->Finish());
  ::close(fd);
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("port " + std::to_string(port)), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("in use"), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "") << "no URL when nothing listens for the reply";
}

// httplib's default socket options include SO_REUSEPORT, with which a second login could bind
// the first one's port and the kernel would spread the browser's replies over both; Flowline's
// listeners bind without it (runtime/http/http_server.h).
TEST_F(CliTokenLoginTest, PortHeldByAnotherLoginIsAClearError) {
  int port = FreePort();
  auto first = StartLogin("alice", {"--port", std::to_string(port)});
  ASSERT_FALSE(first->FirstLine().empty());
  auto second = StartLogin("bob", {"--port", std::to_string(port), "--timeout", "2s"});
  ChildResult result = Record(second->Finish());
  first->Signal(SIGINT);
  Record(first->Finish());
  EXPECT_EQ(result.exit_code, 1) << result.out << result.err;
  EXPECT_NE(result.err.find("in use"), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "") << "the second login listens on the first one's port";
}

// While the first reply is being exchanged, another one is turned away.
TEST_F(CliTokenLoginTest, SecondReplyIsTurnedAway) {
  auto child = StartLogin("alice");
  std::string url = child->FirstLine();
  ASSERT_FALSE(url.empty());
  std::string location = Authorize(url, "alice");
  endpoint_->Control("/control/delay?ms=700&target=token");
  HttpReply first;
  std::thread browser([&] { first = BrowserGet(location); });
  std::this_thread::sleep_for(200ms);
  HttpReply second = BrowserGet(location);
  browser.join();
  ChildResult result = Record(child->Finish());
  RememberStoredTokens();
  // Normally the first one is held while the exchange runs; on a loaded machine the second
  // may arrive first. Either way one is answered with the outcome and the other turned away.
  if (first.status == 409) std::swap(first, second);
  EXPECT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(second.status, 409) << second.body;
  EXPECT_NE(second.body.find("This login is over"), std::string::npos) << second.body;
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(endpoint_->Stat("token_requests.authorization_code"), 1);
}

TEST_F(CliTokenLoginTest, RevokeEndsTheGrantAndTheNextRunNeedsALogin) {
  ExpectLoggedIn(LogIn("alice"), "alice");
  endpoint_->Control("/control/reset");

  ChildResult revoked =
      Flowline({"token", "revoke", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
  EXPECT_NE(
      revoked.out.find("revoked the token of user 'alice' for credential 'global.acme_personal' at "
                       "the provider and deleted it from the vault"),
      std::string::npos)
      << revoked.out;
  EXPECT_EQ(endpoint_->Stat("revocation_requests"), 2);  // refresh token, then access token
  EXPECT_EQ(endpoint_->Stat("revoked_grants"), 1);
  EXPECT_FALSE(Stored("alice").has_value());

  ChildResult run = Flowline(RunArgs("alice"));
  EXPECT_EQ(run.exit_code, 3) << run.out << run.err;
  rapidjson::Document json;
  json.Parse(run.out.c_str());
  ASSERT_TRUE(!json.HasParseError() && json.IsObject()) << run.out;
  EXPECT_STREQ(json["error"]["code"].GetString(), "token_missing") << run.out;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);

  ChildResult again =
      Flowline({"token", "revoke", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("nothing to revoke"), std::string::npos) << again.out;
  EXPECT_EQ(endpoint_->Stat("revocation_requests"), 2);
}

TEST_F(CliTokenLoginTest, RevokeKeepsTheTokenWhenTheProviderIsUnavailable) {
  ExpectLoggedIn(LogIn("alice"), "alice");
  auto before = Stored("alice");
  ASSERT_TRUE(before);
  endpoint_->Control("/control/fail?count=1&status=503&target=revoke");

  ChildResult revoked =
      Flowline({"token", "revoke", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(revoked.exit_code, 1) << revoked.out << revoked.err;
  EXPECT_NE(revoked.err.find("is kept in the vault"), std::string::npos) << revoked.err;
  auto after = Stored("alice");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->access_token, before->access_token);
  ChildResult list = Flowline({"token", "list"});
  EXPECT_NE(list.out.find("alice"), std::string::npos) << list.out;
  EXPECT_EQ(IncidentsOf("alice").size(), 3u);  // still good at the provider too

  // Once the provider is back, the same command revokes it.
  ChildResult retried =
      Flowline({"token", "revoke", "acme_personal", "--user", "alice", "-d", defs_});
  EXPECT_EQ(retried.exit_code, 0) << retried.out << retried.err;
  EXPECT_FALSE(Stored("alice").has_value());
}

}  // namespace
}  // namespace flowline
