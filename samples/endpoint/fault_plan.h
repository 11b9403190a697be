// Injected faults for tests: the next N requests to a surface answer an error status (503 with
// Retry-After, 429, ...), and every request to a surface can be delayed.
//
// Surfaces are separate so a test can break the incident API while token refresh works, or the
// token endpoint while the API works. Thread-safe. Delays wait on a condition variable, so
// Shutdown() ends them at once and stopping the server is never held up by a slow-mode sleep.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace flowline::sample {

enum class Surface { kApi, kToken, kRevoke };

// "api", "token", "revoke" -> Surface; nullopt for anything else.
std::optional<Surface> ParseSurface(std::string_view name);

struct InjectedFailure {
  int status = 503;
  std::optional<int> retry_after_seconds;  // the Retry-After header, when set
};

class FaultPlan {
 public:
  FaultPlan() = default;
  FaultPlan(const FaultPlan&) = delete;
  FaultPlan& operator=(const FaultPlan&) = delete;

  // The next `count` requests to `surface` fail with `failure` (count 0 clears).
  void FailNext(Surface surface, int count, InjectedFailure failure);
  // Takes one pending failure for `surface`, if any.
  std::optional<InjectedFailure> TakeFailure(Surface surface);

  void SetDelay(Surface surface, std::chrono::milliseconds delay);
  // Sleeps for the delay set for `surface` (returns early on Shutdown()).
  void Delay(Surface surface);

  // Clears every failure and delay.
  void Reset();
  // Wakes every sleeping Delay() and makes later ones return at once.
  void Shutdown();

 private:
  struct Pending {
    int remaining = 0;
    InjectedFailure failure;
  };

  std::mutex mu_;
  std::condition_variable wake_;
  bool shut_down_ = false;
  std::map<Surface, Pending> failures_;
  std::map<Surface, std::chrono::milliseconds> delays_;
};

}  // namespace flowline::sample
