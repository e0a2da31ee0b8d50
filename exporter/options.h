// Collector options set by node_exporter-compatible flags (defaults as in node_exporter 1.12.1).
// A plain value type; read-only once the collectors are built.
#pragma once

#include <chrono>
#include <string>

#include "exporter/access_log_options.h"
#include "exporter/gateway_options.h"
#include "exporter/io/file_reader.h"

namespace topdog::exporter {

// Which node_exporter release's label sets to emit. 1.12 (default) is upstream's current one; 1.5 matches
// Debian 12's prometheus-node-exporter 1.5.0 exactly (no device_error label on node_filesystem_*, no
// rotational label on node_disk_info, no node_filesystem_mount_info, no node_pressure_irq_*).
enum class NodeExporterCompat { kV1_5, kV1_12 };

struct CollectorOptions {
  Paths paths;
  NodeExporterCompat compat = NodeExporterCompat::kV1_12;

  // cpu
  bool cpu_guest = true;
  bool cpu_info = false;
  std::string cpu_info_flags_include;  // regex; empty = none
  std::string cpu_info_bugs_include;

  // diskstats
  std::string diskstats_device_exclude = R"(^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$)";
  std::string diskstats_device_include;

  // filesystem
  std::string filesystem_mount_points_exclude =
      R"(^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/))";
  std::string filesystem_mount_points_include;
  std::string filesystem_fs_types_exclude =
      R"(^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs|erofs|sysfs|tracefs)$)";
  std::string filesystem_fs_types_include;
  std::chrono::milliseconds filesystem_mount_timeout{5000};
  int filesystem_stat_workers = 4;
  // statfs of these file system types runs on the collector's own thread (see filesystem.cc); tests clear it
  // to drive the pool with local fixtures.
  bool filesystem_inline_local_statfs = true;

  // netdev
  std::string netdev_device_include;
  std::string netdev_device_exclude;

  // stat
  bool stat_softirq = false;

  // vmstat
  std::string vmstat_fields = R"(^(oom_kill|pgpg|pswp|pg.*fault).*)";

  // accesslog (exporter/access_log_options.h)
  AccessLogOptions accesslog;

  // nginx, envoy, backend_probe, backend_metrics (exporter/gateway_options.h)
  GatewayOptions gateway;
};

}  // namespace topdog::exporter
