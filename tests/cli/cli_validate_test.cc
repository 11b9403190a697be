// The `flowline` program from the user's side: real processes, real files.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

Result run(const std::string& args, const std::string& stdin_text = "") {
  std::string command = std::string(FLOWLINE_BINARY) + " " + args + " 2>&1";
  if (!stdin_text.empty()) {
    fs::path input = fs::temp_directory_path() / ("flowline-stdin-" + std::to_string(getpid()));
    std::ofstream(input) << stdin_text;
    command += " < " + input.string();
  }
  Result result;
  FILE* pipe = popen(("cd " FLOWLINE_SOURCE_DIR " && NO_COLOR=1 " + command).c_str(), "r");
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("flowline-cli-" + std::to_string(getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

TEST(CliValidate, SampleIsClean) {
  Result r = run("validate samples/personal-incidents");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "6 definitions checked, no problems\n");
}

TEST(CliValidate, ReportsErrorWithCaretAndExitsOne) {
  TempDir dir;
  std::string file = dir.write("a.yaml",
                               "kind: ConnectionAlias\n"
                               "name: acme\n"
                               "retry_polcy: {count: 2}\n"
                               "---\n"
                               "kind: HttpConnection\n"
                               "name: acme_prod\n"
                               "alias: acme\n"
                               "url: https://api.example\n");
  Result r = run("validate " + file);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(file + ":3:1: error [unknown-key] unknown key 'retry_polcy' (did you mean "
                              "'retry_policy'?)\n"
                              "   3 | retry_polcy: {count: 2}\n"
                              "     | ^~~~~~~~~~~\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 error"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\x1b["), std::string::npos) << "no colour when not a TTY";
}

TEST(CliValidate, WarningsFailOnlyWithStrict) {
  TempDir dir;
  std::string file = dir.write("p.yaml",
                               "kind: OAuthProfile\n"
                               "name: p\n"
                               "client_id: id\n"
                               "client_secret: hunter2\n"
                               "token_url: https://auth.example/token\n"
                               "grant_type: client_credentials\n");
  Result lenient = run("validate " + file);
  EXPECT_EQ(lenient.exit_code, 0) << lenient.out;
  EXPECT_NE(lenient.out.find("warning [literal-secret]"), std::string::npos) << lenient.out;
  EXPECT_EQ(lenient.out.find("hunter2"), std::string::npos) << "the secret is never echoed back";
  EXPECT_NE(lenient.out.find("client_secret: *******\n"), std::string::npos) << lenient.out;
  Result strict = run("validate --strict " + file);
  EXPECT_EQ(strict.exit_code, 1) << strict.out;
}

TEST(CliValidate, MissingPathIsUsageError) {
  Result r = run("validate /no/such/flowline/dir");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("no such file or directory: '/no/such/flowline/dir'"), std::string::npos);
}

TEST(CliValidate, UnknownFormatIsUsageError) {
  Result r = run("validate --format xml samples/personal-incidents");
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST(CliValidate, JsonAndSarifAreParseable) {
  TempDir dir;
  std::string file = dir.write("a.yaml", "kind: Nope\nname: x\n");
  Result json = run("validate --format json " + file);
  EXPECT_EQ(json.exit_code, 1);
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(json.out.c_str()).HasParseError()) << json.out;
  ASSERT_TRUE(doc["diagnostics"].IsArray());
  ASSERT_EQ(doc["diagnostics"].Size(), 1u);
  EXPECT_STREQ(doc["diagnostics"][0]["code"].GetString(), "unknown-kind");
  EXPECT_EQ(doc["diagnostics"][0]["line"].GetInt(), 1);
  EXPECT_EQ(doc["diagnostics"][0]["column"].GetInt(), 7);

  Result sarif = run("validate --format sarif " + file);
  EXPECT_EQ(sarif.exit_code, 1);
  rapidjson::Document log;
  ASSERT_FALSE(log.Parse(sarif.out.c_str()).HasParseError()) << sarif.out;
  EXPECT_STREQ(log["version"].GetString(), "2.1.0");
  EXPECT_STREQ(log["runs"][0]["results"][0]["ruleId"].GetString(), "unknown-kind");
}

TEST(CliValidate, ReadsStandardInput) {
  Result r = run("validate -", "kind: ConnectionAlias\nname: acme\ntype: nope\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("<stdin>:3:7: error [unknown-value]"), std::string::npos) << r.out;
}

TEST(CliValidate, ReportsEveryFileInOnePass) {
  TempDir dir;
  dir.write("one.yaml", "kind: Subflw\nname: a\n");
  dir.write("two.json", "{\"kind\": \"Action\", \"name\": \"b\", \"stepz\": []}");
  dir.write("ignored.txt", "not a definition");
  Result r = run("validate " + dir.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("one.yaml:1:7: error [unknown-kind]"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("missing-field"), std::string::npos)
      << "a misspelt required key is reported once, as misspelt\n" << r.out;
  EXPECT_NE(r.out.find("two.json:1:33: error [unknown-key] unknown key 'stepz' (did you mean 'steps'?)"),
            std::string::npos)
      << r.out;
}

TEST(Cli, VersionAndHelp) {
  Result version = run("--version");
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "flowline " FLOWLINE_VERSION "\n");
  for (const char* args : {"--help", "validate --help", "schema --help"}) {
    Result help = run(args);
    EXPECT_EQ(help.exit_code, 0) << args;
    EXPECT_NE(help.out.find("Usage:"), std::string::npos) << args << "\n" << help.out;
  }
  Result none = run("");
  EXPECT_EQ(none.exit_code, 2) << none.out;
  Result unknown = run("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2) << unknown.out;
}

TEST(Cli, SchemaIsJson) {
  Result r = run("schema");
  EXPECT_EQ(r.exit_code, 0);
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(r.out.c_str()).HasParseError());
  EXPECT_STREQ(doc["$schema"].GetString(), "http://json-schema.org/draft-07/schema#");
}

}  // namespace
