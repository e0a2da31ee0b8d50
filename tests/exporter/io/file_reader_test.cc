#include "exporter/io/file_reader.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace topdog::exporter {
namespace {

// "rchar: N" of /proc/self/io: bytes this process has read so far, so it grows with every read.
long long Rchar(const std::string& io) {
  size_t at = io.find("rchar: ");
  EXPECT_NE(at, std::string::npos) << io;
  return std::atoll(io.c_str() + at + 7);
}

TEST(DiskFileReaderTest, KeptProcFileIsRegeneratedOnEveryRead) {
  DiskFileReader reader(16 << 20, {"/proc"});
  auto first = reader.Read("/proc/self/io");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(reader.OpenFiles(), 1u);
  auto second = reader.Read("/proc/self/io");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(reader.OpenFiles(), 1u);  // the same descriptor, read again from offset 0
  EXPECT_GT(Rchar(*second), Rchar(*first));
}

TEST(DiskFileReaderTest, PerProcessFilesOfOtherPidsAreNotKept) {
  DiskFileReader reader(16 << 20, {"/proc/"});
  ASSERT_TRUE(reader.Read("/proc/" + std::to_string(getpid()) + "/stat"));
  ASSERT_TRUE(reader.Read("/proc/thread-self/stat"));
  EXPECT_EQ(reader.OpenFiles(), 0u);
  ASSERT_TRUE(reader.Read("/proc/loadavg"));
  EXPECT_EQ(reader.OpenFiles(), 1u);
}

TEST(DiskFileReaderTest, SysfsFilesAreKeptUnderTheirRoot) {
  DiskFileReader reader(16 << 20, {"/proc", "/sys"});
  auto first = reader.Read("/sys/devices/system/cpu/online");
  ASSERT_TRUE(first) << first.error().message;
  auto second = reader.Read("/sys/devices/system/cpu/online");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(reader.OpenFiles(), 1u);
}

TEST(DiskFileReaderTest, KeptDirectoryIsListedAfreshEachTime) {
  DiskFileReader reader(16 << 20, {"/proc"});
  auto before = reader.ListDir("/proc/self/fd");
  ASSERT_TRUE(before) << before.error().message;
  EXPECT_EQ(reader.OpenFiles(), 1u);
  int fd = ::open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto after = reader.ListDir("/proc/self/fd");
  ::close(fd);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_EQ(after->size(), before->size() + 1);
  EXPECT_NE(std::find(after->begin(), after->end(), std::to_string(fd)), after->end());
  EXPECT_EQ(reader.OpenFiles(), 1u);
  auto missing = reader.ListDir("/proc/no-such-dir");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST(DiskFileReaderTest, WithoutRootNothingIsKept) {
  DiskFileReader reader;
  ASSERT_TRUE(reader.Read("/proc/loadavg"));
  EXPECT_EQ(reader.OpenFiles(), 0u);
}

TEST(DiskFileReaderTest, MissingFileIsNotFoundAndNotKept) {
  DiskFileReader reader(16 << 20, {"/proc"});
  auto text = reader.Read("/proc/no-such-file");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(text.error().message.find("/proc/no-such-file"), std::string::npos);
  EXPECT_EQ(reader.OpenFiles(), 0u);
}

TEST(DiskFileReaderTest, SizeLimitIsExactAndReadsLargeFilesWhole) {
  auto dir = std::filesystem::temp_directory_path() / ("file_reader_test." + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string big(100000, 'x');
  big[99999] = 'y';
  std::ofstream((dir / "big").string()) << big;
  std::ofstream((dir / "limit").string()) << std::string(100, 'z');

  DiskFileReader reader(100000, {dir.string()});  // kept open: the second read starts from the size hint
  for (int i = 0; i < 2; ++i) {
    auto text = reader.Read((dir / "big").string());
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_EQ(*text, big);
  }
  DiskFileReader small(99);
  auto over = small.Read((dir / "limit").string());
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().kind, ErrorKind::kBadData);
  DiskFileReader exact(100);
  EXPECT_EQ(exact.Read((dir / "limit").string()).value_or(""), std::string(100, 'z'));
  std::filesystem::remove_all(dir);
}

TEST(DiskFileReaderTest, MountTableUnchangedOnlyForAKeptMountTable) {
  DiskFileReader reader(16 << 20, {"/proc"});
  EXPECT_FALSE(reader.MountTableUnchanged("/proc/self/mountinfo"));  // never read
  ASSERT_TRUE(reader.Read("/proc/loadavg"));
  EXPECT_FALSE(reader.MountTableUnchanged("/proc/loadavg"));  // not a mount table
  DiskFileReader not_kept;
  ASSERT_TRUE(not_kept.Read("/proc/self/mountinfo"));
  EXPECT_FALSE(not_kept.MountTableUnchanged("/proc/self/mountinfo"));
}

// Mounts a tmpfs in a private mount namespace (a forked child, as root) and checks that the kept mountinfo
// reports the change, then reports "unchanged" again once read.
TEST(DiskFileReaderTest, MountTableChangeIsSeenAfterAMount) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(77);
    char dir[] = "/tmp/mountinfo_test.XXXXXX";
    if (mkdtemp(dir) == nullptr) _exit(10);
    DiskFileReader reader(16 << 20, {"/proc"});
    if (!reader.Read("/proc/self/mountinfo")) _exit(11);
    if (!reader.MountTableUnchanged("/proc/self/mountinfo")) _exit(12);
    if (mount("none", dir, "tmpfs", 0, nullptr) != 0) _exit(77);
    int code = 0;
    if (reader.MountTableUnchanged("/proc/self/mountinfo")) code = 13;  // the mount must be seen
    auto text = reader.Read("/proc/self/mountinfo");
    if (code == 0 && (!text || text->find(dir) == std::string::npos)) code = 14;
    if (code == 0 && !reader.MountTableUnchanged("/proc/self/mountinfo")) code = 15;
    umount(dir);
    rmdir(dir);
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "needs CAP_SYS_ADMIN to mount in a private namespace";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "12: unchanged table reported as changed; 13: mount not seen; "
                                       "14: new mount missing from the text; 15: not unchanged after reading";
}

}  // namespace
}  // namespace topdog::exporter
