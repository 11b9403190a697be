// The JSON Schema of the definition language. It mirrors the decoder
// (dsl/decode_*.cc), which stays the source of truth: the keys each mapping
// accepts, the enumerated values, and the patterns of names and durations.
#include "dsl/schema.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace flowline {
namespace {

// A JSON value under construction. Unlike rapidjson::Value it is copyable and
// builds from initializer lists, so the schema below reads like the JSON it
// produces; it is written out with RapidJSON's PrettyWriter at the end.
class Json {
 public:
  using Member = std::pair<std::string, Json>;
  using Array = std::vector<Json>;
  using Object = std::vector<Member>;  // in written order

  Json(bool b) : data_(b) {}
  Json(int i) : data_(static_cast<int64_t>(i)) {}
  Json(int64_t i) : data_(i) {}
  Json(const char* s) : data_(std::string(s)) {}
  Json(std::string s) : data_(std::move(s)) {}
  Json(std::string_view s) : data_(std::string(s)) {}

  static Json array(Array items) { return Json(std::move(items)); }
  static Json object(Object members) { return Json(std::move(members)); }

  // Appends a member to an object (`set`) or an item to an array (`push`).
  Json& set(std::string key, Json value) {
    std::get<Object>(data_).emplace_back(std::move(key), std::move(value));
    return *this;
  }
  void push(Json value) { std::get<Array>(data_).push_back(std::move(value)); }

  template <typename Writer>
  void write(Writer& writer) const {
    if (auto b = std::get_if<bool>(&data_)) {
      writer.Bool(*b);
    } else if (auto i = std::get_if<int64_t>(&data_)) {
      writer.Int64(*i);
    } else if (auto s = std::get_if<std::string>(&data_)) {
      writer.String(s->data(), static_cast<rapidjson::SizeType>(s->size()));
    } else if (auto a = std::get_if<Array>(&data_)) {
      writer.StartArray();
      for (const Json& item : *a) item.write(writer);
      writer.EndArray();
    } else {
      writer.StartObject();
      for (const auto& [key, value] : std::get<Object>(data_)) {
        writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        value.write(writer);
      }
      writer.EndObject();
    }
  }

 private:
  explicit Json(Array a) : data_(std::move(a)) {}
  explicit Json(Object o) : data_(std::move(o)) {}

  std::variant<bool, int64_t, std::string, Array, Object> data_;
};

using Object = Json::Object;
using Array = Json::Array;

Json obj(Object members) { return Json::object(std::move(members)); }
Json arr(Array items) { return Json::array(std::move(items)); }

Json strings(std::initializer_list<std::string_view> values) {
  Array items;
  for (std::string_view v : values) items.emplace_back(v);
  return arr(std::move(items));
}

// ---- Small schemas used throughout ------------------------------------------

constexpr std::string_view kNamePattern = R"(^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)?$)";
constexpr std::string_view kParamNamePattern = "^[A-Za-z0-9_]+$";
constexpr std::string_view kIdentifierPattern = "^[A-Za-z_][A-Za-z0-9_]*$";
constexpr std::string_view kDurationPattern = "^[0-9]{1,12}(ms|s|m|h)$";  // as parse_duration
constexpr std::string_view kHttpUrlPattern = "^https?://";
// "Authorization" in any case: the credential supplies it, never a header map.
constexpr std::string_view kAuthorizationPattern =
    "^[Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Aa][Tt][Ii][Oo][Nn]$";

Json ref(std::string_view definition) {
  return obj({{"$ref", "#/definitions/" + std::string(definition)}});
}

// A $ref with its own description: draft-07 ignores keywords beside $ref, so
// the reference goes inside allOf and the description stays visible.
Json ref(std::string_view definition, std::string_view description) {
  return obj({{"description", description}, {"allOf", arr({ref(definition)})}});
}

Json text(std::string_view description) {
  return obj({{"type", "string"}, {"description", description}});
}

Json boolean(std::string_view description) {
  return obj({{"type", "boolean"}, {"description", description}});
}

Json choice(std::string_view description, std::initializer_list<std::string_view> values) {
  return obj({{"type", "string"}, {"enum", strings(values)}, {"description", description}});
}

Json pattern(std::string_view description, std::string_view regex) {
  return obj({{"type", "string"}, {"pattern", regex}, {"description", description}});
}

Json name(std::string_view description) { return pattern(description, kNamePattern); }

Json duration(std::string_view description) {
  return pattern(std::string(description) + " A number and a unit: 250ms, 10s, 5m, 2h.",
                 kDurationPattern);
}

Json url(std::string_view description) { return pattern(description, kHttpUrlPattern); }

Json integer_between(std::string_view description, int64_t minimum, int64_t maximum) {
  return obj({{"type", "integer"},
              {"minimum", minimum},
              {"maximum", maximum},
              {"description", description}});
}

// Any scalar: templated strings ("{{ … }}"); numbers and booleans are taken as
// their text.
Json scalar_template(std::string_view description) {
  return obj({{"type", strings({"string", "number", "boolean"})}, {"description", description}});
}

Json any_value(std::string_view description) { return obj({{"description", description}}); }

// A mapping of names to values of one schema.
Json map_of(std::string_view description, Json values) {
  return obj({{"type", "object"},
              {"additionalProperties", std::move(values)},
              {"description", description}});
}

// A mapping whose keys are closed: every key listed, nothing else allowed.
Json closed(std::string_view description, Object properties,
            std::initializer_list<std::string_view> required = {}) {
  Json schema = obj({{"type", "object"}, {"description", description}});
  if (required.size() > 0) schema.set("required", strings(required));
  schema.set("properties", obj(std::move(properties)));
  schema.set("additionalProperties", false);
  return schema;
}

// Conditions, for if/then and not.
Json required_keys(std::initializer_list<std::string_view> keys) {
  return obj({{"required", strings(keys)}});
}

// The key is present and has this value.
Json has_value(std::string_view key, std::string_view value) {
  return obj({{"required", strings({key})},
              {"properties", obj({{std::string(key), obj({{"const", value}})}})}});
}

// When the key is present, its value matches `schema`.
Json property_matches(std::string_view key, Json schema) {
  return obj({{"properties", obj({{std::string(key), std::move(schema)}})}});
}

Json if_then(Json condition, Json consequence) {
  return obj({{"if", std::move(condition)}, {"then", std::move(consequence)}});
}

Json negation(Json schema) { return obj({{"not", std::move(schema)}}); }

Json any_of(Array schemas) { return obj({{"anyOf", arr(std::move(schemas))}}); }

Json no_authorization_header() {
  return obj({{"propertyNames", negation(obj({{"pattern", kAuthorizationPattern}}))}});
}

// ---- Building blocks (DESIGN.md §2) -------------------------------------------

Json secret(std::string_view description) {
  auto source = [](std::string_view key, std::string_view what) {
    return closed(what, {{std::string(key), obj({{"type", "string"}, {"minLength", 1}})}}, {key});
  };
  return obj({{"description", std::string(description) +
                                  " Write {env: NAME} or {file: PATH}; a literal string works but "
                                  "draws a warning."},
              {"oneOf", arr({text("A literal secret (discouraged: it ends up in the file)."),
                             source("env", "Read from this environment variable at use."),
                             source("file", "Read from this file at use.")})}});
}

Json status_codes(std::string_view description) {
  Json status = integer_between("An HTTP status code.", 100, 599);
  return obj({{"description", description},
              {"oneOf", arr({status, obj({{"type", "array"}, {"items", status}})})}});
}

Json retry_policy() {
  return closed(
      "How a failed request is retried. Only idempotent methods are retried unless "
      "retry_non_idempotent is true.",
      {{"strategy", choice("exponential (the default): the interval doubles each time; fixed: the "
                           "same interval; retry_after: honour the Retry-After header.",
                           {"exponential", "fixed", "retry_after"})},
       {"interval", duration("Wait before the first retry (default 1s).")},
       {"max_interval", duration("The longest wait between two attempts.")},
       {"max_elapsed", duration("Give up once this much time has passed since the first attempt.")},
       {"count", integer_between("How many retries after the first attempt (default 3).", 0, 100)},
       {"jitter", boolean("Randomise waits so clients do not retry in step (default true).")},
       {"on_status", status_codes("Statuses that are retried (default 429, 502, 503, 504).")},
       {"retry_non_idempotent", boolean("Also retry POST and PATCH (default false).")}});
}

Json type_spec() {
  return obj({{"description",
               "A type: string, integer, number, boolean, object, array or any; or {type, items}."},
              {"oneOf",
               arr({ref("typeName"), closed("A type with an item type.",
                                            {{"type", ref("typeSpec")},
                                             {"items", ref("typeSpec", "The type of each item.")}},
                                            {"type"})})}});
}

// One input, output or variable: a type name, or a mapping with the details.
// `with_value`: action outputs compute their value with a pill.
Json param(bool with_value) {
  Object properties = {
      {"type", ref("typeSpec", "The value's type (default any).")},
      {"items", ref("typeSpec", "For type array: the type of each item.")},
      {"mandatory", boolean("The caller must give a value.")},
      {"default", any_value("The value when the caller gives none; must have the declared type.")},
      {"description", text("What the value means, for people.")},
  };
  if (with_value) {
    properties.emplace_back("value", scalar_template("The output's value, usually one pill such as "
                                                     "\"{{ steps.fetch.body.result }}\"."));
  }
  Json details = closed("A declared value.", std::move(properties));

  // A default must fit the declared type; `items` only applies to arrays.
  Array conditions;
  for (std::string_view type : {"string", "integer", "number", "boolean", "object", "array"}) {
    conditions.push_back(
        if_then(has_value("type", type), property_matches("default", obj({{"type", type}}))));
  }
  Json array_spec = has_value("type", "array");  // the {type: array, items: …} form
  array_spec.set("type", "object");
  Json array_type = any_of({obj({{"const", "array"}}), std::move(array_spec)});
  Json items_need_array = required_keys({"type"});
  items_need_array.set("properties", obj({{"type", std::move(array_type)}}));
  conditions.push_back(if_then(required_keys({"items"}), std::move(items_need_array)));
  details.set("allOf", arr(std::move(conditions)));

  return obj({{"oneOf", arr({ref("typeName", "Shorthand: just the type."), std::move(details)})}});
}

Json params(std::string_view description, std::string_view param_definition) {
  return obj({{"type", "object"},
              {"description", description},
              {"propertyNames", obj({{"pattern", kParamNamePattern}})},
              {"additionalProperties", ref(param_definition)}});
}

// ---- Steps --------------------------------------------------------------------

Json step_list(std::string_view description, std::string_view step_definition) {
  return obj({{"type", "array"}, {"description", description}, {"items", ref(step_definition)}});
}

Json flow_steps(std::string_view description) { return step_list(description, "flowStep"); }

// A step written as a mapping: the type key, the keys every step has, and the
// type's own keys at the step level.
Json step_shape(std::string_view description, std::string_view type_key, Json body,
                Object extra = {}, std::initializer_list<std::string_view> extra_required = {}) {
  Object properties = {
      {"id", pattern("Names the step, so later steps can read steps.<id>.…", kIdentifierPattern)},
      {"description", text("What the step does, for people.")},
      {"on_failure",
       choice("If this step fails: stop the run (default) or continue.", {"stop", "continue"})},
      {std::string(type_key), std::move(body)},
  };
  for (auto& member : extra) properties.push_back(std::move(member));
  Json required = strings({type_key});
  for (std::string_view key : extra_required) required.push(key);
  Json schema = obj({{"type", "object"}, {"description", description}});
  schema.set("required", std::move(required));
  schema.set("properties", obj(std::move(properties)));
  schema.set("additionalProperties", false);
  return schema;
}

Json rest_step() {
  Json headers = map_of("Request headers; values may hold pills.", scalar_template("A value."));
  Json body = closed(
      "An HTTP request, as the session user when the connection's credential is personal.",
      {{"connection", name("The connection alias to call through (or give url).")},
       {"url", text("An inline absolute URL instead of a connection alias.")},
       {"method",
        choice("The HTTP method (default GET).", {"GET", "POST", "PUT", "PATCH", "DELETE"})},
       {"path", text("Appended to the connection's URL; percent-encoded; may hold pills.")},
       {"query", map_of("Query parameters; values may hold pills.", scalar_template("A value."))},
       {"headers", headers},
       {"body", any_value("A string, or a mapping or list sent as JSON; may hold pills.")},
       {"body_type", choice("How the body is encoded (default json).", {"json", "form", "text"})},
       {"timeout", duration("Overrides the connection's timeout.")},
       {"retry_policy", ref("retryPolicy", "Overrides the alias's retry policy.")},
       {"expect", status_codes("Statuses that count as success (default any 2xx).")}});
  // Exactly one of connection and url; no Authorization header on a connection.
  body.set("oneOf", arr({required_keys({"connection"}), required_keys({"url"})}));
  body.set("if", required_keys({"connection"}));
  body.set("then", property_matches("headers", no_authorization_header()));
  return step_shape(
      "Calls a REST endpoint. Outputs: status_code, headers, body, duration_ms, "
      "attempts.",
      "rest", std::move(body));
}

Json script_step() {
  Json code = text("JavaScript: (function execute(inputs, outputs) { … })(inputs, outputs);");
  Json details = closed(
      "A script with declared inputs and outputs.",
      {{"code", code},
       {"inputs", map_of("Values passed to the script; may hold pills.", any_value("A value."))},
       {"outputs", params("Typed values the script sets.", "param")}},
      {"code"});
  return step_shape("Runs JavaScript in an embedded engine with a time and memory limit.", "script",
                    obj({{"description", "The code, or {code, inputs, outputs}."},
                         {"oneOf", arr({code, std::move(details)})}}));
}

Json log_step() {
  Json details = closed("A log line with a level.",
                        {{"level", choice("Severity (default info).", {"info", "warn", "error"})},
                         {"message", scalar_template("The text; may hold pills.")}},
                        {"message"});
  return step_shape("Writes a line to the run's log.", "log",
                    obj({{"description", "The message, or {level, message}."},
                         {"oneOf", arr({scalar_template("The message."), std::move(details)})}}));
}

Json json_parse_step() {
  Json details = closed("What to parse.",
                        {{"source", scalar_template("JSON text; may hold pills.")}}, {"source"});
  return step_shape("Parses JSON text into steps.<id>.value.", "json_parse",
                    obj({{"description", "The source, or {source}."},
                         {"oneOf", arr({scalar_template("JSON text."), std::move(details)})}}));
}

Json call_step(std::string_view type_key, std::string_view description) {
  return step_shape(
      description, type_key, name(std::string("The ") + std::string(type_key) + " to call."),
      {{"inputs", map_of("Inputs of the call; values may hold pills.", any_value("A value."))}});
}

Json max_iterations() {
  return integer_between("Stop with an error after this many passes (default 1000).", 1,
                         1'000'000'000);
}

Json if_step() {
  Json elif = closed("Another condition, tried in order.",
                     {{"if", scalar_template("A condition, usually one pill.")},
                      {"then", flow_steps("Steps run when the condition holds.")}},
                     {"if", "then"});
  return step_shape("Runs the first branch whose condition holds.", "if",
                    scalar_template("A condition, usually one pill: \"{{ inputs.limit > 5 }}\"."),
                    {{"then", flow_steps("Steps run when the condition holds.")},
                     {"elif", obj({{"type", "array"},
                                   {"description", "Further conditions, tried in order."},
                                   {"items", std::move(elif)}})},
                     {"else", flow_steps("Steps run when no condition holds.")}},
                    {"then"});
}

Json for_each_step() {
  Json as = pattern("The name each item has inside the loop.", kIdentifierPattern);
  as.set("not", obj({{"enum", strings({"inputs", "steps", "vars", "error", "session", "run"})}}));
  return step_shape("Runs the steps once per item of a list.", "for_each",
                    text("The list, usually one pill: \"{{ steps.get.incidents }}\"."),
                    {{"as", std::move(as)},
                     {"do", flow_steps("Steps run for each item.")},
                     {"max_iterations", max_iterations()}},
                    {"as", "do"});
}

Json until_step() {
  return step_shape(
      "Runs the steps, then again until the condition holds (at least once).", "until",
      scalar_template("A condition checked after each pass."),
      {{"do", flow_steps("Steps run on each pass.")}, {"max_iterations", max_iterations()}},
      {"do"});
}

Json parallel_step() {
  return step_shape("Runs branches at the same time and waits for all of them.", "parallel",
                    obj({{"type", "array"},
                         {"description", "The branches, each a list of steps."},
                         {"items", flow_steps("One branch.")}}));
}

Json try_step() {
  return step_shape(
      "Runs steps; if one fails, runs catch with error.code, error.message and "
      "error.step.",
      "try", flow_steps("Steps that may fail."),
      {{"catch", flow_steps("Steps run when a step in try fails.")}});
}

Json control_step(std::string_view keyword, std::string_view description) {
  return step_shape(description, keyword,
                    obj({{"type", strings({"null", "boolean"})},
                         {"description", "Leave empty; usually written as the bare word."}}));
}

// The step shapes and the two step unions, added to the other definitions.
Json with_steps(Object definitions) {
  definitions.emplace_back("restStep", rest_step());
  definitions.emplace_back("scriptStep", script_step());
  definitions.emplace_back("logStep", log_step());
  definitions.emplace_back("jsonParseStep", json_parse_step());
  definitions.emplace_back("actionCallStep",
                           call_step("action", "Calls an action; its outputs are steps.<id>.…"));
  definitions.emplace_back("subflowCallStep",
                           call_step("subflow", "Calls a subflow; its outputs are steps.<id>.…"));
  definitions.emplace_back("ifStep", if_step());
  definitions.emplace_back("forEachStep", for_each_step());
  definitions.emplace_back("untilStep", until_step());
  definitions.emplace_back("parallelStep", parallel_step());
  definitions.emplace_back("tryStep", try_step());
  definitions.emplace_back(
      "setStep",
      step_shape("Sets variables.", "set",
                 map_of("Variable name to value; values may hold pills.", any_value("A value."))));
  definitions.emplace_back("waitStep",
                           step_shape("Pauses the run.", "wait", duration("How long to wait.")));
  definitions.emplace_back(
      "assignOutputsStep",
      step_shape("Sets the outputs of the subflow.", "assign_outputs",
                 map_of("Output name to value; values may hold pills.", any_value("A value."))));
  definitions.emplace_back("exitLoopStep", control_step("exit_loop", "Leaves the innermost loop."));
  definitions.emplace_back(
      "skipIterationStep",
      control_step("skip_iteration", "Goes on with the next item of the innermost loop."));
  definitions.emplace_back("endFlowStep", control_step("end_flow", "Ends the run successfully."));
  definitions.emplace_back(
      "controlWord",
      choice("exit_loop leaves the innermost loop; skip_iteration goes on with its next item; "
             "end_flow ends the run.",
             {"exit_loop", "skip_iteration", "end_flow"}));

  auto one_of = [](std::string_view description, std::initializer_list<std::string_view> shapes) {
    Array refs;
    for (std::string_view shape : shapes) refs.push_back(ref(shape));
    return obj({{"description", description}, {"oneOf", arr(std::move(refs))}});
  };
  definitions.emplace_back("actionStep",
                           one_of("A step of an action: rest, script, log or json_parse.",
                                  {"restStep", "scriptStep", "logStep", "jsonParseStep"}));
  definitions.emplace_back(
      "flowStep",
      one_of("A step of a subflow or flow: a call (action, subflow) or flow logic.",
             {"actionCallStep", "subflowCallStep", "ifStep", "forEachStep", "untilStep",
              "parallelStep", "tryStep", "setStep", "logStep", "waitStep", "assignOutputsStep",
              "exitLoopStep", "skipIterationStep", "endFlowStep", "controlWord"}));
  return obj(std::move(definitions));
}

// ---- Kinds --------------------------------------------------------------------

// A definition document: kind, name and description, then the kind's fields.
Json kind_schema(std::string_view kind, std::string_view description, Object fields,
                 std::initializer_list<std::string_view> required = {}) {
  Object properties = {
      {"kind", obj({{"const", kind}, {"description", "What this document defines."}})},
      {"name", name("The definition's name: name or scope.name (letters, digits, '_'); a bare "
                    "name is in scope global.")},
      {"description", text("What this definition is for, for people.")},
  };
  for (auto& field : fields) properties.push_back(std::move(field));
  Json names = strings({"kind", "name"});
  for (std::string_view key : required) names.push(key);
  Json schema = obj({{"title", kind}, {"type", "object"}, {"description", description}});
  schema.set("required", std::move(names));
  schema.set("properties", obj(std::move(properties)));
  schema.set("additionalProperties", false);
  return schema;
}

Json oauth_profile() {
  Json schema = kind_schema(
      "OAuthProfile", "An OAuth 2.0 application registry: the authorization server and client.",
      {{"client_id", obj({{"type", strings({"string", "number"})},
                          {"description", "The client identifier issued by the server."}})},
       {"client_secret", secret("The client secret.")},
       {"issuer", url("The issuer; its metadata (RFC 8414) supplies the URLs not given.")},
       {"authorization_url", url("Where the user logs in (authorization-code grant).")},
       {"token_url", url("Where codes and refresh tokens are exchanged for tokens.")},
       {"revocation_url", url("Where tokens are revoked (RFC 7009).")},
       {"redirect_url",
        pattern("Where the server sends the user back: https, or a loopback address "
                "(http://127.0.0.1/…; any port is used at login).",
                R"(^(https://|http://(127\.0\.0\.1|localhost|\[::1\])))")},
       {"grant_type", choice("authorization_code (per user, with a login) or client_credentials "
                             "(the application's own token).",
                             {"authorization_code", "client_credentials"})},
       {"scopes", obj({{"description", "Scopes to request: a list, or one space-separated string."},
                       {"type", strings({"array", "string"})},
                       {"items", obj({{"type", "string"}})}})},
       {"send_credentials",
        choice("How the client authenticates at the token URL.", {"basic_header", "request_body"})},
       {"pkce", choice("PKCE method for the authorization-code grant.", {"S256", "none"})}},
      {"client_id"});
  // Without discovery, the token URL is needed, and the authorization URL for the code grant.
  Json code_grant_without_issuer =
      negation(any_of({required_keys({"issuer"}), has_value("grant_type", "client_credentials")}));
  schema.set(
      "allOf",
      arr({if_then(negation(required_keys({"issuer"})), required_keys({"token_url"})),
           if_then(std::move(code_grant_without_issuer), required_keys({"authorization_url"}))}));
  return schema;
}

Json connection_alias() {
  return kind_schema(
      "ConnectionAlias", "The stable name REST steps call through; an HttpConnection serves it.",
      {{"type", choice("connection_and_credential (the default) or credential only.",
                       {"connection_and_credential", "credential"})},
       {"retry_policy",
        ref("retryPolicy", "The default retry policy of REST steps on this alias.")}});
}

Json http_connection() {
  Json headers = map_of(
      "Headers sent with every request (not Authorization: the credential "
      "supplies it).",
      obj({{"type", strings({"string", "number"})}}));
  headers.set("propertyNames", negation(obj({{"pattern", kAuthorizationPattern}})));
  return kind_schema(
      "HttpConnection", "Gives a connection alias its endpoint and credential.",
      {{"alias", name("The ConnectionAlias this connection serves.")},
       {"url", url("The base URL; REST steps append their path.")},
       {"credential", name("The Credential that authorizes requests.")},
       {"timeout", duration("Request timeout.")},
       {"headers", std::move(headers)},
       {"active", boolean("Whether this is the alias's active connection (default true).")},
       {"follow_redirects",
        choice("same_origin (default): follow only to the same origin with the token; "
               "strip_token: also to other origins, without the token; never.",
               {"same_origin", "strip_token", "never"})},
       {"ca_file", text("A PEM file of CA certificates to trust (for private CAs).")}},
      {"alias", "url"});
}

Json credential() {
  Json schema = kind_schema(
      "Credential", "How requests are authorized: OAuth 2.0, basic or an API key.",
      {{"type", choice("oauth2, basic or api_key.", {"oauth2", "basic", "api_key"})},
       {"oauth_profile", name("oauth2: the OAuthProfile that issues the tokens.")},
       {"integration_type", choice("oauth2: personal (a token per user) or system (one shared "
                                   "token, the default).",
                                   {"personal", "system"})},
       {"username",
        obj({{"type", strings({"string", "number"})}, {"description", "basic: the user name."}})},
       {"password", secret("basic: the password.")},
       {"header", text("api_key: the header that carries the key.")},
       {"value", secret("api_key: the key.")}},
      {"type"});
  // Each type has its own fields, and only those.
  auto for_type = [](std::string_view type, std::initializer_list<std::string_view> needs,
                     std::initializer_list<std::string_view> forbids) {
    Object forbidden;
    for (std::string_view key : forbids) forbidden.emplace_back(std::string(key), false);
    Json fields = required_keys(needs);
    fields.set("properties", obj(std::move(forbidden)));
    return if_then(has_value("type", type), std::move(fields));
  };
  schema.set(
      "allOf",
      arr({for_type("oauth2", {"oauth_profile"}, {"username", "password", "header", "value"}),
           for_type("basic", {"username", "password"},
                    {"oauth_profile", "integration_type", "header", "value"}),
           for_type("api_key", {"header", "value"},
                    {"oauth_profile", "integration_type", "username", "password"})}));
  return schema;
}

Json run_as() {
  return choice(
      "Whose identity the steps run with: system (the default) or the user who starts "
      "the session (needed for personal credentials).",
      {"system", "session_user"});
}

Json action() {
  Json evaluation = closed("A rule that turns the action's result into an error.",
                           {{"when", scalar_template("A condition, usually one pill.")},
                            {"message", scalar_template("The error message; may hold pills.")}},
                           {"when", "message"});
  return kind_schema(
      "Action",
      "Steps that do one thing (rest, script, log, json_parse), with typed inputs "
      "and outputs.",
      {{"inputs", params("Declared inputs: name to type or {type, default, mandatory, "
                         "description}.",
                         "param")},
       {"outputs", params("Declared outputs, each computed by its value pill.", "actionOutput")},
       {"steps", step_list("The steps, run in order.", "actionStep")},
       {"error_evaluation", obj({{"type", "array"},
                                 {"description",
                                  "Ordered rules; the first that matches fails "
                                  "the action with its message."},
                                 {"items", std::move(evaluation)}})}},
      {"steps"});
}

Json subflow() {
  return kind_schema("Subflow",
                     "Flow logic that calls actions and subflows; callable from FlowAPI.",
                     {{"run_as", run_as()},
                      {"inputs", params("Declared inputs.", "param")},
                      {"outputs", params("Declared outputs, set by assign_outputs.", "param")},
                      {"variables", params("Variables (vars.<name>), set by set steps.", "param")},
                      {"steps", flow_steps("The steps, run in order.")}},
                     {"steps"});
}

Json flow() {
  return kind_schema(
      "Flow", "Like a subflow, with a trigger instead of declared inputs and outputs.",
      {{"run_as", run_as()},
       {"trigger",
        closed("What starts the flow.",
               {{"type", choice("Started by hand (CLI, FlowAPI).", {"manual"})}}, {"type"})},
       {"variables", params("Variables (vars.<name>), set by set steps.", "param")},
       {"steps", flow_steps("The steps, run in order.")}},
      {"steps"});
}

constexpr std::string_view kKinds[] = {
    "OAuthProfile", "ConnectionAlias", "HttpConnection", "Credential", "Action", "Subflow", "Flow"};

Json schema() {
  Object definitions = {
      {"OAuthProfile", oauth_profile()},
      {"ConnectionAlias", connection_alias()},
      {"HttpConnection", http_connection()},
      {"Credential", credential()},
      {"Action", action()},
      {"Subflow", subflow()},
      {"Flow", flow()},
      {"retryPolicy", retry_policy()},
      {"typeName", choice("A type name.",
                          {"string", "integer", "number", "boolean", "object", "array", "any"})},
      {"typeSpec", type_spec()},
      {"param", param(false)},
      {"actionOutput", param(true)},
  };

  Array kinds;
  Array dispatch;
  for (std::string_view kind : kKinds) {
    kinds.emplace_back(kind);
    dispatch.push_back(if_then(has_value("kind", kind), ref(kind)));
  }
  return obj({
      {"$schema", "http://json-schema.org/draft-07/schema#"},
      {"$id", "https://flowline.dev/schema/definitions.json"},
      {"title", "Flowline definition"},
      {"description", "One Flowline definition document; `kind` says which."},
      {"type", "object"},
      {"required", strings({"kind", "name"})},
      {"properties", obj({{"kind", obj({{"description", "What this document defines."},
                                        {"enum", arr(std::move(kinds))}})}})},
      {"allOf", arr(std::move(dispatch))},
      {"definitions", with_steps(std::move(definitions))},
  });
}

}  // namespace

std::string definition_json_schema() {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> writer(buffer);
  writer.SetIndent(' ', 2);
  schema().write(writer);
  return std::string(buffer.GetString()) + "\n";
}

}  // namespace flowline
