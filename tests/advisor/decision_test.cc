// DecideWorkload: data checks (stale, sparse, absent), calibrated and short-history forecasts, the capacity
// estimate, and that nothing is lowered without a calibrated forecast.
#include "advisor/core/decision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>

namespace topdog::advisor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kStep = 60;

// A daily wave between 20 and 100 req/s, one value a minute, ending at `now`.
Series DailyWave(double days, double now) {
  Series s;
  s.step_seconds = kStep;
  const size_t n = static_cast<size_t>(days * 1440);
  s.start_seconds = now - static_cast<double>(n - 1) * kStep;
  for (size_t i = 0; i < n; ++i) {
    const double t = s.TimeAt(i);
    s.values.push_back(60 + 40 * std::sin(2 * std::numbers::pi * t / 86400));
  }
  return s;
}

WorkloadInput Input(Series demand, int min_replicas) {
  WorkloadInput in;
  in.demand = std::move(demand);
  in.configured_capacity = 10;  // req/s per pod at 100% CPU
  in.state.hpa.min_replicas = min_replicas;
  in.state.hpa.max_replicas = 50;
  in.state.hpa.target_utilization = 0.7;
  in.state.current_pods = min_replicas;
  in.state.now_seconds = in.demand.TimeAt(in.demand.values.size() - 1) + 30;
  in.policy.floor_replicas = 2;
  in.policy.max_replicas = 50;
  in.policy.target_utilization = 0.7;
  return in;
}

TEST(DecideWorkloadTest, ACalibratedForecastOfThePeakRaisesMinReplicasAhead) {
  // Now is 6 h into the day: demand is at its peak (100 req/s) and stays there for the next hour.
  const double now = 3 * 86400 + 6 * 3600;
  DecisionSettings settings;
  WorkloadDecision d = DecideWorkload(Input(DailyWave(3, now), 2), settings);
  ASSERT_EQ(d.outcome, DecisionOutcome::kChange) << d.detail;
  EXPECT_EQ(d.reason, "raise");
  ASSERT_EQ(d.forecasts.size(), 2u);
  EXPECT_TRUE(d.forecasts[0].calibrated);
  EXPECT_EQ(d.forecasts[0].horizon_seconds, 1200);
  // Quantiles do not cross, and the 0.9 quantile covers the true peak of the next 20 minutes (100 req/s).
  EXPECT_LE(d.forecasts[0].quantiles[0], d.forecasts[0].quantiles[1]);
  EXPECT_LE(d.forecasts[0].quantiles[1], d.forecasts[0].quantiles[2]);
  EXPECT_GE(d.peak_demand, 99.0);
  EXPECT_LT(d.peak_demand, 130.0);
  // minReplicas = ceil(peak / (10 req/s x 0.9)).
  EXPECT_EQ(d.recommendation.hpa.min_replicas, static_cast<int>(std::ceil(d.peak_demand / 9 - 1e-9)));
  EXPECT_GE(d.recommendation.hpa.min_replicas, 12);
}

TEST(DecideWorkloadTest, StaleDataChangesNothing) {
  const double now = 3 * 86400 + 6 * 3600;
  WorkloadInput in = Input(DailyWave(3, now), 2);
  in.state.now_seconds = now + 600;  // the newest sample is 10 minutes old
  WorkloadDecision d = DecideWorkload(in, DecisionSettings{});
  EXPECT_EQ(d.outcome, DecisionOutcome::kSkip);
  EXPECT_EQ(d.reason, "stale_data");
  EXPECT_EQ(d.recommendation.hpa, in.state.hpa);
  EXPECT_TRUE(d.forecasts.empty());
}

TEST(DecideWorkloadTest, AnHourMostlyMissingChangesNothingEvenWhenLoadFell) {
  const double now = 3 * 86400 + 18 * 3600;  // the daily low (20 req/s): a lower minReplicas would follow
  WorkloadInput in = Input(DailyWave(3, now), 20);
  const size_t n = in.demand.values.size();
  for (size_t i = n - 60; i < n - 1; ++i) {
    if (i % 3 != 0) in.demand.values[i] = kNaN;  // a third of the last hour observed
  }
  WorkloadDecision d = DecideWorkload(in, DecisionSettings{});
  EXPECT_EQ(d.outcome, DecisionOutcome::kSkip);
  EXPECT_EQ(d.reason, "sparse_data");
  EXPECT_EQ(d.recommendation.hpa.min_replicas, 20);
}

TEST(DecideWorkloadTest, NoObservedSampleIsNoData) {
  Series empty;
  empty.step_seconds = kStep;
  empty.values.assign(100, kNaN);
  WorkloadInput in = Input(DailyWave(1, 86400), 2);
  in.demand = empty;
  WorkloadDecision d = DecideWorkload(in, DecisionSettings{});
  EXPECT_EQ(d.outcome, DecisionOutcome::kSkip);
  EXPECT_EQ(d.reason, "no_data");
}

TEST(DecideWorkloadTest, AShortHistoryMayRaiseButNeverLowers) {
  // Two hours of history at 90 req/s.
  Series s;
  s.step_seconds = kStep;
  s.start_seconds = 1000 * kStep;
  s.values.assign(120, 90.0);
  WorkloadDecision up = DecideWorkload(Input(s, 2), DecisionSettings{});
  ASSERT_EQ(up.outcome, DecisionOutcome::kChange);
  EXPECT_FALSE(up.forecasts[0].calibrated);
  EXPECT_EQ(up.recommendation.hpa.min_replicas, 10);  // ceil(90 / 9)

  WorkloadDecision hold = DecideWorkload(Input(s, 30), DecisionSettings{});
  EXPECT_EQ(hold.outcome, DecisionOutcome::kHold);
  EXPECT_EQ(hold.reason, "short_history");
  EXPECT_EQ(hold.recommendation.hpa.min_replicas, 30);
}

TEST(DecideWorkloadTest, ANewWorkloadWithMinutesOfDataIsNotSparse) {
  Series s;
  s.step_seconds = kStep;
  s.start_seconds = 0;
  s.values.assign(20160, kNaN);  // 14 days asked for, the last 5 minutes known
  for (size_t i = s.values.size() - 5; i < s.values.size(); ++i) s.values[i] = 30;
  WorkloadDecision d = DecideWorkload(Input(s, 2), DecisionSettings{});
  EXPECT_NE(d.outcome, DecisionOutcome::kSkip) << d.reason << ": " << d.detail;
  EXPECT_EQ(d.recommendation.hpa.min_replicas, 4);  // ceil(30 / 9)
}

TEST(DecideWorkloadTest, CapacityIsEstimatedFromBusyPodsOrMissing) {
  const double now = 3 * 86400 + 6 * 3600;
  WorkloadInput in = Input(DailyWave(3, now), 2);
  in.configured_capacity = 0;
  WorkloadDecision none = DecideWorkload(in, DecisionSettings{});
  EXPECT_EQ(none.outcome, DecisionOutcome::kSkip);
  EXPECT_EQ(none.reason, "no_capacity");
  ASSERT_EQ(none.forecasts.size(), 2u);  // forecasts are still made (and exported)

  Series busy = in.demand;
  for (double& v : busy.values) v /= 25;  // one pod's worth of CPU serves 25 req/s
  in.busy_pods = busy;
  WorkloadDecision d = DecideWorkload(in, DecisionSettings{});
  EXPECT_NE(d.outcome, DecisionOutcome::kSkip);
  EXPECT_NEAR(d.pod_capacity, 25, 1e-9);
}

TEST(EstimatePodCapacityTest, MedianOfTheRatioOverTheWindowIgnoringIdleAndGaps) {
  Series demand, busy;
  demand.step_seconds = busy.step_seconds = kStep;
  for (int i = 0; i < 100; ++i) {
    demand.values.push_back(i < 50 ? 1000 : 40);  // the older half is outside the window
    busy.values.push_back(i < 50 ? 1 : 2);
  }
  busy.values[99] = 0.01;  // idle: ignored
  demand.values[98] = kNaN;
  EXPECT_DOUBLE_EQ(EstimatePodCapacity(demand, busy, 50 * kStep), 20);
  EXPECT_TRUE(std::isnan(EstimatePodCapacity(demand, busy, 10 * kStep)));  // under 30 points
}

}  // namespace
}  // namespace topdog::advisor

namespace topdog::advisor {
namespace {

WorkloadDecision WithForecasts(double pod_capacity, std::vector<std::pair<double, double>> peak_by_horizon) {
  WorkloadDecision decision;
  decision.pod_capacity = pod_capacity;
  for (const auto& [horizon, peak] : peak_by_horizon) {
    decision.forecasts.push_back(HorizonForecast{horizon, {peak / 2, peak, peak * 2}, true});
  }
  return decision;
}

TEST(CapacityOutlookTest, SaturationPerHorizonAndTheFirstHorizonBeyondCapacity) {
  // 10 pods x 50 req/s = 500 req/s at maxReplicas.
  auto outlook = ComputeCapacityOutlook(WithForecasts(50, {{1200, 400}, {3600, 600}, {7200, 900}}), 10, 1);
  ASSERT_TRUE(outlook);
  EXPECT_EQ(outlook->saturation_by_horizon,
            (std::vector<std::pair<double, double>>{{1200, 0.8}, {3600, 1.2}, {7200, 1.8}}));
  EXPECT_EQ(outlook->exhaustion_seconds, 3600);
}

TEST(CapacityOutlookTest, NoHorizonBeyondCapacityIsInfinity) {
  auto outlook = ComputeCapacityOutlook(WithForecasts(50, {{1200, 400}, {3600, 500}}), 10, 1);
  ASSERT_TRUE(outlook);
  EXPECT_TRUE(std::isinf(outlook->exhaustion_seconds));
}

TEST(CapacityOutlookTest, UnknownCapacityOrNoForecastGivesNothing) {
  EXPECT_FALSE(ComputeCapacityOutlook(WithForecasts(std::nan(""), {{1200, 400}}), 10, 1));
  EXPECT_FALSE(ComputeCapacityOutlook(WithForecasts(50, {}), 10, 1));
  EXPECT_FALSE(ComputeCapacityOutlook(WithForecasts(50, {{1200, 400}}), 0, 1));
}

}  // namespace
}  // namespace topdog::advisor
