// libFuzzer target: ParseDiskstats (/proc/diskstats) on arbitrary bytes; checks the documented value count
// and sends the counters through the exposition writer as the diskstats collector exports them.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/diskstats.h"
#include "exporter/parse/field_scanner.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto lines = topdog::exporter::ParseDiskstats(topdog::fuzz::AsText(data, size));
  if (!lines) {
    Check(!lines.error().message.empty());
    return 0;
  }
  for (const auto& line : *lines) {
    Check(line.value_count >= 11 && line.value_count <= topdog::exporter::kDiskstatsFieldCount);
    Check(!line.device.empty());
    for (char c : line.device) Check(c != '\n' && !topdog::exporter::parse::IsFieldSpace(c));
    for (size_t i = 0; i < line.value_count; ++i) {
      topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(line.values[i]) * 512);   // sectors -> bytes
      topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(line.values[i]) / 1000);  // ms -> s
    }
  }
  return 0;
}
