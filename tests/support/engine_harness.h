// A GoogleTest fixture for runtime tests from an author's side: load and
// validate a small definition set (optionally with a personal OAuth
// connection, alias `acme`), build an engine around a FakeTransport, a
// MemoryVault and a log that collects lines, and run targets through it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "runtime/engine.h"
#include "support/fake_transport.h"
#include "support/memory_vault.h"

namespace flowline::testing {


class CollectingLog : public LogSink {
 public:
  void log(LogLevel level, std::string_view, std::string_view step,
           std::string_view message) override {
    std::lock_guard lock(mutex_);
    std::string_view name = level == LogLevel::Error  ? "error"
                            : level == LogLevel::Warn ? "warn"
                            : level == LogLevel::Debug ? "debug"
                                                       : "info";
    lines_.push_back(std::string(name) + " " + std::string(step) + ": " + std::string(message));
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// The connection every REST test binds to: a personal OAuth credential.
constexpr const char* kAcme = R"yaml(
kind: OAuthProfile
name: acme_oauth
client_id: flow-basic
client_secret: {env: FLOWLINE_TEST_CLIENT_SECRET}
authorization_url: https://auth.acme.example/authorize
token_url: https://auth.acme.example/token
redirect_url: http://127.0.0.1/callback
grant_type: authorization_code
scopes: [openid]
---
kind: ConnectionAlias
name: acme
type: connection_and_credential
---
kind: HttpConnection
name: acme_prod
alias: acme
url: https://api.acme.example
credential: acme_personal
---
kind: Credential
name: acme_personal
type: oauth2
oauth_profile: acme_oauth
integration_type: personal
)yaml";

class EngineHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("FLOWLINE_TEST_CLIENT_SECRET", "s3cret", 1);
    static std::atomic<int> counter{0};
    home_ = std::filesystem::path(::testing::TempDir()) /
            ("flowline_engine_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
  }
  void TearDown() override {
    engine_.reset();
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
  }

  // Loads and validates `yaml` (plus the ACME connection when asked), then
  // builds the engine. Validation errors fail the test unless `allow_errors`.
  void load(const std::string& yaml, bool with_acme = false, bool allow_errors = false,
            RunLimits limits = {}) {
    DefinitionSet set;
    Diagnostics diagnostics;
    load_definitions_from_text("test.yaml", yaml, set, diagnostics);
    if (with_acme) load_definitions_from_text("acme.yaml", kAcme, set, diagnostics);
    ASSERT_FALSE(diagnostics.has_errors()) << render_text(diagnostics);
    validate(set, diagnostics);
    if (!allow_errors) ASSERT_FALSE(diagnostics.has_errors()) << render_text(diagnostics);
    build(std::move(set), limits);
  }

  void build(DefinitionSet set, RunLimits limits = {}) {
    EngineOptions options;
    options.home = home_.string();
    options.keep_records = false;
    options.limits = limits;
    options.scripts = script_limits_;
    options.vault = vault_;
    options.log = log_;
    auto http = http_;
    options.transport_factory = [http](EventLoop& loop) -> std::unique_ptr<HttpTransport> {
      return std::make_unique<FakeTransport>(loop, http);
    };
    auto engine = make_engine(std::move(set), std::move(options));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
  }

  RunResult run(const std::string& target, Value inputs = ValueObject{},
                std::optional<std::string> user = std::nullopt,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    RunRequest request;
    request.target = target;
    request.inputs = std::move(inputs);
    request.user = std::move(user);
    request.timeout = timeout;
    if (!engine_) {  // load() failed its assertions
      RunResult none;
      none.error = RunError{"no_engine", "the definitions did not load", ""};
      return none;
    }
    return start_run(*engine_, std::move(request))->wait();
  }

  static std::string error_of(const RunResult& r) {
    if (!r.error) return "(no error) outputs=" + r.outputs.to_json();
    return r.error->code + " | " + r.error->message + " | " + r.error->step;
  }

  std::filesystem::path home_;
  std::shared_ptr<FakeHttp> http_ = std::make_shared<FakeHttp>();
  std::shared_ptr<MemoryVault> vault_ = std::make_shared<MemoryVault>();
  std::shared_ptr<CollectingLog> log_ = std::make_shared<CollectingLog>();
  ScriptLimits script_limits_;  // set before load()
  std::unique_ptr<Engine> engine_;
};

}  // namespace flowline::testing
