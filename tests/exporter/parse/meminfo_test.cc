#include "exporter/parse/meminfo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

const MeminfoEntry* Find(const std::vector<MeminfoEntry>& entries, std::string_view key) {
  for (const auto& entry : entries) {
    if (entry.key == key) return &entry;
  }
  return nullptr;
}

TEST(ParseMeminfoTest, ParsesHostFixture) {
  const std::string text = ReadFixture("host-6.18/proc/meminfo");
  auto entries = ParseMeminfo(text);
  ASSERT_TRUE(entries) << entries.error().message;
  EXPECT_EQ(entries->size(), 54u);  // one per line
  EXPECT_EQ(entries->front().key, "MemTotal");
  EXPECT_EQ(entries->front().value, 24684084);
  EXPECT_TRUE(entries->front().has_unit);
  const MeminfoEntry* active_anon = Find(*entries, "Active(anon)");
  ASSERT_NE(active_anon, nullptr);
  EXPECT_EQ(active_anon->value, 1504);
  const MeminfoEntry* huge_total = Find(*entries, "HugePages_Total");
  ASSERT_NE(huge_total, nullptr);
  EXPECT_FALSE(huge_total->has_unit);
  const MeminfoEntry* vmalloc = Find(*entries, "VmallocTotal");
  ASSERT_NE(vmalloc, nullptr);
  EXPECT_EQ(vmalloc->value, 34359738367.0);
}

TEST(ParseMeminfoTest, ParsesProcfsFixtureWithoutMemAvailable) {
  const std::string text = ReadFixture("procfs-0.8.0/proc/meminfo");
  auto entries = ParseMeminfo(text);
  ASSERT_TRUE(entries) << entries.error().message;
  EXPECT_EQ(entries->size(), 42u);
  EXPECT_EQ(Find(*entries, "MemAvailable"), nullptr);
  ASSERT_NE(Find(*entries, "Inactive(file)"), nullptr);
  EXPECT_EQ(Find(*entries, "Inactive(file)")->value, 6532440);
}

TEST(ParseMeminfoTest, SkipsBlankLinesAndAcceptsEmptyFile) {
  auto entries = ParseMeminfo("MemTotal: 1 kB\n\n   \nMemFree: 2 kB\n");
  ASSERT_TRUE(entries) << entries.error().message;
  EXPECT_EQ(entries->size(), 2u);
  auto empty = ParseMeminfo("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ParseMeminfoTest, RejectsNonNumericValue) {
  auto entries = ParseMeminfo("MemTotal: 1 kB\nMemFree: 2x kB\n");
  ASSERT_FALSE(entries);
  EXPECT_EQ(entries.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(entries.error().message, HasSubstr("line 2"));
  EXPECT_THAT(entries.error().message, HasSubstr("MemFree"));
}

TEST(ParseMeminfoTest, RejectsTruncatedLine) {
  // node_exporter 1.5.0 indexes parts[1] unchecked and panics here.
  auto entries = ParseMeminfo("MemTotal: 1 kB\nMemFree:");
  ASSERT_FALSE(entries);
  EXPECT_THAT(entries.error().message, HasSubstr("line 2"));
  EXPECT_THAT(entries.error().message, HasSubstr("missing value"));
}

TEST(ParseMeminfoTest, RejectsExtraFieldsAndMissingColon) {
  EXPECT_FALSE(ParseMeminfo("MemTotal: 1 kB extra\n"));
  EXPECT_FALSE(ParseMeminfo("MemTotal 1 kB\n"));
}

}  // namespace
}  // namespace topdog::exporter
