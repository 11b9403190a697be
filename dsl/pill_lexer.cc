#include "dsl/pill_lexer.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

namespace flowline {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(std::string& out, char32_t point) {
  if (point < 0x80) {
    out += static_cast<char>(point);
  } else if (point < 0x800) {
    out += static_cast<char>(0xC0 | (point >> 6));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else if (point < 0x10000) {
    out += static_cast<char>(0xE0 | (point >> 12));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (point >> 18));
    out += static_cast<char>(0x80 | ((point >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((point >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (point & 0x3F));
  }
}

// The length of the UTF-8 sequence starting at text[pos] (1 for a stray byte),
// so a message quotes a whole character.
size_t character_length(std::string_view text, size_t pos) {
  auto byte = static_cast<unsigned char>(text[pos]);
  size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
  if (pos + length > text.size()) return 1;
  for (size_t i = 1; i < length; ++i)
    if ((static_cast<unsigned char>(text[pos + i]) & 0xC0) != 0x80) return 1;
  return length;
}

// Control characters and stray bytes would garble a one-line message.
std::string quote_character(std::string_view character) {
  auto byte = static_cast<unsigned char>(character[0]);
  if (character.size() == 1 && (byte < 0x20 || byte == 0x7F))
    return fmt::format("character U+{:04X}", byte);
  if (character.size() == 1 && byte >= 0x80) return fmt::format("byte 0x{:02X}", byte);
  return fmt::format("'{}'", character);
}

std::string shorten(std::string_view text) {
  constexpr size_t kMaxShown = 32;
  if (text.size() <= kMaxShown) return std::string(text);
  size_t cut = kMaxShown;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "…";
}

// Whether a decimal literal (digits, optional fraction, optional exponent)
// that does not fit a double is below 1 in magnitude rather than above it:
// its first significant digit's decimal place plus the exponent is not positive.
bool is_tiny(std::string_view written) {
  size_t exponent_at = written.find_first_of("eE");
  std::string_view mantissa = written.substr(0, exponent_at);
  int64_t exponent = 0;
  if (exponent_at != std::string_view::npos) {
    std::string_view digits = written.substr(exponent_at + 1);
    bool negative = !digits.empty() && digits[0] == '-';
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    for (char c : digits) exponent = std::min<int64_t>(exponent * 10 + (c - '0'), 1'000'000'000);
    if (negative) exponent = -exponent;
  }
  size_t point = mantissa.find('.');
  if (point == std::string_view::npos) point = mantissa.size();
  size_t first_significant = mantissa.find_first_of("123456789");
  if (first_significant == std::string_view::npos) return true;  // zero
  int64_t place = first_significant < point ? static_cast<int64_t>(point - first_significant)
                                            : -static_cast<int64_t>(first_significant - point - 1);
  return place + exponent <= 0;
}

}  // namespace

PillToken PillLexer::make(PillTokenKind kind, size_t begin, size_t end) const {
  PillToken token;
  token.kind = kind;
  token.begin = static_cast<uint32_t>(begin);
  token.end = static_cast<uint32_t>(end);
  token.text = text_.substr(begin, end - begin);
  return token;
}

PillToken PillLexer::invalid(size_t begin, size_t end, std::string error, size_t error_begin,
                             size_t error_end) const {
  PillToken token = make(PillTokenKind::Invalid, begin, end);
  token.error = std::move(error);
  token.error_begin = static_cast<uint32_t>(error_begin);
  token.error_end = static_cast<uint32_t>(error_end);
  return token;
}

PillToken PillLexer::next() {
  while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
  bool member_name = after_dot_;
  after_dot_ = false;
  if (pos_ >= text_.size()) return make(PillTokenKind::End, text_.size(), text_.size());

  size_t begin = pos_;
  char c = text_[pos_];
  // After '.', a member name may start with a digit or be a keyword: parameter
  // names are [A-Za-z0-9_]+ and `x.in` must not read as the operator.
  if (member_name && is_name_char(c)) {
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    return make(PillTokenKind::Identifier, begin, pos_);
  }
  if (is_name_start(c)) return lex_name(begin);
  if (is_digit(c)) return lex_number(begin);
  if (c == '\'' || c == '"') return lex_string(begin);
  PillToken token = lex_operator(begin);
  after_dot_ = token.kind == PillTokenKind::Dot;
  return token;
}

PillToken PillLexer::lex_name(size_t begin) {
  while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
  std::string_view word = text_.substr(begin, pos_ - begin);
  PillTokenKind kind = PillTokenKind::Identifier;
  if (word == "true") kind = PillTokenKind::True;
  if (word == "false") kind = PillTokenKind::False;
  if (word == "null") kind = PillTokenKind::Null;
  if (word == "in") kind = PillTokenKind::In;
  return make(kind, begin, pos_);
}

PillToken PillLexer::lex_number(size_t begin) {
  bool decimal = false;
  while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  // "1.5" is a decimal; "1.x" stays an integer followed by '.'.
  if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
    decimal = true;
    ++pos_;
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  }
  if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
    size_t exponent = pos_ + 1;
    if (exponent < text_.size() && (text_[exponent] == '+' || text_[exponent] == '-')) ++exponent;
    if (exponent < text_.size() && is_digit(text_[exponent])) {
      decimal = true;
      pos_ = exponent;
      while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
    }
  }
  if (pos_ < text_.size() && is_name_char(text_[pos_])) {
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    std::string_view written = text_.substr(begin, pos_ - begin);
    return invalid(begin, pos_, fmt::format("invalid number '{}'", shorten(written)), begin, pos_);
  }

  std::string_view written = text_.substr(begin, pos_ - begin);
  if (decimal) {
    PillToken token = make(PillTokenKind::Decimal, begin, pos_);
    auto [end, error] =
        std::from_chars(written.data(), written.data() + written.size(), token.decimal);
    if (error == std::errc() && std::isfinite(token.decimal)) return token;
    // Underflow to zero is harmless; only a number too large to hold is an error.
    if (error == std::errc::result_out_of_range && is_tiny(written)) {
      token.decimal = 0;
      return token;
    }
    return invalid(begin, pos_, fmt::format("number '{}' is out of range", shorten(written)), begin,
                   pos_);
  }
  PillToken token = make(PillTokenKind::Integer, begin, pos_);
  auto [end, error] =
      std::from_chars(written.data(), written.data() + written.size(), token.integer);
  constexpr uint64_t kLargestMagnitude = uint64_t{1} << 63;  // |INT64_MIN|
  if (error != std::errc() || token.integer > kLargestMagnitude) {
    return invalid(begin, pos_, fmt::format("integer '{}' is out of range", shorten(written)),
                   begin, pos_);
  }
  return token;
}

PillToken PillLexer::lex_string(size_t begin) {
  const char quote = text_[pos_++];
  std::string value;
  while (pos_ < text_.size()) {
    char c = text_[pos_];
    if (c == quote) {
      ++pos_;
      PillToken token = make(PillTokenKind::String, begin, pos_);
      token.string_value = std::move(value);
      return token;
    }
    if (c != '\\') {
      value += c;
      ++pos_;
      continue;
    }
    size_t escape = pos_;
    if (escape + 1 >= text_.size()) break;
    char kind = text_[escape + 1];
    pos_ = escape + 2;
    switch (kind) {
      case 'n':
        value += '\n';
        continue;
      case 't':
        value += '\t';
        continue;
      case 'r':
        value += '\r';
        continue;
      case '\\':
        value += '\\';
        continue;
      case '\'':
        value += '\'';
        continue;
      case '"':
        value += '"';
        continue;
      case '/':
        value += '/';
        continue;
      case 'u':
        break;
      default: {
        size_t length = character_length(text_, escape + 1);
        return invalid(
            begin, escape + 1 + length,
            fmt::format("invalid escape '\\{}' in string", text_.substr(escape + 1, length)),
            escape, escape + 1 + length);
      }
    }
    // \uXXXX, with a surrogate pair written as two escapes.
    auto read_hex4 = [&](size_t at, char32_t& out) {
      if (at + 4 > text_.size()) return false;
      out = 0;
      for (size_t i = at; i < at + 4; ++i) {
        int digit = hex_value(text_[i]);
        if (digit < 0) return false;
        out = out * 16 + digit;
      }
      return true;
    };
    char32_t point = 0;
    if (!read_hex4(escape + 2, point)) {
      size_t digits_end = escape + 2;
      while (digits_end < std::min(text_.size(), escape + 6) && hex_value(text_[digits_end]) >= 0)
        ++digits_end;
      return invalid(begin, digits_end, "invalid escape: '\\u' needs 4 hex digits", escape,
                     digits_end);
    }
    pos_ = escape + 6;
    if (point >= 0xD800 && point <= 0xDBFF) {
      char32_t low = 0;
      if (pos_ + 1 < text_.size() && text_[pos_] == '\\' && text_[pos_ + 1] == 'u' &&
          read_hex4(pos_ + 2, low) && low >= 0xDC00 && low <= 0xDFFF) {
        point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
        pos_ += 6;
      } else {
        return invalid(begin, escape + 6,
                       fmt::format("invalid escape '{}': a high surrogate needs a low one after it",
                                   text_.substr(escape, 6)),
                       escape, escape + 6);
      }
    } else if (point >= 0xDC00 && point <= 0xDFFF) {
      return invalid(begin, escape + 6,
                     fmt::format("invalid escape '{}': a low surrogate without a high one",
                                 text_.substr(escape, 6)),
                     escape, escape + 6);
    }
    append_utf8(value, point);
  }
  pos_ = text_.size();
  return invalid(begin, pos_, "unterminated string", begin, begin + 1);
}

PillToken PillLexer::lex_operator(size_t begin) {
  auto peek = [&](size_t ahead) {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  };
  auto single = [&](PillTokenKind kind) {
    pos_ += 1;
    return make(kind, begin, pos_);
  };
  auto pair = [&](PillTokenKind kind) {
    pos_ += 2;
    return make(kind, begin, pos_);
  };
  // A lone '=', '&' or '|' is almost always the doubled operator mistyped.
  auto near_miss = [&](std::string_view meant) {
    pos_ += 1;
    return invalid(begin, pos_,
                   fmt::format("unexpected '{}' (did you mean '{}'?)", text_[begin], meant), begin,
                   pos_);
  };
  switch (text_[pos_]) {
    case '.':
      return single(PillTokenKind::Dot);
    case '[':
      return single(PillTokenKind::LeftBracket);
    case ']':
      return single(PillTokenKind::RightBracket);
    case '(':
      return single(PillTokenKind::LeftParen);
    case ')':
      return single(PillTokenKind::RightParen);
    case ',':
      return single(PillTokenKind::Comma);
    case ':':
      return single(PillTokenKind::Colon);
    case '+':
      return single(PillTokenKind::Plus);
    case '-':
      return single(PillTokenKind::Minus);
    case '*':
      return single(PillTokenKind::Star);
    case '/':
      return single(PillTokenKind::Slash);
    case '%':
      return single(PillTokenKind::Percent);
    case '?':
      return peek(1) == '?' ? pair(PillTokenKind::Coalesce) : single(PillTokenKind::Question);
    case '|':
      return peek(1) == '|' ? pair(PillTokenKind::Or) : near_miss("||");
    case '&':
      return peek(1) == '&' ? pair(PillTokenKind::And) : near_miss("&&");
    case '=':
      return peek(1) == '=' ? pair(PillTokenKind::Equal) : near_miss("==");
    case '!':
      return peek(1) == '=' ? pair(PillTokenKind::NotEqual) : single(PillTokenKind::Bang);
    case '<':
      return peek(1) == '=' ? pair(PillTokenKind::LessEqual) : single(PillTokenKind::Less);
    case '>':
      return peek(1) == '=' ? pair(PillTokenKind::GreaterEqual) : single(PillTokenKind::Greater);
    default:
      break;
  }
  size_t length = character_length(text_, pos_);
  pos_ += length;
  return invalid(begin, pos_, "unexpected " + quote_character(text_.substr(begin, length)), begin,
                 pos_);
}

std::string describe_token(const PillToken& token) {
  switch (token.kind) {
    case PillTokenKind::End:
      return "end of pill";
    case PillTokenKind::Integer:
    case PillTokenKind::Decimal:
      return fmt::format("number '{}'", shorten(token.text));
    case PillTokenKind::String:
      return fmt::format("string '{}'", shorten(token.string_value));
    default:
      return fmt::format("'{}'", shorten(token.text));
  }
}

}  // namespace flowline
