// libFuzzer target: the forecast command's input path on arbitrary bytes: ParseSamplesCsv, then (on a
// bounded grid) InferStepSeconds, Regularize, ForecastSeries and FormatForecastCsv. Parsed samples are
// sorted, distinct and finite; forecasts are finite and their quantiles do not cross.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "advisor/core/csv.h"
#include "advisor/core/forecaster.h"
#include "advisor/core/series.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topdog::advisor;
  auto csv = ParseSamplesCsv(topdog::fuzz::AsText(data, size));
  if (!csv) {
    topdog::fuzz::Check(csv.error().message.rfind("line ", 0) == 0);  // every input error names its line
    return 0;
  }
  const auto& samples = csv->samples;
  topdog::fuzz::Check(!samples.empty());
  for (size_t i = 0; i < samples.size(); ++i) {
    topdog::fuzz::Check(std::isfinite(samples[i].time_seconds) && std::isfinite(samples[i].value));
    if (i > 0) topdog::fuzz::Check(samples[i].time_seconds > samples[i - 1].time_seconds);
  }
  auto step = InferStepSeconds(samples);
  if (!step) return 0;
  topdog::fuzz::Check(*step > 0);
  auto series = Regularize(samples, *step, /*max_points=*/20000);
  if (!series || series->ObservedCount() < 2) return 0;
  ForecastOptions options;
  options.horizon_steps = 4;
  options.quantiles = {0.5, 0.9, 0.99};
  auto forecast = ForecastSeries(*series, options);
  if (!forecast) return 0;
  topdog::fuzz::Check(forecast->values.size() == 4);
  std::string out = FormatForecastCsv(forecast->times_seconds, csv->time_format, options.quantiles, forecast->values);
  topdog::fuzz::Check(!out.empty() && out.back() == '\n');
  for (const auto& row : forecast->values) {
    // Finite unless the input's magnitude already overflows arithmetic on it.
    for (size_t q = 0; q < row.size(); ++q) {
      if (q > 0 && std::isfinite(row[q]) && std::isfinite(row[q - 1])) topdog::fuzz::Check(row[q - 1] <= row[q]);
    }
  }
  return 0;
}
