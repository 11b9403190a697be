// The YAML and JSON loaders: text -> positioned Node trees, and every problem
// they report (with its exact position and message).
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dsl/document.h"
#include "dsl/document_builder.h"

namespace flowline {
namespace {

struct Loaded {
  std::vector<Document> documents;
  Diagnostics diagnostics;

  const Node& root(size_t index = 0) const { return documents.at(index).root; }
  // "line:column [code] message" per diagnostic, one a line.
  std::string report() const {
    std::string out;
    for (const Diagnostic& d : diagnostics.items()) {
      out += std::to_string(d.range.begin.line) + ":" + std::to_string(d.range.begin.column) +
             " [" + d.code + "] " + d.message + "\n";
    }
    return out;
  }
};

Loaded load_yaml_text(std::string text, const LoadLimits& limits = {}) {
  Loaded loaded;
  auto file = std::make_shared<SourceFile>("test.yaml", std::move(text));
  loaded.documents = load_yaml(file, loaded.diagnostics, limits);
  return loaded;
}

Loaded load_json_text(std::string text, const LoadLimits& limits = {}) {
  Loaded loaded;
  auto file = std::make_shared<SourceFile>("test.json", std::move(text));
  loaded.documents = load_json(file, loaded.diagnostics, limits);
  return loaded;
}

std::string at(const SourcePos& pos) {
  return std::to_string(pos.line) + ":" + std::to_string(pos.column);
}
std::string begin_of(const Node& node) { return at(node.range.begin); }
std::string span_of(const Node& node) { return at(node.range.begin) + "-" + at(node.range.end); }

// The first difference between two trees, ignoring ranges; empty when equal.
std::string difference(const Node& a, const Node& b, const std::string& path = "$") {
  if (a.type != b.type) {
    return path + ": " + std::string(Node::describe(a.type)) + " vs " +
           std::string(Node::describe(b.type));
  }
  if (a.text != b.text) return path + ": text '" + a.text + "' vs '" + b.text + "'";
  if (a.boolean != b.boolean || a.integer != b.integer) return path + ": value differs";
  if (a.number != b.number && !(std::isnan(a.number) && std::isnan(b.number))) {
    return path + ": number differs";
  }
  if (a.items.size() != b.items.size()) return path + ": item count differs";
  for (size_t i = 0; i < a.items.size(); ++i) {
    std::string diff = difference(a.items[i], b.items[i], path + "[" + std::to_string(i) + "]");
    if (!diff.empty()) return diff;
  }
  if (a.entries.size() != b.entries.size()) return path + ": entry count differs";
  for (size_t i = 0; i < a.entries.size(); ++i) {
    const auto& [a_key, a_value] = a.entries[i];
    const auto& [b_key, b_value] = b.entries[i];
    const std::string key_path = path + "." + a_key.text;
    std::string diff = difference(a_key, b_key, key_path + "(key)");
    if (diff.empty()) diff = difference(a_value, b_value, key_path);
    if (!diff.empty()) return diff;
  }
  return {};
}

// --- Positions ---------------------------------------------------------------

TEST(YamlLoader, PositionsOfKeysAndValues) {
  Loaded loaded = load_yaml_text(
      "kind: Action\n"
      "description: \"Grüße, ünïcödé\" # ä comment\n"
      "title: {ünï: cödé, x: 'y'}\n"
      "steps:\n"
      "  - id: fetch\n"
      "    rest:\n"
      "      method: GET\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(span_of(*root.find_key("kind")), "1:1-1:5");
  EXPECT_EQ(span_of(*root.find("kind")), "1:7-1:13");
  // The quoted value's range covers its quotes.
  EXPECT_EQ(span_of(*root.find("description")), "2:14-2:30");

  // Columns count code points, so line 3 positions after 'ünï' and 'cödé'
  // are one column per character.
  const Node& title = *root.find("title");
  EXPECT_EQ(begin_of(title), "3:8");
  EXPECT_EQ(span_of(*title.find_key("ünï")), "3:9-3:12");
  EXPECT_EQ(span_of(*title.find("ünï")), "3:14-3:18");
  EXPECT_EQ(span_of(*title.find_key("x")), "3:20-3:21");
  EXPECT_EQ(span_of(*title.find("x")), "3:23-3:26");
  EXPECT_EQ(title.find_key("x")->range.begin.offset, 85u);  // bytes, not code points

  const Node& steps = *root.find("steps");
  ASSERT_TRUE(steps.is_sequence());
  EXPECT_EQ(begin_of(steps), "5:3");
  const Node& step = steps.items.at(0);
  EXPECT_EQ(begin_of(step), "5:5");
  EXPECT_EQ(span_of(*step.find_key("id")), "5:5-5:7");
  EXPECT_EQ(span_of(*step.find("id")), "5:9-5:14");
  EXPECT_EQ(begin_of(*step.find_key("rest")), "6:5");
  EXPECT_EQ(begin_of(*step.find("rest")), "7:7");
  EXPECT_EQ(span_of(*step.find("rest")->find("method")), "7:15-7:18");
  EXPECT_EQ(loaded.root().range.path(), "test.yaml");
}

TEST(YamlLoader, EmptyValueSitsAfterItsKey) {
  Loaded loaded = load_yaml_text("a:\nb: ~\nc: {d: , e: null}\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(root.find("a")->type, Node::Type::Null);
  EXPECT_EQ(root.find("a")->text, "");
  EXPECT_EQ(begin_of(*root.find("a")), "1:3");  // not the next line's 'b'
  EXPECT_EQ(root.find("b")->text, "~");
  EXPECT_EQ(span_of(*root.find("b")), "2:4-2:5");
  EXPECT_EQ(begin_of(*root.find("c")->find("d")), "3:7");
  EXPECT_EQ(root.find("c")->find("e")->text, "null");
  EXPECT_EQ(span_of(*root.find("c")->find("e")), "3:13-3:17");
}

TEST(YamlLoader, ByteOrderMarkAndCrLfKeepPositions) {
  Loaded loaded = load_yaml_text(
      "\xEF\xBB\xBF"
      "a: 1\r\nb: [x, y]\r\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(span_of(*root.find_key("a")), "1:2-1:3");  // the mark is one code point
  EXPECT_EQ(span_of(*root.find("a")), "1:5-1:6");
  EXPECT_EQ(root.find("b")->items.at(1).text, "y");
  EXPECT_EQ(span_of(root.find("b")->items.at(1)), "2:8-2:9");
}

TEST(YamlLoader, PropertiesAreNotPartOfTheNode) {
  Loaded loaded = load_yaml_text("a: &anchor !!str 12\nb: *anchor\nc: &m\n  d: 1\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(span_of(*root.find("a")), "1:18-1:20");
  EXPECT_EQ(root.find("a")->type, Node::Type::String);
  // An alias repeats the node, ranges included: they show where it is written.
  EXPECT_EQ(root.find("b")->text, "12");
  EXPECT_EQ(span_of(*root.find("b")), "1:18-1:20");
  EXPECT_EQ(begin_of(*root.find("c")), "4:3");
}

TEST(JsonLoader, PositionsOfKeysAndValues) {
  Loaded loaded = load_json_text(
      "{\n"
      "  \"description\": \"Grüße\",\n"
      "  \"title\": {\"ünï\": \"cödé\", \"x\": [1, true, null]},\n"
      "  \"n\": -1.5e3\n"
      "}\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(span_of(root), "1:1-5:2");
  EXPECT_EQ(span_of(*root.find_key("description")), "2:3-2:16");
  EXPECT_EQ(span_of(*root.find("description")), "2:18-2:25");
  const Node& title = *root.find("title");
  EXPECT_EQ(span_of(title), "3:12-3:49");
  EXPECT_EQ(span_of(*title.find_key("ünï")), "3:13-3:18");
  EXPECT_EQ(span_of(*title.find("ünï")), "3:20-3:26");
  EXPECT_EQ(span_of(*title.find_key("x")), "3:28-3:31");
  const Node& list = *title.find("x");
  EXPECT_EQ(span_of(list), "3:33-3:48");
  EXPECT_EQ(span_of(list.items.at(0)), "3:34-3:35");
  EXPECT_EQ(span_of(list.items.at(1)), "3:37-3:41");
  EXPECT_EQ(span_of(list.items.at(2)), "3:43-3:47");
  EXPECT_EQ(span_of(*root.find("n")), "4:8-4:14");
  EXPECT_EQ(root.find("n")->text, "-1.5e3");
}

TEST(JsonLoader, ByteOrderMarkIsSkipped) {
  Loaded loaded = load_json_text("\xEF\xBB\xBF{\"a\": 1}");
  ASSERT_EQ(loaded.report(), "");
  EXPECT_EQ(span_of(*loaded.root().find_key("a")), "1:3-1:6");
}

TEST(PositionCursor, AgreesWithSourceFileInAnyOrder) {
  std::mt19937 random(7);
  const std::vector<std::string> pieces = {"a", " ", "\n", "\r\n", "é", "€", "😀", "\t", "xyz"};
  std::string text;
  for (int i = 0; i < 3000; ++i) text += pieces[random() % pieces.size()];
  SourceFile file("cursor.yaml", text);
  PositionCursor cursor(file);
  size_t last = 0;
  for (int i = 0; i < 20000; ++i) {
    size_t offset;
    switch (random() % 4) {
      case 0:  // anywhere, even past the end
        offset = random() % (text.size() + 10);
        break;
      case 1:  // a little back
        offset = last - std::min<size_t>(last, random() % 8);
        break;
      default:
        offset = last + random() % 40;
        break;
    }
    last = offset;
    ASSERT_EQ(cursor.at(offset), file.position_at(offset)) << "offset " << offset;
    size_t line0 = random() % (file.line_count() + 2);
    size_t column0 = random() % 30;
    ASSERT_EQ(cursor.offset_of_line_byte(line0, column0),
              file.position_at_line_byte(line0, column0).offset)
        << line0 << ":" << column0;
  }
}

// One long line (minified JSON) costs linear time, not a scan from the line
// start per node.
TEST(Loaders, LongLinesLoadInLinearTime) {
  std::string json = "[";
  std::string yaml = "{";
  for (int i = 0; i < 200000; ++i) {
    json += i ? ",\"é\"" : "\"é\"";
    yaml += "k" + std::to_string(i) + ": , ";
  }
  json += "]";
  yaml += "}";
  const auto start = std::chrono::steady_clock::now();
  Loaded loaded_json = load_json_text(json);
  Loaded loaded_yaml = load_yaml_text(yaml);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(loaded_json.report(), "");
  ASSERT_EQ(loaded_yaml.report(), "");
  EXPECT_EQ(span_of(loaded_json.root().items.back()), "1:799998-1:800001");
  const auto& [last_key, last_value] = loaded_yaml.root().entries.back();
  EXPECT_EQ(last_key.text, "k199999");
  EXPECT_EQ(begin_of(last_value), "1:" + std::to_string(yaml.size() - 3));
  // Quadratic, this takes hours.
  EXPECT_LT(elapsed, std::chrono::seconds(30));
}

// --- Documents ---------------------------------------------------------------

TEST(YamlLoader, EveryDocumentOfAStreamExceptEmptyOnes) {
  Loaded loaded = load_yaml_text(
      "---\n"
      "kind: A\n"
      "---\n"
      "# nothing here\n"
      "--- ~\n"
      "---\n"
      "kind: B\n"
      "...\n"
      "--- [1]\n");
  ASSERT_EQ(loaded.report(), "");
  ASSERT_EQ(loaded.documents.size(), 3u);
  EXPECT_EQ(loaded.root(0).find("kind")->text, "A");
  EXPECT_EQ(loaded.root(1).find("kind")->text, "B");
  EXPECT_EQ(begin_of(*loaded.root(1).find_key("kind")), "7:1");
  EXPECT_EQ(loaded.root(2).items.at(0).integer, 1);
  EXPECT_EQ(loaded.root(2).range.path(), "test.yaml");
  EXPECT_EQ(loaded.documents[2].file->path(), "test.yaml");
}

TEST(YamlLoader, DocumentsBeforeASyntaxErrorAreKept) {
  Loaded loaded = load_yaml_text("kind: A\n---\nkind: [B\n");
  EXPECT_EQ(loaded.report(),
            "4:1 [yaml-syntax] yaml syntax error: end of sequence flow not found\n");
  ASSERT_EQ(loaded.documents.size(), 1u);
  EXPECT_EQ(loaded.root().find("kind")->text, "A");
}

TEST(Loaders, EmptyAndBlankFilesHoldNoDocuments) {
  for (const char* text : {"", "   \n\n\t\n", "\xEF\xBB\xBF", "# only a comment\n  # another\n"}) {
    Loaded yaml = load_yaml_text(text);
    EXPECT_TRUE(yaml.documents.empty()) << text;
    EXPECT_EQ(yaml.report(), "") << text;
  }
  for (const char* text : {"", " \r\n\t\n", "\xEF\xBB\xBF  \n"}) {
    Loaded json = load_json_text(text);
    EXPECT_TRUE(json.documents.empty()) << text;
    EXPECT_EQ(json.report(), "") << text;
  }
  // JSON has no comments.
  EXPECT_EQ(load_json_text("// c\n").report(),
            "1:1 [json-syntax] json syntax error: invalid value\n");
}

// --- Scalars -----------------------------------------------------------------

struct ScalarCase {
  const char* text;
  Node::Type type;
  int64_t integer = 0;
  double number = 0;
  bool boolean = false;
};

class CoreSchema : public testing::TestWithParam<ScalarCase> {};

TEST_P(CoreSchema, PlainScalarResolves) {
  const ScalarCase& c = GetParam();
  Loaded loaded = load_yaml_text(std::string("value: ") + c.text + "\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& value = *loaded.root().find("value");
  EXPECT_EQ(value.type, c.type) << c.text;
  EXPECT_EQ(value.text, c.text);
  switch (c.type) {
    case Node::Type::Integer:
      EXPECT_EQ(value.integer, c.integer);
      break;
    case Node::Type::Boolean:
      EXPECT_EQ(value.boolean, c.boolean);
      break;
    case Node::Type::Float:
      if (std::isnan(c.number)) {
        EXPECT_TRUE(std::isnan(value.number));
      } else {
        EXPECT_EQ(value.number, c.number);
        EXPECT_EQ(std::signbit(value.number), std::signbit(c.number));
      }
      break;
    default:
      break;
  }
}

constexpr double kInf = INFINITY;
INSTANTIATE_TEST_SUITE_P(
    YamlLoader, CoreSchema,
    testing::Values(
        ScalarCase{"~", Node::Type::Null}, ScalarCase{"null", Node::Type::Null},
        ScalarCase{"Null", Node::Type::Null}, ScalarCase{"NULL", Node::Type::Null},
        ScalarCase{"nULL", Node::Type::String}, ScalarCase{"true", Node::Type::Boolean, 0, 0, true},
        ScalarCase{"True", Node::Type::Boolean, 0, 0, true},
        ScalarCase{"TRUE", Node::Type::Boolean, 0, 0, true},
        ScalarCase{"false", Node::Type::Boolean, 0, 0, false},
        ScalarCase{"FALSE", Node::Type::Boolean, 0, 0, false},
        ScalarCase{"yes", Node::Type::String},  // YAML 1.1 booleans are strings in 1.2
        ScalarCase{"off", Node::Type::String}, ScalarCase{"0", Node::Type::Integer, 0},
        ScalarCase{"-17", Node::Type::Integer, -17}, ScalarCase{"+42", Node::Type::Integer, 42},
        ScalarCase{"007", Node::Type::Integer, 7}, ScalarCase{"0x1F", Node::Type::Integer, 31},
        ScalarCase{"0o17", Node::Type::Integer, 15}, ScalarCase{"0x", Node::Type::String},
        ScalarCase{"0o8", Node::Type::String}, ScalarCase{"1_000", Node::Type::String},
        ScalarCase{"9223372036854775807", Node::Type::Integer, INT64_MAX},
        ScalarCase{"-9223372036854775808", Node::Type::Integer, INT64_MIN},
        // Beyond int64 an integer keeps its magnitude as a Float.
        ScalarCase{"9223372036854775808", Node::Type::Float, 0, 9223372036854775808.0},
        ScalarCase{"0x10000000000000000", Node::Type::Float, 0, 18446744073709551616.0},
        ScalarCase{"1.5", Node::Type::Float, 0, 1.5}, ScalarCase{"-.5", Node::Type::Float, 0, -0.5},
        ScalarCase{"1.", Node::Type::Float, 0, 1.0}, ScalarCase{"2e3", Node::Type::Float, 0, 2000},
        ScalarCase{"+1.5E-2", Node::Type::Float, 0, 0.015},
        ScalarCase{"-0.0", Node::Type::Float, 0, -0.0},
        ScalarCase{"1e-400", Node::Type::Float, 0, 0.0},  // too small rounds to zero
        ScalarCase{"-1e-400", Node::Type::Float, 0, -0.0},
        ScalarCase{".inf", Node::Type::Float, 0, kInf},
        ScalarCase{"-.Inf", Node::Type::Float, 0, -kInf},
        ScalarCase{"+.INF", Node::Type::Float, 0, kInf},
        ScalarCase{".nan", Node::Type::Float, 0, NAN},
        ScalarCase{".NaN", Node::Type::Float, 0, NAN}, ScalarCase{"inf", Node::Type::String},
        ScalarCase{"1e", Node::Type::String}, ScalarCase{".", Node::Type::String},
        ScalarCase{"1.2.3", Node::Type::String}, ScalarCase{"12:30", Node::Type::String},
        ScalarCase{"hello world", Node::Type::String}));

TEST(YamlLoader, QuotedAndBlockScalarsAreAlwaysStrings) {
  Loaded loaded = load_yaml_text(
      "a: '123'\nb: \"true\"\nc: ''\nd: |\n  null\ne: 123\nf: !!str 4\ng: !!float 5\nh: ! 6\n");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(root.find("a")->type, Node::Type::String);
  EXPECT_EQ(root.find("a")->text, "123");
  EXPECT_EQ(root.find("b")->type, Node::Type::String);
  EXPECT_EQ(root.find("c")->type, Node::Type::String);
  EXPECT_EQ(root.find("c")->text, "");
  EXPECT_EQ(root.find("d")->type, Node::Type::String);
  EXPECT_EQ(root.find("d")->text, "null\n");
  EXPECT_EQ(root.find("e")->type, Node::Type::Integer);
  EXPECT_EQ(root.find("f")->type, Node::Type::String);
  EXPECT_EQ(root.find("g")->type, Node::Type::Float);
  EXPECT_EQ(root.find("g")->number, 5.0);
  EXPECT_EQ(root.find("h")->type, Node::Type::String);
}

TEST(JsonLoader, ScalarTypes) {
  Loaded loaded = load_json_text(
      R"({"i": -42, "big": 9223372036854775808, "f": 0.25, "e": 1E2, "t": true, "n": null,)"
      R"( "s": "a\u00e9\n", "z": -0})");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(root.find("i")->type, Node::Type::Integer);
  EXPECT_EQ(root.find("i")->integer, -42);
  EXPECT_EQ(root.find("big")->type, Node::Type::Float);
  EXPECT_EQ(root.find("big")->number, 9223372036854775808.0);
  EXPECT_EQ(root.find("f")->number, 0.25);
  EXPECT_EQ(root.find("e")->type, Node::Type::Float);
  EXPECT_EQ(root.find("e")->text, "1E2");
  EXPECT_EQ(root.find("t")->type, Node::Type::Boolean);
  EXPECT_EQ(root.find("t")->text, "true");
  EXPECT_EQ(root.find("n")->type, Node::Type::Null);
  EXPECT_EQ(root.find("n")->text, "null");
  EXPECT_EQ(root.find("s")->text, "a\xC3\xA9\n");
  EXPECT_EQ(root.find("z")->type, Node::Type::Integer);
}

TEST(Loaders, SameDocumentInYamlAndJsonGivesTheSameTree) {
  Loaded yaml = load_yaml_text(
      "kind: Action\n"
      "name: get_my_incidents\n"
      "inputs:\n"
      "  limit: {type: integer, default: 10, ratio: 0.5, big: 1e300}\n"
      "flags: [true, false, null, ~]\n"
      "empty_list: []\n"
      "empty_map: {}\n"
      "quoted: \"10\"\n"
      "escaped: \"tab\\there \\u00e9\"\n"
      "nested: [[1, [2]], {a: {b: [c]}}]\n"
      "'1': one\n");
  Loaded json = load_json_text(R"({
    "kind": "Action",
    "name": "get_my_incidents",
    "inputs": {"limit": {"type": "integer", "default": 10, "ratio": 0.5, "big": 1e300}},
    "flags": [true, false, null, null],
    "empty_list": [],
    "empty_map": {},
    "quoted": "10",
    "escaped": "tab\there \u00e9",
    "nested": [[1, [2]], {"a": {"b": ["c"]}}],
    "1": "one"
  })");
  ASSERT_EQ(yaml.report(), "");
  ASSERT_EQ(json.report(), "");
  ASSERT_EQ(yaml.documents.size(), 1u);
  ASSERT_EQ(json.documents.size(), 1u);
  // '~' and 'null' differ in text; everything else must match exactly.
  Node yaml_root = yaml.root();
  auto& [flags_key, flags] = yaml_root.entries.at(3);
  ASSERT_EQ(flags_key.text, "flags");
  flags.items.at(3).text = "null";
  EXPECT_EQ(difference(yaml_root, json.root()), "");
  // And the comparison is not blind:
  EXPECT_EQ(difference(yaml.root(), json.root()), "$.flags[3]: text '~' vs 'null'");
}

// --- text_offset ---------------------------------------------------------------

// The file text at a node's text_offset, as long as its text.
std::string text_at_offset(const Loaded& loaded, const Node& node) {
  std::string_view file = loaded.documents.at(0).file->text();
  return std::string(file.substr(node.text_offset, node.text.size()));
}

TEST(YamlLoader, TextOffsetWhereTheTextStandsVerbatim) {
  const std::string text =
      "plain: see {{ inputs.x }} tail\n"
      "single: 'it is {{ a }}'\n"
      "double: \"x {{ b }}\"\n"
      "escaped: \"x\\ty\"\n"
      "doubled: 'it''s'\n"
      "folded: plain\n  continued\n"
      "block: |\n  text\n"
      "é: ü {{ c }}\n"
      "number: 12\n";
  Loaded loaded = load_yaml_text(text);
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  const Node& plain = *root.find("plain");
  EXPECT_EQ(plain.text_offset, 7u);
  EXPECT_EQ(text_at_offset(loaded, plain), "see {{ inputs.x }} tail");
  EXPECT_EQ(root.find("single")->text_offset, text.find("it is"));  // after the opening quote
  EXPECT_EQ(text_at_offset(loaded, *root.find("single")), "it is {{ a }}");
  EXPECT_EQ(root.find("double")->text_offset, text.find("x {{ b"));
  EXPECT_EQ(text_at_offset(loaded, *root.find("double")), "x {{ b }}");
  EXPECT_EQ(root.find("escaped")->text, "x\ty");
  EXPECT_EQ(root.find("escaped")->text_offset, Node::kNoOffset);
  EXPECT_EQ(root.find("doubled")->text, "it's");
  EXPECT_EQ(root.find("doubled")->text_offset, Node::kNoOffset);
  EXPECT_EQ(root.find("folded")->text, "plain continued");
  EXPECT_EQ(root.find("folded")->text_offset, Node::kNoOffset);
  EXPECT_EQ(root.find("block")->text, "text\n");
  EXPECT_EQ(root.find("block")->text_offset, Node::kNoOffset);
  EXPECT_EQ(root.find("é")->text_offset, text.find("ü {{"));
  EXPECT_EQ(text_at_offset(loaded, *root.find("é")), "ü {{ c }}");
  EXPECT_EQ(root.find_key("é")->text_offset, text.find("é:"));
  EXPECT_EQ(text_at_offset(loaded, *root.find("number")), "12");
  // Escaped and folded scalars still have their positions.
  EXPECT_EQ(span_of(*root.find("escaped")), "4:10-4:16");
  EXPECT_EQ(begin_of(*root.find("folded")), "6:9");
}

TEST(JsonLoader, TextOffsetOnlyWithoutEscapes) {
  Loaded loaded = load_json_text(R"({"a": "x {{ y }}", "b": "x\ty", "c": "\u00e9", "d": 12})");
  ASSERT_EQ(loaded.report(), "");
  const Node& root = loaded.root();
  EXPECT_EQ(root.find("a")->text_offset, 7u);
  EXPECT_EQ(text_at_offset(loaded, *root.find("a")), "x {{ y }}");
  EXPECT_EQ(root.find_key("a")->text_offset, 2u);
  EXPECT_EQ(root.find("b")->text_offset, Node::kNoOffset);
  EXPECT_EQ(root.find("c")->text_offset, Node::kNoOffset);
  EXPECT_EQ(text_at_offset(loaded, *root.find("d")), "12");
}

// --- Diagnostics -------------------------------------------------------------

TEST(Loaders, FileTooLarge) {
  LoadLimits limits;
  limits.max_file_bytes = 8;
  EXPECT_EQ(load_yaml_text("a: 123456", limits).report(),
            "1:1 [file-too-large] file is too large: 9 bytes, the limit is 8 bytes\n");
  EXPECT_EQ(load_json_text("[1234567]", limits).report(),
            "1:1 [file-too-large] file is too large: 9 bytes, the limit is 8 bytes\n");
  EXPECT_EQ(load_yaml_text("a: 12345", limits).report(), "");
}

TEST(Loaders, InvalidUtf8PointsAtTheFirstBadByte) {
  EXPECT_EQ(load_yaml_text("a: é\nbé: \xFF\n").report(),
            "2:5 [invalid-utf8] file is not valid UTF-8 text (byte 0xff)\n");
  EXPECT_EQ(load_json_text("{\"é\": \"\xC3(\"}").report(),
            "1:8 [invalid-utf8] file is not valid UTF-8 text (byte 0xc3)\n");
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8 either.
  for (const char* bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80"}) {
    Loaded loaded = load_yaml_text(std::string("x: ") + bad);
    ASSERT_EQ(loaded.diagnostics.items().size(), 1u) << bad;
    EXPECT_EQ(loaded.diagnostics.items()[0].code, "invalid-utf8");
    EXPECT_EQ(at(loaded.diagnostics.items()[0].range.begin), "1:4");
  }
  EXPECT_EQ(load_yaml_text("x: \xF0\x9F\x98\x80 \xE2\x82\xAC \xF4\x8F\xBF\xBF").report(), "");
}

TEST(YamlLoader, SyntaxErrors) {
  EXPECT_EQ(load_yaml_text("a: b: c\n").report(),
            "1:5 [yaml-syntax] yaml syntax error: illegal map value\n");
  EXPECT_EQ(load_yaml_text("a:\n  - 1\n  b: 2\n").report(),
            "3:3 [yaml-syntax] yaml syntax error: end of map not found\n");
  EXPECT_EQ(load_yaml_text("a: {b: 1\n").report(),
            "2:1 [yaml-syntax] yaml syntax error: end of map flow not found\n");
  EXPECT_EQ(load_yaml_text("é: *nowhere\n").report(),
            "1:4 [yaml-syntax] yaml syntax error: alias '*nowhere' refers to no anchor\n");
  EXPECT_EQ(load_yaml_text("a: \"\\q\"\n").report(),
            "1:7 [yaml-syntax] yaml syntax error: unknown escape character 'q'\n");
  // No trailing line break: the error still points at the end, not at 1:1.
  EXPECT_EQ(load_yaml_text("[[1").report(),
            "1:4 [yaml-syntax] yaml syntax error: end of sequence flow not found\n");
}

// yaml-cpp 0.7 starts empty documents forever before a stray ',' at document
// level; found by fuzz_loader.
TEST(YamlLoader, StrayCommaBeforeADocumentEnds) {
  EXPECT_EQ(load_yaml_text(",a: 1\n").report(),
            "1:1 [yaml-syntax] yaml syntax error: unexpected ','\n");
  EXPECT_EQ(load_yaml_text("&anchor ,\n").report(),
            "1:9 [yaml-syntax] yaml syntax error: unexpected ','\n");
  Loaded after_a_document = load_yaml_text("a: 1\n--- ,\n");
  EXPECT_EQ(after_a_document.report(), "2:5 [yaml-syntax] yaml syntax error: unexpected ','\n");
  EXPECT_EQ(after_a_document.documents.size(), 1u);
  EXPECT_EQ(load_yaml_text("[a]\n,").report(),
            "2:1 [yaml-syntax] yaml syntax error: unexpected ','\n");
}

TEST(YamlLoader, ControlCharactersAreRefused) {
  EXPECT_EQ(load_yaml_text("a: b\nc: \x01\n").report(),
            "2:4 [yaml-syntax] yaml syntax error: character U+0001 is not allowed\n");
  EXPECT_EQ(load_yaml_text(std::string("\0\0\0a", 4)).report(),
            "1:1 [yaml-syntax] yaml syntax error: character U+0000 is not allowed\n");
  EXPECT_EQ(load_yaml_text("a: \xC2\x9B\n").report(),
            "1:4 [yaml-syntax] yaml syntax error: character U+009B is not allowed\n");
}

TEST(JsonLoader, SyntaxErrors) {
  EXPECT_EQ(load_json_text("{\"a\": 1 \"b\": 2}").report(),
            "1:9 [json-syntax] json syntax error: missing a comma or '}' after an object member\n");
  EXPECT_EQ(load_json_text("[1, 2,]").report(),
            "1:7 [json-syntax] json syntax error: invalid value\n");
  EXPECT_EQ(load_json_text("{\"é\": tru}").report(),
            "1:10 [json-syntax] json syntax error: invalid value\n");
  EXPECT_EQ(load_json_text("{}\n  {}").report(),
            "2:3 [json-syntax] json syntax error: the document root must not be followed by other "
            "values\n");
  EXPECT_EQ(load_json_text("[\"a\tb\"]").report(),
            "1:4 [json-syntax] json syntax error: control character U+0009 must be escaped in a "
            "string\n");
  EXPECT_EQ(load_json_text(std::string("[1]\0", 4)).report(),
            "1:4 [json-syntax] json syntax error: character U+0000 is not allowed\n");
  EXPECT_EQ(load_json_text("[\"\\ud800\"]").report(),
            "1:3 [json-syntax] json syntax error: the surrogate pair in string is invalid\n");
}

TEST(Loaders, ComplexKeys) {
  Loaded loaded = load_yaml_text("? [a, b]\n: 1\n? {c: d}\n: 2\ne: 3\n");
  EXPECT_EQ(loaded.report(),
            "1:3 [complex-key] a mapping key must be a scalar, not a list\n"
            "3:3 [complex-key] a mapping key must be a scalar, not a mapping\n");
  ASSERT_EQ(loaded.documents.size(), 1u);
  ASSERT_EQ(loaded.root().entries.size(), 1u);  // the rest of the mapping is kept
  EXPECT_EQ(loaded.root().find("e")->integer, 3);
}

TEST(Loaders, DuplicateKeysKeepTheFirst) {
  Loaded yaml = load_yaml_text("a: 1\nb:\n  c: x\n  c: y\na: 2\n");
  EXPECT_EQ(yaml.report(),
            "4:3 [duplicate-key] duplicate key 'c' (first at line 3)\n"
            "5:1 [duplicate-key] duplicate key 'a' (first at line 1)\n");
  ASSERT_EQ(yaml.documents.size(), 1u);
  EXPECT_EQ(yaml.root().entries.size(), 2u);
  EXPECT_EQ(yaml.root().find("a")->integer, 1);
  EXPECT_EQ(yaml.root().find("b")->find("c")->text, "x");

  Loaded json = load_json_text("{\"a\": 1,\n \"a\": 2}");
  EXPECT_EQ(json.report(), "2:2 [duplicate-key] duplicate key 'a' (first at line 1)\n");
  EXPECT_EQ(json.root().find("a")->integer, 1);
  EXPECT_EQ(json.root().entries.size(), 1u);
}

TEST(Loaders, NestingTooDeep) {
  LoadLimits limits;
  limits.max_depth = 3;
  EXPECT_EQ(load_yaml_text("a: [b, {c: d}]\n", limits).report(), "");
  EXPECT_EQ(load_yaml_text("a: [b, {c: [d]}]\n", limits).report(),
            "1:12 [nesting-too-deep] document nests deeper than 3 levels\n");
  EXPECT_EQ(load_yaml_text("a:\n  b:\n    c:\n      d: 1\n", limits).report(),
            "4:7 [nesting-too-deep] document nests deeper than 3 levels\n");
  EXPECT_EQ(load_json_text("{\"a\": [1, {\"c\": 2}]}", limits).report(), "");
  EXPECT_EQ(load_json_text("{\"a\": [1, {\"c\": []}]}", limits).report(),
            "1:17 [nesting-too-deep] document nests deeper than 3 levels\n");
  // An alias counts the levels it repeats.
  EXPECT_EQ(load_yaml_text("a: &x [[1]]\nb: [*x]\n", limits).report(),
            "2:5 [nesting-too-deep] document nests deeper than 3 levels\n");
}

TEST(Loaders, HundredThousandOpenBracketsFailCleanly) {
  const std::string brackets(100000, '[');
  Loaded json = load_json_text(brackets);
  EXPECT_EQ(json.report(), "1:65 [nesting-too-deep] document nests deeper than 64 levels\n");
  EXPECT_TRUE(json.documents.empty());

  Loaded yaml = load_yaml_text(brackets);
  ASSERT_EQ(yaml.diagnostics.items().size(), 1u);
  EXPECT_EQ(yaml.diagnostics.items()[0].code, "nesting-too-deep");
  EXPECT_TRUE(yaml.documents.empty());

  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(load_json_text(objects).report(),
            "1:321 [nesting-too-deep] document nests deeper than 64 levels\n");
  std::string dashes;
  for (int i = 0; i < 100000; ++i) dashes += "- ";
  EXPECT_EQ(load_yaml_text(dashes + "x\n").report(),
            "1:129 [nesting-too-deep] document nests deeper than 64 levels\n");
}

TEST(Loaders, TooManyNodes) {
  LoadLimits limits;
  limits.max_nodes = 5;
  EXPECT_EQ(load_yaml_text("a: [1, 2]\n", limits).report(), "");  // map, a, list, 1, 2
  EXPECT_EQ(load_yaml_text("a: [1, 2, 3]\n", limits).report(),
            "1:11 [too-many-nodes] file holds more than 5 nodes\n");
  EXPECT_EQ(load_json_text("{\"a\": [1, 2, 3]}", limits).report(),
            "1:14 [too-many-nodes] file holds more than 5 nodes\n");
  // The count is per file, not per document.
  EXPECT_EQ(load_yaml_text("[1, 2]\n---\n[3, 4]\n", limits).report(),
            "3:5 [too-many-nodes] file holds more than 5 nodes\n");
}

TEST(YamlLoader, AliasBombStopsAtTheNodeLimit) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 10; ++level) {
    std::string previous = "*a" + std::to_string(level - 1);
    bomb += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i) bomb += (i ? ", " : "") + previous;
    bomb += "]\n";
  }
  const auto start = std::chrono::steady_clock::now();
  Loaded loaded = load_yaml_text(bomb);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(loaded.report(), "6:45 [too-many-nodes] file holds more than 1000000 nodes\n");
  EXPECT_TRUE(loaded.documents.empty());
  // Ten billion nodes if expanded; stopping at the limit takes well under a second.
  EXPECT_LT(elapsed, std::chrono::seconds(10));
}

TEST(YamlLoader, RecursiveAlias) {
  Loaded loaded = load_yaml_text("a: &x [1, *x]\n");
  EXPECT_EQ(loaded.report(),
            "1:11 [recursive-alias] alias '*x' refers to a node that contains it\n");
  ASSERT_EQ(loaded.documents.size(), 1u);
  EXPECT_EQ(loaded.root().find("a")->items.at(1).type, Node::Type::Null);
}

TEST(YamlLoader, Tags) {
  EXPECT_EQ(load_yaml_text("a: !!int 12\nb: !!bool true\nc: !!null ~\nd: !!map {}\n").report(), "");
  EXPECT_EQ(load_yaml_text("a: !!int twelve\n").report(),
            "1:10 [yaml-tag] 'twelve' is not a valid '!!int'\n");
  EXPECT_EQ(load_yaml_text("a: !custom x\nb: !!binary aGk=\nc: !!seq {}\n").report(),
            "1:12 [yaml-tag] unsupported tag '!custom'\n"
            "2:13 [yaml-tag] unsupported tag '!!binary'\n"
            "3:10 [yaml-tag] unsupported tag '!!seq' on a mapping\n");
}

TEST(Loaders, NumberOutOfRange) {
  EXPECT_EQ(load_yaml_text("a: 1e400\n").report(),
            "1:4 [number-out-of-range] number '1e400' is out of range\n");
  EXPECT_EQ(load_yaml_text("a: -2e308\n").report(),
            "1:4 [number-out-of-range] number '-2e308' is out of range\n");
  EXPECT_EQ(load_json_text("{\"a\": 1e400}").report(),
            "1:7 [number-out-of-range] number '1e400' is out of range\n");
  EXPECT_EQ(load_json_text("[9e308]").report(),
            "1:2 [number-out-of-range] number '9e308' is out of range\n");
  EXPECT_EQ(load_json_text("[1e308, 1e-400]").report(), "");
}

// --- Garbage -----------------------------------------------------------------

TEST(Loaders, BinaryGarbageGivesADiagnosticNotACrash) {
  std::mt19937 random(20240611);
  for (int round = 0; round < 200; ++round) {
    std::string bytes(1 + random() % 512, '\0');
    for (char& c : bytes) c = static_cast<char>(random() % 256);
    if (round % 2 == 0) bytes[random() % bytes.size()] = '\0';
    Loaded yaml = load_yaml_text(bytes);
    Loaded json = load_json_text(bytes);
    EXPECT_TRUE(yaml.diagnostics.has_errors()) << round;
    EXPECT_TRUE(json.diagnostics.has_errors()) << round;
  }
  // Valid UTF-8 but nonsense, with NULs.
  std::string nonsense = std::string("{[: \0 - &*!|>%@`", 17);
  EXPECT_TRUE(load_yaml_text(nonsense).diagnostics.has_errors());
  EXPECT_TRUE(load_json_text(nonsense).diagnostics.has_errors());
}

}  // namespace
}  // namespace flowline
