// The same definitions written in YAML and in JSON decode to the same AST.
#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "dsl/document.h"
#include "dsl/loader.h"
#include "dsl/validate/validator.h"
#include "support/ast_dump.h"

namespace fs = std::filesystem;
using namespace flowline;

namespace {

void write_json(const Node& node, rapidjson::Writer<rapidjson::StringBuffer>& w) {
  switch (node.type) {
    case Node::Type::Null: w.Null(); break;
    case Node::Type::Boolean: w.Bool(node.boolean); break;
    case Node::Type::Integer: w.Int64(node.integer); break;
    case Node::Type::Float: w.Double(node.number); break;
    case Node::Type::String: w.String(node.text.c_str(), node.text.size()); break;
    case Node::Type::Sequence:
      w.StartArray();
      for (const auto& item : node.items) write_json(item, w);
      w.EndArray();
      break;
    case Node::Type::Mapping:
      w.StartObject();
      for (const auto& [key, value] : node.entries) {
        w.Key(key.text.c_str(), key.text.size());
        write_json(value, w);
      }
      w.EndObject();
      break;
  }
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Decodes `yaml_path`, then each of its documents re-written as a JSON file,
// and compares the two definition sets field by field.
void expect_equivalent(const fs::path& yaml_path) {
  std::string text = read(yaml_path);
  Diagnostics yaml_diagnostics;
  DefinitionSet from_yaml;
  load_definitions_from_text(yaml_path.string(), text, from_yaml, yaml_diagnostics);
  ASSERT_FALSE(yaml_diagnostics.has_errors()) << yaml_path;

  Diagnostics parse_diagnostics;
  auto documents =
      load_yaml(std::make_shared<SourceFile>(yaml_path.string(), text), parse_diagnostics);
  DefinitionSet from_json;
  Diagnostics json_diagnostics;
  int index = 0;
  for (const auto& document : documents) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    write_json(document.root, writer);
    load_definitions_from_text("doc" + std::to_string(index++) + ".json", buffer.GetString(),
                               from_json, json_diagnostics);
  }
  ASSERT_FALSE(json_diagnostics.has_errors()) << yaml_path;
  ASSERT_FALSE(from_yaml.all().empty());
  EXPECT_EQ(test_support::dump_definitions(from_yaml), test_support::dump_definitions(from_json)) << yaml_path;
}

TEST(YamlJsonEquivalence, EveryConstruct) {
  expect_equivalent(fs::path(FLOWLINE_SOURCE_DIR) / "tests/dsl/testdata/every_construct.yaml");
}

TEST(YamlJsonEquivalence, EverySampleFile) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(FLOWLINE_SOURCE_DIR) / "samples")) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    expect_equivalent(entry.path());
  }
  EXPECT_GE(files, 5);
}

TEST(YamlJsonEquivalence, EveryConstructDecodesEverything) {
  // Guards the dump itself: the constructs above all reach the AST.
  std::string text = read(fs::path(FLOWLINE_SOURCE_DIR) / "tests/dsl/testdata/every_construct.yaml");
  Diagnostics diagnostics;
  DefinitionSet set;
  load_definitions_from_text("every_construct.yaml", text, set, diagnostics);
  validate(set, diagnostics);
  for (const auto& d : diagnostics.items()) {
    // The basic and api_key credentials are there to be decoded, not used.
    if (d.code == "unused-definition") continue;
    ADD_FAILURE() << d.range.begin.line << ": " << d.message;
  }
  std::string dump = test_support::dump_definitions(set);
  for (const char* expected :
       {"step rest id=fetch on_failure=1", "step script id=compute", "step log id=say",
        "step json_parse id=parse", "step call id=things", "step if", "step for_each",
        "step until", "step parallel", "step try", "step set", "step exit_loop",
        "step skip_iteration", "step end_flow", "step wait", "step assign_outputs",
        "Flow global.nightly", "retry(2,250,5000,60000,4,false,true,[503,])",
        "header X-Debug = true"}) {
    EXPECT_NE(dump.find(expected), std::string::npos) << expected << "\n" << dump;
  }
}

}  // namespace
