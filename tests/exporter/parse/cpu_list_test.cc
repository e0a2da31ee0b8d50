#include "exporter/parse/cpu_list.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadFixture;

TEST(ParseCpuListTest, ExpandsProcfsIsolatedFixture) {
  auto cpus = ParseCpuList(ReadFixture("procfs-0.8.0/sys/devices/system/cpu/isolated"));  // "1,2-7,9"
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_THAT(*cpus, ElementsAre(1, 2, 3, 4, 5, 6, 7, 9));
}

TEST(ParseCpuListTest, HostWithoutIsolatedCpusGivesEmptyList) {
  auto cpus = ParseCpuList(ReadFixture("host-6.18/sys/devices/system/cpu/isolated"));  // "\n"
  ASSERT_TRUE(cpus) << cpus.error().message;
  EXPECT_TRUE(cpus->empty());
}

TEST(ParseCpuListTest, ReversedRangeIsEmpty) {
  auto cpus = ParseCpuList("7-2,3\n");
  ASSERT_TRUE(cpus);
  EXPECT_THAT(*cpus, ElementsAre(3));
}

TEST(ParseCpuListTest, RejectsGarbage) {
  auto cpus = ParseCpuList("1,x");
  ASSERT_FALSE(cpus);
  EXPECT_THAT(cpus.error().message, HasSubstr("\"x\""));
  EXPECT_FALSE(ParseCpuList("1-2-3"));
  EXPECT_FALSE(ParseCpuList("70000"));
  EXPECT_FALSE(ParseCpuList("0-65535,0-65535"));
}

}  // namespace
}  // namespace topdog::exporter
