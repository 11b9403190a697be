// JSONL jobs: the file split into lines, each parsed by RapidJSON in situ
// into a Value. At most one line is held; a longer one is dropped as it
// streams past.
#include <fmt/format.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "dsl/utf8.h"
#include "runtime/batch/job_file.h"
#include "runtime/eval/evaluator.h"
#include "runtime/eval/json_document.h"

namespace flowline::job_file {
namespace {

// The 1-based column, in code points, of byte `offset` of `line`.
size_t column_at(std::string_view line, size_t offset) {
  offset = std::min(offset, line.size());
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++column;
  }
  return column;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

class JsonlJobReader : public JobReader {
 public:
  explicit JsonlJobReader(std::unique_ptr<ChunkedFile> file) : file_(std::move(file)) {}

  Result<std::optional<JobOrBadLine>> next() override {
    if (!failed_.ok()) return failed_;
    while (true) {
      bool too_long = false;
      Result<bool> got = read_line(&too_long);
      if (!got.ok()) {
        failed_ = got.status();
        return failed_;
      }
      if (!*got) return std::optional<JobOrBadLine>();
      uint64_t number = ++line_number_;
      if (too_long) {
        return std::optional<JobOrBadLine>(bad_line(
            line_id(number), number,
            fmt::format("line longer than 1 MiB (the limit is {} bytes)", kMaxJobLineBytes)));
      }
      if (number == 1 && std::string_view(line_).substr(0, kUtf8Bom.size()) == kUtf8Bom) {
        line_.erase(0, kUtf8Bom.size());
      }
      size_t first = 0;
      while (first < line_.size() && is_blank(line_[first])) ++first;
      if (first == line_.size() || line_[first] == '#') continue;
      return std::optional<JobOrBadLine>(parse_job(number));
    }
  }

 private:
  // The next line, without its '\n', into line_; false at the end of the
  // file. A line over kMaxJobLineBytes is read to its end but not kept.
  Result<bool> read_line(bool* too_long) {
    line_.clear();
    bool any = false;
    while (true) {
      Result<std::string_view> chunk = file_->available();
      if (!chunk.ok()) return chunk.status();
      if (chunk->empty()) return any;
      any = true;
      size_t newline = chunk->find('\n');
      std::string_view part = chunk->substr(0, newline);
      if (!*too_long) {
        if (line_.size() + part.size() > kMaxJobLineBytes) {
          *too_long = true;
          line_.clear();
        } else {
          reserve_bounded(line_, part.size());
          line_.append(part);
        }
      }
      if (newline != std::string_view::npos) {
        file_->consume(newline + 1);
        return true;
      }
      file_->consume(part.size());
    }
  }

  JobOrBadLine parse_job(uint64_t number) {
    std::string_view text = line_;
    if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
      return bad_line(
          line_id(number), number,
          fmt::format("invalid JSON: NUL character at column {}", column_at(text, nul)));
    }
    // The reader parse_json uses: same numbers, same depth limit.
    auto parsed = parse_json_document(text);
    if (auto* error = std::get_if<JsonSyntaxError>(&parsed)) {
      std::string reason = error->reason;
      if (error->too_deep) {
        reason = fmt::format("nested deeper than {} levels", EvalLimits::kMaxJsonDepth);
      } else if (error->unescaped_control) {
        reason = fmt::format("control character U+{:04X} must be escaped in a string",
                             static_cast<unsigned>(text[error->offset]));
      }
      return bad_line(
          line_id(number), number,
          fmt::format("invalid JSON: {} at column {}", reason, column_at(text, error->offset)));
    }
    auto& document = std::get<JsonDocument>(parsed);
    return job_from(document.value, document.repeated_top_key, number);
  }

  // The job a parsed line describes, or what is wrong with it (every
  // problem, joined by "; ").
  static JobOrBadLine job_from(const Value& root, const std::string& repeated_key,
                               uint64_t number) {
    if (!root.is_object()) {
      return bad_line(line_id(number), number,
                      fmt::format("a job must be a JSON object, not {}",
                                  with_article(Value::type_name(root.type()))));
    }
    BatchJob job;
    job.line = number;
    std::vector<std::string> problems;
    bool id_ok = false;
    if (root.find("id") == nullptr) problems.push_back("no 'id'");
    if (root.find("run") == nullptr) problems.push_back("no 'run'");
    if (!repeated_key.empty()) {
      problems.push_back(fmt::format("field {} appears twice", quote_name(repeated_key)));
    }
    for (const auto& [key, value] : root.as_object()) {
      if (key == "id") {
        if (value.is_string() && !value.as_string().empty()) {
          job.id = value.as_string();
          id_ok = true;
        } else if (value.is_integer()) {
          job.id = std::to_string(value.as_integer());
          id_ok = true;
        } else if (value.is_string()) {
          problems.push_back("'id' is empty");
        } else {
          problems.push_back(wrong_type("id", "a string or an integer", value));
        }
      } else if (key == "run") {
        if (value.is_string() && !value.as_string().empty()) {
          job.run = value.as_string();
        } else if (value.is_string()) {
          problems.push_back("'run' is empty");
        } else {
          problems.push_back(wrong_type("run", "a string", value));
        }
      } else if (key == "user") {
        // An empty user is refused, not read as "the default user": a
        // template that failed to fill it in must not run as someone else.
        if (value.is_string() && !value.as_string().empty()) {
          job.user = value.as_string();
        } else if (value.is_string()) {
          problems.push_back("'user' is empty (leave it out, or null, for the batch's user)");
        } else if (!value.is_null()) {
          problems.push_back(wrong_type("user", "a string or null", value));
        }
      } else if (key == "inputs") {
        if (value.is_object()) {
          job.inputs = value;
        } else {
          problems.push_back(wrong_type("inputs", "an object", value));
        }
      } else {
        problems.push_back(fmt::format("unknown field {} (the fields are id, run, user and inputs)",
                                       quote_name(key)));
      }
    }
    if (!problems.empty()) {
      // A repeated "id" is no id to trust.
      if (repeated_key == "id") id_ok = false;
      return bad_line(id_ok ? job.id : line_id(number), number, join_problems(problems));
    }
    return job;
  }

  static std::string with_article(std::string_view type) {
    bool vowel = !type.empty() && std::string_view("aeiou").find(type[0]) != std::string_view::npos;
    if (type == "null") return "null";
    return fmt::format("{} {}", vowel ? "an" : "a", type);
  }

  static std::string wrong_type(std::string_view field, std::string_view expected,
                                const Value& value) {
    return fmt::format("'{}' must be {}, not {}", field, expected,
                       with_article(Value::type_name(value.type())));
  }

  std::unique_ptr<ChunkedFile> file_;
  std::string line_;
  uint64_t line_number_ = 0;
  Status failed_;
};

}  // namespace

std::unique_ptr<JobReader> make_jsonl_reader(std::unique_ptr<ChunkedFile> file) {
  return std::make_unique<JsonlJobReader>(std::move(file));
}

}  // namespace flowline::job_file
