#include "samples/endpoint/stats.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string_view>
#include <vector>

namespace flowline::sample {
namespace {

// Listed so they read as zero before anything happened. Document new ones in README.md.
constexpr std::string_view kKnownCounters[] = {
    "authorize_requests",
    "codes_issued",
    "token_requests.total",
    "token_requests.authorization_code",
    "token_requests.refresh_token",
    "token_requests.client_credentials",
    "token_requests.other",
    "token_errors",
    "refresh_requests",
    "refresh_reuse_detected",
    "code_replays",
    "revocation_requests",
    "revoked_grants",
    "revoked_access_tokens",
    "api_requests",
    "api_requests_with_auth",
    "api_unauthorized",
    "api_injected_failures",
    "api_peak_in_flight",
    "redirects_elsewhere",
    "record_auth_requests",
    "auth_headers_seen_on_record_endpoint",
};

struct Tree {
  int64_t value = 0;
  bool is_leaf = true;
  std::map<std::string, Tree> children;
};

void Insert(Tree& root, std::string_view name, int64_t value) {
  Tree* node = &root;
  while (true) {
    node->is_leaf = false;
    size_t dot = name.find('.');
    Tree& child = node->children[std::string(name.substr(0, dot))];
    if (dot == std::string_view::npos) {
      child.value = value;
      return;
    }
    node = &child;
    name = name.substr(dot + 1);
  }
}

void Write(const Tree& node, rapidjson::Writer<rapidjson::StringBuffer>& writer) {
  if (node.is_leaf) {
    writer.Int64(node.value);
    return;
  }
  writer.StartObject();
  for (const auto& [key, child] : node.children) {
    writer.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
    Write(child, writer);
  }
  writer.EndObject();
}

}  // namespace

Stats::Stats() { Reset(); }

void Stats::Add(const std::string& name, int64_t amount) {
  std::lock_guard lock(mu_);
  counters_[name] += amount;
}

void Stats::Max(const std::string& name, int64_t value) {
  std::lock_guard lock(mu_);
  int64_t& counter = counters_[name];
  if (value > counter) counter = value;
}

int64_t Stats::Get(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

void Stats::Reset() {
  std::lock_guard lock(mu_);
  counters_.clear();
  for (std::string_view name : kKnownCounters) counters_[std::string(name)] = 0;
}

std::string Stats::ToJson(const std::map<std::string, int64_t>& gauges) const {
  Tree root;
  root.is_leaf = false;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, value] : counters_) Insert(root, name, value);
  }
  for (const auto& [name, value] : gauges) Insert(root, name, value);
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  Write(root, writer);
  return buffer.GetString();
}

}  // namespace flowline::sample
