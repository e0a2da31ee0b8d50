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
using testing::LoadFixtureTree;
using testing::ReadFixture;
using testing::SampleCount;
using testing::SampleValue;

constexpr const char* kClocksource0 = "/sys/devices/system/clocksource/clocksource0";

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader, const FakeSystem& system) {
  CollectorOptions options;
  auto collector = NewTimeCollector(CollectorDeps{reader, system, options});
  EXPECT_TRUE(collector);
  return (*collector)->Collect();
}

TEST(TimeCollectorTest, ClockAndZoneComeFromTheSystem) {
  FakeSystem system;
  system.now = WallTime{1700000000.5, "CET", 3600};
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_time_seconds"), 1700000000.5);
  EXPECT_EQ(SampleValue(*families, "node_time_zone_offset_seconds", {{"time_zone", "CET"}}), 3600);
  EXPECT_EQ(FindFamily(*families, "node_time_seconds")->help, "System time in seconds since epoch (1970).");
  EXPECT_EQ(FindFamily(*families, "node_time_zone_offset_seconds")->help, "System time zone offset in seconds.");
  EXPECT_EQ(FindFamily(*families, "node_time_seconds")->type, prometheus::MetricType::Gauge);
}

TEST(TimeCollectorTest, HostFixtureClocksources) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), FakeSystem{});
  ASSERT_TRUE(families) << families.error().message;
  // available_clocksource "tsc kvm-clock \n", current_clocksource "tsc\n"
  EXPECT_EQ(SampleValue(*families, "node_time_clocksource_available_info", {{"clocksource", "tsc"}, {"device", "0"}}),
            1);
  EXPECT_EQ(
      SampleValue(*families, "node_time_clocksource_available_info", {{"clocksource", "kvm-clock"}, {"device", "0"}}),
      1);
  EXPECT_EQ(SampleCount(*families, "node_time_clocksource_available_info"), 2u);
  EXPECT_EQ(SampleValue(*families, "node_time_clocksource_current_info", {{"clocksource", "tsc"}, {"device", "0"}}), 1);
  EXPECT_EQ(FindFamily(*families, "node_time_clocksource_available_info")->help,
            "Available clocksources read from '/sys/devices/system/clocksource'.");
  EXPECT_EQ(FindFamily(*families, "node_time_clocksource_current_info")->help,
            "Current clocksource read from '/sys/devices/system/clocksource'.");
}

TEST(TimeCollectorTest, ProcfsFixtureClocksources) {
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), FakeSystem{});
  ASSERT_TRUE(families) << families.error().message;
  // available_clocksource "tsc hpet acpi_pm \n"
  EXPECT_EQ(SampleCount(*families, "node_time_clocksource_available_info"), 3u);
  EXPECT_EQ(
      SampleValue(*families, "node_time_clocksource_available_info", {{"clocksource", "acpi_pm"}, {"device", "0"}}), 1);
}

TEST(TimeCollectorTest, DeviceLabelIsThePositionInNameOrder) {
  InMemoryFileReader reader;
  std::string available = ReadFixture("host-6.18/sys/devices/system/clocksource/clocksource0/available_clocksource");
  std::string current = ReadFixture("host-6.18/sys/devices/system/clocksource/clocksource0/current_clocksource");
  for (const char* dir : {"clocksource0", "clocksource2", "clocksource10"}) {
    std::string base = std::string("/sys/devices/system/clocksource/") + dir;
    reader.AddFile(base + "/available_clocksource", available);
    reader.AddFile(base + "/current_clocksource", dir == std::string("clocksource2") ? "kvm-clock\n" : current);
  }
  reader.AddFile("/sys/devices/system/clocksource/power/async", "disabled\n");  // not a clocksource<N>
  auto families = CollectOnce(reader, FakeSystem{});
  ASSERT_TRUE(families) << families.error().message;
  // Sorted names: clocksource0, clocksource10, clocksource2 -> devices 0, 1, 2.
  EXPECT_EQ(
      SampleValue(*families, "node_time_clocksource_current_info", {{"clocksource", "kvm-clock"}, {"device", "2"}}), 1);
  EXPECT_EQ(SampleCount(*families, "node_time_clocksource_current_info"), 3u);
}

TEST(TimeCollectorTest, MissingClocksourceDirectoryOnlyDropsThoseFamilies) {
  auto families = CollectOnce(InMemoryFileReader{}, FakeSystem{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families), ElementsAre("node_time_seconds", "node_time_zone_offset_seconds"));
}

TEST(TimeCollectorTest, UnreadableClocksourceFileIsAnError) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddError(std::string(kClocksource0) + "/current_clocksource",
                  Error{ErrorKind::kRejected, "open current_clocksource: Permission denied"});
  auto families = CollectOnce(reader, FakeSystem{});
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(families.error().message, "couldn't get clocksources: open current_clocksource: Permission denied");
}

}  // namespace
}  // namespace topdog::exporter
