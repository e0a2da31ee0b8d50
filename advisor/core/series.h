// Time series for forecasting: raw samples, a regular grid with gaps, and the conversions between them
// (step inference, binning, counter resets, gap filling). Pure functions over value types; thread-compatible.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "common/result.h"

namespace topdog::advisor {

// One observation: epoch seconds and a value.
struct Sample {
  double time_seconds = 0;
  double value = 0;
};

// Values on a regular grid: values[i] belongs to start_seconds + i * step_seconds; NaN marks a gap.
struct Series {
  double start_seconds = 0;
  double step_seconds = 0;
  std::vector<double> values;

  double TimeAt(size_t index) const { return start_seconds + static_cast<double>(index) * step_seconds; }
  size_t ObservedCount() const;
};

// The grid step of irregular samples: the median spacing, snapped to a round step (1 s ... 1 d) when within
// 5% of one, so a scrape every 15.2 s reads as 15 s. Error when fewer than two distinct times.
// REQUIRES: sorted by time.
Result<double> InferStepSeconds(std::span<const Sample> samples);

// Puts samples on the grid that starts at the first sample: each sample goes to the nearest grid point; several
// in one point are averaged; points without a sample are gaps (NaN). Error (kBadData) when the grid would
// exceed max_points (a stray timestamp years away would otherwise allocate billions of gaps).
// REQUIRES: sorted by time, step_seconds > 0.
Result<Series> Regularize(std::span<const Sample> samples, double step_seconds, size_t max_points = 5'000'000);

// A counter (requests_total) as a per-second rate between consecutive samples, with Prometheus's reset
// rule: a decrease means the counter restarted from zero, so the increase is the new value itself. The rate
// is stamped at the later sample.
// REQUIRES: sorted by time, distinct times.
std::vector<Sample> CounterToRate(std::span<const Sample> samples);

// The values with gaps filled for fitting: from one season earlier (or later) when observed there, else by
// linear interpolation between the nearest observed neighbours, else the nearest observed value. A series
// with no observed value at all is returned as is.
std::vector<double> FillGaps(const Series& series, size_t season_steps);

// Empirical quantile with linear interpolation (type 7, numpy's default). REQUIRES: non-empty, sorted.
double SortedQuantile(std::span<const double> sorted, double q);

}  // namespace topdog::advisor
