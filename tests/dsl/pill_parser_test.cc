#include "dsl/pill_parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace flowline {
namespace {

// A compact, unambiguous spelling of a tree: "(+ 1 (* 2 3))".
std::string sexpr(const Expr& e) {
  auto arg = [&](size_t i) { return sexpr(*e.args[i]); };
  switch (e.kind) {
    case ExprKind::Literal:
      // Decimals get a 'd' so they cannot pass for integers.
      if (e.literal.type() == Value::Type::Number) return fmt::format("{}d", e.literal.as_number());
      return e.literal.to_json();
    case ExprKind::Root:
      return e.name;
    case ExprKind::Member:
      return fmt::format("(. {} {})", arg(0), e.name);
    case ExprKind::Index:
      return fmt::format("([] {} {})", arg(0), arg(1));
    case ExprKind::Unary:
      return fmt::format("({} {})", e.unary_op == UnaryOp::Not ? "!" : "neg", arg(0));
    case ExprKind::Conditional:
      return fmt::format("(?: {} {} {})", arg(0), arg(1), arg(2));
    case ExprKind::Binary: {
      static const char* kOps[] = {"==", "!=", "<", "<=", ">", ">=", "&&", "||",
                                   "+",  "-",  "*", "/",  "%", "??", "in"};
      return fmt::format("({} {} {})", kOps[static_cast<int>(e.binary_op)], arg(0), arg(1));
    }
    case ExprKind::List:
    case ExprKind::Call: {
      std::string out = e.kind == ExprKind::List ? "[" : "(" + e.name;
      for (size_t i = 0; i < e.args.size(); ++i)
        out += (i == 0 && e.kind == ExprKind::List ? "" : " ") + arg(i);
      return out + (e.kind == ExprKind::List ? "]" : ")");
    }
  }
  return "?";
}

std::string where(const SourceRange& range) {
  return fmt::format("{}:{}-{}:{}", range.begin.line, range.begin.column, range.end.line,
                     range.end.column);
}

// "1:12-1:15 [code] message" for each diagnostic, one per line.
std::string describe(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics.items()) {
    if (!out.empty()) out += "\n";
    out += fmt::format("{} [{}] {}", where(d.range), d.code, d.message);
  }
  return out;
}

// A template written verbatim as the value of `key: ` on the first line of a
// file, as the loader hands it over: the text starts at byte 5, column 6.
struct Written {
  std::shared_ptr<SourceFile> file;
  Template tmpl;
  Diagnostics diagnostics;
};

constexpr std::string_view kPrefix = "key: ";

std::unique_ptr<Written> write(std::string text) {
  auto out = std::make_unique<Written>();
  out->file = std::make_shared<SourceFile>("test.yaml", std::string(kPrefix) + text + "\n");
  SourceRange range{out->file, out->file->position_at(kPrefix.size()),
                    out->file->position_at(kPrefix.size() + text.size())};
  out->tmpl = parse_template(text, range, kPrefix.size(), out->diagnostics);
  return out;
}

// The tree of a template that is one pill.
std::string tree(std::string text) {
  auto written = write("{{ " + text + " }}");
  if (written->diagnostics.items().size() != 0) return "error: " + describe(written->diagnostics);
  if (!written->tmpl.is_single_pill()) return "not a single pill";
  return sexpr(*written->tmpl.parts[0].expr);
}

// The diagnostics of a template that is one pill. Columns count from the
// file: `key: {{ ` puts the expression's first character at column 9.
std::string errors(std::string text) {
  auto written = write("{{ " + text + " }}");
  EXPECT_TRUE(written->tmpl.parts.empty()) << text;
  return describe(written->diagnostics);
}

TEST(PillLiterals, Numbers) {
  EXPECT_EQ(tree("0"), "0");
  EXPECT_EQ(tree("42"), "42");
  EXPECT_EQ(tree("-42"), "-42");
  EXPECT_EQ(tree("2.5"), "2.5d");
  EXPECT_EQ(tree("-0.5"), "-0.5d");
  EXPECT_EQ(tree("1e3"), "1000d");
  EXPECT_EQ(tree("1.5E-1"), "0.15d");
  EXPECT_EQ(tree("2E+2"), "200d");
  EXPECT_EQ(tree("1e-999"), "0d");
  EXPECT_EQ(tree("0." + std::string(400, '0') + "1"), "0d");  // underflows harmlessly
  EXPECT_EQ(tree("0." + std::string(400, '0') + "1e300"), "1e-101d");
  EXPECT_EQ(tree("9223372036854775807"), "9223372036854775807");
  EXPECT_EQ(tree("-9223372036854775808"), "-9223372036854775808");
  EXPECT_EQ(tree("- -9223372036854775808"), "(neg -9223372036854775808)");
}

TEST(PillLiterals, IntegersStayIntegers) {
  auto written = write("{{ -7 }}");
  ASSERT_TRUE(written->tmpl.is_single_pill());
  EXPECT_TRUE(written->tmpl.parts[0].expr->literal.is_integer());
  EXPECT_EQ(written->tmpl.parts[0].expr->literal.as_integer(), -7);
}

TEST(PillLiterals, Strings) {
  EXPECT_EQ(tree("'single'"), "\"single\"");
  EXPECT_EQ(tree("\"double\""), "\"double\"");
  EXPECT_EQ(tree(R"('it\'s' )"), R"("it's")");
  EXPECT_EQ(tree(R"("say \"hi\"")"), R"("say \"hi\"")");
  EXPECT_EQ(tree(R"('a\nb\tc\\d')"), R"("a\nb\tc\\d")");
  EXPECT_EQ(tree(R"('\u00e9')"), "\"\xC3\xA9\"");
  EXPECT_EQ(tree(R"('\uD83D\uDE00')"), "\"\xF0\x9F\x98\x80\"");
  EXPECT_EQ(tree("'mixed \"quotes\"'"), R"("mixed \"quotes\"")");
  EXPECT_EQ(tree("''"), "\"\"");
}

TEST(PillLiterals, KeywordsAndLists) {
  EXPECT_EQ(tree("true"), "true");
  EXPECT_EQ(tree("false"), "false");
  EXPECT_EQ(tree("null"), "null");
  EXPECT_EQ(tree("[]"), "[]");
  EXPECT_EQ(tree("[1, 'a', [true]]"), "[1 \"a\" [true]]");
}

TEST(PillExpressions, RootsMembersAndIndexes) {
  EXPECT_EQ(tree("inputs.limit"), "(. inputs limit)");
  EXPECT_EQ(tree("steps.fetch.body.result[0].number"),
            "(. ([] (. (. (. steps fetch) body) result) 0) number)");
  EXPECT_EQ(tree("steps['fetch'].status.code"), "(. (. ([] steps \"fetch\") status) code)");
  EXPECT_EQ(tree("inc"), "inc");
  EXPECT_EQ(tree("a . b"), "(. a b)");
}

TEST(PillExpressions, MemberNamesMayBeKeywordsOrStartWithDigits) {
  EXPECT_EQ(tree("inputs.1st"), "(. inputs 1st)");
  EXPECT_EQ(tree("x.in"), "(. x in)");
  EXPECT_EQ(tree("x.true.null"), "(. (. x true) null)");
  EXPECT_EQ(tree("x.in in y"), "(in (. x in) y)");
}

TEST(PillExpressions, Precedence) {
  EXPECT_EQ(tree("1 + 2 * 3"), "(+ 1 (* 2 3))");
  EXPECT_EQ(tree("(1 + 2) * 3"), "(* (+ 1 2) 3)");
  EXPECT_EQ(tree("a || b && c"), "(|| a (&& b c))");
  EXPECT_EQ(tree("a ?? b || c"), "(?? a (|| b c))");
  EXPECT_EQ(tree("a == b < c"), "(== a (< b c))");
  EXPECT_EQ(tree("a in b == c"), "(== (in a b) c)");
  EXPECT_EQ(tree("a + b < c - d"), "(< (+ a b) (- c d))");
  EXPECT_EQ(tree("a % b / c * d"), "(* (/ (% a b) c) d)");
  EXPECT_EQ(tree("!a == b"), "(== (! a) b)");
  EXPECT_EQ(tree("-a.b * 2"), "(* (neg (. a b)) 2)");
  EXPECT_EQ(tree("!!a"), "(! (! a))");
  EXPECT_EQ(tree("a ?? b ? c : d"), "(?: (?? a b) c d)");
  EXPECT_EQ(tree("a && b ? c + 1 : d || e"), "(?: (&& a b) (+ c 1) (|| d e))");
  EXPECT_EQ(tree("a >= 1 && a <= 2 && a != 3"), "(&& (&& (>= a 1) (<= a 2)) (!= a 3))");
}

TEST(PillExpressions, Associativity) {
  EXPECT_EQ(tree("a - b - c"), "(- (- a b) c)");
  EXPECT_EQ(tree("a ?? b ?? c"), "(?? (?? a b) c)");
  EXPECT_EQ(tree("a ? b : c ? d : e"), "(?: a b (?: c d e))");
  EXPECT_EQ(tree("a ? b ? c : d : e"), "(?: a (?: b c d) e)");
}

TEST(PillExpressions, Calls) {
  EXPECT_EQ(tree("length(steps.fetch.body.result)"),
            "(length (. (. (. steps fetch) body) result))");
  EXPECT_EQ(tree("now()"), "(now)");
  EXPECT_EQ(tree("default(inputs.x, 'n/a')"), "(default (. inputs x) \"n/a\")");
  EXPECT_EQ(tree("upper(trim(x)).length"), "(. (upper (trim x)) length)");
  EXPECT_EQ(tree("join(split(a, ','), ';')"), "(join (split a \",\") \";\")");
  EXPECT_EQ(tree("length(x) + 1"), "(+ (length x) 1)");
}

TEST(PillExpressions, CallsResolveTheirBuiltin) {
  auto written = write("{{ starts_with(a, 'x') }}");
  ASSERT_TRUE(written->tmpl.is_single_pill());
  const Expr& call = *written->tmpl.parts[0].expr;
  EXPECT_EQ(call.kind, ExprKind::Call);
  EXPECT_EQ(call.builtin, Builtin::StartsWith);
  EXPECT_EQ(call.name, "starts_with");
}

TEST(PillRanges, EachNodeKnowsWhereItWasWritten) {
  //                  1234567890123456789012345
  auto written = write("{{ a + steps.x.y }}");  // after "key: ": 'a' at column 9
  ASSERT_TRUE(written->tmpl.is_single_pill()) << describe(written->diagnostics);
  const Expr& sum = *written->tmpl.parts[0].expr;
  EXPECT_EQ(where(sum.range), "1:9-1:22");
  EXPECT_EQ(where(sum.args[0]->range), "1:9-1:10");
  EXPECT_EQ(where(sum.args[1]->range), "1:13-1:22");
  EXPECT_EQ(where(sum.args[1]->args[0]->range), "1:13-1:20");
  EXPECT_EQ(where(sum.args[1]->args[0]->args[0]->range), "1:13-1:18");
  EXPECT_EQ(sum.range.begin.offset, 8u);
}

TEST(PillRanges, NegativeLiteralsIncludeTheMinus) {
  auto written = write("{{ -5 }}");
  ASSERT_TRUE(written->tmpl.is_single_pill());
  EXPECT_EQ(where(written->tmpl.parts[0].expr->range), "1:9-1:11");
}

TEST(PillRanges, ColumnsCountCodePoints) {
  auto written = write("héllo {{ x ! }}");
  EXPECT_EQ(describe(written->diagnostics), "1:17-1:18 [pill-syntax] unexpected '!'");
}

TEST(PillRanges, WithoutAnOffsetDiagnosticsPointAtTheWholeString) {
  auto file = std::make_shared<SourceFile>("t.yaml", "key: |\n  {{ a +\n  }}\n");
  SourceRange range{file, file->position_at(5), file->position_at(file->text().size())};
  Diagnostics diagnostics;
  Template t = parse_template("{{ a +\n}}", range, UINT32_MAX, diagnostics);
  EXPECT_EQ(describe(diagnostics), "1:6-4:1 [pill-syntax] expected an expression after '+'");
  EXPECT_TRUE(t.parts.empty());
}

TEST(PillRanges, AnExpressionMaySpanLines) {
  auto file = std::make_shared<SourceFile>("t.yaml", "a +\n  b c");
  SourceRange range{file, file->position_at(0), file->position_at(9)};
  Diagnostics diagnostics;
  EXPECT_EQ(parse_expression(file->text(), range, 0, diagnostics), nullptr);
  EXPECT_EQ(describe(diagnostics), "2:5-2:6 [pill-syntax] unexpected 'c'");
}

TEST(PillSyntaxErrors, UnclosedThings) {
  EXPECT_EQ(errors("length(x"),
            "1:17-1:17 [pill-syntax] expected ')' to close the call of 'length'");
  EXPECT_EQ(errors("length("),
            "1:16-1:16 [pill-syntax] expected ')' to close the call of 'length'");
  EXPECT_EQ(errors("length(x y)"),
            "1:18-1:19 [pill-syntax] expected ')' to close the call of 'length', found 'y'");
  EXPECT_EQ(errors("(a + b"), "1:15-1:15 [pill-syntax] expected ')' to close '('");
  EXPECT_EQ(errors("[1, 2"), "1:14-1:14 [pill-syntax] expected ']' to close the list");
  EXPECT_EQ(errors("[1,"), "1:12-1:12 [pill-syntax] expected ']' to close the list");
  EXPECT_EQ(errors("[1 2]"),
            "1:12-1:13 [pill-syntax] expected ',' or ']' in the list, found number '2'");
  EXPECT_EQ(errors("a[1"), "1:12-1:12 [pill-syntax] expected ']' to close the index");
  EXPECT_EQ(errors("a ? b"), "1:14-1:14 [pill-syntax] expected ':' after the '?' branch");
}

TEST(PillSyntaxErrors, UnexpectedTokens) {
  EXPECT_EQ(errors("a }"), "1:11-1:12 [pill-syntax] unexpected '}'");
  EXPECT_EQ(errors("a b"), "1:11-1:12 [pill-syntax] unexpected 'b'");
  EXPECT_EQ(errors("a 'b'"), "1:11-1:14 [pill-syntax] unexpected string 'b'");
  EXPECT_EQ(errors("a # b"), "1:11-1:12 [pill-syntax] unexpected '#'");
  EXPECT_EQ(errors("a é"), "1:11-1:12 [pill-syntax] unexpected 'é'");
  EXPECT_EQ(errors("a \x01"), "1:11-1:12 [pill-syntax] unexpected character U+0001");
  EXPECT_EQ(errors("a \xff"), "1:11-1:12 [pill-syntax] unexpected byte 0xFF");
  EXPECT_EQ(errors(")"), "1:9-1:10 [pill-syntax] expected an expression, found ')'");
  EXPECT_EQ(errors("a + * b"), "1:13-1:14 [pill-syntax] expected an expression, found '*'");
  EXPECT_EQ(errors("a +"), "1:12-1:12 [pill-syntax] expected an expression after '+'");
  EXPECT_EQ(errors("a."), "1:11-1:11 [pill-syntax] expected a name after '.'");
  EXPECT_EQ(errors("a.'b'"), "1:11-1:14 [pill-syntax] expected a name after '.', found string 'b'");
}

TEST(PillSyntaxErrors, MistypedDoubledOperators) {
  EXPECT_EQ(errors("a = b"), "1:11-1:12 [pill-syntax] unexpected '=' (did you mean '=='?)");
  EXPECT_EQ(errors("a & b"), "1:11-1:12 [pill-syntax] unexpected '&' (did you mean '&&'?)");
  EXPECT_EQ(errors("a | b"), "1:11-1:12 [pill-syntax] unexpected '|' (did you mean '||'?)");
}

TEST(PillSyntaxErrors, OnlyBuiltinsCanBeCalled) {
  EXPECT_EQ(errors("inputs.f(1)"), "1:17-1:18 [pill-syntax] only built-in functions can be called");
  EXPECT_EQ(errors("length(x)(1)"),
            "1:18-1:19 [pill-syntax] only built-in functions can be called");
}

TEST(PillSyntaxErrors, Strings) {
  EXPECT_EQ(errors("'abc"), "1:9-1:10 [pill-syntax] unterminated string");
  EXPECT_EQ(errors(R"('a\qb')"), "1:11-1:13 [pill-syntax] invalid escape '\\q' in string");
  EXPECT_EQ(errors(R"('\u12')"),
            "1:10-1:14 [pill-syntax] invalid escape: '\\u' needs 4 hex digits");
  EXPECT_EQ(errors(R"('\uD800x')"),
            "1:10-1:16 [pill-syntax] invalid escape '\\uD800': a high surrogate needs a low one "
            "after it");
  EXPECT_EQ(errors(R"('\uDC00')"),
            "1:10-1:16 [pill-syntax] invalid escape '\\uDC00': a low surrogate without a high one");
}

TEST(PillSyntaxErrors, UnterminatedStringBeforeTheClosingBraces) {
  auto written = write("{{ 'abc }} tail");
  EXPECT_EQ(describe(written->diagnostics), "1:9-1:10 [pill-syntax] unterminated string");
}

TEST(PillSyntaxErrors, Numbers) {
  EXPECT_EQ(errors("99999999999999999999"),
            "1:9-1:29 [pill-syntax] integer '99999999999999999999' is out of range");
  EXPECT_EQ(errors("9223372036854775808"),
            "1:9-1:28 [pill-syntax] integer '9223372036854775808' is out of range");
  EXPECT_EQ(errors("-(9223372036854775808)"),
            "1:11-1:30 [pill-syntax] integer '9223372036854775808' is out of range");
  EXPECT_EQ(errors("1e999"), "1:9-1:14 [pill-syntax] number '1e999' is out of range");
  EXPECT_EQ(errors("0.001e312"), "1:9-1:18 [pill-syntax] number '0.001e312' is out of range");
  EXPECT_EQ(errors("12abc"), "1:9-1:14 [pill-syntax] invalid number '12abc'");
}

TEST(PillFunctions, UnknownFunctionSuggestsTheClosest) {
  auto written = write("{{ lenght(x) }}");
  EXPECT_EQ(describe(written->diagnostics),
            "1:9-1:15 [unknown-function] unknown function 'lenght' (did you mean 'length'?)");
  EXPECT_EQ(written->diagnostics.items()[0].help, "");
}

TEST(PillFunctions, UnknownFunctionWithoutNearMissListsThemAll) {
  auto written = write("{{ frobnicate(x) }}");
  ASSERT_EQ(written->diagnostics.items().size(), 1u);
  EXPECT_EQ(written->diagnostics.items()[0].message, "unknown function 'frobnicate'");
  EXPECT_EQ(written->diagnostics.items()[0].help,
            "the functions are: length, upper, lower, trim, contains, starts_with, ends_with, "
            "join, split, keys, default, to_int, to_number, to_string, json, parse_json, "
            "url_encode, now");
}

TEST(PillFunctions, Arity) {
  EXPECT_EQ(errors("contains(x)"), "1:9-1:20 [function-arity] 'contains' takes 2 arguments, got 1");
  EXPECT_EQ(errors("length()"), "1:9-1:17 [function-arity] 'length' takes 1 argument, got 0");
  EXPECT_EQ(errors("length(a, b)"), "1:9-1:21 [function-arity] 'length' takes 1 argument, got 2");
  EXPECT_EQ(errors("now(1)"), "1:9-1:15 [function-arity] 'now' takes no arguments, got 1");
  auto written = write("{{ join(x) }}");
  ASSERT_EQ(written->diagnostics.items().size(), 1u);
  EXPECT_EQ(written->diagnostics.items()[0].help, "usage: join(list, separator)");
}

TEST(PillFunctions, EveryBuiltinHasItsName) {
  const std::pair<Builtin, std::string_view> kNames[] = {
      {Builtin::Length, "length"},
      {Builtin::Upper, "upper"},
      {Builtin::Lower, "lower"},
      {Builtin::Trim, "trim"},
      {Builtin::Contains, "contains"},
      {Builtin::StartsWith, "starts_with"},
      {Builtin::EndsWith, "ends_with"},
      {Builtin::Join, "join"},
      {Builtin::Split, "split"},
      {Builtin::Keys, "keys"},
      {Builtin::Default, "default"},
      {Builtin::ToInt, "to_int"},
      {Builtin::ToNumber, "to_number"},
      {Builtin::ToString, "to_string"},
      {Builtin::Json, "json"},
      {Builtin::ParseJson, "parse_json"},
      {Builtin::UrlEncode, "url_encode"},
      {Builtin::Now, "now"},
  };
  for (const auto& [builtin, name] : kNames) {
    EXPECT_EQ(builtin_name(builtin), name);
    // And the parser resolves the name back to the same builtin.
    std::string args = builtin == Builtin::Now ? "" : "x";
    if (name == "contains" || name == "starts_with" || name == "ends_with" || name == "join" ||
        name == "split" || name == "default")
      args = "x, y";
    auto written = write(fmt::format("{{{{ {}({}) }}}}", name, args));
    ASSERT_TRUE(written->tmpl.is_single_pill()) << name << ": " << describe(written->diagnostics);
    EXPECT_EQ(written->tmpl.parts[0].expr->builtin, builtin) << name;
  }
}

TEST(PillTemplates, SplitsTextAndPills) {
  auto written = write("Hello {{ inputs.name }}, you have {{ length(x) }} items");
  ASSERT_EQ(written->diagnostics.items().size(), 0u);
  const auto& parts = written->tmpl.parts;
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0].text, "Hello ");
  EXPECT_EQ(sexpr(*parts[1].expr), "(. inputs name)");
  EXPECT_EQ(parts[2].text, ", you have ");
  EXPECT_EQ(sexpr(*parts[3].expr), "(length x)");
  EXPECT_EQ(parts[4].text, " items");
  EXPECT_FALSE(written->tmpl.is_single_pill());
  EXPECT_FALSE(written->tmpl.is_literal());
  EXPECT_EQ(written->tmpl.source, "Hello {{ inputs.name }}, you have {{ length(x) }} items");
}

TEST(PillTemplates, ASinglePillKeepsItsType) {
  auto written = write("{{inputs.limit}}");
  EXPECT_TRUE(written->tmpl.is_single_pill());
  auto padded = write(" {{ inputs.limit }}");
  EXPECT_FALSE(padded->tmpl.is_single_pill());
  EXPECT_EQ(padded->tmpl.parts.size(), 2u);
}

TEST(PillTemplates, PlainTextIsOneLiteralPart) {
  auto written = write("just text } with { braces }}");
  ASSERT_EQ(written->tmpl.parts.size(), 1u);
  EXPECT_EQ(written->tmpl.parts[0].text, "just text } with { braces }}");
  EXPECT_TRUE(written->tmpl.is_literal());
}

TEST(PillTemplates, EmptyTextHasNoParts) {
  Diagnostics diagnostics;
  Template t = parse_template("", SourceRange{}, UINT32_MAX, diagnostics);
  EXPECT_TRUE(t.parts.empty());
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(diagnostics.items().size(), 0u);
}

TEST(PillTemplates, LiteralBracesAreWrittenAsStringPills) {
  auto written = write("a {{ '{{' }} b {{ '}}' }} c");
  ASSERT_EQ(written->diagnostics.items().size(), 0u) << describe(written->diagnostics);
  const auto& parts = written->tmpl.parts;
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[1].expr->literal, Value("{{"));
  EXPECT_EQ(parts[2].text, " b ");
  EXPECT_EQ(parts[3].expr->literal, Value("}}"));
  EXPECT_EQ(parts[4].text, " c");
}

TEST(PillTemplates, UnterminatedPill) {
  auto written = write("before {{ inputs.x");
  EXPECT_EQ(describe(written->diagnostics),
            "1:13-1:15 [pill-syntax] unterminated pill: missing '}}'");
  EXPECT_EQ(written->diagnostics.items()[0].help,
            "close the pill with '}}'; write a literal '{{' as {{ '{{' }}");
  EXPECT_TRUE(written->tmpl.parts.empty());
  EXPECT_EQ(written->tmpl.source, "before {{ inputs.x");
  EXPECT_EQ(where(written->tmpl.range), "1:6-1:24");
}

TEST(PillTemplates, EmptyPill) {
  EXPECT_EQ(describe(write("a {{ }} b")->diagnostics), "1:8-1:13 [pill-syntax] empty pill");
  EXPECT_EQ(describe(write("{{}}")->diagnostics), "1:6-1:10 [pill-syntax] empty pill");
}

TEST(PillTemplates, ReportsEveryBrokenPill) {
  auto written = write("{{ a + }} ok {{ b }} {{ lenght(c) }} {{");
  EXPECT_EQ(describe(written->diagnostics),
            "1:12-1:12 [pill-syntax] expected an expression after '+'\n"
            "1:30-1:36 [unknown-function] unknown function 'lenght' (did you mean 'length'?)\n"
            "1:43-1:45 [pill-syntax] unterminated pill: missing '}}'");
  EXPECT_TRUE(written->tmpl.parts.empty());
}

TEST(PillSizeLimits, TooLong) {
  // The expression between the braces counts, spaces included.
  std::string huge = "'" + std::string(PillLimits::kMaxExpressionBytes, 'x') + "'";
  EXPECT_EQ(errors(huge),
            "1:9-1:65547 [pill-too-long] pill is 65540 bytes long; the limit is 65536");
  std::string fits = "'" + std::string(PillLimits::kMaxExpressionBytes - 4, 'x') + "'";
  EXPECT_EQ(tree(fits).size(), PillLimits::kMaxExpressionBytes - 2);
}

TEST(PillSizeLimits, TooDeep) {
  auto nested = [](int depth, std::string open, std::string close) {
    std::string out;
    for (int i = 0; i < depth; ++i) out += open;
    out += "1";
    for (int i = 0; i < depth; ++i) out += close;
    return out;
  };
  const int limit = PillLimits::kMaxNestingDepth;
  EXPECT_NE(tree(nested(limit - 2, "(", ")")).substr(0, 5), "error");
  EXPECT_EQ(errors(nested(limit + 10, "(", ")")).substr(0, 50),
            "1:73-1:74 [pill-too-deep] pill nests deeper than 6");
  EXPECT_NE(tree(nested(limit - 1, "[", "]")).substr(0, 5), "error");
  // The parser's own recursion is bounded too: the innermost '1' is one level too many.
  EXPECT_EQ(errors(nested(limit, "[", "]")),
            "1:73-1:74 [pill-too-deep] pill nests deeper than 64 levels");
  EXPECT_EQ(errors(nested(limit, "!", "")),
            "1:73-1:74 [pill-too-deep] pill nests deeper than 64 levels");
  // A flat chain does not recurse while parsing but still makes a tall tree.
  std::string chain = "1";
  for (int i = 0; i < limit; ++i) chain += "+1";
  EXPECT_EQ(errors(chain), "1:9-1:138 [pill-too-deep] pill nests deeper than 64 levels");
  std::string short_chain = "1";
  for (int i = 0; i < limit - 2; ++i) short_chain += "+1";
  EXPECT_NE(tree(short_chain).substr(0, 5), "error");
}

TEST(PillSizeLimits, DeepNestingDoesNotOverflowTheStack) {
  std::string deep(60000, '(');
  auto written = write("{{ " + deep + " }}");
  ASSERT_EQ(written->diagnostics.items().size(), 1u);
  EXPECT_EQ(written->diagnostics.items()[0].code, "pill-too-deep");
}

TEST(ParseExpression, ParsesABareExpression) {
  Diagnostics diagnostics;
  ExprPtr expr = parse_expression("inputs.a ?? 1", SourceRange{}, UINT32_MAX, diagnostics);
  ASSERT_NE(expr, nullptr);
  EXPECT_EQ(sexpr(*expr), "(?? (. inputs a) 1)");
  EXPECT_EQ(parse_expression("  ", SourceRange{}, UINT32_MAX, diagnostics), nullptr);
  ASSERT_EQ(diagnostics.items().size(), 1u);
  EXPECT_EQ(diagnostics.items()[0].message, "empty pill");
}

}  // namespace
}  // namespace flowline
