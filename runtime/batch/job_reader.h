// JobReader: the jobs of a batch file, read as they are needed (DESIGN.md §6).
//
// JSONL: one JSON object per line, {"id": "j1", "run": "global.x", "user":
// "alice", "inputs": {…}}; `user` and `inputs` are optional. `id` is a
// non-empty string or an integer (read as its decimal text); `run` a
// non-empty string; `user` a non-empty string or null; `inputs` an object,
// whose values keep their JSON types (integers that fit in int64 stay
// integers, other numbers are numbers, as parse_json() reads them, within
// the same depth limit). Any other field, or one of these twice, makes the
// line bad. Blank lines and lines whose first non-blank character is '#' are
// skipped (they still count for line numbers); "\r\n" endings, trailing
// blanks and a UTF-8 BOM at the start of the file are allowed.
//
// CSV (RFC 4180): the first non-blank row is the header, naming `id`, `run`,
// optionally `user`, and `input.NAME` columns (NAME non-empty), at most 1024
// of them. Rows end with "\n" or "\r\n"; quoted cells may hold commas,
// quotes ("") and line breaks (kept as written; the job's line is the one
// where its row starts); a '"' inside an unquoted cell is text, text after a
// closing quote makes the row bad. A UTF-8 BOM at the start is skipped;
// blank rows are skipped; there are no comment rows. An empty `user` cell
// means none; an empty `input.NAME` cell means the input is not given; a
// CSV input's value is its text, typed later by the target's declaration
// (BatchJob::text_inputs). In both formats text must be UTF-8. An empty
// file (either format) has no jobs.
//
// A line that cannot be a job (invalid JSON, not an object, no `id` or `run`,
// fields of the wrong JSON type or unknown, a CSV row with the wrong number
// of cells or broken quoting, a line or row longer than kMaxJobLineBytes) is
// returned as a BadLine — it never stops the reading. A BadLine carries the
// line's id when it had a valid one (never for a CSV row with the wrong
// number of cells, whose cells may be shifted), else the id "line:N".
//
// Memory: one line (or row) at a time, bounded by kMaxJobLineBytes, whatever
// the size of the file; a longer one is skipped as it streams past, never
// held. Not thread-safe: one reader, one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "flowline/value.h"
#include "runtime/status.h"

namespace flowline {

inline constexpr size_t kMaxJobLineBytes = 1u << 20;

struct BatchJob {
  std::string id;
  std::string run;                  // as written: "global.x" or "x"
  std::optional<std::string> user;  // nullopt: the batch's default user
  Value inputs = ValueObject{};     // JSONL: typed JSON values; CSV: strings (text_inputs)
  bool text_inputs = false;         // CSV: values are text to parse by declared type
  uint64_t line = 0;                // 1-based line where the job starts
};

struct BadLine {
  std::string id;  // from the line when it had one, else "line:N"
  uint64_t line = 0;
  std::string code;  // "invalid_job"
  // What is wrong; problems with the fields are all given, joined by "; ".
  // E.g. "invalid JSON: missing a comma or '}' after an object member at
  // column 17" (columns are 1-based, in code points), "no 'run'; unknown
  // field 'inputz' (the fields are id, run, user and inputs)".
  std::string message;
};

using JobOrBadLine = std::variant<BatchJob, BadLine>;

enum class JobFormat { Jsonl, Csv };

// The format for a path by its extension, in any case: .csv → Csv,
// .jsonl/.ndjson/.json → Jsonl; anything else ("-" included): nullopt (the
// caller asks for --format).
std::optional<JobFormat> job_format_for(const std::string& path);

class JobReader {
 public:
  // Opens `path` ("-": standard input, which is read but not closed).
  // Status "batch_io" when it cannot be opened or is a directory. For CSV,
  // open reads the header: "invalid_job_file" when it lacks `id` or `run`,
  // names a column twice, has a column of another name (every problem is
  // given, with the columns found and the allowed forms), has more than 1024
  // columns, is longer than kMaxJobLineBytes or has broken quoting.
  static Result<std::unique_ptr<JobReader>> open(const std::string& path, JobFormat format);
  virtual ~JobReader() = default;

  // The next job or bad line; nullopt at the end of the file. A read error
  // mid-file ends the reading with Status "batch_io", which every later call
  // returns again.
  virtual Result<std::optional<JobOrBadLine>> next() = 0;

 protected:
  JobReader() = default;
};

}  // namespace flowline
