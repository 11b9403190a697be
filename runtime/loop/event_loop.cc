#include "runtime/loop/event_loop.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

namespace flowline {
namespace {

// Longest single wait in curl_multi_poll. A safety net only: post(), stop()
// and libcurl's own timers wake the loop earlier.
constexpr int kMaxPollWaitMs = 1000;
// Idle keep-alive connections the multi handle keeps for reuse across
// requests and runs (CURLMOPT_MAXCONNECTS).
constexpr long kMaxCachedConnections = 256;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw std::runtime_error("curl_global_init failed");
  });
}

struct TimerEntry {
  EventLoop::Clock::time_point deadline;
  EventLoop::TimerId id;  // ties: earlier id first, so equal deadlines fire in call order
  bool operator>(const TimerEntry& other) const {
    return deadline != other.deadline ? deadline > other.deadline : id > other.id;
  }
};

}  // namespace

struct EventLoop::Impl {
  CURLM* multi = nullptr;

  // Cross-thread state.
  std::mutex posted_mu;
  std::vector<std::function<void()>> posted;  // guarded by posted_mu
  std::atomic<bool> stop_requested{false};
  std::atomic<std::thread::id> loop_thread{};

  // Loop-thread state.
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timer_heap;
  std::unordered_map<TimerId, std::function<void()>> timers;  // live (not fired, not cancelled)
  TimerId next_timer_id = 1;
  std::unordered_map<CURL*, std::function<void(int)>> transfers;

  bool may_touch_loop_state() const {
    const std::thread::id owner = loop_thread.load(std::memory_order_relaxed);
    return owner == std::thread::id() || owner == std::this_thread::get_id();
  }

  void run_posted() {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(posted_mu);
      batch.swap(posted);
    }
    for (auto& fn : batch) fn();
  }

  // Fires the timers due now. Timers added by these callbacks wait for the
  // next batch, so a callback re-arming itself with a zero delay cannot spin here.
  void fire_due_timers() {
    const Clock::time_point now = Clock::now();
    std::vector<std::function<void()>> due;
    while (!timer_heap.empty() && timer_heap.top().deadline <= now) {
      const TimerId id = timer_heap.top().id;
      timer_heap.pop();
      auto it = timers.find(id);
      if (it == timers.end()) continue;  // cancelled
      due.push_back(std::move(it->second));
      timers.erase(it);
    }
    for (auto& fn : due) fn();
  }

  // Completes finished transfers one message at a time: removing a handle
  // drops its queued messages, so a `done` that removes or re-adds other
  // handles cannot leave stale messages behind.
  void complete_transfers() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      const CURLcode code = msg->data.result;
      curl_multi_remove_handle(multi, easy);
      auto it = transfers.find(easy);
      if (it == transfers.end()) continue;
      auto done = std::move(it->second);
      transfers.erase(it);
      done(static_cast<int>(code));
    }
  }

  int poll_timeout_ms() {
    {
      std::lock_guard lock(posted_mu);
      if (!posted.empty()) return 0;
    }
    while (!timer_heap.empty() && !timers.contains(timer_heap.top().id)) timer_heap.pop();
    if (timer_heap.empty()) return kMaxPollWaitMs;
    const auto wait = timer_heap.top().deadline - Clock::now();
    if (wait <= Clock::duration::zero()) return 0;
    // Round up: waking a fraction of a millisecond early would only spin.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
    return static_cast<int>(std::min<int64_t>(ms, kMaxPollWaitMs));
  }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {
  init_curl_once();
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, kMaxCachedConnections);
}

EventLoop::~EventLoop() {
  for (auto& [easy, done] : impl_->transfers) curl_multi_remove_handle(impl_->multi, easy);
  curl_multi_cleanup(impl_->multi);
}

void EventLoop::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(impl_->posted_mu);
    was_empty = impl_->posted.empty();
    impl_->posted.push_back(std::move(fn));
  }
  // A non-empty queue has already woken the loop, or the loop will see the
  // new item when it swaps the queue out. Work posted from the loop thread
  // itself needs no wake-up: the loop runs posted work before it polls.
  if (was_empty && !in_loop_thread()) curl_multi_wakeup(impl_->multi);
}

EventLoop::TimerId EventLoop::call_after(std::chrono::milliseconds delay,
                                         std::function<void()> fn) {
  assert(impl_->may_touch_loop_state());
  const TimerId id = impl_->next_timer_id++;
  impl_->timer_heap.push({Clock::now() + delay, id});
  impl_->timers.emplace(id, std::move(fn));
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  assert(impl_->may_touch_loop_state());
  // The heap entry stays and is skipped when it comes up.
  impl_->timers.erase(id);
}

void EventLoop::add_transfer(CURL* easy, std::function<void(int curl_code)> done) {
  assert(impl_->may_touch_loop_state());
  const CURLMcode added = curl_multi_add_handle(impl_->multi, easy);
  if (added != CURLM_OK) {
    // Already added, or the multi handle is out of memory: fail the transfer
    // as libcurl would, on the loop, never inline.
    post([done = std::move(done)] { done(CURLE_FAILED_INIT); });
    return;
  }
  impl_->transfers[easy] = std::move(done);
}

void EventLoop::remove_transfer(CURL* easy) {
  assert(impl_->may_touch_loop_state());
  if (impl_->transfers.erase(easy) > 0) curl_multi_remove_handle(impl_->multi, easy);
}

void EventLoop::run_until(const std::function<bool()>& done) {
  Impl& impl = *impl_;
  const std::thread::id self = std::this_thread::get_id();
  std::thread::id expected{};
  if (!impl.loop_thread.compare_exchange_strong(expected, self))
    throw std::logic_error("EventLoop::run_until: the loop is already running");
  struct LeaveLoop {
    Impl& impl;
    ~LeaveLoop() {
      impl.stop_requested.store(false);
      impl.loop_thread.store(std::thread::id());
    }
  } leave{impl};

  while (true) {
    impl.run_posted();
    impl.fire_due_timers();
    int running = 0;
    curl_multi_perform(impl.multi, &running);
    impl.complete_transfers();
    if (impl.stop_requested.load() || done()) break;
    curl_multi_poll(impl.multi, nullptr, 0, impl.poll_timeout_ms(), nullptr);
  }
}

void EventLoop::stop() {
  impl_->stop_requested.store(true);
  curl_multi_wakeup(impl_->multi);
}

bool EventLoop::in_loop_thread() const {
  return impl_->loop_thread.load() == std::this_thread::get_id();
}

size_t EventLoop::pending() const {
  assert(impl_->may_touch_loop_state());
  size_t posted;
  {
    std::lock_guard lock(impl_->posted_mu);
    posted = impl_->posted.size();
  }
  return impl_->timers.size() + impl_->transfers.size() + posted;
}

}  // namespace flowline
