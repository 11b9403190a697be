// EventLoop: the one thread that drives every run's waiting — HTTP through
// libcurl's multi interface, timers (`wait`, retry back-off) and work posted
// from other threads. Runs are coroutines resumed from this loop, so a run
// that waits holds no thread.
//
// Thread-safety: post() and stop() may be called from any thread; everything
// else only from the loop thread (the thread inside run()/run_until()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

typedef void CURLM;
typedef void CURL;

namespace flowline {

class EventLoop {
 public:
  using TimerId = uint64_t;
  using Clock = std::chrono::steady_clock;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Queues `fn` to run on the loop thread, waking the loop. Thread-safe.
  void post(std::function<void()> fn);

  // Runs `fn` on the loop thread after `delay`. Returns an id for cancel_timer.
  TimerId call_after(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel_timer(TimerId id);

  // Hands an easy handle to the multi handle; `done` runs on the loop thread
  // with the transfer's CURLcode when it finishes (or is cancelled: then the
  // code is CURLE_ABORTED_BY_CALLBACK). The loop never frees the easy handle.
  void add_transfer(CURL* easy, std::function<void(int curl_code)> done);
  // Removes an unfinished transfer; its `done` is not called.
  void remove_transfer(CURL* easy);

  // Processes events until stop() is called or `done()` returns true
  // (checked after every batch of events). The calling thread becomes the
  // loop thread for the duration.
  void run_until(const std::function<bool()>& done);
  void run() { run_until([] { return false; }); }
  // Makes run()/run_until() return after the current batch. Thread-safe.
  void stop();

  bool in_loop_thread() const;
  // Pending timers + transfers + posted work (for tests and shutdown).
  size_t pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowline
