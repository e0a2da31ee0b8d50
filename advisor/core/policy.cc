#include "advisor/core/policy.h"

#include <algorithm>
#include <cmath>

namespace topdog::advisor {

Recommendation Recommend(double peak_demand, const ClusterState& state, const AdvisorPolicy& policy) {
  Recommendation out;
  out.hpa = state.hpa;
  out.pool = state.pool;
  if (!std::isfinite(peak_demand) || peak_demand < 0 || policy.pod_capacity <= 0) {
    out.reason = "no trustworthy forecast: nothing changed";
    return out;
  }
  // maxReplicas: the user's bound, never below the pods running now (cutting it would scale down at once).
  const int max_replicas = std::max({policy.max_replicas, state.current_pods, policy.floor_replicas});
  const double per_pod = policy.pod_capacity * policy.floor_utilization;
  // Clamped as a double first: a spike far above the capacity must not overflow the int.
  const double pods = std::ceil(peak_demand / per_pod - 1e-9);
  const int wanted = static_cast<int>(
      std::clamp(pods, static_cast<double>(policy.floor_replicas), static_cast<double>(max_replicas)));
  int min_replicas = state.hpa.min_replicas;
  if (wanted > min_replicas) {
    min_replicas = wanted;
    out.reason = "forecast peak " + std::to_string(peak_demand) + " req/s: raise minReplicas";
  } else if (wanted < min_replicas) {
    const bool cooling = state.now_seconds - state.last_change_seconds < policy.cooldown_seconds;
    const int lowest_step =
        static_cast<int>(std::floor(min_replicas * (1.0 - policy.max_decrease_fraction)));
    if (!cooling) min_replicas = std::max({wanted, lowest_step, policy.floor_replicas});
    out.reason = cooling ? "lower minReplicas after the cool-down" : "forecast peak lower: lower minReplicas";
  } else {
    out.reason = "minReplicas fits the forecast";
  }
  min_replicas = std::clamp(min_replicas, policy.floor_replicas, max_replicas);
  out.hpa.min_replicas = min_replicas;
  out.hpa.max_replicas = max_replicas;
  out.hpa.target_utilization = policy.target_utilization;
  if (policy.pods_per_node > 0) {
    const int per_node = policy.pods_per_node;
    const int cap = std::max(policy.max_nodes_cap, policy.min_nodes_floor);
    out.pool.min_nodes = std::clamp((min_replicas + per_node - 1) / per_node, policy.min_nodes_floor, cap);
    out.pool.max_nodes = std::clamp((max_replicas + per_node - 1) / per_node, out.pool.min_nodes, cap);
  }
  out.changed = !(out.hpa == state.hpa) || !(out.pool == state.pool);
  return out;
}

}  // namespace topdog::advisor
