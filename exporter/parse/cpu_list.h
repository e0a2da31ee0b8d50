// ParseCpuList: a sysfs CPU list ("1,2-7,9\n", e.g. /sys/devices/system/cpu/isolated) -> CPU numbers in
// listed order, as procfs's parseCPURange expands it. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// An empty list (no isolated CPU) gives an empty vector. A reversed range ("7-2") is empty, as in procfs.
// Errors (kBadData): a non-numeric element, a malformed range, a CPU number above 65535.
Result<std::vector<uint32_t>> ParseCpuList(std::string_view text);

}  // namespace topdog::exporter
