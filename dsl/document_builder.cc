#include "dsl/document_builder.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <utility>

#include "dsl/utf8.h"

namespace flowline {
namespace {

SourceRange start_of(const std::shared_ptr<const SourceFile>& file) {
  SourcePos start = file->position_at(0);
  return SourceRange{file, start, start};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Skips `[-+]?` and returns whether a '-' was there.
bool take_sign(std::string_view& text) {
  if (text.empty() || (text[0] != '-' && text[0] != '+')) return false;
  bool negative = text[0] == '-';
  text.remove_prefix(1);
  return negative;
}

size_t count_digits(std::string_view text, size_t from) {
  size_t end = from;
  while (end < text.size() && is_digit(text[end])) ++end;
  return end - from;
}

// [-+]? [0-9]+
bool is_decimal_integer(std::string_view text) {
  take_sign(text);
  return !text.empty() && count_digits(text, 0) == text.size();
}

// [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?
bool is_core_float(std::string_view text) {
  take_sign(text);
  size_t i = count_digits(text, 0);
  const size_t integer_digits = i;
  if (i < text.size() && text[i] == '.') {
    size_t fraction_digits = count_digits(text, i + 1);
    if (integer_digits == 0 && fraction_digits == 0) return false;
    i += 1 + fraction_digits;
  } else if (integer_digits == 0) {
    return false;
  }
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    size_t exponent_digits = count_digits(text, i);
    if (exponent_digits == 0) return false;
    i += exponent_digits;
  }
  return i == text.size();
}

// For a core-schema float that std::from_chars found out of range: whether it
// is too large (rather than too small, which rounds to zero).
bool exceeds_double(std::string_view text) {
  take_sign(text);
  size_t exponent_at = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, exponent_at);
  int64_t exponent = 0;
  if (exponent_at != std::string_view::npos) {
    std::string_view digits = text.substr(exponent_at + 1);
    bool negative = take_sign(digits);
    for (char c : digits) exponent = std::min<int64_t>(exponent * 10 + (c - '0'), 1'000'000'000);
    if (negative) exponent = -exponent;
  }
  size_t point = mantissa.find('.');
  if (point == std::string_view::npos) point = mantissa.size();
  size_t first_significant = mantissa.find_first_of("123456789");
  if (first_significant == std::string_view::npos) return false;  // zero
  int64_t magnitude = first_significant < point
                          ? static_cast<int64_t>(point - first_significant) - 1
                          : -static_cast<int64_t>(first_significant - point);
  return magnitude + exponent > 0;
}

bool resolve_float(std::string_view text, Node& node) {
  node.type = Node::Type::Float;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);  // from_chars takes no '+'
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool negative = !text.empty() && text[0] == '-';
  if (error == std::errc::result_out_of_range) {
    bool too_large = exceeds_double(text);
    value = too_large ? std::numeric_limits<double>::infinity() : 0.0;
    if (negative) value = -value;
    node.number = value;
    return !too_large;
  }
  node.number = value;
  return true;
}

// 0x[0-9a-fA-F]+ or 0o[0-7]+, after the prefix.
void resolve_prefixed_integer(std::string_view digits, int base, Node& node) {
  uint64_t value = 0;
  double approximate = 0;
  bool overflow = false;
  for (char c : digits) {
    unsigned digit = is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) overflow = true;
    value = value * base + digit;
    approximate = approximate * base + digit;
  }
  if (overflow || value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    node.type = Node::Type::Float;
    node.number = approximate;
  } else {
    node.type = Node::Type::Integer;
    node.integer = static_cast<int64_t>(value);
  }
}

}  // namespace

bool check_loadable_text(const std::shared_ptr<const SourceFile>& file, Diagnostics& diagnostics,
                         const LoadLimits& limits) {
  std::string_view text = file->text();
  if (text.size() > limits.max_file_bytes) {
    diagnostics.error("file-too-large", start_of(file),
                      fmt::format("file is too large: {} bytes, the limit is {} bytes", text.size(),
                                  limits.max_file_bytes),
                      "split the definitions into several files");
    return false;
  }
  size_t invalid = find_invalid_utf8(text);
  if (invalid != std::string_view::npos) {
    SourcePos at = file->position_at(invalid);
    diagnostics.error("invalid-utf8", SourceRange{file, at, at},
                      fmt::format("file is not valid UTF-8 text (byte {:#04x})",
                                  static_cast<unsigned char>(text[invalid])),
                      "save the file as UTF-8");
    return false;
  }
  return true;
}

bool resolve_core_schema(Node& node) {
  std::string_view text = node.text;
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    node.type = Node::Type::Null;
    return true;
  }
  if (text == "true" || text == "True" || text == "TRUE" || text == "false" || text == "False" ||
      text == "FALSE") {
    node.type = Node::Type::Boolean;
    node.boolean = text[0] == 't' || text[0] == 'T';
    return true;
  }
  if (is_decimal_integer(text)) {
    std::string_view digits = text;
    if (digits[0] == '+') digits.remove_prefix(1);
    int64_t value = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error == std::errc()) {
      node.type = Node::Type::Integer;
      node.integer = value;
      return true;
    }
    return resolve_float(text, node);  // beyond int64: keep the magnitude as a Float
  }
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    std::string_view digits = text.substr(2);
    bool hex = text[1] == 'x';
    if (std::all_of(digits.begin(), digits.end(),
                    [&](char c) { return hex ? is_hex_digit(c) : (c >= '0' && c <= '7'); })) {
      resolve_prefixed_integer(digits, hex ? 16 : 8, node);
      return true;
    }
  }
  std::string_view unsigned_text = text;
  bool negative = take_sign(unsigned_text);
  if (unsigned_text == ".inf" || unsigned_text == ".Inf" || unsigned_text == ".INF") {
    node.type = Node::Type::Float;
    node.number = negative ? -std::numeric_limits<double>::infinity()
                           : std::numeric_limits<double>::infinity();
    return true;
  }
  if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    node.type = Node::Type::Float;
    node.number = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (is_core_float(text)) return resolve_float(text, node);
  node.type = Node::Type::String;
  return true;
}

std::string quote_for_message(std::string_view text) {
  constexpr size_t kMaxBytes = 60;
  std::string quoted;
  size_t offset = 0;
  while (offset < text.size()) {
    if (quoted.size() >= kMaxBytes) return quoted + "…";
    unsigned char c = static_cast<unsigned char>(text[offset]);
    if (c < 0x20 || c == 0x7F) {
      quoted += c == '\n' ? std::string("\\n") : fmt::format("\\x{:02x}", c);
      ++offset;
      continue;
    }
    size_t length = std::max<size_t>(utf8_sequence_length(text, offset), 1);
    quoted.append(text.substr(offset, length));
    offset += length;
  }
  return quoted;
}

PositionCursor::PositionCursor(const SourceFile& file)
    : file_(file), text_(file.text()), current_(file.position_at(0)) {}

SourcePos PositionCursor::at(size_t offset) {
  auto is_continuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  offset = std::min(offset, text_.size());
  const size_t from = current_.offset;
  if (offset >= from) {
    for (size_t i = from; i < offset; ++i) {
      if (text_[i] == '\n') {
        ++current_.line;
        current_.column = 1;
        line_start_ = i + 1;
      } else if (!is_continuation(text_[i])) {
        ++current_.column;
      }
    }
  } else if (offset >= line_start_) {
    for (size_t i = offset; i < from; ++i) {
      if (!is_continuation(text_[i])) --current_.column;
    }
  } else {
    current_ = file_.position_at(offset);
    size_t newline = offset == 0 ? std::string_view::npos : text_.rfind('\n', offset - 1);
    line_start_ = newline == std::string_view::npos ? 0 : newline + 1;
  }
  current_.offset = static_cast<uint32_t>(offset);
  return current_;
}

size_t PositionCursor::offset_of_line_byte(size_t line0, size_t byte_column0) {
  if (line0 + 1 < current_.line) return file_.position_at_line_byte(line0, byte_column0).offset;
  while (current_.line < line0 + 1) {
    size_t newline = text_.find('\n', current_.offset);
    if (newline == std::string_view::npos) return text_.size();  // past the last line
    line_start_ = newline + 1;
    current_ = SourcePos{current_.line + 1, 1, static_cast<uint32_t>(line_start_)};
  }
  return std::min(line_start_ + byte_column0, text_.size());
}

DocumentBuilder::DocumentBuilder(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                                 const LoadLimits& limits)
    : file_(std::move(file)), diagnostics_(diagnostics), limits_(limits) {}

void DocumentBuilder::begin_document() {
  open_.clear();
  root_.reset();
  remembered_.clear();
}

Node DocumentBuilder::end_document() {
  Node root = root_ ? std::move(*root_) : Node{};
  begin_document();
  return root;
}

bool DocumentBuilder::count_nodes(size_t count, const SourceRange& range) {
  if (count <= limits_.max_nodes - std::min(node_count_, limits_.max_nodes)) {
    node_count_ += count;
    return true;
  }
  diagnostics_.error("too-many-nodes", range,
                     fmt::format("file holds more than {} nodes", limits_.max_nodes),
                     "an alias counts every node it repeats; split the file or use fewer aliases");
  stopped_ = true;
  return false;
}

bool DocumentBuilder::check_depth(int added_height, const SourceRange& range) {
  if (static_cast<int64_t>(open_.size()) + added_height <= limits_.max_depth) return true;
  diagnostics_.error("nesting-too-deep", range,
                     fmt::format("document nests deeper than {} levels", limits_.max_depth));
  stopped_ = true;
  return false;
}

bool DocumentBuilder::add_scalar(Node scalar, AnchorId anchor) {
  if (stopped_ || !count_nodes(1, scalar.range)) return false;
  if (anchor != 0) remembered_.insert_or_assign(anchor, Remembered{scalar, 1, 0});
  attach(std::move(scalar), 1, 0);
  return true;
}

bool DocumentBuilder::begin_collection(Node::Type type, SourceRange range, AnchorId anchor) {
  if (stopped_ || !check_depth(1, range) || !count_nodes(1, range)) return false;
  Frame& frame = open_.emplace_back();
  frame.node.type = type;
  frame.node.range = std::move(range);
  frame.anchor = anchor;
  return true;
}

bool DocumentBuilder::end_collection(SourcePos end) {
  if (stopped_ || open_.empty()) return false;
  Frame frame = std::move(open_.back());
  open_.pop_back();
  if (end.known()) frame.node.range.end = end;
  if (frame.anchor != 0) {
    remembered_.insert_or_assign(frame.anchor,
                                 Remembered{frame.node, frame.subtree_nodes, frame.subtree_height});
  }
  attach(std::move(frame.node), frame.subtree_nodes, frame.subtree_height);
  return true;
}

bool DocumentBuilder::add_alias(AnchorId anchor, const SourceRange& range,
                                std::string_view alias_name) {
  if (stopped_) return false;
  auto it = remembered_.find(anchor);
  if (it == remembered_.end()) {
    diagnostics_.error("recursive-alias", range,
                       fmt::format("alias '*{}' refers to a node that contains it",
                                   quote_for_message(alias_name)));
    Node null;
    null.range = range;
    return add_scalar(std::move(null));
  }
  const Remembered& remembered = it->second;
  if (!check_depth(remembered.subtree_height, range) ||
      !count_nodes(remembered.subtree_nodes, range)) {
    return false;
  }
  attach(remembered.node, remembered.subtree_nodes, remembered.subtree_height);
  return true;
}

const Node* DocumentBuilder::pending_key() const {
  if (open_.empty() || !open_.back().key) return nullptr;
  return &*open_.back().key;
}

void DocumentBuilder::attach(Node node, size_t subtree_nodes, int subtree_height) {
  if (open_.empty()) {
    root_ = std::move(node);
    return;
  }
  Frame& parent = open_.back();
  parent.subtree_nodes += subtree_nodes;
  parent.subtree_height = std::max(parent.subtree_height, subtree_height + 1);
  if (parent.node.is_sequence()) {
    parent.node.items.push_back(std::move(node));
    return;
  }
  if (parent.key) {
    if (!parent.drop_value)
      parent.node.entries.push_back({std::move(*parent.key), std::move(node)});
    parent.key.reset();
    return;
  }
  // `node` is a key.
  parent.drop_value = false;
  if (!node.is_scalar()) {
    diagnostics_.error(
        "complex-key", node.range,
        fmt::format("a mapping key must be a scalar, not {}", Node::describe(node.type)));
    parent.drop_value = true;
  } else if (auto [first, inserted] =
                 parent.key_lines.try_emplace(node.text, node.range.begin.line);
             !inserted) {
    diagnostics_.error("duplicate-key", node.range,
                       fmt::format("duplicate key '{}' (first at line {})",
                                   quote_for_message(node.text), first->second));
    parent.drop_value = true;
  }
  parent.key = std::move(node);
}

}  // namespace flowline
