// `flowline token url` and `flowline token serve` as an administrator and a user run them,
// against the sample endpoint on loopback: serve runs as a child on a free port, url prints
// a link, and the test plays the user's browser — the link, the provider's sign-in
// (login_hint), and the provider's redirect back to serve's /callback. Links that expired, were
// altered or were used already are refused; a link stores a token for its own user only; and
// serve's log never shows a link, a code or a token.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
  int status = -1;  // -1: no answer
  std::string location;
  std::string body;
};

// `url` with the bytes a browser percent-encodes before sending it. httplib hands Location
// headers over decoded, so the provider's URL arrives with raw spaces in its scope.
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
HttpReply BrowserGet(const std::string& raw_url) {
  std::string url = BrowserEncode(raw_url);
  size_t path_start = url.find('/', url.find("//") + 2);
  httplib::Client client(url.substr(0, path_start));
  client.set_url_encode(false);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  HttpReply reply;
  auto response =
      client.Get(path_start == std::string::npos ? "/" : url.substr(path_start).c_str());
  if (!response) return reply;
  reply.status = response->status;
  reply.location = response->get_header_value("Location");
  reply.body = response->body;
  return reply;
}

// The decoded value of query parameter `name` in `url`, or "".
std::string Param(const std::string& url, const std::string& name) {
  size_t question = url.find('?');
  if (question == std::string::npos) return "";
  std::string query = "&" + url.substr(question + 1);
  size_t at = query.find("&" + name + "=");
  if (at == std::string::npos) return "";
  size_t start = at + name.size() + 2;
  size_t end = query.find('&', start);
  auto decoded =
      sample::FormUrlDecode(query.substr(start, end == std::string::npos ? end : end - start));
  return decoded ? *decoded : "";
}

std::optional<std::string> FromBase64Url(const std::string& text) {
  std::string out(text.size(), '\0');
  size_t size = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &size, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
    return std::nullopt;
  out.resize(size);
  return out;
}

std::string ToBase64Url(const std::string& bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Another base64url character in place of the one at `at`.
std::string FlipAt(std::string text, size_t at) {
  text[at] = text[at] == 'A' ? 'B' : 'A';
  return text;
}

class CliTokenInitiatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv("FLOWLINE_VAULT_KEY");  // children and this test use $FLOWLINE_HOME/vault.key
    root_ = e2e::MakeTempDir("cli-token-initiator");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
    endpoint_ = std::make_unique<Endpoint>();
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
    secrets_.insert(e2e::kClientSecret);
    StartServe();
  }

  void TearDown() override {
    if (serve_) {
      ChildResult stopped = StopServe(SIGTERM);
      EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
      EXPECT_NE(stopped.err.find("token serve: stopped"), std::string::npos) << stopped.err;
    }
    RememberStoredTokens();
    RecordProperty("secrets_checked", static_cast<int>(secrets_.size()));
    RecordProperty("link_secrets_checked", static_cast<int>(link_secrets_.size()));
    for (const std::string& secret : secrets_)
      EXPECT_EQ(outputs_.find(secret), std::string::npos)
          << "a token, code or secret starting '" << secret.substr(0, 4) << "' was printed:\n"
          << outputs_;
    for (const std::string& secret : link_secrets_)
      EXPECT_EQ(serve_log_.find(secret), std::string::npos)
          << "serve logged (part of) a link starting '" << secret.substr(0, 4) << "':\n"
          << serve_log_;
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::map<std::string, std::string> Env() const {
    return {
        {"FLOWLINE_HOME", home_}, {"ACME_CLIENT_SECRET", e2e::kClientSecret}, {"NO_COLOR", "1"}};
  }

  ChildResult Flowline(const std::vector<std::string>& args) {
    ChildResult result = e2e::RunFlowline(args, Env(), root_);
    outputs_ += result.out + "\n" + result.err + "\n";
    return result;
  }

  // `flowline token serve` on a free port; serve_url_ is where it is reached.
  void StartServe() {
    std::string port_file = root_ + "/serve.port";
    std::filesystem::remove(port_file);
    serve_ = std::make_unique<e2e::FlowlineChild>(
        std::vector<std::string>{"token", "serve", "--listen", "127.0.0.1:0", "--port-file",
                                 port_file, "-d", defs_},
        Env(), root_);
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (!std::filesystem::exists(port_file) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(20ms);
    int port = std::atoi(e2e::ReadFile(port_file).c_str());
    ASSERT_GT(port, 0) << "serve wrote no port";
    serve_url_ = "http://127.0.0.1:" + std::to_string(port);
  }

  ChildResult StopServe(int signal) {
    serve_->Kill(signal);
    ChildResult result = serve_->Wait();
    serve_.reset();
    outputs_ += result.out + "\n" + result.err + "\n";
    serve_log_ += result.out + "\n" + result.err + "\n";
    return result;
  }

  // A link from `flowline token url`; its value (and its two halves) must never be logged.
  std::string Link(const std::string& user, const std::string& expires = "15m") {
    ChildResult made = Flowline({"token", "url", "acme_personal", "--user", user, "--base",
                                 serve_url_, "--expires", expires, "-d", defs_});
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
    std::string link = made.out.substr(0, made.out.find('\n'));
    EXPECT_EQ(link.rfind(serve_url_ + "/authorize?link=", 0), 0u) << made.out;
    EXPECT_EQ(made.out, link + "\n") << "one line on stdout";
    std::string value = Param(link, "link");
    size_t dot = value.find('.');
    EXPECT_NE(dot, std::string::npos) << value;
    if (dot != std::string::npos) {
      link_secrets_.insert(value);
      link_secrets_.insert(value.substr(0, dot));
      link_secrets_.insert(value.substr(dot + 1));
    }
    return link;
  }

  // The user opens `link` and signs in at the provider as `provider_user`; returns the page
  // serve shows at the end. The provider's redirect URI must be serve's /callback.
  HttpReply OpenLink(const std::string& link, const std::string& provider_user) {
    HttpReply started = BrowserGet(link);
    EXPECT_EQ(started.status, 302) << started.body;
    if (started.status != 302) return started;
    EXPECT_EQ(started.location.rfind(endpoint_->origin() + "/oauth/authorize?", 0), 0u)
        << started.location;
    EXPECT_EQ(Param(started.location, "redirect_uri"), serve_url_ + "/callback")
        << started.location;
    EXPECT_EQ(Param(started.location, "code_challenge_method"), "S256") << started.location;
    HttpReply authorized = BrowserGet(started.location + "&login_hint=" + provider_user);
    EXPECT_EQ(authorized.status, 302) << authorized.body;
    last_callback_ = authorized.location;
    std::string code = Param(authorized.location, "code");
    EXPECT_FALSE(code.empty()) << authorized.location;
    secrets_.insert(code);
    link_secrets_.insert(code);
    EXPECT_EQ(authorized.location.rfind(serve_url_ + "/callback?", 0), 0u) << authorized.location;
    HttpReply finished = BrowserGet(authorized.location);
    RememberStoredTokens();
    return finished;
  }

  std::optional<StoredToken> Stored(const std::string& user) {
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    EXPECT_TRUE(vault.ok()) << vault.status().message();
    if (!vault.ok()) return std::nullopt;
    auto token = (*vault)->get(e2e::kCredential, user);
    EXPECT_TRUE(token.ok()) << token.status().message();
    return token.ok() ? *token : std::nullopt;
  }

  std::vector<std::string> StoredUsers() {
    std::vector<std::string> users;
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    if (!vault.ok()) return users;
    auto all = (*vault)->list();
    if (all.ok())
      for (const TokenInfo& info : *all) users.push_back(info.user);
    return users;
  }

  void RememberStoredTokens() {
    if (!std::filesystem::exists(home_ + "/flowline.db")) return;
    auto vault = open_sqlite_vault(home_ + "/flowline.db", home_ + "/vault.key");
    if (!vault.ok()) return;
    auto all = (*vault)->list();
    if (!all.ok()) return;
    for (const TokenInfo& info : *all) {
      auto token = (*vault)->get(info.credential, info.user);
      if (token.ok() && *token) {
        for (const std::string& value : {(*token)->access_token, (*token)->refresh_token}) {
          if (value.empty()) continue;
          secrets_.insert(value);
          link_secrets_.insert(value);
        }
      }
    }
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
  std::unique_ptr<e2e::FlowlineChild> serve_;
  std::string serve_url_;
  std::string last_callback_;           // the provider's redirect to serve, as the browser got it
  std::string outputs_;                 // every flowline process's stdout and stderr
  std::string serve_log_;               // serve's own
  std::set<std::string> secrets_;       // tokens, codes, client secret: in no output
  std::set<std::string> link_secrets_;  // also links and their halves: not in serve's log
};

TEST_F(CliTokenInitiatorTest, LinkLogsTheUserInAndTheirRunWorks) {
  std::string link = Link("alice");
  HttpReply finished = OpenLink(link, "alice");
  EXPECT_EQ(finished.status, 200) << finished.body;
  EXPECT_NE(finished.body.find("You are logged in"), std::string::npos) << finished.body;
  EXPECT_EQ(StoredUsers(), std::vector<std::string>{"alice"});
  auto token = Stored("alice");
  ASSERT_TRUE(token);
  EXPECT_FALSE(token->refresh_token.empty());
  EXPECT_EQ(token->scope, "openid offline_access incidents.read");

  ChildResult run = Flowline({"run", kSubflow, "--user", "alice", "-d", defs_, "--output", "json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  rapidjson::Document json;
  json.Parse(run.out.c_str());
  ASSERT_TRUE(!json.HasParseError() && json.IsObject()) << run.out;
  EXPECT_EQ(json["outputs"]["total"].GetInt64(), 3);
  EXPECT_STREQ(json["outputs"]["incidents"][0]["number"].GetString(), "INC0010001");

  // The provider's reply is used once: delivered again, it matches no login in progress.
  HttpReply again = BrowserGet(last_callback_);
  EXPECT_EQ(again.status, 400) << again.body;
  EXPECT_NE(again.body.find("Unknown or expired login"), std::string::npos) << again.body;
  EXPECT_EQ(endpoint_->Stat("token_requests.authorization_code"), 1);

  ChildResult stopped = StopServe(SIGTERM);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_NE(
      stopped.err.find("stored the token of user 'alice' for credential 'global.acme_personal'"),
      std::string::npos)
      << stopped.err;
  EXPECT_NE(stopped.err.find("login started for user 'alice'"), std::string::npos) << stopped.err;
}

TEST_F(CliTokenInitiatorTest, ExpiredLinkIsGone) {
  std::string link = Link("alice", "1s");
  std::this_thread::sleep_for(2s);
  HttpReply opened = BrowserGet(link);
  EXPECT_EQ(opened.status, 410) << opened.body;
  EXPECT_NE(opened.body.find("This link has expired"), std::string::npos) << opened.body;
  EXPECT_EQ(opened.location, "");
  EXPECT_TRUE(StoredUsers().empty());
}

TEST_F(CliTokenInitiatorTest, AlteredLinkIsNotValid) {
  std::string link = Link("alice");
  std::string value = Param(link, "link");
  size_t dot = value.find('.');
  ASSERT_NE(dot, std::string::npos);
  std::string prefix = link.substr(0, link.find("link=") + 5);
  for (size_t at : {dot / 2, dot + 1 + (value.size() - dot - 1) / 2}) {
    SCOPED_TRACE(at < dot ? "payload" : "MAC");
    HttpReply opened = BrowserGet(prefix + FlipAt(value, at));
    EXPECT_EQ(opened.status, 400) << opened.body;
    EXPECT_NE(opened.body.find("This link is not valid"), std::string::npos) << opened.body;
    EXPECT_EQ(opened.location, "");
  }
  HttpReply cut = BrowserGet(prefix + value.substr(0, dot));
  EXPECT_EQ(cut.status, 400) << cut.body;
  EXPECT_EQ(endpoint_->Stat("authorize_requests"), 0);

  // Refused attempts do not use the link up: the real one still works.
  HttpReply finished = OpenLink(link, "alice");
  EXPECT_EQ(finished.status, 200) << finished.body;
  EXPECT_EQ(StoredUsers(), std::vector<std::string>{"alice"});
}

TEST_F(CliTokenInitiatorTest, ReusedLinkIsGone) {
  std::string link = Link("bob");
  HttpReply first = BrowserGet(link);
  EXPECT_EQ(first.status, 302) << first.body;
  HttpReply second = BrowserGet(link);
  EXPECT_EQ(second.status, 410) << second.body;
  EXPECT_NE(second.body.find("This link has already been used"), std::string::npos) << second.body;
  EXPECT_EQ(second.location, "");

  // Also after a restart of serve: the ledger is on disk. SIGINT stops it like SIGTERM.
  ChildResult stopped = StopServe(SIGINT);
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  StartServe();
  std::string port = serve_url_.substr(serve_url_.rfind(':') + 1);
  std::string moved = link;
  size_t host = moved.find("127.0.0.1:") + 10;
  moved.replace(host, moved.find('/', host) - host, port);
  HttpReply third = BrowserGet(moved);
  EXPECT_EQ(third.status, 410) << third.body;
  EXPECT_TRUE(StoredUsers().empty());
}

TEST_F(CliTokenInitiatorTest, DeclinedConsentStoresNothing) {
  std::string link = Link("alice");
  HttpReply started = BrowserGet(link);
  ASSERT_EQ(started.status, 302) << started.body;
  HttpReply denied = BrowserGet(started.location + "&login_hint=alice&consent=deny");
  ASSERT_EQ(denied.status, 302) << denied.body;
  EXPECT_EQ(Param(denied.location, "error"), "access_denied") << denied.location;
  HttpReply finished = BrowserGet(denied.location);
  EXPECT_EQ(finished.status, 400) << finished.body;
  EXPECT_NE(finished.body.find("Login failed"), std::string::npos) << finished.body;
  EXPECT_NE(finished.body.find("access_denied"), std::string::npos) << finished.body;
  EXPECT_TRUE(StoredUsers().empty());
  EXPECT_EQ(endpoint_->Stat("token_requests.total"), 0);
}

TEST_F(CliTokenInitiatorTest, LinkForAliceCannotStoreATokenForBob) {
  // Alice's link, rewritten to name bob (the MAC left as it was), is not valid.
  std::string link = Link("alice");
  std::string value = Param(link, "link");
  size_t dot = value.find('.');
  ASSERT_NE(dot, std::string::npos);
  auto payload = FromBase64Url(value.substr(0, dot));
  ASSERT_TRUE(payload) << value;
  std::string text = *payload;
  size_t at = text.find("\nalice\n");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 7, "\nbob\n");
  std::string forged = ToBase64Url(text) + value.substr(dot);
  HttpReply opened = BrowserGet(link.substr(0, link.find("link=") + 5) + forged);
  EXPECT_EQ(opened.status, 400) << opened.body;
  EXPECT_NE(opened.body.find("This link is not valid"), std::string::npos) << opened.body;

  // The link itself stores alice's token, under alice and nobody else.
  HttpReply finished = OpenLink(link, "alice");
  EXPECT_EQ(finished.status, 200) << finished.body;
  EXPECT_EQ(StoredUsers(), std::vector<std::string>{"alice"});
  EXPECT_FALSE(Stored("bob").has_value());
  ChildResult bob = Flowline({"run", kSubflow, "--user", "bob", "-d", defs_, "--output", "json"});
  EXPECT_EQ(bob.exit_code, 3) << bob.out << bob.err;
  EXPECT_NE(bob.out.find("token_missing"), std::string::npos) << bob.out;
}

}  // namespace
}  // namespace flowline
