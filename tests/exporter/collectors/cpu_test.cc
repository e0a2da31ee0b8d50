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
using ::testing::HasSubstr;
using testing::LoadFixtureTree;
using testing::SampleCount;
using testing::SampleValue;

constexpr const char* kStat = "/proc/stat";
constexpr const char* kCpuDir = "/sys/devices/system/cpu";

std::unique_ptr<Collector> MakeCollector(const InMemoryFileReader& reader, const CollectorOptions& options) {
  static const FakeSystem system;
  auto collector = NewCpuCollector(CollectorDeps{reader, system, options});
  EXPECT_TRUE(collector) << collector.error().message;
  return std::move(*collector);
}

std::vector<MetricFamily> MustCollect(Collector& collector) {
  auto families = collector.Collect();
  EXPECT_TRUE(families) << families.error().message;
  return families ? std::move(*families) : std::vector<MetricFamily>{};
}

CollectorOptions Compat(NodeExporterCompat compat) {
  CollectorOptions options;
  options.compat = compat;
  return options;
}

TEST(CpuCollectorTest, HostFixtureSecondsPerCpuAndMode) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  CollectorOptions options = Compat(NodeExporterCompat::kV1_5);
  auto collector = MakeCollector(reader, options);
  auto families = MustCollect(*collector);
  // No thermal_throttle directory and an empty isolated list on this VM: only the two /proc/stat families.
  EXPECT_THAT(FamilyNames(families), ElementsAre("node_cpu_guest_seconds_total", "node_cpu_seconds_total"));
  // "cpu0 590 0 423 32114 8 0 11 2 0 0": ticks / 100
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 590 / 100.0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "system"}}), 4.23);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 321.14);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "steal"}}), 0.02);
  // "cpu1 1083 0 827 30977 254 0 38 6 0 0"
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "user"}}), 10.83);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "iowait"}}), 2.54);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "softirq"}}), 0.38);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "nice"}}), 0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "irq"}}), 0);
  EXPECT_EQ(SampleCount(families, "node_cpu_seconds_total"), 16u);  // 2 CPUs x 8 modes, no guest modes
  EXPECT_EQ(SampleValue(families, "node_cpu_guest_seconds_total", {{"cpu", "1"}, {"mode", "nice"}}), 0);
  EXPECT_EQ(SampleCount(families, "node_cpu_guest_seconds_total"), 4u);
  const MetricFamily* seconds = testing::FindFamily(families, "node_cpu_seconds_total");
  EXPECT_EQ(seconds->help, "Seconds the CPUs spent in each mode.");
  EXPECT_EQ(seconds->type, prometheus::MetricType::Counter);
  EXPECT_EQ(testing::FindFamily(families, "node_cpu_guest_seconds_total")->help,
            "Seconds the CPUs spent in guests (VMs) for each mode.");
}

TEST(CpuCollectorTest, GuestFamilyCanBeDisabled) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  CollectorOptions options;
  options.cpu_guest = false;
  auto collector = MakeCollector(reader, options);
  auto families = MustCollect(*collector);
  EXPECT_EQ(testing::FindFamily(families, "node_cpu_guest_seconds_total"), nullptr);
}

TEST(CpuCollectorTest, ProcfsFixtureThrottlesOncePerCoreAndPackage) {
  InMemoryFileReader reader = LoadFixtureTree("procfs-0.8.0");
  CollectorOptions options = Compat(NodeExporterCompat::kV1_5);
  auto collector = MakeCollector(reader, options);
  auto families = MustCollect(*collector);
  EXPECT_THAT(FamilyNames(families),
              ElementsAre("node_cpu_core_throttles_total", "node_cpu_guest_seconds_total", "node_cpu_isolated",
                          "node_cpu_package_throttles_total", "node_cpu_seconds_total"));
  // cpu0 and cpu1 are cores 0 and 1 of package 0, both report package_throttle_count 34818.
  EXPECT_EQ(SampleValue(families, "node_cpu_core_throttles_total", {{"package", "0"}, {"core", "0"}}), 10084);
  EXPECT_EQ(SampleValue(families, "node_cpu_core_throttles_total", {{"package", "0"}, {"core", "1"}}), 523);
  EXPECT_EQ(SampleCount(families, "node_cpu_package_throttles_total"), 1u);
  EXPECT_EQ(SampleValue(families, "node_cpu_package_throttles_total", {{"package", "0"}}), 34818);
  // isolated "1,2-7,9"
  EXPECT_EQ(SampleCount(families, "node_cpu_isolated"), 8u);
  EXPECT_EQ(SampleValue(families, "node_cpu_isolated", {{"cpu", "9"}}), 1);
  EXPECT_EQ(SampleValue(families, "node_cpu_isolated", {{"cpu", "0"}}), std::nullopt);
  // "cpu7 29098 268 10164 1139282 555 0 31 0 0 0"
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "7"}, {"mode", "nice"}}), 2.68);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "7"}, {"mode", "idle"}}), 11392.82);
  EXPECT_EQ(SampleCount(families, "node_cpu_seconds_total"), 64u);
}

TEST(CpuCollectorTest, SiblingThreadsShareOneCoreCounter) {
  // A hyper-threaded pair: cpu0 and cpu2 are the same core; the first CPU read (cpu0) wins.
  InMemoryFileReader reader = LoadFixtureTree("procfs-0.8.0");
  reader.AddFile("/sys/devices/system/cpu/cpu2/topology/physical_package_id", "0\n");
  reader.AddFile("/sys/devices/system/cpu/cpu2/topology/core_id", "0\n");
  reader.AddFile("/sys/devices/system/cpu/cpu2/thermal_throttle/core_throttle_count", "99\n");
  reader.AddFile("/sys/devices/system/cpu/cpu2/thermal_throttle/package_throttle_count", "99\n");
  // cpu3 has counters but no topology: skipped, like node_exporter.
  reader.AddFile("/sys/devices/system/cpu/cpu3/thermal_throttle/core_throttle_count", "7\n");
  auto collector = MakeCollector(reader, CollectorOptions{});
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_core_throttles_total", {{"package", "0"}, {"core", "0"}}), 10084);
  EXPECT_EQ(SampleCount(families, "node_cpu_core_throttles_total"), 2u);
  EXPECT_EQ(SampleValue(families, "node_cpu_package_throttles_total", {{"package", "0"}}), 34818);
}

// Three versions of /proc/stat through one collector: the per-field guard of updateCPUStats.
TEST(CpuCollectorTest, CounterGoingBackwardsKeepsItsPreviousValue) {
  InMemoryFileReader reader;
  CollectorOptions options;
  auto collector = MakeCollector(reader, options);
  reader.AddFile(kStat, "cpu  100 0 0 1000\ncpu0 100 5 0 1000 7\n");
  MustCollect(*collector);
  // user drops 1.00 -> 0.90 and iowait 0.07 -> 0.05; idle moves back only 1 s (< 3 s): all three are held.
  reader.AddFile(kStat, "cpu  90 0 0 900\ncpu0 90 6 0 900 5\n");
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 1.0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "iowait"}}), 0.07);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 10.0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "nice"}}), 0.06);
  // Later values above the held ones are taken again.
  reader.AddFile(kStat, "cpu  120 0 0 1100\ncpu0 120 6 0 1100 9\n");
  families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 1.2);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 11.0);
}

TEST(CpuCollectorTest, IdleJumpingBackThreeSecondsResetsTheCpu) {
  InMemoryFileReader reader;
  auto collector = MakeCollector(reader, CollectorOptions{});
  reader.AddFile(kStat, "cpu0 500 0 0 1000\ncpu1 500 0 0 1000\n");
  MustCollect(*collector);
  // cpu0 idle 10.00 -> 7.00 s (exactly 3 s back: a hot-plug); cpu1 idle 10.00 -> 7.01 s (2.99 s: held).
  reader.AddFile(kStat, "cpu0 40 0 0 700\ncpu1 40 0 0 701\n");
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 0.4);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "idle"}}), 7.0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "user"}}), 5.0);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "idle"}}), 10.0);
}

TEST(CpuCollectorTest, V1_12ForgetsOfflineCpusAndSkipsGaps) {
  InMemoryFileReader reader;
  auto collector = MakeCollector(reader, Compat(NodeExporterCompat::kV1_12));
  reader.AddFile(kStat, "cpu0 500 0 0 1000\ncpu2 500 0 0 1000\n");
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleCount(families, "node_cpu_seconds_total"), 16u);  // cpu0 and cpu2 only
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "user"}}), std::nullopt);
  reader.AddFile(kStat, "cpu0 600 0 0 1100\n");
  MustCollect(*collector);
  // cpu2 comes back with lower counters: it was forgotten, so they are not held at 5.00.
  reader.AddFile(kStat, "cpu0 700 0 0 1200\ncpu2 40 0 0 990\n");
  families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "2"}, {"mode", "user"}}), 0.4);
}

TEST(CpuCollectorTest, V1_5FillsGapsWithZerosAndResetsWhenTheCountChanges) {
  // procfs 0.8.0 stores CPUs in a slice indexed by number (node_exporter 1.5.0 output checked by hand).
  InMemoryFileReader reader;
  auto collector = MakeCollector(reader, Compat(NodeExporterCompat::kV1_5));
  reader.AddFile(kStat, "cpu0 500 0 0 1000\ncpu2 500 0 0 1000\n");
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleCount(families, "node_cpu_seconds_total"), 24u);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "1"}, {"mode", "idle"}}), 0);
  // Fewer CPUs: every stored CPU is reset, so cpu0's lower user time is taken as is.
  reader.AddFile(kStat, "cpu0 40 0 0 1100\n");
  families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_seconds_total", {{"cpu", "0"}, {"mode", "user"}}), 0.4);
  EXPECT_EQ(SampleCount(families, "node_cpu_seconds_total"), 8u);
}

TEST(CpuCollectorTest, OnlineOnlyInV1_12AndOnlyWithCpu0OnlineFile) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  // The host fixture has cpu1/online but no cpu0/online (x86 cannot unplug CPU 0): no family.
  auto v1_12 = MakeCollector(reader, Compat(NodeExporterCompat::kV1_12));
  EXPECT_EQ(SampleCount(MustCollect(*v1_12), "node_cpu_online"), 0u);

  reader.AddFile(std::string(kCpuDir) + "/cpu0/online", "1\n");
  reader.AddFile(std::string(kCpuDir) + "/cpu1/online", "0\n");
  auto families = MustCollect(*v1_12);
  EXPECT_EQ(SampleValue(families, "node_cpu_online", {{"cpu", "0"}}), 1);
  EXPECT_EQ(SampleValue(families, "node_cpu_online", {{"cpu", "1"}}), 0);
  EXPECT_EQ(testing::FindFamily(families, "node_cpu_online")->help, "CPUs that are online and being scheduled.");

  auto v1_5 = MakeCollector(reader, Compat(NodeExporterCompat::kV1_5));
  EXPECT_EQ(testing::FindFamily(MustCollect(*v1_5), "node_cpu_online"), nullptr);
}

TEST(CpuCollectorTest, InfoFamiliesFromCpuinfo) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  CollectorOptions options = Compat(NodeExporterCompat::kV1_12);
  options.cpu_info = true;
  options.cpu_info_flags_include = "^(aes|avx2)$";
  auto collector = MakeCollector(reader, options);
  auto families = MustCollect(*collector);
  EXPECT_EQ(SampleValue(families, "node_cpu_info",
                        {{"package", "0"},
                         {"core", "1"},
                         {"cpu", "1"},
                         {"vendor", "GenuineIntel"},
                         {"family", "6"},
                         {"model", "167"},
                         {"model_name", "Intel(R) Xeon(R) Processor"},
                         {"microcode", "0x1"},
                         {"stepping", "1"},
                         {"cachesize", "491520 KB"}}),
            1);
  EXPECT_EQ(SampleCount(families, "node_cpu_info"), 2u);
  // "cpu MHz : 2599.998"
  EXPECT_EQ(SampleValue(families, "node_cpu_frequency_hertz", {{"package", "0"}, {"core", "0"}, {"cpu", "0"}}),
            2599.998 * 1e6);
  EXPECT_EQ(SampleCount(families, "node_cpu_flag_info"), 2u);
  EXPECT_EQ(SampleValue(families, "node_cpu_flag_info", {{"flag", "avx2"}}), 1);
  EXPECT_EQ(testing::FindFamily(families, "node_cpu_bug_info"), nullptr);  // no bugs filter, no family

  CollectorOptions v1_5 = options;
  v1_5.compat = NodeExporterCompat::kV1_5;
  auto old = MakeCollector(reader, v1_5);
  EXPECT_EQ(testing::FindFamily(MustCollect(*old), "node_cpu_frequency_hertz"), nullptr);
}

TEST(CpuCollectorTest, BugsFilterEnablesInfo) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  CollectorOptions options;
  options.cpu_info_bugs_include = "spectre";
  auto collector = MakeCollector(reader, options);
  auto families = MustCollect(*collector);
  // "bugs : spectre_v1 spectre_v2 spec_store_bypass swapgs retbleed bhi spectre_v2_user its its_native_only"
  EXPECT_EQ(SampleCount(families, "node_cpu_bug_info"), 3u);
  EXPECT_EQ(SampleValue(families, "node_cpu_bug_info", {{"bug", "spectre_v2_user"}}), 1);
  EXPECT_EQ(SampleCount(families, "node_cpu_info"), 2u);
}

TEST(CpuCollectorTest, InvalidRegexNamesTheFlag) {
  InMemoryFileReader reader;
  FakeSystem system;
  CollectorOptions options;
  options.cpu_info_flags_include = "(unclosed";
  auto collector = NewCpuCollector(CollectorDeps{reader, system, options});
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("--collector.cpu.info.flags-include"));
}

TEST(CpuCollectorTest, MissingProcStatIsNotFound) {
  InMemoryFileReader reader;
  auto collector = MakeCollector(reader, CollectorOptions{});
  auto families = collector->Collect();
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kNotFound);
}

TEST(CpuCollectorTest, UnreadableProcStatIsAnError) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddError(kStat, Error{ErrorKind::kRejected, "open /proc/stat: Permission denied"});
  auto collector = MakeCollector(reader, CollectorOptions{});
  auto families = collector->Collect();
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(families.error().message, HasSubstr("/proc/stat"));
}

TEST(CpuCollectorTest, GarbledProcStatNamesFileAndLine) {
  InMemoryFileReader reader;
  reader.AddFile(kStat, "cpu  1 2 3 4\ncpu0 1 2 x 4\n");
  auto collector = MakeCollector(reader, CollectorOptions{});
  auto families = collector->Collect();
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(families.error().message, HasSubstr("/proc/stat: line 2"));
}

}  // namespace
}  // namespace topdog::exporter
