// libFuzzer target: ParseQueryRange (Prometheus's query_range answers, as the advisor will read them) on
// arbitrary bytes. Errors carry the "query_range answer: " prefix; what parses has ascending times per series.
#include <cstddef>
#include <cstdint>

#include "advisor/io/prometheus_api.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto answer = topdog::advisor::ParseQueryRange(topdog::fuzz::AsText(data, size));
  if (!answer) {
    topdog::fuzz::Check(answer.error().message.rfind("query_range answer: ", 0) == 0);
    return 0;
  }
  for (const auto& series : answer->series) {
    for (size_t i = 1; i < series.samples.size(); ++i) {
      topdog::fuzz::Check(series.samples[i].time_seconds > series.samples[i - 1].time_seconds);
    }
  }
  return 0;
}
