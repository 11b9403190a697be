#include "samples/endpoint/fault_plan.h"

namespace flowline::sample {

std::optional<Surface> ParseSurface(std::string_view name) {
  if (name == "api") return Surface::kApi;
  if (name == "token") return Surface::kToken;
  if (name == "revoke") return Surface::kRevoke;
  return std::nullopt;
}

void FaultPlan::FailNext(Surface surface, int count, InjectedFailure failure) {
  std::lock_guard lock(mu_);
  failures_[surface] = Pending{count, failure};
}

std::optional<InjectedFailure> FaultPlan::TakeFailure(Surface surface) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(surface);
  if (it == failures_.end() || it->second.remaining <= 0) return std::nullopt;
  --it->second.remaining;
  return it->second.failure;
}

void FaultPlan::SetDelay(Surface surface, std::chrono::milliseconds delay) {
  std::lock_guard lock(mu_);
  delays_[surface] = delay;
}

void FaultPlan::Delay(Surface surface) {
  std::unique_lock lock(mu_);
  auto it = delays_.find(surface);
  if (it == delays_.end() || it->second.count() <= 0) return;
  const std::chrono::milliseconds delay = it->second;  // Reset() may erase it while we wait
  wake_.wait_for(lock, delay, [this] { return shut_down_; });
}

void FaultPlan::Reset() {
  std::lock_guard lock(mu_);
  failures_.clear();
  delays_.clear();
}

void FaultPlan::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
  }
  wake_.notify_all();
}

}  // namespace flowline::sample
