// `flowline script` as a user runs it, against the sample endpoint on loopback:
// the reference product's sample script, verbatim, for a user with a token
// and for one without; syntax errors and uncaught exceptions with their
// lines; the time limit.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/endpoint_fixture.h"

namespace flowline {
namespace {

using e2e::ChildResult;
using e2e::Endpoint;

// The reference product's sample script exactly as it is published, plus one
// line after getOutputs() that prints the outputs.
constexpr const char* kSampleScript = R"js(try {
// Execute synchronously in the foreground. Allows access to subflow outputs.
var result = sn_fd.FlowAPI.getRunner()
.subflow('global.getpersonalincidentssubflow')
.inForeground()
.run();
var outputs = result.getOutputs();
gs.info(JSON.stringify(outputs));
} catch (ex) {
var message = ex.getMessage();
gs.error(message);
}
)js";

class CliScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = e2e::MakeTempDir("cli-script");
    home_ = root_ + "/home";
    defs_ = root_ + "/defs";
    endpoint_ = std::make_unique<Endpoint>();
    ASSERT_TRUE(endpoint_->started());
    e2e::CopySampleDefs(defs_, endpoint_->hostport());
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  ChildResult Flowline(const std::vector<std::string>& args) {
    std::map<std::string, std::string> env = {{"FLOWLINE_HOME", home_},
                                              {"ACME_CLIENT_SECRET", e2e::kClientSecret},
                                              {"FLOWLINE_VAULT_KEY", e2e::kVaultKey},
                                              {"NO_COLOR", "1"}};
    return e2e::RunFlowline(args, env, root_);
  }

  void Import(const std::string& user) {
    e2e::Tokens tokens = endpoint_->Login(user);
    std::string file = root_ + "/" + user + "-token.json";
    e2e::WriteFile(file, "{\"access_token\":\"" + tokens.access_token +
                             "\",\"token_type\":\"Bearer\",\"expires_in\":" +
                             std::to_string(tokens.expires_in) + ",\"refresh_token\":\"" +
                             tokens.refresh_token + "\"}");
    ChildResult imported = Flowline({"token", "import", "acme_personal", "--user", user, "--file",
                                     file, "-d", defs_});
    ASSERT_EQ(imported.exit_code, 0) << imported.out << imported.err;
  }

  std::string Script(const std::string& name, const std::string& code) {
    std::string path = root_ + "/" + name;
    e2e::WriteFile(path, code);
    return path;
  }

  std::string root_, home_, defs_;
  std::unique_ptr<Endpoint> endpoint_;
};

TEST_F(CliScriptTest, TheSampleScriptPrintsTheSubflowOutputsOfALoggedInUser) {
  Import("alice");
  ChildResult r = Flowline({"script", Script("sample.js", kSampleScript), "-d", defs_, "--user", "alice"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("\"caller_id\":\"alice\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"total\":3"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"caller_id\":\"bob\""), std::string::npos) << r.out;
  EXPECT_EQ(endpoint_->Stat("api_requests_by_user.alice"), 1);
}

TEST_F(CliScriptTest, TheSampleScriptsCatchBranchLogsThe401OfAUserWithoutAToken) {
  ChildResult r = Flowline({"script", Script("sample.js", kSampleScript), "-d", defs_, "--user", "bob"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;  // the script handled it
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("error: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no token for user 'bob'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("flowline token login global.acme_personal --user bob"), std::string::npos)
      << r.err;
  EXPECT_EQ(endpoint_->Stat("api_requests"), 0);  // nothing sent without a token
}

TEST_F(CliScriptTest, ASyntaxErrorIsReportedWithItsLineBeforeAnythingRuns) {
  ChildResult r = Flowline({"script", Script("broken.js", "var a = 1;\nvar b = ;\n"), "-d", defs_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("flowline script: " + root_ + "/broken.js:2: SyntaxError"), std::string::npos)
      << r.err;
}

TEST_F(CliScriptTest, AnUncaughtExceptionExitsOneWithItsLine) {
  ChildResult r = Flowline({"script", Script("throws.js", "gs.info('before');\nthrow new Error('boom');\n"),
                            "-d", defs_});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, "before\n");
  EXPECT_NE(r.err.find("throws.js:2: Error: boom"), std::string::npos) << r.err;
}

TEST_F(CliScriptTest, AnUnknownSubflowIsAnExceptionWithAClearMessage) {
  ChildResult r = Flowline({"script",
                            Script("unknown.js",
                                   "try { sn_fd.FlowAPI.getRunner().subflow('global.nope').inForeground().run(); }\n"
                                   "catch (ex) { gs.error(ex.getMessage()); }\n"),
                            "-d", defs_, "--user", "alice"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("global.nope"), std::string::npos) << r.err;
}

TEST_F(CliScriptTest, TheTimeLimitStopsALoop) {
  ChildResult r = Flowline({"script", Script("spin.js", "while (true) {}\n"), "-d", defs_,
                            "--timeout", "300ms"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("script_timeout"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace flowline
