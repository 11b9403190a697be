// load_yaml: yaml-cpp's event parser -> DocumentBuilder. yaml-cpp reports a
// Mark per event (0-based line, byte column); everything finer — where a
// scalar's text ends, whether it stands verbatim in the file — is read back
// from the file text, and checked, rather than trusted.
#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <istream>
#include <optional>
#include <streambuf>
#include <string>
#include <unordered_map>

#include "dsl/document.h"
#include "dsl/document_builder.h"
#include "dsl/utf8.h"

namespace flowline {
namespace {

constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";
const std::string kStringTag = "tag:yaml.org,2002:str";

// Thrown from the event handler to abandon yaml-cpp once a limit is hit (the
// diagnostic is already reported); yaml-cpp unwinds cleanly on exceptions.
struct LoadStopped {};

// An istream over the file text without copying it.
class TextStreamBuf : public std::streambuf {
 public:
  explicit TextStreamBuf(std::string_view text) {
    char* begin = const_cast<char*>(text.data());  // the get area is only read
    setg(begin, begin, begin + text.size());
  }
};

bool is_break(char c) { return c == '\n' || c == '\r'; }
bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_flow_indicator(char c) { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'; }

// A code point YAML does not allow in a stream (YAML 1.2 c-printable). yaml-cpp
// would misread a NUL as a UTF-16/32 byte order, so these are refused early.
bool is_disallowed_in_yaml(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r' || c == 0x85) return false;
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0xFFFE || c == 0xFFFF;
}

// "tag:yaml.org,2002:int" -> "!!int", as the author wrote it.
std::string display_tag(std::string_view tag) {
  if (tag.substr(0, kCoreTagPrefix.size()) == kCoreTagPrefix) {
    return fmt::format("!!{}", tag.substr(kCoreTagPrefix.size()));
  }
  return std::string(tag);
}

// yaml-cpp's messages, made to read like ours: lower-case start, the offending
// thing in quotes.
// `at` is the file text from the error's position on.
std::string readable_yaml_message(const std::string& message, std::string_view at) {
  const std::string unknown_anchor = YAML::ErrorMsg::UNKNOWN_ANCHOR;
  const std::string invalid_escape = YAML::ErrorMsg::INVALID_ESCAPE;
  const std::string invalid_unicode = YAML::ErrorMsg::INVALID_UNICODE;
  std::string text;
  if (message.rfind(unknown_anchor, 0) == 0) {
    // yaml-cpp 0.7 leaves the name out; the error marks the alias itself.
    std::string_view alias = at.substr(0, at.find_first_of(" \t\r\n,[]{}"));
    text = fmt::format("alias '{}' refers to no anchor", quote_for_message(alias));
  } else if (message.rfind(invalid_escape, 0) == 0) {
    text = fmt::format("unknown escape character '{}'",
                       quote_for_message(message.substr(invalid_escape.size())));
  } else if (message.rfind(invalid_unicode, 0) == 0) {
    text = fmt::format("invalid unicode escape '{}'",
                       quote_for_message(message.substr(invalid_unicode.size())));
  } else {
    text = quote_for_message(message);
    // Lower-case the first word unless it is an acronym ("YAML directive").
    if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
        !std::isupper(static_cast<unsigned char>(text[1]))) {
      text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    }
  }
  return "yaml syntax error: " + text;
}

class YamlEventHandler : public YAML::EventHandler {
 public:
  YamlEventHandler(DocumentBuilder& builder, Diagnostics& diagnostics,
                   std::vector<Document>& documents)
      : builder_(builder),
        diagnostics_(diagnostics),
        documents_(documents),
        file_(builder.file()),
        text_(file_->text()),
        bom_bytes_(text_.substr(0, kUtf8Bom.size()) == kUtf8Bom ? kUtf8Bom.size() : 0),
        cursor_(*file_) {}

  // yaml-cpp skips a leading byte order mark and counts the first line's
  // columns (and its byte positions) from after it.
  size_t offset_of(const YAML::Mark& mark) {
    if (mark.is_null() || mark.line < 0 || mark.column < 0) return 0;
    size_t column = static_cast<size_t>(mark.column) + (mark.line == 0 ? bom_bytes_ : 0);
    size_t offset = cursor_.offset_of_line_byte(static_cast<size_t>(mark.line), column);
    // At the end of input yaml-cpp 0.7 can mark line 0, column 0 while its byte
    // position is right; trust the position when the two disagree.
    size_t position = static_cast<size_t>(std::max(mark.pos, 0)) + bom_bytes_;
    return position != offset && position <= text_.size() ? position : offset;
  }

  SourceRange range(size_t begin, size_t end) {
    SourcePos begin_pos = cursor_.at(begin);
    return SourceRange{file_, begin_pos, cursor_.at(end)};
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    // yaml-cpp 0.7 never consumes a stray ',' before a document's node and
    // would start empty documents there forever.
    if (last_document_start_ == mark.pos) {
      size_t offset = offset_of(mark);
      size_t length = std::max<size_t>(utf8_sequence_length(text_, offset), 1);
      diagnostics_.error("yaml-syntax", range(offset, offset + length),
                         fmt::format("yaml syntax error: unexpected '{}'",
                                     quote_for_message(text_.substr(offset, length))));
      throw LoadStopped{};
    }
    last_document_start_ = mark.pos;
    builder_.begin_document();
  }

  void OnDocumentEnd() override {
    Node root = builder_.end_document();
    if (root.type != Node::Type::Null) documents_.push_back(Document{file_, std::move(root)});
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node node;
    size_t begin = skip_properties(offset_of(mark));
    size_t literal = null_literal_length(begin);
    if (literal > 0) {
      node.text = std::string(text_.substr(begin, literal));
      node.text_offset = static_cast<uint32_t>(begin);
      node.range = range(begin, begin + literal);
    } else {
      // An empty value: yaml-cpp marks the token after it, often on the next
      // line, so place it right after its key's ':' instead.
      size_t at = after_key_colon().value_or(begin);
      node.range = range(at, at);
    }
    add(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    size_t begin = offset_of(mark);
    size_t end = begin + 1;  // past '*'
    while (end < text_.size() && !is_blank(text_[end]) && !is_break(text_[end]) &&
           !is_flow_indicator(text_[end])) {
      ++end;
    }
    auto name = anchor_names_.find(anchor);
    std::string_view alias_name = name != anchor_names_.end()
                                      ? std::string_view(name->second)
                                      : text_.substr(begin + 1, end - begin - 1);
    if (!builder_.add_alias(anchor, range(begin, end), alias_name)) throw LoadStopped{};
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node node;
    node.text = value;
    size_t begin = skip_properties(offset_of(mark));
    size_t end = begin;
    char first = begin < text_.size() ? text_[begin] : '\0';
    if (first == '"' || first == '\'') {
      end = quoted_end(begin).value_or(begin);
      if (verbatim_in_quotes(begin, value)) node.text_offset = static_cast<uint32_t>(begin + 1);
    } else if (first != '|' && first != '>' && verbatim_at(begin, value)) {
      end = begin + value.size();
      node.text_offset = static_cast<uint32_t>(begin);
    }
    node.range = range(begin, end);
    node.literal_block = first == '|';
    resolve(node, tag);
    add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    begin_collection(Node::Type::Sequence, mark, tag, "seq", anchor);
  }
  void OnSequenceEnd() override { end_collection(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    begin_collection(Node::Type::Mapping, mark, tag, "map", anchor);
  }
  void OnMapEnd() override { end_collection(); }

  void OnAnchor(const YAML::Mark&, const std::string& name) override {
    pending_anchor_name_ = name;
  }

 private:
  void remember_anchor_name(YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) anchor_names_[anchor] = std::move(pending_anchor_name_);
    pending_anchor_name_.clear();
  }

  void add(Node node, YAML::anchor_t anchor) {
    remember_anchor_name(anchor);
    if (!builder_.add_scalar(std::move(node), anchor)) throw LoadStopped{};
  }

  void begin_collection(Node::Type type, const YAML::Mark& mark, const std::string& tag,
                        std::string_view core_tag, YAML::anchor_t anchor) {
    remember_anchor_name(anchor);
    size_t begin = skip_properties(offset_of(mark));
    SourceRange where = range(begin, begin);
    if (tag != "?" && tag != "!" && tag != fmt::format("{}{}", kCoreTagPrefix, core_tag)) {
      diagnostics_.error("yaml-tag", where,
                         fmt::format("unsupported tag '{}' on {}",
                                     quote_for_message(display_tag(tag)), Node::describe(type)));
    }
    if (!builder_.begin_collection(type, std::move(where), anchor)) throw LoadStopped{};
  }

  void end_collection() {
    if (!builder_.end_collection()) throw LoadStopped{};
  }

  // Types a scalar by its tag: none ("?", plain) -> the core schema; "!"
  // (quoted, block, or `!`) and !!str -> string; !!null/bool/int/float -> the
  // core schema, which must agree.
  void resolve(Node& node, const std::string& tag) {
    if (tag == "!" || tag == kStringTag) {
      node.type = Node::Type::String;
      return;
    }
    bool core = tag == "?" || tag.rfind(kCoreTagPrefix, 0) == 0;
    if (!core || !resolve_core_schema(node)) {
      if (!core) {
        diagnostics_.error(
            "yaml-tag", node.range,
            fmt::format("unsupported tag '{}'", quote_for_message(display_tag(tag))));
        node.type = Node::Type::String;
      } else {
        diagnostics_.error(
            "number-out-of-range", node.range,
            fmt::format("number '{}' is out of range", quote_for_message(node.text)));
      }
      return;
    }
    if (tag == "?") return;
    std::string_view wanted = std::string_view(tag).substr(kCoreTagPrefix.size());
    bool matches =
        (wanted == "null" && node.type == Node::Type::Null) ||
        (wanted == "bool" && node.type == Node::Type::Boolean) ||
        (wanted == "int" && node.type == Node::Type::Integer) ||
        (wanted == "float" && (node.type == Node::Type::Float || node.type == Node::Type::Integer));
    if (wanted == "float" && node.type == Node::Type::Integer) {
      node.type = Node::Type::Float;
      node.number = static_cast<double>(node.integer);
    }
    if (!matches) {
      bool known = wanted == "null" || wanted == "bool" || wanted == "int" || wanted == "float";
      diagnostics_.error(
          "yaml-tag", node.range,
          known ? fmt::format("'{}' is not a valid '{}'", quote_for_message(node.text),
                              display_tag(tag))
                : fmt::format("unsupported tag '{}'", quote_for_message(display_tag(tag))));
      node.type = Node::Type::String;
    }
  }

  // Past a node's anchor and tag (`&a !!str x` -> `x`): yaml-cpp marks the
  // node at its first property.
  size_t skip_properties(size_t offset) const {
    while (offset < text_.size() && (text_[offset] == '&' || text_[offset] == '!')) {
      if (text_.substr(offset, 2) == "!<") {
        size_t close = text_.find('>', offset);
        offset = close == std::string_view::npos ? text_.size() : close + 1;
      }
      while (offset < text_.size() && !is_blank(text_[offset]) && !is_break(text_[offset]) &&
             !is_flow_indicator(text_[offset])) {
        ++offset;
      }
      // Separation: blanks, line breaks and comments.
      while (offset < text_.size()) {
        if (is_blank(text_[offset]) || is_break(text_[offset])) {
          ++offset;
        } else if (text_[offset] == '#') {
          while (offset < text_.size() && text_[offset] != '\n') ++offset;
        } else {
          break;
        }
      }
    }
    return std::min(offset, text_.size());
  }

  // The length of a null literal (~ null Null NULL) written at `offset`, or 0.
  // A literal followed by ':' is the next key, not this (empty) value.
  size_t null_literal_length(size_t offset) const {
    for (std::string_view literal : {"~", "null", "Null", "NULL"}) {
      if (text_.substr(offset, literal.size()) != literal) continue;
      size_t end = offset + literal.size();
      if (end < text_.size() && !is_blank(text_[end]) && !is_break(text_[end]) &&
          text_[end] != ',' && text_[end] != ']' && text_[end] != '}' && text_[end] != ':') {
        return 0;
      }
      if (builder_.pending_key() != nullptr) {
        size_t next = end;
        while (next < text_.size() && is_blank(text_[next])) ++next;
        if (next < text_.size() && text_[next] == ':') return 0;
      }
      return literal.size();
    }
    return 0;
  }

  // Just after the ':' that follows the pending key on its line, if any.
  std::optional<size_t> after_key_colon() const {
    const Node* key = builder_.pending_key();
    if (key == nullptr || !key->range.known() || key->range.end.offset == key->range.begin.offset) {
      return std::nullopt;
    }
    size_t offset = key->range.end.offset;
    while (offset < text_.size() && is_blank(text_[offset])) ++offset;
    if (offset < text_.size() && text_[offset] == ':') return offset + 1;
    return std::nullopt;
  }

  // The end of a quoted scalar that closes on the line it opens, past the
  // closing quote.
  std::optional<size_t> quoted_end(size_t begin) const {
    char quote = text_[begin];
    for (size_t i = begin + 1; i < text_.size() && !is_break(text_[i]); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;
        } else {
          return i + 1;
        }
      }
    }
    return std::nullopt;
  }

  bool verbatim_at(size_t offset, std::string_view value) const {
    return !value.empty() && value.find('\n') == std::string_view::npos &&
           text_.substr(offset, value.size()) == value;
  }

  // The decoded text stands between the quotes as is: no escapes, no `''`,
  // no folded line breaks.
  bool verbatim_in_quotes(size_t quote_offset, std::string_view value) const {
    char quote = text_[quote_offset];
    size_t close = quote_offset + 1 + value.size();
    if (value.find(quote == '"' ? '\\' : '\'') != std::string_view::npos) return false;
    if (close >= text_.size() || text_[close] != quote) return false;
    return value.empty() ? false : verbatim_at(quote_offset + 1, value);
  }

  DocumentBuilder& builder_;
  Diagnostics& diagnostics_;
  std::vector<Document>& documents_;
  std::shared_ptr<const SourceFile> file_;
  std::string_view text_;
  size_t bom_bytes_;
  PositionCursor cursor_;
  std::optional<int> last_document_start_;
  std::string pending_anchor_name_;
  std::unordered_map<YAML::anchor_t, std::string> anchor_names_;
};

// Reports the first code point YAML does not allow; returns false if any.
bool check_yaml_characters(const std::shared_ptr<const SourceFile>& file,
                           Diagnostics& diagnostics) {
  std::string_view text = file->text();
  size_t offset = 0;
  while (offset < text.size()) {
    char32_t c = 0;
    size_t length = std::max<size_t>(utf8_sequence_length(text, offset, &c), 1);
    if (is_disallowed_in_yaml(c)) {
      SourcePos at = file->position_at(offset);
      diagnostics.error("yaml-syntax", SourceRange{file, at, at},
                        fmt::format("yaml syntax error: character U+{:04X} is not allowed",
                                    static_cast<uint32_t>(c)));
      return false;
    }
    offset += length;
  }
  return true;
}

}  // namespace

std::vector<Document> load_yaml(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                                const LoadLimits& limits) {
  std::vector<Document> documents;
  if (!check_loadable_text(file, diagnostics, limits) ||
      !check_yaml_characters(file, diagnostics)) {
    return documents;
  }
  DocumentBuilder builder(file, diagnostics, limits);
  YamlEventHandler handler(builder, diagnostics, documents);
  auto report = [&](const char* code, const YAML::Mark& mark, std::string message) {
    size_t offset = handler.offset_of(mark);
    diagnostics.error(code, handler.range(offset, offset), std::move(message));
  };
  try {
    TextStreamBuf buffer(file->text());
    std::istream stream(&buffer);
    YAML::Parser parser(stream);
    while (parser.HandleNextDocument(handler)) {
    }
  } catch (const LoadStopped&) {
    // Already reported by the builder.
  } catch (const YAML::DeepRecursion& error) {
    // yaml-cpp's own recursion guard; our depth limit normally fires first.
    report("nesting-too-deep", error.mark,
           fmt::format("document nests deeper than {} levels", limits.max_depth));
  } catch (const YAML::Exception& error) {
    report("yaml-syntax", error.mark,
           readable_yaml_message(error.msg, file->text().substr(handler.offset_of(error.mark))));
  } catch (const std::exception& error) {
    report("yaml-syntax", YAML::Mark::null_mark(),
           fmt::format("yaml syntax error: could not be parsed ({})", error.what()));
  }
  return documents;
}

}  // namespace flowline
