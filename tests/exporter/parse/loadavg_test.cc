#include "exporter/parse/loadavg.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

TEST(ParseLoadavgTest, ParsesHostFixture) {
  auto load = ParseLoadavg(ReadFixture("host-6.18/proc/loadavg"));  // "0.05 0.08 0.04 1/78 3345"
  ASSERT_TRUE(load) << load.error().message;
  EXPECT_EQ(load->load1, 0.05);
  EXPECT_EQ(load->load5, 0.08);
  EXPECT_EQ(load->load15, 0.04);
}

TEST(ParseLoadavgTest, ParsesProcfsFixture) {
  auto load = ParseLoadavg(ReadFixture("procfs-0.8.0/proc/loadavg"));  // "0.02 0.04 0.05 1/497 11947"
  ASSERT_TRUE(load) << load.error().message;
  EXPECT_EQ(load->load1, 0.02);
  EXPECT_EQ(load->load5, 0.04);
  EXPECT_EQ(load->load15, 0.05);
}

TEST(ParseLoadavgTest, RejectsTruncatedLine) {
  auto load = ParseLoadavg("0.05 0.08");
  ASSERT_FALSE(load);
  EXPECT_EQ(load.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(load.error().message, HasSubstr("load15"));
}

TEST(ParseLoadavgTest, RejectsNonNumericField) {
  auto load = ParseLoadavg("0.05 zero 0.04 1/78 3345\n");
  ASSERT_FALSE(load);
  EXPECT_THAT(load.error().message, HasSubstr("load5"));
  EXPECT_THAT(load.error().message, HasSubstr("\"zero\""));
}

TEST(ParseLoadavgTest, RejectsEmptyFile) { EXPECT_FALSE(ParseLoadavg("")); }

}  // namespace
}  // namespace topdog::exporter
