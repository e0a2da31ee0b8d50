#include "exporter/parse/cri_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

std::vector<std::string> FixtureLines(const std::string& name) { return testing::ReadFixtureLines("gateway/" + name); }

struct Joined {
  std::vector<std::string> stdout_lines;
  std::vector<std::string> stderr_lines;
  std::vector<std::string> errors;
};

Joined JoinAll(CriJoiner& joiner, const std::vector<std::string>& records) {
  Joined joined;
  for (const std::string& record : records) {
    auto entry = joiner.Add(record);
    if (!entry) {
      joined.errors.push_back(entry.error().message);
      continue;
    }
    if (!entry->has_value()) continue;
    auto& out = (*entry)->stream == CriStream::kStdout ? joined.stdout_lines : joined.stderr_lines;
    out.emplace_back((*entry)->content);
  }
  return joined;
}

TEST(ParseCriLineTest, SplitsCapturedRecords) {
  const auto records = FixtureLines("cri_upstreaminfo.log");
  // "2026-11-27T14:26:28.119...Z stdout F 127.0.0.1 - - [27/Nov/2026:14:26:27 +0000] \"GET /healthz ..."
  auto first = ParseCriLine(records[0]);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->stream, CriStream::kStdout);
  EXPECT_FALSE(first->partial);
  EXPECT_EQ(first->content, FixtureLines("upstreaminfo.log")[0]);
  EXPECT_TRUE(first->timestamp.ends_with("Z"));
  size_t partial = 0;
  size_t errors = 0;
  for (const std::string& record : records) {
    auto line = ParseCriLine(record);
    errors += !line;
    partial += line && line->partial;
  }
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(partial, 3u);  // the 20 000-byte line in one 16 KiB part, the 40 000-byte line in two
}

TEST(ParseCriLineTest, RejectsWhatIsNotCri) {
  const std::string record = FixtureLines("cri_upstreaminfo.log")[0];
  // The bare access-log line, a bad stream, no tag, a broken time; each names what it expected.
  auto bare = ParseCriLine(FixtureLines("upstreaminfo.log")[0]);
  ASSERT_FALSE(bare);
  EXPECT_THAT(bare.error().message, HasSubstr("RFC 3339"));
  std::string stream = record;
  stream.replace(stream.find(" stdout "), 8, " stdin ");
  auto bad_stream = ParseCriLine(stream);
  ASSERT_FALSE(bad_stream);
  EXPECT_THAT(bad_stream.error().message, HasSubstr("stdout or stderr"));
  EXPECT_FALSE(ParseCriLine(record.substr(0, record.find(" F ") + 2)));
  EXPECT_FALSE(ParseCriLine("2026-11-27T14:26:28.Z stdout F x"));
  EXPECT_FALSE(ParseCriLine("2026-11-27 14:26:28Z stdout F x"));
  EXPECT_FALSE(ParseCriLine(""));
  // Offsets instead of Z, no fraction, an empty line and future tags are fine.
  auto offset = ParseCriLine("2026-11-27T14:26:28+01:00 stderr F ");
  ASSERT_TRUE(offset) << offset.error().message;
  EXPECT_EQ(offset->stream, CriStream::kStderr);
  EXPECT_EQ(offset->content, "");
  auto tagged = ParseCriLine("2026-11-27T14:26:28.5Z stdout P:x y");
  ASSERT_TRUE(tagged);
  EXPECT_TRUE(tagged->partial);
}

TEST(CriJoinerTest, RejoinsTheCapturedLinesExactly) {
  for (const std::string name : {"upstreaminfo", "json_vars"}) {
    SCOPED_TRACE(name);
    CriJoiner joiner;
    const Joined joined = JoinAll(joiner, FixtureLines("cri_" + name + ".log"));
    EXPECT_TRUE(joined.errors.empty());
    EXPECT_EQ(joined.stdout_lines, FixtureLines(name + ".log"));
    const auto errors = FixtureLines("error.log");
    ASSERT_LE(joined.stderr_lines.size(), errors.size());
    ASSERT_FALSE(joined.stderr_lines.empty());
    EXPECT_EQ(joined.stderr_lines,
              std::vector<std::string>(errors.begin(), errors.begin() + joined.stderr_lines.size()));
    EXPECT_EQ(joiner.pending_bytes(), 0u);
  }
}

TEST(CriJoinerTest, JoinsEachStreamSeparately) {
  // containerd writes stdout and stderr independently: move a stderr record between the parts of a split
  // stdout line.
  auto records = FixtureLines("cri_upstreaminfo.log");
  size_t partial = 0;
  while (records[partial].find(" stdout P ") == std::string::npos) ++partial;
  size_t error_record = 0;
  while (records[error_record].find(" stderr ") == std::string::npos) ++error_record;
  const std::string moved = records[error_record];
  records.erase(records.begin() + error_record);
  if (error_record < partial) --partial;
  records.insert(records.begin() + partial + 1, moved);
  // And a partial stderr line started before the stdout run ends.
  std::string stderr_part = moved;
  stderr_part.replace(stderr_part.find(" stderr F "), 10, " stderr P ");
  records.insert(records.begin() + partial + 1, stderr_part);

  CriJoiner joiner;
  const Joined joined = JoinAll(joiner, records);
  EXPECT_TRUE(joined.errors.empty());
  EXPECT_EQ(joined.stdout_lines, FixtureLines("upstreaminfo.log"));
  const std::string error_text = moved.substr(moved.find(" stderr F ") + 10);
  EXPECT_THAT(joined.stderr_lines, ::testing::Contains(error_text + error_text));
}

TEST(CriJoinerTest, DropsLinesOverTheLimitOnceAndStaysBounded) {
  const auto records = FixtureLines("cri_upstreaminfo.log");
  CriJoiner joiner(/*max_line_bytes=*/20000);
  Joined joined;
  size_t max_pending = 0;
  for (const std::string& record : records) {
    auto entry = joiner.Add(record);
    max_pending = std::max(max_pending, joiner.pending_bytes());
    if (!entry) {
      joined.errors.push_back(entry.error().message);
    } else if (entry->has_value() && (*entry)->stream == CriStream::kStdout) {
      joined.stdout_lines.emplace_back((*entry)->content);
    }
  }
  // The 20 000- and 40 000-byte paths make lines over 20 000 bytes: one error each, at their F record.
  ASSERT_EQ(joined.errors.size(), 2u);
  EXPECT_THAT(joined.errors[0], HasSubstr("longer than the 20000-byte limit"));
  EXPECT_EQ(joined.stdout_lines.size(), FixtureLines("upstreaminfo.log").size() - 2);
  EXPECT_LE(max_pending, 20000u);

  // An unsplit record over the limit, and junk, are errors too; the joiner goes on.
  CriJoiner small(64);
  auto long_record = small.Add(records[0]);
  ASSERT_FALSE(long_record);
  EXPECT_FALSE(small.Add(std::string(1 << 20, '\xff')));
  std::string short_record = records[0].substr(0, records[0].find(" F ") + 3) + "ok";
  auto next = small.Add(short_record);
  ASSERT_TRUE(next && next->has_value());
  EXPECT_EQ((*next)->content, "ok");
}

TEST(CriJoinerTest, ResetDropsPendingParts) {
  const auto records = FixtureLines("cri_upstreaminfo.log");
  size_t partial = 0;
  while (records[partial].find(" stdout P ") == std::string::npos) ++partial;
  CriJoiner joiner;
  auto first = joiner.Add(records[partial]);
  ASSERT_TRUE(first);
  EXPECT_FALSE(first->has_value());
  EXPECT_EQ(joiner.pending_bytes(), 16384u);  // containerd's split size
  joiner.Reset();
  EXPECT_EQ(joiner.pending_bytes(), 0u);
  auto whole = joiner.Add(records[0]);
  ASSERT_TRUE(whole && whole->has_value());
}

}  // namespace
}  // namespace topdog::exporter
