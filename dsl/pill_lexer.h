// The lexer of the pill language: the text between `{{` and `}}` as tokens.
//
// Positions are byte offsets into the expression text; the parser turns them
// into file positions. The lexer never fails outright: a malformed token comes
// back as PillTokenKind::Invalid with a message, and the parser reports it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flowline {

enum class PillTokenKind {
  End,
  Invalid,     // a malformed token; `error` says why
  Identifier,  // a name; after '.', any run of [A-Za-z0-9_] (so `inputs.1st`, `x.in` work)
  Integer,     // `integer` holds the magnitude (up to 2^63, so `-9223372036854775808` parses)
  Decimal,     // `decimal`
  String,      // `string_value` holds the unescaped text
  True,
  False,
  Null,
  In,
  Dot,           // .
  LeftBracket,   // [
  RightBracket,  // ]
  LeftParen,     // (
  RightParen,    // )
  Comma,         // ,
  Question,      // ?
  Colon,         // :
  Coalesce,      // ??
  Or,            // ||
  And,           // &&
  Equal,         // ==
  NotEqual,      // !=
  Less,          // <
  LessEqual,     // <=
  Greater,       // >
  GreaterEqual,  // >=
  Plus,          // +
  Minus,         // -
  Star,          // *
  Slash,         // /
  Percent,       // %
  Bang,          // !
};

struct PillToken {
  PillTokenKind kind = PillTokenKind::End;
  uint32_t begin = 0;        // byte offset of the token's first byte
  uint32_t end = 0;          // one past its last byte
  std::string_view text;     // as written (for a string, quotes included)
  std::string string_value;  // String
  uint64_t integer = 0;      // Integer
  double decimal = 0;        // Decimal
  std::string error;         // Invalid: a one-line message
  uint32_t error_begin = 0;  // Invalid: the bytes the message is about
  uint32_t error_end = 0;
};

// Reads tokens on demand from a view it does not own; `text` must outlive the
// lexer and the tokens' `text` views.
class PillLexer {
 public:
  explicit PillLexer(std::string_view text) : text_(text) {}

  PillToken next();

 private:
  PillToken make(PillTokenKind kind, size_t begin, size_t end) const;
  PillToken invalid(size_t begin, size_t end, std::string error, size_t error_begin,
                    size_t error_end) const;
  PillToken lex_name(size_t begin);
  PillToken lex_number(size_t begin);
  PillToken lex_string(size_t begin);
  PillToken lex_operator(size_t begin);

  std::string_view text_;
  size_t pos_ = 0;
  bool after_dot_ = false;
};

// How a token reads in a message: "')'", "'foo'", "string \"a b\"", "end of pill".
std::string describe_token(const PillToken& token);

}  // namespace flowline
