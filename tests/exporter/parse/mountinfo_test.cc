#include "exporter/parse/mountinfo.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::ReadFixture;

TEST(ParseMountInfoTest, ParsesHostFixture) {
  auto mounts = ParseMountInfo(ReadFixture("host-6.18/proc/1/mountinfo"));
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 20u);
  // "22 27 0:21 / /proc rw,relatime - proc proc rw"
  EXPECT_EQ((*mounts)[0].mount_point, "/proc");
  EXPECT_EQ((*mounts)[0].device, "proc");
  EXPECT_EQ((*mounts)[0].major, 0u);
  EXPECT_EQ((*mounts)[0].minor, 21u);
  // "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534"
  const MountEntry& root = (*mounts)[5];
  EXPECT_EQ(root.mount_point, "/");
  EXPECT_EQ(root.device, "/dev/vda");
  EXPECT_EQ(root.fs_type, "ext4");
  EXPECT_EQ(root.options, "rw,relatime");
  EXPECT_EQ(root.super_options, "rw,discard,resv_strict,resuid=65534,resgid=65534");
  EXPECT_EQ(root.major, 254u);
  EXPECT_EQ(root.minor, 0u);
  // "28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs
  //  model_tools_unavailable ro,size=4k,mode=755"
  const MountEntry& python = (*mounts)[6];
  EXPECT_EQ(python.mount_point, "/mnt/sandboxing/model_tools_env/v1/python");
  EXPECT_EQ(python.device, "model_tools_unavailable");
  EXPECT_TRUE(HasMountOption(python.options, "ro"));
  EXPECT_TRUE(HasMountOption(python.super_options, "ro"));
  // "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw"
  EXPECT_EQ(mounts->back().fs_type, "cgroup2");
  EXPECT_EQ(mounts->back().minor, 38u);
}

TEST(ParseMountInfoTest, SkipsOptionalFieldsBeforeTheSeparator) {
  // The host fixture line for / with propagation fields added, as on systemd hosts.
  std::string line = ReadFixture("host-6.18/proc/1/mountinfo");
  line = line.substr(line.find("27 1 254:0"));
  line = line.substr(0, line.find('\n'));
  line.replace(line.find(" - "), 3, " shared:1 master:2 - ");
  auto mounts = ParseMountInfo(line);
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].device, "/dev/vda");
  EXPECT_EQ((*mounts)[0].fs_type, "ext4");
}

TEST(ParseMountInfoTest, UnescapesMountPointButNotDevice) {
  std::string text = ReadFixture("host-6.18/proc/1/mountinfo");
  size_t at = text.find("/mnt/sandboxing/model_tools_env");
  text.replace(at, 4, "/my\\040mnt\\011tab\\134back\\012nl");
  size_t source = text.find("model_tools_unavailable");
  text.replace(source, 5, "a\\040b");
  auto mounts = ParseMountInfo(text);
  ASSERT_TRUE(mounts) << mounts.error().message;
  EXPECT_EQ((*mounts)[6].mount_point, "/my mnt\ttab\\back\nnl/sandboxing/model_tools_env/v1/python");
  EXPECT_EQ((*mounts)[6].device, "a\\040b_tools_unavailable");
}

TEST(ParseMountInfoTest, EmptyFileAndBlankLinesHaveNoMounts) {
  auto mounts = ParseMountInfo("\n\n");
  ASSERT_TRUE(mounts);
  EXPECT_TRUE(mounts->empty());
}

TEST(ParseMountInfoTest, TruncatedLineIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/1/mountinfo");
  text = text.substr(0, text.find(" - ext4"));  // line 6 stops before the separator
  auto mounts = ParseMountInfo(text);
  ASSERT_FALSE(mounts);
  EXPECT_EQ(mounts.error().kind, ErrorKind::kBadData);
  EXPECT_NE(mounts.error().message.find("line 6: too few fields"), std::string::npos) << mounts.error().message;
}

TEST(ParseMountInfoTest, MissingSeparatorIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/1/mountinfo");
  text.replace(text.find(" - ext4"), 3, " + ");
  auto mounts = ParseMountInfo(text);
  ASSERT_FALSE(mounts);
  EXPECT_NE(mounts.error().message.find("line 6: field 7: expected the separator"), std::string::npos)
      << mounts.error().message;
}

TEST(ParseMountInfoTest, BadMajorMinorOrIdIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/1/mountinfo");
  std::string bad_dev = text;
  bad_dev.replace(bad_dev.find("254:0"), 5, "254-0");
  auto mounts = ParseMountInfo(bad_dev);
  ASSERT_FALSE(mounts);
  EXPECT_NE(mounts.error().message.find("line 6: field 3 (major:minor)"), std::string::npos) << mounts.error().message;
  std::string bad_id = text;
  bad_id.replace(0, 2, "x2");
  mounts = ParseMountInfo(bad_id);
  ASSERT_FALSE(mounts);
  EXPECT_NE(mounts.error().message.find("line 1: field 1 (mount id)"), std::string::npos) << mounts.error().message;
}

TEST(ParseMountInfoTest, ParsesTwoHundredKilobyteMountPoint) {
  std::string text = ReadFixture("host-6.18/proc/1/mountinfo");
  std::string long_path = "/" + std::string(200 * 1024, 'd');
  text.replace(text.find("/mnt/sandboxing/model_tools_env/v1/python"), 41, long_path);
  auto mounts = ParseMountInfo(text);
  ASSERT_TRUE(mounts) << mounts.error().message;
  EXPECT_EQ((*mounts)[6].mount_point, long_path);
  EXPECT_EQ((*mounts)[6].fs_type, "tmpfs");
}

TEST(ParseProcMountsTest, ParsesHostFixtureIncludingDuplicates) {
  auto mounts = ParseProcMounts(ReadFixture("host-6.18/proc/1/mounts"));
  ASSERT_TRUE(mounts) << mounts.error().message;
  ASSERT_EQ(mounts->size(), 20u);
  // "/dev/vda / ext4 rw,relatime,discard,resv_strict,resuid=65534,resgid=65534 0 0"
  EXPECT_EQ((*mounts)[5].device, "/dev/vda");
  EXPECT_EQ((*mounts)[5].mount_point, "/");
  EXPECT_EQ((*mounts)[5].fs_type, "ext4");
  EXPECT_EQ((*mounts)[5].options, "rw,relatime,discard,resv_strict,resuid=65534,resgid=65534");
  // "tmpfs /dev/shm tmpfs rw,relatime,size=24684084k 0 0" appears twice (lines 4 and 9)
  EXPECT_EQ((*mounts)[3].mount_point, "/dev/shm");
  EXPECT_EQ((*mounts)[8].mount_point, "/dev/shm");
  EXPECT_TRUE(HasMountOption((*mounts)[6].options, "ro"));
  EXPECT_FALSE(HasMountOption((*mounts)[5].options, "ro"));
}

TEST(ParseProcMountsTest, UnescapesMountPoint) {
  auto mounts = ParseProcMounts("/dev/sdb1 /media/usb\\040disk vfat rw 0 0\n");
  ASSERT_TRUE(mounts);
  EXPECT_EQ((*mounts)[0].mount_point, "/media/usb disk");
}

TEST(ParseProcMountsTest, LineWithFewerThanFourFieldsIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/1/mounts");
  text = text.substr(0, text.find(" ext4"));  // line 6 is "/dev/vda /"
  auto mounts = ParseProcMounts(text);
  ASSERT_FALSE(mounts);
  EXPECT_EQ(mounts.error().kind, ErrorKind::kBadData);
  EXPECT_NE(mounts.error().message.find("line 6: malformed mount point information"), std::string::npos)
      << mounts.error().message;
}

TEST(ParseProcMountsTest, EmptyFileHasNoMounts) {
  auto mounts = ParseProcMounts("");
  ASSERT_TRUE(mounts);
  EXPECT_TRUE(mounts->empty());
}

TEST(HasMountOptionTest, MatchesWholeOptionsOnly) {
  EXPECT_TRUE(HasMountOption("ro", "ro"));
  EXPECT_TRUE(HasMountOption("rw,nosuid,ro", "ro"));
  EXPECT_FALSE(HasMountOption("rw,errors=remount-ro", "ro"));
  EXPECT_FALSE(HasMountOption("", "ro"));
  EXPECT_FALSE(HasMountOption("rootcontext=x", "ro"));
}

TEST(UnescapeMountPathTest, LeavesUnknownEscapesAndShortTailsAlone) {
  EXPECT_EQ(UnescapeMountPath("a\\101b"), "a\\101b");
  EXPECT_EQ(UnescapeMountPath("a\\04"), "a\\04");
  EXPECT_EQ(UnescapeMountPath("\\040"), " ");
  EXPECT_EQ(UnescapeMountPath("x\\"), "x\\");
}

}  // namespace
}  // namespace topdog::exporter
