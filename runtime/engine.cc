#include "runtime/engine.h"

#include <fmt/format.h>
#include <pthread.h>
#include <pwd.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dsl/decoder.h"
#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "runtime/http/curl_transport.h"
#include "runtime/records/run_store.h"
#include "runtime/script/script_runner.h"
#include "runtime/steps/rest_plan.h"
#include "runtime/walker.h"

namespace flowline {

// ---- RunHandle ------------------------------------------------------------

bool RunHandle::done() const {
  std::lock_guard lock(mutex_);
  return result_.has_value();
}

RunState RunHandle::state() const {
  std::lock_guard lock(mutex_);
  return result_ ? result_->state : RunState::InProgress;
}

RunResult RunHandle::wait() const {
  std::unique_lock lock(mutex_);
  finished_.wait(lock, [&] { return result_.has_value(); });
  return *result_;
}

std::optional<RunResult> RunHandle::result() const {
  std::lock_guard lock(mutex_);
  return result_;
}

void RunHandle::cancel() {
  std::function<void()> cancel;
  {
    std::lock_guard lock(mutex_);
    if (result_) return;
    cancel_requested_ = true;
    cancel = cancel_;
  }
  if (cancel) cancel();
}

void RunHandle::set_cancel(std::function<void()> cancel) {
  bool requested;
  {
    std::lock_guard lock(mutex_);
    cancel_ = cancel;
    requested = cancel_requested_;
  }
  if (requested && cancel) cancel();
}

void RunHandle::on_finish(std::function<void(const RunResult&)> fn) {
  {
    std::lock_guard lock(mutex_);
    if (!result_) {
      on_finish_ = std::move(fn);
      return;
    }
  }
  fn(*result_);  // finished already: result_ no longer changes
}

void RunHandle::finish(RunResult result) {
  std::function<void(const RunResult&)> notify;
  {
    std::lock_guard lock(mutex_);
    result_ = std::move(result);
    cancel_ = nullptr;
    notify = std::move(on_finish_);
  }
  finished_.notify_all();
  if (notify) notify(*result_);
}

std::string new_context_id() {
  // Random bytes are drawn 4 KiB at a time per thread (256 ids per system
  // call): a batch makes an id per job.
  // A forked child draws afresh: it must not repeat its parent's ids.
  struct Pool {
    unsigned char bytes[4096];
    size_t used = sizeof bytes;
    unsigned generation = 0;
  };
  static std::atomic<unsigned> generation{1};
  static const bool ready = [] {
    if (sodium_init() < 0) std::abort();
    pthread_atfork(nullptr, nullptr, [] { generation.fetch_add(1); });
    return true;
  }();
  (void)ready;
  thread_local Pool pool;
  const unsigned now = generation.load(std::memory_order_relaxed);
  if (pool.used == sizeof pool.bytes || pool.generation != now) {
    randombytes_buf(pool.bytes, sizeof pool.bytes);
    pool.used = 0;
    pool.generation = now;
  }
  unsigned char bytes[16];
  std::memcpy(bytes, pool.bytes + pool.used, sizeof bytes);
  sodium_memzero(pool.bytes + pool.used, sizeof bytes);  // an id is drawn once
  pool.used += sizeof bytes;
  bytes[6] = (bytes[6] & 0x0f) | 0x40;  // UUID version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) hex += '-';
    hex += kHex[bytes[i] >> 4];
    hex += kHex[bytes[i] & 0x0f];
  }
  return hex;
}

namespace {

// Runs started in this process, by context id (FlowAPI::getStatus & co).
std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<RunHandle>>& registry() {
  static std::map<std::string, std::weak_ptr<RunHandle>> runs;
  return runs;
}

}  // namespace

std::shared_ptr<RunHandle> lookup_run(const std::string& context_id) {
  std::lock_guard lock(registry_mutex);
  auto it = registry().find(context_id);
  return it == registry().end() ? nullptr : it->second.lock();
}

namespace {

// The newest finished runs stay reachable by context id even when the caller
// kept only the id (FlowAPI::getStatus/getOutputs after inBackground().run()).
constexpr size_t kKeptFinishedRuns = 1024;
void keep_finished(std::shared_ptr<RunHandle> handle) {
  static std::deque<std::shared_ptr<RunHandle>> kept;
  std::lock_guard lock(registry_mutex);
  kept.push_back(std::move(handle));
  if (kept.size() <= kKeptFinishedRuns) return;
  std::string evicted = kept.front()->context_id();
  kept.pop_front();
  auto it = registry().find(evicted);
  if (it != registry().end() && it->second.expired()) registry().erase(it);
}

class StderrLog : public LogSink {
 public:
  void log(LogLevel level, std::string_view context_id, std::string_view step,
           std::string_view message) override {
    std::string_view name = level == LogLevel::Error  ? "error"
                            : level == LogLevel::Warn ? "warn"
                            : level == LogLevel::Debug ? "debug"
                                                       : "info";
    std::fputs(fmt::format("[{}] {} {}: {}\n", name, context_id.substr(0, 8), step, message).c_str(),
               stderr);
  }
};

// Saves execution records on a thread of its own, so a slow disk or a busy
// database never stalls the event loop. Drains its queue when destroyed.
class RecordWriter {
 public:
  explicit RecordWriter(std::unique_ptr<RunStore> store) : store_(std::move(store)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~RecordWriter() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  void save(RunResult result) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(result));
    }
    wake_.notify_one();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      RunResult next = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      Status saved = store_->save(next);
      if (!saved.ok())
        std::fputs(fmt::format("flowline: could not store the record of run {}: {}\n",
                               next.context_id, saved.message())
                       .c_str(),
                   stderr);
      lock.lock();
    }
  }

  std::unique_ptr<RunStore> store_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<RunResult> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

class EngineImpl : public Engine {
 public:
  EngineImpl(DefinitionSet set, EngineOptions options)
      : set_(std::move(set)), options_(std::move(options)), resolver_(set_) {}

  Status init() {
    std::string home = options_.home.empty() ? flowline_home() : options_.home;
    if (!options_.vault || options_.keep_records) {
      std::error_code ec;
      std::filesystem::create_directories(home, ec);
      if (ec)
        return Status("home_unwritable", fmt::format("cannot create {}: {}", home, ec.message()));
      std::filesystem::permissions(home, std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::replace, ec);
    }
    if (options_.vault) {
      vault_ = options_.vault;
    } else {
      auto opened = open_sqlite_vault(home + "/flowline.db", home + "/vault.key");
      if (!opened.ok()) return opened.status();
      vault_ = std::shared_ptr<TokenVault>(std::move(opened).value());
    }
    if (options_.keep_records) {
      auto store = RunStore::open(home + "/flowline.db");
      if (!store.ok()) return store.status();
      records_ = std::make_unique<RecordWriter>(std::move(store).value());
    }
    log_ = options_.log ? options_.log : std::make_shared<StderrLog>();
    auto now = options_.now ? options_.now : [] { return std::chrono::system_clock::now(); };
    // How long a crashed process's refresh lease holds the others back.
    if (const char* ttl = std::getenv("FLOWLINE_REFRESH_LEASE_TTL"); ttl && *ttl) {
      auto parsed = parse_duration(ttl);
      if (!parsed || parsed->count() <= 0)
        return Status("usage", fmt::format("FLOWLINE_REFRESH_LEASE_TTL must be a duration such as "
                                           "30s, not '{}'",
                                           ttl));
      options_.refresh.lease_ttl = *parsed;
    }
    rest_plans_ = plan_rest_steps(set_, resolver_);
    const size_t loops = std::max<size_t>(1, options_.loops);
    for (size_t i = 0; i < loops; ++i) {
      auto shard = std::make_unique<Shard>();
      Shard& sh = *shard;
      sh.transport = options_.transport_factory ? options_.transport_factory(sh.loop)
                                                : std::make_unique<CurlTransport>(sh.loop);
      sh.oauth = std::make_unique<OAuthClient>(*sh.transport);
      // One broker per loop: refreshes of one token by runs on different
      // loops meet at the vault's lease, as those of two processes do.
      sh.broker = std::make_unique<VaultTokenBroker>(*vault_, *sh.oauth, sh.loop, now, options_.refresh);
      sh.scripts = std::make_unique<ScriptRunner>(
          sh.loop, *log_, options_.scripts,
          ScriptRunHooks{[this](RunRequest request) { return start(std::move(request)); },
                         [](const std::string& id) { return lookup_run(id); }});
      sh.services.scripts = sh.scripts.get();
      sh.services.loop = &sh.loop;
      sh.services.transport = sh.transport.get();
      sh.services.tokens = sh.broker.get();
      sh.services.log = log_.get();
      sh.services.connections = &resolver_;
      sh.services.limits = options_.limits;
      sh.services.record_simple_steps = options_.record_simple_steps;
      sh.services.record_steps = options_.record_steps;
      sh.services.unread_headers = &rest_plans_.unread_headers;
      sh.services.fixed_url_paths = &rest_plans_.fixed_url_paths;
      sh.services.now = now;
      shards_.push_back(std::move(shard));
    }
    for (auto& shard : shards_) {
      Shard* sh = shard.get();
      sh->thread = std::thread([sh] { sh->loop.run_until([sh] { return sh->stopping && sh->runs.empty(); }); });
    }
    return Status();
  }

  ~EngineImpl() override {
    // Cancel what is still running and let it unwind on each loop.
    for (auto& shard : shards_) {
      Shard* sh = shard.get();
      sh->loop.post([sh] {
        sh->stopping = true;
        for (auto& [serial, execution] : sh->runs) execution->cancel();
      });
    }
    for (auto& shard : shards_)
      if (shard->thread.joinable()) shard->thread.join();
  }

  std::shared_ptr<RunHandle> start(RunRequest request) {
    auto handle = std::make_shared<RunHandle>(request.context_id.empty() ? new_context_id()
                                                                          : request.context_id);
    request.context_id = handle->context_id();
    bool remember = request.remember;
    if (remember) {
      std::lock_guard lock(registry_mutex);
      registry()[handle->context_id()] = handle;
    }
    // Runs go to the loops in turn.
    const size_t index = next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size();
    shards_[index]->loop.post([this, index, handle, remember, request = std::move(request)]() mutable {
      launch(index, std::move(request), handle, [handle, remember](RunResult result) {
        handle->finish(std::move(result));
        if (remember) keep_finished(handle);
      });
    });
    return handle;
  }

  // Starts a run on loop `index`, from that loop's thread; `done` gets its
  // result there. `handle` (may be null) learns how to cancel it.
  void launch(size_t index, RunRequest request, const std::shared_ptr<RunHandle>& handle,
              std::function<void(RunResult)> done) {
    Shard& sh = *shards_[index];
    assert(sh.loop.in_loop_thread());
    if (request.context_id.empty()) request.context_id = new_context_id();
    const uint64_t serial = sh.next_serial++;
    std::string context_id = request.context_id;
    auto execution = std::make_unique<RunExecution>(set_, sh.services, std::move(request),
                                                    std::move(context_id));
    RunExecution* raw = execution.get();
    sh.runs.emplace(serial, std::move(execution));
    if (handle)
      handle->set_cancel([sh = &sh, raw, serial] {
        sh->loop.post([sh, raw, serial] {
          if (sh->runs.count(serial)) raw->cancel();
        });
      });
    spawn<RunResult>(raw->run(), [this, sh = &sh, serial, done = std::move(done)](RunResult result) {
      if (records_) records_->save(result);  // a failed save never fails the run
      done(std::move(result));
      // Free the execution after its coroutine frame is gone.
      sh->loop.post([sh, serial] { sh->runs.erase(serial); });
    });
  }

  size_t loops() const { return shards_.size(); }
  void post(size_t index, std::function<void()> fn) { shards_[index]->loop.post(std::move(fn)); }

  const DefinitionSet& definitions() const { return set_; }
  TokenVault& vault() { return *vault_; }
  const VaultTokenBroker& broker() const { return *shards_.front()->broker; }

 private:
  std::shared_ptr<RunHandle> start_run(const std::string& target, std::optional<std::string> user,
                                       Value inputs, std::chrono::milliseconds timeout) override {
    RunRequest request;
    request.target = target;
    request.user = std::move(user);
    request.inputs = std::move(inputs);
    request.timeout = timeout;
    request.source = RunSource::Api;
    return start(std::move(request));
  }

  DefinitionSet set_;
  EngineOptions options_;
  ConnectionResolver resolver_;
  RestPlans rest_plans_;
  // One event loop and thread, with what lives on it. Members are destroyed
  // in reverse: the scripts, broker and transport before their loop.
  struct Shard {
    EventLoop loop;
    std::unique_ptr<HttpTransport> transport;
    std::unique_ptr<OAuthClient> oauth;
    std::unique_ptr<VaultTokenBroker> broker;
    std::unique_ptr<ScriptRunner> scripts;
    RuntimeServices services;
    std::unordered_map<uint64_t, std::unique_ptr<RunExecution>> runs;  // loop thread only
    uint64_t next_serial = 1;                                           // loop thread only
    bool stopping = false;                                              // loop thread only
    std::thread thread;
  };

  std::shared_ptr<TokenVault> vault_;
  std::unique_ptr<RecordWriter> records_;
  std::shared_ptr<LogSink> log_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<size_t> next_shard_{0};
};

}  // namespace

Result<std::unique_ptr<Engine>> make_engine(DefinitionSet set, EngineOptions options) {
  auto engine = std::make_unique<EngineImpl>(std::move(set), std::move(options));
  Status status = engine->init();
  if (!status.ok()) return status;
  return std::unique_ptr<Engine>(std::move(engine));
}

std::shared_ptr<RunHandle> start_run(Engine& engine, RunRequest request) {
  return static_cast<EngineImpl&>(engine).start(std::move(request));
}

size_t engine_loops(Engine& engine) { return static_cast<EngineImpl&>(engine).loops(); }

void launch_on_loop(Engine& engine, size_t loop, RunRequest request,
                    std::function<void(RunResult)> done) {
  static_cast<EngineImpl&>(engine).launch(loop, std::move(request), nullptr, std::move(done));
}

void post_to_loop(Engine& engine, size_t loop, std::function<void()> fn) {
  static_cast<EngineImpl&>(engine).post(loop, std::move(fn));
}

TokenVault& engine_vault(Engine& engine) { return static_cast<EngineImpl&>(engine).vault(); }

const DefinitionSet& engine_definitions(Engine& engine) {
  return static_cast<EngineImpl&>(engine).definitions();
}

const VaultTokenBroker& engine_broker(Engine& engine) {
  return static_cast<EngineImpl&>(engine).broker();
}

std::unique_ptr<Engine> Engine::open(const std::vector<std::string>& paths,
                                     const EngineConfig& config) {
  Diagnostics diagnostics;
  DefinitionSet set = load_definitions(paths, diagnostics);
  validate(set, diagnostics);
  if (diagnostics.has_errors()) {
    diagnostics.sort();
    throw FlowError("definitions_invalid", render_text(diagnostics));
  }
  EngineOptions options;
  options.home = config.home;
  options.keep_records = config.keep_records;
  auto engine = make_engine(std::move(set), std::move(options));
  if (!engine.ok()) throw FlowError(engine.status().code(), engine.status().message());
  return std::move(engine).value();
}

std::string Engine::default_user() {
  if (const char* user = std::getenv("FLOWLINE_USER"); user && *user) return user;
  if (struct passwd* pw = getpwuid(getuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user && *user) return user;
  return "unknown";
}

}  // namespace flowline
