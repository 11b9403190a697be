// Internals of the pill evaluator, shared by evaluator.cc (the tree walk and
// the operators) and builtins.cc (the functions). Not part of the runtime's
// interface: include runtime/eval/evaluator.h instead.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "definitions/expression.h"
#include "definitions/value.h"
#include "runtime/eval/evaluator.h"
#include "runtime/status.h"

namespace flowline::pill_eval {

// The null every missing value reads as; lives for the whole program.
const Value& null_value();

// An intermediate result: a value borrowed from the scope or the expression
// tree when possible (member access copies nothing), else one it owns. Only
// the final result of an evaluation is copied out. Not copyable or movable: it
// may point into itself.
class Operand {
 public:
  Operand() = default;
  Operand(const Operand&) = delete;
  Operand& operator=(const Operand&) = delete;

  const Value& operator*() const { return *ref_; }
  const Value* operator->() const { return ref_; }
  bool owns() const { return ref_ == &owned_; }

  // `value` must outlive this operand's use (the scope or the tree).
  void borrow(const Value& value) { ref_ = &value; }
  // Takes `value` by value, so setting a part of the current value is safe.
  void set(Value value) {
    owned_ = std::move(value);
    ref_ = &owned_;
  }
  // The value, moved out when owned.
  Value take() { return owns() ? std::move(owned_) : *ref_; }

 private:
  const Value* ref_ = &null_value();
  Value owned_;
};

// One evaluation: the scope it reads and the first failure. Not thread-safe;
// one per evaluate() or render() call.
class Evaluation {
 public:
  explicit Evaluation(const EvalScope& scope) : scope_(scope) {}

  // Evaluates `expr` into `out`; false on failure (see failure()).
  bool eval(const Expr& expr, Operand& out);
  // A builtin call (builtins.cc).
  bool call(const Expr& call, Operand& out);

  // Records "<what> in '<expression text of at>'"; always returns false.
  bool fail(const Expr& at, std::string_view what);
  // Records `message` as it is; always returns false.
  bool fail_plain(std::string message);
  // Enforce EvalLimits::kMaxResultBytes / kMaxResultItems on a result of `at`.
  bool check_result_bytes(const Expr& at, size_t bytes);
  bool check_result_items(const Expr& at, size_t items);

  Status failure() const { return failure_; }

 private:
  bool root(const Expr& expr, Operand& out);
  bool member(const Expr& expr, Operand& out);
  bool index(const Expr& expr, Operand& out);
  bool unary(const Expr& expr, Operand& out);
  bool binary(const Expr& expr, Operand& out);
  bool arithmetic(const Expr& expr, const Value& a, const Value& b, Operand& out);
  bool add(const Expr& expr, const Value& a, const Value& b, Operand& out);
  bool order(const Expr& expr, const Value& a, const Value& b, Operand& out);
  bool list(const Expr& expr, Operand& out);

  const EvalScope& scope_;
  Status failure_;
};

// A type with its article, for messages: "an integer", "a string", "null".
std::string_view describe_type(const Value& value);

// Deep equality for `==`, `in` and contains(): numbers by exact value across
// integer and number, otherwise equal types with equal contents.
bool values_equal(const Value& a, const Value& b);

// Whether `haystack` holds `needle` (`needle in haystack`); Invalid when the
// types do not allow the question.
enum class Membership { Absent, Present, Invalid };
Membership find_in(const Value& haystack, const Value& needle);

// Appends to_display_string(value) without a temporary.
void append_display(std::string& out, const Value& value);

// The bytes of the character starting at `offset` of non-empty `text`: a
// well-formed UTF-8 sequence, or one byte when none starts there.
size_t character_bytes(std::string_view text, size_t offset);
// The number of characters of `text`, as character_bytes counts them.
size_t count_characters(std::string_view text);

}  // namespace flowline::pill_eval
