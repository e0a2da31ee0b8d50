// Discrete-time simulator of a Deployment scaled by the Kubernetes HPA on a CPU utilisation target, on a
// node pool scaled like the Cluster Autoscaler on DOKS, replaying a demand trace (reference:
// ../shared/reference/autoscaling.md sections 1-2). Pure (no I/O, no clock); thread-compatible.
//
// Pods serve `pod_capacity` req/s at 100% of their CPU request (request = limit by default, so observed
// utilisation saturates at 100%). A pod is created by a scale-up, waits for room on a node, then starts
// serving `pod_startup_seconds` after it got one. What the HPA sees lags by `metric_lag_seconds`: a pod has
// no metric for that long after it started (missing), then counts as unready until its first metric taken
// after readiness plus the metrics window is visible (the CPU initialisation rules), then ready.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace topdog::advisor {

// spec.behavior.scaleUp / scaleDown.
struct ScalingRules {
  enum class PolicyType { kPods, kPercent };
  enum class Select { kMax, kMin, kDisabled };
  struct Policy {
    PolicyType type = PolicyType::kPercent;
    int value = 100;
    double period_seconds = 15;
    bool operator==(const Policy&) const = default;
  };
  std::optional<double> stabilization_seconds;  // unset: 0 for scale-up, the controller's 300 s for scale-down
  Select select = Select::kMax;
  std::vector<Policy> policies;
  bool operator==(const ScalingRules&) const = default;
};

struct HpaBehavior {
  ScalingRules scale_up;
  ScalingRules scale_down;
  // The API defaults, filled in when spec.behavior is set: up [4 pods, 100%] per 15 s, window 0, Max; down
  // 100% per 15 s, window nil (the controller's), Max.
  static HpaBehavior Defaults();
  bool operator==(const HpaBehavior&) const = default;
};

struct HpaSpec {
  int min_replicas = 2;
  int max_replicas = 100;
  double target_utilization = 0.7;      // of the CPU request; the controller compares whole percent
  std::optional<HpaBehavior> behavior;  // unset: the legacy normalisation
  bool operator==(const HpaSpec&) const = default;
};

// Node pool bounds (DOKS auto_scale min_nodes/max_nodes). Ignored when pods_per_node is 0.
struct NodePoolSpec {
  int min_nodes = 1;
  int max_nodes = 1000;
  bool operator==(const NodePoolSpec&) const = default;
};

struct SimulatorConfig {
  double step_seconds = 15;           // one HPA sync per step
  double pod_capacity = 1;            // req/s a pod serves at 100% of its CPU request
  double pod_startup_seconds = 45;    // from getting a node to serving (and Ready)
  double metric_lag_seconds = 30;     // from usage to what the HPA reads
  double metric_window_seconds = 15;  // metrics-server window
  double tolerance = 0.1;
  double downscale_stabilization_seconds = 300;
  double cpu_limit_ratio = 1.0;       // limit / request: where observed utilisation saturates
  int pods_per_node = 0;              // 0: no node limit
  double node_startup_seconds = 180;  // Cluster Autoscaler decision to node Ready
  double node_unneeded_seconds = 600; // a node's worth of spare room this long: one node removed
};

// What one step did.
struct StepResult {
  int pods = 0;             // every pod, any phase (cost)
  int serving_pods = 0;     // pods past start-up
  int nodes = 0;            // ready or provisioning (cost); 0 without a node limit
  bool scaled = false;      // the HPA wrote a new replica count
  double capacity = 0;      // serving_pods * pod_capacity, req/s
};

class HpaSimulator {
 public:
  // Starts at time 0 with `initial_pods` pods that are ready and serving (and the nodes they need).
  HpaSimulator(SimulatorConfig config, HpaSpec hpa, NodePoolSpec pool, int initial_pods);

  // The advisor's patch: takes effect at the next step's HPA sync. Returns whether anything changed.
  bool SetHpa(const HpaSpec& hpa);
  bool SetNodePool(const NodePoolSpec& pool);

  // One step of `step_seconds` with `demand` req/s: samples utilisation, runs the HPA sync (and the
  // Cluster Autoscaler when nodes are limited), then reports the state the step is accounted with.
  StepResult Step(double demand);

  double Now() const { return now_; }
  const HpaSpec& Hpa() const { return hpa_; }
  const NodePoolSpec& NodePool() const { return pool_; }
  int Pods() const { return static_cast<int>(pods_.size()); }
  int ServingPods() const;
  int64_t ScaleWrites() const { return scale_writes_; }

  // The HPA's replica computation for the current state (exposed for tests): the proposal from the metric
  // (before normalisation); the current count when the ratio is within tolerance or the unready/missing rules
  // hold it; nullopt when no pod has a metric (the controller then does nothing and records nothing).
  std::optional<int> MetricProposal(double observed_utilization) const;

 private:
  struct Pod {
    double created = 0;
    bool placed = false;  // has a node (always, without a node limit)
    double started = 0;   // got its node at
    bool Serving(double now, double startup) const { return placed && now - started >= startup; }
  };
  struct Recommendation {
    double time;
    int replicas;
  };
  struct ScaleEvent {
    double time;
    int change;  // > 0 added, < 0 removed
  };
  enum class PodState { kPending, kMissing, kUnready, kReady };

  PodState StateOf(const Pod& pod) const;
  bool WithinTolerance(double ratio) const;
  int Normalize(int current, int proposal);
  int NormalizeLegacy(int current, int proposal);
  int NormalizeWithBehavior(int current, int proposal);
  int ScaleUpLimit(int current, const ScalingRules& rules) const;
  int ScaleDownLimit(int current, const ScalingRules& rules) const;
  int ChangeInPeriod(double period_seconds, bool added) const;
  void Scale(int desired);
  void RunNodePool();
  void AssignNodes();

  SimulatorConfig config_;
  HpaSpec hpa_;
  NodePoolSpec pool_;
  double now_ = 0;
  std::vector<Pod> pods_;  // by creation time: scale-down removes the newest (the not-ready ones first)
  std::deque<double> utilization_;  // per step, newest last, for the metric lag
  std::vector<Recommendation> recommendations_;
  std::vector<ScaleEvent> events_;
  int64_t scale_writes_ = 0;
  // Node pool: ready times of the nodes (ready or provisioning), and how long spare room has lasted.
  std::vector<double> node_ready_;
  double spare_since_ = -1;
};

}  // namespace topdog::advisor
