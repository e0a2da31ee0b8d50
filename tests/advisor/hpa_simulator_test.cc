// Each expected value is worked out by hand from the controller's algorithm as documented in
// ../shared/reference/autoscaling.md section 1 (replica_calculator.go, horizontal.go); the comments show the
// arithmetic.
#include "advisor/core/hpa_simulator.h"

#include <gtest/gtest.h>

namespace topdog::advisor {
namespace {

SimulatorConfig NoLag() {
  SimulatorConfig config;
  config.pod_capacity = 1;  // demand in pods' worth of CPU
  config.metric_lag_seconds = 0;
  return config;
}

HpaSpec Hpa(double target, int min = 2, int max = 100) {
  HpaSpec hpa;
  hpa.target_utilization = target;
  hpa.min_replicas = min;
  hpa.max_replicas = max;
  return hpa;
}

TEST(HpaSimulatorTest, ToleranceBandAndIntegerPercent) {
  HpaSimulator sim(NoLag(), Hpa(0.5), NodePoolSpec{}, 10);
  // 54% / 50% = 1.08: inside 1 +- 0.1, keep 10.
  EXPECT_EQ(sim.MetricProposal(0.54), 10);
  // 56% / 50% = 1.12: ceil(1.12 * 10) = 12.
  EXPECT_EQ(sim.MetricProposal(0.56), 12);
  // 55.9% is truncated to 55%: 1.1 is inside the band (inclusive).
  EXPECT_EQ(sim.MetricProposal(0.559), 10);
  // 44% / 50% = 0.88: ceil(0.88 * 10) = 9.
  EXPECT_EQ(sim.MetricProposal(0.44), 9);
}

TEST(HpaSimulatorTest, SaturatedUtilisationAndTheLegacyScaleUpLimit) {
  // Demand of 100 pods on 10: utilisation caps at the limit (100%); 100 / 70 = 1.4286 -> ceil(14.29) = 15,
  // within the legacy limit max(2 * 10, 4) = 20.
  HpaSimulator sim(NoLag(), Hpa(0.7), NodePoolSpec{}, 10);
  StepResult step = sim.Step(100);
  EXPECT_TRUE(step.scaled);
  EXPECT_EQ(step.pods, 15);
  // At a 25% target: 100 / 25 = 4 -> 40 proposed, clamped to 2 * 10 = 20.
  HpaSimulator low(NoLag(), Hpa(0.25), NodePoolSpec{}, 10);
  EXPECT_EQ(low.Step(100).pods, 20);
  // From 1 pod (min 1): 4 * 1 = 4 proposed, the limit is max(2, 4) = 4.
  HpaSimulator one(NoLag(), Hpa(0.25, 1), NodePoolSpec{}, 1);
  EXPECT_EQ(one.Step(100).pods, 4);
}

TEST(HpaSimulatorTest, MissingNewPodsDampFurtherScaleUp) {
  SimulatorConfig config = NoLag();
  config.metric_lag_seconds = 30;
  HpaSimulator sim(config, Hpa(0.5), NodePoolSpec{}, 4);
  // Saturated: 100 / 50 = 2 -> 8 (limit max(8, 4) = 8).
  EXPECT_EQ(sim.Step(100).pods, 8);
  // 15 s later the 4 new pods have no metric yet (missing) and the ratio is > 1, so they count at 0%:
  // (4 * 100% + 4 * 0%) / 8 pods = 50% -> ratio 1.0, inside the band: stay at 8.
  EXPECT_EQ(sim.MetricProposal(1.0), 8);
  StepResult next = sim.Step(100);
  EXPECT_FALSE(next.scaled);
  EXPECT_EQ(next.pods, 8);
}

TEST(HpaSimulatorTest, UnreadyPodsCountAtZeroOnScaleUpOnly) {
  SimulatorConfig config = NoLag();
  HpaSimulator sim(config, Hpa(0.5), NodePoolSpec{}, 4);
  ASSERT_EQ(sim.Step(100).pods, 8);  // 4 pods created at t = 0, unready until 45 + 15 s
  sim.Step(100);                     // t = 15: new pods unready, 4 ready at 100%: (400 + 0) / 8 = 50%, stay
  // Scale-down side: at 20% the ratio is 0.4 < 1, unready pods are left out: ceil(0.4 * 4) = 2.
  EXPECT_EQ(sim.MetricProposal(0.2), 2);
  // Scale-up side at 100%: unready pods count at 0 -> (4 * 100) / 8 = 50% -> ratio 1: stay at 8.
  EXPECT_EQ(sim.MetricProposal(1.0), 8);
}

TEST(HpaSimulatorTest, MinAndMaxApplyAtOnceWithoutMetrics) {
  HpaSimulator sim(NoLag(), Hpa(0.5), NodePoolSpec{}, 10);
  sim.SetHpa(Hpa(0.5, 2, 4));
  EXPECT_EQ(sim.Step(0).pods, 4);  // above max: cut to max at the next sync
  sim.SetHpa(Hpa(0.5, 12, 20));
  EXPECT_EQ(sim.Step(0).pods, 12);  // below min: raised to min at once (a pre-warm)
}

TEST(HpaSimulatorTest, LegacyDownscaleStabilisationKeepsTheHighestProposalOfFiveMinutes) {
  HpaSimulator sim(NoLag(), Hpa(0.5), NodePoolSpec{}, 10);
  // t = 0: 50% exactly, proposal 10 (recorded).
  EXPECT_EQ(sim.Step(5).pods, 10);
  // From t = 15 demand halves: 25% -> ratio 0.5 -> proposal 5, but the max over the last 300 s is 10 until
  // the t = 0 entry is older than 300 s (an entry exactly 300 s old still counts): at t = 315 -> 5.
  for (int step = 1; step <= 20; ++step) EXPECT_EQ(sim.Step(2.5).pods, 10) << "t = " << step * 15;
  EXPECT_EQ(sim.Step(2.5).pods, 5);  // t = 315
}

TEST(HpaSimulatorTest, BehaviorScaleUpTakesTheMostPermissivePolicy) {
  HpaSpec hpa = Hpa(0.25);
  hpa.behavior = HpaBehavior::Defaults();
  HpaSimulator sim(NoLag(), hpa, NodePoolSpec{}, 10);
  // Proposal 100 / 25 * 10 = 40; policies: 4 pods -> 14, 100% -> ceil(10 * 2) = 20; Max -> 20.
  EXPECT_EQ(sim.Step(100).pods, 20);
}

TEST(HpaSimulatorTest, BehaviorScaleDownPodsPerPeriod) {
  HpaSpec hpa = Hpa(0.5);
  hpa.behavior = HpaBehavior::Defaults();
  hpa.behavior->scale_down.stabilization_seconds = 0;
  hpa.behavior->scale_down.policies = {{ScalingRules::PolicyType::kPods, 1, 60}};
  HpaSimulator sim(NoLag(), hpa, NodePoolSpec{}, 10);
  // 25% -> proposal 5; at most 1 pod per 60 s: start 10 - 1 = 9.
  EXPECT_EQ(sim.Step(2.5).pods, 9);
  // t = 15, 30, 45: the removal at t = 0 is within the period: start = 9 + 1 = 10, limit 9: stay.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(sim.Step(2.5).pods, 9);
  // t = 60: the t = 0 event is no longer after the cutoff (strict): start 9 -> 8.
  EXPECT_EQ(sim.Step(2.5).pods, 8);
}

TEST(HpaSimulatorTest, PodsServeAfterStartUpAndWaitForNodes) {
  SimulatorConfig config = NoLag();
  config.pods_per_node = 4;
  config.node_startup_seconds = 180;
  config.pod_startup_seconds = 45;
  HpaSimulator sim(config, Hpa(0.5, 12, 100), NodePoolSpec{1, 10}, 8);  // 8 pods on 2 nodes
  StepResult first = sim.Step(6);   // t = 0: min 12 -> 4 new pods, no room: one node, ready at 180
  EXPECT_EQ(first.pods, 12);
  EXPECT_EQ(first.nodes, 3);
  EXPECT_EQ(first.serving_pods, 8);
  StepResult at_210, at_225;
  for (int step = 1; step <= 15; ++step) {
    StepResult r = sim.Step(6);
    if (step == 14) at_210 = r;
    if (step == 15) at_225 = r;
  }
  EXPECT_EQ(at_210.serving_pods, 8);   // placed at 180, serving from 180 + 45
  EXPECT_EQ(at_225.serving_pods, 12);
  EXPECT_DOUBLE_EQ(at_225.capacity, 12.0);
}

TEST(HpaSimulatorTest, MetricLagDelaysTheReaction) {
  SimulatorConfig config = NoLag();
  config.metric_lag_seconds = 30;
  HpaSimulator sim(config, Hpa(0.5), NodePoolSpec{}, 10);
  EXPECT_EQ(sim.Step(5).pods, 10);   // t = 0: 50%
  EXPECT_EQ(sim.Step(10).pods, 10);  // t = 15: sees t = -15..0 -> still 50%
  EXPECT_EQ(sim.Step(10).pods, 10);  // t = 30: sees t = 0
  EXPECT_EQ(sim.Step(10).pods, 20);  // t = 45: sees t = 15 (100%): ratio 2 -> 20
}

TEST(HpaSimulatorTest, NoMetricsNoProposalAndZeroReplicasDisableScaling) {
  SimulatorConfig config = NoLag();
  config.metric_lag_seconds = 30;
  // No pods and min 0: no pod has a metric, so there is no proposal and nothing happens.
  HpaSimulator zero(config, Hpa(0.5, 0), NodePoolSpec{}, 0);
  EXPECT_FALSE(zero.MetricProposal(1.0).has_value());
  EXPECT_EQ(zero.Step(100).pods, 0);
  HpaSimulator disabled(config, Hpa(0.5, 2), NodePoolSpec{}, 0);
  EXPECT_EQ(disabled.Step(100).pods, 0);  // replicas 0 and min 2: autoscaling disabled, no clamp to min
  // Raising min adds pods at once; the new ones are missing and damp the proposal.
  HpaSimulator fresh(config, Hpa(0.5, 2), NodePoolSpec{}, 4);
  fresh.SetHpa(Hpa(0.5, 8));
  EXPECT_EQ(fresh.Step(100).pods, 8);  // min raised: 4 new pods
  fresh.SetHpa(Hpa(0.5, 2));
  EXPECT_EQ(fresh.MetricProposal(1.0).value_or(-1), 8);  // 4 ready at 100%, 4 missing at 0%: 50%, keep
}

TEST(HpaSimulatorTest, ABehaviorChangeIsAChange) {
  HpaSpec hpa = Hpa(0.5);
  hpa.behavior = HpaBehavior::Defaults();
  HpaSimulator sim(NoLag(), hpa, NodePoolSpec{}, 4);
  EXPECT_FALSE(sim.SetHpa(hpa));
  hpa.behavior->scale_down.stabilization_seconds = 60;
  EXPECT_TRUE(sim.SetHpa(hpa));
  EXPECT_EQ(sim.Hpa().behavior->scale_down.stabilization_seconds, 60);
}

}  // namespace
}  // namespace topdog::advisor
