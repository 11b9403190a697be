// The batch results file against real files: appending and resuming, torn
// last lines cut byte for byte, retry_failed's last-line-wins rule, corrupt
// lines, long lines, file mode and lock, a write cut short by the file size
// limit, 100,000 ids, and writers killed with SIGKILL at random moments.
#include "runtime/batch/result_log.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace flowline {
namespace {

namespace fs = std::filesystem;

std::string line(const std::string& id, const std::string& status = "completed") {
  if (status == "error") {
    return R"({"id":")" + id +
           R"(","status":"error","error":{"code":"http_status","message":"404","step":"get"},)"
           R"("context_id":"ctx-)" +
           id + R"(","duration_ms":3})";
  }
  return R"({"id":")" + id + R"(","status":")" + status +
         R"(","outputs":{"n":1},"context_id":"ctx-)" + id + R"(","duration_ms":2})";
}

class ResultLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/flowline-results-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/results.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ResultLog> open(bool resume, bool retry_failed = false) {
    Result<std::unique_ptr<ResultLog>> log = ResultLog::open(path_, resume, retry_failed);
    EXPECT_TRUE(log.ok()) << log.status().code() << ": " << log.status().message();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  Status open_error(bool resume, bool retry_failed = false) {
    Result<std::unique_ptr<ResultLog>> log = ResultLog::open(path_, resume, retry_failed);
    EXPECT_FALSE(log.ok());
    return log.status();
  }

  std::string contents() const {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void write(const std::string& bytes) const {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
  }
  // True for an empty file too: nothing is torn.
  bool last_byte_is_newline() const {
    std::ifstream in(path_, std::ios::binary | std::ios::ate);
    if (in.tellg() <= 0) return true;
    in.seekg(-1, std::ios::end);
    return in.get() == '\n';
  }
  unsigned mode() const {
    struct stat st;
    EXPECT_EQ(::stat(path_.c_str(), &st), 0);
    return st.st_mode & 0777;
  }

  std::string dir_, path_;
};

TEST_F(ResultLogTest, AppendedIdsAreDoneAfterResume) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 0u);
  EXPECT_FALSE(log->done("a"));
  ASSERT_TRUE(log->append(line("a")).ok());
  ASSERT_TRUE(log->append(line("b", "error")).ok());
  ASSERT_TRUE(log->append(line("c")).ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents(), line("a") + "\n" + line("b", "error") + "\n" + line("c") + "\n");

  log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  const ResumeState& state = log->resumed();
  EXPECT_EQ(state.lines, 3u);
  EXPECT_EQ(state.completed, 2u);
  EXPECT_EQ(state.failed, 1u);
  EXPECT_FALSE(state.cut_torn_line);
  EXPECT_TRUE(log->done("a"));
  EXPECT_TRUE(log->done("b"));  // an error is a result too, unless retry_failed
  EXPECT_TRUE(log->done("c"));
  EXPECT_FALSE(log->done("d"));
  EXPECT_FALSE(log->done(""));
  ASSERT_TRUE(log->append(line("d")).ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents(),
            line("a") + "\n" + line("b", "error") + "\n" + line("c") + "\n" + line("d") + "\n");
}

TEST_F(ResultLogTest, ResumingAMissingOrEmptyFileStartsFresh) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 0u);
  EXPECT_FALSE(log->resumed().cut_torn_line);
  log.reset();
  ASSERT_TRUE(fs::exists(path_));
  log = open(/*resume=*/false);  // an empty file holds no results to mix with
  ASSERT_NE(log, nullptr);
}

TEST_F(ResultLogTest, ExistingResultsNeedResume) {
  write(line("a") + "\n");
  Status status = open_error(/*resume=*/false);
  EXPECT_EQ(status.code(), "results_exist");
  EXPECT_NE(status.message().find(path_), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("--resume"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("--out"), std::string::npos) << status.message();
  EXPECT_EQ(contents(), line("a") + "\n");
}

TEST_F(ResultLogTest, NewFileIsPrivate) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(mode(), 0600u);
}

TEST_F(ResultLogTest, ExistingFileLosesGroupAndOtherPermissions) {
  write(line("a") + "\n");
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(mode(), 0600u);
}

TEST_F(ResultLogTest, TornLastLineIsCutAndASecondResumeIsClean) {
  const std::string kept = line("a") + "\n" + line("b") + "\n";
  write(kept + R"({"id":"c","status":"compl)");

  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->resumed().cut_torn_line);
  EXPECT_EQ(log->resumed().lines, 2u);
  EXPECT_TRUE(log->done("b"));
  EXPECT_FALSE(log->done("c"));
  EXPECT_EQ(contents(), kept);
  ASSERT_TRUE(log->close().ok());

  log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(log->resumed().cut_torn_line);
  EXPECT_EQ(log->resumed().lines, 2u);
  ASSERT_TRUE(log->append(line("c")).ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents(), kept + line("c") + "\n");
}

TEST_F(ResultLogTest, FileOfOnlyATornLineBecomesEmpty) {
  write(R"({"id":"a","sta)");
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->resumed().cut_torn_line);
  EXPECT_EQ(log->resumed().lines, 0u);
  EXPECT_FALSE(log->done("a"));
  EXPECT_EQ(contents(), "");
}

// A line is complete only with its '\n': a whole JSON object without one was
// still cut short (the write adds the '\n' in the same call).
TEST_F(ResultLogTest, LastLineWithoutNewlineIsTornEvenWhenItParses) {
  write(line("a") + "\n" + line("b"));
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->resumed().cut_torn_line);
  EXPECT_EQ(log->resumed().lines, 1u);
  EXPECT_FALSE(log->done("b"));
  EXPECT_EQ(contents(), line("a") + "\n");
}

TEST_F(ResultLogTest, RetryFailedGoesByEachIdsLastLine) {
  write(line("error_then_completed", "error") + "\n" + line("error_then_completed") + "\n" +
        line("completed_then_error") + "\n" + line("completed_then_error", "error") + "\n" +
        line("error_only", "error") + "\n" + line("completed_only") + "\n" +
        line("error_twice", "error") + "\n" + line("error_twice", "error") + "\n");

  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 8u);
  EXPECT_EQ(log->resumed().completed, 3u);
  EXPECT_EQ(log->resumed().failed, 5u);
  for (const char* id : {"error_then_completed", "completed_then_error", "error_only",
                         "completed_only", "error_twice"}) {
    EXPECT_TRUE(log->done(id)) << id;
  }
  log.reset();

  log = open(/*resume=*/false, /*retry_failed=*/true);  // retry_failed implies resume
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 8u);
  EXPECT_TRUE(log->done("error_then_completed"));
  EXPECT_FALSE(log->done("completed_then_error"));
  EXPECT_FALSE(log->done("error_only"));
  EXPECT_TRUE(log->done("completed_only"));
  EXPECT_FALSE(log->done("error_twice"));
  // The retry's line comes last, so the next resume counts it.
  ASSERT_TRUE(log->append(line("error_only")).ok());
  log.reset();
  log = open(/*resume=*/true, /*retry_failed=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->done("error_only"));
  EXPECT_FALSE(log->done("error_twice"));
}

TEST_F(ResultLogTest, MalformedCompleteLineIsCorruptAndLeftAlone) {
  struct Case {
    std::string file;
    std::string expected;  // in the message
  } cases[] = {
      {line("a") + "\nnot json\n" + line("c") + "\n", "line 2: invalid JSON"},
      {line("a") + "\n" + line("b").substr(0, 20) + "\n" + line("c") + "\n",
       "line 2: invalid JSON"},
      {R"({"id":7,"status":"completed"})"
       "\n",
       "line 1: not a result line: no string \"id\""},
      {R"(["id","a"])"
       "\n",
       "line 1: not a result line"},
      {R"({"outputs":{"id":"a"},"status":"completed"})"
       "\n",
       "line 1: not a result line"},
      // A jobs file given as --out by mistake.
      {R"({"id":"j1","run":"global.x"})"
       "\n",
       "line 1: not a result line: \"status\""},
      {R"({"id":"a","status":"skipped"})"
       "\n",
       "line 1: not a result line: \"status\""},
      {line("a") + "\n" + std::string(1, '\0') + "x\n", "line 2: invalid JSON: a NUL byte"},
      // Blank lines are skipped but still numbered.
      {line("a") + "\n\n  \n{bad\n", "line 4: invalid JSON"},
  };
  for (const Case& c : cases) {
    write(c.file);
    Status status = open_error(/*resume=*/true);
    EXPECT_EQ(status.code(), "results_corrupt") << c.expected;
    EXPECT_NE(status.message().find(c.expected), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(path_), std::string::npos) << status.message();
    EXPECT_EQ(contents(), c.file) << c.expected;
  }
}

TEST_F(ResultLogTest, BlankLinesAreSkipped) {
  write(line("a") + "\n\n" + line("b") + "\n  \n");
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 2u);
  EXPECT_TRUE(log->done("b"));
}

TEST_F(ResultLogTest, IdsAreComparedUnescaped) {
  write(R"({"id":"caf\u00e9 \"q\"","status":"completed"})"
        "\n");
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_TRUE(log->done("caf\xc3\xa9 \"q\""));
}

// Lines longer than the 1 MiB read buffer, complete and torn.
TEST_F(ResultLogTest, LinesLongerThanTheReadBuffer) {
  const std::string big = R"({"id":"big","status":"completed","outputs":{"s":")" +
                          std::string(3 << 20, 'x') + R"("}})" + "\n";
  const std::string torn =
      R"({"id":"torn","status":"completed","outputs":{"s":")" + std::string(5 << 19, 'y');
  write(line("a") + "\n" + big + torn);
  std::unique_ptr<ResultLog> log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, 2u);
  EXPECT_TRUE(log->resumed().cut_torn_line);
  EXPECT_TRUE(log->done("big"));
  EXPECT_FALSE(log->done("torn"));
  EXPECT_EQ(contents(), line("a") + "\n" + big);
}

TEST_F(ResultLogTest, AppendRejectsARawNewline) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  Status status = log->append(R"({"id":"a",)"
                              "\n"
                              R"("status":"completed"})");
  EXPECT_EQ(status.code(), "invalid_result_line");
  ASSERT_TRUE(log->append(line("b")).ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents(), line("b") + "\n");
}

TEST_F(ResultLogTest, AppendAllWritesEveryLineOrNone) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append_all({line("a"), line("b"), line("c")}).ok());
  // A raw newline in any line refuses the whole group.
  Status status = log->append_all({line("d"), R"({"id":"e",)"
                                              "\n"
                                              R"("status":"completed"})"});
  EXPECT_EQ(status.code(), "invalid_result_line");
  ASSERT_TRUE(log->append_all({}).ok());
  ASSERT_TRUE(log->append(line("f")).ok());
  ASSERT_TRUE(log->close().ok());
  EXPECT_EQ(contents(), line("a") + "\n" + line("b") + "\n" + line("c") + "\n" + line("f") + "\n");
  EXPECT_EQ(log->append_all({line("g")}).code(), "batch_io");  // closed

  Result<std::unique_ptr<ResultLog>> resumed = ResultLog::open(path_, true, false);
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  for (const char* id : {"a", "b", "c", "f"}) EXPECT_TRUE((*resumed)->done(id)) << id;
  EXPECT_FALSE((*resumed)->done("d"));
}

TEST_F(ResultLogTest, FailedAppendAllLeavesNoneOfItsLines) {
  const std::string first = line("a") + "\n";
  write(first);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    // Room for one more line and a part of the second: the group is cut back whole.
    struct rlimit limit = {first.size() * 2 + 10, first.size() * 2 + 10};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    Result<std::unique_ptr<ResultLog>> log = ResultLog::open(path_, true, false);
    if (!log.ok()) ::_exit(11);
    Status status = (*log)->append_all({line("b"), line("c")});
    if (status.code() != "batch_io") ::_exit(12);
    ::_exit((*log)->close().ok() ? 0 : 15);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_EQ(contents(), first);
}

TEST_F(ResultLogTest, CloseIsIdempotentAndEndsAppending) {
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append(line("a")).ok());
  EXPECT_TRUE(log->close().ok());
  EXPECT_TRUE(log->close().ok());
  EXPECT_EQ(log->append(line("b")).code(), "batch_io");
  EXPECT_EQ(contents(), line("a") + "\n");
}

TEST_F(ResultLogTest, SecondWriterIsLockedOutUntilTheFirstIsGone) {
  std::unique_ptr<ResultLog> first = open(/*resume=*/false);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->append(line("a")).ok());
  Status status = open_error(/*resume=*/true);
  EXPECT_EQ(status.code(), "results_locked");
  EXPECT_NE(status.message().find(path_), std::string::npos) << status.message();
  first.reset();  // the destructor closes (without fsync) and so unlocks
  std::unique_ptr<ResultLog> second = open(/*resume=*/true);
  ASSERT_NE(second, nullptr);
  EXPECT_TRUE(second->done("a"));
}

// A write cut short (here by RLIMIT_FSIZE; in life by a full disk) is taken
// back off the file, so the next line does not start inside a torn one.
TEST_F(ResultLogTest, FailedWriteLeavesNoPartialLine) {
  const std::string first = line("a") + "\n";
  write(first);
  const std::string small = R"({"id":"b","status":"completed"})";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {first.size() + 40, first.size() + 40};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    Result<std::unique_ptr<ResultLog>> log = ResultLog::open(path_, true, false);
    if (!log.ok()) ::_exit(11);
    Status status = (*log)->append(line("too_long_for_the_limit"));
    if (status.code() != "batch_io") ::_exit(12);
    if (status.message().find("File too large") == std::string::npos) ::_exit(13);
    if (!(*log)->append(small).ok()) ::_exit(14);
    ::_exit((*log)->close().ok() ? 0 : 15);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus));
  EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  EXPECT_EQ(contents(), first + small + "\n");
}

TEST_F(ResultLogTest, HundredThousandIds) {
  constexpr int kIds = 100'000;
  std::unique_ptr<ResultLog> log = open(/*resume=*/false);
  ASSERT_NE(log, nullptr);
  for (int i = 0; i < kIds; ++i) {
    ASSERT_TRUE(
        log->append(line("job-" + std::to_string(i), i % 10 == 0 ? "error" : "completed")).ok());
  }
  ASSERT_TRUE(log->close().ok());

  log = open(/*resume=*/true);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->resumed().lines, uint64_t{kIds});
  EXPECT_EQ(log->resumed().failed, uint64_t{kIds / 10});
  int missing = 0, extra = 0;
  for (int i = 0; i < kIds; ++i) {
    missing += !log->done("job-" + std::to_string(i));
    extra += log->done("job-" + std::to_string(i + kIds));
    extra += log->done("other-" + std::to_string(i));
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(extra, 0);
}

// A batch killed at any moment and resumed, again and again, ends with every
// job's line exactly once. Most kills land while lines are being appended
// (the child says when its resume is done), the rest during the resume
// itself; some lines are large, so a kill can also land inside a write(2)
// and tear the last line.
TEST_F(ResultLogTest, KilledWritersResumeToExactlyOneLinePerId) {
  constexpr int kJobs = 5000;
  constexpr int kMaxRounds = 60;
  auto job_line = [](int i) {
    std::string id = "job-" + std::to_string(i);
    size_t pad = i % 25 == 0 ? 64 << 10 : 100;
    return R"({"id":")" + id + R"(","status":"completed","outputs":{"pad":")" +
           std::string(pad, 'p') + R"("},"context_id":"ctx-)" + id + R"(","duration_ms":1})";
  };
  // Resumes, writes a byte to `ready` (when >= 0), appends every job not
  // done yet. 0 when all are.
  auto run_batch = [&](int ready) -> int {
    Result<std::unique_ptr<ResultLog>> log = ResultLog::open(path_, true, false);
    if (!log.ok()) return 2;
    if (ready >= 0 && ::write(ready, "r", 1) != 1) return 5;
    for (int i = 0; i < kJobs; ++i) {
      if ((*log)->done("job-" + std::to_string(i))) continue;
      if (!(*log)->append(job_line(i)).ok()) return 3;
    }
    return (*log)->close().ok() ? 0 : 4;
  };

  std::mt19937 rng(20240501);
  std::uniform_int_distribution<int> delay_us(0, 3000);
  int rounds = 0, killed = 0, torn = 0;
  for (bool finished = false; !finished && rounds < kMaxRounds; ++rounds) {
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(ready[0]);
      ::_exit(run_batch(ready[1]));
    }
    ::close(ready[1]);
    bool during_resume = rng() % 4 == 0;
    char byte;
    if (!during_resume) {
      ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    }
    ::usleep(delay_us(rng));
    ::kill(pid, SIGKILL);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ::close(ready[0]);  // only now: the child's write must not meet SIGPIPE
    if (WIFEXITED(wstatus)) {
      ASSERT_EQ(WEXITSTATUS(wstatus), 0);
      finished = true;
    } else {
      ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
      ++killed;
      torn += !last_byte_is_newline();
    }
  }
  ASSERT_EQ(run_batch(-1), 0);  // the last resume, in this process
  std::cout << "[          ] " << rounds << " rounds, " << killed << " killed, " << torn
            << " left a torn line\n";
  EXPECT_GE(killed, 3);

  std::string all = contents();
  ASSERT_FALSE(all.empty());
  ASSERT_EQ(all.back(), '\n');
  std::map<std::string, int> seen;
  size_t start = 0;
  for (size_t nl; (nl = all.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string text = all.substr(start, nl - start);
    rapidjson::Document doc;
    doc.Parse(text.data(), text.size());
    ASSERT_FALSE(doc.HasParseError()) << "line at byte " << start;
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("id") && doc["id"].IsString());
    std::string id = doc["id"].GetString();
    ++seen[id];
    EXPECT_EQ(text, job_line(std::stoi(id.substr(4))));
  }
  EXPECT_EQ(seen.size(), size_t{kJobs});
  for (const auto& [id, count] : seen) EXPECT_EQ(count, 1) << id;
}

}  // namespace
}  // namespace flowline
