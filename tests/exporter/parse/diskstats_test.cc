#include "exporter/parse/diskstats.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::ReadFixture;

const DiskstatsLine* FindDevice(const std::vector<DiskstatsLine>& lines, const std::string& device) {
  for (const auto& line : lines) {
    if (line.device == device) return &line;
  }
  return nullptr;
}

TEST(ParseDiskstatsTest, ParsesHostFixtureWithTwentyFieldLines) {
  auto lines = ParseDiskstats(ReadFixture("host-6.18/proc/diskstats"));
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 10u);  // loop0..loop7, vda, zram0
  // " 254       0 vda 27148 5190 2027282 6121 21918 9305 1552616 7362 0 4372 13839 4138 110 112872 305 1019 50"
  const DiskstatsLine* vda = FindDevice(*lines, "vda");
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->major, 254u);
  EXPECT_EQ(vda->minor, 0u);
  EXPECT_EQ(vda->value_count, 17u);
  EXPECT_EQ(vda->values[kReadsCompleted], 27148u);
  EXPECT_EQ(vda->values[kReadsMerged], 5190u);
  EXPECT_EQ(vda->values[kSectorsRead], 2027282u);
  EXPECT_EQ(vda->values[kReadTimeMs], 6121u);
  EXPECT_EQ(vda->values[kWritesCompleted], 21918u);
  EXPECT_EQ(vda->values[kWritesMerged], 9305u);
  EXPECT_EQ(vda->values[kSectorsWritten], 1552616u);
  EXPECT_EQ(vda->values[kWriteTimeMs], 7362u);
  EXPECT_EQ(vda->values[kIosInProgress], 0u);
  EXPECT_EQ(vda->values[kIoTimeMs], 4372u);
  EXPECT_EQ(vda->values[kWeightedIoTimeMs], 13839u);
  EXPECT_EQ(vda->values[kDiscardsCompleted], 4138u);
  EXPECT_EQ(vda->values[kDiscardsMerged], 110u);
  EXPECT_EQ(vda->values[kSectorsDiscarded], 112872u);
  EXPECT_EQ(vda->values[kDiscardTimeMs], 305u);
  EXPECT_EQ(vda->values[kFlushRequests], 1019u);
  EXPECT_EQ(vda->values[kFlushTimeMs], 50u);
  EXPECT_EQ(lines->front().device, "loop0");  // file order is kept
  EXPECT_EQ(lines->front().major, 7u);
}

TEST(ParseDiskstatsTest, KeepsFourteenEighteenAndTwentyFieldLinesOfProcfsFixture) {
  auto lines = ParseDiskstats(ReadFixture("procfs-0.8.0/proc/diskstats"));
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(lines->size(), 52u);  // 46 lines of 14 fields, 3 of 18, 3 of 20
  // "8 0 sda 25354637 34367663 1003346126 18492372 28444756 11134226 505697032 63877960 0 9653880 82621804"
  const DiskstatsLine* sda = FindDevice(*lines, "sda");
  ASSERT_NE(sda, nullptr);
  EXPECT_EQ(sda->value_count, 11u);
  EXPECT_EQ(sda->values[kSectorsRead], 1003346126u);
  EXPECT_EQ(sda->values[kWeightedIoTimeMs], 82621804u);
  // "8 0 sdb 326552 841 9657779 84 41822 2895 1972905 5007 0 60730 67070 68851 0 1925173784 11130"
  const DiskstatsLine* sdb = FindDevice(*lines, "sdb");
  ASSERT_NE(sdb, nullptr);
  EXPECT_EQ(sdb->value_count, 15u);
  EXPECT_EQ(sdb->values[kDiscardsCompleted], 68851u);
  EXPECT_EQ(sdb->values[kSectorsDiscarded], 1925173784u);
  EXPECT_EQ(sdb->values[kDiscardTimeMs], 11130u);
  // "8 0 sdc 14202 71 579164 21861 2995 1589 180500 40875 0 11628 55200 0 0 0 0 127 182"
  const DiskstatsLine* sdc = FindDevice(*lines, "sdc");
  ASSERT_NE(sdc, nullptr);
  EXPECT_EQ(sdc->value_count, 17u);
  EXPECT_EQ(sdc->values[kFlushRequests], 127u);
  EXPECT_EQ(sdc->values[kFlushTimeMs], 182u);
}

TEST(ParseDiskstatsTest, EmptyFileHasNoDevices) {
  auto lines = ParseDiskstats("");
  ASSERT_TRUE(lines);
  EXPECT_TRUE(lines->empty());
}

TEST(ParseDiskstatsTest, SkipsShortAndTruncatedLinesLikeProcfs) {
  std::string text = ReadFixture("host-6.18/proc/diskstats");
  // Cut the last line (zram0) after its 6th field, and add an old-kernel 7-field partition line and a blank.
  size_t last = text.rfind("253");
  std::string truncated = text.substr(0, last) + "253 0 zram0 0 0 0\n   8 1 sda1 10 20 30 40\n\n";
  auto lines = ParseDiskstats(truncated);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(lines->size(), 9u);
  EXPECT_EQ(FindDevice(*lines, "zram0"), nullptr);
  EXPECT_EQ(FindDevice(*lines, "sda1"), nullptr);
}

TEST(ParseDiskstatsTest, NonNumericFieldNamesLineAndField) {
  std::string text = ReadFixture("host-6.18/proc/diskstats");
  size_t vda = text.find("vda 27148");
  text.replace(vda + 4, 5, "27x48");  // line 9, field 4 (reads completed)
  auto lines = ParseDiskstats(text);
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().kind, ErrorKind::kBadData);
  EXPECT_NE(lines.error().message.find("line 9"), std::string::npos) << lines.error().message;
  EXPECT_NE(lines.error().message.find("field 4 (reads_completed)"), std::string::npos) << lines.error().message;
  EXPECT_NE(lines.error().message.find("\"27x48\""), std::string::npos) << lines.error().message;
}

TEST(ParseDiskstatsTest, RejectsNegativeAndOutOfRangeNumbers) {
  std::string line = ReadFixture("host-6.18/proc/diskstats");
  line = line.substr(line.find(" 254"));
  line = line.substr(0, line.find('\n') + 1);  // the vda line
  std::string negative = line;
  negative.replace(negative.find("5190"), 4, "-5190");
  EXPECT_FALSE(ParseDiskstats(negative));
  std::string huge_major = line;
  huge_major.replace(huge_major.find("254"), 3, "4294967296");  // 2^32 does not fit a major number
  auto result = ParseDiskstats(huge_major);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("field 1 (major)"), std::string::npos) << result.error().message;
  std::string huge_counter = line;
  huge_counter.replace(huge_counter.find("27148"), 5, "18446744073709551616");  // 2^64
  EXPECT_FALSE(ParseDiskstats(huge_counter));
  std::string max_counter = line;
  max_counter.replace(max_counter.find("27148"), 5, "18446744073709551615");  // 2^64-1 is fine
  auto max = ParseDiskstats(max_counter);
  ASSERT_TRUE(max);
  EXPECT_EQ(max->at(0).values[kReadsCompleted], 18446744073709551615u);
}

TEST(ParseDiskstatsTest, ParsesTwoHundredKilobyteLineIgnoringFieldsAfterTheTwentieth) {
  std::string text = ReadFixture("host-6.18/proc/diskstats");
  size_t vda_end = text.find('\n', text.find("vda "));
  std::string padding;
  while (padding.size() < 200 * 1024) padding += " 123456789";
  text.insert(vda_end, padding);
  auto lines = ParseDiskstats(text);
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 10u);
  const DiskstatsLine* vda = FindDevice(*lines, "vda");
  ASSERT_NE(vda, nullptr);
  EXPECT_EQ(vda->value_count, 17u);
  EXPECT_EQ(vda->values[kFlushTimeMs], 50u);
}

}  // namespace
}  // namespace topdog::exporter
