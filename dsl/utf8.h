// UTF-8 checks shared by the loaders: definition files must be UTF-8 text
// (RFC 3629), so positions can count code points and messages can quote text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flowline {

inline constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

// The length of the well-formed UTF-8 sequence starting at `offset`, or 0 when
// the bytes there are not one (stray continuation byte, overlong form,
// surrogate, beyond U+10FFFF, truncated) or `offset` is past the end.
// `*code_point` receives its value.
size_t utf8_sequence_length(std::string_view text, size_t offset, char32_t* code_point = nullptr);

// The offset of the first byte that does not begin a well-formed UTF-8
// sequence, or std::string_view::npos when all of `text` is valid.
size_t find_invalid_utf8(std::string_view text);

}  // namespace flowline
