// libFuzzer target: ParsePressure (/proc/pressure/*) on arbitrary bytes; averages and totals (exported in
// seconds) survive the exposition writer.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/pressure.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void CheckLine(const std::optional<topdog::exporter::PressureLine>& line) {
  if (!line) return;
  topdog::fuzz::CheckGoFloatRoundTrip(line->avg10);
  topdog::fuzz::CheckGoFloatRoundTrip(line->avg60);
  topdog::fuzz::CheckGoFloatRoundTrip(line->avg300);
  topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(line->total_microseconds) / 1e6);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto stats = topdog::exporter::ParsePressure(topdog::fuzz::AsText(data, size));
  if (!stats) {
    topdog::fuzz::Check(!stats.error().message.empty());
    return 0;
  }
  CheckLine(stats->some);
  CheckLine(stats->full);
  return 0;
}
