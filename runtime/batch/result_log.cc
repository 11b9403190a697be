#include "runtime/batch/result_log.h"

#include <errno.h>
#include <fcntl.h>
#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace flowline {

namespace {

constexpr size_t kReadChunkBytes = 1u << 20;

// FNV-1a, 64 bits: a fixed algorithm, so the index means the same in every
// run (std::hash may differ between builds).
uint64_t id_hash(std::string_view id) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : id) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// "batch_io": `what` ("cannot read results file") names the path and the
// system's reason.
Status io_error(const std::string& what, const std::string& path, int err) {
  return Status("batch_io", what + " " + path + ": " + std::strerror(err));
}

// The results file read front to back through one fixed buffer, presented
// to RapidJSON as one line at a time: the line's '\n' (and the end of the
// file) read as '\0', the end of input, so memory does not grow with the
// length of a line or of the file.
class LineStream {
 public:
  using Ch = char;

  explicit LineStream(int fd) : fd_(fd), buffer_(new char[kReadChunkBytes]) {}

  // RapidJSON's input stream concept (a non-in-situ parse only reads).
  Ch Peek() { return fill() && buffer_[pos_] != '\n' ? buffer_[pos_] : '\0'; }
  Ch Take() {
    Ch c = Peek();
    if (c != '\0') ++pos_, ++offset_;
    return c;
  }
  size_t Tell() const { return static_cast<size_t>(offset_ - line_start_); }
  Ch* PutBegin() { return nullptr; }
  void Put(Ch) {}
  void Flush() {}
  size_t PutEnd(Ch*) { return 0; }

  // Where the next line starts (or the end of the file).
  uint64_t begin_line() { return line_start_ = offset_; }
  bool at_end() { return !fill(); }
  // Consumes the rest of the line and its '\n'. `newline` is false when the
  // file ended first: a torn line. `skipped` counts bytes the parser left.
  struct LineEnd {
    bool newline = false;
    uint64_t skipped = 0;
  };
  LineEnd finish_line() {
    LineEnd end;
    while (fill()) {
      const char* start = buffer_.get() + pos_;
      const void* nl = std::memchr(start, '\n', end_ - pos_);
      size_t n = nl ? static_cast<const char*>(nl) - start : end_ - pos_;
      end.skipped += n;
      pos_ += n, offset_ += n;
      if (nl) {
        ++pos_, ++offset_;
        end.newline = true;
        break;
      }
    }
    return end;
  }
  // errno of a failed read (which ends the stream), or 0.
  int read_error() const { return error_; }

 private:
  // Whether a byte is available at pos_, reading the next chunk if needed.
  bool fill() {
    if (pos_ < end_) return true;
    if (eof_) return false;
    for (;;) {
      ssize_t n = ::read(fd_, buffer_.get(), kReadChunkBytes);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) error_ = errno;
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      pos_ = 0;
      end_ = static_cast<size_t>(n);
      return true;
    }
  }

  int fd_;
  std::unique_ptr<char[]> buffer_;
  size_t pos_ = 0, end_ = 0;
  uint64_t offset_ = 0;      // bytes consumed from the file
  uint64_t line_start_ = 0;  // offset_ where the current line began
  bool eof_ = false;
  int error_ = 0;
};

// SAX handler keeping only the top-level "id" and "status" of a line. It
// stops the parse once it has both: the writer puts them first, so the
// outputs (which may be megabytes) are never parsed, only skipped to the
// '\n' — "just enough" to resume quickly, at the price of not validating
// the rest of the line.
class ResultLineFields : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, ResultLineFields> {
 public:
  enum class Outcome { Missing, Completed, Error, Other };

  bool has_id = false;
  uint64_t id_hash_value = 0;
  Outcome outcome = Outcome::Missing;

  bool Default() {
    field_ = Field::None;
    return true;
  }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    std::string_view text(s, n);
    if (field_ == Field::Id) {
      has_id = true;
      id_hash_value = id_hash(text);
    } else if (field_ == Field::Status) {
      outcome = text == "completed" ? Outcome::Completed
                : text == "error"   ? Outcome::Error
                                    : Outcome::Other;
    }
    field_ = Field::None;
    return !complete();  // false: stop here (kParseErrorTermination)
  }
  // Both fields found; the rest of the line is not parsed.
  bool complete() const { return has_id && outcome != Outcome::Missing; }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    std::string_view key(s, n);
    field_ = depth_ != 1       ? Field::None
             : key == "id"     ? Field::Id
             : key == "status" ? Field::Status
                               : Field::None;
    return true;
  }
  bool StartObject() {
    ++depth_;
    field_ = Field::None;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    ++depth_;
    field_ = Field::None;
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

 private:
  enum class Field { None, Id, Status };
  int depth_ = 0;
  Field field_ = Field::None;
};

class FileResultLog final : public ResultLog {
 public:
  FileResultLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~FileResultLog() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FileResultLog(const FileResultLog&) = delete;
  FileResultLog& operator=(const FileResultLog&) = delete;

  // Validates the file and, when resuming, reads it into the index.
  Status prepare(bool resume, bool retry_failed);

  const ResumeState& resumed() const override { return resumed_; }
  bool done(std::string_view id) const override {
    return std::binary_search(done_.begin(), done_.end(), id_hash(id));
  }
  Status append(std::string_view json) override;
  Status append_all(const std::vector<std::string>& lines) override;
  Status close() override;

 private:
  Status scan(int read_fd, bool retry_failed);
  Status writable() const;
  Status raw_newline() const;
  Status write_out();
  Status corrupt(uint64_t line, const std::string& why) const {
    return Status("results_corrupt", "results file " + path_ + " line " + std::to_string(line) +
                                         ": " + why +
                                         " (only a torn last line is repaired; fix or remove "
                                         "this line, or choose another --out)");
  }

  std::string path_;
  int fd_;
  bool broken_ = false;
  ResumeState resumed_;
  std::vector<uint64_t> done_;  // sorted id hashes
  std::string line_;            // append's buffer, reused
};

Status FileResultLog::prepare(bool resume, bool retry_failed) {
  // One writer at a time: a second batch appending, or resuming (and cutting
  // the "torn" line the first is still writing), would break exactly-once.
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Status("results_locked", "results file " + path_ +
                                          " is in use by another flowline batch; wait for it "
                                          "to finish or choose another --out");
    }
    // A filesystem without flock: go on unguarded rather than refuse.
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return io_error("cannot inspect results file", path_, errno);
  if (!S_ISREG(st.st_mode)) {
    return Status("batch_io", "results file " + path_ + " is not a regular file");
  }
  if (!resume && st.st_size > 0) {
    return Status("results_exist", "results file " + path_ +
                                       " already holds results; pass --resume to continue it, "
                                       "or choose another --out");
  }
  if ((st.st_mode & 077) != 0 && ::fchmod(fd_, st.st_mode & 0700) != 0) {
    return io_error("cannot make private (chmod 600) results file", path_, errno);
  }
  if (st.st_size == 0) return Status();

  // Read through a second descriptor (appends are O_WRONLY), checked to be
  // the same file in case the path was replaced in between.
  int read_fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (read_fd < 0) return io_error("cannot read results file", path_, errno);
  struct stat read_st;
  Status status;
  if (::fstat(read_fd, &read_st) != 0) {
    status = io_error("cannot inspect results file", path_, errno);
  } else if (read_st.st_dev != st.st_dev || read_st.st_ino != st.st_ino) {
    status = Status("batch_io", "results file " + path_ + " was replaced while it was opened");
  } else {
    ::posix_fadvise(read_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    status = scan(read_fd, retry_failed);
  }
  ::close(read_fd);
  return status;
}

Status FileResultLog::scan(int read_fd, bool retry_failed) {
  // (id hash, line << 1 | failed) per line: sorted, the last entry of each
  // hash is that id's last line. 16 bytes a line, freed before returning.
  std::vector<std::pair<uint64_t, uint64_t>> lines;
  LineStream stream(read_fd);
  uint64_t line = 0;
  while (!stream.at_end()) {
    ++line;
    uint64_t line_start = stream.begin_line();
    ResultLineFields fields;
    rapidjson::Reader reader;
    rapidjson::ParseResult parsed = reader.Parse(stream, fields);
    LineStream::LineEnd end = stream.finish_line();
    if (stream.read_error() != 0) {
      return io_error("cannot read results file", path_, stream.read_error());
    }
    if (!end.newline) {
      // A killed writer's last line: cut it off, its job runs again.
      if (::ftruncate(fd_, static_cast<off_t>(line_start)) != 0) {
        return io_error("cannot cut the torn last line off results file", path_, errno);
      }
      resumed_.cut_torn_line = true;
      break;
    }
    bool empty = parsed.Code() == rapidjson::kParseErrorDocumentEmpty;
    bool stopped = parsed.Code() == rapidjson::kParseErrorTermination && fields.complete();
    // A parse that ran to the end stopped at the '\n' or at a NUL byte.
    if ((!parsed.IsError() || empty) && end.skipped != 0) {
      return corrupt(line, "invalid JSON: a NUL byte");
    }
    if (empty) continue;  // a blank line
    if (parsed.IsError() && !stopped) {
      return corrupt(line, std::string("invalid JSON: ") +
                               rapidjson::GetParseError_En(parsed.Code()) + " at column " +
                               std::to_string(parsed.Offset() + 1));
    }
    // "id" is only looked for as a key of the top-level object.
    if (!fields.has_id) {
      return corrupt(line, "not a result line: no string \"id\"");
    }
    if (fields.outcome != ResultLineFields::Outcome::Completed &&
        fields.outcome != ResultLineFields::Outcome::Error) {
      return corrupt(line, "not a result line: \"status\" is not \"completed\" or \"error\"");
    }
    bool failed = fields.outcome == ResultLineFields::Outcome::Error;
    ++resumed_.lines;
    ++(failed ? resumed_.failed : resumed_.completed);
    lines.emplace_back(fields.id_hash_value, line << 1 | (failed ? 1 : 0));
  }

  std::sort(lines.begin(), lines.end());
  for (size_t i = 0; i < lines.size(); ++i) {
    bool last_of_id = i + 1 == lines.size() || lines[i + 1].first != lines[i].first;
    if (!last_of_id) continue;
    bool last_failed = (lines[i].second & 1) != 0;
    if (!(retry_failed && last_failed)) done_.push_back(lines[i].first);
  }
  done_.shrink_to_fit();
  return Status();
}

Status FileResultLog::append(std::string_view json) {
  if (Status ready = writable(); !ready.ok()) return ready;
  if (json.find('\n') != std::string_view::npos) return raw_newline();
  line_.assign(json);
  line_ += '\n';
  return write_out();
}

Status FileResultLog::append_all(const std::vector<std::string>& lines) {
  if (Status ready = writable(); !ready.ok()) return ready;
  line_.clear();
  for (const std::string& line : lines) {
    if (line.find('\n') != std::string::npos) return raw_newline();
    line_ += line;
    line_ += '\n';
  }
  return write_out();
}

Status FileResultLog::writable() const {
  if (fd_ < 0) return Status("batch_io", "results file " + path_ + " is already closed");
  if (broken_) {
    return Status("batch_io", "results file " + path_ +
                                  " ends with a partly written line after an earlier write "
                                  "failed; nothing more is appended (--resume repairs it)");
  }
  return Status();
}

Status FileResultLog::raw_newline() const {
  return Status("invalid_result_line",
                "a result line must not contain a raw newline (results file " + path_ + ")");
}

// Writes line_ (whole lines, each with its '\n').
Status FileResultLog::write_out() {
  // One write(2) normally; the loop only finishes a write cut short by a
  // signal or a full disk.
  size_t written = 0;
  while (written < line_.size()) {
    ssize_t n = ::write(fd_, line_.data() + written, line_.size() - written);
    if (n > 0) {
      written += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    int err = n < 0 ? errno : EIO;
    // Take the partial lines back off (O_APPEND left the offset at their
    // end), so the next line does not start in the middle of one; if that
    // fails too, stop appending and leave them last, for --resume to cut.
    if (written > 0) {
      off_t end = ::lseek(fd_, 0, SEEK_CUR);
      if (end < 0 || ::ftruncate(fd_, end - static_cast<off_t>(written)) != 0) broken_ = true;
    }
    return io_error("cannot append to results file", path_, err);
  }
  return Status();
}

Status FileResultLog::close() {
  if (fd_ < 0) return Status();
  Status status;
  if (::fsync(fd_) != 0) status = io_error("cannot flush results file", path_, errno);
  // Linux releases the descriptor even when close fails; never retry it.
  if (::close(fd_) != 0 && status.ok()) {
    status = io_error("cannot close results file", path_, errno);
  }
  fd_ = -1;
  return status;
}

}  // namespace

Result<std::unique_ptr<ResultLog>> ResultLog::open(const std::string& path, bool resume,
                                                   bool retry_failed) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot open results file", path, errno);
  auto log = std::make_unique<FileResultLog>(path, fd);
  Status status = log->prepare(resume || retry_failed, retry_failed);
  if (!status.ok()) return status;
  return std::unique_ptr<ResultLog>(std::move(log));
}

}  // namespace flowline
