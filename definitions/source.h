// Source positions for definition files.
//
// Every position Flowline reports is 1-based: line 1 is the first line and
// column 1 the first character of a line, counted in Unicode code points (so a
// caret lines up under non-ASCII text). `offset` is the 0-based byte offset into
// the file. Loaders convert their own conventions (yaml-cpp's 0-based Mark,
// RapidJSON's byte offsets) through SourceFile::position_at, and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flowline {

struct SourcePos {
  uint32_t line = 0;    // 1-based; 0 means "unknown"
  uint32_t column = 0;  // 1-based, in code points
  uint32_t offset = 0;  // 0-based byte offset

  bool known() const { return line != 0; }
  friend bool operator==(const SourcePos&, const SourcePos&) = default;
};

// The text of one definition file. Immutable after construction; shared by
// every SourceRange that points into it, so diagnostics can show the line.
class SourceFile {
 public:
  SourceFile(std::string path, std::string text);
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;

  const std::string& path() const { return path_; }
  std::string_view text() const { return text_; }

  // The position of a byte offset (clamped to the end of the file).
  SourcePos position_at(size_t offset) const;
  // The position of a 0-based line and 0-based byte column (yaml-cpp's Mark).
  SourcePos position_at_line_byte(size_t line0, size_t byte_column0) const;
  // The text of a 1-based line, without its line break; empty if out of range.
  std::string_view line_text(uint32_t line) const;
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }

 private:
  std::string path_;
  std::string text_;
  std::vector<uint32_t> line_starts_;
};

// A span of a file: [begin, end). A default-constructed range points nowhere
// (used for definitions built in code rather than loaded from a file).
struct SourceRange {
  std::shared_ptr<const SourceFile> file;
  SourcePos begin;
  SourcePos end;

  bool known() const { return file != nullptr && begin.known(); }
  const std::string& path() const;
};

}  // namespace flowline
