// ParseDiskstats: /proc/diskstats text -> one record per block device, as prometheus/procfs's
// blockdevice.ProcDiskstats (used by node_exporter's diskstats collector) reads it. Pure, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// The numeric fields after the device name, in kernel order (Documentation/admin-guide/iostats.rst).
enum DiskstatsField : size_t {
  kReadsCompleted,
  kReadsMerged,
  kSectorsRead,
  kReadTimeMs,
  kWritesCompleted,
  kWritesMerged,
  kSectorsWritten,
  kWriteTimeMs,
  kIosInProgress,
  kIoTimeMs,
  kWeightedIoTimeMs,
  kDiscardsCompleted,  // kernel 4.18+
  kDiscardsMerged,
  kSectorsDiscarded,
  kDiscardTimeMs,
  kFlushRequests,  // kernel 5.5+
  kFlushTimeMs,
  kDiskstatsFieldCount,
};

struct DiskstatsLine {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string device;
  std::array<uint64_t, kDiskstatsFieldCount> values{};
  // How many of `values` the line had: 11 (14 fields), 15 (18 fields, discards) or 17 (20 fields, flushes);
  // any count from 11 to 17 is kept, fields after the 20th are ignored.
  size_t value_count = 0;
};

// Lines with fewer than 14 fields (blank lines, the 7-field partition lines of 2.6.x kernels) are skipped,
// as procfs does. Errors (kBadData) name the line and field: a non-numeric or out-of-range number.
Result<std::vector<DiskstatsLine>> ParseDiskstats(std::string_view text);

}  // namespace topdog::exporter
