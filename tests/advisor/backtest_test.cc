#include "advisor/core/backtest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "advisor/core/csv.h"
#include "advisor/core/policy.h"

namespace topdog::advisor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

AdvisorPolicy Policy() {
  AdvisorPolicy policy;
  policy.pod_capacity = 10;  // req/s per pod
  policy.floor_utilization = 0.5;
  policy.target_utilization = 0.7;
  policy.floor_replicas = 2;
  policy.max_replicas = 50;
  return policy;
}

ClusterState State(int min, int max, int pods) {
  ClusterState state;
  state.hpa.min_replicas = min;
  state.hpa.max_replicas = max;
  state.hpa.target_utilization = 0.7;
  state.current_pods = pods;
  return state;
}

TEST(RecommendTest, RaisesMinReplicasAtOnceForTheForecastPeak) {
  // 200 req/s at 10 req/s per pod and 50% utilisation: 40 pods.
  Recommendation rec = Recommend(200, State(2, 50, 10), Policy());
  EXPECT_TRUE(rec.changed);
  EXPECT_EQ(rec.hpa.min_replicas, 40);
  EXPECT_EQ(rec.hpa.max_replicas, 50);
  EXPECT_EQ(rec.hpa.target_utilization, 0.7);
}

TEST(RecommendTest, LowersByAtMostHalfAndNeverBelowTheFloor) {
  Recommendation rec = Recommend(10, State(40, 50, 40), Policy());  // wants 2
  EXPECT_EQ(rec.hpa.min_replicas, 20);                              // 40 * (1 - 0.5)
  rec = Recommend(10, State(3, 50, 3), Policy());
  EXPECT_EQ(rec.hpa.min_replicas, 2);
  AdvisorPolicy cool = Policy();
  cool.cooldown_seconds = 600;
  ClusterState recent = State(40, 50, 40);
  recent.now_seconds = 1000;
  recent.last_change_seconds = 700;
  EXPECT_EQ(Recommend(10, recent, cool).hpa.min_replicas, 40);  // within the cool-down
}

TEST(RecommendTest, MinNeverAboveMaxAndMaxNeverBelowTheRunningPods) {
  Recommendation rec = Recommend(1e6, State(2, 50, 10), Policy());
  EXPECT_EQ(rec.hpa.min_replicas, 50);
  EXPECT_EQ(rec.hpa.max_replicas, 50);
  rec = Recommend(100, State(2, 50, 70), Policy());  // 70 pods run (someone raised max): keep max >= 70
  EXPECT_EQ(rec.hpa.max_replicas, 70);
  EXPECT_LE(rec.hpa.min_replicas, rec.hpa.max_replicas);
}

TEST(RecommendTest, NoForecastChangesNothing) {
  Recommendation rec = Recommend(kNaN, State(7, 50, 9), Policy());
  EXPECT_FALSE(rec.changed);
  EXPECT_EQ(rec.hpa.min_replicas, 7);
}

TEST(RecommendTest, NodePoolBoundsFollowTheReplicaBounds) {
  AdvisorPolicy policy = Policy();
  policy.pods_per_node = 8;
  policy.min_nodes_floor = 1;
  policy.max_nodes_cap = 5;
  Recommendation rec = Recommend(200, State(2, 50, 10), policy);  // min 40 pods, max 50
  EXPECT_EQ(rec.pool.min_nodes, 5);  // 40 / 8
  EXPECT_EQ(rec.pool.max_nodes, 5);  // ceil(50 / 8) = 7, capped at 5
}

TEST(FrontierAtTest, InterpolatesOnTheLowerParetoFrontier) {
  // (100, 50) is dominated by (90, 40): left out.
  std::vector<std::pair<double, double>> points = {{80, 100}, {90, 40}, {100, 50}, {120, 10}};
  EXPECT_DOUBLE_EQ(*FrontierAt(points, 85), 70);
  EXPECT_DOUBLE_EQ(*FrontierAt(points, 105), 40 + (105.0 - 90) / 30 * (10 - 40));
  EXPECT_FALSE(FrontierAt(points, 70));   // cheaper than any point
  EXPECT_FALSE(FrontierAt(points, 130));  // dearer than any point
  EXPECT_DOUBLE_EQ(*FrontierAt(points, 120), 10);
}

TEST(PeakForecasterTest, ConstantDemandForecastsItself) {
  PeakForecaster forecaster(1440, 15, 5, {0.5, 0.95});
  std::optional<std::vector<double>> last;
  for (int i = 0; i < 3 * 1440; ++i) {
    if (i % 5 == 0) last = forecaster.Forecast();
    forecaster.Observe(7);
  }
  ASSERT_TRUE(last);
  EXPECT_DOUBLE_EQ((*last)[0], 7);
  EXPECT_DOUBLE_EQ((*last)[1], 7);
}

TEST(PeakForecasterTest, ADailyJumpIsForecastBeforeItComes) {
  // 10 req/s, except 30 req/s every day from 09:00 to 10:00.
  PeakForecaster forecaster(1440, 15, 5, {0.9});
  std::optional<std::vector<double>> before_jump;
  for (int day = 0; day < 4; ++day) {
    for (int minute = 0; minute < 1440; ++minute) {
      if (minute % 5 == 0) {
        auto forecast = forecaster.Forecast();
        if (day == 3 && minute == 9 * 60 - 10) before_jump = forecast;
      }
      forecaster.Observe(minute >= 540 && minute < 600 ? 30 : 10);
    }
  }
  ASSERT_TRUE(before_jump);
  EXPECT_GE((*before_jump)[0], 30);  // the window ahead held 30 yesterday
}

TEST(PeakForecasterTest, WaitsForADayOfHistory) {
  PeakForecaster forecaster(1440, 15, 5, {0.5});
  for (int i = 0; i < 600; ++i) forecaster.Observe(5);
  EXPECT_FALSE(forecaster.Forecast());
}

TEST(ParseTraceCsvTest, FlagColumnAndEmptyValuesMarkRowsUnscored) {
  auto csv = ParseTraceCsv(
      "timestamp,epoch_s,requests,flag\n"
      "1995-07-01 00:00:00,804571200,42,\n"
      "1995-07-01 00:01:00,804571260,,missing_in_source\n"
      "1995-07-01 00:02:00,804571320,0,server_down\n"
      "1995-07-01 00:03:00,804571380,71,\n");
  ASSERT_TRUE(csv) << csv.error().message;
  ASSERT_EQ(csv->samples.size(), 4u);
  EXPECT_EQ(csv->samples[0].value, 42);
  EXPECT_TRUE(std::isnan(csv->samples[1].value));
  EXPECT_EQ(csv->unscored, (std::vector<bool>{false, true, true, false}));
  auto two = ParseTraceCsv("timestamp,value\n0,1\n60,2\n");
  ASSERT_TRUE(two);
  EXPECT_EQ(two->unscored, (std::vector<bool>{false, false}));
  auto bad = ParseTraceCsv("timestamp,epoch_s,requests,flag\n1995-07-01 00:00:00,1,x,\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("line 2:", 0), 0u) << bad.error().message;
  EXPECT_FALSE(ParseTraceCsv("timestamp,a,b\n0,1,2\n"));  // no value column
}

TEST(MakeTraceTest, CountsBecomeRatesAndGapsAreUnscored) {
  std::vector<Sample> samples = {{0, 60}, {60, 120}, {180, 30}, {240, 60}};  // the row at 120 s is absent
  auto trace = MakeTrace(samples, {}, false);
  ASSERT_TRUE(trace) << trace.error().message;
  EXPECT_EQ(trace->step_seconds, 60);
  EXPECT_EQ(trace->demand, (std::vector<double>{1, 2, 0, 0.5, 1}));
  EXPECT_EQ(trace->scored, (std::vector<bool>{true, true, false, true, true}));
  auto rates = MakeTrace(samples, {false, true, false, false}, true);
  ASSERT_TRUE(rates);
  EXPECT_EQ(rates->demand[1], 120);
  EXPECT_FALSE(rates->scored[1]);
}

// Three days of a daily pattern with a morning jump, at one-minute steps.
Trace DailyTrace(int days) {
  Trace trace;
  trace.step_seconds = 60;
  for (int day = 0; day < days; ++day) {
    for (int minute = 0; minute < 1440; ++minute) {
      double base = 20 + 10 * std::sin(2 * M_PI * minute / 1440.0);
      trace.demand.push_back(minute >= 540 && minute < 560 ? base * 2 : base);
      trace.scored.push_back(true);
    }
  }
  return trace;
}

TEST(RunBacktestTest, ArmsAreScoredAndTheOracleIsTheCostBound) {
  BacktestOptions options;
  options.hpa_targets = {0.5, 0.7};
  options.advisor_targets = {0.7};
  options.advisor_quantiles = {0.5, 0.95};
  options.seasonal_naive_targets = {0.7};
  auto result = RunBacktest(DailyTrace(4), options);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_EQ(result->arms.size(), 2u + 2u + 1u + 2u);
  const ArmResult& oracle = result->arms.back();
  ASSERT_EQ(oracle.arm, "oracle");
  EXPECT_EQ(oracle.overload_minutes, 0);
  for (const ArmResult& arm : result->arms) {
    EXPECT_GE(arm.replica_minutes, oracle.replica_minutes) << arm.arm;
    EXPECT_GE(arm.unserved_fraction, 0) << arm.arm;
  }
  // A lower target costs more and overloads less.
  EXPECT_GT(result->arms[0].replica_minutes, result->arms[1].replica_minutes);
  EXPECT_LE(result->arms[0].overload_minutes, result->arms[1].overload_minutes);
  // p99 / 30 by default.
  EXPECT_GT(result->options.pod_capacity, 0);
  EXPECT_EQ(result->scored_minutes, 4 * 1440);
  // The daily jump doubles demand for 20 minutes: the reactive HPA at 70% is overloaded at its start every
  // day; the advisor, which has seen it the day before, pre-warms for it from day 2 on.
  const ArmResult& hpa70 = result->arms[1];
  const ArmResult& advisor95 = result->arms[3];
  ASSERT_EQ(advisor95.arm, "advisor");
  EXPECT_GT(hpa70.overload_minutes, 0);
  EXPECT_LT(advisor95.overload_minutes, hpa70.overload_minutes);
  ASSERT_EQ(result->frontier.size(), 2u);  // at the HPA's 70% and 50% points (40% was not swept)
  EXPECT_EQ(result->frontier[0].hpa_target, 0.7);
  EXPECT_EQ(result->frontier[0].replica_minutes, hpa70.replica_minutes);
  EXPECT_EQ(result->frontier[1].hpa_target, 0.5);
}

TEST(RunBacktestTest, OverloadIsCountedPerMinuteWithinLongerRows) {
  // Five-minute rows: 1 req/s, one row at 3 req/s. The HPA at 70% runs ~43 pods of 1/30 req/s; after the
  // jump it doubles every sync once the lagged metric shows it, so only the row's first minutes are short.
  Trace trace;
  trace.step_seconds = 300;
  for (int i = 0; i < 600; ++i) {
    trace.demand.push_back(i == 400 ? 3.0 : 1.0);
    trace.scored.push_back(true);
  }
  BacktestOptions options;
  options.hpa_targets = {0.7};
  options.advisor_targets = {};
  options.seasonal_naive_targets = {};
  auto result = RunBacktest(trace, options);
  ASSERT_TRUE(result) << result.error().message;
  const ArmResult& hpa = result->arms[0];
  EXPECT_GE(hpa.overload_minutes, 1);
  EXPECT_LE(hpa.overload_minutes, 4);  // per row it would be 5
  EXPECT_EQ(hpa.longest_overload_streak_minutes, hpa.overload_minutes);
}

TEST(RunBacktestTest, RejectsATraceStepThatIsNotAMultipleOfTheSyncPeriod) {
  Trace trace;
  trace.step_seconds = 10;
  trace.demand = {1, 2, 3};
  trace.scored = {true, true, true};
  EXPECT_FALSE(RunBacktest(trace, BacktestOptions{}));
}

}  // namespace
}  // namespace topdog::advisor
