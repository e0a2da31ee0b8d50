#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::FakeSystem;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::LoadFixtureTree;
using testing::SampleValue;

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader) {
  return testing::CollectOnce(NewMeminfoCollector, reader);
}

TEST(MeminfoCollectorTest, HostFixtureOneGaugePerKey) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"));
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(families->size(), 54u);  // one per line of the fixture
  // "MemTotal: 24684084 kB" -> * 1024
  EXPECT_EQ(SampleValue(*families, "node_memory_MemTotal_bytes"), 24684084.0 * 1024);
  EXPECT_EQ(SampleValue(*families, "node_memory_MemAvailable_bytes"), 24388284.0 * 1024);
  // "Active(anon): 1504 kB" -> Active_anon
  EXPECT_EQ(SampleValue(*families, "node_memory_Active_anon_bytes"), 1504.0 * 1024);
  EXPECT_EQ(SampleValue(*families, "node_memory_Inactive_file_bytes"), 23644.0 * 1024);
  // Unit-less keys keep their bare name.
  EXPECT_EQ(SampleValue(*families, "node_memory_HugePages_Total"), 0);
  EXPECT_EQ(SampleValue(*families, "node_memory_VmallocTotal_bytes"), 34359738367.0 * 1024);
  const MetricFamily* total = FindFamily(*families, "node_memory_MemTotal_bytes");
  EXPECT_EQ(total->help, "Memory information field MemTotal_bytes.");
  EXPECT_EQ(total->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(FindFamily(*families, "node_memory_HugePages_Total")->help, "Memory information field HugePages_Total.");
  EXPECT_EQ(FindFamily(*families, "node_memory_HugePages_Total")->type, prometheus::MetricType::Gauge);
}

TEST(MeminfoCollectorTest, ProcfsFixtureHasNoMemAvailable) {
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"));
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(families->size(), 42u);
  EXPECT_EQ(FindFamily(*families, "node_memory_MemAvailable_bytes"), nullptr);
  EXPECT_EQ(SampleValue(*families, "node_memory_DirectMap2M_bytes"), 16039936.0 * 1024);
}

TEST(MeminfoCollectorTest, LowercaseTotalSuffixIsACounterAndDuplicatesKeepTheLastValue) {
  // node_exporter types a key ending in "_total" as a counter (checked with 1.5.0) and keeps one value per
  // key, the last.
  InMemoryFileReader reader;
  reader.AddFile("/proc/meminfo", "Foo_total:  5\nMemFree: 1 kB\nMemFree: 2 kB\n");
  auto families = CollectOnce(reader);
  ASSERT_TRUE(families) << families.error().message;
  ASSERT_EQ(families->size(), 2u);
  EXPECT_EQ(FindFamily(*families, "node_memory_Foo_total")->type, prometheus::MetricType::Counter);
  EXPECT_EQ(SampleValue(*families, "node_memory_Foo_total"), 5);
  EXPECT_EQ(SampleValue(*families, "node_memory_MemFree_bytes"), 2048);
}

TEST(MeminfoCollectorTest, BadFileOrKeyIsAnError) {
  InMemoryFileReader garbled;
  garbled.AddFile("/proc/meminfo", "MemTotal: 1 kB\nMemFree: x kB\n");
  auto families = CollectOnce(garbled);
  ASSERT_FALSE(families);
  EXPECT_THAT(families.error().message, HasSubstr("/proc/meminfo: line 2"));

  InMemoryFileReader bad_key;
  bad_key.AddFile("/proc/meminfo", "Mem-Total: 1 kB\n");
  EXPECT_FALSE(CollectOnce(bad_key));

  auto missing = CollectOnce(InMemoryFileReader{});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::exporter
