// Reconciler: one level-triggered pass over the managed workloads: observe (HPAs, history, node pools) ->
// decide (core/decision) -> apply (a merge patch with the resourceVersion it decided on, dryRun=All in dry-run
// mode; a node-pool PUT). A failed observation means no write for that workload this pass; a failed HPA list
// means no write at all. Writes stop the moment leadership is lost. RunOnce is called from one thread.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "advisor/core/decision.h"
#include "advisor/daemon_metrics.h"
#include "advisor/io/config.h"
#include "advisor/io/do_client.h"
#include "advisor/io/history_source.h"
#include "advisor/io/kube_client.h"

namespace topdog::advisor {

// The annotations the advisor reads and writes on an HPA.
inline constexpr const char* kManagedAnnotation = "advisor.topdog.dev/managed";         // "true": opt in
inline constexpr const char* kFloorAnnotation = "advisor.topdog.dev/floor-replicas";    // the user's floor
inline constexpr const char* kMaxAnnotation = "advisor.topdog.dev/max-replicas";        // the user's bound
inline constexpr const char* kDecisionAnnotation = "advisor.topdog.dev/last-decision";  // reason: detail
inline constexpr const char* kChangeAnnotation = "advisor.topdog.dev/last-change";      // RFC 3339
// What the advisor last wrote ("minReplicas=6,maxReplicas=40"): a spec that differs from it was edited by a user,
// whose values then become the floor and the bound.
inline constexpr const char* kWrittenAnnotation = "advisor.topdog.dev/written";

// The seams the reconciler writes through (KubeClient and DoClient in the daemon; fakes in unit tests).
class HpaApi {
 public:
  virtual ~HpaApi() = default;
  virtual Result<std::vector<HpaObject>> ListHpas(const std::vector<std::string>& namespaces) = 0;
  virtual Result<HpaObject> GetHpa(const HpaRef& ref) = 0;
  virtual Result<HpaObject> PatchHpa(const HpaRef& ref, const HpaChange& change, ApplyMode mode) = 0;
};

class NodePoolApi {
 public:
  virtual ~NodePoolApi() = default;
  virtual Result<NodePool> GetNodePool(const std::string& cluster_id, const std::string& pool_id) = 0;
  virtual Result<NodePool> SetBounds(const std::string& cluster_id, const NodePool& current, int min_nodes,
                                     int max_nodes) = 0;
};

// The seams over the real clients.
class KubeHpaApi : public HpaApi {
 public:
  explicit KubeHpaApi(KubeClient& client) : client_(client) {}
  Result<std::vector<HpaObject>> ListHpas(const std::vector<std::string>& namespaces) override {
    return client_.ListHpas(namespaces);
  }
  Result<HpaObject> GetHpa(const HpaRef& ref) override { return client_.GetHpa(ref); }
  Result<HpaObject> PatchHpa(const HpaRef& ref, const HpaChange& change, ApplyMode mode) override {
    return client_.PatchHpa(ref, change, mode);
  }

 private:
  KubeClient& client_;
};

class DoNodePoolApi : public NodePoolApi {
 public:
  explicit DoNodePoolApi(DoClient& client) : client_(client) {}
  Result<NodePool> GetNodePool(const std::string& cluster_id, const std::string& pool_id) override {
    return client_.GetNodePool(cluster_id, pool_id);
  }
  Result<NodePool> SetBounds(const std::string& cluster_id, const NodePool& current, int min_nodes,
                             int max_nodes) override {
    return client_.SetBounds(cluster_id, current, min_nodes, max_nodes);
  }

 private:
  DoClient& client_;
};

struct WorkloadOutcome {
  HpaRef ref;
  WorkloadDecision decision;
  std::string error;                      // what failed, when something did ("" otherwise)
  bool written = false;                   // a patch (or dry-run patch) was accepted
  int floor_replicas = 0, max_bound = 0;  // the user's bounds the decision kept within
};

struct PassReport {
  bool ran = false;         // false: not the leader, or the HPA list failed
  std::string skipped_why;  // when !ran
  std::vector<WorkloadOutcome> workloads;
  int patches = 0, pool_updates = 0, errors = 0;
};

class Reconciler {
 public:
  // `hpas` null: no Kubernetes (the workloads' static_hpa stand in, nothing is written). `pools` null: node
  // pools are not managed. `is_leader` is asked before the pass and before every write.
  Reconciler(const AdvisorConfig& config, HistorySource& source, HpaApi* hpas, NodePoolApi* pools,
             DaemonMetrics& metrics, std::function<bool()> is_leader);

  PassReport RunOnce(double now_seconds);

 private:
  struct Workload {
    HpaRef ref;
    HpaObject object;  // as read (or built from static_hpa)
    WorkloadConfig config;
  };
  struct PoolState {
    double last_update_seconds = -1e18;
  };

  Result<std::vector<Workload>> Observe();
  WorkloadOutcome Decide(const Workload& workload, double now_seconds, GaugeBatch& gauges,
                         std::map<std::string, NodePool>& pools_read);
  void Apply(const Workload& workload, WorkloadOutcome& outcome, double now_seconds, PassReport& report);
  void ReconcilePools(const std::vector<Workload>& workloads, const std::vector<WorkloadOutcome>& outcomes,
                      const std::map<std::string, NodePool>& pools_read, double now_seconds, GaugeBatch& gauges,
                      PassReport& report);
  void CountError(const std::string& stage, const Error& error);
  void CountApply(const MetricLabels& labels);  // {mode, result, target}

  const AdvisorConfig& config_;
  HistorySource& source_;
  HpaApi* hpas_;
  NodePoolApi* pools_;
  DaemonMetrics& metrics_;
  std::function<bool()> is_leader_;
  // HPAs whose last patch was refused as invalid (422), by the metadata.generation it was refused at: not
  // retried until the HPA's spec changes (status writes leave the generation as it is).
  std::map<HpaRef, long long> rejected_;
  std::map<std::string, bool> warned_pools_;  // pools without autoscaling: warned about once
  std::map<std::string, PoolState> pool_state_;
};

}  // namespace topdog::advisor
