// Document: a YAML or JSON document as a tree of positioned nodes. Both
// loaders produce it, so everything after loading (decoding into
// definitions, validation) is format-blind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "definitions/source.h"
#include "dsl/diagnostics.h"

namespace flowline {

struct Node {
  enum class Type { Null, Boolean, Integer, Float, String, Sequence, Mapping };

  Type type = Type::Null;
  std::string text;      // scalars: the text as written (unquoted, unescaped)
  bool boolean = false;  // Boolean
  int64_t integer = 0;   // Integer
  double number = 0;     // Float
  std::vector<Node> items;                     // Sequence
  std::vector<std::pair<Node, Node>> entries;  // Mapping: key (a scalar), value; in written order
  SourceRange range;     // the node's text; for a key, the key's text
  // Byte offset in the file of text[0] when the scalar's text stands verbatim
  // in the file (plain, or quoted without escapes, on one line), so pill
  // diagnostics can point inside it; kNoOffset otherwise.
  static constexpr uint32_t kNoOffset = UINT32_MAX;
  uint32_t text_offset = kNoOffset;
  // A literal block scalar ('|'): its lines stand verbatim in the file, starting
  // on the line after the indicator (range.begin). Scripts map their line
  // numbers back to the file with it.
  bool literal_block = false;

  // Declared here and defaulted below: a vector of pair<Node, Node> needs the
  // complete type first (clang 14 with libstdc++ insists).
  Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;
  ~Node();

  bool is_scalar() const { return type != Type::Sequence && type != Type::Mapping; }
  bool is_mapping() const { return type == Type::Mapping; }
  bool is_sequence() const { return type == Type::Sequence; }
  bool is_string() const { return type == Type::String; }
  // The value of a mapping key, or nullptr.
  const Node* find(std::string_view key) const;
  // The key node of a mapping key, or nullptr.
  const Node* find_key(std::string_view key) const;
  // "a string", "an integer", "a mapping", … for messages.
  static std::string_view describe(Type type);
};

inline Node::Node() = default;
inline Node::Node(const Node&) = default;
inline Node::Node(Node&&) noexcept = default;
inline Node& Node::operator=(const Node&) = default;
inline Node& Node::operator=(Node&&) noexcept = default;
inline Node::~Node() = default;

struct Document {
  std::shared_ptr<const SourceFile> file;
  Node root;
};

// Limits on what a definition file may hold; each has its own diagnostic.
struct LoadLimits {
  size_t max_file_bytes = 16 * 1024 * 1024;  // "file-too-large"
  int max_depth = 64;                        // "nesting-too-deep"
  size_t max_nodes = 1'000'000;              // "too-many-nodes" (also stops alias bombs)
};

// Parses YAML (every `---` document) or JSON text into documents. Problems
// become diagnostics (code "yaml-syntax" / "json-syntax", "invalid-utf8",
// the limits above); never throws. An empty file yields no documents.
std::vector<Document> load_yaml(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                                const LoadLimits& limits = {});
std::vector<Document> load_json(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                                const LoadLimits& limits = {});

}  // namespace flowline
