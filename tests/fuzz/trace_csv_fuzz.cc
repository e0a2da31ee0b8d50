// libFuzzer target: the backtest's input path on arbitrary bytes: ParseTraceCsv (with or without a flag
// column), MakeTrace, and, on a short grid, RunBacktest with a small sweep. Every input error names its
// line; a trace that is accepted gives finite, non-negative scores and an oracle that is never overloaded
// (below 2^30 pods).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "advisor/core/backtest.h"
#include "advisor/core/csv.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topdog::advisor;
  auto csv = ParseTraceCsv(topdog::fuzz::AsText(data, size));
  if (!csv) {
    topdog::fuzz::Check(csv.error().message.rfind("line ", 0) == 0);
    return 0;
  }
  topdog::fuzz::Check(csv->samples.size() == csv->unscored.size());
  auto trace = MakeTrace(csv->samples, csv->unscored, false);
  if (!trace || trace->demand.size() > 3000) return 0;
  for (double d : trace->demand) topdog::fuzz::Check(std::isfinite(d) && d >= 0);
  BacktestOptions options;
  options.hpa_targets = {0.7};
  options.advisor_targets = {0.7};
  options.advisor_quantiles = {0.9};
  options.seasonal_naive_targets = {0.7};
  auto result = RunBacktest(*trace, options);
  if (!result) return 0;
  double max_demand = 0;
  for (double d : trace->demand) max_demand = std::max(max_demand, d);
  for (const ArmResult& arm : result->arms) {
    topdog::fuzz::Check(std::isfinite(arm.replica_minutes) && arm.replica_minutes >= 0);
    topdog::fuzz::Check(std::isfinite(arm.overload_minutes) && arm.overload_minutes >= 0);
    topdog::fuzz::Check(arm.unserved_fraction >= 0 && arm.unserved_fraction <= 1 + 1e-9);
    // The oracle serves any demand up to 2^30 pods.
    if (arm.arm == "oracle" && max_demand / result->options.pod_capacity < 1e9) {
      topdog::fuzz::Check(arm.overload_minutes == 0);
    }
  }
  return 0;
}
