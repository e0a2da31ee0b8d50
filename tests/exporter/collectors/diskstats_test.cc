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
using testing::LabelMap;
using testing::LoadFixtureTree;
using testing::SampleCount;
using testing::SampleValue;

// Debian's 1.5.0 default: without the z? before ram.
constexpr const char* kDebianExclude = R"(^(ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$)";

// No udev database was captured (the capture host has no udev); this one follows udevadm(8)'s format.
constexpr std::string_view kVdaUdev =
    "S:disk/by-path/pci-0000:00:05.0\n"
    "E:ID_ATA=1\n"
    "E:ID_ATA_ROTATION_RATE_RPM=7200\n"
    "E:ID_ATA_WRITE_CACHE=1\n"
    "E:ID_ATA_WRITE_CACHE_ENABLED=0\n"
    "E:ID_FS_TYPE=ext4\n"
    "E:ID_FS_USAGE=filesystem\n"
    "E:ID_FS_UUID=8e3b9c3a-1f0b-4c6e-9a57-2c1d8f0e7b6a\n"
    "E:ID_FS_VERSION=1.0\n"
    "E:ID_MODEL=QEMU_HARDDISK\n"
    "E:ID_PATH=pci-0000:00:05.0\n"
    "E:ID_REVISION=2.5+\n"
    "E:ID_SERIAL_SHORT=QM00001\n"
    "E:SCSI_IDENT_SERIAL=SCSI-QM00001\n"
    "E:ID_WWN=0x5000c500a1b2c3d4\n"
    "E:DM_NAME=vg0-root\n"
    "E:DM_UUID=LVM-abc\n"
    "E:DM_VG_NAME=vg0\n"
    "E:DM_LV_NAME=root\n"
    "E:DM_LV_LAYER=\n";

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader, const CollectorOptions& options) {
  return testing::CollectOnce(NewDiskstatsCollector, reader, options);
}

LabelMap EmptyInfo(const std::string& device, const std::string& major, const std::string& minor) {
  return {{"device", device}, {"major", major}, {"minor", minor}, {"model", ""},
          {"path", ""},       {"revision", ""}, {"serial", ""},   {"wwn", ""}};
}

TEST(DiskstatsCollectorTest, HostFixtureEmitsEveryFieldOfATwentyFieldLine) {
  CollectorOptions options;  // 1.12: z?ram, loop excluded, so only vda is left
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), options);
  ASSERT_TRUE(families) << families.error().message;
  // "254 0 vda 27148 5190 2027282 6121 21918 9305 1552616 7362 0 4372 13839 4138 110 112872 305 1019 50"
  const LabelMap vda = {{"device", "vda"}};
  EXPECT_EQ(SampleValue(*families, "node_disk_reads_completed_total", vda), 27148);
  EXPECT_EQ(SampleValue(*families, "node_disk_reads_merged_total", vda), 5190);
  EXPECT_EQ(SampleValue(*families, "node_disk_read_bytes_total", vda), 2027282.0 * 512);  // 1037968384
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_read_time_seconds_total", vda), 6.121);
  EXPECT_EQ(SampleValue(*families, "node_disk_writes_completed_total", vda), 21918);
  EXPECT_EQ(SampleValue(*families, "node_disk_writes_merged_total", vda), 9305);
  EXPECT_EQ(SampleValue(*families, "node_disk_written_bytes_total", vda), 1552616.0 * 512);  // 794939392
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_write_time_seconds_total", vda), 7.362);
  EXPECT_EQ(SampleValue(*families, "node_disk_io_now", vda), 0);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_io_time_seconds_total", vda), 4.372);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_io_time_weighted_seconds_total", vda), 13.839);
  EXPECT_EQ(SampleValue(*families, "node_disk_discards_completed_total", vda), 4138);
  EXPECT_EQ(SampleValue(*families, "node_disk_discards_merged_total", vda), 110);
  EXPECT_EQ(SampleValue(*families, "node_disk_discarded_sectors_total", vda), 112872);  // sectors, not bytes
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_discard_time_seconds_total", vda), 0.305);
  EXPECT_EQ(SampleValue(*families, "node_disk_flush_requests_total", vda), 1019);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_flush_requests_time_seconds_total", vda), 0.05);
  // No udev data: the info labels are empty; sys/block/vda/queue/rotational holds "1".
  LabelMap info = EmptyInfo("vda", "254", "0");
  info["rotational"] = "1";
  EXPECT_EQ(SampleValue(*families, "node_disk_info", info), 1);
  EXPECT_EQ(SampleCount(*families, "node_disk_info"), 1u);
  EXPECT_THAT(
      FamilyNames(*families),
      ElementsAre("node_disk_discard_time_seconds_total", "node_disk_discarded_sectors_total",
                  "node_disk_discards_completed_total", "node_disk_discards_merged_total",
                  "node_disk_flush_requests_time_seconds_total", "node_disk_flush_requests_total", "node_disk_info",
                  "node_disk_io_now", "node_disk_io_time_seconds_total", "node_disk_io_time_weighted_seconds_total",
                  "node_disk_read_bytes_total", "node_disk_read_time_seconds_total", "node_disk_reads_completed_total",
                  "node_disk_reads_merged_total", "node_disk_write_time_seconds_total",
                  "node_disk_writes_completed_total", "node_disk_writes_merged_total",
                  "node_disk_written_bytes_total"));
}

TEST(DiskstatsCollectorTest, HelpTextsAndTypesMatchNodeExporter) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(FindFamily(*families, "node_disk_reads_completed_total")->help,
            "The total number of reads completed successfully.");
  EXPECT_EQ(FindFamily(*families, "node_disk_writes_merged_total")->help, "The number of writes merged.");
  EXPECT_EQ(FindFamily(*families, "node_disk_io_time_weighted_seconds_total")->help,
            "The weighted # of seconds spent doing I/Os.");
  EXPECT_EQ(FindFamily(*families, "node_disk_flush_requests_total")->help,
            "The total number of flush requests completed successfully");  // no period in node_exporter
  EXPECT_EQ(FindFamily(*families, "node_disk_info")->help, "Info of /sys/block/<block_device>.");
  EXPECT_EQ(FindFamily(*families, "node_disk_io_now")->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(FindFamily(*families, "node_disk_info")->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(FindFamily(*families, "node_disk_read_bytes_total")->type, prometheus::MetricType::Counter);
}

TEST(DiskstatsCollectorTest, CompatOneFiveHasNoRotationalLabel) {
  CollectorOptions options;
  options.compat = NodeExporterCompat::kV1_5;
  options.diskstats_device_exclude = kDebianExclude;  // keeps zram0
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), options);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_disk_info", EmptyInfo("vda", "254", "0")), 1);
  EXPECT_EQ(SampleValue(*families, "node_disk_info", EmptyInfo("zram0", "253", "0")), 1);
  EXPECT_EQ(SampleCount(*families, "node_disk_reads_completed_total"), 2u);
}

TEST(DiskstatsCollectorTest, FieldCountDecidesWhichFamiliesADeviceGets) {
  CollectorOptions options;
  options.diskstats_device_exclude = "";
  options.diskstats_device_include = "^sd[a-c]$";
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), options);
  ASSERT_TRUE(families) << families.error().message;
  const LabelMap sda = {{"device", "sda"}}, sdb = {{"device", "sdb"}}, sdc = {{"device", "sdc"}};
  // sda has 14 fields: "... 505697032 63877960 0 9653880 82621804"
  EXPECT_EQ(SampleValue(*families, "node_disk_written_bytes_total", sda), 505697032.0 * 512);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_io_time_weighted_seconds_total", sda), 82621.804);
  EXPECT_FALSE(SampleValue(*families, "node_disk_discards_completed_total", sda));
  // sdb has 18 fields: "... 68851 0 1925173784 11130"
  EXPECT_EQ(SampleValue(*families, "node_disk_discards_completed_total", sdb), 68851);
  EXPECT_EQ(SampleValue(*families, "node_disk_discarded_sectors_total", sdb), 1925173784);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_discard_time_seconds_total", sdb), 11.13);
  EXPECT_FALSE(SampleValue(*families, "node_disk_flush_requests_total", sdb));
  // sdc has 20 fields: "... 0 0 0 0 127 182"
  EXPECT_EQ(SampleValue(*families, "node_disk_flush_requests_total", sdc), 127);
  EXPECT_DOUBLE_EQ(*SampleValue(*families, "node_disk_flush_requests_time_seconds_total", sdc), 0.182);
  EXPECT_EQ(SampleCount(*families, "node_disk_reads_completed_total"), 3u);
  EXPECT_EQ(SampleCount(*families, "node_disk_flush_requests_total"), 1u);
  // sys/block/sda/queue/rotational is "1"; sdb and sdc have no queue directory in the fixture.
  LabelMap sda_info = EmptyInfo("sda", "8", "0");
  sda_info["rotational"] = "1";
  EXPECT_EQ(SampleValue(*families, "node_disk_info", sda_info), 1);
  LabelMap sdb_info = EmptyInfo("sdb", "8", "0");
  sdb_info["rotational"] = "0";
  EXPECT_EQ(SampleValue(*families, "node_disk_info", sdb_info), 1);
}

TEST(DiskstatsCollectorTest, DefaultExcludeDropsPartitionsLoopAndRamDevices) {
  auto families = CollectOnce(LoadFixtureTree("procfs-0.8.0"), CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  const MetricFamily* reads = FindFamily(*families, "node_disk_reads_completed_total");
  ASSERT_NE(reads, nullptr);
  std::vector<std::string> devices;
  for (const auto& metric : reads->metric) devices.push_back(metric.label.at(0).value);
  std::sort(devices.begin(), devices.end());
  // Kept: whole disks, dm-*, mmcblk* (also its partitions: the pattern has no mmcblk), sr0.
  EXPECT_THAT(devices, ElementsAre("dm-0", "dm-1", "dm-2", "dm-3", "dm-4", "dm-5", "mmcblk0", "mmcblk0p1", "mmcblk0p2",
                                   "nvme0n1", "sda", "sdb", "sdc", "sr0", "vda"));
}

TEST(DiskstatsCollectorTest, UdevPropertiesFillInfoFamilies) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/run/udev/data/b254:0", std::string(kVdaUdev));
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_disk_info",
                        {{"device", "vda"},
                         {"major", "254"},
                         {"minor", "0"},
                         {"model", "QEMU_HARDDISK"},
                         {"path", "pci-0000:00:05.0"},
                         {"revision", "2.5+"},
                         {"rotational", "1"},
                         {"serial", "SCSI-QM00001"},  // 1.12 prefers SCSI_IDENT_SERIAL
                         {"wwn", "0x5000c500a1b2c3d4"}}),
            1);
  EXPECT_EQ(SampleValue(*families, "node_disk_filesystem_info",
                        {{"device", "vda"},
                         {"type", "ext4"},
                         {"usage", "filesystem"},
                         {"uuid", "8e3b9c3a-1f0b-4c6e-9a57-2c1d8f0e7b6a"},
                         {"version", "1.0"}}),
            1);
  EXPECT_EQ(SampleValue(*families, "node_disk_device_mapper_info",
                        {{"device", "vda"},
                         {"lv_layer", ""},
                         {"lv_name", "root"},
                         {"name", "vg0-root"},
                         {"uuid", "LVM-abc"},
                         {"vg_name", "vg0"}}),
            1);
  EXPECT_EQ(SampleValue(*families, "node_disk_ata_rotation_rate_rpm", {{"device", "vda"}}), 7200);
  EXPECT_EQ(SampleValue(*families, "node_disk_ata_write_cache", {{"device", "vda"}}), 1);
  EXPECT_EQ(SampleValue(*families, "node_disk_ata_write_cache_enabled", {{"device", "vda"}}), 0);
  EXPECT_EQ(FindFamily(*families, "node_disk_filesystem_info")->help, "Info about disk filesystem.");
  EXPECT_EQ(FindFamily(*families, "node_disk_device_mapper_info")->help, "Info about disk device mapper.");
  EXPECT_EQ(FindFamily(*families, "node_disk_ata_rotation_rate_rpm")->help,
            "ATA disk rotation rate in RPMs (0 for SSDs).");
  EXPECT_EQ(FindFamily(*families, "node_disk_ata_write_cache")->help, "ATA disk has a write cache.");
  EXPECT_EQ(FindFamily(*families, "node_disk_ata_write_cache_enabled")->help, "ATA disk has its write cache enabled.");
}

TEST(DiskstatsCollectorTest, CompatOneFiveTakesSerialFromIdSerialShort) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/run/udev/data/b254:0", std::string(kVdaUdev));
  CollectorOptions options;
  options.compat = NodeExporterCompat::kV1_5;
  auto families = CollectOnce(reader, options);
  ASSERT_TRUE(families) << families.error().message;
  const MetricFamily* info = FindFamily(*families, "node_disk_info");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(testing::LabelsOf(info->metric.at(0)).at("serial"), "QM00001");
}

TEST(DiskstatsCollectorTest, AtaFamiliesNeedIdAtaAndParsableValues) {
  std::string udev(kVdaUdev);
  udev.replace(udev.find("E:ID_ATA=1\n"), 11, "");
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddFile("/run/udev/data/b254:0", udev);
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_FALSE(FindFamily(*families, "node_disk_ata_rotation_rate_rpm"));

  std::string garbled(kVdaUdev);
  garbled.replace(garbled.find("RPM=7200"), 8, "RPM=fast");
  reader.AddFile("/run/udev/data/b254:0", garbled);
  families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_FALSE(FindFamily(*families, "node_disk_ata_rotation_rate_rpm"));
  EXPECT_EQ(SampleValue(*families, "node_disk_ata_write_cache", {{"device", "vda"}}), 1);
}

TEST(DiskstatsCollectorTest, UnreadableUdevDataOnlyBlanksLabels) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  reader.AddError("/run/udev/data/b254:0",
                  Error{ErrorKind::kRejected, "open /run/udev/data/b254:0: Permission denied"});
  auto families = CollectOnce(reader, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  LabelMap info = EmptyInfo("vda", "254", "0");
  info["rotational"] = "1";
  EXPECT_EQ(SampleValue(*families, "node_disk_info", info), 1);
}

TEST(DiskstatsCollectorTest, ExcludingEverythingEmitsNoFamilies) {
  CollectorOptions options;
  options.diskstats_device_exclude = ".";
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), options);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(FamilyNames(*families), IsEmpty());
}

TEST(DiskstatsCollectorTest, FactoryRejectsBothFiltersAndBadRegex) {
  InMemoryFileReader reader;
  FakeSystem system;
  CollectorOptions both;
  both.diskstats_device_include = "^sd";  // the exclude default is still set
  auto collector = NewDiskstatsCollector(CollectorDeps{reader, system, both});
  ASSERT_FALSE(collector);
  EXPECT_NE(collector.error().message.find("mutually exclusive"), std::string::npos);
  CollectorOptions bad;
  bad.diskstats_device_exclude = "^(sd";
  collector = NewDiskstatsCollector(CollectorDeps{reader, system, bad});
  ASSERT_FALSE(collector);
  EXPECT_NE(collector.error().message.find("--collector.diskstats.device-exclude"), std::string::npos);
}

TEST(DiskstatsCollectorTest, ReadAndParseErrorsPropagate) {
  EXPECT_EQ(CollectOnce(InMemoryFileReader{}, CollectorOptions{}).error().kind, ErrorKind::kNotFound);

  InMemoryFileReader denied;
  denied.AddError("/proc/diskstats", Error{ErrorKind::kRejected, "open /proc/diskstats: Permission denied"});
  EXPECT_EQ(CollectOnce(denied, CollectorOptions{}).error().kind, ErrorKind::kRejected);

  InMemoryFileReader garbled = LoadFixtureTree("host-6.18");
  std::string text = testing::ReadFixture("host-6.18/proc/diskstats");
  text.replace(text.find("27148"), 5, "many");
  garbled.AddFile("/proc/diskstats", text);
  auto families = CollectOnce(garbled, CollectorOptions{});
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_EQ(families.error().message.rfind("/proc/diskstats: line 9: ", 0), 0u) << families.error().message;
}

}  // namespace
}  // namespace topdog::exporter
