#include "exporter/parse/pressure.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

TEST(ParsePressureTest, ParsesHostFixtureWithCpuFullLine) {
  // "some avg10=0.00 avg60=0.02 avg300=0.30 total=3070566" / "full avg10=0.00 avg60=0.00 avg300=0.00 total=0"
  auto cpu = ParsePressure(ReadFixture("host-6.18/proc/pressure/cpu"));
  ASSERT_TRUE(cpu) << cpu.error().message;
  ASSERT_TRUE(cpu->some);
  EXPECT_EQ(cpu->some->avg60, 0.02);
  EXPECT_EQ(cpu->some->avg300, 0.30);
  EXPECT_EQ(cpu->some->total_microseconds, 3070566u);
  ASSERT_TRUE(cpu->full);
  EXPECT_EQ(cpu->full->total_microseconds, 0u);

  auto io = ParsePressure(ReadFixture("host-6.18/proc/pressure/io"));
  ASSERT_TRUE(io) << io.error().message;
  EXPECT_EQ(io->some->total_microseconds, 2302236u);
  EXPECT_EQ(io->full->total_microseconds, 2207795u);
}

TEST(ParsePressureTest, ParsesProcfsFixtureWithoutCpuFullLine) {
  auto cpu = ParsePressure(ReadFixture("procfs-0.8.0/proc/pressure/cpu"));
  ASSERT_TRUE(cpu) << cpu.error().message;
  ASSERT_TRUE(cpu->some);
  EXPECT_EQ(cpu->some->avg10, 0.10);
  EXPECT_EQ(cpu->some->avg60, 2.00);
  EXPECT_EQ(cpu->some->avg300, 3.85);
  EXPECT_EQ(cpu->some->total_microseconds, 15u);
  EXPECT_FALSE(cpu->full);

  auto memory = ParsePressure(ReadFixture("procfs-0.8.0/proc/pressure/memory"));
  ASSERT_TRUE(memory) << memory.error().message;
  EXPECT_EQ(memory->full->avg300, 4.95);
  EXPECT_EQ(memory->full->total_microseconds, 25u);
}

TEST(ParsePressureTest, IgnoresUnknownPrefixesAndEmptyFile) {
  auto stats = ParsePressure("later avg10=1\nsome avg10=0.00 avg60=0.00 avg300=0.00 total=7\n");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->some->total_microseconds, 7u);
  auto empty = ParsePressure("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->some);
  EXPECT_FALSE(empty->full);
}

TEST(ParsePressureTest, RejectsTruncatedLine) {
  auto stats = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=7\nfull avg10=0.00 avg60=0.0");
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(stats.error().message, HasSubstr("line 2: full"));
  EXPECT_THAT(stats.error().message, HasSubstr("avg300: missing"));
}

TEST(ParsePressureTest, RejectsNonNumericField) {
  auto stats = ParsePressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=-7\n");
  ASSERT_FALSE(stats);
  EXPECT_THAT(stats.error().message, HasSubstr("line 1: some field total"));
}

}  // namespace
}  // namespace topdog::exporter
