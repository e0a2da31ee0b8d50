// libFuzzer target: ParseLoadavg (/proc/loadavg) on arbitrary bytes; the three averages survive the
// exposition writer.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/loadavg.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto loadavg = topdog::exporter::ParseLoadavg(topdog::fuzz::AsText(data, size));
  if (!loadavg) {
    topdog::fuzz::Check(!loadavg.error().message.empty());
    return 0;
  }
  topdog::fuzz::CheckGoFloatRoundTrip(loadavg->load1);
  topdog::fuzz::CheckGoFloatRoundTrip(loadavg->load5);
  topdog::fuzz::CheckGoFloatRoundTrip(loadavg->load15);
  return 0;
}
