// ParseVmstat: /proc/vmstat text ("pgfault 1339407" per line) -> its fields in file order. Pure, thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

struct VmstatField {
  std::string_view name;  // points into the parsed text
  double value = 0;
};

// Every line must be "<name> <number>" (node_exporter parses every value, even of fields it then filters
// out, and fails on any bad one); blank lines are skipped. Errors (kBadData) name the line and field.
// REQUIRES: `text` outlives the returned names.
Result<std::vector<VmstatField>> ParseVmstat(std::string_view text);

}  // namespace topdog::exporter
