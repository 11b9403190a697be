// The login's loopback listener: it hands over the first reply, holds the
// browser until the outcome is known, refuses everything else, and closes.
#include "runtime/oauth/loopback_listener.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <future>
#include <thread>

namespace flowline {
namespace {

using namespace std::chrono_literals;
using Params = std::multimap<std::string, std::string>;

std::unique_ptr<LoopbackListener> start(int port = 0) {
  auto listener = LoopbackListener::start("127.0.0.1", port, "/callback");
  EXPECT_TRUE(listener.ok()) << listener.status().message();
  return listener.ok() ? std::move(*listener) : nullptr;
}

TEST(LoopbackListenerTest, HandsOverTheReplyAndShowsTheOutcomePage) {
  auto listener = start();
  ASSERT_TRUE(listener);
  ASSERT_GT(listener->port(), 0);
  auto browser = std::async(std::launch::async, [port = listener->port()] {
    httplib::Client client("127.0.0.1", port);
    return client.Get("/callback?code=c%201&state=s&iss=http%3A%2F%2Fas");
  });
  Params params;
  ASSERT_EQ(listener->wait(5s, {}, &params), LoopbackListener::WaitEnd::Reply);
  EXPECT_EQ(params.find("code")->second, "c 1");
  EXPECT_EQ(params.find("state")->second, "s");
  EXPECT_EQ(params.find("iss")->second, "http://as");
  // The browser is still waiting for the page.
  EXPECT_EQ(browser.wait_for(100ms), std::future_status::timeout);
  listener->respond(true, "Logged in", "stored <alice>'s token");
  auto page = browser.get();
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("stored &lt;alice&gt;&#39;s token"), std::string::npos);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");
}

TEST(LoopbackListenerTest, AFailedLoginShowsAnErrorPage) {
  auto listener = start();
  ASSERT_TRUE(listener);
  auto browser = std::async(std::launch::async, [port = listener->port()] {
    return httplib::Client("127.0.0.1", port).Get("/callback?error=access_denied&state=s");
  });
  Params params;
  ASSERT_EQ(listener->wait(5s, {}, &params), LoopbackListener::WaitEnd::Reply);
  listener->respond(false, "Login failed", "access_denied");
  auto page = browser.get();
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 400);
  EXPECT_NE(page->body.find("Login failed"), std::string::npos);
}

TEST(LoopbackListenerTest, RequestsThatAreNotTheReplyAreRefused) {
  auto listener = start();
  ASSERT_TRUE(listener);
  httplib::Client client("127.0.0.1", listener->port());
  auto other = client.Get("/favicon.ico");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  auto bare = client.Get("/callback");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->status, 400);
  Params params;
  EXPECT_EQ(listener->wait(200ms, {}, &params), LoopbackListener::WaitEnd::TimedOut);
}

TEST(LoopbackListenerTest, OnlyTheFirstReplyCounts) {
  auto listener = start();
  ASSERT_TRUE(listener);
  auto first = std::async(std::launch::async, [port = listener->port()] {
    return httplib::Client("127.0.0.1", port).Get("/callback?code=first&state=s");
  });
  Params params;
  ASSERT_EQ(listener->wait(5s, {}, &params), LoopbackListener::WaitEnd::Reply);
  auto second = httplib::Client("127.0.0.1", listener->port()).Get("/callback?code=second&state=s");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 409);
  EXPECT_EQ(params.find("code")->second, "first");
  listener->respond(true, "Logged in", "ok");
  EXPECT_EQ(first.get()->status, 200);
}

TEST(LoopbackListenerTest, WaitingEndsOnTimeoutAndOnCancel) {
  auto listener = start();
  ASSERT_TRUE(listener);
  Params params;
  auto began = std::chrono::steady_clock::now();
  EXPECT_EQ(listener->wait(300ms, {}, &params), LoopbackListener::WaitEnd::TimedOut);
  EXPECT_GE(std::chrono::steady_clock::now() - began, 300ms);
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(150ms);
    cancel = true;
  });
  EXPECT_EQ(listener->wait(30s, [&] { return cancel.load(); }, &params),
            LoopbackListener::WaitEnd::Cancelled);
  canceller.join();
}

TEST(LoopbackListenerTest, ClosingFreesThePortAndReleasesAHeldBrowser) {
  auto listener = start();
  ASSERT_TRUE(listener);
  int port = listener->port();
  auto browser = std::async(std::launch::async, [port] {
    return httplib::Client("127.0.0.1", port).Get("/callback?code=c&state=s");
  });
  Params params;
  ASSERT_EQ(listener->wait(5s, {}, &params), LoopbackListener::WaitEnd::Reply);
  listener.reset();  // e.g. Ctrl-C before the outcome is known
  auto page = browser.get();
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  httplib::Client after("127.0.0.1", port);
  after.set_connection_timeout(1, 0);
  EXPECT_FALSE(after.Get("/callback?code=c&state=s"));  // nothing listens any more
}

TEST(LoopbackListenerTest, AFixedPortInUseIsAClearError) {
  auto first = start();
  ASSERT_TRUE(first);
  auto second = LoopbackListener::start("127.0.0.1", first->port(), "/callback");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), "login_listen_failed");
  EXPECT_NE(second.status().message().find("--port"), std::string::npos);
  auto reuse = start(0);  // any free port still works
  EXPECT_TRUE(reuse);
}

}  // namespace
}  // namespace flowline
