// ResultLog: the results file of a batch (DESIGN.md §6) — JSONL lines
// {"id", "status": "completed"|"error", "outputs"|"error": {"code",
// "message", "step"}, "context_id", "duration_ms"} (plus "line" for jobs
// that never ran), appended as jobs finish, and the index `--resume` needs.
//
// Exactly once, even across SIGKILL: each line goes out in one write(2) on
// an O_APPEND descriptor, so a killed process leaves at most one torn last
// line (no trailing '\n'; SIGKILL can cut even a single large write). Opening
// with `resume` reads the file, cuts a torn last line off (ftruncate), and
// remembers the ids already there — a re-run with --resume skips them, so
// every job ends with exactly one line. A line is complete only with its
// '\n': a last line without one is cut even when it parses. Lines are not
// fsync'ed one by one (a killed process loses nothing the kernel already
// has); close() fsyncs. One writer at a time: the log holds an exclusive
// flock(2) on the file while open (where the filesystem supports it), since
// a second batch appending — or resuming, and cutting the line the first is
// still writing — would break exactly-once.
//
// Resuming reads the file front to back through a 1 MiB buffer, whatever its
// size or the length of a line. Of each line it parses only what it needs:
// the top-level "id" and "status", which the batch writes first; the rest of
// the line is skipped to the '\n', not validated. Blank lines are skipped.
// Any other complete line that is not a result (invalid JSON before both
// fields were seen, no string "id", a "status" other than "completed" or
// "error") is "results_corrupt", naming the 1-based line; the file is left
// as it is — only a torn *last* line is ever repaired.
//
// The index keeps a 64-bit hash per id (FNV-1a, 8 bytes each, sorted), not
// the ids, so resuming a million-job batch costs about 8 MB (the scan
// briefly needs 16 bytes more per line, to find each id's last line). Two
// ids with the same hash would make the later one look done; for a million
// ids the odds are about 1 in 37 million.
//
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/status.h"

namespace flowline {

struct ResumeState {
  uint64_t lines = 0;      // complete result lines found
  uint64_t completed = 0;  // of which status completed
  uint64_t failed = 0;     // of which status error
  bool cut_torn_line = false;
};

class ResultLog {
 public:
  // Opens (creating 0600) the results file for appending; an existing
  // file's group and other permissions are taken off. Without `resume` an
  // existing non-empty file is an error ("results_exist": the message says
  // to pass --resume or choose another --out), so results are never mixed by
  // accident; a missing or empty file is fine with or without it. With
  // `retry_failed` (implies resume), ids whose *last* line says "error" are
  // not counted as done, so they run again and get a new line (the old one
  // stays; readers take the last line per id: error then completed is done,
  // completed then error is not). ResumeState counts every complete line.
  // Errors: "results_exist", "results_locked" (another open ResultLog,
  // in this process or another, holds the file), "results_corrupt",
  // "batch_io" (cannot open, read or cut the file; not a regular file).
  static Result<std::unique_ptr<ResultLog>> open(const std::string& path, bool resume,
                                                 bool retry_failed);
  virtual ~ResultLog() = default;

  virtual const ResumeState& resumed() const = 0;
  // Whether `id` already has a (counted) result.
  virtual bool done(std::string_view id) const = 0;

  // Appends one line (`json` without the trailing newline; it must not hold
  // a raw newline: "invalid_result_line", nothing written). Status
  // "batch_io" when the write fails (disk full) or the log is closed. A
  // write that fails part-way is cut back off the file; should that fail
  // too, every later append fails, leaving the torn line last for --resume.
  virtual Status append(std::string_view json) = 0;
  // Appends several lines as append() does, in one write(2) for the file:
  // a SIGKILL can still tear only the last of them, and --resume cuts it.
  // The lines go out all or (after a failed write, cut back off) none; a
  // line with a raw newline refuses the whole group.
  virtual Status append_all(const std::vector<std::string>& lines) {
    for (const std::string& line : lines)
      if (Status status = append(line); !status.ok()) return status;
    return Status();
  }
  // fsyncs and closes ("batch_io" when the fsync fails); further appends
  // fail, a second close() does nothing. Destroying an open log closes it
  // without fsync.
  virtual Status close() = 0;

 protected:
  ResultLog() = default;
};

}  // namespace flowline
