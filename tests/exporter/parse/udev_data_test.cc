#include "exporter/parse/udev_data.h"

#include <gtest/gtest.h>

#include <string>

namespace topdog::exporter {
namespace {

// There is no captured udev database (the capture host runs without udev), so this one is typed after the
// format of udevadm(8) and systemd's src/libsystemd/sd-device/device-private.c (S: link, I: init time,
// E: property, G:/Q: tags, V: version).
constexpr std::string_view kDiskData =
    "S:disk/by-id/ata-QEMU_HARDDISK_QM00001\n"
    "S:disk/by-path/pci-0000:00:01.1-ata-1\n"
    "I:1700000000\n"
    "E:ID_ATA=1\n"
    "E:ID_MODEL=QEMU_HARDDISK\n"
    "E:ID_SERIAL_SHORT=QM00001\n"
    "E:ID_FS_UUID=1d4e2a3f=extra\n"
    "E:ID_PATH=pci-0000:00:01.1-ata-1\n"
    "G:systemd\n"
    "Q:systemd\n"
    "V:1\n";

TEST(ParseUdevDataTest, ReadsOnlyPropertyLines) {
  UdevProperties properties = ParseUdevData(kDiskData);
  EXPECT_EQ(properties.size(), 5u);
  EXPECT_EQ(properties.Get("ID_ATA"), "1");
  EXPECT_EQ(properties.Get("ID_MODEL"), "QEMU_HARDDISK");
  EXPECT_EQ(properties.Get("ID_PATH"), "pci-0000:00:01.1-ata-1");
  EXPECT_FALSE(properties.Find("disk/by-id/ata-QEMU_HARDDISK_QM00001"));
  EXPECT_FALSE(properties.Find("systemd"));
}

TEST(ParseUdevDataTest, ValueKeepsEverythingAfterTheFirstEquals) {
  EXPECT_EQ(ParseUdevData(kDiskData).Get("ID_FS_UUID"), "1d4e2a3f=extra");
}

TEST(ParseUdevDataTest, AbsentAndEmptyValuesDiffer) {
  UdevProperties properties = ParseUdevData("E:DM_LV_LAYER=\n");
  ASSERT_TRUE(properties.Find("DM_LV_LAYER"));
  EXPECT_EQ(*properties.Find("DM_LV_LAYER"), "");
  EXPECT_FALSE(properties.Find("DM_NAME"));
  EXPECT_EQ(properties.Get("DM_NAME"), "");
}

TEST(ParseUdevDataTest, RepeatedKeyKeepsTheLastValue) {
  EXPECT_EQ(ParseUdevData("E:ID_MODEL=old\nE:ID_MODEL=new\n").Get("ID_MODEL"), "new");
}

TEST(ParseUdevDataTest, IgnoresMalformedLinesAndCarriageReturns) {
  UdevProperties properties = ParseUdevData("E:NO_EQUALS\nE\nX:ID_MODEL=wrong\ne:ID_MODEL=wrong\nE:ID_WWN=0x5000\r\n");
  EXPECT_EQ(properties.size(), 1u);
  EXPECT_EQ(properties.Get("ID_WWN"), "0x5000");
}

TEST(ParseUdevDataTest, EmptyFileHasNoProperties) { EXPECT_EQ(ParseUdevData("").size(), 0u); }

TEST(ParseUdevDataTest, ParsesTwoHundredKilobyteValue) {
  std::string text(kDiskData);
  text += "E:ID_HUGE=" + std::string(200 * 1024, 'x') + "\nE:ID_REVISION=2.5+\n";
  UdevProperties properties = ParseUdevData(text);
  EXPECT_EQ(properties.Get("ID_HUGE").size(), 200u * 1024);
  EXPECT_EQ(properties.Get("ID_REVISION"), "2.5+");
}

}  // namespace
}  // namespace topdog::exporter
