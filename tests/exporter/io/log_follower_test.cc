// LogFollower over real files in a temporary directory: appends, partial lines, rename+create, copytruncate,
// truncation to 0, deleted and missing files, globs, restarts from saved positions. Time is passed in, so
// nothing sleeps.
#include "exporter/io/log_follower.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Recorded {
  std::vector<std::string> lines;
  std::vector<std::pair<std::string, uint64_t>> too_long;
  int resets = 0;
};

// Records lines as "<file name>:<line>" when tagging, else as the line.
class Recorder final : public LineHandler {
 public:
  Recorder(Recorded& out, std::string tag) : out_(out), tag_(std::move(tag)) {}
  void Line(std::string_view line) override { out_.lines.push_back(tag_ + std::string(line)); }
  void TooLong(std::string_view head, uint64_t bytes) override { out_.too_long.emplace_back(head, bytes); }
  void Reset() override { ++out_.resets; }

 private:
  Recorded& out_;
  std::string tag_;
};

class LogFollowerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "log_follower_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  static void Append(const std::string& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }
  static void Rename(const std::string& from, const std::string& to) {
    ASSERT_EQ(::rename(from.c_str(), to.c_str()), 0);
  }
  static void Truncate(const std::string& path, off_t size) { ASSERT_EQ(::truncate(path.c_str(), size), 0); }

  std::unique_ptr<LogFollower> Follower(std::vector<std::string> patterns, bool tag = false,
                                        LogFollowerOptions options = {}) {
    options.patterns = std::move(patterns);
    return std::make_unique<LogFollower>(std::move(options), [this, tag](const std::string& path) {
      return std::make_unique<Recorder>(recorded_, tag ? std::filesystem::path(path).filename().string() + ":" : "");
    });
  }

  // Polls with a budget larger than any test's data.
  void Poll(LogFollower& follower, double now) { follower.Poll(now, 1 << 30); }

  std::string dir_;
  Recorded recorded_;
};

TEST(LineSplitterTest, SplitsAnyChunkingTheSame) {
  const std::string text = "a\nbb\n\nccc";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Recorded out;
    Recorder recorder(out, "");
    LineSplitter splitter(100);
    splitter.Feed(std::string_view(text).substr(0, cut), recorder);
    splitter.Feed(std::string_view(text).substr(cut), recorder);
    EXPECT_THAT(out.lines, ElementsAre("a", "bb", "")) << cut;
    EXPECT_EQ(splitter.pending_bytes(), 3u);
    splitter.Finish(recorder);
    EXPECT_THAT(out.lines, ElementsAre("a", "bb", "", "ccc"));
    EXPECT_EQ(splitter.pending_bytes(), 0u);
  }
  Recorded out;
  Recorder recorder(out, "");
  LineSplitter splitter(100);
  for (char c : text) splitter.Feed(std::string_view(&c, 1), recorder);
  EXPECT_THAT(out.lines, ElementsAre("a", "bb", ""));
}

TEST(LineSplitterTest, LongLinesAreReportedWithTheirHeadAndLength) {
  Recorded out;
  Recorder recorder(out, "");
  LineSplitter splitter(8);
  splitter.Feed("0123456789abc\nok\n", recorder);  // within one piece
  splitter.Feed("0123", recorder);                 // across pieces
  splitter.Feed("45678", recorder);
  EXPECT_EQ(splitter.pending_bytes(), 9u);
  splitter.Feed(std::string(1000, 'x') + "\nnext\n", recorder);
  EXPECT_THAT(out.lines, ElementsAre("ok", "next"));
  ASSERT_EQ(out.too_long.size(), 2u);
  EXPECT_EQ(out.too_long[0], std::make_pair(std::string("0123456789abc"), uint64_t{13}));
  EXPECT_EQ(out.too_long[1].first, "012345678" + std::string(LineSplitter::kTooLongHeadBytes - 9, 'x'));
  EXPECT_EQ(out.too_long[1].second, 1009u);
  // A line of exactly the limit is fine.
  splitter.Feed("12345678\n", recorder);
  EXPECT_EQ(out.lines.back(), "12345678");
}

TEST_F(LogFollowerTest, FirstRunStartsAfterTheLastCompleteLine) {
  const std::string log = Path("access.log");
  Append(log, "old1\nold2\npart");  // a line being written: not ours to count in half
  auto follower = Follower({log});
  follower->Start(nullptr, /*from_beginning=*/false, 0);
  Poll(*follower, 0);
  EXPECT_THAT(recorded_.lines, IsEmpty());
  Append(log, "ial\nnew\n");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("partial", "new"));
  EXPECT_EQ(follower->stats().following, 1u);
  EXPECT_EQ(follower->stats().bytes_read, 12u);
}

TEST_F(LogFollowerTest, FromBeginningReadsExistingLines) {
  const std::string log = Path("access.log");
  Append(log, "old1\nold2\n");
  auto follower = Follower({log});
  follower->Start(nullptr, /*from_beginning=*/true, 0);
  Poll(*follower, 0);
  EXPECT_THAT(recorded_.lines, ElementsAre("old1", "old2"));
}

TEST_F(LogFollowerTest, PartialLastLineWaitsForItsNewline) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "par");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, IsEmpty());
  EXPECT_EQ(follower->Positions()[log].offset, 0u);  // a restart reads the partial line again, whole
  Append(log, "tial\nnext");
  Poll(*follower, 2);
  EXPECT_THAT(recorded_.lines, ElementsAre("partial"));
  EXPECT_EQ(follower->Positions()[log].offset, 8u);
  Append(log, "\n");
  Poll(*follower, 3);
  EXPECT_THAT(recorded_.lines, ElementsAre("partial", "next"));
  EXPECT_EQ(follower->Positions()[log].offset, 13u);
}

TEST_F(LogFollowerTest, ReadsWithinTheBudgetAndGoesOnNextPoll) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n2\n3\n");
  auto first = follower->Poll(1, 3);
  EXPECT_EQ(first.bytes, 3u);
  EXPECT_TRUE(first.budget_exhausted);
  EXPECT_THAT(recorded_.lines, ElementsAre("1"));
  auto second = follower->Poll(1, 3);
  EXPECT_EQ(second.bytes, 3u);
  auto third = follower->Poll(1, 3);
  EXPECT_EQ(third.bytes, 0u);
  EXPECT_FALSE(third.budget_exhausted);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2", "3"));
}

TEST_F(LogFollowerTest, RenameThenCreateFinishesTheOldFileThroughItsDescriptor) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n");
  Poll(*follower, 0);
  // logrotate: rename; nginx goes on writing to the old file until `nginx -s reopen` creates the new one.
  Rename(log, log + ".1");
  Append(log + ".1", "2\n");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2"));
  EXPECT_EQ(follower->stats().draining, 1u);
  EXPECT_EQ(follower->stats().following, 0u);
  EXPECT_EQ(follower->stats().missing, 0u);  // within the grace period: not reported
  Append(log, "3\n");                        // the reopened file
  Append(log + ".1", "4\n");                 // a worker that had not reopened yet
  Poll(*follower, 2);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2", "4", "3"));
  EXPECT_EQ(follower->stats().rotations_rename, 1u);
  EXPECT_EQ(follower->stats().following, 1u);
  EXPECT_EQ(follower->stats().draining, 1u);
  // Quiet for rotate_wait_seconds: the old file is closed.
  Poll(*follower, 2 + 5);
  EXPECT_EQ(follower->stats().draining, 0u);
  Append(log + ".1", "too late\n");
  Append(log, "5\n");
  Poll(*follower, 8);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2", "4", "3", "5"));
  EXPECT_THAT(follower->MissingPaths(), IsEmpty());
}

TEST_F(LogFollowerTest, GlobMatchingTheRotatedNameReadsEachLineOnce) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({Path("access.log*")});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n");
  Poll(*follower, 0);
  Rename(log, log + ".1");  // now matched by the glob too: the same file, not a new one
  Append(log + ".1", "2\n");
  Append(log, "3\n");
  Poll(*follower, 1);
  Append(log + ".1", "4\n");
  Poll(*follower, 2);
  EXPECT_THAT(recorded_.lines, ::testing::UnorderedElementsAre("1", "2", "3", "4"));
  EXPECT_EQ(follower->stats().following, 2u);
  EXPECT_EQ(follower->stats().draining, 0u);
}

TEST_F(LogFollowerTest, SymlinkAndItsTargetAreReadOnce) {
  std::filesystem::create_directories(Path("pods"));
  std::filesystem::create_directories(Path("containers"));
  const std::string target = Path("pods/ingress.log");
  Append(target, "");
  std::filesystem::create_symlink(target, Path("containers/ingress.log"));
  auto follower = Follower({Path("containers/*.log"), target});
  follower->Start(nullptr, false, 0);
  Append(target, "1\n2\n");
  Poll(*follower, 0);
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2"));
  EXPECT_EQ(follower->stats().following, 1u);
  EXPECT_THAT(follower->MissingPaths(), IsEmpty());
}

TEST_F(LogFollowerTest, RenameAndCreateBetweenTwoPollsLosesNothing) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n");
  Poll(*follower, 0);
  Append(log, "2\n");
  Rename(log, log + ".1");
  Append(log, "3\n");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2", "3"));
  struct stat st {};
  ASSERT_EQ(::stat(log.c_str(), &st), 0);
  EXPECT_EQ(follower->Positions()[log], (FilePosition{st.st_dev, st.st_ino, 2}));
}

TEST_F(LogFollowerTest, CopyTruncateReadsTheFileAgainFromTheStart) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n2\n");
  Poll(*follower, 0);
  // logrotate copytruncate: copy, truncate in place; nginx's O_APPEND writes land at the new end.
  std::filesystem::copy_file(log, log + ".1");
  Truncate(log, 0);
  Append(log, "3\n");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "2", "3"));
  EXPECT_EQ(follower->stats().rotations_truncate, 1u);
  EXPECT_EQ(recorded_.resets, 1);
  EXPECT_EQ(follower->stats().rotations_rename, 0u);
}

TEST_F(LogFollowerTest, TruncationToZeroThenNewLines) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\npartial");
  Poll(*follower, 0);
  Truncate(log, 0);
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("1"));  // the partial line went with the truncation
  EXPECT_EQ(follower->stats().rotations_truncate, 1u);
  EXPECT_EQ(follower->Positions()[log].offset, 0u);
  Append(log, "z\n");
  Poll(*follower, 2);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "z"));
  EXPECT_EQ(follower->Positions()[log].offset, 2u);
}

TEST_F(LogFollowerTest, DeletedFileIsMissingAfterTheGracePeriodAndComesBack) {
  const std::string log = Path("access.log");
  Append(log, "");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Append(log, "1\n");
  Poll(*follower, 0);
  ASSERT_EQ(::unlink(log.c_str()), 0);
  Poll(*follower, 1);
  EXPECT_EQ(follower->stats().missing, 0u);
  EXPECT_EQ(follower->stats().draining, 1u);
  Poll(*follower, 6);  // 5 s missing: reported; the deleted file, quiet as long, is closed (its space freed)
  EXPECT_EQ(follower->stats().missing, 1u);
  EXPECT_EQ(follower->stats().draining, 0u);
  ASSERT_EQ(follower->MissingPaths().size(), 1u);
  EXPECT_THAT(follower->MissingPaths()[0], HasSubstr(log + ": No such file or directory"));
  EXPECT_THAT(follower->Positions(), IsEmpty());
  Append(log, "back\n");
  Poll(*follower, 7);
  EXPECT_THAT(recorded_.lines, ElementsAre("1", "back"));  // a new file: from its start
  EXPECT_EQ(follower->stats().missing, 0u);
  EXPECT_EQ(follower->stats().rotations_rename, 1u);
  EXPECT_THAT(follower->MissingPaths(), IsEmpty());
}

TEST_F(LogFollowerTest, PathMissingAtStartIsReadFromItsStartOnceItAppears) {
  const std::string log = Path("access.log");
  auto follower = Follower({log});
  follower->Start(nullptr, false, 0);
  Poll(*follower, 4.9);
  EXPECT_EQ(follower->stats().missing, 0u);
  Poll(*follower, 5);
  EXPECT_EQ(follower->stats().missing, 1u);
  Append(log, "first\n");
  Poll(*follower, 6);
  EXPECT_THAT(recorded_.lines, ElementsAre("first"));
  EXPECT_EQ(follower->stats().missing, 0u);
  EXPECT_EQ(follower->stats().rotations_rename, 0u);
}

TEST_F(LogFollowerTest, FifoIsNotOpenedForReading) {
  // open(2) of a FIFO without a writer would block forever.
  const std::string fifo = Path("fifo.log");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  auto follower = Follower({fifo});
  follower->Start(nullptr, false, 0);
  Poll(*follower, 10);
  ASSERT_EQ(follower->MissingPaths().size(), 1u);
  EXPECT_THAT(follower->MissingPaths()[0], HasSubstr("not a regular file"));
}

TEST_F(LogFollowerTest, GlobFollowsNewFilesFromTheStartAndFinishesVanishedOnes) {
  Append(Path("a.log"), "a0\n");
  Append(Path("b.log"), "b0\n");
  Append(Path("x.txt"), "x0\n");
  auto follower = Follower({Path("*.log")}, /*tag=*/true);
  follower->Start(nullptr, false, 0);
  Poll(*follower, 0);
  EXPECT_THAT(recorded_.lines, IsEmpty());  // a first run: existing lines are old
  EXPECT_EQ(follower->stats().following, 2u);
  Append(Path("a.log"), "a1\n");
  Append(Path("c.log"), "c0\n");  // a new pod's log
  Append(Path("x.txt"), "x1\n");
  Poll(*follower, 1);
  EXPECT_THAT(recorded_.lines, ElementsAre("a.log:a1", "c.log:c0"));
  Append(Path("b.log"), "b1\n");
  ASSERT_EQ(::unlink(Path("b.log").c_str()), 0);  // the pod went away
  Poll(*follower, 2);
  EXPECT_THAT(recorded_.lines, ElementsAre("a.log:a1", "c.log:c0", "b.log:b1"));
  EXPECT_EQ(follower->stats().following, 2u);
  EXPECT_EQ(follower->stats().draining, 1u);
  EXPECT_EQ(follower->stats().missing, 0u);  // a glob's files come and go
  Poll(*follower, 7);
  EXPECT_EQ(follower->stats().draining, 0u);
  EXPECT_THAT(follower->MissingPaths(), IsEmpty());
}

TEST_F(LogFollowerTest, RestartResumesFromSavedPositions) {
  const std::string a = Path("a.log"), b = Path("b.log"), c = Path("c.log"), d = Path("d.log");
  Append(a, "old\n");
  Append(c, "c-old\n");
  Append(d, "d-0123456789\n");
  FilePositions saved;
  {
    auto first = Follower({a, b, c, d});
    first->Start(nullptr, false, 0);
    Append(a, "1\n2\npar");
    Poll(*first, 1);
    EXPECT_THAT(recorded_.lines, ElementsAre("1", "2"));
    auto parsed = ParsePositions(FormatPositions(first->Positions()));
    ASSERT_TRUE(parsed) << parsed.error().message;
    saved = *parsed;
    EXPECT_EQ(saved.size(), 3u);  // b does not exist yet
    EXPECT_EQ(saved[a].offset, 8u);
  }
  // While we are down: a grows, b appears, c is rotated, d is truncated and rewritten shorter.
  Append(a, "tial\n3\n");
  Append(b, "b-new\n");
  Rename(c, c + ".1");
  Append(c, "c-new\n");
  Truncate(d, 0);
  Append(d, "d-new\n");
  recorded_.lines.clear();
  auto second = Follower({a, b, c, d});
  second->Start(&saved, false, 10);
  Poll(*second, 10);
  EXPECT_THAT(recorded_.lines, ElementsAre("partial", "3", "b-new", "c-new", "d-new"));
}

TEST(PositionFileTest, RoundTripsAndRejectsTornOrForeignFiles) {
  FilePositions positions{{"/var/log/a b.log", {1, 2, 3}}, {"/x", {18446744073709551615u, 0, 7}}};
  const std::string text = FormatPositions(positions);
  auto parsed = ParsePositions(text);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, positions);
  // A path with a newline cannot be written: it is left out.
  EXPECT_EQ(FormatPositions({{"/a\nb", {1, 2, 3}}}), FormatPositions({}));

  const std::string header = FormatPositions({});
  EXPECT_FALSE(ParsePositions(""));
  EXPECT_FALSE(ParsePositions("junk\n"));
  EXPECT_FALSE(ParsePositions(header + "1 2 3 /a"));  // torn: no final newline
  EXPECT_FALSE(ParsePositions(header + "1 2 x /a\n"));
  EXPECT_FALSE(ParsePositions(header + "1 2 3\n"));
  EXPECT_FALSE(ParsePositions(header + "1 2 -3 /a\n"));
  auto bad = ParsePositions(header + "1 2 3 /a\n1 2\n");
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("line 3"));
}

TEST_F(LogFollowerTest, PositionFileIsReplacedWhole) {
  const std::string path = Path("positions");
  ASSERT_TRUE(WritePositionFile(path, "one\n"));
  ASSERT_TRUE(WritePositionFile(path, "two\n"));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "two\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  auto missing_dir = WritePositionFile(Path("no/such/dir"), "x");
  ASSERT_FALSE(missing_dir);
  EXPECT_EQ(missing_dir.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::exporter
