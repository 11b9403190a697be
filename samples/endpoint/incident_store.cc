#include "samples/endpoint/incident_store.h"

#include <fmt/format.h>

#include <algorithm>

#include "samples/endpoint/crypto.h"

namespace flowline::sample {
namespace {

constexpr int kFirstCreatedNumber = 30001;

std::string SysIdFor(std::string_view number) {
  std::string digest = Sha256(number);
  std::string hex;
  for (size_t i = 0; i < 16; ++i)
    hex += fmt::format("{:02x}", static_cast<unsigned char>(digest[i]));
  return hex;
}

Incident Seed(std::string number, std::string short_description, std::string caller,
              std::string state, std::string priority) {
  Incident incident;
  incident.sys_id = SysIdFor(number);
  incident.number = std::move(number);
  incident.short_description = std::move(short_description);
  incident.caller_id = std::move(caller);
  incident.state = std::move(state);
  incident.priority = std::move(priority);
  return incident;
}

std::string TakeField(std::map<std::string, std::string>& fields, const std::string& name,
                      std::string fallback) {
  auto it = fields.find(name);
  if (it == fields.end()) return fallback;
  std::string value = std::move(it->second);
  fields.erase(it);
  return value;
}

}  // namespace

IncidentStore::IncidentStore() { Reset(); }

std::vector<Incident> IncidentStore::List(std::optional<std::string_view> caller, size_t offset,
                                          std::optional<size_t> limit, size_t* total) const {
  std::vector<Incident> matching;
  {
    std::lock_guard lock(mu_);
    for (const auto& incident : incidents_) {
      if (!caller || incident.caller_id == *caller) matching.push_back(incident);
    }
  }
  *total = matching.size();
  matching.erase(matching.begin(), matching.begin() + std::min(offset, matching.size()));
  if (limit && matching.size() > *limit) matching.resize(*limit);
  return matching;
}

std::optional<Incident> IncidentStore::Find(std::optional<std::string_view> caller,
                                            std::string_view number_or_sys_id) const {
  std::lock_guard lock(mu_);
  for (const auto& incident : incidents_) {
    bool matches = incident.number == number_or_sys_id || incident.sys_id == number_or_sys_id;
    if (matches && (!caller || incident.caller_id == *caller)) return incident;
  }
  return std::nullopt;
}

Incident IncidentStore::Create(std::string_view caller, std::map<std::string, std::string> fields) {
  for (const char* server_owned : {"sys_id", "number", "caller_id"}) fields.erase(server_owned);
  std::lock_guard lock(mu_);
  Incident incident;
  incident.number = fmt::format("INC{:07d}", next_number_++);
  incident.sys_id = SysIdFor(incident.number);
  incident.caller_id = std::string(caller);
  incident.short_description = TakeField(fields, "short_description", "");
  incident.state = TakeField(fields, "state", "New");
  incident.priority = TakeField(fields, "priority", "4 - Low");
  incident.other_fields = std::move(fields);
  incidents_.push_back(incident);
  return incident;
}

void IncidentStore::Reset() {
  std::lock_guard lock(mu_);
  incidents_ = {
      Seed("INC0010001", "Email client crashes on start", "alice", "In Progress", "2 - High"),
      Seed("INC0010002", "VPN disconnects every hour", "alice", "New", "3 - Moderate"),
      Seed("INC0010003", "Request a second monitor", "alice", "On Hold", "4 - Low"),
      Seed("INC0020001", "Printer on floor 3 jams", "bob", "New", "3 - Moderate"),
      Seed("INC0020002", "Password reset for the HR portal", "bob", "Resolved", "4 - Low"),
  };
  next_number_ = kFirstCreatedNumber;
}

}  // namespace flowline::sample
