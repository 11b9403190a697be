// The incident table behind the sample API: each user's own fixed incidents, plus the ones
// created through POST. Thread-safe.
//
// Seed data (restored by Reset()): alice has 3 incidents (INC0010001-3), bob 2 (INC0020001-2),
// every other user none. Created incidents are numbered from INC0030001.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flowline::sample {

struct Incident {
  std::string sys_id;  // 32 hex digits, as in ServiceNow
  std::string number;
  std::string short_description;
  std::string caller_id;  // the user it belongs to
  std::string state;
  std::string priority;
  std::map<std::string, std::string> other_fields;  // whatever else a POST sent
};

class IncidentStore {
 public:
  IncidentStore();
  IncidentStore(const IncidentStore&) = delete;
  IncidentStore& operator=(const IncidentStore&) = delete;

  // The incidents of `caller` (all of them when `caller` is nullopt), in number order, skipping
  // `offset` and keeping at most `limit`. `total` receives the count before offset and limit.
  std::vector<Incident> List(std::optional<std::string_view> caller, size_t offset,
                             std::optional<size_t> limit, size_t* total) const;

  // The incident with this number or sys_id if it belongs to `caller` (any caller when
  // nullopt).
  std::optional<Incident> Find(std::optional<std::string_view> caller,
                               std::string_view number_or_sys_id) const;

  // Adds an incident for `caller`; `fields` supplies short_description, state, priority and any
  // other field, while sys_id, number and caller_id are the server's.
  Incident Create(std::string_view caller, std::map<std::string, std::string> fields);

  // Back to the seed data.
  void Reset();

 private:
  mutable std::mutex mu_;
  std::vector<Incident> incidents_;
  int next_number_ = 0;
};

}  // namespace flowline::sample
