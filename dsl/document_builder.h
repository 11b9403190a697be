// DocumentBuilder: assembles a Node tree from a parser's events. Both loaders
// (yaml_loader.cc, json_loader.cc) feed it, so the limits in LoadLimits, the
// mapping-key rules and scalar resolution behave — and are reported — the
// same way whatever the format. Internal to dsl/; not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "definitions/source.h"
#include "dsl/diagnostics.h"
#include "dsl/document.h"

namespace flowline {

// Checks what both formats require before parsing: the size limit and UTF-8.
// Reports "file-too-large" or "invalid-utf8" and returns false on failure.
bool check_loadable_text(const std::shared_ptr<const SourceFile>& file, Diagnostics& diagnostics,
                         const LoadLimits& limits);

// Resolves `node.text` with the YAML 1.2 core schema (null, booleans, decimal,
// 0x and 0o integers, floats with .inf and .nan; anything else is a string).
// Integers beyond int64 become Float. Returns false when the text is a number
// too large for a double (the node is then a Float of ±infinity); the caller
// reports "number-out-of-range".
bool resolve_core_schema(Node& node);

// `text` made fit to quote in a one-line message: control characters escaped,
// long text shortened with "…".
std::string quote_for_message(std::string_view text);

// Converts byte offsets (and yaml-cpp's 0-based line and byte column) of one
// file to positions exactly as SourceFile does, but onward from its previous
// answer. SourceFile counts a line's code points from the line start on every
// call, which is quadratic on a long line (minified JSON); a loader's offsets
// mostly increase, so this stays linear. A jump back across a line break
// asks SourceFile.
class PositionCursor {
 public:
  explicit PositionCursor(const SourceFile& file);

  SourcePos at(size_t offset);
  // SourceFile::position_at_line_byte(line0, byte_column0).offset.
  size_t offset_of_line_byte(size_t line0, size_t byte_column0);

 private:
  const SourceFile& file_;
  std::string_view text_;
  SourcePos current_;
  size_t line_start_ = 0;
};

class DocumentBuilder {
 public:
  // Identifies a node that may be repeated later (a YAML anchor); 0 = none.
  using AnchorId = uint64_t;

  // `file` must outlive the builder; node counts are per file, so a file of
  // many documents cannot exceed LoadLimits::max_nodes in total.
  DocumentBuilder(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                  const LoadLimits& limits);
  DocumentBuilder(const DocumentBuilder&) = delete;
  DocumentBuilder& operator=(const DocumentBuilder&) = delete;

  void begin_document();
  // The finished root (a Null node when nothing was added). Anchors end with
  // their document.
  Node end_document();

  // Each returns false once a limit is exceeded ("nesting-too-deep",
  // "too-many-nodes", already reported); the parser should then stop, and
  // every later call returns false too.
  bool add_scalar(Node scalar, AnchorId anchor = 0);
  bool begin_collection(Node::Type type, SourceRange range, AnchorId anchor = 0);
  bool end_collection(SourcePos end = {});
  // Repeats the complete node remembered under `anchor`, keeping its ranges
  // (they point at where the content is written). An anchor whose node is
  // still open (`&a [*a]`) is reported as "recursive-alias" and yields null.
  bool add_alias(AnchorId anchor, const SourceRange& range, std::string_view alias_name);

  // The key waiting for its value in the innermost open mapping, or nullptr
  // (so a loader can place an empty value right after its key).
  const Node* pending_key() const;
  bool stopped() const { return stopped_; }
  const std::shared_ptr<const SourceFile>& file() const { return file_; }

 private:
  struct Frame {
    Node node;
    AnchorId anchor = 0;
    size_t subtree_nodes = 1;
    int subtree_height = 1;                               // collection levels, this one included
    std::optional<Node> key;                              // mapping: the key waiting for its value
    bool drop_value = false;                              // mapping: that key was rejected
    std::unordered_map<std::string, uint32_t> key_lines;  // key text -> line first seen
  };
  struct Remembered {
    Node node;
    size_t subtree_nodes;
    int subtree_height;
  };

  bool count_nodes(size_t count, const SourceRange& range);
  bool check_depth(int added_height, const SourceRange& range);
  void attach(Node node, size_t subtree_nodes, int subtree_height);

  std::shared_ptr<const SourceFile> file_;
  Diagnostics& diagnostics_;
  const LoadLimits& limits_;
  std::vector<Frame> open_;
  std::optional<Node> root_;
  std::unordered_map<AnchorId, Remembered> remembered_;
  size_t node_count_ = 0;
  bool stopped_ = false;
};

}  // namespace flowline
