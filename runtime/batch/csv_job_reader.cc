// CSV jobs: an RFC 4180 state machine byte by byte, since a quoted cell may
// hold line breaks. At most one row is held; a longer one is dropped as it
// streams past.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>
#include <vector>

#include "dsl/utf8.h"
#include "runtime/batch/job_file.h"
#include "runtime/eval/evaluator.h"

namespace flowline::job_file {
namespace {

constexpr std::string_view kInputPrefix = "input.";

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

Result<std::unique_ptr<JobReader>> make_csv_reader(std::unique_ptr<ChunkedFile> file,
                                                   const std::string& path) {
  auto reader = std::make_unique<CsvJobReader>(std::move(file));
  if (Status started = reader->start(path); !started.ok()) return started;
  return std::unique_ptr<JobReader>(std::move(reader));
}

}  // namespace flowline::job_file
