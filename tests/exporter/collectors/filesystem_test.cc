#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::HangingSystem;

using ::testing::ElementsAre;
using testing::FakeSystem;
using testing::FamilyNames;
using testing::FindFamily;
using testing::LabelMap;
using testing::LoadFixtureTree;
using testing::ReadFixture;
using testing::SampleCount;
using testing::SampleValue;

constexpr const char* kPython = "/mnt/sandboxing/model_tools_env/v1/python";

// Made-up statfs answers (the fixture has the mount tables only).
StatfsInfo RootStatfs() {
  StatfsInfo st;
  st.block_size = 4096;
  st.blocks = 66053021;
  st.blocks_free = 61760000;
  st.blocks_available = 20790000;
  st.files = 16777216;
  st.files_free = 16348168;
  return st;
}

StatfsInfo TmpfsStatfs() {
  StatfsInfo st;
  st.block_size = 4096;
  st.blocks = 1;
  st.blocks_free = 1;
  st.blocks_available = 1;
  st.files = 6170000;
  st.files_free = 6169990;
  return st;
}

FakeSystem HostSystem() {
  FakeSystem system;
  system.statfs["/"] = RootStatfs();
  system.statfs[kPython] = TmpfsStatfs();
  return system;
}

Result<std::vector<MetricFamily>> CollectOnce(const FileReader& reader, const System& system,
                                              const CollectorOptions& options) {
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, options});
  EXPECT_TRUE(collector) << collector.error().message;
  if (!collector) return tl::unexpected(collector.error());
  return (*collector)->Collect();
}

LabelMap Labels112(const std::string& device, const std::string& fstype, const std::string& mountpoint,
                   const std::string& device_error = "") {
  return {{"device", device}, {"device_error", device_error}, {"fstype", fstype}, {"mountpoint", mountpoint}};
}

LabelMap Labels15(const std::string& device, const std::string& fstype, const std::string& mountpoint) {
  return {{"device", device}, {"fstype", fstype}, {"mountpoint", mountpoint}};
}

TEST(FilesystemCollectorTest, HostFixtureWithDefaultFilters) {
  FakeSystem system = HostSystem();
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  // /proc/1/mountinfo: the defaults drop /proc, /sys*, /dev* and the cgroup, devpts, ... types, leaving
  // "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,..." and the read-only tmpfs on kPython.
  const LabelMap root = Labels112("/dev/vda", "ext4", "/");
  EXPECT_EQ(SampleValue(*families, "node_filesystem_size_bytes", root), 66053021.0 * 4096);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_free_bytes", root), 61760000.0 * 4096);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_avail_bytes", root), 20790000.0 * 4096);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_files", root), 16777216);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_files_free", root), 16348168);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_readonly", root), 0);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", root), 0);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_mount_info",
                        {{"device", "/dev/vda"}, {"major", "254"}, {"minor", "0"}, {"mountpoint", "/"}}),
            1);
  const LabelMap python = Labels112("model_tools_unavailable", "tmpfs", kPython);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_readonly", python), 1);  // "ro,nosuid,nodev,relatime"
  EXPECT_EQ(SampleValue(*families, "node_filesystem_size_bytes", python), 4096);
  EXPECT_EQ(
      SampleValue(*families, "node_filesystem_mount_info",
                  {{"device", "model_tools_unavailable"}, {"major", "0"}, {"minor", "25"}, {"mountpoint", kPython}}),
      1);
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 2u);
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("node_filesystem_avail_bytes", "node_filesystem_device_error", "node_filesystem_files",
                          "node_filesystem_files_free", "node_filesystem_free_bytes", "node_filesystem_mount_info",
                          "node_filesystem_readonly", "node_filesystem_size_bytes"));
  EXPECT_EQ(FindFamily(*families, "node_filesystem_size_bytes")->help, "Filesystem size in bytes.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_free_bytes")->help, "Filesystem free space in bytes.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_avail_bytes")->help,
            "Filesystem space available to non-root users in bytes.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_files")->help, "Filesystem total file nodes.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_files_free")->help, "Filesystem total free file nodes.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_readonly")->help, "Filesystem read-only status.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_device_error")->help,
            "Whether an error occurred while getting statistics for the given device.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_mount_info")->help, "Filesystem mount information.");
  EXPECT_EQ(FindFamily(*families, "node_filesystem_size_bytes")->type, prometheus::MetricType::Gauge);
}

TEST(FilesystemCollectorTest, CompatOneFiveReadsProcMountsWithoutDeviceErrorLabel) {
  FakeSystem system = HostSystem();
  CollectorOptions options;
  options.compat = NodeExporterCompat::kV1_5;
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system, options);
  ASSERT_TRUE(families) << families.error().message;
  // /proc/1/mounts: "/dev/vda / ext4 rw,relatime,discard,... 0 0"
  EXPECT_EQ(SampleValue(*families, "node_filesystem_size_bytes", Labels15("/dev/vda", "ext4", "/")), 66053021.0 * 4096);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_readonly", Labels15("model_tools_unavailable", "tmpfs", kPython)),
            1);
  EXPECT_FALSE(FindFamily(*families, "node_filesystem_mount_info"));
}

TEST(FilesystemCollectorTest, FallsBackToOwnMountTableWhenPidOneIsHidden) {
  FakeSystem system = HostSystem();
  InMemoryFileReader reader;  // hidepid: no /proc/1
  reader.AddFile("/proc/self/mountinfo", ReadFixture("host-6.18/proc/1/mountinfo"));
  reader.AddFile("/proc/mounts", ReadFixture("host-6.18/proc/mounts"));
  auto families = CollectOnce(reader, system, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 2u);
  CollectorOptions v15;
  v15.compat = NodeExporterCompat::kV1_5;
  families = CollectOnce(reader, system, v15);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 2u);
}

TEST(FilesystemCollectorTest, StatfsErrorSetsDeviceErrorAndKeepsReadonly) {
  FakeSystem system;
  system.statfs["/"] = RootStatfs();  // kPython answers ENOENT
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system, CollectorOptions{});
  ASSERT_TRUE(families) << families.error().message;
  const LabelMap python = Labels112("model_tools_unavailable", "tmpfs", kPython, "no such file or directory");
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", python), 1);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_readonly", python), 1);
  EXPECT_FALSE(SampleValue(*families, "node_filesystem_size_bytes", python));
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 1u);

  CollectorOptions v15;
  v15.compat = NodeExporterCompat::kV1_5;
  families = CollectOnce(LoadFixtureTree("host-6.18"), system, v15);
  ASSERT_TRUE(families) << families.error().message;
  const LabelMap python15 = Labels15("model_tools_unavailable", "tmpfs", kPython);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", python15), 1);
  EXPECT_FALSE(SampleValue(*families, "node_filesystem_readonly", python15));  // 1.5 stops at the error
}

TEST(FilesystemCollectorTest, DuplicateMountsAreReportedOnce) {
  FakeSystem system = HostSystem();
  system.statfs["/dev/shm"] = TmpfsStatfs();
  system.statfs["/dev/pts"] = TmpfsStatfs();
  CollectorOptions options;
  options.filesystem_mount_points_include = "^/dev/";
  options.filesystem_mount_points_exclude = "";
  options.filesystem_fs_types_exclude = "";
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system, options);
  ASSERT_TRUE(families) << families.error().message;
  // /dev/shm is mounted twice (0:23 and 0:27), /dev/pts twice (0:24 and 0:26).
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 2u);
  EXPECT_EQ(SampleCount(*families, "node_filesystem_device_error"), 2u);
  EXPECT_EQ(SampleCount(*families, "node_filesystem_mount_info"), 4u);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_mount_info",
                        {{"device", "tmpfs"}, {"major", "0"}, {"minor", "27"}, {"mountpoint", "/dev/shm"}}),
            1);

  CollectorOptions v15;  // 1.5 has no include flag; an exclude that keeps only /dev/...
  v15.compat = NodeExporterCompat::kV1_5;
  v15.filesystem_mount_points_exclude = "^/(proc|sys|mnt)|^/$";
  v15.filesystem_fs_types_exclude = "";
  families = CollectOnce(LoadFixtureTree("host-6.18"), system, v15);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 2u);  // /dev/shm, /dev/pts (/dev: no answer)
  EXPECT_EQ(SampleCount(*families, "node_filesystem_device_error"), 3u);
}

TEST(FilesystemCollectorTest, FiltersByMountPointAndFsType) {
  FakeSystem system = HostSystem();
  CollectorOptions by_type;
  by_type.filesystem_fs_types_exclude = "";
  by_type.filesystem_fs_types_include = "^ext4$";
  auto families = CollectOnce(LoadFixtureTree("host-6.18"), system, by_type);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 1u);
  EXPECT_TRUE(SampleValue(*families, "node_filesystem_size_bytes", Labels112("/dev/vda", "ext4", "/")));

  CollectorOptions by_mount;
  by_mount.filesystem_mount_points_exclude = "^/mnt/";
  families = CollectOnce(LoadFixtureTree("host-6.18"), system, by_mount);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleCount(*families, "node_filesystem_size_bytes"), 1u);
}

TEST(FilesystemCollectorTest, RootfsPrefixIsUsedForStatfsAndStrippedFromLabels) {
  FakeSystem system;
  system.statfs["/host"] = RootStatfs();
  system.statfs["/host/data"] = TmpfsStatfs();
  std::string mountinfo = ReadFixture("host-6.18/proc/1/mountinfo");
  mountinfo.replace(mountinfo.find(kPython), std::string_view(kPython).size(), "/host/data");
  InMemoryFileReader reader;
  reader.AddFile("/proc/1/mountinfo", mountinfo);
  CollectorOptions options;
  options.paths.rootfs = "/host";
  auto families = CollectOnce(reader, system, options);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_filesystem_size_bytes", Labels112("/dev/vda", "ext4", "/")),
            66053021.0 * 4096);
  EXPECT_EQ(
      SampleValue(*families, "node_filesystem_size_bytes", Labels112("model_tools_unavailable", "tmpfs", "/data")),
      4096);
}

TEST(FilesystemCollectorTest, FactoryRejectsBothFiltersAndBadRegex) {
  InMemoryFileReader reader;
  FakeSystem system;
  CollectorOptions both;
  both.filesystem_fs_types_include = "^ext4$";  // the exclude default is still set
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, both});
  ASSERT_FALSE(collector);
  EXPECT_NE(collector.error().message.find("--collector.filesystem.fs-types-exclude and "
                                           "--collector.filesystem.fs-types-include are mutually exclusive"),
            std::string::npos)
      << collector.error().message;
  CollectorOptions bad;
  bad.filesystem_mount_points_exclude = "[";
  EXPECT_FALSE(NewFilesystemCollector(CollectorDeps{reader, system, bad}));
}

TEST(FilesystemCollectorTest, MountTableErrorsPropagate) {
  FakeSystem system = HostSystem();
  EXPECT_EQ(CollectOnce(InMemoryFileReader{}, system, CollectorOptions{}).error().kind, ErrorKind::kNotFound);

  InMemoryFileReader denied;
  denied.AddError("/proc/1/mountinfo", Error{ErrorKind::kRejected, "open /proc/1/mountinfo: Permission denied"});
  denied.AddFile("/proc/self/mountinfo", ReadFixture("host-6.18/proc/1/mountinfo"));
  EXPECT_EQ(CollectOnce(denied, system, CollectorOptions{}).error().kind, ErrorKind::kRejected);  // no fallback

  std::string truncated = ReadFixture("host-6.18/proc/1/mountinfo");
  truncated = truncated.substr(0, truncated.find(" - ext4"));
  InMemoryFileReader reader;
  reader.AddFile("/proc/1/mountinfo", truncated);
  auto families = CollectOnce(reader, system, CollectorOptions{});
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().kind, ErrorKind::kBadData);
  EXPECT_EQ(families.error().message.rfind("/proc/1/mountinfo: line 6: ", 0), 0u) << families.error().message;
}


TEST(FilesystemCollectorTest, HungMountIsReportedAsTimeoutAndNotRetriedWhileStuck) {
  HangingSystem system;
  system.statfs["/"] = RootStatfs();
  system.statfs[kPython] = TmpfsStatfs();
  system.hung = {"/"};
  CollectorOptions options;
  options.filesystem_mount_timeout = std::chrono::milliseconds(50);
  options.filesystem_inline_local_statfs = false;  // the fixture's "/" is ext4, which would be statted inline
  options.filesystem_stat_workers = 2;
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector) << collector.error().message;

  for (int scrape = 0; scrape < 2; ++scrape) {
    auto families = (*collector)->Collect();
    ASSERT_TRUE(families) << families.error().message;
    const LabelMap root = Labels112("/dev/vda", "ext4", "/", "mountpoint timeout");
    EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", root), 1) << "scrape " << scrape;
    EXPECT_EQ(SampleValue(*families, "node_filesystem_readonly", root), 0);
    EXPECT_FALSE(SampleValue(*families, "node_filesystem_size_bytes", root));
    // The other mount is unaffected.
    EXPECT_EQ(
        SampleValue(*families, "node_filesystem_size_bytes", Labels112("model_tools_unavailable", "tmpfs", kPython)),
        4096);
  }
  EXPECT_EQ(system.Calls("/"), 1);  // the stuck mount was not submitted again
  EXPECT_EQ(system.Calls(kPython), 2);
  system.Release();  // the collector's destructor joins the worker once its statfs returns
}

TEST(FilesystemCollectorTest, CompatOneFiveReportsHungMountWithoutLabel) {
  HangingSystem system;
  system.statfs[kPython] = TmpfsStatfs();
  system.hung = {"/"};
  CollectorOptions options;
  options.compat = NodeExporterCompat::kV1_5;
  options.filesystem_mount_timeout = std::chrono::milliseconds(50);
  options.filesystem_inline_local_statfs = false;  // the fixture's "/" is ext4, which would be statted inline
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector) << collector.error().message;
  auto families = (*collector)->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", Labels15("/dev/vda", "ext4", "/")), 1);
  system.Release();
}

TEST(FilesystemCollectorTest, LocalMountsAreStattedInlineAndNetworkOnesOnThePool) {
  // An ext4 below an NFS mount and an ext4 under an NFS over-mount go through the pool too: their path
  // lookup or statfs reaches the NFS server.
  InMemoryFileReader reader;
  reader.AddFile("/proc/1/mountinfo",
                 "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
                 "2 1 0:50 / /mnt/nfs rw - nfs4 server:/export rw\n"
                 "3 2 254:16 / /mnt/nfs/inner rw - ext4 /dev/vdb rw\n"
                 "4 1 254:32 / /data rw - xfs /dev/vdc rw\n"
                 "5 1 254:48 / /shadowed rw - ext4 /dev/vdd rw\n"
                 "6 5 0:51 / /shadowed rw - nfs4 server:/other rw\n");
  HangingSystem system;
  for (const char* path : {"/", "/data", "/mnt/nfs", "/mnt/nfs/inner", "/shadowed"}) system.statfs[path] = RootStatfs();
  system.hung = {"/mnt/nfs", "/mnt/nfs/inner", "/shadowed"};
  CollectorOptions options;
  options.filesystem_mount_timeout = std::chrono::milliseconds(50);
  options.filesystem_stat_workers = 3;
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector) << collector.error().message;

  auto families = (*collector)->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_filesystem_size_bytes", Labels112("/dev/vda", "ext4", "/")),
            4096.0 * 66053021);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", Labels112("/dev/vdc", "xfs", "/data")), 0);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error",
                        Labels112("server:/export", "nfs4", "/mnt/nfs", "mountpoint timeout")),
            1);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error",
                        Labels112("/dev/vdb", "ext4", "/mnt/nfs/inner", "mountpoint timeout")),
            1);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error",
                        Labels112("/dev/vdd", "ext4", "/shadowed", "mountpoint timeout")),
            1);
  EXPECT_EQ(system.Thread("/"), std::this_thread::get_id());
  EXPECT_EQ(system.Thread("/data"), std::this_thread::get_id());
  EXPECT_NE(system.Thread("/mnt/nfs"), std::this_thread::get_id());
  system.Release();
}

// A reader whose kept mount table is current until the test says it changed (poll(2) POLLPRI once).
class WatchedMountsReader : public InMemoryFileReader {
 public:
  bool MountTableUnchanged(const std::string& path) const override {
    (void)path;
    return !changed_.exchange(false);
  }
  void Change() { changed_ = true; }

 private:
  mutable std::atomic<bool> changed_{false};
};

TEST(FilesystemCollectorTest, MayBlockUntilTheTableIsKeptAndWhenItChangesOrANetworkMountIsSelected) {
  WatchedMountsReader reader;
  reader.AddFile("/proc/1/mountinfo", "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw\n");
  FakeSystem system;
  system.statfs["/"] = RootStatfs();
  system.statfs["/data"] = RootStatfs();
  auto collector = NewFilesystemCollector(CollectorDeps{reader, system, CollectorOptions{}});
  ASSERT_TRUE(collector) << collector.error().message;
  Collector& fs = **collector;
  EXPECT_TRUE(fs.MayBlock());  // the table has to be read
  ASSERT_TRUE(fs.Collect());
  EXPECT_FALSE(fs.MayBlock());  // kept, current, all local

  // The kernel reports a change to MayBlock; the run still reads the new table although a second poll(2)
  // would say nothing.
  reader.AddFile("/proc/1/mountinfo",
                 "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw\n2 1 254:32 / /data rw - xfs /dev/vdc rw\n");
  reader.Change();
  EXPECT_TRUE(fs.MayBlock());
  auto families = fs.Collect();
  ASSERT_TRUE(families);
  EXPECT_EQ(SampleValue(*families, "node_filesystem_device_error", Labels112("/dev/vdc", "xfs", "/data")), 0);
  EXPECT_FALSE(fs.MayBlock());

  // A selected network mount: its statfs may hang, so the run may block even with the table kept.
  reader.AddFile("/proc/1/mountinfo",
                 "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw\n2 1 0:50 / /mnt/nfs rw - nfs4 server:/export rw\n");
  reader.Change();
  system.statfs["/mnt/nfs"] = RootStatfs();
  ASSERT_TRUE(fs.Collect());
  EXPECT_TRUE(fs.MayBlock());
  // Unless the filters leave it out.
  CollectorOptions options;
  options.filesystem_fs_types_exclude = "^nfs4$";
  auto filtered = NewFilesystemCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(filtered);
  ASSERT_TRUE((*filtered)->Collect());
  EXPECT_FALSE((*filtered)->MayBlock());
}

}  // namespace
}  // namespace topdog::exporter
