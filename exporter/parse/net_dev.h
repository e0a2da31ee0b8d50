// ParseNetDev: /proc/net/dev text -> per-interface counters, as prometheus/procfs's NetDev (node_exporter's
// netdev collector without netlink) reads it. Pure, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// Column order of /proc/net/dev (dev_seq_printf_stats in net/core/net-procfs.c).
enum NetDevField : size_t {
  kRxBytes,
  kRxPackets,
  kRxErrs,
  kRxDrop,
  kRxFifo,
  kRxFrame,
  kRxCompressed,
  kRxMulticast,
  kTxBytes,
  kTxPackets,
  kTxErrs,
  kTxDrop,
  kTxFifo,
  kTxColls,
  kTxCarrier,
  kTxCompressed,
  kNetDevFieldCount,
};

struct NetDevLine {
  std::string name;  // trimmed, e.g. "eth0"
  std::array<uint64_t, kNetDevFieldCount> values{};
};

// The first two lines are the header and are skipped whatever they hold (as procfs does); blank lines are
// skipped. The interface name is everything before the last ':' on the line. Errors (kBadData) name the line
// and field: no ':', an empty name, fewer than 16 counters, a non-numeric or out-of-range counter. Counters
// after the 16th are ignored.
Result<std::vector<NetDevLine>> ParseNetDev(std::string_view text);

}  // namespace topdog::exporter
