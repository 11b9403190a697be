// JSON text to a Value, the one reader behind parse_json()/parse_json_value()
// and batch job lines: RapidJSON's SAX reader in situ on a copy, numbers as
// text parsed exactly (an int64 when there is no fraction or exponent and it
// fits, else a double; underflow reads as zero), nesting limited to
// EvalLimits::kMaxJsonDepth (which also keeps RapidJSON's recursion shallow).
// Callers word the errors for their users; nothing here formats a message
// with a position.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "flowline/value.h"

namespace flowline {

struct JsonDocument {
  Value value;
  // The first key written twice in the top-level object ("" when none): the
  // later value is the one kept, which other readers may not agree with.
  std::string repeated_top_key;
};

struct JsonSyntaxError {
  size_t offset = 0;     // byte offset of the problem in the text
  std::string reason;    // "missing a comma or '}' after an object member", "number 1e999 is out of range", …
  bool too_deep = false;                 // nested deeper than EvalLimits::kMaxJsonDepth
  bool unescaped_control = false;        // a raw control character inside a string (at offset)
};

std::variant<JsonDocument, JsonSyntaxError> parse_json_document(std::string_view text);

enum class NumberParse { Ok, OutOfRange };

// JSON number text (already checked) to a Value: an int64 when `integers`
// and it has neither fraction nor exponent and fits, else a double.
// Underflow reads as zero; overflow is OutOfRange.
NumberParse parse_json_number(std::string_view text, Value* out, bool integers);

}  // namespace flowline
