// A Pratt parser for the pill language. One error per pill: the first problem
// is reported and that pill is abandoned, but every pill of a template is
// parsed, so one pass reports every broken pill.
#include "dsl/pill_parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "dsl/pill_lexer.h"
#include "dsl/suggest.h"

namespace flowline {
namespace {

constexpr uint32_t kNoOffset = UINT32_MAX;

struct BuiltinInfo {
  std::string_view name;
  Builtin builtin;
  size_t arity;
  std::string_view usage;  // shown as help when the argument count is wrong
};

// `now()` takes no argument: it yields an ISO 8601 UTC timestamp, and
// formatting is left to scripts rather than growing a strftime dialect here.
constexpr BuiltinInfo kBuiltins[] = {
    {"length", Builtin::Length, 1, "length(value)"},
    {"upper", Builtin::Upper, 1, "upper(text)"},
    {"lower", Builtin::Lower, 1, "lower(text)"},
    {"trim", Builtin::Trim, 1, "trim(text)"},
    {"contains", Builtin::Contains, 2, "contains(text_or_list, item)"},
    {"starts_with", Builtin::StartsWith, 2, "starts_with(text, prefix)"},
    {"ends_with", Builtin::EndsWith, 2, "ends_with(text, suffix)"},
    {"join", Builtin::Join, 2, "join(list, separator)"},
    {"split", Builtin::Split, 2, "split(text, separator)"},
    {"keys", Builtin::Keys, 1, "keys(object)"},
    {"default", Builtin::Default, 2, "default(value, fallback)"},
    {"to_int", Builtin::ToInt, 1, "to_int(value)"},
    {"to_number", Builtin::ToNumber, 1, "to_number(value)"},
    {"to_string", Builtin::ToString, 1, "to_string(value)"},
    {"json", Builtin::Json, 1, "json(value)"},
    {"parse_json", Builtin::ParseJson, 1, "parse_json(text)"},
    {"url_encode", Builtin::UrlEncode, 1, "url_encode(text)"},
    {"now", Builtin::Now, 0, "now()"},
};

const BuiltinInfo* find_builtin(std::string_view name) {
  for (const auto& info : kBuiltins)
    if (info.name == name) return &info;
  return nullptr;
}

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const auto& info : kBuiltins) names.emplace_back(info.name);
  return names;
}

std::string arity_message(const BuiltinInfo& info, size_t given) {
  if (info.arity == 0) return fmt::format("'{}' takes no arguments, got {}", info.name, given);
  return fmt::format("'{}' takes {} argument{}, got {}", info.name, info.arity,
                     info.arity == 1 ? "" : "s", given);
}

// Binding powers, lowest to highest (DESIGN.md §2).
enum Power : int {
  kNone = 0,
  kConditional = 1,  // ?: (right-associative)
  kCoalesce,         // ??
  kOr,               // ||
  kAnd,              // &&
  kEquality,         // == !=
  kComparison,       // < <= > >= in
  kAdditive,         // + -
  kMultiplicative,   // * / %
  kUnary,            // ! -
  kPostfix,          // . [] ()
};

struct BinaryInfo {
  Power power;
  BinaryOp op;
};

std::optional<BinaryInfo> binary_info(PillTokenKind kind) {
  switch (kind) {
    case PillTokenKind::Coalesce:
      return BinaryInfo{kCoalesce, BinaryOp::Coalesce};
    case PillTokenKind::Or:
      return BinaryInfo{kOr, BinaryOp::Or};
    case PillTokenKind::And:
      return BinaryInfo{kAnd, BinaryOp::And};
    case PillTokenKind::Equal:
      return BinaryInfo{kEquality, BinaryOp::Equal};
    case PillTokenKind::NotEqual:
      return BinaryInfo{kEquality, BinaryOp::NotEqual};
    case PillTokenKind::Less:
      return BinaryInfo{kComparison, BinaryOp::Less};
    case PillTokenKind::LessEqual:
      return BinaryInfo{kComparison, BinaryOp::LessEqual};
    case PillTokenKind::Greater:
      return BinaryInfo{kComparison, BinaryOp::Greater};
    case PillTokenKind::GreaterEqual:
      return BinaryInfo{kComparison, BinaryOp::GreaterEqual};
    case PillTokenKind::In:
      return BinaryInfo{kComparison, BinaryOp::In};
    case PillTokenKind::Plus:
      return BinaryInfo{kAdditive, BinaryOp::Add};
    case PillTokenKind::Minus:
      return BinaryInfo{kAdditive, BinaryOp::Subtract};
    case PillTokenKind::Star:
      return BinaryInfo{kMultiplicative, BinaryOp::Multiply};
    case PillTokenKind::Slash:
      return BinaryInfo{kMultiplicative, BinaryOp::Divide};
    case PillTokenKind::Percent:
      return BinaryInfo{kMultiplicative, BinaryOp::Modulo};
    default:
      return std::nullopt;
  }
}

bool is_postfix(PillTokenKind kind) {
  return kind == PillTokenKind::Dot || kind == PillTokenKind::LeftBracket ||
         kind == PillTokenKind::LeftParen;
}

// Maps byte offsets in a pill to file ranges.
class RangeMapper {
 public:
  RangeMapper(const SourceRange& fallback, uint32_t base_offset)
      : fallback_(fallback), base_offset_(base_offset) {}

  SourceRange range(size_t begin, size_t end) const {
    if (base_offset_ == kNoOffset || fallback_.file == nullptr) return fallback_;
    SourceRange out;
    out.file = fallback_.file;
    out.begin = fallback_.file->position_at(size_t{base_offset_} + begin);
    out.end = fallback_.file->position_at(size_t{base_offset_} + end);
    return out;
  }

 private:
  const SourceRange& fallback_;
  uint32_t base_offset_;
};

class PillParser {
 public:
  // `text` is the expression alone; `base_offset` is the file offset of
  // text[0], or kNoOffset.
  PillParser(std::string_view text, const SourceRange& range, uint32_t base_offset,
             Diagnostics& diagnostics)
      : text_(text), ranges_(range, base_offset), lexer_(text), diagnostics_(diagnostics) {}

  ExprPtr parse() {
    advance();
    if (current_.kind == PillTokenKind::End) {
      fail("pill-syntax", 0, text_.size(), "empty pill");
      return nullptr;
    }
    Parsed result = parse_expression(kNone);
    if (failed_) return nullptr;
    if (current_.kind != PillTokenKind::End) {
      unexpected(current_);
      return nullptr;
    }
    return result.expr;
  }

 private:
  // A node under construction, with what building its parents needs.
  struct Parsed {
    std::shared_ptr<Expr> expr;
    uint32_t begin = 0;
    uint32_t end = 0;
    int height = 0;
    bool negative_literal = false;  // already folded from `-<integer>`
  };

  void advance() {
    previous_ = std::move(current_);
    current_ = lexer_.next();
  }

  bool fail(std::string code, size_t begin, size_t end, std::string message,
            std::string help = {}) {
    if (!failed_)
      diagnostics_.error(std::move(code), ranges_.range(begin, end), std::move(message),
                         std::move(help));
    failed_ = true;
    return false;
  }

  // Reports a token where it does not fit; an Invalid token reports its own problem.
  Parsed unexpected(const PillToken& token) {
    if (token.kind == PillTokenKind::Invalid) {
      fail("pill-syntax", token.error_begin, token.error_end, token.error);
    } else if (token.kind == PillTokenKind::End) {
      fail("pill-syntax", previous_.end, previous_.end, "unexpected end of pill");
    } else {
      fail("pill-syntax", token.begin, token.end, "unexpected " + describe_token(token));
    }
    return {};
  }

  // Reports a missing closing token where it should have been.
  Parsed expected(std::string message) {
    if (current_.kind == PillTokenKind::Invalid) return unexpected(current_);
    if (current_.kind == PillTokenKind::End) {
      fail("pill-syntax", previous_.end, previous_.end, std::move(message));
    } else {
      fail("pill-syntax", current_.begin, current_.end,
           std::move(message) + ", found " + describe_token(current_));
    }
    return {};
  }

  Parsed make(ExprKind kind, uint32_t begin, uint32_t end, std::vector<Parsed> children = {}) {
    Parsed out;
    out.expr = std::make_shared<Expr>();
    out.expr->kind = kind;
    out.expr->range = ranges_.range(begin, end);
    out.begin = begin;
    out.end = end;
    int child_height = 0;
    for (auto& child : children) {
      child_height = std::max(child_height, child.height);
      out.expr->args.push_back(std::move(child.expr));
    }
    out.height = child_height + 1;
    // Evaluation recurses over the tree, so its height is bounded as well as
    // the parser's own recursion.
    if (out.height > PillLimits::kMaxNestingDepth) too_deep(begin, end);
    return out;
  }

  void too_deep(size_t begin, size_t end) {
    fail("pill-too-deep", begin, end,
         fmt::format("pill nests deeper than {} levels", PillLimits::kMaxNestingDepth),
         "split the expression into steps or variables");
  }

  Parsed parse_expression(int min_power) {
    if (++depth_ > PillLimits::kMaxNestingDepth) {
      too_deep(current_.begin, current_.end);
      --depth_;
      return {};
    }
    Parsed result = parse_operand_and_operators(min_power);
    --depth_;
    return result;
  }

  Parsed parse_operand_and_operators(int min_power) {
    Parsed left = parse_prefix();
    while (!failed_) {
      PillTokenKind kind = current_.kind;
      if (is_postfix(kind)) {
        left = parse_postfix(std::move(left));
        continue;
      }
      if (kind == PillTokenKind::Question) {
        if (kConditional < min_power) break;
        left = parse_conditional(std::move(left));
        continue;
      }
      auto info = binary_info(kind);
      if (!info || info->power < min_power) break;
      advance();
      Parsed right = parse_expression(info->power + 1);
      if (failed_) break;
      uint32_t begin = left.begin, end = right.end;
      Parsed node = make(ExprKind::Binary, begin, end, {std::move(left), std::move(right)});
      if (failed_) break;
      node.expr->binary_op = info->op;
      left = std::move(node);
    }
    if (failed_) return {};
    return left;
  }

  Parsed parse_conditional(Parsed condition) {
    advance();  // '?'
    Parsed then_branch = parse_expression(kConditional);
    if (failed_) return {};
    if (current_.kind != PillTokenKind::Colon) return expected("expected ':' after the '?' branch");
    advance();
    Parsed else_branch = parse_expression(kConditional);
    if (failed_) return {};
    uint32_t begin = condition.begin, end = else_branch.end;
    return make(ExprKind::Conditional, begin, end,
                {std::move(condition), std::move(then_branch), std::move(else_branch)});
  }

  Parsed parse_postfix(Parsed object) {
    const PillToken opener = current_;
    advance();
    if (opener.kind == PillTokenKind::Dot) {
      if (current_.kind != PillTokenKind::Identifier) return expected("expected a name after '.'");
      std::string name(current_.text);
      uint32_t begin = object.begin, end = current_.end;
      advance();
      Parsed node = make(ExprKind::Member, begin, end, {std::move(object)});
      if (!failed_) node.expr->name = std::move(name);
      return node;
    }
    if (opener.kind == PillTokenKind::LeftBracket) {
      Parsed index = parse_expression(kNone);
      if (failed_) return {};
      if (current_.kind != PillTokenKind::RightBracket)
        return expected("expected ']' to close the index");
      uint32_t begin = object.begin, end = current_.end;
      advance();
      return make(ExprKind::Index, begin, end, {std::move(object), std::move(index)});
    }
    // '(' after anything but a bare name.
    fail("pill-syntax", opener.begin, opener.end, "only built-in functions can be called",
         "call a function by its name, e.g. length(steps.fetch.body)");
    return {};
  }

  Parsed parse_prefix() {
    const PillToken token = current_;
    switch (token.kind) {
      case PillTokenKind::Integer:
        return parse_integer();
      case PillTokenKind::Decimal:
        advance();
        return literal(token, Value(token.decimal));
      case PillTokenKind::String:
        advance();
        return literal(token, Value(token.string_value));
      case PillTokenKind::True:
        advance();
        return literal(token, Value(true));
      case PillTokenKind::False:
        advance();
        return literal(token, Value(false));
      case PillTokenKind::Null:
        advance();
        return literal(token, Value());
      case PillTokenKind::Identifier: {
        advance();
        if (current_.kind == PillTokenKind::LeftParen) return parse_call(token);
        Parsed node = make(ExprKind::Root, token.begin, token.end);
        if (!failed_) node.expr->name = std::string(token.text);
        return node;
      }
      case PillTokenKind::LeftParen: {
        advance();
        Parsed inner = parse_expression(kNone);
        if (failed_) return {};
        if (current_.kind != PillTokenKind::RightParen)
          return expected("expected ')' to close '('");
        advance();
        return inner;
      }
      case PillTokenKind::LeftBracket:
        return parse_list();
      case PillTokenKind::Bang:
      case PillTokenKind::Minus:
        return parse_unary();
      case PillTokenKind::End:
        fail("pill-syntax", previous_.end, previous_.end,
             fmt::format("expected an expression after '{}'", previous_.text));
        return {};
      case PillTokenKind::Invalid:
        return unexpected(token);
      default:
        fail("pill-syntax", token.begin, token.end,
             "expected an expression, found " + describe_token(token));
        return {};
    }
  }

  Parsed literal(const PillToken& token, Value value) {
    Parsed node = make(ExprKind::Literal, token.begin, token.end);
    if (!failed_) node.expr->literal = std::move(value);
    return node;
  }

  Parsed parse_integer() {
    const PillToken token = current_;
    advance();
    constexpr uint64_t kLargestMagnitude = uint64_t{1} << 63;
    if (token.integer < kLargestMagnitude)
      return literal(token, Value(static_cast<int64_t>(token.integer)));
    // 2^63 only exists as the operand of a minus: -9223372036854775808.
    bool negated = negating_ == token.begin && !is_postfix(current_.kind);
    if (!negated) {
      fail("pill-syntax", token.begin, token.end,
           fmt::format("integer '{}' is out of range", token.text));
      return {};
    }
    Parsed node = literal(token, Value(std::numeric_limits<int64_t>::min()));
    node.negative_literal = true;
    return node;
  }

  Parsed parse_unary() {
    const PillToken op = current_;
    advance();
    // Lets parse_integer accept 2^63 only directly after this minus.
    negating_ = op.kind == PillTokenKind::Minus ? current_.begin : UINT32_MAX;
    Parsed operand = parse_expression(kUnary);
    negating_ = UINT32_MAX;
    if (failed_) return {};
    if (op.kind == PillTokenKind::Minus && operand.expr->kind == ExprKind::Literal) {
      // Fold `-5` into a literal so defaults and comparisons see a plain number.
      Value& value = operand.expr->literal;
      if (operand.negative_literal) {
        operand.negative_literal = false;
        operand.begin = op.begin;
        operand.expr->range = ranges_.range(operand.begin, operand.end);
        return operand;
      }
      bool foldable =
          (value.is_integer() && value.as_integer() != std::numeric_limits<int64_t>::min()) ||
          value.type() == Value::Type::Number;
      if (foldable) {
        value = value.is_integer() ? Value(-value.as_integer()) : Value(-value.as_number());
        operand.begin = op.begin;
        operand.expr->range = ranges_.range(operand.begin, operand.end);
        return operand;
      }
    }
    uint32_t end = operand.end;
    Parsed node = make(ExprKind::Unary, op.begin, end, {std::move(operand)});
    if (!failed_)
      node.expr->unary_op = op.kind == PillTokenKind::Bang ? UnaryOp::Not : UnaryOp::Negate;
    return node;
  }

  Parsed parse_list() {
    const PillToken opener = current_;
    advance();
    std::vector<Parsed> items;
    if (current_.kind != PillTokenKind::RightBracket) {
      while (true) {
        if (current_.kind == PillTokenKind::End) return expected("expected ']' to close the list");
        Parsed item = parse_expression(kNone);
        if (failed_) return {};
        items.push_back(std::move(item));
        if (current_.kind == PillTokenKind::Comma) {
          advance();
          continue;
        }
        if (current_.kind == PillTokenKind::RightBracket) break;
        if (current_.kind == PillTokenKind::End) return expected("expected ']' to close the list");
        return expected("expected ',' or ']' in the list");
      }
    }
    uint32_t end = current_.end;
    advance();
    return make(ExprKind::List, opener.begin, end, std::move(items));
  }

  Parsed parse_call(const PillToken& name) {
    const BuiltinInfo* info = find_builtin(name.text);
    if (info == nullptr) {
      std::string message = fmt::format("unknown function '{}'", name.text);
      std::string help;
      if (auto near = closest_match(name.text, builtin_names())) {
        message += fmt::format(" (did you mean '{}'?)", *near);
      } else {
        help = "the functions are: " + fmt::format("{}", fmt::join(builtin_names(), ", "));
      }
      fail("unknown-function", name.begin, name.end, std::move(message), std::move(help));
      return {};
    }
    advance();  // '('
    std::vector<Parsed> args;
    std::string unclosed = fmt::format("expected ')' to close the call of '{}'", name.text);
    if (current_.kind != PillTokenKind::RightParen) {
      while (true) {
        if (current_.kind == PillTokenKind::End) return expected(unclosed);
        Parsed arg = parse_expression(kNone);
        if (failed_) return {};
        args.push_back(std::move(arg));
        if (current_.kind == PillTokenKind::Comma) {
          advance();
          continue;
        }
        if (current_.kind == PillTokenKind::RightParen) break;
        return expected(unclosed);
      }
    }
    uint32_t end = current_.end;
    advance();
    if (args.size() != info->arity) {
      fail("function-arity", name.begin, end, arity_message(*info, args.size()),
           fmt::format("usage: {}", info->usage));
      return {};
    }
    Parsed node = make(ExprKind::Call, name.begin, end, std::move(args));
    if (!failed_) {
      node.expr->name = std::string(name.text);
      node.expr->builtin = info->builtin;
    }
    return node;
  }

  std::string_view text_;
  RangeMapper ranges_;
  PillLexer lexer_;
  Diagnostics& diagnostics_;
  PillToken current_;
  PillToken previous_;
  int depth_ = 0;
  uint32_t negating_ = UINT32_MAX;
  bool failed_ = false;
};

bool is_blank(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// The offset of the `}}` that closes a pill whose expression starts at
// `from`, skipping quoted strings so `{{ '}}' }}` works; npos if none.
size_t find_pill_end(std::string_view text, size_t from) {
  char quote = 0;
  for (size_t i = from; i < text.size(); ++i) {
    char c = text[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      return i;
    }
  }
  return std::string_view::npos;
}

uint32_t shifted(uint32_t text_offset, size_t by) {
  if (text_offset == kNoOffset) return kNoOffset;
  uint64_t offset = uint64_t{text_offset} + by;
  return offset >= kNoOffset ? kNoOffset : static_cast<uint32_t>(offset);
}

ExprPtr parse_pill(std::string_view expression, const SourceRange& range, uint32_t text_offset,
                   Diagnostics& diagnostics) {
  if (expression.size() > PillLimits::kMaxExpressionBytes) {
    size_t first = expression.find_first_not_of(" \t\r\n");
    size_t last = expression.find_last_not_of(" \t\r\n") + 1;
    diagnostics.error("pill-too-long", RangeMapper(range, text_offset).range(first, last),
                      fmt::format("pill is {} bytes long; the limit is {}", expression.size(),
                                  PillLimits::kMaxExpressionBytes),
                      "split the expression into steps or variables");
    return nullptr;
  }
  return PillParser(expression, range, text_offset, diagnostics).parse();
}

}  // namespace

Template parse_template(std::string text, const SourceRange& range, uint32_t text_offset,
                        Diagnostics& diagnostics) {
  Template out;
  out.source = std::move(text);
  out.range = range;
  const std::string_view source = out.source;
  RangeMapper ranges(range, text_offset);
  std::vector<TemplatePart> parts;
  bool ok = true;
  size_t pos = 0;
  while (pos < source.size()) {
    size_t open = source.find("{{", pos);
    if (open == std::string_view::npos) {
      parts.push_back({std::string(source.substr(pos)), nullptr});
      break;
    }
    if (open > pos) parts.push_back({std::string(source.substr(pos, open - pos)), nullptr});
    size_t expression_begin = open + 2;
    size_t close = find_pill_end(source, expression_begin);
    // A quote left open swallows the `}}`; parse up to the first `}}` anyway,
    // so the lexer can point at the unterminated string.
    if (close == std::string_view::npos) close = source.find("}}", expression_begin);
    if (close == std::string_view::npos) {
      diagnostics.error("pill-syntax", ranges.range(open, open + 2),
                        "unterminated pill: missing '}}'",
                        "close the pill with '}}'; write a literal '{{' as {{ '{{' }}");
      ok = false;
      break;
    }
    std::string_view expression = source.substr(expression_begin, close - expression_begin);
    if (is_blank(expression)) {
      diagnostics.error("pill-syntax", ranges.range(open, close + 2), "empty pill",
                        "put an expression between the braces, e.g. {{ inputs.name }}");
      ok = false;
    } else if (ExprPtr expr = parse_pill(expression, range, shifted(text_offset, expression_begin),
                                         diagnostics)) {
      parts.push_back({std::string(), std::move(expr)});
    } else {
      ok = false;
    }
    pos = close + 2;
  }
  if (ok) out.parts = std::move(parts);
  return out;
}

ExprPtr parse_expression(std::string_view text, const SourceRange& range, uint32_t text_offset,
                         Diagnostics& diagnostics) {
  return parse_pill(text, range, text_offset, diagnostics);
}

std::string_view builtin_name(Builtin builtin) {
  for (const auto& info : kBuiltins)
    if (info.builtin == builtin) return info.name;
  return "?";
}

}  // namespace flowline
