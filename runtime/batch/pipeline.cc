#include "runtime/batch/pipeline.h"

#include <algorithm>

#include "runtime/engine.h"

namespace flowline {

BatchPipeline::BatchPipeline(Engine& engine, size_t concurrency, uint64_t max_failures)
    : engine_(engine), max_failures_(max_failures) {
  // Each lane is one loop with its share of the slots (at least one).
  const size_t lanes = std::max<size_t>(1, std::min(engine_loops(engine), concurrency));
  for (size_t i = 0; i < lanes; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->loop = i;
    lane->capacity = concurrency / lanes + (i < concurrency % lanes ? 1 : 0);
    lanes_.push_back(std::move(lane));
  }
}

void BatchPipeline::push(std::vector<ReadyJob>& jobs) {
  if (jobs.empty()) return;
  std::vector<Lane*> wake;
  {
    std::lock_guard lock(mutex_);
    for (ReadyJob& job : jobs) ready_.push_back(std::move(job));
    if (!closed_)
      for (auto& lane : lanes_)
        if (!lane->pump_posted && lane->running.load(std::memory_order_relaxed) < lane->capacity) {
          lane->pump_posted = true;
          wake.push_back(lane.get());
        }
  }
  jobs.clear();
  for (Lane* lane : wake)
    post_to_loop(engine_, lane->loop, [self = shared_from_this(), lane] { self->pump(*lane); });
}

size_t BatchPipeline::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  size_t dropped = ready_.size();
  ready_.clear();
  return dropped;
}

void BatchPipeline::count_failure() { failures_.fetch_add(1, std::memory_order_relaxed); }

std::deque<FinishedJob> BatchPipeline::take(std::chrono::milliseconds wait) {
  std::deque<FinishedJob> out;
  std::unique_lock lock(mutex_);
  finished_cv_.wait_for(lock, wait, [&] { return !finished_.empty(); });
  out.swap(finished_);
  return out;
}

size_t BatchPipeline::running() const {
  size_t total = 0;
  for (const auto& lane : lanes_) total += lane->running.load(std::memory_order_relaxed);
  return total;
}

bool BatchPipeline::failed_enough() const {
  return max_failures_ > 0 && failures_.load(std::memory_order_relaxed) >= max_failures_;
}

// Lane's loop: starts ready jobs while its slots are free. Runs that end at
// once (no waiting step) call back into pump(); the outer call goes on, so
// the stack does not grow with the number of jobs.
void BatchPipeline::pump(Lane& lane) {
  if (lane.pumping) return;
  lane.pumping = true;
  for (;;) {
    ReadyJob next;
    {
      std::lock_guard lock(mutex_);
      if (closed_ || lane.running.load(std::memory_order_relaxed) >= lane.capacity ||
          ready_.empty() || failed_enough()) {
        lane.pump_posted = false;
        break;
      }
      next = std::move(ready_.front());
      ready_.pop_front();
    }
    lane.running.fetch_add(1, std::memory_order_relaxed);
    launch_on_loop(engine_, lane.loop, std::move(next.request),
                   [self = shared_from_this(), lane = &lane, id = std::move(next.id)](RunResult result) {
                     self->ended(*lane, std::move(id), std::move(result));
                   });
  }
  lane.pumping = false;
}

// Lane's loop: a run ended. Its result waits in `lane.ended` until the loop
// has handled this round of events; then deliver() hands them all over.
void BatchPipeline::ended(Lane& lane, std::string id, RunResult result) {
  FinishedJob done;
  done.id = std::move(id);
  done.completed = result.state == RunState::Completed;
  done.outputs = std::move(result.outputs);
  if (result.error) done.error = std::move(*result.error);
  else if (!done.completed) done.error = {"cancelled", "the run was cancelled", ""};
  done.context_id = std::move(result.context_id);
  done.duration_ms = result.duration_ms;
  lane.running.fetch_sub(1, std::memory_order_relaxed);
  if (!done.completed) failures_.fetch_add(1, std::memory_order_relaxed);
  lane.ended.push_back(std::move(done));
  if (!lane.deliver_posted) {
    lane.deliver_posted = true;
    post_to_loop(engine_, lane.loop, [self = shared_from_this(), lane = &lane] { self->deliver(*lane); });
  }
  pump(lane);
}

// Lane's loop: hands the ended runs to the batch thread.
void BatchPipeline::deliver(Lane& lane) {
  lane.deliver_posted = false;
  bool wake;
  {
    std::lock_guard lock(mutex_);
    wake = finished_.empty();
    for (FinishedJob& done : lane.ended) finished_.push_back(std::move(done));
  }
  lane.ended.clear();
  // A non-empty queue has woken the batch thread already.
  if (wake) finished_cv_.notify_one();
}

}  // namespace flowline
