#include "dsl/utf8.h"

namespace flowline {

size_t utf8_sequence_length(std::string_view text, size_t offset, char32_t* code_point) {
  if (offset >= text.size()) return 0;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[offset + i]); };
  const unsigned char lead = byte(0);
  size_t length;
  char32_t value;
  // The second byte's range depends on the lead byte: that is what rules out
  // overlong forms, surrogates (U+D800..DFFF) and values beyond U+10FFFF.
  unsigned char second_min = 0x80, second_max = 0xBF;
  if (lead < 0x80) {
    if (code_point) *code_point = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    value = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    value = lead & 0x0F;
    if (lead == 0xE0) second_min = 0xA0;
    if (lead == 0xED) second_max = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    value = lead & 0x07;
    if (lead == 0xF0) second_min = 0x90;
    if (lead == 0xF4) second_max = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - offset < length) return 0;
  if (byte(1) < second_min || byte(1) > second_max) return 0;
  value = (value << 6) | (byte(1) & 0x3F);
  for (size_t i = 2; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (byte(i) & 0x3F);
  }
  if (code_point) *code_point = value;
  return length;
}

size_t find_invalid_utf8(std::string_view text) {
  size_t offset = 0;
  while (offset < text.size()) {
    // ASCII runs dominate definition files; skip them without decoding.
    if (static_cast<unsigned char>(text[offset]) < 0x80) {
      ++offset;
      continue;
    }
    size_t length = utf8_sequence_length(text, offset);
    if (length == 0) return offset;
    offset += length;
  }
  return std::string_view::npos;
}

}  // namespace flowline
