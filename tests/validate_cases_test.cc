// Data-driven validation cases: every *.yaml file under tests/validate/ is one
// definition set that carries its expected diagnostics inline,
//
//   # expect-error: LINE: MESSAGE
//   # expect-warning: LINE: MESSAGE
//
// where LINE is the 1-based line of the diagnostic in the same file and
// MESSAGE its exact text. The file is loaded and validated, and the
// diagnostics must match the expectations exactly: a missing one fails, and
// so does one nobody expected. Each file is its own test, named after its path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "dsl/loader.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

namespace fs = std::filesystem;

const fs::path kSourceDir = FLOWLINE_SOURCE_DIR;
const fs::path kCasesDir = kSourceDir / "tests" / "validate";

// "LINE: error: MESSAGE": one comparable line per diagnostic or expectation.
std::string key(uint32_t line, std::string_view severity, std::string_view message) {
  return std::to_string(line) + ": " + std::string(severity) + ": " + std::string(message);
}

std::vector<std::string> expectations_in(const std::string& text) {
  static const std::regex kExpect(R"(#\s*expect-(error|warning):\s*(\d+):\s*(.*?)\s*$)");
  std::vector<std::string> expected;
  std::istringstream lines(text);
  std::string line;
  std::smatch match;
  while (std::getline(lines, line)) {
    if (std::regex_search(line, match, kExpect))
      expected.push_back(key(std::stoul(match[2]), match[1].str(), match[3].str()));
  }
  return expected;
}

std::vector<fs::path> case_files() {
  std::vector<fs::path> files;
  if (!fs::is_directory(kCasesDir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(kCasesDir)) {
    auto extension = entry.path().extension();
    if (entry.is_regular_file() && (extension == ".yaml" || extension == ".yml"))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Elements of `a` not matched by one of `b`, counting repeats.
std::vector<std::string> minus(std::vector<std::string> a, std::vector<std::string> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::string> out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

class ValidateCase : public ::testing::TestWithParam<fs::path> {};

TEST_P(ValidateCase, ReportsExactlyTheExpectedDiagnostics) {
  const fs::path& file = GetParam();
  std::ifstream in(file, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << file;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> expected = expectations_in(text);

  // Named as `flowline validate` run from the repository root would name it.
  std::string path = fs::relative(file, kSourceDir).generic_string();
  DefinitionSet set;
  Diagnostics diagnostics;
  load_definitions_from_text(path, text, set, diagnostics);
  validate(set, diagnostics);

  std::vector<std::string> actual;
  std::vector<std::string> described;  // with the code, for failure output
  for (const Diagnostic& d : diagnostics.items()) {
    std::string_view severity = d.severity == Severity::Error ? "error" : "warning";
    actual.push_back(key(d.range.begin.line, severity, d.message));
    described.push_back(actual.back() + "  [" + d.code + "]");
  }
  for (const auto& missing : minus(expected, actual))
    ADD_FAILURE() << path << ":" << missing << "\n  expected, but not reported";
  for (const auto& unexpected : minus(actual, expected)) {
    auto it = std::find_if(described.begin(), described.end(),
                           [&](const std::string& d) { return d.starts_with(unexpected + "  ["); });
    ADD_FAILURE() << path << ":" << (it != described.end() ? *it : unexpected)
                  << "\n  reported, but not expected";
  }
}

std::string test_name(const ::testing::TestParamInfo<fs::path>& info) {
  std::string name = fs::relative(info.param, kCasesDir).replace_extension().generic_string();
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Files, ValidateCase, ::testing::ValuesIn(case_files()), test_name);

TEST(ValidateCases, FindsTheCaseFiles) {
  EXPECT_FALSE(case_files().empty()) << "no *.yaml files under " << kCasesDir;
}

TEST(ValidateCases, ReadsExpectationComments) {
  EXPECT_EQ(expectations_in("kind: Action\n"
                            "# expect-error: 12: unknown action 'x' (did you mean 'y'?)  \n"
                            "  name: a   # expect-warning: 3: client_secret is written literally\n"
                            "# expected-error: 4: not an expectation\n"),
            (std::vector<std::string>{
                "12: error: unknown action 'x' (did you mean 'y'?)",
                "3: warning: client_secret is written literally",
            }));
}

}  // namespace
}  // namespace flowline
