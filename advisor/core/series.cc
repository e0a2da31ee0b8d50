#include "advisor/core/series.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

namespace topdog::advisor {

size_t Series::ObservedCount() const {
  return static_cast<size_t>(std::count_if(values.begin(), values.end(), [](double v) { return !std::isnan(v); }));
}

Result<double> InferStepSeconds(std::span<const Sample> samples) {
  std::vector<double> spacings;
  spacings.reserve(samples.size());
  for (size_t i = 1; i < samples.size(); ++i) {
    double spacing = samples[i].time_seconds - samples[i - 1].time_seconds;
    if (spacing > 0) spacings.push_back(spacing);
  }
  if (spacings.empty()) return MakeError(ErrorKind::kBadData, "need at least two samples at different times");
  auto middle = spacings.begin() + static_cast<std::ptrdiff_t>(spacings.size() / 2);
  std::nth_element(spacings.begin(), middle, spacings.end());
  double median = *middle;
  static constexpr std::array<double, 15> kRound = {1,   5,    10,   15,   30,   60,    120,  300,
                                                    600, 900, 1800, 3600, 7200, 21600, 86400};
  for (double round : kRound) {
    if (std::abs(median - round) <= 0.05 * round) return round;
  }
  return median;
}

Result<Series> Regularize(std::span<const Sample> samples, double step_seconds, size_t max_points) {
  Series series;
  series.step_seconds = step_seconds;
  if (samples.empty()) return series;
  series.start_seconds = samples.front().time_seconds;
  double span = samples.back().time_seconds - series.start_seconds;
  double steps = span / step_seconds + 1;
  if (!(steps <= static_cast<double>(max_points))) {
    char text[160];
    std::snprintf(text, sizeof text, "the samples span %.4g steps of %g s, more than %zu: a timestamp far from the others?",
                  steps, step_seconds, max_points);
    return MakeError(ErrorKind::kBadData, text);
  }
  size_t points = static_cast<size_t>(std::llround(span / step_seconds)) + 1;
  std::vector<double> sum(points, 0.0);
  std::vector<int> count(points, 0);
  for (const Sample& sample : samples) {
    auto index = static_cast<size_t>(std::llround((sample.time_seconds - series.start_seconds) / step_seconds));
    index = std::min(index, points - 1);
    sum[index] += sample.value;
    ++count[index];
  }
  series.values.resize(points);
  for (size_t i = 0; i < points; ++i) {
    series.values[i] = count[i] > 0 ? sum[i] / count[i] : std::numeric_limits<double>::quiet_NaN();
  }
  return series;
}

std::vector<Sample> CounterToRate(std::span<const Sample> samples) {
  std::vector<Sample> rates;
  if (samples.size() < 2) return rates;
  rates.reserve(samples.size() - 1);
  for (size_t i = 1; i < samples.size(); ++i) {
    double elapsed = samples[i].time_seconds - samples[i - 1].time_seconds;
    double increase = samples[i].value - samples[i - 1].value;
    if (increase < 0) increase = samples[i].value;  // reset: the counter started again from zero
    rates.push_back({samples[i].time_seconds, increase / elapsed});
  }
  return rates;
}

double SortedQuantile(std::span<const double> sorted, double q) {
  double position = q * static_cast<double>(sorted.size() - 1);
  size_t lower = static_cast<size_t>(std::floor(position));
  size_t upper = std::min(lower + 1, sorted.size() - 1);
  double w = position - static_cast<double>(lower);
  return sorted[lower] * (1 - w) + sorted[upper] * w;
}

std::vector<double> FillGaps(const Series& series, size_t season_steps) {
  const std::vector<double>& in = series.values;
  std::vector<double> out = in;
  const size_t n = in.size();
  auto observed = [&](size_t i) { return !std::isnan(in[i]); };
  // Nearest observed index before and after each point, for interpolation.
  std::vector<ptrdiff_t> prev(n, -1), next(n, -1);
  for (size_t i = 0; i < n; ++i) prev[i] = observed(i) ? static_cast<ptrdiff_t>(i) : (i > 0 ? prev[i - 1] : -1);
  for (size_t i = n; i-- > 0;) next[i] = observed(i) ? static_cast<ptrdiff_t>(i) : (i + 1 < n ? next[i + 1] : -1);
  for (size_t i = 0; i < n; ++i) {
    if (observed(i)) continue;
    if (season_steps > 0 && i >= season_steps && observed(i - season_steps)) {
      // The same time one season earlier.
      out[i] = in[i - season_steps];
    } else if (season_steps > 0 && i + season_steps < n && observed(i + season_steps)) {
      out[i] = in[i + season_steps];
    } else if (prev[i] >= 0 && next[i] >= 0) {
      double a = in[static_cast<size_t>(prev[i])], b = in[static_cast<size_t>(next[i])];
      double w = static_cast<double>(static_cast<ptrdiff_t>(i) - prev[i]) / static_cast<double>(next[i] - prev[i]);
      out[i] = a + w * (b - a);
    } else if (prev[i] >= 0) {
      out[i] = in[static_cast<size_t>(prev[i])];
    } else if (next[i] >= 0) {
      out[i] = in[static_cast<size_t>(next[i])];
    }
  }
  return out;
}

}  // namespace topdog::advisor
