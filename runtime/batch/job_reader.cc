// JobReader: a batch file read in 64 KiB chunks through read(2)
// (job_file.h), as JSONL (jsonl_job_reader.cc) or CSV (csv_job_reader.cc).
// Either way at most one line (or CSV row) is held, and a longer one is
// dropped as it streams past.
#include "runtime/batch/job_reader.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "runtime/batch/job_file.h"

namespace flowline {

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
  Result<std::unique_ptr<job_file::ChunkedFile>> file = job_file::open_file(path);
  if (!file.ok()) return file.status();
  if (format == JobFormat::Jsonl) return job_file::make_jsonl_reader(std::move(file).value());
  return job_file::make_csv_reader(std::move(file).value(), path);
}

}  // namespace flowline
