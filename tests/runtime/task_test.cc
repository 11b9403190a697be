#include "runtime/task.h"

#include <gtest/gtest.h>

#include <deque>
#include <stdexcept>
#include <string>

using namespace flowline;

namespace {

// A minimal manual scheduler standing in for the event loop.
struct Queue {
  std::deque<std::coroutine_handle<>> ready;
  void drain() {
    while (!ready.empty()) {
      auto h = ready.front();
      ready.pop_front();
      h.resume();
    }
  }
};

struct Yield {
  Queue& q;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { q.ready.push_back(h); }
  void await_resume() const noexcept {}
};

Task<int> add_later(Queue& q, int a, int b) {
  co_await Yield{q};
  co_return a + b;
}

Task<int> chain(Queue& q, int depth) {
  int total = 0;
  for (int i = 0; i < depth; ++i) total += co_await add_later(q, i, 1);
  co_return total;
}

Task<int> deep(int n) {
  if (n == 0) co_return 0;
  co_return 1 + co_await deep(n - 1);
}

Task<int> throws() {
  throw std::runtime_error("boom");
  co_return 0;
}

Task<std::string> catches() {
  try {
    co_await throws();
  } catch (const std::exception& e) {
    co_return std::string(e.what());
  }
  co_return std::string("no");
}

TEST(Task, RunsAcrossSuspensions) {
  Queue q;
  int result = -1;
  spawn<int>(chain(q, 10), [&](int v) { result = v; });
  EXPECT_EQ(result, -1) << "suspended until the queue runs";
  q.drain();
  EXPECT_EQ(result, 55);
}

// Symmetric transfer keeps deep chains flat. AddressSanitizer builds turn off
// the tail calls it relies on, so they check a shallower chain.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kDeepChain = 2000;
#else
constexpr int kDeepChain = 100000;
#endif

TEST(Task, DeepSynchronousChainsDoNotOverflowTheStack) {
  int result = -1;
  spawn<int>(deep(kDeepChain), [&](int v) { result = v; });
  EXPECT_EQ(result, kDeepChain);
}

TEST(Task, ExceptionsReachTheAwaiter) {
  std::string result;
  spawn<std::string>(catches(), [&](std::string v) { result = v; });
  EXPECT_EQ(result, "boom");
}

TEST(Task, WhenAllInterleavesAndKeepsOrder) {
  Queue q;
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(add_later(q, i, 10));
  std::vector<int> result;
  spawn<std::vector<int>>(when_all(std::move(tasks)), [&](std::vector<int> v) { result = v; });
  EXPECT_TRUE(result.empty());
  EXPECT_EQ(q.ready.size(), 5u) << "all five started before any finished";
  q.drain();
  EXPECT_EQ(result, (std::vector<int>{10, 11, 12, 13, 14}));
}

TEST(Task, WhenAllOfSynchronousTasks) {
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 3; ++i) tasks.push_back(deep(i));
  std::vector<int> result;
  spawn<std::vector<int>>(when_all(std::move(tasks)), [&](std::vector<int> v) { result = v; });
  EXPECT_EQ(result, (std::vector<int>{0, 1, 2}));
  std::vector<int> empty_result{-1};
  spawn<std::vector<int>>(when_all(std::vector<Task<int>>{}),
                          [&](std::vector<int> v) { empty_result = v; });
  EXPECT_TRUE(empty_result.empty());
}

}  // namespace
