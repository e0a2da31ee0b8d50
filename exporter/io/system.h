// System: the syscalls collectors need besides file reads (statfs, uname, the clock), behind an interface
// so collectors are tested with FakeSystem. RealSystem is thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace topdog::exporter {

struct StatfsInfo {
  uint64_t block_size = 0;  // f_bsize (node_exporter multiplies counts by f_bsize, not f_frsize)
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_available = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  bool read_only = false;  // ST_RDONLY in f_flags (node_exporter uses the mount options instead)
};

struct UnameInfo {
  std::string sysname, nodename, release, version, machine, domainname;
};

struct WallTime {
  double unix_seconds = 0;  // CLOCK_REALTIME with nanoseconds
  std::string zone_name;    // e.g. "UTC", "CET"
  int64_t zone_offset_seconds = 0;
};

class System {
 public:
  virtual ~System() = default;
  // May block for a long time on a hung network mount; callers bound it with a timeout.
  virtual Result<StatfsInfo> Statfs(const std::string& path) const = 0;
  virtual Result<UnameInfo> Uname() const = 0;
  virtual WallTime Now() const = 0;
};

class RealSystem : public System {
 public:
  Result<StatfsInfo> Statfs(const std::string& path) const override;
  Result<UnameInfo> Uname() const override;
  WallTime Now() const override;
};

}  // namespace topdog::exporter
