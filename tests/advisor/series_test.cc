#include "advisor/core/series.h"

#include <cmath>

#include <gtest/gtest.h>

namespace topdog::advisor {
namespace {

TEST(InferStepSecondsTest, MedianSpacingSnappedToRoundSteps) {
  std::vector<Sample> jittered;
  for (int i = 0; i < 20; ++i) jittered.push_back({i * 15.2, 1});
  EXPECT_EQ(InferStepSeconds(jittered).value(), 15.0);
  std::vector<Sample> odd = {{0, 1}, {7, 1}, {14, 1}, {100, 1}};
  EXPECT_EQ(InferStepSeconds(odd).value(), 7.0);
  std::vector<Sample> one = {{5, 1}};
  EXPECT_FALSE(InferStepSeconds(one));
}

TEST(RegularizeTest, GapsBecomeNanAndSamplesInOnePointAreAveraged) {
  std::vector<Sample> samples = {{0, 1}, {60, 2}, {62, 4}, {240, 5}};
  Series series = Regularize(samples, 60).value();
  ASSERT_EQ(series.values.size(), 5u);
  EXPECT_EQ(series.values[0], 1);
  EXPECT_EQ(series.values[1], 3);
  EXPECT_TRUE(std::isnan(series.values[2]));
  EXPECT_TRUE(std::isnan(series.values[3]));
  EXPECT_EQ(series.values[4], 5);
  EXPECT_EQ(series.ObservedCount(), 3u);
  EXPECT_EQ(series.TimeAt(4), 240);
}

TEST(RegularizeTest, RefusesAGridBeyondTheLimit) {
  std::vector<Sample> samples = {{0, 1}, {60, 2}, {120, 3}, {60.0 * 20000, 4}};  // one row far away
  auto series = Regularize(samples, 60, 10000);
  ASSERT_FALSE(series);
  EXPECT_EQ(series.error().kind, ErrorKind::kBadData);
  EXPECT_NE(series.error().message.find("2e+04 steps of 60 s"), std::string::npos) << series.error().message;
  std::vector<Sample> absurd = {{0, 1}, {1e27, 2}};  // a step count no integer type holds
  EXPECT_FALSE(Regularize(absurd, 60, 10000));
  EXPECT_EQ(Regularize(samples, 60, 30000).value().values.size(), 20001u);
}

TEST(CounterToRateTest, ResetCountsTheNewValueAsTheIncrease) {
  std::vector<Sample> counter = {{0, 100}, {10, 150}, {20, 30}, {30, 60}};
  auto rates = CounterToRate(counter);
  ASSERT_EQ(rates.size(), 3u);
  EXPECT_EQ(rates[0].value, 5);
  EXPECT_EQ(rates[1].value, 3);  // restarted: 30 requests since the reset
  EXPECT_EQ(rates[2].value, 3);
  EXPECT_EQ(rates[2].time_seconds, 30);
}

TEST(FillGapsTest, UsesTheSeasonThenInterpolationThenNeighbours) {
  const double nan = std::nan("");
  Series series{0, 1, {1, 2, 3, 4, nan, 6, nan, nan, 9}};
  auto filled = FillGaps(series, 4);
  EXPECT_EQ(filled[4], 1);  // one season (4 steps) earlier
  EXPECT_EQ(filled[6], 3);
  EXPECT_EQ(filled[7], 4);
  Series no_season{0, 1, {nan, 2, nan, nan, 8, nan}};
  auto plain = FillGaps(no_season, 0);
  EXPECT_EQ(plain[0], 2);
  EXPECT_EQ(plain[2], 4);
  EXPECT_EQ(plain[3], 6);
  EXPECT_EQ(plain[5], 8);
}

}  // namespace
}  // namespace topdog::advisor
