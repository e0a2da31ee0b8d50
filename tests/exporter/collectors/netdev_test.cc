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
using ::testing::IsEmpty;
using testing::LoadFixtureTree;
using testing::ReadFixture;
using testing::SampleCount;
using testing::SampleValue;

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader, const CollectorOptions& options) {
  return testing::CollectOnce(NewNetdevCollector, reader, options);
}

TEST(NetdevCollectorTest, HostFixtureEmitsSixteenCountersPerInterface) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("node_network_receive_bytes_total", "node_network_receive_compressed_total",
                          "node_network_receive_drop_total", "node_network_receive_errs_total",
                          "node_network_receive_fifo_total", "node_network_receive_frame_total",
                          "node_network_receive_multicast_total", "node_network_receive_packets_total",
                          "node_network_transmit_bytes_total", "node_network_transmit_carrier_total",
                          "node_network_transmit_colls_total", "node_network_transmit_compressed_total",
                          "node_network_transmit_drop_total", "node_network_transmit_errs_total",
                          "node_network_transmit_fifo_total", "node_network_transmit_packets_total"));
  // "  eth0: 46100618     997    0    0    0     0          0         0    49459     611    0 ..."
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "eth0"}}), 46100618);
  EXPECT_EQ(SampleValue(*families, "node_network_receive_packets_total", {{"device", "eth0"}}), 997);
  EXPECT_EQ(SampleValue(*families, "node_network_transmit_bytes_total", {{"device", "eth0"}}), 49459);
  EXPECT_EQ(SampleValue(*families, "node_network_transmit_packets_total", {{"device", "eth0"}}), 611);
  EXPECT_EQ(SampleValue(*families, "node_network_transmit_colls_total", {{"device", "eth0"}}), 0);
  // "    lo:   62796      62 ..." (upstream has no default exclude; Debian's 1.5.0 excludes ^lo$)
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "lo"}}), 62796);
  EXPECT_EQ(SampleCount(*families, "node_network_receive_bytes_total"), 4u);
  const MetricFamily* bytes = FindFamily(*families, "node_network_receive_bytes_total");
  EXPECT_EQ(bytes->help, "Network device statistic receive_bytes.");
  EXPECT_EQ(bytes->type, prometheus::MetricType::Counter);
  EXPECT_EQ(FindFamily(*families, "node_network_transmit_carrier_total")->help,
            "Network device statistic transmit_carrier.");
}

TEST(NetdevCollectorTest, ProcfsFixtureWithExclude) {
  CollectorOptions options;
  options.netdev_device_exclude = "^lo$";
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), options);
  ASSERT_TRUE(families) << families.error().message;
  // "  eth0: 874354587 1036395 ... 563352563  732147 ..."
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "eth0"}}), 874354587);
  EXPECT_EQ(SampleValue(*families, "node_network_transmit_packets_total", {{"device", "eth0"}}), 732147);
  EXPECT_EQ(SampleValue(*families, "node_network_receive_packets_total", {{"device", "vethf345468"}}), 8);
  EXPECT_FALSE(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "lo"}}));
  EXPECT_EQ(SampleCount(*families, "node_network_receive_bytes_total"), 3u);
}

TEST(NetdevCollectorTest, IncludeKeepsOnlyMatchingDevices) {
  CollectorOptions options;
  options.netdev_device_include = "^(lo|eth)";
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), options);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_network_receive_bytes_total"), 2u);
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "lo"}}), 1664039048);
}

TEST(NetdevCollectorTest, MaximumCounterBecomesNearestDouble) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  text.replace(text.find("46100618"), 8, "18446744073709551615");
  InMemoryFileReader reader;
  reader.AddFile("/proc/net/dev", text);
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "eth0"}}), 18446744073709551616.0);
}

TEST(NetdevCollectorTest, RepeatedInterfaceKeepsTheLastLine) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  std::string eth0 = text.substr(text.find("  eth0:"));
  std::string second = eth0;
  second.replace(second.find("46100618"), 8, "46100619");
  InMemoryFileReader reader;
  reader.AddFile("/proc/net/dev", text + second);
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_network_receive_bytes_total"), 4u);
  EXPECT_EQ(SampleValue(*families, "node_network_receive_bytes_total", {{"device", "eth0"}}), 46100619);
}

TEST(NetdevCollectorTest, NoInterfacesNoFamilies) {
  CollectorOptions options;
  options.netdev_device_exclude = ".";
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), options);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families), IsEmpty());
}

TEST(NetdevCollectorTest, FactoryRejectsBothFilters) {
  InMemoryFileReader reader;
  FakeSystem system;
  CollectorOptions options;
  options.netdev_device_include = "^eth";
  options.netdev_device_exclude = "^lo$";
  auto collector = NewNetdevCollector(CollectorDeps{reader, system, options});
  ASSERT_FALSE(collector);
  EXPECT_EQ(collector.error().message,
            "--collector.netdev.device-exclude and --collector.netdev.device-include are mutually exclusive");
}

TEST(NetdevCollectorTest, ReadAndParseErrorsPropagate) {
  EXPECT_EQ(CollectOnce(InMemoryFileReader{}, CollectorOptions{}).error().kind, ErrorKind::kNotFound);
  InMemoryFileReader denied;
  denied.AddError("/proc/net/dev", Error{ErrorKind::kRejected, "open /proc/net/dev: Permission denied"});
  EXPECT_EQ(CollectOnce(denied, CollectorOptions{}).error().kind, ErrorKind::kRejected);
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  InMemoryFileReader truncated;
  truncated.AddFile("/proc/net/dev", text.substr(0, text.find("    49459")));
  auto families = CollectOnce(truncated, CollectorOptions{});
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_EQ(families.error().message.rfind("/proc/net/dev: line 6: ", 0), 0u) << families.error().message;
}

}  // namespace
}  // namespace topdog::exporter
