#include "advisor/core/models.h"

#include <cmath>
#include <numbers>
#include <random>

#include <gtest/gtest.h>

namespace topdog::advisor {
namespace {

// Daily shape (period `day`) + a weekend dip + trend + Gaussian noise, fixed seed.
std::vector<double> Synthetic(size_t days, size_t day, double noise, double trend_per_day = 0, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0, noise);
  std::vector<double> y(days * day);
  for (size_t t = 0; t < y.size(); ++t) {
    double phase = 2 * std::numbers::pi * static_cast<double>(t % day) / static_cast<double>(day);
    bool weekend = (t / day) % 7 >= 5;
    y[t] = 100 + 40 * std::sin(phase) + 10 * std::cos(2 * phase) - (weekend ? 25 : 0) +
           trend_per_day * static_cast<double>(t) / static_cast<double>(day) + gauss(rng);
  }
  return y;
}

double MeanAbsError(const std::vector<double>& actual, size_t from, const std::vector<double>& forecast) {
  double sum = 0;
  for (size_t h = 0; h < forecast.size(); ++h) sum += std::abs(actual[from + h] - forecast[h]);
  return sum / static_cast<double>(forecast.size());
}

TEST(SeasonalNaiveTest, RepeatsTheLastSeasonAndAveragesSeveral) {
  std::vector<double> y = {1, 2, 3, 4, 5, 6, 7, 8};
  auto naive = MakeSeasonalNaive("snaive", 4);
  naive->Fit(y, y.size());
  EXPECT_EQ(naive->Forecast(8, 6), (std::vector<double>{5, 6, 7, 8, 5, 6}));
  EXPECT_EQ(naive->Forecast(6, 2), (std::vector<double>{3, 4}));  // from any origin, using only the past
  auto mean = MakeSeasonalNaive("smean", 4, 2);
  mean->Fit(y, y.size());
  EXPECT_EQ(mean->Forecast(8, 1), (std::vector<double>{3}));  // (5 + 1) / 2
}

TEST(HoltWintersTest, LearnsDailyAndWeeklyShapeBetterThanSeasonalNaive) {
  const size_t day = 48;
  std::vector<double> y = Synthetic(28, day, 3.0);
  const size_t origin = 21 * day;  // a Monday after three weeks
  auto hw = MakeHoltWinters({day, 7 * day});
  hw->Fit(y, origin);
  auto naive = MakeSeasonalNaive("snaive-day", day);
  naive->Fit(y, origin);
  double hw_error = MeanAbsError(y, origin, hw->Forecast(origin, day));
  double naive_error = MeanAbsError(y, origin, naive->Forecast(origin, day));
  // Seasonal naive copies Sunday's dip into Monday; the weekly state knows better.
  EXPECT_LT(hw_error, 0.5 * naive_error) << hw_error << " vs " << naive_error;
  EXPECT_LT(hw_error, 6.0);  // noise sd 3: mean absolute error of a perfect model is ~2.4
}

TEST(HoltWintersTest, OneSpikeDoesNotDistortTheNextDay) {
  const size_t day = 48;
  std::vector<double> y = Synthetic(21, day, 2.0);
  const size_t origin = 20 * day;
  std::vector<double> spiked = y;
  spiked[origin - 10] += 5000;  // a scrape glitch
  auto clean = MakeHoltWinters({day, 7 * day});
  clean->Fit(y, origin);
  auto hit = MakeHoltWinters({day, 7 * day});
  hit->Fit(spiked, origin);
  double clean_error = MeanAbsError(y, origin, clean->Forecast(origin, day));
  double hit_error = MeanAbsError(y, origin, hit->Forecast(origin, day));
  EXPECT_LT(hit_error, clean_error + 5.0) << hit_error << " vs " << clean_error;
}

TEST(HarmonicRegressionTest, RecoversShapeAndTrend) {
  const size_t day = 96;
  std::vector<double> y = Synthetic(35, day, 1.0, /*trend_per_day=*/2.0);
  const size_t origin = 28 * day;
  auto fourier = MakeHarmonicRegression({day, 7 * day}, /*steps_per_hour=*/4);
  fourier->Fit(y, origin);
  double error = MeanAbsError(y, origin, fourier->Forecast(origin, day));
  EXPECT_LT(error, 2.5) << error;  // noise sd 1: ~0.8 for a perfect model; the weekend step is not a few harmonics
}

TEST(HarmonicRegressionTest, ShortHistoryWithoutWeeklySeasonStillFits) {
  const size_t day = 24;
  std::vector<double> y = Synthetic(3, day, 0.5);
  auto fourier = MakeHarmonicRegression({day, 0}, 1);
  fourier->Fit(y, 2 * day);
  auto forecast = fourier->Forecast(2 * day, day);
  for (double v : forecast) EXPECT_TRUE(std::isfinite(v));
  EXPECT_LT(MeanAbsError(y, 2 * day, forecast), 5.0);
}

TEST(MinimizeInUnitBoxTest, FindsTheMinimumOfAQuadratic) {
  auto f = [](const std::vector<double>& x) {
    return (x[0] - 0.3) * (x[0] - 0.3) + 2 * (x[1] - 0.7) * (x[1] - 0.7) + (x[2] - 1.0) * (x[2] - 1.0);
  };
  auto best = MinimizeInUnitBox(f, {0.5, 0.5, 0.5}, 400);
  EXPECT_NEAR(best[0], 0.3, 1e-3);
  EXPECT_NEAR(best[1], 0.7, 1e-3);
  EXPECT_NEAR(best[2], 1.0, 1e-3);  // on the boundary
}

}  // namespace
}  // namespace topdog::advisor
