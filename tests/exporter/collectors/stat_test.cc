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
using testing::SampleValue;

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader, const CollectorOptions& options) {
  return testing::CollectOnce(NewStatCollector, reader, options);
}

TEST(StatCollectorTest, HostFixtureFamilies) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("node_boot_time_seconds", "node_context_switches_total", "node_forks_total",
                          "node_intr_total", "node_procs_blocked", "node_procs_running"));
  EXPECT_EQ(SampleValue(*families, "node_boot_time_seconds"), 1795761151);
  EXPECT_EQ(SampleValue(*families, "node_context_switches_total"), 308176);
  EXPECT_EQ(SampleValue(*families, "node_forks_total"), 3340);
  EXPECT_EQ(SampleValue(*families, "node_intr_total"), 144701);
  EXPECT_EQ(SampleValue(*families, "node_procs_running"), 1);
  EXPECT_EQ(SampleValue(*families, "node_procs_blocked"), 0);
  const MetricFamily* boot = FindFamily(*families, "node_boot_time_seconds");
  EXPECT_EQ(boot->help, "Node boot time, in unixtime.");
  EXPECT_EQ(boot->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(FindFamily(*families, "node_intr_total")->help, "Total number of interrupts serviced.");
  EXPECT_EQ(FindFamily(*families, "node_intr_total")->type, prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(*families, "node_context_switches_total")->help, "Total number of context switches.");
  EXPECT_EQ(FindFamily(*families, "node_forks_total")->help, "Total number of forks.");
  EXPECT_EQ(FindFamily(*families, "node_procs_running")->help, "Number of processes in runnable state.");
  EXPECT_EQ(FindFamily(*families, "node_procs_blocked")->help,
            "Number of processes blocked waiting for I/O to complete.");
}

TEST(StatCollectorTest, SoftirqsPerVectorWhenEnabled) {
  CollectorOptions options;
  options.stat_softirq = true;
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), options);
  ASSERT_TRUE(families) << families.error().message;
  // "softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444"
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "hi"}}), 250191);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "timer"}}), 1481983);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "net_tx"}}), 1647);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "net_rx"}}), 211099);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "block"}}), 186066);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "block_iopoll"}}), 0);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "tasklet"}}), 1783454);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "sched"}}), 622196);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "hrtimer"}}), 12499);
  EXPECT_EQ(SampleValue(*families, "node_softirqs_total", {{"vector", "rcu"}}), 508444);
  EXPECT_EQ(FindFamily(*families, "node_softirqs_total")->help, "Number of softirq calls.");
  EXPECT_EQ(SampleValue(*families, "node_context_switches_total"), 38014093);
  EXPECT_EQ(SampleValue(*families, "node_procs_blocked"), 1);
}

TEST(StatCollectorTest, TwoHundredKilobyteIntrLine) {
  std::string text = ReadFixture("host-6.18/proc/stat");
  size_t start = text.find("intr ");
  size_t end = text.find('\n', start);
  std::string intr = "intr 144701";
  while (intr.size() < 200 * 1024) intr += " 0 3";
  text.replace(start, end - start, intr);
  InMemoryFileReader reader;
  reader.AddFile("/proc/stat", text);
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_intr_total"), 144701);
  EXPECT_EQ(SampleValue(*families, "node_forks_total"), 3340);
}

TEST(StatCollectorTest, MissingFileIsNotFound) {
  auto families = CollectOnce(InMemoryFileReader{}, CollectorOptions{});
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::exporter
