// The filesystem collector (node_exporter collector/filesystem_linux.go, filesystem_common.go):
// node_filesystem_* gauges from statfs(2) of each mount of PID 1's mount table, filtered by mount point
// and file system type. statfs runs on a StatfsPool bounded by --collector.filesystem.mount-timeout, except
// for local file systems (StatfsIsLocal).
// Not thread-safe (filters cache verdicts); CollectorSet never runs it concurrently.
#include <initializer_list>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
#include "exporter/collectors/statfs_pool.h"
#include "exporter/parse/mountinfo.h"

namespace topdog::exporter {
namespace {

// The device_error label of node_exporter 1.12 for a mount point skipped as stuck.
constexpr std::string_view kMountTimeoutError = "mountpoint timeout";

// node_exporter 1.12 labels a failed statfs with Go's errno text, which is glibc's strerror text with a
// lower-case first letter ("no such file or directory"). System errors end in ": <strerror>".
std::string ErrnoText(const Error& error) {
  if (error.kind == ErrorKind::kDeadlineExceeded) return std::string(kMountTimeoutError);
  std::string_view message = error.message;
  size_t colon = message.rfind(": ");
  std::string text(colon == std::string_view::npos ? message : message.substr(colon + 2));
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

// File systems whose statfs(2) answers from in-memory superblock counters and cannot wait on a network peer
// or a user-space daemon. Their statfs runs inline, saving two thread hand-offs per mount and scrape; NFS,
// CIFS, FUSE, Ceph, ZFS and anything unknown still go through the pool and its mount timeout.
bool StatfsIsLocal(std::string_view fs_type) {
  static const std::unordered_set<std::string_view> kLocal = {
      "btrfs", "devtmpfs", "exfat", "ext2", "ext3", "ext4", "f2fs",    "hugetlbfs", "msdos",
      "overlay", "ramfs", "squashfs", "tmpfs", "vfat", "xfs",  "erofs", "iso9660",   "udf"};
  return kLocal.count(fs_type) != 0;
}

// statfs walks the mount point's path, and the lookup of a component on a network mount can block too: a
// mount may run inline only when it, every mount above it and every mount over it (same path) are local.
bool StatfsMayBlock(const MountEntry& mount, const std::vector<MountEntry>& all) {
  if (!StatfsIsLocal(mount.fs_type)) return true;
  const std::string& path = mount.mount_point;
  for (const MountEntry& other : all) {
    const std::string& prefix = other.mount_point;
    bool above = prefix == "/" || path == prefix ||
                 (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
                  path[prefix.size()] == '/');
    if (above && !StatfsIsLocal(other.fs_type)) return true;
  }
  return false;
}

std::string JoinKey(std::initializer_list<std::string_view> parts) {
  std::string key;
  for (std::string_view part : parts) {
    key.append(part);
    key += '\0';
  }
  return key;
}

class FilesystemCollector final : public Collector {
 public:
  FilesystemCollector(const CollectorDeps& deps, DeviceFilter mount_points, DeviceFilter fs_types)
      : reader_(deps.reader),
        paths_(deps.options.paths),
        compat_(deps.options.compat),
        mount_points_(std::move(mount_points)),
        fs_types_(std::move(fs_types)),
        inline_local_statfs_(deps.options.filesystem_inline_local_statfs),
        pool_(deps.system, deps.options.filesystem_stat_workers, deps.options.filesystem_mount_timeout) {}

  std::string_view Name() const override { return "filesystem"; }

  // Reading the mount table can wait behind a mount or unmount in progress (the namespace lock), and statfs
  // of a network file system can hang: so the run may block unless the kept table is current and every
  // selected mount is local. (A change between this check and the run can still slip through.)
  bool MayBlock() override {
    if (mounts_path_.empty()) return true;
    // poll(2) reports a change once: remember it for the run.
    if (!table_changed_ && !reader_.MountTableUnchanged(mounts_path_)) table_changed_ = true;
    return table_changed_ || any_selected_may_block_;
  }

  Result<std::vector<MetricFamily>> Collect() override {
    auto read = ReadMounts();
    if (!read) return tl::unexpected(read.error());
    const std::vector<MountEntry>& mounts = **read;
    std::vector<Result<StatfsInfo>> results = pool_.StatAll(requests_);

    const bool v1_12 = compat_ == NodeExporterCompat::kV1_12;
    FamilyWriter out = NewWriter();
    const size_t device_error = out.Gauge("node_filesystem_device_error",
                                          "Whether an error occurred while getting statistics for the given device.");
    const size_t readonly = out.Gauge("node_filesystem_readonly", "Filesystem read-only status.");
    const size_t size = out.Gauge("node_filesystem_size_bytes", "Filesystem size in bytes.");
    const size_t free = out.Gauge("node_filesystem_free_bytes", "Filesystem free space in bytes.");
    const size_t avail =
        out.Gauge("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.");
    const size_t files = out.Gauge("node_filesystem_files", "Filesystem total file nodes.");
    const size_t files_free = out.Gauge("node_filesystem_files_free", "Filesystem total free file nodes.");
    const size_t mount_info = out.Gauge("node_filesystem_mount_info", "Filesystem mount information.");

    // node_exporter skips repeated label sets ("expose a metric once, even if there are multiple mounts");
    // what still collides is dropped by client_golang's registry, first one winning, as here.
    std::unordered_set<std::string> seen;
    std::unordered_set<std::string> seen_mount_info;
    for (const Selected& chosen : selected_) {
      const MountEntry* mount = &mounts[chosen.mount];
      const Result<StatfsInfo>& result = results[chosen.request];
      const bool timed_out = !result && result.error().kind == ErrorKind::kDeadlineExceeded;
      const std::string error_text = v1_12 && !result ? ErrnoText(result.error()) : std::string();
      const FamilyWriter::Label label_array[] = {{"device", mount->device},
                                                 {"fstype", mount->fs_type},
                                                 {"mountpoint", mount->mount_point},
                                                 {"device_error", error_text}};
      const std::span<const FamilyWriter::Label> labels(label_array, v1_12 ? 4 : 3);

      if (v1_12) {
        std::string major = std::to_string(mount->major), minor = std::to_string(mount->minor);
        if (seen_mount_info.insert(JoinKey({mount->device, major, minor, mount->mount_point})).second) {
          out.Sample(mount_info, 1.0,
                     {{"device", mount->device}, {"major", major}, {"minor", minor}, {"mountpoint", mount->mount_point}});
        }
      }
      if (!seen.insert(JoinKey({mount->device, mount->fs_type, mount->mount_point, error_text})).second) continue;

      out.Sample(device_error, result ? 0.0 : 1.0, labels);
      // 1.12 reports read-only status even when statfs fails, except for stuck mounts.
      double ro =
          HasMountOption(mount->options, "ro") || (v1_12 && HasMountOption(mount->super_options, "ro")) ? 1.0 : 0.0;
      if (v1_12) out.Sample(readonly, timed_out ? 0.0 : ro, labels);
      if (!result) continue;

      const StatfsInfo& st = *result;
      const double block_size = static_cast<double>(st.block_size);
      out.Sample(size, static_cast<double>(st.blocks) * block_size, labels);
      out.Sample(free, static_cast<double>(st.blocks_free) * block_size, labels);
      out.Sample(avail, static_cast<double>(st.blocks_available) * block_size, labels);
      out.Sample(files, static_cast<double>(st.files), labels);
      out.Sample(files_free, static_cast<double>(st.files_free), labels);
      if (!v1_12) out.Sample(readonly, ro, labels);
    }
    return std::move(out).Finish();
  }

 private:
  // 1.5 reads /proc/1/mounts, 1.12 /proc/1/mountinfo; PID 1's table is the host's even when we run in a
  // container with the host's /proc. With hidepid, fall back to our own view. The parsed table (mount points
  // already stripped of --path.rootfs) is kept while the kernel reports no change to it: reading and
  // parsing mountinfo is a large part of a scrape on hosts with many mounts.
  Result<const std::vector<MountEntry>*> ReadMounts() {
    if (!mounts_path_.empty() && !table_changed_ && reader_.MountTableUnchanged(mounts_path_)) return &mounts_;
    mounts_path_.clear();
    table_changed_ = false;
    const bool v1_5 = compat_ == NodeExporterCompat::kV1_5;
    std::string path = paths_.Proc(v1_5 ? "1/mounts" : "1/mountinfo");
    auto text = reader_.Read(path);
    if (!text && text.error().kind == ErrorKind::kNotFound) {
      path = paths_.Proc(v1_5 ? "mounts" : "self/mountinfo");
      text = reader_.Read(path);
    }
    if (!text) return tl::unexpected(text.error());
    auto mounts = v1_5 ? ParseProcMounts(*text) : ParseMountInfo(*text);
    if (!mounts) return tl::unexpected(mounts.error().WithContext(path));
    for (MountEntry& mount : *mounts) mount.mount_point = StripRootfs(std::move(mount.mount_point));
    mounts_ = std::move(*mounts);
    mounts_path_ = std::move(path);
    // Which mounts may block depends on the table alone: decided here, not on every scrape (quadratic in
    // the number of mounts, which runs into the hundreds on a busy Kubernetes node).
    // So is what to statfs: each selected mount point once, even when it is listed several times
    // (over-mounts), with the first listing's verdict on blocking.
    selected_.clear();
    requests_.clear();
    any_selected_may_block_ = false;
    std::unordered_map<std::string_view, size_t> request_index;
    for (size_t i = 0; i < mounts_.size(); ++i) {
      const MountEntry& mount = mounts_[i];
      if (mount_points_.Ignored(mount.mount_point) || fs_types_.Ignored(mount.fs_type)) continue;
      const bool may_block = !inline_local_statfs_ || StatfsMayBlock(mount, mounts_);
      any_selected_may_block_ = any_selected_may_block_ || may_block;
      auto [it, added] = request_index.emplace(mount.mount_point, requests_.size());
      if (added) requests_.push_back({mount.mount_point, paths_.Root(mount.mount_point), may_block});
      selected_.push_back({i, it->second});
    }
    return &mounts_;
  }

  // node_exporter's rootfsStripPrefix: mount points are reported as seen from --path.rootfs.
  std::string StripRootfs(std::string mount_point) const {
    const std::string& rootfs = paths_.rootfs;
    if (rootfs == "/" || mount_point.compare(0, rootfs.size(), rootfs) != 0) return mount_point;
    mount_point.erase(0, rootfs.size());
    if (mount_point.empty()) return "/";
    return mount_point;
  }

  const FileReader& reader_;
  const Paths paths_;
  const NodeExporterCompat compat_;
  DeviceFilter mount_points_;
  DeviceFilter fs_types_;
  const bool inline_local_statfs_;
  std::vector<MountEntry> mounts_;  // the last parsed table, valid while mounts_path_ is set
  struct Selected {
    size_t mount;    // index in mounts_
    size_t request;  // index in requests_
  };
  std::vector<Selected> selected_;                // the mounts that pass the filters, in table order
  std::vector<StatfsPool::Request> requests_;     // what StatAll runs each scrape
  bool any_selected_may_block_ = false;           // some request goes through the pool
  bool table_changed_ = false;           // MayBlock saw the kernel report a change of the table
  std::string mounts_path_;
  StatfsPool pool_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewFilesystemCollector(const CollectorDeps& deps) {
  const CollectorOptions& options = deps.options;
  auto mount_points = DeviceFilter::Create("collector.filesystem.mount-points", options.filesystem_mount_points_exclude,
                                           options.filesystem_mount_points_include);
  if (!mount_points) return tl::unexpected(mount_points.error());
  auto fs_types = DeviceFilter::Create("collector.filesystem.fs-types", options.filesystem_fs_types_exclude,
                                       options.filesystem_fs_types_include);
  if (!fs_types) return tl::unexpected(fs_types.error());
  return std::make_unique<FilesystemCollector>(deps, std::move(*mount_points), std::move(*fs_types));
}

}  // namespace topdog::exporter
