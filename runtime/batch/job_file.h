// Internal to the batch job readers (job_reader.cc, jsonl_job_reader.cc,
// csv_job_reader.cc): the jobs file read a chunk at a time, and the helpers
// both formats use to describe a bad line.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/utf8.h"
#include "runtime/batch/job_reader.h"
#include "runtime/status.h"

namespace flowline::job_file {

inline constexpr std::string_view kInvalidJob = "invalid_job";
inline constexpr size_t kReadChunkBytes = 64 * 1024;

// "standard input" for "-", else the path quoted.
std::string describe_path(const std::string& path);
// The id of a line that has none: "line:N".
std::string line_id(uint64_t line);
// A name from the file, quoted for a message: at most
// EvalLimits::kMaxQuotedBytes of it, cut between code points, then "…".
std::string quote_name(std::string_view name);
// Names for a message, quoted; past the first few, only their number.
std::string quote_names(const std::vector<std::string>& names);
// Problems joined by "; ", the first few of them.
std::string join_problems(const std::vector<std::string>& problems);
BadLine bad_line(std::string id, uint64_t line, std::string message);
// Grows `text` for `more` bytes without passing kMaxJobLineBytes of capacity
// through std::string's doubling.
void reserve_bounded(std::string& text, size_t more);

// The jobs file (or standard input for "-"), read(2) a chunk at a time.
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

// Opens the jobs file; "-" is standard input. Errors: "batch_io".
Result<std::unique_ptr<ChunkedFile>> open_file(const std::string& path);

// The readers of each format, over an opened file.
std::unique_ptr<JobReader> make_jsonl_reader(std::unique_ptr<ChunkedFile> file);
Result<std::unique_ptr<JobReader>> make_csv_reader(std::unique_ptr<ChunkedFile> file,
                                                   const std::string& path);

}  // namespace flowline::job_file
