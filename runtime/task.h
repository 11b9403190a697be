// Task<T>: the coroutine type runs are written in. A Task starts when it is
// awaited (lazy) and resumes its awaiter when it finishes (symmetric
// transfer, so long chains of steps do not grow the stack). Everything runs
// on the EventLoop thread; a suspended Task holds no thread.
//
// Ownership: the Task object owns its coroutine frame and destroys it. Use
// spawn() to start a top-level Task whose result is delivered to a callback.
// Exceptions thrown inside a Task are rethrown to its awaiter; runtime code
// reports failures as Result/Status values and throws only on bugs.
//
// GCC 12 destroys an aggregate-initialised temporary inside `co_await X{…}`
// twice. Awaiters in Flowline therefore hold only pointers and trivially
// destructible members, or are awaited as named locals.
#pragma once

#include <coroutine>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace flowline {

template <typename T>
class Task;

namespace detail {

struct PromiseBase {
  std::coroutine_handle<> continuation;
  std::exception_ptr error;

  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      auto next = h.promise().continuation;
      return next ? next : std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() { error = std::current_exception(); }
};

}  // namespace detail

template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type : detail::PromiseBase {
    std::optional<T> value;
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    template <typename U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }
  T await_resume() {
    auto& promise = handle_.promise();
    if (promise.error) std::rethrow_exception(promise.error);
    return std::move(*promise.value);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

template <>
class [[nodiscard]] Task<void> {
 public:
  struct promise_type : detail::PromiseBase {
    Task get_return_object() { return Task(std::coroutine_handle<promise_type>::from_promise(*this)); }
    void return_void() {}
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().continuation = awaiter;
    return handle_;
  }
  void await_resume() {
    if (handle_.promise().error) std::rethrow_exception(handle_.promise().error);
  }

 private:
  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

namespace detail {

// A fire-and-forget coroutine: created suspended, started by spawn(), frees
// itself at the end.
struct Detached {
  struct promise_type {
    Detached get_return_object() {
      return Detached{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

template <typename T>
Detached run_detached(Task<T> task, std::function<void(T)> done) {
  T value = co_await std::move(task);
  done(std::move(value));
}

inline Detached run_detached_void(Task<void> task, std::function<void()> done) {
  co_await std::move(task);
  done();
}

}  // namespace detail

// Starts `task` now (on the calling thread, which must be the loop thread)
// and calls `done` with its result when it finishes. A Task that lets an
// exception escape terminates the program: top-level tasks must catch.
template <typename T>
void spawn(Task<T> task, std::function<void(T)> done) {
  detail::run_detached(std::move(task), std::move(done)).handle.resume();
}
inline void spawn(Task<void> task, std::function<void()> done) {
  detail::run_detached_void(std::move(task), std::move(done)).handle.resume();
}

// Awaits every task concurrently (each one advances while the others wait on
// I/O) and returns when all have finished, their results in order.
template <typename T>
Task<std::vector<T>> when_all(std::vector<Task<T>> tasks) {
  struct State {
    std::vector<std::optional<T>> results;
    size_t remaining = 0;  // tasks still running, +1 while they are being started
    std::coroutine_handle<> waiter;
  };
  auto state = std::make_shared<State>();
  state->results.resize(tasks.size());
  state->remaining = tasks.size() + 1;

  // Holds plain pointers and is a named local: GCC 12 destroys aggregate
  // temporaries inside co_await twice, so awaiters here own nothing.
  struct Awaiter {
    State* state;
    std::vector<Task<T>>* tasks;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) {
      state->waiter = h;
      for (size_t i = 0; i < tasks->size(); ++i) {
        spawn<T>(std::move((*tasks)[i]), [s = state, i](T value) {
          s->results[i].emplace(std::move(value));
          if (--s->remaining == 0) s->waiter.resume();
        });
      }
      // Suspend unless every task already finished while being started.
      return --state->remaining != 0;
    }
    void await_resume() const noexcept {}
  };
  Awaiter awaiter{state.get(), &tasks};
  co_await awaiter;
  std::vector<T> out;
  out.reserve(state->results.size());
  for (auto& r : state->results) out.push_back(std::move(*r));
  co_return out;
}

}  // namespace flowline
