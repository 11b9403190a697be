#include "dsl/diagnostic_render.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <string_view>
#include <vector>

namespace flowline {
namespace {

// ANSI SGR sequences; used only when TextRenderOptions::color is set.
constexpr std::string_view kBold = "\x1b[1m";
constexpr std::string_view kRed = "\x1b[1;31m";
constexpr std::string_view kYellow = "\x1b[1;33m";
constexpr std::string_view kReset = "\x1b[0m";

std::string_view severity_name(Severity severity) {
  return severity == Severity::Error ? "error" : "warning";
}

std::string_view severity_color(Severity severity) {
  return severity == Severity::Error ? kRed : kYellow;
}

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t code_point_count(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += is_continuation_byte(c) ? 0 : 1;
  return count;
}

// The whitespace that puts the caret under column `column` (1-based, code
// points) of `line`: tabs are kept so the terminal expands them the same way
// as in the source line, everything else becomes one space per code point.
std::string caret_indent(std::string_view line, uint32_t column) {
  std::string indent;
  uint32_t current = 1;
  for (char c : line) {
    if (current >= column) break;
    if (is_continuation_byte(c)) continue;
    indent += c == '\t' ? '\t' : ' ';
    ++current;
  }
  for (; current < column; ++current) indent += ' ';  // past the end of the line
  return indent;
}

// How many columns the underline covers: begin..end on the line, to the end
// of the line when the range goes on to a later line, and at least one.
size_t underline_width(const SourceRange& range, std::string_view line) {
  const SourcePos& begin = range.begin;
  const SourcePos& end = range.end;
  size_t width = 0;
  if (end.known() && end.line == begin.line && end.column > begin.column) {
    width = end.column - begin.column;
  } else if (end.known() && end.line > begin.line) {
    size_t line_length = code_point_count(line);
    if (line_length >= begin.column) width = line_length - begin.column + 1;
  }
  return width == 0 ? 1 : width;
}

// The line with `width` code points from `column` replaced by '*'.
std::string mask(std::string_view line, uint32_t column, size_t width) {
  std::string out;
  uint32_t current = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (!is_continuation_byte(line[i])) ++current;
    bool masked = current >= column && current < column + width;
    if (!masked) out += line[i];
    else if (!is_continuation_byte(line[i])) out += '*';
  }
  return out;
}

void append_excerpt(std::string& out, const Diagnostic& diagnostic,
                    const TextRenderOptions& options) {
  const SourceRange& range = diagnostic.range;
  std::string_view line = range.file->line_text(range.begin.line);
  std::string number = std::to_string(range.begin.line);
  std::string gutter(number.size(), ' ');
  std::string shown(line);
  if (diagnostic.secret_range) shown = mask(line, range.begin.column, underline_width(range, line));
  out += fmt::format("   {} | {}\n", number, shown);
  out += fmt::format("   {} | {}", gutter, caret_indent(line, range.begin.column));
  if (options.color) out += severity_color(diagnostic.severity);
  out += '^';
  out.append(underline_width(range, line) - 1, '~');
  if (options.color) out += kReset;
  out += '\n';
}

}  // namespace

std::string render_text(const Diagnostic& diagnostic, const TextRenderOptions& options) {
  const SourceRange& range = diagnostic.range;
  std::string location = range.path();
  if (range.known()) location += fmt::format(":{}:{}", range.begin.line, range.begin.column);
  location += ':';

  std::string out;
  if (options.color) {
    out +=
        fmt::format("{}{}{} {}{}{}", kBold, location, kReset, severity_color(diagnostic.severity),
                    severity_name(diagnostic.severity), kReset);
  } else {
    out += fmt::format("{} {}", location, severity_name(diagnostic.severity));
  }
  out += fmt::format(" [{}] {}\n", diagnostic.code, diagnostic.message);
  if (range.known()) append_excerpt(out, diagnostic, options);
  if (!diagnostic.help.empty()) out += fmt::format("  help: {}\n", diagnostic.help);
  return out;
}

namespace {

std::string count_phrase(size_t count, std::string_view noun) {
  return fmt::format("{} {}{}", count, noun, count == 1 ? "" : "s");
}

std::string summary(const Diagnostics& diagnostics) {
  size_t errors = diagnostics.error_count();
  size_t warnings = diagnostics.warning_count();
  if (errors == 0 && warnings == 0) return "no problems";
  if (warnings == 0) return count_phrase(errors, "error");
  if (errors == 0) return count_phrase(warnings, "warning");
  return count_phrase(errors, "error") + ", " + count_phrase(warnings, "warning");
}

}  // namespace

std::string render_text(const Diagnostics& diagnostics, const TextRenderOptions& options) {
  std::string out;
  for (const Diagnostic& diagnostic : diagnostics.items()) {
    out += render_text(diagnostic, options);
    out += '\n';
  }
  out += summary(diagnostics);
  out += '\n';
  return out;
}

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void write_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_key(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_member(JsonWriter& writer, std::string_view key, std::string_view value) {
  write_key(writer, key);
  write_string(writer, value);
}

void write_member(JsonWriter& writer, std::string_view key, uint64_t value) {
  write_key(writer, key);
  writer.Uint64(value);
}

// Where a range ends, for output formats that need both ends: the begin when
// the end is unknown or lies before it.
SourcePos end_of(const SourceRange& range) {
  const SourcePos& begin = range.begin;
  const SourcePos& end = range.end;
  if (!end.known() || end.line < begin.line ||
      (end.line == begin.line && end.column < begin.column)) {
    return begin;
  }
  return end;
}

}  // namespace

std::string render_json(const Diagnostics& diagnostics) {
  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  write_key(writer, "diagnostics");
  writer.StartArray();
  for (const Diagnostic& diagnostic : diagnostics.items()) {
    const SourceRange& range = diagnostic.range;
    writer.StartObject();
    write_member(writer, "severity", severity_name(diagnostic.severity));
    write_member(writer, "code", diagnostic.code);
    write_member(writer, "file", range.path());
    // Positions only when known: a consumer never sees a made-up line 0.
    if (range.known()) {
      SourcePos end = end_of(range);
      write_member(writer, "line", range.begin.line);
      write_member(writer, "column", range.begin.column);
      write_member(writer, "end_line", end.line);
      write_member(writer, "end_column", end.column);
    }
    write_member(writer, "message", diagnostic.message);
    if (!diagnostic.help.empty()) write_member(writer, "help", diagnostic.help);
    writer.EndObject();
  }
  writer.EndArray();
  write_member(writer, "errors", diagnostics.error_count());
  write_member(writer, "warnings", diagnostics.warning_count());
  writer.EndObject();
  return buffer.GetString();
}

namespace {

// A file path as a URI reference (RFC 3986): relative paths stay relative
// (resolved by the consumer against the checkout), absolute ones become
// file:// URIs; every byte outside the unreserved set and '/' is escaped.
std::string path_to_uri(std::string_view path) {
  std::string uri = !path.empty() && path.front() == '/' ? "file://" : "";
  for (char c : path) {
    unsigned char byte = static_cast<unsigned char>(c);
    bool unreserved = (byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
                      (byte >= '0' && byte <= '9') || c == '-' || c == '.' || c == '_' ||
                      c == '~' || c == '/';
    if (unreserved) {
      uri += c;
    } else {
      uri += fmt::format("%{:02X}", byte);
    }
  }
  return uri;
}

void write_sarif_location(JsonWriter& writer, const SourceRange& range) {
  SourcePos end = end_of(range);
  write_key(writer, "locations");
  writer.StartArray();
  writer.StartObject();
  write_key(writer, "physicalLocation");
  writer.StartObject();
  write_key(writer, "artifactLocation");
  writer.StartObject();
  write_member(writer, "uri", path_to_uri(range.path()));
  writer.EndObject();
  write_key(writer, "region");
  writer.StartObject();
  write_member(writer, "startLine", range.begin.line);
  write_member(writer, "startColumn", range.begin.column);
  write_member(writer, "endLine", end.line);
  // SARIF's endColumn is the column after the region, like our exclusive end;
  // an empty region still covers the character under the caret.
  uint32_t end_column = end.column;
  if (end.line == range.begin.line && end_column <= range.begin.column) {
    end_column = range.begin.column + 1;
  }
  write_member(writer, "endColumn", end_column);
  writer.EndObject();
  writer.EndObject();
  writer.EndObject();
  writer.EndArray();
}

}  // namespace

std::string render_sarif(const Diagnostics& diagnostics) {
  // One rule per distinct code, in order of first appearance.
  std::vector<std::string_view> rules;
  std::map<std::string_view, size_t, std::less<>> rule_index;
  for (const Diagnostic& diagnostic : diagnostics.items()) {
    if (rule_index.emplace(diagnostic.code, rules.size()).second) rules.push_back(diagnostic.code);
  }

  rapidjson::StringBuffer buffer;
  JsonWriter writer(buffer);
  writer.StartObject();
  write_member(writer, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
  write_member(writer, "version", "2.1.0");
  write_key(writer, "runs");
  writer.StartArray();
  writer.StartObject();

  write_key(writer, "tool");
  writer.StartObject();
  write_key(writer, "driver");
  writer.StartObject();
  write_member(writer, "name", "flowline");
  write_member(writer, "version", FLOWLINE_VERSION);
  write_member(writer, "informationUri", "https://flowline.dev");
  write_key(writer, "rules");
  writer.StartArray();
  for (std::string_view rule : rules) {
    writer.StartObject();
    write_member(writer, "id", rule);
    writer.EndObject();
  }
  writer.EndArray();
  writer.EndObject();  // driver
  writer.EndObject();  // tool

  write_key(writer, "results");
  writer.StartArray();
  for (const Diagnostic& diagnostic : diagnostics.items()) {
    writer.StartObject();
    write_member(writer, "ruleId", diagnostic.code);
    write_member(writer, "ruleIndex", rule_index.find(diagnostic.code)->second);
    write_member(writer, "level", severity_name(diagnostic.severity));
    write_key(writer, "message");
    writer.StartObject();
    std::string text = diagnostic.message;
    if (!diagnostic.help.empty()) text += "\n" + diagnostic.help;
    write_member(writer, "text", text);
    writer.EndObject();
    if (diagnostic.range.known()) write_sarif_location(writer, diagnostic.range);
    writer.EndObject();
  }
  writer.EndArray();

  write_member(writer, "columnKind", "unicodeCodePoints");
  writer.EndObject();  // run
  writer.EndArray();
  writer.EndObject();
  return buffer.GetString();
}

}  // namespace flowline
