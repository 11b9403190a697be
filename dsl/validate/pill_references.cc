// What pills refer to: inputs, variables and outputs that exist, steps that
// have run by the time the pill is evaluated, and names that are in scope.
//
// Each action, subflow and flow is walked in execution order with a scope of
// the steps that have finished. The choices where the order is not linear:
// - if / parallel: a branch sees the steps before the if, never another
//   branch's; after the if or parallel every branch's steps may be referenced
//   (a branch that did not run leaves its steps null; `??` picks the one that
//   ran).
// - for_each / until: the body sees the steps before the loop and its own
//   earlier steps; an until condition also sees the body; after the loop the
//   body's steps hold their last iteration.
// - try / catch: `catch` sees the try body's steps (those after the failure
//   are null) and `error`; after the try both may be referenced.
// - An action's output values and error_evaluation are evaluated after its
//   steps, so they see every step; `error` is only in scope inside `catch`.
// - The loop name given by `as` is in scope only inside its `do`.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dsl/pill_parser.h"
#include "dsl/suggest.h"
#include "dsl/validate/validator.h"

namespace flowline {
namespace {

const std::vector<std::string> kStatusFields = {"code", "message"};
const std::vector<std::string> kErrorFields = {"code", "message", "step"};
const std::vector<std::string> kSessionFields = {"user"};
const std::vector<std::string> kRunFields = {"id"};
const std::vector<std::string> kRestOutputs = {"status_code", "headers", "body", "duration_ms",
                                               "attempts"};

std::vector<std::string> names_of(const std::vector<ParamSpec>& params) {
  std::vector<std::string> names;
  for (const auto& param : params) names.push_back(param.name);
  return names;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// One name in a reference: `.limit` or `['limit']`. `node` is the
// sub-expression that ends with it, which diagnostics point at.
struct Segment {
  std::string name;
  const Expr* node = nullptr;
};

// What steps have finished, and which names are in scope, at one point of a
// definition. Copied into branches and loop bodies.
struct Scope {
  std::set<std::string, std::less<>> finished;
  std::vector<std::string> loop_names;
  bool in_catch = false;

  void absorb(const Scope& inner) { finished.insert(inner.finished.begin(), inner.finished.end()); }
};

// Where a step sits: the steps enclosing it and the branches of if/parallel
// steps it is inside, so "not run yet" can say why.
struct Placement {
  const Step* step = nullptr;
  std::vector<const Step*> ancestors;
  std::vector<std::pair<const Step*, size_t>> branches;
};

// The declared interface of the definition being checked.
struct Interface {
  const Definition* definition = nullptr;
  const std::vector<ParamSpec>* inputs = nullptr;
  const std::vector<ParamSpec>* outputs = nullptr;
  const std::vector<ParamSpec>* variables = nullptr;  // null for actions
};

class PillReferenceChecker {
 public:
  PillReferenceChecker(const DefinitionSet& set, Interface interface, Diagnostics& diagnostics)
      : set_(set), interface_(interface), diagnostics_(diagnostics) {}

  void check_action(const Action& action) {
    index_steps(action.steps);
    Scope scope;
    walk(action.steps, scope);
    for (const auto& output : action.outputs)
      if (output.value) check(*output.value, scope);
    for (const auto& evaluation : action.error_evaluation) {
      check(evaluation.when, scope);
      check(evaluation.message, scope);
    }
  }

  void check_subflow(const Subflow& subflow) {
    index_steps(subflow.steps);
    Scope scope;
    walk(subflow.steps, scope);
  }

 private:
  // ---- Where every step is ----

  void index_steps(const StepList& steps) {
    for (const Step& step : steps) {
      if (auto* loop = step.as<ForEachStep>(); loop && !loop->as.empty())
        loop_names_.insert(loop->as);
      if (!step.id.empty() && !placements_.count(step.id)) {
        step_ids_.push_back(step.id);
        placements_[step.id] = Placement{&step, ancestors_, branch_path_};
      }
      ancestors_.push_back(&step);
      for_each_child_list(step, [&](const StepList& child, std::optional<size_t> branch) {
        if (branch) branch_path_.emplace_back(&step, *branch);
        index_steps(child);
        if (branch) branch_path_.pop_back();
      });
      ancestors_.pop_back();
    }
  }

  // Calls visit(list, branch) for each step list nested in `step`; `branch`
  // is set for the alternatives of an if or parallel.
  template <typename Visit>
  static void for_each_child_list(const Step& step, Visit visit) {
    if (auto* s = step.as<IfStep>()) {
      for (size_t i = 0; i < s->branches.size(); ++i) visit(s->branches[i].steps, i);
      if (s->else_steps) visit(*s->else_steps, s->branches.size());
    } else if (auto* s = step.as<ParallelStep>()) {
      for (size_t i = 0; i < s->branches.size(); ++i) visit(s->branches[i], i);
    } else if (auto* s = step.as<ForEachStep>()) {
      visit(s->body, std::nullopt);
    } else if (auto* s = step.as<UntilStep>()) {
      visit(s->body, std::nullopt);
    } else if (auto* s = step.as<TryStep>()) {
      visit(s->body, std::nullopt);
      visit(s->handler, std::nullopt);
    }
  }

  // ---- Walking in execution order ----

  void walk(const StepList& steps, Scope& scope) {
    for (const Step& step : steps) {
      ancestors_.push_back(&step);
      walk_step(step, scope);
      ancestors_.pop_back();
      if (!step.id.empty()) scope.finished.insert(step.id);
    }
  }

  void walk_step(const Step& step, Scope& scope) {
    if (auto* rest = step.as<RestStep>()) {
      if (rest->url) check(*rest->url, scope);
      check(rest->path, scope);
      for (const auto& [name, value] : rest->query) check(value, scope);
      for (const auto& [name, value] : rest->headers) check(value, scope);
      if (rest->body) check(*rest->body, scope);
    } else if (auto* script = step.as<ScriptStep>()) {
      for (const auto& input : script->inputs) check(input.value, scope);
    } else if (auto* log = step.as<LogStep>()) {
      check(log->message, scope);
    } else if (auto* parse = step.as<JsonParseStep>()) {
      check(parse->source, scope);
    } else if (auto* call = step.as<CallStep>()) {
      check_call(step, *call, scope);
    } else if (auto* branching = step.as<IfStep>()) {
      std::vector<Scope> outcomes;
      for (size_t i = 0; i < branching->branches.size(); ++i) {
        check(branching->branches[i].condition, scope);
        outcomes.push_back(walk_branch(step, i, branching->branches[i].steps, scope));
      }
      if (branching->else_steps)
        outcomes.push_back(
            walk_branch(step, branching->branches.size(), *branching->else_steps, scope));
      for (const auto& outcome : outcomes) scope.absorb(outcome);
    } else if (auto* parallel = step.as<ParallelStep>()) {
      std::vector<Scope> outcomes;
      for (size_t i = 0; i < parallel->branches.size(); ++i)
        outcomes.push_back(walk_branch(step, i, parallel->branches[i], scope));
      for (const auto& outcome : outcomes) scope.absorb(outcome);
    } else if (auto* loop = step.as<ForEachStep>()) {
      check(loop->items, scope);
      Scope body = scope;
      if (!loop->as.empty()) body.loop_names.push_back(loop->as);
      walk(loop->body, body);
      scope.absorb(body);
    } else if (auto* loop = step.as<UntilStep>()) {
      Scope body = scope;
      walk(loop->body, body);
      check(loop->condition, body);
      scope.absorb(body);
    } else if (auto* attempt = step.as<TryStep>()) {
      Scope body = scope;
      walk(attempt->body, body);
      Scope handler = body;
      handler.in_catch = true;
      walk(attempt->handler, handler);
      scope.absorb(handler);
    } else if (auto* set = step.as<SetStep>()) {
      for (const auto& assignment : set->assignments) {
        check_variable_name(assignment.name, assignment.name_range);
        check(assignment.value, scope);
      }
    } else if (auto* assign = step.as<AssignOutputsStep>()) {
      for (const auto& assignment : assign->assignments) {
        check_output_name(assignment.name, assignment.name_range);
        check(assignment.value, scope);
      }
    }
  }

  Scope walk_branch(const Step& step, size_t branch, const StepList& steps, const Scope& before) {
    Scope inner = before;
    branch_path_.emplace_back(&step, branch);
    walk(steps, inner);
    branch_path_.pop_back();
    return inner;
  }

  // ---- Names outside pills: set, assign_outputs, call inputs ----

  void check_variable_name(const std::string& name, const SourceRange& range) {
    report_undeclared("unknown-variable", "variable", "variables", declared_variables(), name,
                      range);
  }

  void check_output_name(const std::string& name, const SourceRange& range) {
    report_undeclared("unknown-output", "output", "outputs", names_of(*interface_.outputs), name,
                      range);
  }

  std::vector<std::string> declared_variables() const {
    return interface_.variables ? names_of(*interface_.variables) : std::vector<std::string>{};
  }

  // "unknown input 'x'", with a suggestion, or else help that says what is declared.
  void report_undeclared(std::string code, std::string_view what, std::string_view section,
                         const std::vector<std::string>& declared, const std::string& name,
                         const SourceRange& range) {
    if (contains(declared, name)) return;
    std::string suggestion = did_you_mean(name, declared);
    std::string help;
    const Definition& definition = *interface_.definition;
    if (section == "variables" && interface_.variables == nullptr) {
      help = "an action has no variables";
    } else if (definition.kind == Kind::Flow && section != "variables") {
      help = fmt::format("a flow has no declared {}", section);
    } else if (suggestion.empty() && declared.empty()) {
      help = fmt::format("declare it under '{}' of '{}'", section, definition.name);
    } else if (suggestion.empty()) {
      help = fmt::format("the {} are: {}", section, fmt::join(declared, ", "));
    }
    diagnostics_.error(std::move(code), range,
                       fmt::format("unknown {} '{}'{}", what, name, suggestion), help);
  }

  void check_call(const Step& step, const CallStep& call, Scope& scope) {
    for (const auto& input : call.inputs) check(input.value, scope);
    const std::vector<ParamSpec>* callee_inputs = nullptr;
    if (call.target == CallStep::Target::Action) {
      if (auto* action = set_.find_as<Action>(Kind::Action, callee_name(call.callee)))
        callee_inputs = &action->inputs;
    } else if (auto* subflow = set_.find_as<Subflow>(Kind::Subflow, callee_name(call.callee))) {
      callee_inputs = &subflow->inputs;
    }
    if (callee_inputs == nullptr) return;  // a dangling reference, reported by references.cc

    std::vector<std::string> declared = names_of(*callee_inputs);
    for (const auto& input : call.inputs) {
      if (contains(declared, input.name)) continue;
      diagnostics_.error("unknown-input", input.name_range,
                         fmt::format("'{}' has no input '{}'", call.callee.name, input.name) +
                             did_you_mean(input.name, declared));
    }
    for (const auto& param : *callee_inputs) {
      if (!param.mandatory || param.default_value) continue;
      bool given = std::any_of(call.inputs.begin(), call.inputs.end(),
                               [&](const NamedValue& input) { return input.name == param.name; });
      if (given) continue;
      diagnostics_.error(
          "missing-input", call.callee.range.known() ? call.callee.range : step.range,
          fmt::format("missing mandatory input '{}' of '{}'", param.name, call.callee.name),
          fmt::format("give it under 'inputs', e.g. {{{}: …}}", param.name));
    }
  }

  static std::string callee_name(const Ref& ref) { return ref.full.empty() ? ref.name : ref.full; }

  // ---- Pills ----

  void check(const ValueTemplate& value, const Scope& scope) {
    switch (value.kind) {
      case ValueTemplate::Kind::Literal:
        return;
      case ValueTemplate::Kind::Template:
        check(value.tmpl, scope);
        return;
      case ValueTemplate::Kind::Array:
        for (const auto& item : value.items) check(item, scope);
        return;
      case ValueTemplate::Kind::Object:
        for (const auto& field : value.fields) check(field.value, scope);
        return;
    }
  }

  void check(const Template& tmpl, const Scope& scope) {
    for (const auto& part : tmpl.parts)
      if (part.expr) visit(*part.expr, scope);
  }

  void visit(const Expr& expr, const Scope& scope) {
    if (expr.kind != ExprKind::Member && expr.kind != ExprKind::Index &&
        expr.kind != ExprKind::Root) {
      for (const auto& arg : expr.args) visit(*arg, scope);
      return;
    }
    // A chain like steps.fetch['body'].x: collect its names from the root
    // outwards, stopping at the first computed index.
    std::vector<Segment> segments;
    const Expr* node = &expr;
    while (node->kind == ExprKind::Member || node->kind == ExprKind::Index) {
      if (node->kind == ExprKind::Member) {
        segments.push_back({node->name, node});
      } else {
        visit(*node->args[1], scope);
        const Expr& index = *node->args[1];
        bool static_name = index.kind == ExprKind::Literal && index.literal.is_string();
        if (!static_name)
          segments.clear();  // nothing past a computed index can be checked
        else
          segments.push_back({index.literal.as_string(), node});
      }
      node = node->args[0].get();
    }
    if (node->kind != ExprKind::Root) {
      visit(*node, scope);
      return;
    }
    // `segments` was built outermost first; a computed index cut off what lay outside it.
    std::reverse(segments.begin(), segments.end());
    check_reference(*node, segments, scope);
  }

  void check_reference(const Expr& root, const std::vector<Segment>& path, const Scope& scope) {
    const std::string& name = root.name;
    const Segment* first = path.empty() ? nullptr : &path[0];
    if (name == "inputs") {
      if (first) check_input(*first);
    } else if (name == "vars") {
      if (first) check_variable(*first);
    } else if (name == "steps") {
      if (first) check_step(path, scope);
    } else if (name == "session") {
      if (first) check_field("session", *first, kSessionFields);
    } else if (name == "run") {
      if (first) check_field("run", *first, kRunFields);
    } else if (name == "error" && scope.in_catch) {
      if (first) check_field("error", *first, kErrorFields);
    } else if (contains(scope.loop_names, name)) {
      // A loop item: its shape is whatever the list holds.
    } else {
      report_unknown_root(root, scope);
    }
  }

  void check_input(const Segment& segment) {
    report_undeclared("unknown-input", "input", "inputs", names_of(*interface_.inputs),
                      segment.name, segment.node->range);
  }

  void check_variable(const Segment& segment) {
    report_undeclared("unknown-variable", "variable", "variables", declared_variables(),
                      segment.name, segment.node->range);
  }

  void check_field(std::string_view of, const Segment& segment,
                   const std::vector<std::string>& fields) {
    if (contains(fields, segment.name)) return;
    diagnostics_.error("unknown-field", segment.node->range,
                       fmt::format("unknown field '{}' of '{}'", segment.name, of) +
                           did_you_mean(segment.name, fields),
                       fmt::format("'{}' has: {}", of, fmt::join(fields, ", ")));
  }

  void check_step(const std::vector<Segment>& path, const Scope& scope) {
    const Segment& id = path[0];
    auto placement = placements_.find(id.name);
    if (placement == placements_.end()) {
      diagnostics_.error("unknown-step", id.node->range,
                         "unknown step '" + id.name + "'" + did_you_mean(id.name, step_ids_));
      return;
    }
    if (!scope.finished.count(id.name)) {
      report_not_run_yet(id, placement->second);
      return;
    }
    if (path.size() < 2) return;
    const Segment& field = path[1];
    if (field.name == "status") {
      if (path.size() >= 3 && !contains(kStatusFields, path[2].name)) {
        diagnostics_.error(
            "unknown-step-output", path[2].node->range,
            fmt::format("unknown field '{}' of the status of step '{}'", path[2].name, id.name) +
                did_you_mean(path[2].name, kStatusFields),
            "a status has: code, message");
      }
      return;
    }
    std::optional<std::vector<std::string>> outputs = step_outputs(*placement->second.step);
    if (!outputs || contains(*outputs, field.name)) return;
    outputs->push_back("status");
    std::string suggestion = did_you_mean(field.name, *outputs);
    diagnostics_.error(
        "unknown-step-output", field.node->range,
        fmt::format("step '{}' has no output '{}'", id.name, field.name) + suggestion,
        suggestion.empty() ? fmt::format("its outputs are: {}", fmt::join(*outputs, ", "))
                           : std::string());
  }

  // The outputs of a step besides `status`; nullopt when they cannot be known
  // (a call whose callee does not resolve).
  std::optional<std::vector<std::string>> step_outputs(const Step& step) const {
    if (step.as<RestStep>()) return kRestOutputs;
    if (auto* script = step.as<ScriptStep>()) return names_of(script->outputs);
    if (step.as<JsonParseStep>()) return std::vector<std::string>{"value"};
    if (auto* call = step.as<CallStep>()) {
      const Definition* callee =
          set_.find(call->target == CallStep::Target::Action ? Kind::Action : Kind::Subflow,
                    callee_name(call->callee));
      if (callee == nullptr) return std::nullopt;
      if (callee->kind == Kind::Action)
        return names_of(static_cast<const Action*>(callee)->outputs);
      return names_of(static_cast<const Subflow*>(callee)->outputs);
    }
    return std::vector<std::string>{};
  }

  void report_not_run_yet(const Segment& id, const Placement& target) {
    std::string reason = "it comes later";
    std::string help;
    if (!ancestors_.empty() && ancestors_.back() == target.step) {
      reason = "it is this step";
    } else if (std::find(ancestors_.begin(), ancestors_.end(), target.step) != ancestors_.end()) {
      reason = "it is still running";
    } else {
      for (const auto& [container_ref, branch] : target.branches) {
        const auto* container = container_ref;  // clang 14 cannot capture a structured binding
        auto here = std::find_if(branch_path_.begin(), branch_path_.end(),
                                 [&](const auto& entry) { return entry.first == container; });
        if (here == branch_path_.end() || here->second == branch) continue;
        if (container->as<ParallelStep>()) {
          reason = "it runs in another parallel branch";
          help =
              "parallel branches cannot see each other's steps; refer to it after the "
              "'parallel'";
        } else {
          reason = "it is in another branch";
        }
        break;
      }
    }
    diagnostics_.error("step-not-run-yet", id.node->range,
                       fmt::format("step '{}' has not run at this point ({})", id.name, reason),
                       help);
  }

  void report_unknown_root(const Expr& root, const Scope& scope) {
    const std::string& name = root.name;
    if (name == "error") {
      diagnostics_.error("unknown-root", root.range, "'error' is only available inside 'catch'");
      return;
    }
    std::vector<std::string> roots = {"inputs", "steps", "vars", "session", "run"};
    if (scope.in_catch) roots.push_back("error");
    roots.insert(roots.end(), scope.loop_names.rbegin(), scope.loop_names.rend());
    std::string suggestion = did_you_mean(name, roots);
    std::string help;
    if (is_loop_name_elsewhere(name)) {
      help = fmt::format("'{}' is a loop name: it exists only inside the 'do' of its loop", name);
    } else if (is_builtin(name)) {
      help = fmt::format("'{}' is a function: call it as {}(…)", name, name);
    } else if (suggestion.empty()) {
      help =
          "a pill starts with inputs, vars, steps, session, run, a loop name inside its "
          "'do', or error inside 'catch'";
    }
    diagnostics_.error("unknown-root", root.range, "unknown name '" + name + "'" + suggestion,
                       help);
  }

  bool is_loop_name_elsewhere(const std::string& name) const { return loop_names_.count(name) > 0; }

  static bool is_builtin(std::string_view name) {
    for (int i = 0; i <= static_cast<int>(Builtin::Now); ++i)
      if (builtin_name(static_cast<Builtin>(i)) == name) return true;
    return false;
  }

  const DefinitionSet& set_;
  Interface interface_;
  Diagnostics& diagnostics_;
  std::map<std::string, Placement, std::less<>> placements_;
  std::vector<std::string> step_ids_;  // in written order, for suggestions
  std::set<std::string, std::less<>> loop_names_;
  // The walk's position: the steps enclosing the pill being checked and the
  // if/parallel branches it is in.
  std::vector<const Step*> ancestors_;
  std::vector<std::pair<const Step*, size_t>> branch_path_;
};

}  // namespace

void check_pill_references(const DefinitionSet& set, Diagnostics& diagnostics) {
  for (const auto& definition : set.all()) {
    if (definition->kind == Kind::Action) {
      const auto& action = static_cast<const Action&>(*definition);
      PillReferenceChecker(set, {&action, &action.inputs, &action.outputs, nullptr}, diagnostics)
          .check_action(action);
    } else if (definition->kind == Kind::Subflow || definition->kind == Kind::Flow) {
      const auto& subflow = static_cast<const Subflow&>(*definition);
      PillReferenceChecker(set, {&subflow, &subflow.inputs, &subflow.outputs, &subflow.variables},
                           diagnostics)
          .check_subflow(subflow);
    }
  }
}

}  // namespace flowline
