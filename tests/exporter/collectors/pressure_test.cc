#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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
using ::testing::HasSubstr;
using testing::LoadFixtureTree;
using testing::SampleValue;

constexpr const char* kIrqLine = "full avg10=0.00 avg60=0.00 avg300=0.00 total=4200000\n";

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader, NodeExporterCompat compat) {
  FakeSystem system;
  CollectorOptions options;
  options.compat = compat;
  auto collector = NewPressureCollector(CollectorDeps{reader, system, options});
  EXPECT_TRUE(collector);
  return (*collector)->Collect();
}

TEST(PressureCollectorTest, HostFixtureIgnoresCpuFullLine) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), NodeExporterCompat::kV1_12);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("node_pressure_cpu_waiting_seconds_total", "node_pressure_io_stalled_seconds_total",
                          "node_pressure_io_waiting_seconds_total", "node_pressure_memory_stalled_seconds_total",
                          "node_pressure_memory_waiting_seconds_total"));
  // cpu "some ... total=3070566" microseconds
  EXPECT_EQ(SampleValue(*families, "node_pressure_cpu_waiting_seconds_total"), 3070566 / 1000.0 / 1000.0);
  EXPECT_EQ(SampleValue(*families, "node_pressure_io_waiting_seconds_total"), 2302236 / 1000.0 / 1000.0);
  EXPECT_EQ(SampleValue(*families, "node_pressure_io_stalled_seconds_total"), 2207795 / 1000.0 / 1000.0);
  EXPECT_EQ(SampleValue(*families, "node_pressure_memory_waiting_seconds_total"), 0);
  const MetricFamily* cpu = FindFamily(*families, "node_pressure_cpu_waiting_seconds_total");
  EXPECT_EQ(cpu->help, "Total time in seconds that processes have waited for CPU time");
  EXPECT_EQ(cpu->type, prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(*families, "node_pressure_io_waiting_seconds_total")->help,
            "Total time in seconds that processes have waited due to IO congestion");
  EXPECT_EQ(FindFamily(*families, "node_pressure_io_stalled_seconds_total")->help,
            "Total time in seconds no process could make progress due to IO congestion");
  EXPECT_EQ(FindFamily(*families, "node_pressure_memory_waiting_seconds_total")->help,
            "Total time in seconds that processes have waited for memory");
  EXPECT_EQ(FindFamily(*families, "node_pressure_memory_stalled_seconds_total")->help,
            "Total time in seconds no process could make progress due to memory congestion");
}

TEST(PressureCollectorTest, ProcfsFixtureKeepsGoFloatNoise) {
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), NodeExporterCompat::kV1_5);
  ASSERT_TRUE(families) << families.error().message;
  // total=15 -> 15 / 1000 / 1000, which Go prints as 1.4999999999999999e-05 (not 1.5e-05).
  EXPECT_EQ(SampleValue(*families, "node_pressure_cpu_waiting_seconds_total"), 1.4999999999999999e-05);
  EXPECT_EQ(SampleValue(*families, "node_pressure_memory_stalled_seconds_total"), 2.5e-05);
}

TEST(PressureCollectorTest, IrqOnlyInV1_12) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/proc/pressure/irq", kIrqLine);
  auto v1_12 = CollectOnce(reader, NodeExporterCompat::kV1_12);
  ASSERT_TRUE(v1_12) << v1_12.error().message;
  EXPECT_EQ(SampleValue(*v1_12, "node_pressure_irq_stalled_seconds_total"), 4.2);
  EXPECT_EQ(FindFamily(*v1_12, "node_pressure_irq_stalled_seconds_total")->help,
            "Total time in seconds no process could make progress due to IRQ congestion");
  auto v1_5 = CollectOnce(reader, NodeExporterCompat::kV1_5);
  ASSERT_TRUE(v1_5);
  EXPECT_EQ(FindFamily(*v1_5, "node_pressure_irq_stalled_seconds_total"), nullptr);
}

TEST(PressureCollectorTest, AbsentPressureIsNotFound) {
  for (auto compat : {NodeExporterCompat::kV1_5, NodeExporterCompat::kV1_12}) {
    auto families = CollectOnce(InMemoryFileReader{}, compat);
    ASSERT_FALSE(families);
    EXPECT_EQ(families.error().kind, ErrorKind::kNotFound);
  }
}

TEST(PressureCollectorTest, MissingResourceSkippedOnlyInV1_12) {
  InMemoryFileReader reader;
  reader.AddFile("/proc/pressure/cpu", "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n");
  auto v1_12 = CollectOnce(reader, NodeExporterCompat::kV1_12);
  ASSERT_TRUE(v1_12) << v1_12.error().message;
  EXPECT_EQ(SampleValue(*v1_12, "node_pressure_cpu_waiting_seconds_total"), 1);
  auto v1_5 = CollectOnce(reader, NodeExporterCompat::kV1_5);
  ASSERT_FALSE(v1_5);
  EXPECT_EQ(v1_5.error().kind, ErrorKind::kNotFound);
}

TEST(PressureCollectorTest, MissingFullLineIsNoData) {
  // node_exporter 1.5.0 crashes on this (nil dereference, checked); 1.12 reports no data.
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/proc/pressure/io", "some avg10=0.00 avg60=0.02 avg300=0.30 total=3070566\n");
  auto families = CollectOnce(reader, NodeExporterCompat::kV1_12);
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(families.error().message, HasSubstr("'full'"));
}

TEST(PressureCollectorTest, GarbledFileIsBadData) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/proc/pressure/memory", "some avg10=0.00 avg60=0.00 avg300=0.00 total=x\n");
  auto families = CollectOnce(reader, NodeExporterCompat::kV1_12);
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(families.error().message, HasSubstr("/proc/pressure/memory: line 1"));
}

}  // namespace
}  // namespace topdog::exporter
