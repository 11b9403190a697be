// Steps: the contents of actions (rest, script, log, json_parse) and the flow
// logic of subflows and flows (calls, branches, loops, …).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "definitions/common.h"

namespace flowline {

struct Step;
using StepList = std::vector<Step>;

enum class OnFailure { Stop, Continue };
enum class HttpMethod { Get, Post, Put, Patch, Delete };
enum class BodyType { Json, Form, Text };
enum class LogLevel { Info, Warn, Error, Debug };  // Debug: gs.debug from scripts only

struct RestStep {
  Ref connection;                      // the connection alias, or empty with `url`
  std::optional<Template> url;         // an inline URL instead of an alias
  HttpMethod method = HttpMethod::Get;
  Template path;
  std::vector<std::pair<std::string, Template>> query;
  std::vector<std::pair<std::string, Template>> headers;
  std::optional<ValueTemplate> body;
  BodyType body_type = BodyType::Json;
  std::optional<Duration> timeout;
  std::optional<RetryPolicy> retry_policy;  // overrides the alias default
  std::vector<int> expect;                  // success statuses; empty = 2xx
};

struct ScriptStep {
  std::string code;
  SourceRange code_range;
  // The file line of the script's line 1 when the script's lines are the
  // file's lines (a '|' block, or a one-line string); 0 when they are not (a
  // JSON string with \n escapes, a folded '>' block).
  uint32_t code_line = 0;
  std::vector<NamedValue> inputs;   // templated
  std::vector<ParamSpec> outputs;   // typed
};

struct LogStep {
  LogLevel level = LogLevel::Info;
  Template message;
};

struct JsonParseStep {
  Template source;
};

struct CallStep {
  enum class Target { Action, Subflow };
  Target target = Target::Action;
  Ref callee;
  std::vector<NamedValue> inputs;
};

struct IfStep {
  struct Branch {
    Template condition;
    StepList steps;
    SourceRange range;
  };
  std::vector<Branch> branches;  // the `if` first, then each `elif`
  std::optional<StepList> else_steps;
};

struct ForEachStep {
  Template items;
  std::string as;
  SourceRange as_range;
  StepList body;
  std::optional<int64_t> max_iterations;
};

struct UntilStep {
  Template condition;  // checked after each pass; the body runs at least once
  StepList body;
  std::optional<int64_t> max_iterations;
};

struct ParallelStep {
  std::vector<StepList> branches;
};

struct TryStep {
  StepList body;
  StepList handler;  // `catch`: `error.code`, `error.message`, `error.step` in scope
};

struct SetStep {
  std::vector<NamedValue> assignments;  // variable name -> value
};

struct ExitLoopStep {};
struct SkipIterationStep {};
struct EndFlowStep {};

struct WaitStep {
  Duration duration{0};
};

struct AssignOutputsStep {
  std::vector<NamedValue> assignments;  // output name -> value
};

enum class StepKind {
  Rest, Script, Log, JsonParse, Call, If, ForEach, Until, Parallel, Try, Set,
  ExitLoop, SkipIteration, EndFlow, Wait, AssignOutputs,
};

struct Step {
  std::string id;  // optional for flow logic; required for action steps
  SourceRange id_range;
  SourceRange range;  // the whole step
  OnFailure on_failure = OnFailure::Stop;
  std::string description;
  FieldRanges fields;
  std::variant<RestStep, ScriptStep, LogStep, JsonParseStep, CallStep, IfStep, ForEachStep,
               UntilStep, ParallelStep, TryStep, SetStep, ExitLoopStep, SkipIterationStep,
               EndFlowStep, WaitStep, AssignOutputsStep>
      body;

  StepKind kind() const { return static_cast<StepKind>(body.index()); }
  template <typename T> const T* as() const { return std::get_if<T>(&body); }
  template <typename T> T* as() { return std::get_if<T>(&body); }
};

// The keyword that introduces a step of this kind ("rest", "for_each", …).
std::string_view step_kind_name(StepKind kind);
std::string_view http_method_name(HttpMethod method);

}  // namespace flowline
