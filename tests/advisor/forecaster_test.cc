#include "advisor/core/forecaster.h"

#include <cmath>
#include <numbers>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace topdog::advisor {
namespace {

using ::testing::HasSubstr;

// Request-rate-like series at a 5-minute step: daily shape, quieter weekends, multiplicative noise.
Series Traffic(size_t days, unsigned seed = 11) {
  const size_t day = 288;
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, 0.08);
  Series series{1700000000, 300, {}};
  for (size_t t = 0; t < days * day; ++t) {
    double phase = 2 * std::numbers::pi * static_cast<double>(t % day) / day;
    double level = 200 + 150 * std::sin(phase - 1.2) + ((t / day) % 7 >= 5 ? -60 : 0);
    series.values.push_back(std::max(0.0, level * (1 + gauss(rng))));
  }
  return series;
}

Series Head(const Series& series, size_t n) {
  Series out = series;
  out.values.resize(n);
  return out;
}

double Mae(const Series& truth, size_t from, const ForecastResult& f, size_t quantile_index) {
  double sum = 0;
  for (size_t h = 0; h < f.values.size(); ++h) sum += std::abs(truth.values[from + h] - f.values[h][quantile_index]);
  return sum / static_cast<double>(f.values.size());
}

TEST(ForecastSeriesTest, AutoBeatsSeasonalNaiveAndQuantilesCoverTheNextDay) {
  Series truth = Traffic(35);
  const size_t origin = 28 * 288, horizon = 288;
  ForecastOptions options;
  options.horizon_steps = horizon;
  options.quantiles = {0.5, 0.9, 0.95};
  auto automatic = ForecastSeries(Head(truth, origin), options);
  ASSERT_TRUE(automatic) << automatic.error().message;
  ASSERT_EQ(automatic->values.size(), horizon);
  EXPECT_EQ(automatic->times_seconds.front(), truth.TimeAt(origin));
  options.model = "snaive-day";
  auto naive = ForecastSeries(Head(truth, origin), options);
  ASSERT_TRUE(naive);
  EXPECT_LT(Mae(truth, origin, *automatic, 0), 0.85 * Mae(truth, origin, *naive, 0)) << automatic->model;

  // Coverage over a week of daily origins: loose bounds (one-sided upper quantiles, 2016 points).
  size_t below90 = 0, below95 = 0, count = 0;
  options.model = "auto";
  for (size_t d = 28; d < 35; ++d) {
    auto f = ForecastSeries(Head(truth, d * 288), options);
    ASSERT_TRUE(f);
    for (size_t h = 0; h < horizon && d * 288 + h < truth.values.size(); ++h) {
      double actual = truth.values[d * 288 + h];
      below90 += actual <= f->values[h][1];
      below95 += actual <= f->values[h][2];
      ++count;
      ASSERT_LE(f->values[h][0], f->values[h][1]);
      ASSERT_LE(f->values[h][1], f->values[h][2]);
    }
  }
  EXPECT_NEAR(static_cast<double>(below90) / count, 0.9, 0.06);
  EXPECT_NEAR(static_cast<double>(below95) / count, 0.95, 0.04);
}

TEST(ForecastSeriesTest, OutageOfZerosDoesNotPullTheForecastDown) {
  Series truth = Traffic(21);
  const size_t origin = 20 * 288;
  Series history = Head(truth, origin);
  // The app was down for six hours yesterday afternoon: the exporter reported 0 requests.
  for (size_t t = origin - 288 + 150; t < origin - 288 + 222; ++t) history.values[t] = 0;
  ForecastOptions options;
  options.horizon_steps = 288;
  auto f = ForecastSeries(history, options);
  ASSERT_TRUE(f) << f.error().message;
  double afternoon = 0;
  for (size_t h = 150; h < 222; ++h) afternoon += f->values[h][0] / truth.values[origin + h];
  EXPECT_GT(afternoon / 72, 0.8) << "forecast copied the outage (model " << f->model << ")";
}

TEST(ForecastSeriesTest, GapsAndLevelShiftStaySane) {
  Series truth = Traffic(21);
  Series history = Head(truth, 17 * 288);  // ends on a Wednesday: the next day is a weekday too
  for (size_t t = 10 * 288; t < 11 * 288; ++t) history.values[t] = std::nan("");  // a lost day
  for (size_t t = 16 * 288; t < history.values.size(); ++t) history.values[t] *= 2;  // traffic doubled
  ForecastOptions options;
  options.horizon_steps = 288;
  auto f = ForecastSeries(history, options);
  ASSERT_TRUE(f) << f.error().message;
  double mean = 0;
  for (const auto& row : f->values) {
    ASSERT_TRUE(std::isfinite(row[0]));
    mean += row[0] / 288;
  }
  EXPECT_GT(mean, 1.4 * 200) << "ignored the doubled level (model " << f->model << ")";
  EXPECT_LT(mean, 3.0 * 200);
}

TEST(ForecastSeriesTest, ShortHistoriesFallBackToSimpleModels) {
  Series truth = Traffic(3);
  ForecastOptions options;
  options.horizon_steps = 12;
  for (size_t n : {2u, 5u, 40u, 300u, 600u}) {
    auto f = ForecastSeries(Head(truth, n), options);
    ASSERT_TRUE(f) << n << ": " << f.error().message;
    ASSERT_EQ(f->values.size(), 12u);
    for (const auto& row : f->values) {
      for (double v : row) EXPECT_TRUE(std::isfinite(v) && v >= 0) << n;
    }
  }
}

TEST(ForecastSeriesTest, SeasonHintOverridesTheStep) {
  // Hourly data with the hint 24,168 behaves like the default for an hourly step.
  Series hourly{0, 3600, {}};
  for (size_t t = 0; t < 24 * 21; ++t) hourly.values.push_back(10 + 5 * std::sin(2 * std::numbers::pi * (t % 24) / 24.0));
  ForecastOptions options;
  options.horizon_steps = 24;
  options.season_steps = {24, 168};
  auto f = ForecastSeries(hourly, options);
  ASSERT_TRUE(f) << f.error().message;
  for (size_t h = 0; h < 24; ++h) EXPECT_NEAR(f->values[h][0], hourly.values[h], 0.5);
}

TEST(ForecastSeriesTest, RejectsBadOptions) {
  Series series = Traffic(3);
  ForecastOptions options;
  options.horizon_steps = 0;
  EXPECT_THAT(ForecastSeries(series, options).error().message, HasSubstr("horizon"));
  options.horizon_steps = 100'000'000;
  EXPECT_THAT(ForecastSeries(series, options).error().message, HasSubstr("above"));
  options.horizon_steps = 5;
  options.quantiles = {0.5, 1.5};
  EXPECT_THAT(ForecastSeries(series, options).error().message, HasSubstr("quantile"));
  options.quantiles = {0.5};
  options.model = "prophet";
  EXPECT_THAT(ForecastSeries(series, options).error().message, HasSubstr("unknown model"));
  options.model = "snaive-week";  // three days of data
  EXPECT_THAT(ForecastSeries(series, options).error().message, HasSubstr("needs more history"));
  Series empty{0, 60, {std::nan("")}};
  options.model = "auto";
  EXPECT_FALSE(ForecastSeries(empty, options));
}

}  // namespace
}  // namespace topdog::advisor
