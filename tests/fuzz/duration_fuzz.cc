// libFuzzer target: ParseDuration (flags and the web config's rate_limit.interval, "1m30s") on arbitrary
// bytes. Accepted durations are non-negative and within the documented bound.
#include <cstddef>
#include <cstdint>

#include "common/duration.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto duration = topdog::ParseDuration(topdog::fuzz::AsText(data, size));
  if (!duration) {
    Check(!duration.error().message.empty());
    return 0;
  }
  Check(duration->count() >= 0 && duration->count() <= 1'000'000'000'000);
  return 0;
}
