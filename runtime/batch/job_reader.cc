// JobReader: a batch file read in 64 KiB chunks through read(2). JSONL is
// split into lines, each parsed by RapidJSON in situ into a Value; CSV goes
// through an RFC 4180 state machine byte by byte, since a quoted cell may
// hold line breaks. Either way at most one line (or CSV row) is held, and a
// longer one is dropped as it streams past.
#include "runtime/batch/job_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <string_view>
#include <system_error>
#include <vector>

#include "dsl/utf8.h"
#include "runtime/eval/evaluator.h"
#include "runtime/eval/json_document.h"

namespace flowline {
namespace {

constexpr std::string_view kInvalidJob = "invalid_job";
constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr std::string_view kInputPrefix = "input.";

std::string describe_path(const std::string& path) {
  return path == "-" ? std::string("standard input") : fmt::format("'{}'", path);
}

std::string line_id(uint64_t line) { return fmt::format("line:{}", line); }

// A name from the file, quoted for a message: at most
// EvalLimits::kMaxQuotedBytes of it, cut between code points, then "…".
std::string quote_name(std::string_view name) {
  if (name.size() <= EvalLimits::kMaxQuotedBytes) return fmt::format("'{}'", name);
  size_t cut = EvalLimits::kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return fmt::format("'{}…'", name.substr(0, cut));
}

// Names for a message, quoted; past the first few, only their number.
std::string quote_names(const std::vector<std::string>& names) {
  constexpr size_t kMaxListed = 20;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
    if (i > 0) text += ", ";
    text += quote_name(names[i]);
  }
  if (names.size() > kMaxListed) text += fmt::format(" and {} more", names.size() - kMaxListed);
  return text;
}

// Problems joined by "; ", the first few of them (a line of a thousand
// unknown fields does not need a thousand messages).
std::string join_problems(const std::vector<std::string>& problems) {
  constexpr size_t kMaxListed = 5;
  std::string text;
  for (size_t i = 0; i < problems.size() && i < kMaxListed; ++i) {
    if (i > 0) text += "; ";
    text += problems[i];
  }
  if (problems.size() > kMaxListed) {
    text += fmt::format("; and {} more problems", problems.size() - kMaxListed);
  }
  return text;
}

BadLine bad_line(std::string id, uint64_t line, std::string message) {
  return BadLine{std::move(id), line, std::string(kInvalidJob), std::move(message)};
}

// Grows `text` for `more` bytes without passing kMaxJobLineBytes of capacity
// through std::string's doubling.
void reserve_bounded(std::string& text, size_t more) {
  size_t needed = text.size() + more;
  if (needed <= text.capacity()) return;
  text.reserve(std::min(std::max(needed, 2 * text.capacity()), kMaxJobLineBytes));
}

// ---- The file, a chunk at a time ----------------------------------------------

class ChunkedFile {
 public:
  ChunkedFile(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)), buffer_(new char[kReadChunkBytes]) {}
  ~ChunkedFile() {
    if (owned_) ::close(fd_);
  }
  ChunkedFile(const ChunkedFile&) = delete;
  ChunkedFile& operator=(const ChunkedFile&) = delete;

  // The unread bytes of the current chunk, reading the next one when it is
  // used up; empty at the end of the file.
  Result<std::string_view> available() {
    if (begin_ == end_ && !eof_) {
      ssize_t n;
      do {
        n = ::read(fd_, buffer_.get(), kReadChunkBytes);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        return Status("batch_io", fmt::format("cannot read the jobs file {}: {}",
                                              describe_path(path_), std::strerror(errno)));
      }
      begin_ = 0;
      end_ = static_cast<size_t>(n);
      eof_ = n == 0;
    }
    return std::string_view(buffer_.get() + begin_, end_ - begin_);
  }
  void consume(size_t bytes) { begin_ += bytes; }

  // Skips a UTF-8 byte order mark at the start of the file.
  Status skip_bom() {
    // A BOM split across reads is not worth the code: the first read of a
    // regular file or a pipe holds far more than three bytes.
    Result<std::string_view> bytes = available();
    if (!bytes.ok()) return bytes.status();
    if (bytes->substr(0, kUtf8Bom.size()) == kUtf8Bom) consume(kUtf8Bom.size());
    return Status();
  }

 private:
  int fd_;
  bool owned_;
  std::string path_;
  std::unique_ptr<char[]> buffer_;
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
};

Result<std::unique_ptr<ChunkedFile>> open_file(const std::string& path) {
  if (path == "-") return std::make_unique<ChunkedFile>(STDIN_FILENO, false, path);
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return Status("batch_io",
                  fmt::format("cannot open the jobs file '{}': {}", path, std::strerror(errno)));
  }
  auto file = std::make_unique<ChunkedFile>(fd, true, path);
  struct stat info;
  if (::fstat(fd, &info) == 0 && S_ISDIR(info.st_mode)) {
    return Status("batch_io",
                  fmt::format("cannot read the jobs file '{}': it is a directory", path));
  }
  return file;
}

// ---- JSONL --------------------------------------------------------------------

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

// ---- CSV ----------------------------------------------------------------------

// The most columns a CSV header may have. Rows keep at most the header's
// number of cells (the rest are only counted), so with this a row's memory
// is bounded as its bytes are, even when it is all commas.
constexpr size_t kMaxCsvColumns = 1024;

// One CSV record: its cells, the line it starts on, and what is wrong with
// it, if anything.
struct CsvRow {
  std::vector<std::string> cells;  // at most the reader's max_cells
  size_t cell_count = 0;           // all of them
  uint64_t line = 0;
  bool too_long = false;
  bool blank = false;  // nothing but spaces and tabs, no quotes
  std::string error;   // malformed quoting
};

// RFC 4180 records from a ChunkedFile. Cells are separated by ',', records by
// "\n" or "\r\n"; a quoted cell may hold ',', '"' (written "") and line
// breaks, kept as written. A '"' inside an unquoted cell is taken as text;
// text after a closing quote is an error. A record is bounded by
// kMaxJobLineBytes: a longer one is read to its end (quotes respected) but
// its cells are not kept.
class CsvRecordReader {
 public:
  explicit CsvRecordReader(ChunkedFile& file) : file_(file) {}

  void set_max_cells(size_t max_cells) { max_cells_ = max_cells; }

  // The next record; false at the end of the file.
  Result<bool> next(CsvRow* row) {
    row->cells.clear();
    row->cell_count = 0;
    row->too_long = false;
    row->blank = false;
    row->error.clear();
    row->line = line_ + 1;
    field_.clear();
    state_ = State::FieldStart;
    bytes_ = 0;
    quoted_any_ = false;
    cr_pending_ = false;
    bool any = false;
    while (true) {
      Result<std::string_view> chunk = file_.available();
      if (!chunk.ok()) return chunk.status();
      if (chunk->empty()) {
        if (!any) return false;
        if (state_ == State::Quoted) {
          set_error(row, fmt::format("a quoted cell opened on line {} is not closed", quote_line_));
        }
        end_record(row);
        return true;
      }
      any = true;
      size_t used = 0;
      bool done = consume(*chunk, row, &used);
      file_.consume(used);
      if (done) return true;
    }
  }

 private:
  enum class State { FieldStart, Unquoted, Quoted, QuoteInQuoted };

  // Feeds the bytes of `chunk` to the state machine; true when a record
  // ended, `*used` then counting its terminating '\n'.
  bool consume(std::string_view chunk, CsvRow* row, size_t* used) {
    size_t i = 0;
    while (i < chunk.size()) {
      if (cr_pending_) {
        cr_pending_ = false;
        if (chunk[i] != '\n') {
          // A lone '\r' is text; after a closing quote it is stray text.
          if (state_ == State::QuoteInQuoted) text_after_quote(row);
          state_ = State::Unquoted;
          append(row, "\r");
        }
      }
      if (state_ == State::Quoted) {
        size_t quote = std::min(chunk.find('"', i), chunk.size());
        std::string_view text = chunk.substr(i, quote - i);
        line_ += static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
        append(row, text);
        i = quote;
        if (i < chunk.size()) {
          count(row, 1);
          state_ = State::QuoteInQuoted;
          ++i;
        }
        continue;
      }
      if (state_ == State::Unquoted) {
        size_t stop = std::min(chunk.find_first_of(",\n\r", i), chunk.size());
        append(row, chunk.substr(i, stop - i));
        i = stop;
        if (i == chunk.size()) break;
      }
      // A byte at the start of a cell, after a quote in a quoted cell, or
      // the one that ended an unquoted run.
      char c = chunk[i++];
      if (c == '\n') {
        ++line_;
        end_record(row);
        *used = i;
        return true;
      }
      if (c == '\r') {
        cr_pending_ = true;
        continue;
      }
      count(row, 1);
      if (c == ',') {
        end_field(row);
        state_ = State::FieldStart;
      } else if (c == '"' && state_ == State::QuoteInQuoted) {
        keep(row, "\"");
        state_ = State::Quoted;
      } else if (c == '"' && state_ == State::FieldStart) {
        quoted_any_ = true;
        quote_line_ = line_ + 1;
        state_ = State::Quoted;
      } else {
        if (state_ == State::QuoteInQuoted) text_after_quote(row);
        keep(row, std::string_view(&c, 1));
        state_ = State::Unquoted;
      }
    }
    *used = chunk.size();
    return false;
  }

  // Counts bytes of the record; past the limit, the cells are dropped.
  void count(CsvRow* row, size_t bytes) {
    bytes_ += bytes;
    if (bytes_ > kMaxJobLineBytes && !row->too_long) {
      row->too_long = true;
      row->cells = {};
      field_ = {};
    }
  }

  // Adds bytes already counted to the current cell.
  void keep(CsvRow* row, std::string_view text) {
    if (row->too_long) return;
    reserve_bounded(field_, text.size());
    field_.append(text);
  }

  void append(CsvRow* row, std::string_view text) {
    count(row, text.size());
    keep(row, text);
  }

  void end_field(CsvRow* row) {
    ++row->cell_count;
    if (!row->too_long && row->cells.size() < max_cells_) row->cells.push_back(std::move(field_));
    field_.clear();
  }

  void end_record(CsvRow* row) {
    end_field(row);
    row->blank = !quoted_any_ && !row->too_long && row->cell_count == 1 &&
                 row->cells[0].find_first_not_of(" \t") == std::string::npos;
  }

  void text_after_quote(CsvRow* row) {
    set_error(row, fmt::format("text after the closing quote of cell {}", row->cell_count + 1));
  }

  static void set_error(CsvRow* row, std::string message) {
    if (row->error.empty()) row->error = std::move(message);
  }

  ChunkedFile& file_;
  size_t max_cells_ = kMaxCsvColumns + 1;
  uint64_t line_ = 0;  // line breaks read so far
  std::string field_;
  State state_ = State::FieldStart;
  size_t bytes_ = 0;
  bool quoted_any_ = false;
  bool cr_pending_ = false;
  uint64_t quote_line_ = 0;
};

// What each header column feeds.
struct CsvColumns {
  std::vector<std::string> names;
  size_t id = 0;
  size_t run = 0;
  std::optional<size_t> user;
  std::vector<std::pair<size_t, std::string>> inputs;  // column, input name
};

Result<CsvColumns> read_header(const CsvRow& row, const std::string& path) {
  auto invalid = [&](std::string problem) {
    return Status("invalid_job_file", fmt::format("the CSV header of the jobs file {} {}",
                                                  describe_path(path), problem));
  };
  if (row.too_long) {
    return invalid(fmt::format("is longer than 1 MiB (the limit is {} bytes)", kMaxJobLineBytes));
  }
  if (!row.error.empty()) return invalid(fmt::format("is malformed: {}", row.error));
  if (row.cell_count > kMaxCsvColumns) {
    return invalid(fmt::format("has {} columns (the limit is {})", row.cell_count, kMaxCsvColumns));
  }
  CsvColumns columns;
  columns.names = row.cells;
  std::optional<size_t> id, run;
  std::vector<std::string> unknown, repeated;
  std::set<std::string_view> seen;
  for (size_t i = 0; i < row.cells.size(); ++i) {
    const std::string& name = row.cells[i];
    if (!seen.insert(name).second) {
      if (std::find(repeated.begin(), repeated.end(), name) == repeated.end())
        repeated.push_back(name);
      continue;
    }
    if (name == "id") {
      id = i;
    } else if (name == "run") {
      run = i;
    } else if (name == "user") {
      columns.user = i;
    } else if (name.size() > kInputPrefix.size() && name.starts_with(kInputPrefix)) {
      columns.inputs.emplace_back(i, name.substr(kInputPrefix.size()));
    } else {
      unknown.push_back(name);
    }
  }
  std::vector<std::string> problems;
  if (!id) problems.push_back("has no 'id' column");
  if (!run) problems.push_back("has no 'run' column");
  if (!repeated.empty()) {
    problems.push_back(fmt::format("names {} more than once", quote_names(repeated)));
  }
  if (!unknown.empty()) {
    problems.push_back(fmt::format("has unknown column{} {}", unknown.size() > 1 ? "s" : "",
                                   quote_names(unknown)));
  }
  if (!problems.empty()) {
    return invalid(fmt::format("{} (columns found: {}; allowed: id, run, user, input.NAME)",
                               fmt::join(problems, "; "), quote_names(row.cells)));
  }
  columns.id = *id;
  columns.run = *run;
  return columns;
}

class CsvJobReader : public JobReader {
 public:
  CsvJobReader(std::unique_ptr<ChunkedFile> file) : file_(std::move(file)), records_(*file_) {}

  // Reads the header: the first record that is not blank. An empty file has
  // no header and no jobs.
  Status start(const std::string& path) {
    if (Status bom = file_->skip_bom(); !bom.ok()) return bom;
    while (true) {
      Result<bool> got = records_.next(&row_);
      if (!got.ok()) return got.status();
      if (!*got) {
        at_end_ = true;
        return Status();
      }
      if (row_.blank) continue;
      Result<CsvColumns> columns = read_header(row_, path);
      if (!columns.ok()) return columns.status();
      columns_ = std::move(columns).value();
      records_.set_max_cells(columns_.names.size());
      return Status();
    }
  }

  Result<std::optional<JobOrBadLine>> next() override {
    if (!failed_.ok()) return failed_;
    if (at_end_) return std::optional<JobOrBadLine>();
    while (true) {
      Result<bool> got = records_.next(&row_);
      if (!got.ok()) {
        failed_ = got.status();
        return failed_;
      }
      if (!*got) {
        at_end_ = true;
        return std::optional<JobOrBadLine>();
      }
      if (row_.blank) continue;
      return std::optional<JobOrBadLine>(job_from_row());
    }
  }

 private:
  JobOrBadLine job_from_row() {
    uint64_t number = row_.line;
    if (row_.too_long) {
      return bad_line(
          line_id(number), number,
          fmt::format("row longer than 1 MiB (the limit is {} bytes)", kMaxJobLineBytes));
    }
    if (!row_.error.empty()) return bad_line(line_id(number), number, row_.error);
    const std::vector<std::string>& cells = row_.cells;
    if (row_.cell_count != columns_.names.size()) {
      // The cells may be shifted, so none of them is trusted as the id.
      return bad_line(line_id(number), number,
                      fmt::format("the row has {} cell{}, the header {} column{}", row_.cell_count,
                                  row_.cell_count == 1 ? "" : "s", columns_.names.size(),
                                  columns_.names.size() == 1 ? "" : "s"));
    }
    std::vector<std::string> problems;
    BatchJob job;
    job.line = number;
    job.id = cells[columns_.id];
    job.run = cells[columns_.run];
    if (job.id.empty()) problems.push_back("the 'id' cell is empty");
    if (job.run.empty()) problems.push_back("the 'run' cell is empty");
    bool id_ok = !job.id.empty();
    for (size_t i = 0; i < cells.size(); ++i) {
      if (size_t bad = find_invalid_utf8(cells[i]); bad != std::string_view::npos) {
        problems.push_back(fmt::format("the {} cell is not valid UTF-8 (byte {})",
                                       quote_name(columns_.names[i]), bad + 1));
        if (i == columns_.id) id_ok = false;
      }
    }
    if (!problems.empty()) {
      return bad_line(id_ok ? job.id : line_id(number), number, join_problems(problems));
    }
    if (columns_.user && !cells[*columns_.user].empty()) job.user = cells[*columns_.user];
    ValueObject inputs;
    for (const auto& [column, name] : columns_.inputs) {
      if (!cells[column].empty()) inputs.emplace(name, Value(cells[column]));
    }
    job.inputs = Value(std::move(inputs));
    job.text_inputs = true;
    return job;
  }

  std::unique_ptr<ChunkedFile> file_;
  CsvRecordReader records_;
  CsvColumns columns_;
  CsvRow row_;
  bool at_end_ = false;
  Status failed_;
};

}  // namespace

std::optional<JobFormat> job_format_for(const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".csv") return JobFormat::Csv;
  if (extension == ".jsonl" || extension == ".ndjson" || extension == ".json")
    return JobFormat::Jsonl;
  return std::nullopt;
}

Result<std::unique_ptr<JobReader>> JobReader::open(const std::string& path, JobFormat format) {
  Result<std::unique_ptr<ChunkedFile>> file = open_file(path);
  if (!file.ok()) return file.status();
  if (format == JobFormat::Jsonl) {
    std::unique_ptr<JobReader> reader = std::make_unique<JsonlJobReader>(std::move(file).value());
    return reader;
  }
  auto reader = std::make_unique<CsvJobReader>(std::move(file).value());
  if (Status started = reader->start(path); !started.ok()) return started;
  return std::unique_ptr<JobReader>(std::move(reader));
}

}  // namespace flowline
