#include "dsl/diagnostic_render.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <string>

namespace flowline {
namespace {

std::shared_ptr<const SourceFile> make_file(std::string path, std::string text) {
  return std::make_shared<const SourceFile>(std::move(path), std::move(text));
}

// The range of the first occurrence of `needle` in the file, as a loader
// would compute it (through SourceFile::position_at).
SourceRange range_of(const std::shared_ptr<const SourceFile>& file, std::string_view needle) {
  size_t offset = file->text().find(needle);
  EXPECT_NE(offset, std::string_view::npos) << needle;
  return SourceRange{file, file->position_at(offset), file->position_at(offset + needle.size())};
}

// A file whose line 12 is the one from the design's example.
std::shared_ptr<const SourceFile> action_file() {
  std::string text;
  for (int i = 1; i <= 11; ++i) text += "# line " + std::to_string(i) + "\n";
  text += "    methd: GET\n";
  text += "    path: /x\n";
  return make_file("defs/a.yaml", text);
}

Diagnostic make_diagnostic(Severity severity, std::string code, SourceRange range,
                           std::string message, std::string help = {}) {
  return Diagnostic{severity, std::move(code), std::move(range), std::move(message),
                    std::move(help)};
}

Diagnostic unknown_key(std::string help = {}) {
  auto file = action_file();
  return make_diagnostic(Severity::Error, "unknown-key", range_of(file, "methd"),
                         "unknown key 'methd' (did you mean 'method'?)", std::move(help));
}

TEST(RenderText, ShowsTheLineAndACaretUnderTheRange) {
  Diagnostic diagnostic = unknown_key();
  ASSERT_EQ(diagnostic.range.begin.line, 12u);
  ASSERT_EQ(diagnostic.range.begin.column, 5u);
  ASSERT_EQ(diagnostic.range.end.column, 10u);
  EXPECT_EQ(render_text(diagnostic),
            "defs/a.yaml:12:5: error [unknown-key] unknown key 'methd' (did you mean 'method'?)\n"
            "   12 |     methd: GET\n"
            "      |     ^~~~~\n");
}

TEST(RenderText, ShowsHelpOnItsOwnLine) {
  EXPECT_EQ(render_text(unknown_key("the keys of a rest step are connection, url, method, …")),
            "defs/a.yaml:12:5: error [unknown-key] unknown key 'methd' (did you mean 'method'?)\n"
            "   12 |     methd: GET\n"
            "      |     ^~~~~\n"
            "  help: the keys of a rest step are connection, url, method, …\n");
}

TEST(RenderText, WarningsSayWarning) {
  auto file = make_file("p.yaml", "client_secret: hunter2\n");
  Diagnostic diagnostic =
      make_diagnostic(Severity::Warning, "literal-secret", range_of(file, "hunter2"),
                      "client_secret is a literal", "use {env: NAME}");
  EXPECT_EQ(render_text(diagnostic),
            "p.yaml:1:16: warning [literal-secret] client_secret is a literal\n"
            "   1 | client_secret: hunter2\n"
            "     |                ^~~~~~~\n"
            "  help: use {env: NAME}\n");
}

TEST(RenderText, WithoutARangeShowsThePathOnly) {
  auto file = make_file("defs/b.yaml", "kind: Flow\n");
  Diagnostic in_file =
      make_diagnostic(Severity::Error, "read-error", SourceRange{file, {}, {}}, "cannot read");
  EXPECT_EQ(render_text(in_file), "defs/b.yaml: error [read-error] cannot read\n");

  Diagnostic nowhere = make_diagnostic(Severity::Error, "no-definitions", SourceRange{},
                                       "nothing to validate", "pass a directory with *.yaml files");
  EXPECT_EQ(render_text(nowhere),
            "<definition>: error [no-definitions] nothing to validate\n"
            "  help: pass a directory with *.yaml files\n");
}

TEST(RenderText, KeepsTabsSoTheCaretLinesUp) {
  auto file = make_file("t.yaml", "steps:\n\t- id: x\tmethd: GET\n");
  Diagnostic diagnostic =
      make_diagnostic(Severity::Error, "unknown-key", range_of(file, "methd"), "unknown key");
  EXPECT_EQ(render_text(diagnostic),
            "t.yaml:2:10: error [unknown-key] unknown key\n"
            "   2 | \t- id: x\tmethd: GET\n"
            "     | \t       \t^~~~~\n");
}

TEST(RenderText, UnderlinesToTheEndOfTheLineWhenTheRangeGoesOn) {
  auto file = make_file("m.yaml", "body:\n  text: |\n    one\n    two\n");
  SourceRange range{file, file->position_at(file->text().find("text")),
                    file->position_at(file->text().find("two") + 3)};
  ASSERT_EQ(range.end.line, 4u);
  Diagnostic diagnostic =
      make_diagnostic(Severity::Error, "wrong-type", range, "expected a mapping");
  EXPECT_EQ(render_text(diagnostic),
            "m.yaml:2:3: error [wrong-type] expected a mapping\n"
            "   2 |   text: |\n"
            "     |   ^~~~~~~\n");
}

TEST(RenderText, CountsCodePointsBeforeTheCaret) {
  // "é" and "→" are 2 and 3 bytes but one column each.
  auto file = make_file("u.yaml", "description: \xc3\xa9t\xc3\xa9 \xe2\x86\x92 {{ inptus.x }}\n");
  Diagnostic diagnostic = make_diagnostic(Severity::Error, "unknown-root", range_of(file, "inptus"),
                                          "unknown root 'inptus'");
  EXPECT_EQ(diagnostic.range.begin.column, 23u);
  EXPECT_EQ(render_text(diagnostic),
            "u.yaml:1:23: error [unknown-root] unknown root 'inptus'\n"
            "   1 | description: \xc3\xa9t\xc3\xa9 \xe2\x86\x92 {{ inptus.x }}\n"
            "     |                       ^~~~~~\n");
}

TEST(RenderText, AnEmptyRangeStillGetsOneCaret) {
  auto file = make_file("e.yaml", "kind: Action\n");
  SourcePos at = file->position_at(4);
  Diagnostic diagnostic =
      make_diagnostic(Severity::Error, "yaml-syntax", SourceRange{file, at, at}, "expected ': '");
  EXPECT_EQ(render_text(diagnostic),
            "e.yaml:1:5: error [yaml-syntax] expected ': '\n"
            "   1 | kind: Action\n"
            "     |     ^\n");
}

TEST(RenderText, TheGutterIsAsWideAsTheLineNumber) {
  std::string text;
  for (int i = 1; i < 1234; ++i) text += "\n";
  text += "name: bad-name\n";
  auto file = make_file("long.yaml", text);
  Diagnostic diagnostic =
      make_diagnostic(Severity::Error, "bad-name", range_of(file, "bad-name"), "bad name");
  EXPECT_EQ(render_text(diagnostic),
            "long.yaml:1234:7: error [bad-name] bad name\n"
            "   1234 | name: bad-name\n"
            "        |       ^~~~~~~~\n");
}

TEST(RenderText, ColoursOnlyWhenAsked) {
  TextRenderOptions color{.color = true};
  EXPECT_EQ(render_text(unknown_key("did you mean 'method'?"), color),
            "\x1b[1mdefs/a.yaml:12:5:\x1b[0m \x1b[1;31merror\x1b[0m [unknown-key] unknown key "
            "'methd' (did you mean 'method'?)\n"
            "   12 |     methd: GET\n"
            "      |     \x1b[1;31m^~~~~\x1b[0m\n"
            "  help: did you mean 'method'?\n");

  auto file = make_file("w.yaml", "kind: Flow\n");
  Diagnostic warning =
      make_diagnostic(Severity::Warning, "unused-definition", range_of(file, "Flow"), "unused");
  EXPECT_EQ(render_text(warning, color),
            "\x1b[1mw.yaml:1:7:\x1b[0m \x1b[1;33mwarning\x1b[0m [unused-definition] unused\n"
            "   1 | kind: Flow\n"
            "     |       \x1b[1;33m^~~~\x1b[0m\n");
  EXPECT_EQ(render_text(warning).find('\x1b'), std::string::npos);
}

TEST(RenderTextSet, SeparatesDiagnosticsAndEndsWithASummary) {
  auto file = make_file("s.yaml", "kind: Flw\nname: x\n");
  Diagnostics diagnostics;
  diagnostics.error("unknown-kind", range_of(file, "Flw"), "unknown kind 'Flw'",
                    "did you mean 'Flow'?");
  diagnostics.warning("unused-definition", range_of(file, "x"), "'global.x' is never used");
  diagnostics.error("no-steps", SourceRange{}, "nothing runs");
  EXPECT_EQ(render_text(diagnostics),
            "s.yaml:1:7: error [unknown-kind] unknown kind 'Flw'\n"
            "   1 | kind: Flw\n"
            "     |       ^~~\n"
            "  help: did you mean 'Flow'?\n"
            "\n"
            "s.yaml:2:7: warning [unused-definition] 'global.x' is never used\n"
            "   2 | name: x\n"
            "     |       ^\n"
            "\n"
            "<definition>: error [no-steps] nothing runs\n"
            "\n"
            "2 errors, 1 warning\n");
}

std::string summary_of(int errors, int warnings) {
  Diagnostics diagnostics;
  for (int i = 0; i < errors; ++i) diagnostics.error("e", SourceRange{}, "m");
  for (int i = 0; i < warnings; ++i) diagnostics.warning("w", SourceRange{}, "m");
  std::string text = render_text(diagnostics);
  size_t last_line = text.rfind('\n', text.size() - 2);
  return text.substr(last_line == std::string::npos ? 0 : last_line + 1);
}

TEST(RenderTextSet, SummaryForms) {
  EXPECT_EQ(summary_of(0, 0), "no problems\n");
  EXPECT_EQ(summary_of(1, 0), "1 error\n");
  EXPECT_EQ(summary_of(3, 0), "3 errors\n");
  EXPECT_EQ(summary_of(0, 1), "1 warning\n");
  EXPECT_EQ(summary_of(0, 2), "2 warnings\n");
  EXPECT_EQ(summary_of(2, 1), "2 errors, 1 warning\n");
  EXPECT_EQ(summary_of(1, 3), "1 error, 3 warnings\n");
  EXPECT_EQ(render_text(Diagnostics{}), "no problems\n");
}

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

TEST(RenderJson, ListsEveryFieldAndTheCounts) {
  auto file = make_file("defs/\"q\".yaml", "kind: Flw\nname: x\n");
  Diagnostics diagnostics;
  diagnostics.error("unknown-kind", range_of(file, "Flw"), "unknown kind 'Flw'\t\"quoted\"",
                    "did you mean 'Flow'?");
  diagnostics.warning("unused-definition", range_of(file, "x"), "unused");
  diagnostics.error("no-steps", SourceRange{}, "nothing runs");

  std::string text = render_json(diagnostics);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "compact output";
  rapidjson::Document json = parse(text);
  ASSERT_TRUE(json.IsObject());
  EXPECT_EQ(json["errors"].GetInt(), 2);
  EXPECT_EQ(json["warnings"].GetInt(), 1);
  const auto& items = json["diagnostics"];
  ASSERT_TRUE(items.IsArray());
  ASSERT_EQ(items.Size(), 3u);

  const auto& first = items[0];
  EXPECT_STREQ(first["severity"].GetString(), "error");
  EXPECT_STREQ(first["code"].GetString(), "unknown-kind");
  EXPECT_STREQ(first["file"].GetString(), "defs/\"q\".yaml");
  EXPECT_EQ(first["line"].GetInt(), 1);
  EXPECT_EQ(first["column"].GetInt(), 7);
  EXPECT_EQ(first["end_line"].GetInt(), 1);
  EXPECT_EQ(first["end_column"].GetInt(), 10);
  EXPECT_STREQ(first["message"].GetString(), "unknown kind 'Flw'\t\"quoted\"");
  EXPECT_STREQ(first["help"].GetString(), "did you mean 'Flow'?");
  EXPECT_EQ(first.MemberCount(), 9u);

  const auto& second = items[1];
  EXPECT_STREQ(second["severity"].GetString(), "warning");
  EXPECT_EQ(second["line"].GetInt(), 2);
  EXPECT_EQ(second["column"].GetInt(), 7);
  EXPECT_EQ(second["end_column"].GetInt(), 8);
  EXPECT_FALSE(second.HasMember("help"));

  const auto& third = items[2];
  EXPECT_STREQ(third["file"].GetString(), "<definition>");
  EXPECT_FALSE(third.HasMember("line"));
  EXPECT_FALSE(third.HasMember("column"));
  EXPECT_STREQ(third["message"].GetString(), "nothing runs");
}

TEST(RenderJson, EmptySet) {
  EXPECT_EQ(render_json(Diagnostics{}), R"({"diagnostics":[],"errors":0,"warnings":0})");
}

TEST(RenderSarif, IsASarifLogWithOneRun) {
  auto file = make_file("defs/my flows/a.yaml", "kind: Flw\nname: x\n");
  Diagnostics diagnostics;
  diagnostics.error("unknown-kind", range_of(file, "Flw"), "unknown kind 'Flw'",
                    "did you mean 'Flow'?");
  diagnostics.warning("unused-definition", range_of(file, "x"), "unused");
  diagnostics.error("unknown-kind", range_of(file, "name"), "again");
  diagnostics.error("no-steps", SourceRange{}, "nothing runs");

  rapidjson::Document sarif = parse(render_sarif(diagnostics));
  EXPECT_STREQ(sarif["$schema"].GetString(), "https://json.schemastore.org/sarif-2.1.0.json");
  EXPECT_STREQ(sarif["version"].GetString(), "2.1.0");
  ASSERT_EQ(sarif["runs"].Size(), 1u);
  const auto& run = sarif["runs"][0];
  EXPECT_STREQ(run["columnKind"].GetString(), "unicodeCodePoints");

  const auto& driver = run["tool"]["driver"];
  EXPECT_STREQ(driver["name"].GetString(), "flowline");
  EXPECT_STREQ(driver["version"].GetString(), FLOWLINE_VERSION);
  EXPECT_STREQ(driver["informationUri"].GetString(), "https://flowline.dev");
  const auto& rules = driver["rules"];
  ASSERT_EQ(rules.Size(), 3u);  // one per distinct code, in order of appearance
  EXPECT_STREQ(rules[0]["id"].GetString(), "unknown-kind");
  EXPECT_STREQ(rules[1]["id"].GetString(), "unused-definition");
  EXPECT_STREQ(rules[2]["id"].GetString(), "no-steps");

  const auto& results = run["results"];
  ASSERT_EQ(results.Size(), 4u);
  const auto& first = results[0];
  EXPECT_STREQ(first["ruleId"].GetString(), "unknown-kind");
  EXPECT_EQ(first["ruleIndex"].GetInt(), 0);
  EXPECT_STREQ(first["level"].GetString(), "error");
  EXPECT_STREQ(first["message"]["text"].GetString(), "unknown kind 'Flw'\ndid you mean 'Flow'?");
  ASSERT_EQ(first["locations"].Size(), 1u);
  const auto& location = first["locations"][0]["physicalLocation"];
  EXPECT_STREQ(location["artifactLocation"]["uri"].GetString(), "defs/my%20flows/a.yaml");
  const auto& region = location["region"];
  EXPECT_EQ(region["startLine"].GetInt(), 1);
  EXPECT_EQ(region["startColumn"].GetInt(), 7);
  EXPECT_EQ(region["endLine"].GetInt(), 1);
  EXPECT_EQ(region["endColumn"].GetInt(), 10);

  const auto& second = results[1];
  EXPECT_STREQ(second["ruleId"].GetString(), "unused-definition");
  EXPECT_EQ(second["ruleIndex"].GetInt(), 1);
  EXPECT_STREQ(second["level"].GetString(), "warning");
  EXPECT_STREQ(second["message"]["text"].GetString(), "unused");
  EXPECT_EQ(second["locations"][0]["physicalLocation"]["region"]["startLine"].GetInt(), 2);

  EXPECT_EQ(results[2]["ruleIndex"].GetInt(), 0);

  const auto& fourth = results[3];
  EXPECT_STREQ(fourth["ruleId"].GetString(), "no-steps");
  EXPECT_FALSE(fourth.HasMember("locations"));
}

TEST(RenderSarif, EscapesPathsAsUris) {
  auto file = make_file("/abs/dir#1/\xc3\xa9t\xc3\xa9.yaml", "kind: Flw\n");
  Diagnostics diagnostics;
  diagnostics.error("unknown-kind", range_of(file, "Flw"), "unknown kind");
  rapidjson::Document sarif = parse(render_sarif(diagnostics));
  EXPECT_STREQ(
      sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
          .GetString(),
      "file:///abs/dir%231/%C3%A9t%C3%A9.yaml");
}

TEST(RenderSarif, EmptySetHasNoResults) {
  rapidjson::Document sarif = parse(render_sarif(Diagnostics{}));
  EXPECT_EQ(sarif["runs"][0]["results"].Size(), 0u);
  EXPECT_EQ(sarif["runs"][0]["tool"]["driver"]["rules"].Size(), 0u);
}

}  // namespace
}  // namespace flowline
