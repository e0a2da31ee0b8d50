// ParsePressure: one /proc/pressure/<resource> file (PSI, Linux >= 4.20) -> its "some" and "full" lines.
// Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

struct PressureLine {
  double avg10 = 0;  // percentages
  double avg60 = 0;
  double avg300 = 0;
  uint64_t total_microseconds = 0;
};

struct PressureStats {
  std::optional<PressureLine> some;  // absent in /proc/pressure/irq
  std::optional<PressureLine> full;  // absent in cpu before Linux 5.13
};

// Lines with other prefixes are ignored (like procfs, so future kernels can add some). A some/full line
// needs avg10=, avg60=, avg300= and total=; errors (kBadData) name the line and field.
Result<PressureStats> ParsePressure(std::string_view text);

}  // namespace topdog::exporter
