// The advisor's forecaster: picks, per series, the model (or the mean of the two best) with the smallest error
// in a rolling-origin backtest over the series' own recent history, and derives prediction quantiles from
// that backtest's errors at each horizon. Falls back to simpler models on short histories. Pure; thread-safe
// (no shared state).
#pragma once

#include <string>
#include <vector>

#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

struct ForecastOptions {
  size_t horizon_steps = 0;
  // Season lengths in steps (e.g. {24, 168} for hourly data); empty: one day and one week of the series' step.
  std::vector<size_t> season_steps;
  std::vector<double> quantiles = {0.5, 0.9, 0.95, 0.99};
  // "auto", or one model: "snaive-day", "snaive-week", "hw", "fourier".
  std::string model = "auto";
};

struct ForecastResult {
  std::vector<double> times_seconds;          // one per future step
  std::vector<std::vector<double>> values;    // values[step][quantile index], non-decreasing in the quantile
  std::string model;                          // what produced the point forecast, e.g. "hw+fourier"
  std::vector<std::pair<std::string, double>> backtest_mae;  // per candidate, when a backtest ran
};

// Errors (kBadData): horizon 0, quantiles outside (0, 1), an unknown model, fewer than two observed values.
Result<ForecastResult> ForecastSeries(const Series& series, const ForecastOptions& options);

}  // namespace topdog::advisor
