#include "runtime/records/trace.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "runtime/records/redact.h"

namespace flowline {

namespace {

constexpr int kProcessId = 1;

// Integer microseconds of a time in milliseconds; negative and non-finite
// times count as 0.
int64_t to_us(double ms) {
  if (!std::isfinite(ms) || ms <= 0) return 0;
  return std::llround(ms * 1000.0);
}

// `text` with every invalid UTF-8 sequence replaced by U+FFFD, so that the
// trace is valid JSON whatever a message holds.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    bool valid = length > 0 && i + length <= text.size();
    uint32_t code = length == 1 ? c : length == 2 ? c & 0x1f : length == 3 ? c & 0x0f : c & 0x07;
    for (size_t k = 1; valid && k < length; ++k) {
      unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) valid = false;
      code = (code << 6) | (next & 0x3f);
    }
    // No overlong forms, surrogates or code points past U+10FFFF.
    if (valid && ((length == 2 && code < 0x80) || (length == 3 && code < 0x800) ||
                  (length == 4 && (code < 0x10000 || code > 0x10ffff)) ||
                  (code >= 0xd800 && code <= 0xdfff))) {
      valid = false;
    }
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out.append("\xef\xbf\xbd");
      ++i;
    }
  }
  return out;
}

std::string utc_iso(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buffer;
}

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& w, std::string_view text) {
  std::string valid = valid_utf8(text);
  w.String(valid.data(), static_cast<rapidjson::SizeType>(valid.size()));
}

void write_member(JsonWriter& w, std::string_view key, std::string_view value) {
  write_string(w, key);
  write_string(w, value);
}

void write_member(JsonWriter& w, std::string_view key, int64_t value) {
  write_string(w, key);
  w.Int64(value);
}

void write_member(JsonWriter& w, std::string_view key, double value) {
  write_string(w, key);
  w.Double(std::isfinite(value) ? value : 0.0);
}

struct Slice {
  int64_t ts = 0;
  int64_t end = 0;
  bool contains(const Slice& other) const { return ts <= other.ts && other.end <= end; }
};

// A thread whose open slices nest: each contains the next.
struct Lane {
  struct Open {
    Slice slice;
    std::string_view path;
    bool is_run = false;
  };
  std::vector<Open> open;

  // How well `slice` (starting no earlier than any slice placed before)
  // fits here once the slices that ended are closed: -1 not at all (the
  // innermost open slice does not contain it, or is not its ancestor by
  // path), else how deep the slice it would sit under is (0 on an idle
  // lane, 1 under the run, more under a step).
  int fit(const Slice& slice, std::string_view path) {
    while (!open.empty() && open.back().slice.end <= slice.ts) open.pop_back();
    if (open.empty()) return 0;
    const Open& top = open.back();
    if (!top.slice.contains(slice)) return -1;
    if (top.is_run) return 1;
    bool ancestor =
        path.size() > top.path.size() && path.starts_with(top.path) && path[top.path.size()] == '/';
    return ancestor ? 1 + static_cast<int>(top.path.size()) : -1;
  }
};

// Step indexes by start time, an enclosing step before what it encloses:
// the order viewers expect events that share a start time in.
std::vector<size_t> time_order(const std::vector<Slice>& slices) {
  std::vector<size_t> order(slices.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (slices[a].ts != slices[b].ts) return slices[a].ts < slices[b].ts;
    return slices[a].end > slices[b].end;
  });
  return order;
}

// The lane (0-based; lane 0 holds the run) of each step, so that every
// lane's slices nest and a step only ever shows beneath the run or one of
// its own ancestors. Steps are placed in time order, each on the lane where
// it sits under its deepest ancestor (an idle lane if none), else on a new
// lane.
std::vector<size_t> assign_lanes(const std::vector<Slice>& slices, const std::vector<size_t>& order,
                                 const RunResult& run, const Slice& run_slice, size_t* lane_count) {
  std::vector<Lane> lanes(1);
  lanes[0].open.push_back({run_slice, {}, true});
  std::vector<size_t> assigned(slices.size(), 0);
  for (size_t index : order) {
    const Slice& slice = slices[index];
    std::string_view path = run.steps[index].path;
    size_t chosen = lanes.size();
    int best = -1;
    for (size_t lane = 0; lane < lanes.size(); ++lane) {
      int fit = lanes[lane].fit(slice, path);
      if (fit > best) {
        best = fit;
        chosen = lane;
      }
    }
    if (chosen == lanes.size()) lanes.emplace_back();
    lanes[chosen].open.push_back({slice, path});
    assigned[index] = chosen;
  }
  *lane_count = lanes.size();
  return assigned;
}

void write_metadata(JsonWriter& w, std::string_view name, int tid, std::string_view value) {
  w.StartObject();
  write_member(w, "name", name);
  write_member(w, "ph", "M");
  write_member(w, "pid", int64_t{kProcessId});
  write_member(w, "tid", int64_t{tid});
  write_string(w, "args");
  w.StartObject();
  write_member(w, "name", value);
  w.EndObject();
  w.EndObject();
}

void write_complete_start(JsonWriter& w, std::string_view name, std::string_view category,
                          const Slice& slice, size_t lane) {
  write_member(w, "name", name);
  write_member(w, "cat", category);
  write_member(w, "ph", "X");
  write_member(w, "ts", slice.ts);
  write_member(w, "dur", slice.end - slice.ts);
  write_member(w, "pid", int64_t{kProcessId});
  write_member(w, "tid", static_cast<int64_t>(lane + 1));
}

}  // namespace

std::string chrome_trace_json(const RunResult& run) {
  std::vector<Slice> slices;
  slices.reserve(run.steps.size());
  int64_t last_end = 0;
  for (const StepRecord& step : run.steps) {
    Slice slice{to_us(step.started_ms), to_us(step.started_ms + std::max(step.duration_ms, 0.0))};
    slice.end = std::max(slice.end, slice.ts);
    last_end = std::max(last_end, slice.end);
    slices.push_back(slice);
  }
  // The run encloses every step even if a clock reading says otherwise.
  Slice run_slice{0, std::max(to_us(run.duration_ms), last_end)};
  std::vector<size_t> order = time_order(slices);
  size_t lane_count = 1;
  std::vector<size_t> lanes = assign_lanes(slices, order, run, run_slice, &lane_count);

  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_string(w, "traceEvents");
  w.StartArray();

  write_metadata(w, "process_name", 1, "flowline " + run.target);
  write_metadata(w, "thread_name", 1, "run");
  for (size_t lane = 1; lane < lane_count; ++lane) {
    write_metadata(w, "thread_name", static_cast<int>(lane + 1),
                   "parallel " + std::to_string(lane));
  }

  w.StartObject();
  write_complete_start(w, run.target, "run", run_slice, 0);
  write_string(w, "args");
  w.StartObject();
  write_member(w, "context_id", run.context_id);
  write_member(w, "user", run.user ? *run.user : std::string("(none)"));
  write_member(w, "source", run_source_name(run.source));
  write_member(w, "state", run_state_name(run.state));
  write_member(w, "started_at", utc_iso(run.started_at));
  write_member(w, "duration_ms", run.duration_ms);
  if (run.error) {
    write_member(w, "error_code", run.error->code);
    write_member(w, "error_message", redact_text(run.error->message));
    if (!run.error->step.empty()) write_member(w, "error_step", run.error->step);
  }
  w.EndObject();
  w.EndObject();

  for (size_t i : order) {
    const StepRecord& step = run.steps[i];
    w.StartObject();
    write_complete_start(w, step.path, step.type.empty() ? "step" : step.type, slices[i], lanes[i]);
    write_string(w, "args");
    w.StartObject();
    write_member(w, "id", step.id);
    write_member(w, "state", run_state_name(step.state));
    write_member(w, "duration_ms", step.duration_ms);
    if (step.http) {
      write_member(w, "http_method", step.http->method);
      write_member(w, "http_url", redact_url(step.http->url));
      write_member(w, "http_status", int64_t{step.http->status});
      write_member(w, "http_attempts", int64_t{step.http->attempts});
      write_member(w, "http_time_ms", step.http->time_ms);
    }
    if (!step.error_code.empty()) write_member(w, "error_code", step.error_code);
    if (!step.error_message.empty()) {
      write_member(w, "error_message", redact_text(step.error_message));
    }
    w.EndObject();
    w.EndObject();
  }

  w.EndArray();
  write_member(w, "displayTimeUnit", "ms");
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

Status write_trace(const RunResult& run, const std::string& path) {
  std::string json = chrome_trace_json(run);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Status("trace_io", "cannot write the trace " + path + ": " + std::strerror(errno));
  }
  bool written = std::fwrite(json.data(), 1, json.size(), file) == json.size();
  int write_errno = errno;
  if (std::fclose(file) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) {
    return Status("trace_io", "cannot write the trace " + path + ": " + std::strerror(write_errno));
  }
  return Status();
}

}  // namespace flowline
