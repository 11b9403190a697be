#include "dsl/output_reads.h"

#include <vector>

namespace flowline {
namespace {

class Reads {
 public:
  Reads(std::string_view step_id, std::string_view field) : step_id_(step_id), field_(field) {}

  bool found() const { return found_; }

  void steps(const StepList& list) {
    for (const Step& step : list) {
      if (found_) return;
      this->step(step);
    }
  }

  void step(const Step& step) {
    if (auto* s = step.as<RestStep>()) {
      if (s->url) tmpl(*s->url);
      tmpl(s->path);
      for (const auto& [name, t] : s->query) tmpl(t);
      for (const auto& [name, t] : s->headers) tmpl(t);
      if (s->body) value(*s->body);
    } else if (auto* s = step.as<ScriptStep>()) {
      named(s->inputs);
    } else if (auto* s = step.as<LogStep>()) {
      tmpl(s->message);
    } else if (auto* s = step.as<JsonParseStep>()) {
      tmpl(s->source);
    } else if (auto* s = step.as<CallStep>()) {
      named(s->inputs);
    } else if (auto* s = step.as<IfStep>()) {
      for (const auto& branch : s->branches) {
        tmpl(branch.condition);
        steps(branch.steps);
      }
      if (s->else_steps) steps(*s->else_steps);
    } else if (auto* s = step.as<ForEachStep>()) {
      tmpl(s->items);
      steps(s->body);
    } else if (auto* s = step.as<UntilStep>()) {
      tmpl(s->condition);
      steps(s->body);
    } else if (auto* s = step.as<ParallelStep>()) {
      for (const auto& branch : s->branches) steps(branch);
    } else if (auto* s = step.as<TryStep>()) {
      steps(s->body);
      steps(s->handler);
    } else if (auto* s = step.as<SetStep>()) {
      named(s->assignments);
    } else if (auto* s = step.as<AssignOutputsStep>()) {
      named(s->assignments);
    }
    // exit_loop, skip_iteration, end_flow, wait: no pills.
  }

  void named(const std::vector<NamedValue>& values) {
    for (const auto& v : values) value(v.value);
  }

  void value(const ValueTemplate& v) {
    switch (v.kind) {
      case ValueTemplate::Kind::Literal:
        return;
      case ValueTemplate::Kind::Template:
        tmpl(v.tmpl);
        return;
      case ValueTemplate::Kind::Array:
        for (const auto& item : v.items) value(item);
        return;
      case ValueTemplate::Kind::Object:
        for (const auto& field : v.fields) value(field.value);
        return;
    }
  }

  void tmpl(const Template& t) {
    for (const auto& part : t.parts)
      if (part.expr) expr(*part.expr);
  }

  void expr(const Expr& e) {
    if (found_) return;
    if (e.kind == ExprKind::Member || e.kind == ExprKind::Index) {
      // A chain such as steps.fetch['headers'].x, outermost first: find its
      // root, and the names right after it.
      std::vector<const Expr*> chain;
      const Expr* node = &e;
      while (node->kind == ExprKind::Member || node->kind == ExprKind::Index) {
        chain.push_back(node);
        if (node->kind == ExprKind::Index) expr(*node->args[1]);  // the index's own pills
        node = node->args[0].get();
      }
      if (node->kind != ExprKind::Root) {
        expr(*node);
        return;
      }
      if (node->name != "steps") return;
      // chain.back() is the first access after `steps`, chain[size-2] the second.
      const Expr* first = chain.back();
      const Expr* second = chain.size() >= 2 ? chain[chain.size() - 2] : nullptr;
      auto name_of = [](const Expr* access, std::string_view& out) {
        if (access->kind == ExprKind::Member) {
          out = access->name;
          return true;
        }
        const Expr& index = *access->args[1];
        if (index.kind == ExprKind::Literal && index.literal.is_string()) {
          out = index.literal.as_string();
          return true;
        }
        return false;  // computed: could be anything
      };
      std::string_view id, field;
      if (!name_of(first, id)) {
        found_ = true;
        return;
      }
      if (id != step_id_) return;
      if (second == nullptr || !name_of(second, field) || field == field_) found_ = true;
      return;
    }
    if (e.kind == ExprKind::Root) {
      if (e.name == "steps") found_ = true;  // the whole of `steps`, passed on
      return;
    }
    for (const auto& arg : e.args) expr(*arg);
  }

 private:
  std::string_view step_id_;
  std::string_view field_;
  bool found_ = false;
};

}  // namespace

bool action_reads_step_output(const Action& action, std::string_view step_id,
                              std::string_view field) {
  Reads reads(step_id, field);
  reads.steps(action.steps);
  for (const auto& output : action.outputs)
    if (output.value) reads.tmpl(*output.value);
  for (const auto& evaluation : action.error_evaluation) {
    reads.tmpl(evaluation.when);
    reads.tmpl(evaluation.message);
  }
  return reads.found();
}

}  // namespace flowline
