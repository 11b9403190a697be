// curl_multi_baseline: the floor that `flowline batch` is measured against
// (bench/RESULTS.md, "Batch"). It makes N GETs of one URL with a Bearer
// token, keeping C transfers in flight on one libcurl multi handle, as
// Flowline's event loop does — but with nothing else: no definitions, no
// runs, no JSON parsing, no result lines. Easy handles are created once per
// slot and reused, so connections stay alive across requests.
//
//   curl_multi_baseline --url URL --requests N --concurrency C [--token T]
//
// Prints one line: "requests=N ok=K failed=F seconds=S jobs_per_s=R".
// Exit 0 when every request got a 2xx, 1 otherwise, 2 on bad arguments.
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string url;
  long requests = 20000;
  long concurrency = 64;
  std::string token = "bench-token";
};

// Counts the reply body (and throws it away): the baseline reads every byte,
// as Flowline must, without keeping or parsing it.
size_t discard_body(char*, size_t size, size_t count, void* received) {
  *static_cast<size_t*>(received) += size * count;
  return size * count;
}

struct Slot {
  CURL* easy = nullptr;
  size_t received = 0;
};

bool parse_args(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--url" && (v = value())) options.url = v;
    else if (arg == "--requests" && (v = value())) options.requests = std::atol(v);
    else if (arg == "--concurrency" && (v = value())) options.concurrency = std::atol(v);
    else if (arg == "--token" && (v = value())) options.token = v;
    else return false;
  }
  return !options.url.empty() && options.requests > 0 && options.concurrency > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (!parse_args(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: curl_multi_baseline --url URL [--requests N] [--concurrency C] [--token T]\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  // The same pool settings as Flowline's EventLoop: no per-host limit, and
  // enough cached connections for every slot.
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, std::max(256L, options.concurrency));

  std::string authorization = "Authorization: Bearer " + options.token;
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, authorization.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");

  const long slots_count = std::min(options.concurrency, options.requests);
  std::vector<Slot> slots(static_cast<size_t>(slots_count));
  for (Slot& slot : slots) {
    slot.easy = curl_easy_init();
    curl_easy_setopt(slot.easy, CURLOPT_URL, options.url.c_str());
    curl_easy_setopt(slot.easy, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &discard_body);
    curl_easy_setopt(slot.easy, CURLOPT_WRITEDATA, &slot.received);
    curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, &slot);
  }

  long started = 0, ok = 0, failed = 0;
  const auto began = std::chrono::steady_clock::now();
  for (Slot& slot : slots) {
    curl_multi_add_handle(multi, slot.easy);
    ++started;
  }
  int running = 0;
  while (ok + failed < options.requests) {
    curl_multi_perform(multi, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (msg->data.result == CURLE_OK && status >= 200 && status < 300) ++ok;
      else ++failed;
      curl_multi_remove_handle(multi, easy);
      if (started < options.requests) {
        Slot* slot = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &slot);
        slot->received = 0;
        curl_multi_add_handle(multi, easy);  // the same handle: its connection is reused
        ++started;
      }
    }
    if (ok + failed < options.requests) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  for (Slot& slot : slots) curl_easy_cleanup(slot.easy);
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  std::printf("requests=%ld ok=%ld failed=%ld seconds=%.3f jobs_per_s=%.0f\n", options.requests, ok,
              failed, seconds, seconds > 0 ? static_cast<double>(options.requests) / seconds : 0.0);
  return failed == 0 ? 0 : 1;
}
