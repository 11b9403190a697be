#include "runtime/eval/json_document.h"

#include <fmt/format.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stream.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <system_error>
#include <vector>

#include "runtime/eval/evaluator.h"

namespace flowline {

// Parses text that is_json_number accepted: an int64 when it has neither
// fraction nor exponent and fits, else a double. Underflow reads as zero.
NumberParse parse_json_number(std::string_view text, Value* out, bool integers) {
  const char* begin = text.data();
  const char* end = begin + text.size();
  if (integers && text.find_first_of(".eE") == std::string_view::npos) {
    int64_t i;
    auto [ptr, ec] = std::from_chars(begin, end, i);
    if (ec == std::errc() && ptr == end) {
      *out = Value(i);
      return NumberParse::Ok;
    }
  }
  double d;
  auto [ptr, ec] = std::from_chars(begin, end, d);
  if (ec == std::errc::result_out_of_range) {
    size_t e = text.find_first_of("eE");
    bool underflow = e != std::string_view::npos && e + 1 < text.size() && text[e + 1] == '-';
    if (!underflow) return NumberParse::OutOfRange;
    d = text.front() == '-' ? -0.0 : 0.0;
  }
  *out = Value(d);
  return NumberParse::Ok;
}

namespace {

// Builds a Value from RapidJSON's events; stops at the depth limit or a
// number out of range.
class ValueBuilder : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ValueBuilder> {
 public:
  enum class Stop { None, TooDeep, NumberOutOfRange };

  explicit ValueBuilder(rapidjson::InsituStringStream& stream) : stream_(stream) {}

  bool Null() { return add(Value()); }
  bool Bool(bool b) { return add(Value(b)); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool) {
    Value number;
    std::string_view digits(text, length);
    if (parse_json_number(digits, &number, true) == NumberParse::OutOfRange) {
      stop_ = Stop::NumberOutOfRange;
      stop_offset_ = stream_.Tell();
      stop_text_ = digits;
      return false;
    }
    return add(std::move(number));
  }
  bool String(const char* text, rapidjson::SizeType length, bool) {
    return add(Value(std::string(text, length)));
  }
  bool Key(const char* text, rapidjson::SizeType length, bool) {
    Frame& frame = frames_.back();
    frame.key.assign(text, length);
    if (frames_.size() == 1 && repeated_top_key_.empty() && frame.fields.count(frame.key) != 0)
      repeated_top_key_ = frame.key;
    return true;
  }
  bool StartObject() { return open(true); }
  bool StartArray() { return open(false); }
  bool EndObject(rapidjson::SizeType) { return close(); }
  bool EndArray(rapidjson::SizeType) { return close(); }

  Value& root() { return root_; }
  Stop stop() const { return stop_; }
  size_t stop_offset() const { return stop_offset_; }
  const std::string& stop_text() const { return stop_text_; }
  std::string& repeated_top_key() { return repeated_top_key_; }

 private:
  struct Frame {
    bool object = false;
    ValueArray items;
    ValueObject fields;
    std::string key;
  };

  bool add(Value value) {
    if (frames_.empty()) {
      root_ = std::move(value);
    } else if (Frame& frame = frames_.back(); frame.object) {
      frame.fields.insert_or_assign(std::move(frame.key), std::move(value));
      frame.key.clear();
    } else {
      frame.items.push_back(std::move(value));
    }
    return true;
  }

  bool open(bool object) {
    if (frames_.size() >= static_cast<size_t>(EvalLimits::kMaxJsonDepth)) {
      stop_ = Stop::TooDeep;
      stop_offset_ = stream_.Tell() - 1;  // the '[' or '{' just read
      return false;
    }
    frames_.emplace_back().object = object;
    return true;
  }

  bool close() {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    return frame.object ? add(Value(std::move(frame.fields))) : add(Value(std::move(frame.items)));
  }

  // Read for offsets only. During a number the reader works on a copy, so
  // this still stands at the number's first byte.
  rapidjson::InsituStringStream& stream_;
  std::vector<Frame> frames_;
  Value root_;
  Stop stop_ = Stop::None;
  size_t stop_offset_ = 0;
  std::string stop_text_;
  std::string repeated_top_key_;
};

// RapidJSON's English message without its capital and full stop, to read as ours.
std::string rapidjson_reason(rapidjson::ParseErrorCode code) {
  std::string reason = rapidjson::GetParseError_En(code);
  if (!reason.empty() && reason.back() == '.') reason.pop_back();
  if (!reason.empty())
    reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
  return reason;
}

}  // namespace

std::variant<JsonDocument, JsonSyntaxError> parse_json_document(std::string_view text) {
  constexpr unsigned kFlags = rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag |
                              rapidjson::kParseValidateEncodingFlag;
  // In situ, strings decode behind the read position, so the reader never
  // grows its internal stack (RapidJSON 1.1 does arithmetic on a null pointer
  // at its first push, which UBSan rejects); numbers come as text, parsed
  // exactly by from_chars.
  std::string buffer(text);
  rapidjson::InsituStringStream stream(buffer.data());
  ValueBuilder builder(stream);
  rapidjson::Reader reader;
  rapidjson::ParseResult result = reader.Parse<kFlags>(stream, builder);
  if (result.IsError()) {
    JsonSyntaxError error;
    switch (builder.stop()) {
      case ValueBuilder::Stop::TooDeep:
        error.offset = builder.stop_offset();
        error.too_deep = true;
        error.reason = fmt::format("nested deeper than {} levels", EvalLimits::kMaxJsonDepth);
        return error;
      case ValueBuilder::Stop::NumberOutOfRange:
        error.offset = builder.stop_offset();
        error.reason = fmt::format("number {} is out of range",
                                   builder.stop_text().substr(0, EvalLimits::kMaxQuotedBytes));
        return error;
      case ValueBuilder::Stop::None:
        break;
    }
    error.offset = result.Offset();
    if (result.Code() == rapidjson::kParseErrorNumberTooBig) {
      // RapidJSON refuses some numbers itself (at their first byte): word it as ValueBuilder does.
      size_t end = text.find_first_not_of("+-.eE0123456789", error.offset);
      if (end == std::string_view::npos) end = text.size();
      error.reason = fmt::format(
          "number {} is out of range",
          text.substr(error.offset, std::min(end - error.offset, EvalLimits::kMaxQuotedBytes)));
    } else {
      error.reason = rapidjson_reason(result.Code());
      error.unescaped_control = result.Code() == rapidjson::kParseErrorStringEscapeInvalid &&
                                error.offset < text.size() &&
                                static_cast<unsigned char>(text[error.offset]) < 0x20;
    }
    return error;
  }
  // The reader stops at a NUL byte as at the end of the text.
  if (stream.Tell() < text.size()) return JsonSyntaxError{stream.Tell(), "unexpected NUL character"};
  return JsonDocument{std::move(builder.root()), std::move(builder.repeated_top_key())};
}

}  // namespace flowline
