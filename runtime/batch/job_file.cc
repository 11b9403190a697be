#include "runtime/batch/job_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "runtime/eval/evaluator.h"

namespace flowline::job_file {

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

}  // namespace flowline::job_file
