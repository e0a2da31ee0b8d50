// ParseLoadavg: /proc/loadavg text -> the 1, 5 and 15 minute load averages. Pure, thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

struct Loadavg {
  double load1 = 0;
  double load5 = 0;
  double load15 = 0;
};

// Needs at least three numeric fields (the rest, "1/78 3345", is ignored); else kBadData.
Result<Loadavg> ParseLoadavg(std::string_view text);

}  // namespace topdog::exporter
