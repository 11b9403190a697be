// Counters the sample endpoint keeps so tests can assert what reached it: how many token
// requests of each grant type, refreshes, revoked grants, API calls, Authorization headers seen.
//
// Counter names are dotted paths ("token_requests.refresh_token"); ToJson() nests them into
// objects. The counters named in the constructor always appear, at zero before first use, so a
// test can read them without a "missing means zero" rule. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace flowline::sample {

class Stats {
 public:
  Stats();
  Stats(const Stats&) = delete;
  Stats& operator=(const Stats&) = delete;

  void Add(const std::string& name, int64_t amount = 1);
  // Raises the counter to `value` if it is lower (a high-water mark).
  void Max(const std::string& name, int64_t value);
  int64_t Get(const std::string& name) const;
  // Sets every counter back to zero (dynamic ones, such as per-user counts, disappear).
  void Reset();
  // The counters as one JSON object, dotted names nested; `gauges` are merged in as they are.
  std::string ToJson(const std::map<std::string, int64_t>& gauges = {}) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, int64_t> counters_;
};

}  // namespace flowline::sample
