// libFuzzer target: ParseCpuInfo (/proc/cpuinfo) on arbitrary bytes; every value must point into the input
// and cpu MHz (exported in hertz) survive the exposition writer.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/cpuinfo.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  using topdog::fuzz::PointsInto;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto entries = topdog::exporter::ParseCpuInfo(text);
  if (!entries) {
    Check(!entries.error().message.empty());
    return 0;
  }
  Check(!entries->empty());
  for (const auto& entry : *entries) {
    for (std::string_view value :
         {entry.vendor_id, entry.cpu_family, entry.model, entry.model_name, entry.stepping, entry.microcode,
          entry.cache_size, entry.physical_id, entry.core_id, entry.flags, entry.bugs}) {
      Check(PointsInto(value, text));
    }
    topdog::fuzz::CheckGoFloatRoundTrip(entry.cpu_mhz * 1e6);
  }
  return 0;
}
