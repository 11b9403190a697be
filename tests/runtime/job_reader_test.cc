// JobReader on real files: JSONL and CSV jobs, every kind of bad line with
// its line number and id, line endings, BOMs, oversize lines, files of
// 10 MiB read with bounded memory, and standard input through a pipe.
#include "runtime/batch/job_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace flowline {
namespace {

class JobReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "flowline-job-reader-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    return path;
  }

  // Every job and bad line of `path`; fails the test on a Status.
  std::vector<JobOrBadLine> ReadAll(const std::string& path, JobFormat format) {
    std::vector<JobOrBadLine> all;
    Result<std::unique_ptr<JobReader>> reader = JobReader::open(path, format);
    EXPECT_TRUE(reader.ok()) << reader.status().code() << ": " << reader.status().message();
    if (!reader.ok()) return all;
    while (true) {
      Result<std::optional<JobOrBadLine>> next = (*reader)->next();
      EXPECT_TRUE(next.ok()) << next.status().message();
      if (!next.ok() || !next->has_value()) break;
      all.push_back(std::move(**next));
    }
    return all;
  }

  std::vector<JobOrBadLine> ReadJsonl(const std::string& text) {
    return ReadAll(Write("jobs.jsonl", text), JobFormat::Jsonl);
  }
  std::vector<JobOrBadLine> ReadCsv(const std::string& text) {
    return ReadAll(Write("jobs.csv", text), JobFormat::Csv);
  }

  Status OpenError(const std::string& path, JobFormat format) {
    Result<std::unique_ptr<JobReader>> reader = JobReader::open(path, format);
    EXPECT_FALSE(reader.ok());
    return reader.status();
  }

  std::string dir_;
};

const BatchJob& Job(const JobOrBadLine& item) {
  static const BatchJob kNone;
  if (const BatchJob* job = std::get_if<BatchJob>(&item)) return *job;
  ADD_FAILURE() << "a bad line, not a job: " << std::get<BadLine>(item).message;
  return kNone;
}

// "id@line: message" for each bad line, "id@line" for each job.
std::vector<std::string> Summary(const std::vector<JobOrBadLine>& all) {
  std::vector<std::string> out;
  for (const JobOrBadLine& item : all) {
    if (const BadLine* bad = std::get_if<BadLine>(&item)) {
      EXPECT_EQ(bad->code, "invalid_job");
      out.push_back(bad->id + "@" + std::to_string(bad->line) + ": " + bad->message);
    } else {
      const BatchJob& job = std::get<BatchJob>(item);
      out.push_back(job.id + "@" + std::to_string(job.line));
    }
  }
  return out;
}

// Bytes the heap holds now (glibc; zero under sanitizers that replace malloc).
size_t HeapBytes() {
  struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

// ---- job_format_for ---------------------------------------------------------------

TEST(JobFormatFor, ByExtensionInAnyCase) {
  EXPECT_EQ(job_format_for("jobs.csv"), JobFormat::Csv);
  EXPECT_EQ(job_format_for("/data/Jobs.CSV"), JobFormat::Csv);
  EXPECT_EQ(job_format_for("jobs.jsonl"), JobFormat::Jsonl);
  EXPECT_EQ(job_format_for("jobs.NDJSON"), JobFormat::Jsonl);
  EXPECT_EQ(job_format_for("dir/jobs.Json"), JobFormat::Jsonl);
  EXPECT_EQ(job_format_for("jobs.txt"), std::nullopt);
  EXPECT_EQ(job_format_for("jobs"), std::nullopt);
  EXPECT_EQ(job_format_for("dir.csv/jobs"), std::nullopt);
  EXPECT_EQ(job_format_for("-"), std::nullopt);
}

// ---- JSONL -----------------------------------------------------------------------------

TEST_F(JobReaderTest, JsonlJobWithEveryFieldAndValueType) {
  auto all = ReadJsonl(
      R"({"id": "j1", "run": "global.x", "user": "alice", "inputs": {"s": "t\u00e9\n", )"
      R"("i": 42, "neg": -7, "zero": -0, "f": 2.5, "e": 1e3, "tiny": 1e-400, "b": true, "n": null, )"
      R"("a": [1, "x", [], {}], "o": {"k": {"deep": [false]}}, )"
      R"("max": 9223372036854775807, "min": -9223372036854775808, "u64": 18446744073709551615}})"
      "\n");
  ASSERT_EQ(all.size(), 1u);
  const BatchJob& job = Job(all[0]);
  EXPECT_EQ(job.id, "j1");
  EXPECT_EQ(job.run, "global.x");
  EXPECT_EQ(job.user, "alice");
  EXPECT_EQ(job.line, 1u);
  EXPECT_FALSE(job.text_inputs);
  const Value& in = job.inputs;
  ASSERT_TRUE(in.is_object());
  EXPECT_EQ(in.as_object().size(), 14u);
  EXPECT_EQ(*in.find("s"), Value("t\xC3\xA9\n"));
  ASSERT_TRUE(in.find("i")->is_integer());
  EXPECT_EQ(in.find("i")->as_integer(), 42);
  EXPECT_EQ(in.find("neg")->as_integer(), -7);
  EXPECT_TRUE(in.find("zero")->is_integer());
  ASSERT_FALSE(in.find("f")->is_integer());
  EXPECT_EQ(in.find("f")->as_number(), 2.5);
  ASSERT_EQ(in.find("e")->type(), Value::Type::Number);  // an exponent makes a number
  EXPECT_EQ(in.find("e")->as_number(), 1000.0);
  EXPECT_EQ(in.find("tiny")->as_number(), 0.0);
  EXPECT_EQ(*in.find("b"), Value(true));
  EXPECT_TRUE(in.find("n")->is_null());
  EXPECT_EQ(in.find("a")->to_json(), R"([1,"x",[],{}])");
  EXPECT_EQ(in.find("o")->to_json(), R"({"k":{"deep":[false]}})");
  ASSERT_TRUE(in.find("max")->is_integer());
  EXPECT_EQ(in.find("max")->as_integer(), INT64_MAX);
  EXPECT_EQ(in.find("min")->as_integer(), INT64_MIN);
  // Beyond int64: a number, not a wrapped integer.
  ASSERT_EQ(in.find("u64")->type(), Value::Type::Number);
  EXPECT_EQ(in.find("u64")->as_number(), 18446744073709551615.0);
}

TEST_F(JobReaderTest, JsonlOptionalFields) {
  auto all = ReadJsonl(
      "{\"id\": \"a\", \"run\": \"x\"}\n"
      "{\"id\": \"b\", \"run\": \"x\", \"user\": null, \"inputs\": {}}\n");
  ASSERT_EQ(all.size(), 2u);
  for (const JobOrBadLine& item : all) {
    const BatchJob& job = Job(item);
    EXPECT_EQ(job.user, std::nullopt);
    ASSERT_TRUE(job.inputs.is_object());
    EXPECT_TRUE(job.inputs.as_object().empty());
  }
}

TEST_F(JobReaderTest, JsonlIntegerIds) {
  auto all = ReadJsonl(
      "{\"id\": 17, \"run\": \"x\"}\n"
      "{\"id\": -3, \"run\": \"x\"}\n"
      "{\"id\": 0, \"run\": \"x\"}\n"
      "{\"id\": 1.5, \"run\": \"x\"}\n"
      "{\"id\": 18446744073709551615, \"run\": \"x\"}\n");
  EXPECT_EQ(Summary(all), (std::vector<std::string>{
                              "17@1", "-3@2", "0@3",
                              "line:4@4: 'id' must be a string or an integer, not a number",
                              "line:5@5: 'id' must be a string or an integer, not a number"}));
}

TEST_F(JobReaderTest, JsonlBlankAndCommentLinesCountForLineNumbers) {
  auto all = ReadJsonl(
      "\n"
      "# jobs for tuesday\n"
      "   \t \n"
      "  # an indented comment\n"
      "{\"id\": \"a\", \"run\": \"x\"}\n"
      "\n"
      "{\"id\": \"b\", \"run\": \"x\"}\n"
      "#{\"id\": \"c\", \"run\": \"x\"}\n");
  EXPECT_EQ(Summary(all), (std::vector<std::string>{"a@5", "b@7"}));
}

TEST_F(JobReaderTest, JsonlBadLinesKeepTheReadingGoing) {
  auto all = ReadJsonl(
      "{\"id\": \"a\", \"run\": \"x\"\n"                       // 1
      "[1, 2]\n"                                               // 2
      "\"j\"\n"                                                // 3
      "null\n"                                                 // 4
      "{\"run\": \"x\"}\n"                                     // 5
      "{\"id\": \"\", \"run\": \"x\"}\n"                       // 6
      "{\"id\": \"j7\"}\n"                                     // 7
      "{\"id\": \"j8\", \"run\": \"\"}\n"                      // 8
      "{\"id\": \"j9\", \"run\": 5}\n"                         // 9
      "{\"id\": \"j10\", \"run\": \"x\", \"user\": 5}\n"       // 10
      "{\"id\": \"j11\", \"run\": \"x\", \"user\": \"\"}\n"    // 11
      "{\"id\": \"j12\", \"run\": \"x\", \"inputs\": []}\n"    // 12
      "{\"id\": \"j13\", \"run\": \"x\", \"inputs\": null}\n"  // 13
      "{\"id\": true, \"run\": \"x\"}\n"                       // 14
      "{\"id\": \"j15\", \"run\": \"x\", \"input\": {}}\n"     // 15
      "{\"id\": \"a\", \"id\": \"b\", \"run\": \"x\"}\n"       // 16
      "{\"id\": \"j17\", \"run\": \"x\", \"run\": \"y\"}\n"    // 17
      "{\"run\": 1, \"extra\": 2}\n"                           // 18
      "{}\n"                                                   // 19
      "{\"id\": \"ok\", \"run\": \"x\"}\n");                   // 20
  EXPECT_EQ(
      Summary(all),
      (std::vector<std::string>{
          "line:1@1: invalid JSON: missing a comma or '}' after an object member at column 23",
          "line:2@2: a job must be a JSON object, not an array",
          "line:3@3: a job must be a JSON object, not a string",
          "line:4@4: a job must be a JSON object, not null",
          "line:5@5: no 'id'",
          "line:6@6: 'id' is empty",
          "j7@7: no 'run'",
          "j8@8: 'run' is empty",
          "j9@9: 'run' must be a string, not an integer",
          "j10@10: 'user' must be a string or null, not an integer",
          "j11@11: 'user' is empty (leave it out, or null, for the batch's user)",
          "j12@12: 'inputs' must be an object, not an array",
          "j13@13: 'inputs' must be an object, not null",
          "line:14@14: 'id' must be a string or an integer, not a boolean",
          "j15@15: unknown field 'input' (the fields are id, run, user and inputs)",
          "line:16@16: field 'id' appears twice",
          "j17@17: field 'run' appears twice",
          "line:18@18: no 'id'; unknown field 'extra' (the fields are id, run, user and inputs); "
          "'run' must be a string, not an integer",
          "line:19@19: no 'id'; no 'run'",
          "ok@20",
      }));
}

TEST_F(JobReaderTest, JsonlSyntaxErrorsGiveTheColumnInCodePoints) {
  std::string deep =
      "{\"id\": \"d\", \"run\": \"x\", \"inputs\": {\"a\": " + std::string(300, '[') +
      std::string(300, ']') + "}}";
  auto all = ReadJsonl(
      "{\"id\": \"\xC3\xA9\xC3\xA9\", x}\n"
      "{\"id\": \"a\", \"run\": \"x\"} trailing\n"
      "{\"id\": \"a\", \"run\": \"\xFF\"}\n"
      "{\"id\": \"a\", \"run\": \"x\", \"inputs\": {\"n\": 1e999}}\n"
      "{\"id\": \"a\", \"run\": \"x\", \"inputs\": {\"n\": 123456789012345678901234567890e300}}\n"
      "{\"id\": \"a\", \"run\": \"tab\there\"}\n" +
      deep + "\n" + std::string("{\"id\": \"a\",\0 \"run\": \"x\"}\n", 25) + "{'id': 'a'}\n");
  EXPECT_EQ(
      Summary(all),
      (std::vector<std::string>{
          "line:1@1: invalid JSON: missing a name for object member at column 14",
          "line:2@2: invalid JSON: the document root must not be followed by other values at "
          "column 25",
          "line:3@3: invalid JSON: invalid encoding in string at column 21",
          "line:4@4: invalid JSON: number 1e999 is out of range at column 41",
          "line:5@5: invalid JSON: number 123456789012345678901234567890e300 is out of range at "
          "column 41",
          "line:6@6: invalid JSON: control character U+0009 must be escaped in a string at column "
          "24",
          "line:7@7: invalid JSON: nested deeper than 256 levels at column 295",
          "line:8@8: invalid JSON: NUL character at column 12",
          "line:9@9: invalid JSON: missing a name for object member at column 2",
      }));
}

TEST_F(JobReaderTest, JsonlCrlfTrailingBlanksAndBom) {
  auto all = ReadJsonl(
      "\xEF\xBB\xBF{\"id\": \"a\", \"run\": \"x\"}\r\n"
      "{\"id\": \"b\", \"run\": \"x\"}  \t\r\n"
      "\r\n"
      "# note\r\n"
      "{\"id\": \"c\", \"run\": \"x\", \"inputs\": {\"t\": \"a\\r\\nb\"}}\r\n");
  ASSERT_EQ(Summary(all), (std::vector<std::string>{"a@1", "b@2", "c@5"}));
  EXPECT_EQ(*Job(all[2]).inputs.find("t"), Value("a\r\nb"));
}

TEST_F(JobReaderTest, JsonlLastLineWithoutNewline) {
  auto all = ReadJsonl("{\"id\": \"a\", \"run\": \"x\"}\n{\"id\": \"b\", \"run\": \"x\"}");
  EXPECT_EQ(Summary(all), (std::vector<std::string>{"a@1", "b@2"}));
}

TEST_F(JobReaderTest, EmptyFilesHaveNoJobs) {
  EXPECT_TRUE(ReadJsonl("").empty());
  EXPECT_TRUE(ReadJsonl("\n\n  \n").empty());
  EXPECT_TRUE(ReadCsv("").empty());
  EXPECT_TRUE(ReadCsv("\xEF\xBB\xBF").empty());
  EXPECT_TRUE(ReadCsv("\r\n\n").empty());
  EXPECT_TRUE(ReadCsv("id,run\n").empty());
}

TEST_F(JobReaderTest, JsonlLineLimitIsExact) {
  // A line of exactly kMaxJobLineBytes is read; one byte more is not.
  std::string job = "{\"id\": \"fits\", \"run\": \"x\"}";
  std::string fits = job + std::string(kMaxJobLineBytes - job.size(), ' ');
  std::string over =
      "{\"id\": \"over\", \"run\": \"x\"}" + std::string(kMaxJobLineBytes - job.size() + 1, ' ');
  auto all = ReadJsonl(fits + "\n" + over + "\r\n" + "{\"id\": \"after\", \"run\": \"x\"}\n");
  EXPECT_EQ(
      Summary(all),
      (std::vector<std::string>{
          "fits@1", "line:2@2: line longer than 1 MiB (the limit is 1048576 bytes)", "after@3"}));
}

TEST_F(JobReaderTest, JsonlOversizeLinesAreSkippedWithBoundedMemory) {
  // A 10 MiB line, in the middle and at the end without a newline.
  std::string path = dir_ + "/big-line.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"id\": \"a\", \"run\": \"x\"}\n";
    std::string block(1 << 20, 'x');
    out << "{\"id\": \"huge\", \"run\": \"x\", \"inputs\": {\"s\": \"";
    for (int i = 0; i < 10; ++i) out << block;
    out << "\"}}\n";
    out << "{\"id\": \"b\", \"run\": \"x\"}\n";
    for (int i = 0; i < 10; ++i) out << block;
  }
  size_t before = HeapBytes();
  size_t peak = before;
  Result<std::unique_ptr<JobReader>> reader = JobReader::open(path, JobFormat::Jsonl);
  ASSERT_TRUE(reader.ok());
  std::vector<std::string> seen;
  while (true) {
    Result<std::optional<JobOrBadLine>> next = (*reader)->next();
    ASSERT_TRUE(next.ok());
    peak = std::max(peak, HeapBytes());
    if (!next->has_value()) break;
    seen.push_back(Summary({**next})[0]);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "a@1", "line:2@2: line longer than 1 MiB (the limit is 1048576 bytes)", "b@3",
                      "line:4@4: line longer than 1 MiB (the limit is 1048576 bytes)"}));
  EXPECT_LT(peak - before, 4u << 20);
}

TEST_F(JobReaderTest, JsonlTenMebibytesStreamWithBoundedMemory) {
  std::string path = dir_ + "/many.jsonl";
  constexpr int kJobs = 100000;
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < kJobs; ++i) {
      out << "{\"id\": \"job-" << i << "\", \"run\": \"global.lookup\", \"user\": \"u" << i % 7
          << "\", \"inputs\": {\"n\": " << i << ", \"tag\": \"abcdefghijklmnopqrstuvwx\"}}\n";
    }
  }
  ASSERT_GT(std::filesystem::file_size(path), 10u << 20);
  auto start = std::chrono::steady_clock::now();
  size_t before = HeapBytes();
  size_t peak = before;
  Result<std::unique_ptr<JobReader>> reader = JobReader::open(path, JobFormat::Jsonl);
  ASSERT_TRUE(reader.ok());
  int count = 0;
  while (true) {
    Result<std::optional<JobOrBadLine>> next = (*reader)->next();
    ASSERT_TRUE(next.ok());
    if (count % 64 == 0) peak = std::max(peak, HeapBytes());
    if (!next->has_value()) break;
    const BatchJob& job = Job(**next);
    ASSERT_EQ(job.id, "job-" + std::to_string(count));
    ASSERT_EQ(job.line, static_cast<uint64_t>(count + 1));
    ASSERT_EQ(job.inputs.find("n")->as_integer(), count);
    ++count;
  }
  EXPECT_EQ(count, kJobs);
  EXPECT_LT(peak - before, 1u << 20);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  RecordProperty("seconds", std::to_string(seconds));
  std::printf("read %d JSONL jobs (%ju bytes) in %.3f s, heap peak +%zu bytes\n", count,
              static_cast<uintmax_t>(std::filesystem::file_size(path)), seconds, peak - before);
}

TEST_F(JobReaderTest, StandardInputThroughAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string text =
      "# from a pipe\n{\"id\": \"p1\", \"run\": \"x\"}\n{\"id\": \"p2\", \"run\": \"x\"}";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  auto all = ReadAll("-", JobFormat::Jsonl);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(Summary(all), (std::vector<std::string>{"p1@2", "p2@3"}));
}

TEST_F(JobReaderTest, OpenErrors) {
  Status missing = OpenError(dir_ + "/nope.jsonl", JobFormat::Jsonl);
  EXPECT_EQ(missing.code(), "batch_io");
  EXPECT_EQ(missing.message(),
            "cannot open the jobs file '" + dir_ + "/nope.jsonl': No such file or directory");
  Status directory = OpenError(dir_, JobFormat::Csv);
  EXPECT_EQ(directory.code(), "batch_io");
  EXPECT_EQ(directory.message(), "cannot read the jobs file '" + dir_ + "': it is a directory");
}

// ---- CSV -------------------------------------------------------------------------------

TEST_F(JobReaderTest, CsvJobs) {
  auto all = ReadCsv(
      "id,run,user,input.region,input.count\n"
      "j1,global.x,alice,eu,3\n"
      "j2,x,,us,\n"
      "j3,x,bob,,\n");
  ASSERT_EQ(Summary(all), (std::vector<std::string>{"j1@2", "j2@3", "j3@4"}));
  const BatchJob& j1 = Job(all[0]);
  EXPECT_EQ(j1.run, "global.x");
  EXPECT_EQ(j1.user, "alice");
  EXPECT_TRUE(j1.text_inputs);
  EXPECT_EQ(j1.inputs.to_json(), R"({"count":"3","region":"eu"})");
  const BatchJob& j2 = Job(all[1]);
  EXPECT_EQ(j2.user, std::nullopt);                      // an empty cell: the batch's user
  EXPECT_EQ(j2.inputs.to_json(), R"({"region":"us"})");  // an empty cell: not given
  EXPECT_EQ(Job(all[2]).inputs.to_json(), "{}");
}

TEST_F(JobReaderTest, CsvColumnsInAnyOrderWithoutUser) {
  auto all = ReadCsv("input.q,run,id\nhello,global.search,s1\n");
  ASSERT_EQ(all.size(), 1u);
  const BatchJob& job = Job(all[0]);
  EXPECT_EQ(job.id, "s1");
  EXPECT_EQ(job.run, "global.search");
  EXPECT_EQ(job.user, std::nullopt);
  EXPECT_EQ(job.inputs.to_json(), R"({"q":"hello"})");
}

TEST_F(JobReaderTest, CsvQuoting) {
  auto all = ReadCsv(
      "id,run,input.text,input.note\n"
      "q1,x,\"a, b\",\"say \"\"hi\"\"\"\n"         // 2
      "\"q2\",x,\"line one\nline two\n\",plain\n"  // 3-5
      "q3,x,\"\",\"\"\"\"\n"                       // 6
      "q4,x,5\" pipe,\"multi\r\nline\"\n");        // 7-8
  ASSERT_EQ(Summary(all), (std::vector<std::string>{"q1@2", "q2@3", "q3@6", "q4@7"}));
  EXPECT_EQ(*Job(all[0]).inputs.find("text"), Value("a, b"));
  EXPECT_EQ(*Job(all[0]).inputs.find("note"), Value("say \"hi\""));
  EXPECT_EQ(*Job(all[1]).inputs.find("text"), Value("line one\nline two\n"));
  EXPECT_EQ(*Job(all[1]).inputs.find("note"), Value("plain"));
  // A quoted empty cell is still empty: not given.
  EXPECT_EQ(Job(all[2]).inputs.find("text"), nullptr);
  EXPECT_EQ(*Job(all[2]).inputs.find("note"), Value("\""));
  // A quote inside an unquoted cell is text; CRLF inside quotes is kept.
  EXPECT_EQ(*Job(all[3]).inputs.find("text"), Value("5\" pipe"));
  EXPECT_EQ(*Job(all[3]).inputs.find("note"), Value("multi\r\nline"));
}

TEST_F(JobReaderTest, CsvBomCrlfAndBlankRows) {
  auto all = ReadCsv(
      "\xEF\xBB\xBF\r\n"
      "id,run,user\r\n"
      "c1,x,alice\r\n"
      "\r\n"
      "   \r\n"
      "c2,x,\r\n"
      "c3,x,bob");  // no newline at the end
  ASSERT_EQ(Summary(all), (std::vector<std::string>{"c1@3", "c2@6", "c3@7"}));
  EXPECT_EQ(Job(all[0]).user, "alice");
  EXPECT_EQ(Job(all[1]).user, std::nullopt);
  EXPECT_EQ(Job(all[2]).user, "bob");
}

TEST_F(JobReaderTest, CsvBadRows) {
  auto all = ReadCsv(
      "id,run,input.a\n"
      "r1,x\n"                             // 2: too few cells
      "r2,x,1,2\n"                         // 3: too many
      ",x,1\n"                             // 4: empty id
      "r5,,1\n"                            // 5: empty run
      ",,\n"                               // 6: both
      "r7,x,\"ab\"c\n"                     // 7: text after a closing quote
      "r8,x,\"ab\"\r\r\n"                  // 8: a stray CR after a closing quote
      "r9,x,\xFF\n"                        // 9: not UTF-8
      "\xFF,x,1\n"                         // 10: an id that is not UTF-8
      "r11,x,ok\n"                         // 11
      "r12,x,\"never closed\nr13,x,1\n");  // 12-13
  EXPECT_EQ(Summary(all), (std::vector<std::string>{
                              "line:2@2: the row has 2 cells, the header 3 columns",
                              "line:3@3: the row has 4 cells, the header 3 columns",
                              "line:4@4: the 'id' cell is empty",
                              "r5@5: the 'run' cell is empty",
                              "line:6@6: the 'id' cell is empty; the 'run' cell is empty",
                              "line:7@7: text after the closing quote of cell 3",
                              "line:8@8: text after the closing quote of cell 3",
                              "r9@9: the 'input.a' cell is not valid UTF-8 (byte 1)",
                              "line:10@10: the 'id' cell is not valid UTF-8 (byte 1)",
                              "r11@11",
                              "line:12@12: a quoted cell opened on line 12 is not closed",
                          }));
}

TEST_F(JobReaderTest, CsvHeaderErrors) {
  auto message = [&](const std::string& text) {
    Status status = OpenError(Write("h.csv", text), JobFormat::Csv);
    EXPECT_EQ(status.code(), "invalid_job_file");
    std::string prefix = "the CSV header of the jobs file '" + dir_ + "/h.csv' ";
    EXPECT_EQ(status.message().substr(0, prefix.size()), prefix);
    return status.message().substr(std::min(prefix.size(), status.message().size()));
  };
  EXPECT_EQ(
      message("id,user\nj,x\n"),
      "has no 'run' column (columns found: 'id', 'user'; allowed: id, run, user, input.NAME)");
  EXPECT_EQ(message("run\n"),
            "has no 'id' column (columns found: 'run'; allowed: id, run, user, input.NAME)");
  EXPECT_EQ(message("id,run,id,input.a,input.a\n"),
            "names 'id', 'input.a' more than once (columns found: 'id', 'run', 'id', 'input.a', "
            "'input.a'; allowed: id, run, user, input.NAME)");
  EXPECT_EQ(message("ID,run,inputs,input.,Input.x\n"),
            "has no 'id' column; has unknown columns 'ID', 'inputs', 'input.', 'Input.x' "
            "(columns found: 'ID', 'run', 'inputs', 'input.', 'Input.x'; allowed: id, run, user, "
            "input.NAME)");
  EXPECT_EQ(message("id,run,\n"),
            "has unknown column '' (columns found: 'id', 'run', ''; allowed: id, run, user, "
            "input.NAME)");
  EXPECT_EQ(message("id,\"run\"x\n"), "is malformed: text after the closing quote of cell 2");
  EXPECT_EQ(message("id,\"run\n"), "is malformed: a quoted cell opened on line 1 is not closed");
  EXPECT_EQ(message(std::string(2 << 20, 'a') + "\nid,run\n"),
            "is longer than 1 MiB (the limit is 1048576 bytes)");
  std::string wide = "id,run";
  for (int i = 0; i < 1100; ++i) wide += ",input.i" + std::to_string(i);
  EXPECT_EQ(message(wide + "\n"), "has 1102 columns (the limit is 1024)");
  // A long list of columns is cut short.
  std::string many = "id,run";
  for (int i = 0; i < 30; ++i) many += ",c" + std::to_string(i);
  std::string text = message(many + "\n");
  EXPECT_NE(text.find("'c18', 'c19' and 10 more (columns found: 'id', 'run', 'c0'"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("'c17' and 12 more; allowed"), std::string::npos) << text;
}

TEST_F(JobReaderTest, CsvOversizeRowsAreSkipped) {
  // A 2 MiB quoted cell holding line breaks: the row is skipped to its real
  // end, and the lines it spans still count.
  std::string cell;
  for (int i = 0; i < 2048; ++i) cell += std::string(1023, 'x') + "\n";
  auto all = ReadCsv(
      "id,run,input.a\n"
      "big,x,\"" +
      cell +
      "\"\n"
      "after,x,1\n" +
      "wide," + std::string(2 << 20, 'y') +
      ",1\r\n"
      "last,x,2");
  EXPECT_EQ(
      Summary(all),
      (std::vector<std::string>{
          "line:2@2: row longer than 1 MiB (the limit is 1048576 bytes)", "after@2051",
          "line:2052@2052: row longer than 1 MiB (the limit is 1048576 bytes)", "last@2053"}));
}

TEST_F(JobReaderTest, CsvRowLimitCountsTheBytesAsWritten) {
  // Escaped quotes count as the two bytes they are written with.
  auto row = [](const std::string& id, size_t bytes) {
    std::string head = id + ",x,\"" + std::string(2000, '"');
    return head + std::string(bytes - head.size() - 1, 'z') + "\"";
  };
  std::string fits = row("fits", kMaxJobLineBytes);
  std::string over = row("over", kMaxJobLineBytes + 1);
  auto all = ReadCsv("id,run,input.a\n" + fits + "\r\n" + over + "\nafter,x,1\n");
  ASSERT_EQ(
      Summary(all),
      (std::vector<std::string>{
          "fits@2", "line:3@3: row longer than 1 MiB (the limit is 1048576 bytes)", "after@4"}));
  const std::string& a = Job(all[0]).inputs.find("a")->as_string();
  EXPECT_EQ(a.size(), kMaxJobLineBytes - 4 - 3 - 2 - 1000);
  EXPECT_EQ(a.substr(0, 1001), std::string(1000, '"') + "z");
}

TEST_F(JobReaderTest, CsvRowOfCommasIsBounded) {
  std::string commas(kMaxJobLineBytes - 10, ',');
  auto all = ReadCsv("id,run\n" + commas + "\nok,x\n");
  EXPECT_EQ(Summary(all),
            (std::vector<std::string>{"line:2@2: the row has " + std::to_string(commas.size() + 1) +
                                          " cells, the header 2 columns",
                                      "ok@3"}));
}

TEST_F(JobReaderTest, CsvTenMebibytesAcrossChunkBoundaries) {
  // Quotes, escaped quotes, CRLF and line breaks inside quotes land on
  // every offset of the 64 KiB reads.
  std::string path = dir_ + "/many.csv";
  constexpr int kJobs = 240000;
  {
    std::ofstream out(path, std::ios::binary);
    out << "\xEF\xBB\xBFid,run,user,input.text,input.n\r\n";
    for (int i = 0; i < kJobs; ++i) {
      out << "job-" << i << ",global.x," << (i % 3 == 0 ? "" : "u") << ",\"t" << i % 13
          << " \"\"q\"\", a\r\nb\"," << i << "\r\n";
    }
  }
  ASSERT_GT(std::filesystem::file_size(path), 10u << 20);
  size_t before = HeapBytes();
  size_t peak = before;
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<JobReader>> reader = JobReader::open(path, JobFormat::Csv);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  int count = 0;
  while (true) {
    Result<std::optional<JobOrBadLine>> next = (*reader)->next();
    ASSERT_TRUE(next.ok());
    if (count % 64 == 0) peak = std::max(peak, HeapBytes());
    if (!next->has_value()) break;
    const BatchJob& job = Job(**next);
    ASSERT_EQ(job.id, "job-" + std::to_string(count));
    ASSERT_EQ(job.line, static_cast<uint64_t>(2 + 2 * count));
    ASSERT_EQ(job.user.has_value(), count % 3 != 0);
    ASSERT_EQ(*job.inputs.find("text"), Value("t" + std::to_string(count % 13) + " \"q\", a\r\nb"));
    ASSERT_EQ(*job.inputs.find("n"), Value(std::to_string(count)));
    ++count;
  }
  EXPECT_EQ(count, kJobs);
  EXPECT_LT(peak - before, 1u << 20);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("read %d CSV jobs (%ju bytes) in %.3f s, heap peak +%zu bytes\n", count,
              static_cast<uintmax_t>(std::filesystem::file_size(path)), seconds, peak - before);
}

TEST_F(JobReaderTest, CsvFromStandardInput) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::string text = "id,run\ns1,x\n";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  int saved = ::dup(STDIN_FILENO);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  auto all = ReadAll("-", JobFormat::Csv);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(Summary(all), (std::vector<std::string>{"s1@2"}));
}

}  // namespace
}  // namespace flowline
