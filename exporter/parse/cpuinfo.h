// ParseCpuInfo: /proc/cpuinfo text (x86 layout: "key\t: value" blocks starting with "processor") -> one
// entry per logical CPU, as procfs's parseCPUInfoX86 reads it. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// Values are the text after the first ": ", untrimmed (procfs keeps them as is). They point into the
// parsed text.
struct CpuInfoEntry {
  uint32_t processor = 0;
  std::string_view vendor_id;  // "vendor_id" or "vendor"
  std::string_view cpu_family;
  std::string_view model;
  std::string_view model_name;
  std::string_view stepping;
  std::string_view microcode;
  std::string_view cache_size;
  std::string_view physical_id;
  std::string_view core_id;
  double cpu_mhz = 0;
  std::string_view flags;  // space-separated, e.g. "fpu vme de ..."
  std::string_view bugs;
};

// The first non-blank line must be "processor : N" (like procfs, only the "processor" prefix of its key is
// checked). Errors (kBadData) name the line: a bad processor number or cpu MHz. Keys other than the ones
// above are ignored.
// REQUIRES: `text` outlives the returned entries.
Result<std::vector<CpuInfoEntry>> ParseCpuInfo(std::string_view text);

}  // namespace topdog::exporter
