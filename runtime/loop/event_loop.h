// EventLoop: the one thread that drives every run's waiting — HTTP through
// libcurl's multi interface, timers (`wait`, retry back-off) and work posted
// from other threads. Runs are coroutines resumed from this loop, so a run
// that waits holds no thread.
//
// Thread-safety: post() and stop() may be called from any thread; everything
// else only from the loop thread (the thread inside run()/run_until()), or from
// any one thread while no thread is inside run_until() (setting up before
// running). Debug builds assert this.
//
// Callbacks (posted functions, timers, transfer `done`s) run on the loop
// thread, one at a time, and must not throw: an exception escapes run_until()
// and drops the rest of its batch.
//
// Ownership: the loop owns libcurl's multi handle (and so the connection
// cache shared by every transfer), never the easy handles. Destroy everything
// that added transfers or timers (e.g. CurlTransport) before the loop.
// Destroying the loop drops pending work without running it.
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

  // Queues `fn` to run on the loop thread, waking the loop. Functions posted
  // from one thread run in the order posted. Thread-safe.
  void post(std::function<void()> fn);

  // Runs `fn` on the loop thread after `delay` (timers with equal deadlines
  // fire in the order set). Returns an id for cancel_timer.
  TimerId call_after(std::chrono::milliseconds delay, std::function<void()> fn);
  // Forgets a timer that has not fired; unknown or fired ids are ignored.
  void cancel_timer(TimerId id);

  // Hands an easy handle to the multi handle; `done` runs on the loop thread
  // with the transfer's CURLcode when it finishes (or is cancelled: then the
  // code is CURLE_ABORTED_BY_CALLBACK). The loop never frees the easy handle.
  // If libcurl refuses the handle, `done` is posted with CURLE_FAILED_INIT.
  void add_transfer(CURL* easy, std::function<void(int curl_code)> done);
  // Removes an unfinished transfer; its `done` is not called.
  void remove_transfer(CURL* easy);

  // Processes events until stop() is called or `done()` returns true
  // (checked after every batch of events). The calling thread becomes the
  // loop thread for the duration. Between batches the loop sleeps in
  // curl_multi_poll until a socket, timer, post() or stop() wakes it (at most
  // 1 s), so a `done` that depends on other threads should be paired with a
  // post() from them. Throws std::logic_error when the loop is already running.
  void run_until(const std::function<bool()>& done);
  void run() {
    run_until([] { return false; });
  }
  // Makes run()/run_until() return after the current batch. Thread-safe. A
  // stop() while nothing runs makes the next run_until() return after one batch.
  void stop();

  bool in_loop_thread() const;
  // Pending timers + transfers + posted work (for tests and shutdown). Loop thread.
  size_t pending() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flowline
