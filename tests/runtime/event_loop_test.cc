#include "runtime/loop/event_loop.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/http_test_server.h"

namespace flowline {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

TEST(EventLoopTest, PostsFromOtherThreadsRunOnTheLoopThreadInOrder) {
  EventLoop loop;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<int>> seen(kThreads);  // touched only on the loop thread
  int total = 0;
  bool all_on_loop_thread = true;
  const auto loop_thread = std::this_thread::get_id();

  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.post([&, t, i] {
          all_on_loop_thread &= std::this_thread::get_id() == loop_thread;
          seen[t].push_back(i);
          ++total;
        });
      }
    });
  }
  loop.run_until([&] { return total == kThreads * kPerThread; });
  for (auto& poster : posters) poster.join();

  EXPECT_TRUE(all_on_loop_thread);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
  }
  EXPECT_EQ(loop.pending(), 0u);
}

TEST(EventLoopTest, InLoopThreadOnlyInsideRun) {
  EventLoop loop;
  EXPECT_FALSE(loop.in_loop_thread());
  bool inside = false;
  bool other_thread_sees_it = true;
  loop.post([&] {
    inside = loop.in_loop_thread();
    std::thread([&] { other_thread_sees_it = loop.in_loop_thread(); }).join();
  });
  loop.run_until([&] { return inside; });
  EXPECT_TRUE(inside);
  EXPECT_FALSE(other_thread_sees_it);
  EXPECT_FALSE(loop.in_loop_thread());
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndNotEarly) {
  EventLoop loop;
  std::vector<int> order;
  std::vector<milliseconds> fired_after;
  const auto start = Clock::now();
  auto record = [&](int delay) {
    return [&, delay] {
      order.push_back(delay);
      fired_after.push_back(std::chrono::duration_cast<milliseconds>(Clock::now() - start));
    };
  };
  loop.call_after(milliseconds(60), record(60));
  loop.call_after(milliseconds(20), record(20));
  loop.call_after(milliseconds(40), record(40));
  loop.call_after(milliseconds(0), record(0));
  loop.run_until([&] { return order.size() == 4; });

  EXPECT_EQ(order, (std::vector<int>{0, 20, 40, 60}));
  for (size_t i = 0; i < order.size(); ++i)
    EXPECT_GE(fired_after[i].count(), order[i]) << "timer " << order[i] << " fired early";
  EXPECT_LT(fired_after.back().count(), 1000) << "the loop slept past its timers";
}

TEST(EventLoopTest, TimersWithEqualDeadlinesFireInTheOrderSet) {
  EventLoop loop;
  std::vector<int> order;
  for (int i = 0; i < 10; ++i) loop.call_after(milliseconds(0), [&, i] { order.push_back(i); });
  loop.run_until([&] { return order.size() == 10; });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(EventLoopTest, CancelledTimerDoesNotFire) {
  EventLoop loop;
  bool cancelled_fired = false;
  bool finished = false;
  const auto victim = loop.call_after(milliseconds(10), [&] { cancelled_fired = true; });
  loop.call_after(milliseconds(40), [&] { finished = true; });
  EXPECT_EQ(loop.pending(), 2u);
  loop.cancel_timer(victim);
  EXPECT_EQ(loop.pending(), 1u);
  loop.cancel_timer(victim);  // twice: ignored
  loop.run_until([&] { return finished; });
  EXPECT_FALSE(cancelled_fired);
  EXPECT_EQ(loop.pending(), 0u);
}

TEST(EventLoopTest, TimerCanBeCancelledByAnEarlierTimer) {
  EventLoop loop;
  bool late_fired = false;
  bool finished = false;
  EventLoop::TimerId late = loop.call_after(milliseconds(30), [&] { late_fired = true; });
  loop.call_after(milliseconds(5), [&] { loop.cancel_timer(late); });
  loop.call_after(milliseconds(60), [&] { finished = true; });
  loop.run_until([&] { return finished; });
  EXPECT_FALSE(late_fired);
}

TEST(EventLoopTest, ZeroDelayTimerReArmingItselfDoesNotStarvePostedWork) {
  EventLoop loop;
  int rearms = 0;
  bool posted_ran = false;
  std::function<void()> rearm = [&] {
    ++rearms;
    if (!posted_ran) loop.call_after(milliseconds(0), rearm);
  };
  loop.call_after(milliseconds(0), rearm);
  std::thread poster([&] {
    std::this_thread::sleep_for(milliseconds(20));
    loop.post([&] { posted_ran = true; });
  });
  loop.run_until([&] { return posted_ran; });
  poster.join();
  EXPECT_TRUE(posted_ran);
  EXPECT_GT(rearms, 1);
}

TEST(EventLoopTest, RunUntilReturnsAsSoonAsThePredicateHolds) {
  EventLoop loop;
  int steps = 0;
  std::function<void()> step = [&] {
    if (++steps < 100) loop.post(step);
  };
  loop.post(step);
  loop.call_after(milliseconds(5000), [] {});  // must not keep the loop waiting
  const auto start = Clock::now();
  loop.run_until([&] { return steps == 100; });
  EXPECT_EQ(steps, 100);
  EXPECT_LT(Clock::now() - start, milliseconds(500));
  EXPECT_EQ(loop.pending(), 1u);  // the long timer is still there
}

TEST(EventLoopTest, PostFromAnotherThreadWakesAWaitingLoop) {
  EventLoop loop;
  bool ran = false;
  loop.call_after(milliseconds(10'000), [] {});  // the loop would otherwise sleep 1 s at a time
  const auto start = Clock::now();
  std::thread poster([&] {
    std::this_thread::sleep_for(milliseconds(50));
    loop.post([&] { ran = true; });
  });
  loop.run_until([&] { return ran; });
  poster.join();
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, milliseconds(50));
  EXPECT_LT(waited, milliseconds(500)) << "post() did not wake curl_multi_poll";
}

TEST(EventLoopTest, StopFromAnotherThreadEndsRun) {
  EventLoop loop;
  loop.call_after(milliseconds(10'000), [] {});
  const auto start = Clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(milliseconds(50));
    loop.stop();
  });
  loop.run();
  stopper.join();
  EXPECT_LT(Clock::now() - start, milliseconds(500)) << "stop() did not wake curl_multi_poll";

  // The stop was consumed: the next run waits for its own condition.
  bool later = false;
  loop.call_after(milliseconds(30), [&] { later = true; });
  loop.run_until([&] { return later; });
  EXPECT_TRUE(later);
}

TEST(EventLoopTest, RunUntilInsideACallbackIsRefused) {
  EventLoop loop;
  bool refused = false;
  loop.post([&] {
    try {
      loop.run_until([] { return true; });
    } catch (const std::logic_error&) {
      refused = true;
    }
  });
  loop.run_until([&] { return refused; });
  EXPECT_TRUE(refused);
}

class EventLoopTransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.on("GET", "/hello", [](const test_support::ReceivedRequest&) {
      return test_support::CannedResponse{.status = 200, .body = "hi"};
    });
    server_.start();
  }

  CURL* make_easy(std::string* body) {
    CURL* easy = curl_easy_init();
    url_ = server_.url("/hello");
    curl_easy_setopt(easy, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(
        easy, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) -> size_t {
          static_cast<std::string*>(out)->append(data, size * n);
          return size * n;
        });
    return easy;
  }

  test_support::HttpTestServer server_;
  std::string url_;
};

TEST_F(EventLoopTransferTest, DoneRunsOnTheLoopThreadWithTheCurlCode) {
  EventLoop loop;
  std::string body;
  CURL* easy = make_easy(&body);
  int code = -1;
  bool on_loop_thread = false;
  loop.add_transfer(easy, [&](int curl_code) {
    code = curl_code;
    on_loop_thread = loop.in_loop_thread();
  });
  EXPECT_EQ(loop.pending(), 1u);
  loop.run_until([&] { return code != -1; });
  EXPECT_EQ(code, CURLE_OK);
  EXPECT_TRUE(on_loop_thread);
  EXPECT_EQ(body, "hi");
  EXPECT_EQ(loop.pending(), 0u);
  EXPECT_EQ(server_.request_count(), 1u);

  // The finished handle may be added again at once (the transport recycles handles).
  code = -1;
  body.clear();
  loop.add_transfer(easy, [&](int curl_code) { code = curl_code; });
  loop.run_until([&] { return code != -1; });
  EXPECT_EQ(code, CURLE_OK);
  EXPECT_EQ(body, "hi");
  curl_easy_cleanup(easy);
}

TEST_F(EventLoopTransferTest, RemovedTransferNeverCompletes) {
  EventLoop loop;
  std::string body;
  CURL* easy = make_easy(&body);
  bool done_called = false;
  bool finished = false;
  loop.add_transfer(easy, [&](int) { done_called = true; });
  loop.remove_transfer(easy);
  EXPECT_EQ(loop.pending(), 0u);
  loop.call_after(milliseconds(100), [&] { finished = true; });
  loop.run_until([&] { return finished; });
  EXPECT_FALSE(done_called);
  curl_easy_cleanup(easy);
}

TEST_F(EventLoopTransferTest, AddingAHandleTwiceFailsTheSecondOnTheLoop) {
  EventLoop loop;
  std::string body;
  CURL* easy = make_easy(&body);
  int first = -1;
  int second = -1;
  loop.add_transfer(easy, [&](int code) { first = code; });
  loop.add_transfer(easy, [&](int code) { second = code; });
  EXPECT_EQ(second, -1) << "done ran inline";
  loop.run_until([&] { return first != -1 && second != -1; });
  EXPECT_EQ(first, CURLE_OK);
  EXPECT_EQ(second, CURLE_FAILED_INIT);
  curl_easy_cleanup(easy);
}

}  // namespace
}  // namespace flowline
