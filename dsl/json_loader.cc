// load_json: RapidJSON's SAX reader -> DocumentBuilder. The reader reports no
// positions to its handler, so it reads through a stream that knows its byte
// offset; a value begins at the first byte after the previous event that is
// not whitespace or a separator, and ends where the stream stands when its
// event arrives.
#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>

#include <cctype>
#include <cstring>
#include <string>

#include "dsl/document.h"
#include "dsl/document_builder.h"
#include "dsl/utf8.h"

namespace flowline {
namespace {

bool is_json_whitespace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// A RapidJSON in-situ stream over a copy of the file text whose Tell() is the
// byte offset in the file. Strings are decoded in place, behind the read
// position, so the reader never uses its internal stack (whose first push in
// RapidJSON 1.1 does arithmetic on a null pointer). Its end reads as '\0', as
// RapidJSON expects, so load_json refuses text that holds a NUL.
class InsituOffsetStream {
 public:
  using Ch = char;
  InsituOffsetStream(std::string& buffer, size_t offset) : buffer_(buffer), read_(offset) {}

  Ch Peek() const { return read_ < buffer_.size() ? buffer_[read_] : '\0'; }
  Ch Take() { return read_ < buffer_.size() ? buffer_[read_++] : '\0'; }
  size_t Tell() const { return read_; }

  Ch* PutBegin() {
    write_ = read_;
    return buffer_.data() + write_;
  }
  void Put(Ch c) {
    if (write_ < read_) buffer_[write_++] = c;  // decoding never outgrows what was read
  }
  size_t PutEnd(Ch* begin) { return static_cast<size_t>(buffer_.data() + write_ - begin); }
  void Flush() {}

 private:
  std::string& buffer_;
  size_t read_;
  size_t write_ = 0;
};

class JsonEventHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonEventHandler> {
 public:
  JsonEventHandler(DocumentBuilder& builder, Diagnostics& diagnostics,
                   const InsituOffsetStream& stream)
      : builder_(builder),
        diagnostics_(diagnostics),
        stream_(stream),
        file_(builder.file()),
        text_(file_->text()),
        event_end_(stream.Tell()),
        cursor_(*file_) {}

  bool Null() { return scalar(Node::Type::Null); }
  bool Bool(bool value) {
    Node node = make_scalar(Node::Type::Boolean);
    node.boolean = value;
    return add(std::move(node));
  }
  // Numbers are resolved from their text (kParseNumbersAsStringsFlag), taken
  // from the file, so they resolve exactly as YAML's do.
  bool RawNumber(const char*, rapidjson::SizeType, bool) {
    Node node = make_scalar(Node::Type::Float);
    if (!resolve_core_schema(node)) {
      diagnostics_.error("number-out-of-range", node.range,
                         fmt::format("number '{}' is out of range", quote_for_message(node.text)));
    }
    return add(std::move(node));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    Node node = make_scalar(Node::Type::String);
    node.text.assign(text, length);
    // Verbatim when the raw text between the quotes is the decoded text.
    size_t raw_begin = node.range.begin.offset + 1;
    size_t raw_end = node.range.end.offset - 1;
    if (length > 0 && raw_end - raw_begin == length &&
        text_.compare(raw_begin, length, node.text) == 0) {
      node.text_offset = static_cast<uint32_t>(raw_begin);
    }
    return add(std::move(node));
  }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) {
    return String(text, length, copy);
  }
  bool StartObject() { return begin_collection(Node::Type::Mapping); }
  bool EndObject(rapidjson::SizeType) { return end_collection(); }
  bool StartArray() { return begin_collection(Node::Type::Sequence); }
  bool EndArray(rapidjson::SizeType) { return end_collection(); }

 private:
  // Where the value whose event just arrived begins.
  size_t value_begin() const {
    size_t offset = event_end_;
    while (offset < text_.size() &&
           (is_json_whitespace(text_[offset]) || text_[offset] == ',' || text_[offset] == ':')) {
      ++offset;
    }
    return offset;
  }

  Node make_scalar(Node::Type type) {
    Node node;
    node.type = type;
    size_t begin = value_begin();
    size_t end = stream_.Tell();
    SourcePos begin_pos = cursor_.at(begin);
    node.range = SourceRange{file_, begin_pos, cursor_.at(end)};
    if (type != Node::Type::String) {
      node.text.assign(text_.substr(begin, end - begin));
      node.text_offset = static_cast<uint32_t>(begin);
    }
    return node;
  }

  bool scalar(Node::Type type) { return add(make_scalar(type)); }

  bool add(Node node) {
    event_end_ = stream_.Tell();
    return builder_.add_scalar(std::move(node));
  }

  bool begin_collection(Node::Type type) {
    event_end_ = stream_.Tell();
    SourcePos begin = cursor_.at(event_end_ - 1);  // the '[' or '{' just read
    return builder_.begin_collection(type, SourceRange{file_, begin, begin});
  }

  bool end_collection() {
    event_end_ = stream_.Tell();
    return builder_.end_collection(cursor_.at(event_end_));
  }

  DocumentBuilder& builder_;
  Diagnostics& diagnostics_;
  const InsituOffsetStream& stream_;
  std::shared_ptr<const SourceFile> file_;
  std::string_view text_;
  size_t event_end_;
  PositionCursor cursor_;
};

// RapidJSON's English message, made to read like ours.
std::string readable_json_message(rapidjson::ParseErrorCode code, std::string_view text,
                                  size_t offset) {
  if (code == rapidjson::kParseErrorStringEscapeInvalid && offset < text.size() &&
      static_cast<unsigned char>(text[offset]) < 0x20) {
    return fmt::format("json syntax error: control character U+{:04X} must be escaped in a string",
                       static_cast<unsigned>(text[offset]));
  }
  std::string message = rapidjson::GetParseError_En(code);
  if (!message.empty() && message.back() == '.') message.pop_back();
  if (!message.empty()) {
    message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
  }
  return "json syntax error: " + message;
}

size_t number_end(std::string_view text, size_t offset) {
  while (offset < text.size() && std::strchr("+-.eE0123456789", text[offset]) != nullptr &&
         text[offset] != '\0') {
    ++offset;
  }
  return offset;
}

}  // namespace

std::vector<Document> load_json(std::shared_ptr<const SourceFile> file, Diagnostics& diagnostics,
                                const LoadLimits& limits) {
  std::vector<Document> documents;
  if (!check_loadable_text(file, diagnostics, limits)) return documents;
  std::string_view text = file->text();
  size_t start = text.substr(0, kUtf8Bom.size()) == kUtf8Bom ? kUtf8Bom.size() : 0;
  size_t first = start;
  while (first < text.size() && is_json_whitespace(text[first])) ++first;
  if (first == text.size()) return documents;  // nothing but whitespace: no document
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    SourcePos at = file->position_at(nul);
    diagnostics.error("json-syntax", SourceRange{file, at, at},
                      "json syntax error: character U+0000 is not allowed");
    return documents;
  }

  auto report = [&](const char* code, size_t begin, size_t end, std::string message) {
    diagnostics.error(code, SourceRange{file, file->position_at(begin), file->position_at(end)},
                      std::move(message));
  };
  DocumentBuilder builder(file, diagnostics, limits);
  std::string buffer(text);
  InsituOffsetStream stream(buffer, start);
  JsonEventHandler handler(builder, diagnostics, stream);
  rapidjson::Reader reader;
  builder.begin_document();
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseStopWhenDoneFlag;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, handler);
  if (result.IsError()) {
    size_t offset = result.Offset();
    if (result.Code() == rapidjson::kParseErrorTermination) {
      // A limit stopped the handler; the builder has reported it.
    } else if (result.Code() == rapidjson::kParseErrorNumberTooBig) {
      size_t end = number_end(text, offset);
      report("number-out-of-range", offset, end,
             fmt::format("number '{}' is out of range",
                         quote_for_message(text.substr(offset, end - offset))));
    } else {
      report("json-syntax", offset, offset, readable_json_message(result.Code(), text, offset));
    }
    return documents;
  }
  size_t rest = stream.Tell();
  while (rest < text.size() && is_json_whitespace(text[rest])) ++rest;
  if (rest < text.size()) {
    report("json-syntax", rest, rest,
           readable_json_message(rapidjson::kParseErrorDocumentRootNotSingular, text, rest));
    return documents;
  }
  Node root = builder.end_document();
  if (root.type != Node::Type::Null) documents.push_back(Document{file, std::move(root)});
  return documents;
}

}  // namespace flowline
