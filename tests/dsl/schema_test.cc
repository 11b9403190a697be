#include "dsl/schema.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <valijson/adapters/rapidjson_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#include <vector>

#include "dsl/diagnostic_render.h"
#include "dsl/loader.h"

namespace flowline {
namespace {

namespace fs = std::filesystem;

// The JSON Schema draft-07 meta-schema (http://json-schema.org/draft-07/schema),
// as published; Debian's valijson does not ship it.
constexpr const char* kDraft07MetaSchema = R"json({
  "$schema": "http://json-schema.org/draft-07/schema#",
  "$id": "http://json-schema.org/draft-07/schema#",
  "title": "Core schema meta-schema",
  "definitions": {
    "schemaArray": {"type": "array", "minItems": 1, "items": {"$ref": "#"}},
    "nonNegativeInteger": {"type": "integer", "minimum": 0},
    "nonNegativeIntegerDefault0": {
      "allOf": [{"$ref": "#/definitions/nonNegativeInteger"}, {"default": 0}]
    },
    "simpleTypes": {
      "enum": ["array", "boolean", "integer", "null", "number", "object", "string"]
    },
    "stringArray": {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "default": []}
  },
  "type": ["object", "boolean"],
  "properties": {
    "$id": {"type": "string", "format": "uri-reference"},
    "$schema": {"type": "string", "format": "uri"},
    "$ref": {"type": "string", "format": "uri-reference"},
    "$comment": {"type": "string"},
    "title": {"type": "string"},
    "description": {"type": "string"},
    "default": true,
    "readOnly": {"type": "boolean", "default": false},
    "examples": {"type": "array", "items": true},
    "multipleOf": {"type": "number", "exclusiveMinimum": 0},
    "maximum": {"type": "number"},
    "exclusiveMaximum": {"type": "number"},
    "minimum": {"type": "number"},
    "exclusiveMinimum": {"type": "number"},
    "maxLength": {"$ref": "#/definitions/nonNegativeInteger"},
    "minLength": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "pattern": {"type": "string", "format": "regex"},
    "additionalItems": {"$ref": "#"},
    "items": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/schemaArray"}], "default": true},
    "maxItems": {"$ref": "#/definitions/nonNegativeInteger"},
    "minItems": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "uniqueItems": {"type": "boolean", "default": false},
    "contains": {"$ref": "#"},
    "maxProperties": {"$ref": "#/definitions/nonNegativeInteger"},
    "minProperties": {"$ref": "#/definitions/nonNegativeIntegerDefault0"},
    "required": {"$ref": "#/definitions/stringArray"},
    "additionalProperties": {"$ref": "#"},
    "definitions": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "properties": {"type": "object", "additionalProperties": {"$ref": "#"}, "default": {}},
    "patternProperties": {
      "type": "object",
      "additionalProperties": {"$ref": "#"},
      "propertyNames": {"format": "regex"},
      "default": {}
    },
    "dependencies": {
      "type": "object",
      "additionalProperties": {"anyOf": [{"$ref": "#"}, {"$ref": "#/definitions/stringArray"}]}
    },
    "propertyNames": {"$ref": "#"},
    "const": true,
    "enum": {"type": "array", "items": true},
    "type": {
      "anyOf": [
        {"$ref": "#/definitions/simpleTypes"},
        {
          "type": "array",
          "items": {"$ref": "#/definitions/simpleTypes"},
          "minItems": 1,
          "uniqueItems": true
        }
      ]
    },
    "format": {"type": "string"},
    "contentMediaType": {"type": "string"},
    "contentEncoding": {"type": "string"},
    "if": {"$ref": "#"},
    "then": {"$ref": "#"},
    "else": {"$ref": "#"},
    "allOf": {"$ref": "#/definitions/schemaArray"},
    "anyOf": {"$ref": "#/definitions/schemaArray"},
    "oneOf": {"$ref": "#/definitions/schemaArray"},
    "not": {"$ref": "#"}
  },
  "default": true
})json";

rapidjson::Document parse_json(const std::string& text) {
  rapidjson::Document document;
  document.Parse(text.c_str(), text.size());
  EXPECT_FALSE(document.HasParseError())
      << "JSON parse error at offset " << document.GetErrorOffset();
  return document;
}

std::unique_ptr<valijson::Schema> compile(const rapidjson::Document& document) {
  auto schema = std::make_unique<valijson::Schema>();
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  parser.populateSchema(valijson::adapters::RapidJsonAdapter(document), *schema);
  return schema;
}

// Every validation error as "<root> [steps][0]: description".
std::vector<std::string> errors_of(const valijson::Schema& schema, const rapidjson::Value& value) {
  valijson::Validator validator;
  valijson::ValidationResults results;
  validator.validate(schema, valijson::adapters::RapidJsonAdapter(value), &results);
  std::vector<std::string> errors;
  for (const auto& error : results) {
    std::string context;
    for (const auto& part : error.context) context += part;
    errors.push_back(context + ": " + error.description);
  }
  return errors;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += "  " + line + "\n";
  return out;
}

// The schema under test, parsed and compiled once.
class DefinitionSchema {
 public:
  static const DefinitionSchema& get() {
    static const DefinitionSchema instance;
    return instance;
  }
  const rapidjson::Document& json() const { return json_; }
  const valijson::Schema& schema() const { return *schema_; }

 private:
  DefinitionSchema() : json_(parse_json(definition_json_schema())), schema_(compile(json_)) {}
  rapidjson::Document json_;
  std::unique_ptr<valijson::Schema> schema_;
};

// ---- YAML -> RapidJSON, with YAML 1.2 core-schema resolution of plain scalars.

void plain_scalar_to_json(const std::string& text, rapidjson::Value& out,
                          rapidjson::Document::AllocatorType& allocator) {
  static const std::regex kNull("^(~|null|Null|NULL|)$");
  static const std::regex kTrue("^(true|True|TRUE)$");
  static const std::regex kFalse("^(false|False|FALSE)$");
  static const std::regex kInteger("^[-+]?[0-9]+$");
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(text, kNull)) {
    out.SetNull();
  } else if (std::regex_match(text, kTrue)) {
    out.SetBool(true);
  } else if (std::regex_match(text, kFalse)) {
    out.SetBool(false);
  } else if (std::regex_match(text, kInteger)) {
    out.SetInt64(std::stoll(text));
  } else if (std::regex_match(text, kFloat)) {
    out.SetDouble(std::stod(text));
  } else {
    out.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), allocator);
  }
}

void yaml_to_json(const YAML::Node& node, rapidjson::Value& out,
                  rapidjson::Document::AllocatorType& allocator) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out.SetNull();
      return;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") {  // quoted or block scalar: always a string
        const std::string& text = node.Scalar();
        out.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), allocator);
      } else {
        plain_scalar_to_json(node.Scalar(), out, allocator);
      }
      return;
    case YAML::NodeType::Sequence:
      out.SetArray();
      for (const auto& item : node) {
        rapidjson::Value value;
        yaml_to_json(item, value, allocator);
        out.PushBack(value, allocator);
      }
      return;
    case YAML::NodeType::Map:
      out.SetObject();
      for (const auto& entry : node) {
        rapidjson::Value key, value;
        yaml_to_json(entry.first, key, allocator);
        if (!key.IsString()) {  // keys such as 200 or true are names here
          const std::string& text = entry.first.Scalar();
          key.SetString(text.c_str(), static_cast<rapidjson::SizeType>(text.size()), allocator);
        }
        yaml_to_json(entry.second, value, allocator);
        out.AddMember(key, value, allocator);
      }
      return;
  }
}

// Every document of a YAML text (each `---`), as JSON.
std::vector<std::unique_ptr<rapidjson::Document>> yaml_documents(const std::string& text) {
  std::vector<std::unique_ptr<rapidjson::Document>> documents;
  for (const YAML::Node& node : YAML::LoadAll(text)) {
    if (node.IsNull()) continue;  // an empty document, e.g. after a trailing ---
    auto document = std::make_unique<rapidjson::Document>();
    yaml_to_json(node, *document, document->GetAllocator());
    documents.push_back(std::move(document));
  }
  return documents;
}

std::vector<std::string> errors_of_yaml(const std::string& yaml) {
  auto documents = yaml_documents(yaml);
  EXPECT_EQ(documents.size(), 1u) << yaml;
  if (documents.empty()) return {"no document"};
  return errors_of(DefinitionSchema::get().schema(), *documents[0]);
}

// What the decoder (the source of truth for keys and values) reports about a
// YAML text, rendered; the schema must agree with it.
Diagnostics decode(const std::string& yaml) {
  DefinitionSet set;
  Diagnostics diagnostics;
  load_definitions_from_text("doc.yaml", yaml, set, diagnostics);
  return diagnostics;
}

// ---- The schema itself ---------------------------------------------------------

TEST(DefinitionSchema, IsPrettyPrintedDraft07) {
  std::string text = definition_json_schema();
  EXPECT_EQ(text.rfind("{\n  \"$schema\": \"http://json-schema.org/draft-07/schema#\",\n", 0), 0u)
      << text.substr(0, 200);
  EXPECT_EQ(text.back(), '\n');

  const auto& json = DefinitionSchema::get().json();
  EXPECT_STREQ(json["$id"].GetString(), "https://flowline.dev/schema/definitions.json");
  EXPECT_STREQ(json["type"].GetString(), "object");
}

TEST(DefinitionSchema, ValidatesAgainstTheDraft07MetaSchema) {
  rapidjson::Document meta_json = parse_json(kDraft07MetaSchema);
  auto meta = compile(meta_json);
  EXPECT_EQ(errors_of(*meta, DefinitionSchema::get().json()), std::vector<std::string>{});

  // The meta-schema does reject a broken schema, so the check above means something.
  rapidjson::Document broken = parse_json(R"({"type": "objekt", "required": "kind"})");
  EXPECT_FALSE(errors_of(*meta, broken).empty());
}

TEST(DefinitionSchema, DispatchesOnKindToOneDefinitionPerKind) {
  const auto& json = DefinitionSchema::get().json();
  const std::vector<std::string> kinds = {"OAuthProfile", "ConnectionAlias", "HttpConnection",
                                          "Credential",   "Action",          "Subflow",
                                          "Flow"};
  const auto& kind_enum = json["properties"]["kind"]["enum"];
  ASSERT_EQ(kind_enum.Size(), kinds.size());
  const auto& dispatch = json["allOf"];
  ASSERT_EQ(dispatch.Size(), kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    SCOPED_TRACE(kinds[i]);
    EXPECT_EQ(kind_enum[i].GetString(), kinds[i]);
    EXPECT_EQ(dispatch[i]["if"]["properties"]["kind"]["const"].GetString(), kinds[i]);
    EXPECT_EQ(dispatch[i]["then"]["$ref"].GetString(), "#/definitions/" + kinds[i]);

    const auto& definition = json["definitions"][kinds[i].c_str()];
    EXPECT_FALSE(definition["additionalProperties"].GetBool());
    EXPECT_TRUE(definition["description"].IsString());
    for (const char* common : {"kind", "name", "description"})
      EXPECT_TRUE(definition["properties"].HasMember(common)) << common;
    // Every field tells editors what it is for.
    for (const auto& property : definition["properties"].GetObject())
      EXPECT_TRUE(property.value.HasMember("description")) << property.name.GetString();
  }
}

TEST(DefinitionSchema, ListsTheFieldsOfEachKind) {
  const auto& definitions = DefinitionSchema::get().json()["definitions"];
  auto keys_of = [&](const char* kind) {
    std::vector<std::string> keys;
    for (const auto& property : definitions[kind]["properties"].GetObject())
      keys.emplace_back(property.name.GetString());
    return keys;
  };
  using Keys = std::vector<std::string>;
  EXPECT_EQ(keys_of("OAuthProfile"),
            (Keys{"kind", "name", "description", "client_id", "client_secret", "issuer",
                  "authorization_url", "token_url", "revocation_url", "redirect_url", "grant_type",
                  "scopes", "send_credentials", "pkce"}));
  EXPECT_EQ(keys_of("ConnectionAlias"),
            (Keys{"kind", "name", "description", "type", "retry_policy"}));
  EXPECT_EQ(keys_of("HttpConnection"),
            (Keys{"kind", "name", "description", "alias", "url", "credential", "timeout", "headers",
                  "active", "follow_redirects", "ca_file"}));
  EXPECT_EQ(keys_of("Credential"),
            (Keys{"kind", "name", "description", "type", "oauth_profile", "integration_type",
                  "username", "password", "header", "value"}));
  EXPECT_EQ(keys_of("Action"), (Keys{"kind", "name", "description", "inputs", "outputs", "steps",
                                     "error_evaluation"}));
  EXPECT_EQ(keys_of("Subflow"), (Keys{"kind", "name", "description", "run_as", "inputs", "outputs",
                                      "variables", "steps"}));
  EXPECT_EQ(keys_of("Flow"),
            (Keys{"kind", "name", "description", "run_as", "trigger", "variables", "steps"}));
}

std::vector<std::string> property_names(const rapidjson::Value& schema) {
  std::vector<std::string> names;
  for (const auto& property : schema["properties"].GetObject())
    names.emplace_back(property.name.GetString());
  return names;
}

std::vector<std::string> unknown_keys(const Diagnostics& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& diagnostic : diagnostics.items())
    if (diagnostic.code == "unknown-key") out.push_back(diagnostic.message);
  return out;
}

// Every key the schema offers is one the decoder knows (values aside).
TEST(DefinitionSchema, OffersOnlyKeysTheDecoderKnows) {
  const auto& definitions = DefinitionSchema::get().json()["definitions"];
  for (const char* kind : {"OAuthProfile", "ConnectionAlias", "HttpConnection", "Credential",
                           "Action", "Subflow", "Flow"}) {
    for (const std::string& key : property_names(definitions[kind])) {
      if (key == "kind" || key == "name") continue;
      std::string yaml = std::string("kind: ") + kind + "\nname: n\n" + key + ":\n";
      EXPECT_EQ(unknown_keys(decode(yaml)), std::vector<std::string>{}) << yaml;
    }
  }
  auto steps_in = [](const char* kind, const std::string& step) {
    return std::string("kind: ") + kind + "\nname: n\nsteps:\n  - " + step + "\n";
  };
  for (const char* shape : {"restStep", "scriptStep", "logStep", "jsonParseStep"}) {
    const auto& schema = definitions[shape];
    std::string type_key = schema["required"][0].GetString();
    for (const std::string& key : property_names(schema)) {
      std::string yaml = steps_in("Action", type_key + ": x\n    " + key + ": x");
      if (key == type_key) yaml = steps_in("Action", type_key + ": x");
      EXPECT_EQ(unknown_keys(decode(yaml)), std::vector<std::string>{}) << yaml;
    }
  }
  for (const char* shape :
       {"actionCallStep", "subflowCallStep", "ifStep", "forEachStep", "untilStep", "parallelStep",
        "tryStep", "setStep", "waitStep", "assignOutputsStep", "exitLoopStep", "skipIterationStep",
        "endFlowStep"}) {
    const auto& schema = definitions[shape];
    std::string type_key = schema["required"][0].GetString();
    for (const std::string& key : property_names(schema)) {
      if (key == type_key) continue;
      std::string yaml = steps_in("Subflow", type_key + ": x\n    " + key + ": x");
      EXPECT_EQ(unknown_keys(decode(yaml)), std::vector<std::string>{}) << yaml;
    }
  }
  // The mappings inside steps and kinds.
  const auto& rest_body = definitions["restStep"]["properties"]["rest"];
  for (const std::string& key : property_names(rest_body)) {
    std::string yaml = steps_in("Action", "rest:\n      " + key + ": x");
    EXPECT_EQ(unknown_keys(decode(yaml)), std::vector<std::string>{}) << yaml;
  }
  for (const std::string& key : property_names(definitions["retryPolicy"])) {
    std::string yaml = "kind: ConnectionAlias\nname: n\nretry_policy:\n  " + key + ": x\n";
    EXPECT_EQ(unknown_keys(decode(yaml)), std::vector<std::string>{}) << yaml;
  }
}

// ---- Documents that must pass ----------------------------------------------------

// DESIGN.md §2, and a document for each remaining shape.
const char* kValidDocuments[] = {
    R"(
kind: OAuthProfile
name: acme_oauth
client_id: flow-basic
client_secret: {env: ACME_CLIENT_SECRET}
authorization_url: https://auth.acme.example/authorize
token_url: https://auth.acme.example/token
revocation_url: https://auth.acme.example/token/revocation
redirect_url: http://127.0.0.1/callback
grant_type: authorization_code
scopes: [openid, offline_access, incidents.read]
send_credentials: basic_header
pkce: S256
)",
    R"(
kind: OAuthProfile
name: corp.discovered
description: Endpoints come from the issuer's metadata.
client_id: 12345
client_secret: {file: /run/secrets/corp}
issuer: https://login.corp.example
grant_type: client_credentials
scopes: "openid profile"
send_credentials: request_body
pkce: none
)",
    R"(
kind: ConnectionAlias
name: acme
type: connection_and_credential
retry_policy: {strategy: exponential, interval: 1s, count: 3, max_elapsed: 30s, on_status: [429, 502, 503, 504]}
)",
    R"(
kind: ConnectionAlias
name: global.legacy
type: credential
retry_policy: {strategy: retry_after, interval: 250ms, max_interval: 5m, jitter: false, on_status: 503, retry_non_idempotent: true}
)",
    R"(
kind: HttpConnection
name: acme_prod
alias: acme
url: https://api.acme.example
credential: acme_personal
timeout: 10s
headers: {X-Client: flowline, X-Version: 2}
active: true
follow_redirects: strip_token
ca_file: /etc/ssl/acme-ca.pem
)",
    R"(
kind: Credential
name: acme_personal
type: oauth2
oauth_profile: acme_oauth
integration_type: personal
)",
    R"(
kind: Credential
name: legacy_basic
type: basic
username: svc_flow
password: {env: LEGACY_PASSWORD}
)",
    R"(
kind: Credential
name: weather_key
type: api_key
header: X-Api-Key
value: literal-but-allowed
)",
    R"(
kind: Action
name: get_my_incidents
inputs:
  limit: {type: integer, default: 10}
outputs:
  incidents: {type: array, value: "{{ steps.fetch.body.result }}"}
  count:     {type: integer, value: "{{ length(steps.fetch.body.result) }}"}
steps:
  - id: fetch
    rest:
      connection: acme
      method: GET
      path: /api/now/table/incident
      query: {sysparm_limit: "{{ inputs.limit }}"}
      headers: {Accept: application/json}
    on_failure: stop
error_evaluation:
  - when: "{{ steps.fetch.status_code == 401 }}"
    message: "Not authorized at ACME: {{ steps.fetch.status.message }}"
)",
    R"(
kind: Action
name: every_action_step
inputs:
  tags: {type: array, items: string, default: [a, b], mandatory: false, description: Tags.}
  shape: {type: {type: array, items: integer}}
  note: string
steps:
  - id: post
    description: Posts with an inline URL.
    rest:
      url: "https://hooks.example/{{ inputs.note }}"
      method: POST
      body: {text: "{{ inputs.note }}", tags: [x, y]}
      body_type: json
      timeout: 2s
      retry_policy: {strategy: fixed, count: 0}
      expect: [200, 201]
      headers: {Authorization: "Bearer {{ inputs.note }}"}
  - id: run
    script:
      code: "(function execute(inputs, outputs) { outputs.n = 1; })(inputs, outputs);"
      inputs: {note: "{{ inputs.note }}"}
      outputs: {n: integer}
  - id: quick
    script: "(function execute(inputs, outputs) {})(inputs, outputs);"
  - log: {level: warn, message: "posted {{ steps.post.status_code }}"}
  - log: just a message
  - id: parsed
    json_parse: {source: "{{ steps.post.body }}"}
    on_failure: continue
  - id: parsed2
    json_parse: "{{ steps.post.body }}"
)",
    R"(
kind: Subflow
name: getpersonalincidentssubflow
run_as: session_user
inputs:  {limit: {type: integer, default: 5}}
outputs: {incidents: {type: array}, total: {type: integer}}
variables: {seen: {type: integer, default: 0}}
steps:
  - id: get
    action: get_my_incidents
    inputs: {limit: "{{ inputs.limit }}"}
  - for_each: "{{ steps.get.incidents }}"
    as: inc
    do:
      - set: {seen: "{{ vars.seen + 1 }}"}
  - assign_outputs: {incidents: "{{ steps.get.incidents }}", total: "{{ vars.seen }}"}
)",
    R"(
kind: Flow
name: every_flow_step
description: Uses each kind of flow logic once.
run_as: system
trigger: {type: manual}
variables: {n: {type: integer, default: 0}, done: boolean}
steps:
  - id: sub
    subflow: getpersonalincidentssubflow
    inputs: {limit: 3}
  - if: "{{ vars.n > 2 }}"
    then:
      - end_flow
    elif:
      - if: "{{ vars.n == 1 }}"
        then: [skip_iteration]
    else:
      - log: none
  - id: loop
    for_each: "{{ steps.sub.incidents }}"
    as: item
    max_iterations: 50
    do:
      - if: "{{ item.closed }}"
        then: [skip_iteration]
      - exit_loop
  - until: "{{ vars.n >= 3 }}"
    max_iterations: 10
    do:
      - set: {n: "{{ vars.n + 1 }}"}
  - parallel:
      - - action: get_my_incidents
      - - wait: 250ms
        - log: {message: waited}
  - try:
      - action: get_my_incidents
        on_failure: continue
    catch:
      - log: {level: error, message: "{{ error.message }}"}
  - id: stop_here
    end_flow:
)",
};

TEST(DefinitionSchema, AcceptsTheDocumentsOfTheDesign) {
  const auto& schema = DefinitionSchema::get().schema();
  for (const char* yaml : kValidDocuments) {
    auto documents = yaml_documents(yaml);
    ASSERT_EQ(documents.size(), 1u);
    auto errors = errors_of(schema, *documents[0]);
    EXPECT_TRUE(errors.empty()) << yaml << "errors:\n" << joined(errors);
    Diagnostics decoded = decode(yaml);
    EXPECT_FALSE(decoded.has_errors()) << yaml << render_text(decoded);
  }
}

// The definition files in the tree: every sample, and every file of the
// validation tests that expects no error.
std::vector<fs::path> definition_files_under(const fs::path& root) {
  std::vector<fs::path> files;
  if (!fs::is_directory(root)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json"))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void expect_file_valid(const fs::path& path, const std::string& text) {
  const auto& schema = DefinitionSchema::get().schema();
  std::vector<std::unique_ptr<rapidjson::Document>> documents;
  if (path.extension() == ".json") {
    documents.push_back(std::make_unique<rapidjson::Document>(parse_json(text)));
  } else {
    try {
      documents = yaml_documents(text);
    } catch (const YAML::Exception& e) {
      ADD_FAILURE() << path << ": " << e.what();
      return;
    }
  }
  for (size_t i = 0; i < documents.size(); ++i) {
    auto errors = errors_of(schema, *documents[i]);
    EXPECT_TRUE(errors.empty()) << path << " document " << i + 1 << ":\n" << joined(errors);
  }
}

TEST(DefinitionSchema, AcceptsEverySample) {
  for (const auto& path : definition_files_under(fs::path(FLOWLINE_SOURCE_DIR) / "samples")) {
    SCOPED_TRACE(path.string());
    expect_file_valid(path, read_file(path));
  }
}

TEST(DefinitionSchema, AcceptsTheValidationTestsThatExpectNoError) {
  for (const auto& path :
       definition_files_under(fs::path(FLOWLINE_SOURCE_DIR) / "tests" / "validate")) {
    std::string text = read_file(path);
    if (text.find("# expect-error") != std::string::npos) continue;
    SCOPED_TRACE(path.string());
    expect_file_valid(path, text);
  }
}

// ---- Documents that must fail ------------------------------------------------------

// The schema rejects the document, and some error mentions `expected`.
void expect_rejected(const std::string& yaml, const std::string& expected) {
  auto errors = errors_of_yaml(yaml);
  ASSERT_FALSE(errors.empty()) << "accepted:\n" << yaml;
  bool mentioned = std::any_of(errors.begin(), errors.end(), [&](const std::string& error) {
    return error.find(expected) != std::string::npos;
  });
  EXPECT_TRUE(mentioned) << "no error mentions '" << expected << "':\n" << joined(errors);
  EXPECT_TRUE(decode(yaml).has_errors()) << "the decoder accepts what the schema rejects:\n"
                                         << yaml;
}

constexpr const char* kRestAction = R"(
kind: Action
name: fetch
steps:
  - id: fetch
    rest:
      connection: acme
      method: GET
      path: /x
)";

TEST(DefinitionSchema, TheRestActionIsValidBeforeEachMutation) {
  EXPECT_EQ(errors_of_yaml(kRestAction), std::vector<std::string>{});
  EXPECT_FALSE(decode(kRestAction).has_errors());
}

TEST(DefinitionSchema, RejectsAMisspeltKeyInARestStep) {
  std::string yaml = std::regex_replace(kRestAction, std::regex("method:"), "methd:");
  expect_rejected(yaml, "methd");
}

TEST(DefinitionSchema, RejectsAWrongMethod) {
  expect_rejected(std::regex_replace(kRestAction, std::regex("GET"), "FETCH"), "[rest][method]");
}

TEST(DefinitionSchema, RejectsARestStepWithBothConnectionAndUrl) {
  expect_rejected(std::string(kRestAction) + "      url: https://x.example\n", "[rest]");
  expect_rejected(std::regex_replace(kRestAction, std::regex(".*connection: acme\n"), ""),
                  "[rest]");
}

TEST(DefinitionSchema, RejectsAnAuthorizationHeaderOnAConnection) {
  expect_rejected(std::string(kRestAction) + "      headers: {authorization: x}\n",
                  "property name 'headers'");
  expect_rejected(R"(
kind: HttpConnection
name: c
alias: a
url: https://x.example
headers: {Authorization: Bearer x}
)",
                  "property name 'headers'");
}

TEST(DefinitionSchema, RejectsFlowLogicInAnAction) {
  expect_rejected(std::string(kRestAction) + "  - exit_loop\n", "[steps][1]");
  expect_rejected(std::string(kRestAction) + "  - action: other\n", "[steps][1]");
}

TEST(DefinitionSchema, RejectsActionStepsInASubflow) {
  expect_rejected(R"(
kind: Subflow
name: s
steps:
  - rest: {connection: acme, path: /x}
)",
                  "[steps][0]");
}

TEST(DefinitionSchema, RejectsAnUnknownKeyAtTheTop) {
  expect_rejected(R"(
kind: Credential
name: c
type: oauth2
oauth_profile: p
integration_typ: personal
)",
                  "integration_typ");
}

TEST(DefinitionSchema, RejectsAWrongEnumValue) {
  expect_rejected(R"(
kind: Credential
name: c
type: oauth2
oauth_profile: p
integration_type: personnal
)",
                  "[integration_type]");
  expect_rejected(R"(
kind: OAuthProfile
name: p
client_id: x
token_url: https://x.example/token
grant_type: password
)",
                  "[grant_type]");
  expect_rejected(R"(
kind: HttpConnection
name: c
alias: a
url: https://x.example
follow_redirects: always
)",
                  "[follow_redirects]");
}

TEST(DefinitionSchema, RejectsAnUnknownKind) {
  expect_rejected("kind: Flw\nname: x\nsteps: []\n", "[kind]");
}

TEST(DefinitionSchema, RejectsBadNames) {
  expect_rejected("kind: ConnectionAlias\nname: my-alias\n", "[name]");
  expect_rejected("kind: ConnectionAlias\nname: a.b.c\n", "[name]");
  expect_rejected("kind: ConnectionAlias\n", "required property 'name'");
  expect_rejected(
      std::regex_replace(kRestAction, std::regex("connection: acme"), "connection: acme alias"),
      "[connection]");
}

TEST(DefinitionSchema, RejectsBadDurations) {
  expect_rejected("kind: ConnectionAlias\nname: a\nretry_policy: {interval: 10 seconds}\n",
                  "[interval]");
  expect_rejected(std::string(kRestAction) + "      timeout: 10\n", "[timeout]");
}

TEST(DefinitionSchema, RejectsSecretsInAnotherForm) {
  expect_rejected(R"(
kind: Credential
name: c
type: basic
username: u
password: {vault: x}
)",
                  "[password]");
}

TEST(DefinitionSchema, RejectsFieldsOfAnotherCredentialType) {
  expect_rejected(R"(
kind: Credential
name: c
type: basic
username: u
password: {env: P}
oauth_profile: p
)",
                  "oauth_profile");
  expect_rejected("kind: Credential\nname: c\ntype: api_key\nheader: X-Key\n",
                  "required property 'value'");
}

TEST(DefinitionSchema, RejectsAProfileWithoutItsUrls) {
  expect_rejected("kind: OAuthProfile\nname: p\nclient_id: x\n", "required property 'token_url'");
  expect_rejected("kind: OAuthProfile\nname: p\nclient_id: x\ntoken_url: https://x.example/t\n",
                  "required property 'authorization_url'");
  EXPECT_EQ(errors_of_yaml("kind: OAuthProfile\nname: p\nclient_id: x\ntoken_url: "
                           "https://x.example/t\ngrant_type: client_credentials\n"),
            std::vector<std::string>{});
}

TEST(DefinitionSchema, RejectsADefaultOfTheWrongType) {
  expect_rejected(R"(
kind: Subflow
name: s
inputs: {limit: {type: integer, default: ten}}
steps: []
)",
                  "[default]");
  expect_rejected(R"(
kind: Subflow
name: s
inputs: {names: {type: string, items: string}}
steps: []
)",
                  "[type]");
}

TEST(DefinitionSchema, RejectsMalformedFlowLogic) {
  expect_rejected(R"(
kind: Subflow
name: s
steps:
  - for_each: "{{ inputs.items }}"
    as: inputs
    do: [exit_loop]
)",
                  "[as]");
  expect_rejected(R"(
kind: Subflow
name: s
steps:
  - if: "{{ true }}"
    then: [end_flow]
    otherwise: [end_flow]
)",
                  "otherwise");
  expect_rejected(R"(
kind: Subflow
name: s
steps:
  - parallel: [exit_loop]
)",
                  "[parallel]");
  expect_rejected("kind: Subflow\nname: s\nsteps: [exit_looop]\n", "[steps][0]");
  expect_rejected("kind: Flow\nname: f\ntrigger: {type: cron}\nsteps: []\n", "[trigger]");
  expect_rejected("kind: Flow\nname: f\ninputs: {a: string}\nsteps: []\n", "'inputs'");
}

}  // namespace
}  // namespace flowline
