#include "definitions/source.h"

#include <algorithm>

namespace flowline {

SourceFile::SourceFile(std::string path, std::string text)
    : path_(std::move(path)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
  }
}

SourcePos SourceFile::position_at(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), static_cast<uint32_t>(offset));
  size_t line_index = static_cast<size_t>(it - line_starts_.begin()) - 1;
  uint32_t column = 1;
  for (size_t i = line_starts_[line_index]; i < offset; ++i) {
    // Count code points: skip UTF-8 continuation bytes.
    if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++column;
  }
  return SourcePos{static_cast<uint32_t>(line_index + 1), column, static_cast<uint32_t>(offset)};
}

SourcePos SourceFile::position_at_line_byte(size_t line0, size_t byte_column0) const {
  if (line0 >= line_starts_.size()) return position_at(text_.size());
  return position_at(line_starts_[line0] + byte_column0);
}

std::string_view SourceFile::line_text(uint32_t line) const {
  if (line == 0 || line > line_starts_.size()) return {};
  size_t begin = line_starts_[line - 1];
  size_t end = line < line_starts_.size() ? line_starts_[line] - 1 : text_.size();
  std::string_view view(text_.data() + begin, end - begin);
  if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
  return view;
}

const std::string& SourceRange::path() const {
  static const std::string kNoFile = "<definition>";
  return file ? file->path() : kNoFile;
}

}  // namespace flowline
