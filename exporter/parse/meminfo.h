// ParseMeminfo: /proc/meminfo text -> its entries in file order ("MemTotal:  123 kB"), as node_exporter's
// meminfo collector reads them. Pure, thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

struct MeminfoEntry {
  std::string_view key;   // without the trailing ':', e.g. "Active(anon)"; points into the parsed text
  double value = 0;       // as printed (kB when has_unit)
  bool has_unit = false;  // a third field ("kB") is present
};

// Blank lines are skipped (some CentOS kernels print them). Errors (kBadData) name the line: a key without
// ':' or value, a non-numeric value, more than three fields.
// REQUIRES: `text` outlives the returned keys.
Result<std::vector<MeminfoEntry>> ParseMeminfo(std::string_view text);

}  // namespace topdog::exporter
