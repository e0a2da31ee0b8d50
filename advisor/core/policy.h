// The recommendation policy: from a forecast of peak demand, the HPA's minReplicas / maxReplicas / target and
// the node pool's min_nodes / max_nodes, within guardrails. A pure function of (forecast, current state,
// policy), shared by the daemon and the backtest. Thread-safe.
#pragma once

#include <string>

#include "advisor/core/hpa_simulator.h"

namespace topdog::advisor {

struct AdvisorPolicy {
  double pod_capacity = 1;        // req/s one pod serves at 100% CPU
  double floor_utilization = 0.9; // minReplicas is sized so the forecast peak runs pods at this utilisation
  double target_utilization = 0.7;
  int floor_replicas = 2;         // never below (the user's floor)
  int max_replicas = 100;         // the user's bound for maxReplicas (raised only to stay above current pods)
  // Guardrails on minReplicas: it may rise at once (a pre-warm is the point), but falls by at most this
  // fraction per change, and not within `cooldown_seconds` of the last change.
  double max_decrease_fraction = 0.5;
  double cooldown_seconds = 0;
  // Node pool (ignored when pods_per_node is 0): min_nodes holds minReplicas' pods, never below
  // `min_nodes_floor`; max_nodes holds maxReplicas' pods, never above `max_nodes_cap`.
  int pods_per_node = 0;
  int min_nodes_floor = 1;
  int max_nodes_cap = 25;  // DigitalOcean's default Droplet limit
};

struct ClusterState {
  HpaSpec hpa;
  NodePoolSpec pool;
  int current_pods = 0;
  double now_seconds = 0;
  double last_change_seconds = -1e18;
};

struct Recommendation {
  HpaSpec hpa;
  NodePoolSpec pool;
  bool changed = false;
  std::string reason;  // one line, for logs and dry runs
};

// `peak_demand`: the forecast quantile of the highest demand (req/s) until the next decision has taken effect
// (pod start-up, node provisioning and metric lag included); NaN when there is no trustworthy forecast, which
// leaves everything as it is.
Recommendation Recommend(double peak_demand, const ClusterState& state, const AdvisorPolicy& policy);

}  // namespace topdog::advisor
