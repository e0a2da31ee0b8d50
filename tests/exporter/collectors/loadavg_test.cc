#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeSystem;
using testing::FamilyNames;
using testing::FindFamily;
using testing::LoadFixtureTree;
using testing::SampleValue;

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader) {
  return testing::CollectOnce(NewLoadavgCollector, reader);
}

TEST(LoadavgCollectorTest, HostFixture) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"));  // "0.05 0.08 0.04 1/78 3345"
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families), ElementsAre("node_load1", "node_load15", "node_load5"));
  EXPECT_EQ(SampleValue(*families, "node_load1"), 0.05);
  EXPECT_EQ(SampleValue(*families, "node_load5"), 0.08);
  EXPECT_EQ(SampleValue(*families, "node_load15"), 0.04);
  EXPECT_EQ(FindFamily(*families, "node_load1")->help, "1m load average.");
  EXPECT_EQ(FindFamily(*families, "node_load5")->help, "5m load average.");
  EXPECT_EQ(FindFamily(*families, "node_load15")->help, "15m load average.");
  EXPECT_EQ(FindFamily(*families, "node_load15")->type, prometheus::MetricType::Gauge);
}

TEST(LoadavgCollectorTest, ProcfsFixture) {
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"));  // "0.02 0.04 0.05 1/497 11947"
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_load15"), 0.05);
}

TEST(LoadavgCollectorTest, ErrorsCarryThePath) {
  InMemoryFileReader reader;
  reader.AddFile("/proc/loadavg", "0.05\n");
  auto families = CollectOnce(reader);
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_EQ(families.error().message.rfind("/proc/loadavg: ", 0), 0u);
  EXPECT_EQ(CollectOnce(InMemoryFileReader{}).error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::exporter
