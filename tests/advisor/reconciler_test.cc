// Reconciler: one pass over fakes of the HPA API, the node-pool API and the history source. Asserts the exact
// writes: only opted-in HPAs, only on a difference, with the resourceVersion decided on and dryRun by default;
// none on a failed observation, after a 422 at the same resourceVersion, or once leadership is lost.
#include "advisor/reconciler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <numbers>
#include <string>
#include <vector>

namespace topdog::advisor {
namespace {

constexpr double kNow = 10 * 86400 + 6 * 3600;  // a daily peak (see Wave)

class FakeHpaApi : public HpaApi {
 public:
  Result<std::vector<HpaObject>> ListHpas(const std::vector<std::string>& namespaces) override {
    listed_namespaces = namespaces;
    if (list_error) return tl::unexpected(*list_error);
    return hpas;
  }
  Result<HpaObject> GetHpa(const HpaRef& ref) override {
    ++gets;
    for (const HpaObject& hpa : hpas) {
      if (hpa.ref == ref) {
        HpaObject fresh = hpa;
        fresh.resource_version = std::to_string(std::stoll(hpa.resource_version) + status_writes);
        return fresh;
      }
    }
    return MakeError(ErrorKind::kNotFound, "no such HPA");
  }
  Result<HpaObject> PatchHpa(const HpaRef& ref, const HpaChange& change, ApplyMode mode) override {
    patches.push_back({ref, change, mode});
    if (!patch_errors.empty()) {
      Error error = patch_errors.front();
      patch_errors.erase(patch_errors.begin());
      return tl::unexpected(error);
    }
    for (const HpaObject& hpa : hpas) {
      if (hpa.ref == ref) return hpa;
    }
    return MakeError(ErrorKind::kNotFound, "no such HPA");
  }
  struct Patch {
    HpaRef ref;
    HpaChange change;
    ApplyMode mode;
  };
  std::vector<HpaObject> hpas;
  std::optional<Error> list_error;
  std::vector<Error> patch_errors;
  std::vector<Patch> patches;
  std::vector<std::string> listed_namespaces;
  int gets = 0;
  int status_writes = 0;  // the HPA controller's status writes since the list: resourceVersion moves on
};

class FakeNodePoolApi : public NodePoolApi {
 public:
  Result<NodePool> GetNodePool(const std::string& cluster_id, const std::string& pool_id) override {
    ++gets;
    if (get_error) return tl::unexpected(*get_error);
    EXPECT_EQ(cluster_id, "c1");
    return pools.at(pool_id);
  }
  Result<NodePool> SetBounds(const std::string& cluster_id, const NodePool& current, int min_nodes,
                             int max_nodes) override {
    EXPECT_EQ(cluster_id, "c1");
    puts.push_back({current.id, min_nodes, max_nodes});
    NodePool updated = current;
    updated.min_nodes = min_nodes;
    updated.max_nodes = max_nodes;
    pools[current.id] = updated;
    return updated;
  }
  struct Put {
    std::string id;
    int min_nodes, max_nodes;
  };
  std::map<std::string, NodePool> pools;
  std::optional<Error> get_error;
  std::vector<Put> puts;
  int gets = 0;
};

// History by PromQL text; an error for a query listed in `errors`.
class FakeSource : public HistorySource {
 public:
  Result<Series> Fetch(const SeriesQuery& query, double start, double end, double step) override {
    queries.push_back(query.promql);
    if (auto e = errors.find(query.promql); e != errors.end()) return tl::unexpected(e->second);
    auto found = series.find(query.promql);
    if (found == series.end()) return MakeError(ErrorKind::kNotFound, "no series");
    EXPECT_EQ(step, 60);
    EXPECT_NEAR(end - start, 14 * 86400, 1e-6);
    return found->second;
  }
  const char* Name() const override { return "fake"; }
  std::map<std::string, Series> series;
  std::map<std::string, Error> errors;
  std::vector<std::string> queries;
};

// Three days of a daily wave (20..100 req/s, scaled) at one minute, ending at kNow.
Series Wave(double scale) {
  Series s;
  s.step_seconds = 60;
  const size_t n = 3 * 1440;
  s.start_seconds = kNow - static_cast<double>(n - 1) * 60;
  for (size_t i = 0; i < n; ++i) {
    s.values.push_back(scale * (60 + 40 * std::sin(2 * std::numbers::pi * s.TimeAt(i) / 86400)));
  }
  return s;
}

HpaObject Hpa(const std::string& ns, const std::string& name, int min, int max, bool managed) {
  HpaObject hpa;
  hpa.ref = {ns, name};
  hpa.resource_version = "100";
  hpa.min_replicas = min;
  hpa.max_replicas = max;
  hpa.cpu_target_percent = 70;
  hpa.current_replicas = min;
  hpa.target_name = name;
  hpa.metrics_json =
      R"([{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}}])";
  if (managed) hpa.annotations[kManagedAnnotation] = "true";
  return hpa;
}

AdvisorConfig Config() {
  AdvisorConfig config;
  config.interval_seconds = 300;
  config.dry_run = true;
  config.kubernetes.mode = KubeMode::kInCluster;
  config.kubernetes.namespaces = {"shop"};
  config.defaults.demand.promql = "sum(rate(requests_total{namespace=\"$namespace\",service=\"$target\"}[2m]))";
  config.defaults.capacity_rps = 10;
  config.digitalocean.cluster_id = "c1";
  return config;
}

const std::string kBackendQuery = "sum(rate(requests_total{namespace=\"shop\",service=\"backend\"}[2m]))";
const std::string kFrontQuery = "sum(rate(requests_total{namespace=\"shop\",service=\"front\"}[2m]))";

struct Rig {
  AdvisorConfig config = Config();
  FakeHpaApi hpas;
  FakeNodePoolApi pools;
  FakeSource source;
  DaemonMetrics metrics;
  bool leader = true;
  int leader_checks_left = 1000;
  Reconciler Make(bool with_pools = false) {
    return Reconciler(config, source, &hpas, with_pools ? &pools : nullptr, metrics,
                      [this] { return leader && leader_checks_left-- > 0; });
  }
};

TEST(ReconcilerTest, PatchesOnlyOptedInHpasWithTheResourceVersionAndDryRunByDefault) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true), Hpa("shop", "front", 2, 40, false)};
  rig.source.series[kBackendQuery] = Wave(1);
  Reconciler reconciler = rig.Make();
  PassReport report = reconciler.RunOnce(kNow + 30);
  ASSERT_TRUE(report.ran);
  EXPECT_EQ(rig.hpas.listed_namespaces, std::vector<std::string>{"shop"});
  EXPECT_EQ(rig.source.queries, std::vector<std::string>{kBackendQuery});  // front not opted in: not even read
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  const auto& patch = rig.hpas.patches[0];
  EXPECT_EQ(patch.ref.name, "backend");
  EXPECT_EQ(patch.mode, ApplyMode::kDryRun);
  EXPECT_EQ(patch.change.resource_version, "100");
  ASSERT_TRUE(patch.change.min_replicas.has_value());
  EXPECT_GE(*patch.change.min_replicas, 12);            // the peak (~100 req/s) at 9 req/s per pod
  EXPECT_FALSE(patch.change.max_replicas.has_value());  // unchanged: not sent
  EXPECT_FALSE(patch.change.cpu_target_percent.has_value());
  EXPECT_EQ(patch.change.annotations.at(kFloorAnnotation), "2");
  EXPECT_EQ(patch.change.annotations.at(kMaxAnnotation), "40");
  EXPECT_EQ(patch.change.annotations.at(kDecisionAnnotation).rfind("raise: ", 0), 0u);
  EXPECT_EQ(patch.change.annotations.at(kChangeAnnotation), FormatMicroTime(kNow + 30));
  EXPECT_EQ(rig.metrics.Value("topdog_advisor_apply_total", {{"mode", "dry_run"}, {"result", "ok"}, {"target", "hpa"}}),
            1);
  EXPECT_GE(rig.metrics.Value("topdog_advisor_forecast_requests_per_second",
                              {{"namespace", "shop"}, {"hpa", "backend"}, {"horizon", "20m"}, {"quantile", "0.9"}}),
            99);
  EXPECT_EQ(rig.metrics.Value("topdog_advisor_recommended_min_replicas", {{"namespace", "shop"}, {"hpa", "backend"}}),
            *patch.change.min_replicas);
}

TEST(ReconcilerTest, NoPatchWhenTheHpaAlreadyFitsTheForecast) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  Reconciler first = rig.Make();
  first.RunOnce(kNow + 30);
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  // The HPA as the patch left it (applied): the next pass finds nothing to do.
  rig.hpas.hpas[0].min_replicas = *rig.hpas.patches[0].change.min_replicas;
  rig.hpas.hpas[0].annotations.insert(rig.hpas.patches[0].change.annotations.begin(),
                                      rig.hpas.patches[0].change.annotations.end());
  PassReport report = first.RunOnce(kNow + 30);
  EXPECT_EQ(rig.hpas.patches.size(), 1u);
  ASSERT_EQ(report.workloads.size(), 1u);
  EXPECT_EQ(report.workloads[0].decision.outcome, DecisionOutcome::kHold);
}

TEST(ReconcilerTest, ApplyModeSendsARealPatch) {
  Rig rig;
  rig.config.dry_run = false;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.Make().RunOnce(kNow + 30);
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  EXPECT_EQ(rig.hpas.patches[0].mode, ApplyMode::kApply);
}

TEST(ReconcilerTest, AFailedHistoryReadMeansNoWriteAndACountedError) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 30, 40, true)};  // a lower floor would follow at the daily low
  rig.source.errors[kBackendQuery] = Error{ErrorKind::kUnavailable, "partial answer: some warning"};
  PassReport report = rig.Make().RunOnce(kNow + 30);
  EXPECT_TRUE(rig.hpas.patches.empty());
  ASSERT_EQ(report.workloads.size(), 1u);
  EXPECT_EQ(report.workloads[0].decision.reason, "source_error");
  EXPECT_EQ(rig.metrics.Value("topdog_advisor_reconcile_errors_total", {{"kind", "unavailable"}, {"stage", "fetch"}}),
            1);
  EXPECT_EQ(rig.metrics.Value("topdog_advisor_decisions_total", {{"reason", "source_error"}}), 1);
}

TEST(ReconcilerTest, AFailedHpaListMeansNoPassAtAll) {
  Rig rig;
  rig.hpas.list_error = Error{ErrorKind::kUnavailable, "connection refused"};
  PassReport report = rig.Make().RunOnce(kNow);
  EXPECT_FALSE(report.ran);
  EXPECT_TRUE(rig.source.queries.empty());
  EXPECT_EQ(
      rig.metrics.Value("topdog_advisor_reconcile_errors_total", {{"kind", "unavailable"}, {"stage", "list_hpas"}}), 1);
}

TEST(ReconcilerTest, AConflictIsRetriedNextPassButARejectionOnlyAfterTheHpaChanges) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  Reconciler reconciler = rig.Make();
  rig.hpas.patch_errors = {Error{ErrorKind::kConflict, "409"}};
  reconciler.RunOnce(kNow + 30);
  reconciler.RunOnce(kNow + 30);  // retried
  EXPECT_EQ(rig.hpas.patches.size(), 2u);

  rig.hpas.patch_errors = {Error{ErrorKind::kRejected, "422 spec.minReplicas: Invalid value"}};
  reconciler.RunOnce(kNow + 30);
  EXPECT_EQ(rig.hpas.patches.size(), 3u);
  rig.hpas.status_writes = 5;  // the HPA controller wrote status: the spec is the same, not retried
  reconciler.RunOnce(kNow + 30);
  EXPECT_EQ(rig.hpas.patches.size(), 3u);
  rig.hpas.hpas[0].generation = 2;  // someone edited the spec: decide and send again
  reconciler.RunOnce(kNow + 30);
  EXPECT_EQ(rig.hpas.patches.size(), 4u);
  EXPECT_EQ(rig.hpas.patches[3].change.resource_version, "105");
}

TEST(ReconcilerTest, StatusWritesSinceTheListDoNotCauseConflictsButSpecEditsStopTheWrite) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.hpas.status_writes = 7;
  Reconciler reconciler = rig.Make();
  reconciler.RunOnce(kNow + 30);
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  EXPECT_EQ(rig.hpas.patches[0].change.resource_version, "107");  // re-read just before the patch
  EXPECT_EQ(rig.hpas.gets, 1);

  // The spec changed between the list and the write: nothing written, decided again next pass.
  class EditedMeanwhile : public FakeHpaApi {
   public:
    Result<HpaObject> GetHpa(const HpaRef& ref) override {
      auto hpa = FakeHpaApi::GetHpa(ref);
      if (hpa) hpa->max_replicas = 60;
      return hpa;
    }
  } edited;
  edited.hpas = {Hpa("shop", "backend", 2, 40, true)};
  Reconciler second(rig.config, rig.source, &edited, nullptr, rig.metrics, [] { return true; });
  PassReport report = second.RunOnce(kNow + 30);
  EXPECT_TRUE(edited.patches.empty());
  ASSERT_EQ(report.workloads.size(), 1u);
  EXPECT_EQ(report.workloads[0].error, "the HPA's spec changed during the pass: decided again next pass");
}

TEST(ReconcilerTest, AUsersEditAfterTheAdvisorsWriteBecomesTheNewBound) {
  Rig rig;
  rig.source.series[kBackendQuery] = Wave(1);
  HpaObject hpa = Hpa("shop", "backend", 12, 60, true);  // the user raised maxReplicas from 40 to 60
  hpa.annotations[kFloorAnnotation] = "2";
  hpa.annotations[kMaxAnnotation] = "40";
  hpa.annotations[kWrittenAnnotation] = "minReplicas=12,maxReplicas=40";
  hpa.annotations[kChangeAnnotation] = FormatMicroTime(kNow - 86400);
  rig.hpas.hpas = {hpa};
  PassReport report = rig.Make().RunOnce(kNow + 30);
  ASSERT_EQ(report.workloads.size(), 1u);
  EXPECT_EQ(report.workloads[0].max_bound, 60);
  EXPECT_EQ(report.workloads[0].floor_replicas, 2);
  EXPECT_EQ(report.workloads[0].decision.recommendation.hpa.max_replicas, 60);  // not capped back to 40
  for (const auto& patch : rig.hpas.patches) {
    EXPECT_FALSE(patch.change.max_replicas.has_value());
    EXPECT_EQ(patch.change.annotations.at(kMaxAnnotation), "60");
  }

  // The same without the written annotation (no evidence of an edit): the recorded bound 40 holds.
  Rig unrecorded;
  unrecorded.source.series[kBackendQuery] = Wave(1);
  hpa.annotations.erase(kWrittenAnnotation);
  unrecorded.hpas.hpas = {hpa};
  PassReport capped = unrecorded.Make().RunOnce(kNow + 30);
  EXPECT_EQ(capped.workloads[0].max_bound, 40);
}

TEST(ReconcilerTest, LeadershipLostMidPassStopsTheRemainingWrites) {
  Rig rig;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true), Hpa("shop", "front", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.source.series[kFrontQuery] = Wave(1);
  rig.leader_checks_left = 3;  // before the pass, before the first workload, before its write
  PassReport report = rig.Make().RunOnce(kNow + 30);
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  EXPECT_EQ(report.workloads.size(), 1u);  // the second is not even read
  EXPECT_EQ(report.skipped_why, "stopped or lost leadership during the pass");
  EXPECT_EQ(rig.source.queries.size(), 1u);

  Rig lost_before_write;
  lost_before_write.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  lost_before_write.source.series[kBackendQuery] = Wave(1);
  lost_before_write.leader_checks_left = 2;  // lost between the decision and the write
  PassReport late = lost_before_write.Make().RunOnce(kNow + 30);
  EXPECT_TRUE(lost_before_write.hpas.patches.empty());
  ASSERT_EQ(late.workloads.size(), 1u);
  EXPECT_EQ(late.workloads[0].error, "leadership lost: not written");

  Rig follower;
  follower.leader = false;
  follower.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  PassReport none = follower.Make().RunOnce(kNow + 30);
  EXPECT_FALSE(none.ran);
  EXPECT_TRUE(follower.source.queries.empty());
}

TEST(ReconcilerTest, NodePoolBoundsFollowTheReplicasOncePerIntervalAndNotOnPartialData) {
  Rig rig;
  rig.config.dry_run = false;
  rig.config.defaults.node_pool = "pool-1";
  rig.config.defaults.pods_per_node = 4;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.pools.pools["pool-1"] = NodePool{"pool-1", "web", 3, true, 1, 5, "", "", ""};
  Reconciler reconciler = rig.Make(/*with_pools=*/true);
  reconciler.RunOnce(kNow + 30);
  ASSERT_EQ(rig.hpas.patches.size(), 1u);
  const int min_replicas = *rig.hpas.patches[0].change.min_replicas;
  ASSERT_EQ(rig.pools.puts.size(), 1u);
  EXPECT_EQ(rig.pools.puts[0].min_nodes, (min_replicas + 3) / 4);
  EXPECT_EQ(rig.pools.puts[0].max_nodes, 10);  // 40 pods / 4 per node
  // Within min_update_interval (300 s): no second PUT, even though the bounds differ again.
  rig.pools.pools["pool-1"].min_nodes = 1;
  reconciler.RunOnce(kNow + 60);
  EXPECT_EQ(rig.pools.puts.size(), 1u);
  EXPECT_EQ(rig.hpas.patches.size(), 2u);  // the fake HPA kept its old minReplicas: patched again (level-triggered)
  // A pool read failure: the workload is skipped, nothing written, neither the pool nor the HPA.
  rig.pools.get_error = Error{ErrorKind::kRateLimited, "429"};
  reconciler.RunOnce(kNow + 1000);
  EXPECT_EQ(rig.pools.puts.size(), 1u);
  EXPECT_EQ(rig.hpas.patches.size(), 2u);
}

TEST(ReconcilerTest, NodePoolMaxIsNeverLoweredBelowThePoolAndPoolsWithoutAutoscalingAreLeftAlone) {
  Rig rig;
  rig.config.dry_run = false;
  rig.config.defaults.node_pool = "pool-1";
  rig.config.defaults.pods_per_node = 4;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.pools.pools["pool-1"] = NodePool{"pool-1", "web", 14, true, 1, 20, "", "", ""};  // 40 pods need 10
  rig.Make(/*with_pools=*/true).RunOnce(kNow + 30);
  ASSERT_EQ(rig.pools.puts.size(), 1u);
  EXPECT_EQ(rig.pools.puts[0].max_nodes, 20);  // kept, not lowered to 10
  EXPECT_GE(rig.pools.puts[0].min_nodes, 3);
  EXPECT_EQ(rig.pools.gets, 2);  // read for the decision, re-read just before the PUT

  Rig manual;
  manual.config.dry_run = false;
  manual.config.defaults.node_pool = "pool-1";
  manual.config.defaults.pods_per_node = 4;
  manual.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  manual.source.series[kBackendQuery] = Wave(1);
  manual.pools.pools["pool-1"] = NodePool{"pool-1", "web", 3, false, 0, 0, "", "", ""};
  manual.Make(/*with_pools=*/true).RunOnce(kNow + 30);
  EXPECT_TRUE(manual.pools.puts.empty());
}

TEST(ReconcilerTest, APoolWithAListedWorkloadMissingFromThePassIsLeftAlone) {
  Rig rig;
  rig.config.dry_run = false;
  rig.config.defaults.node_pool = "pool-1";
  rig.config.defaults.pods_per_node = 4;
  WorkloadConfig front = rig.config.defaults;
  front.ns = "shop";
  front.name = "front";  // listed on pool-1, but its HPA is not opted in any more
  rig.config.workloads = {front};
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true), Hpa("shop", "front", 2, 40, false)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.pools.pools["pool-1"] = NodePool{"pool-1", "web", 3, true, 1, 5, "", "", ""};
  rig.Make(/*with_pools=*/true).RunOnce(kNow + 30);
  EXPECT_EQ(rig.hpas.patches.size(), 1u);
  EXPECT_TRUE(rig.pools.puts.empty());
}

TEST(ReconcilerTest, NodePoolsAreNotWrittenInDryRun) {
  Rig rig;
  rig.config.defaults.node_pool = "pool-1";
  rig.config.defaults.pods_per_node = 4;
  rig.hpas.hpas = {Hpa("shop", "backend", 2, 40, true)};
  rig.source.series[kBackendQuery] = Wave(1);
  rig.pools.pools["pool-1"] = NodePool{"pool-1", "web", 3, true, 1, 5, "", "", ""};
  rig.Make(/*with_pools=*/true).RunOnce(kNow + 30);
  EXPECT_TRUE(rig.pools.puts.empty());
  EXPECT_EQ(
      rig.metrics.Value("topdog_advisor_apply_total", {{"mode", "dry_run"}, {"result", "ok"}, {"target", "node_pool"}}),
      1);
}

}  // namespace
}  // namespace topdog::advisor
