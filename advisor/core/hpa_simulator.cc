#include "advisor/core/hpa_simulator.h"

#include <algorithm>
#include <climits>
#include <cmath>

namespace topdog::advisor {
namespace {

constexpr int64_t kRequestMilli = 1000;  // every pod requests one CPU; only ratios matter

}  // namespace

HpaBehavior HpaBehavior::Defaults() {
  HpaBehavior b;
  b.scale_up.stabilization_seconds = 0;
  b.scale_up.policies = {{ScalingRules::PolicyType::kPods, 4, 15}, {ScalingRules::PolicyType::kPercent, 100, 15}};
  b.scale_down.policies = {{ScalingRules::PolicyType::kPercent, 100, 15}};
  return b;
}

HpaSimulator::HpaSimulator(SimulatorConfig config, HpaSpec hpa, NodePoolSpec pool, int initial_pods)
    : config_(config), hpa_(std::move(hpa)), pool_(pool) {
  const double long_ago = -1e9;
  pods_.assign(static_cast<size_t>(std::max(initial_pods, 0)), Pod{long_ago, true, long_ago});
  if (config_.pods_per_node > 0) {
    int nodes = static_cast<int>((pods_.size() + static_cast<size_t>(config_.pods_per_node) - 1) /
                                 static_cast<size_t>(config_.pods_per_node));
    nodes = std::max(nodes, pool_.min_nodes);
    node_ready_.assign(static_cast<size_t>(nodes), long_ago);
  }
}

bool HpaSimulator::SetHpa(const HpaSpec& hpa) {
  if (hpa == hpa_) return false;
  hpa_ = hpa;
  return true;
}

bool HpaSimulator::SetNodePool(const NodePoolSpec& pool) {
  if (pool == pool_) return false;
  pool_ = pool;
  return true;
}

int HpaSimulator::ServingPods() const {
  int serving = 0;
  for (const Pod& pod : pods_) serving += pod.Serving(now_, config_.pod_startup_seconds) ? 1 : 0;
  return serving;
}

HpaSimulator::PodState HpaSimulator::StateOf(const Pod& pod) const {
  if (!pod.placed) return PodState::kPending;
  const double age = now_ - pod.started;
  // No metric until the first sample (taken once the container runs) has gone through the lag.
  if (age < config_.metric_lag_seconds) return PodState::kMissing;
  // Within the CPU initialisation period a pod is unready until Ready (start-up) and until its metric was
  // taken at least one metrics window after that, as seen through the lag.
  if (age < config_.pod_startup_seconds + config_.metric_window_seconds + config_.metric_lag_seconds) {
    return PodState::kUnready;
  }
  return PodState::kReady;
}

// The current controller's form, (1 - down) <= ratio <= (1 + up) (replica_calculator.go with Tolerances):
// 55% at a 50% target (1.1) is inside, as the reference simulator has it.
bool HpaSimulator::WithinTolerance(double ratio) const {
  return 1.0 - config_.tolerance <= ratio && ratio <= 1.0 + config_.tolerance;
}

std::optional<int> HpaSimulator::MetricProposal(double observed_utilization) const {
  const int current = Pods();
  int64_t ready = 0, unready = 0, missing = 0;
  for (const Pod& pod : pods_) {
    switch (StateOf(pod)) {
      case PodState::kPending:
      case PodState::kUnready: ++unready; break;
      case PodState::kMissing: ++missing; break;
      case PodState::kReady: ++ready; break;
    }
  }
  if (ready == 0) return std::nullopt;  // no metrics for the targeted pods: the controller does nothing
  const int64_t target = std::max<int64_t>(1, std::llround(hpa_.target_utilization * 100));
  // Every ready pod reports the same usage (the load balancer spreads demand evenly).
  const int64_t usage_per_pod = static_cast<int64_t>(std::floor(observed_utilization * kRequestMilli));
  const int64_t utilization = (ready * usage_per_pod * 100) / (ready * kRequestMilli);  // whole percent
  const double ratio = static_cast<double>(utilization) / static_cast<double>(target);
  const bool scale_up_with_unready = unready > 0 && ratio > 1.0;
  if (!scale_up_with_unready && missing == 0) {
    if (WithinTolerance(ratio)) return current;
    return static_cast<int>(std::ceil(ratio * static_cast<double>(ready)));
  }
  // Missing pods count at 100% (or the target, if higher) on a scale-down and at 0 on a scale-up; on a
  // scale-up unready pods count at 0 too: new pods damp further scale-up.
  int64_t total_usage = ready * usage_per_pod;
  int64_t counted = ready;
  if (missing > 0 && ratio < 1.0) {
    total_usage += missing * kRequestMilli * std::max<int64_t>(100, target) / 100;
    counted += missing;
  } else if (missing > 0 && ratio > 1.0) {
    counted += missing;
  }
  if (scale_up_with_unready) counted += unready;
  const int64_t new_utilization = (total_usage * 100) / (counted * kRequestMilli);
  const double new_ratio = static_cast<double>(new_utilization) / static_cast<double>(target);
  if (WithinTolerance(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return current;
  }
  const int proposal = static_cast<int>(std::ceil(new_ratio * static_cast<double>(counted)));
  if ((new_ratio < 1.0 && proposal > current) || (new_ratio > 1.0 && proposal < current)) return current;
  return proposal;
}

int HpaSimulator::Normalize(int current, int proposal) {
  return hpa_.behavior ? NormalizeWithBehavior(current, proposal) : NormalizeLegacy(current, proposal);
}

int HpaSimulator::NormalizeLegacy(int current, int proposal) {
  // Only scale-down is stabilised: the highest proposal of the window wins. Entries exactly at the cutoff
  // still count (time.Before is strict).
  const double cutoff = now_ - config_.downscale_stabilization_seconds;
  int stabilized = proposal;
  for (const Recommendation& rec : recommendations_) {
    if (rec.time >= cutoff) stabilized = std::max(stabilized, rec.replicas);
  }
  std::erase_if(recommendations_, [&](const Recommendation& rec) { return rec.time < cutoff; });
  recommendations_.push_back({now_, proposal});
  // At most double, or up to 4 pods, per sync; never outside [min, max].
  const int scale_up_limit = std::max(2 * current, 4);
  const int maximum = std::min(hpa_.max_replicas, scale_up_limit);
  if (stabilized < hpa_.min_replicas) return hpa_.min_replicas;
  if (stabilized > maximum) return maximum;
  return stabilized;
}

int HpaSimulator::ChangeInPeriod(double period_seconds, bool added) const {
  const double cutoff = now_ - period_seconds;
  int sum = 0;
  for (const ScaleEvent& event : events_) {
    if (event.time > cutoff && (event.change > 0) == added) sum += std::abs(event.change);
  }
  return sum;
}

int HpaSimulator::ScaleUpLimit(int current, const ScalingRules& rules) const {
  if (rules.select == ScalingRules::Select::kDisabled) return current;
  const bool use_min = rules.select == ScalingRules::Select::kMin;
  int result = use_min ? INT_MAX : INT_MIN;
  for (const auto& policy : rules.policies) {
    const int start = current - ChangeInPeriod(policy.period_seconds, true) + ChangeInPeriod(policy.period_seconds, false);
    const int proposed = policy.type == ScalingRules::PolicyType::kPods
                             ? start + policy.value
                             : static_cast<int>(std::ceil(start * (1.0 + policy.value / 100.0)));
    result = use_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int HpaSimulator::ScaleDownLimit(int current, const ScalingRules& rules) const {
  if (rules.select == ScalingRules::Select::kDisabled) return current;
  const bool use_min = rules.select == ScalingRules::Select::kMin;  // the policy allowing the least change
  int result = use_min ? INT_MIN : INT_MAX;
  for (const auto& policy : rules.policies) {
    const int start = current - ChangeInPeriod(policy.period_seconds, true) + ChangeInPeriod(policy.period_seconds, false);
    const int proposed = policy.type == ScalingRules::PolicyType::kPods
                             ? start - policy.value
                             : static_cast<int>(start * (1.0 - policy.value / 100.0));  // truncation
    result = use_min ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

int HpaSimulator::NormalizeWithBehavior(int current, int proposal) {
  const HpaBehavior& behavior = *hpa_.behavior;
  const double up_window = behavior.scale_up.stabilization_seconds.value_or(0);
  const double down_window =
      behavior.scale_down.stabilization_seconds.value_or(config_.downscale_stabilization_seconds);
  const double up_cutoff = now_ - up_window, down_cutoff = now_ - down_window;
  int up = proposal, down = proposal;
  for (const Recommendation& rec : recommendations_) {
    if (rec.time > up_cutoff) up = std::min(up, rec.replicas);  // time.After is strict
    if (rec.time > down_cutoff) down = std::max(down, rec.replicas);
  }
  std::erase_if(recommendations_,
                [&](const Recommendation& rec) { return rec.time < up_cutoff && rec.time < down_cutoff; });
  recommendations_.push_back({now_, proposal});
  int rec = current;
  if (rec < up) rec = up;
  if (rec > down) rec = down;

  if (rec > current) {
    const int limit = std::max(ScaleUpLimit(current, behavior.scale_up), current);
    return std::min(rec, std::min(hpa_.max_replicas, limit));
  }
  if (rec < current) {
    const int limit = std::min(ScaleDownLimit(current, behavior.scale_down), current);
    return std::max(rec, std::max(hpa_.min_replicas, limit));
  }
  return rec;
}

void HpaSimulator::Scale(int desired) {
  const int current = Pods();
  if (desired > current) {
    const bool placed = config_.pods_per_node <= 0;  // else the node pool places it
    pods_.resize(static_cast<size_t>(desired), Pod{now_, placed, now_});
  } else {
    pods_.resize(static_cast<size_t>(std::max(desired, 0)));  // the newest first: they are the not-ready ones
  }
  ++scale_writes_;
  if (hpa_.behavior) {
    events_.push_back({now_, desired - current});
    double longest = 0;
    for (const auto* rules : {&hpa_.behavior->scale_up, &hpa_.behavior->scale_down}) {
      for (const auto& policy : rules->policies) longest = std::max(longest, policy.period_seconds);
    }
    std::erase_if(events_, [&](const ScaleEvent& event) { return event.time <= now_ - longest; });
  }
}

void HpaSimulator::AssignNodes() {
  if (config_.pods_per_node <= 0) return;
  int ready_nodes = 0;
  for (double ready : node_ready_) ready_nodes += ready <= now_ ? 1 : 0;
  int64_t room = static_cast<int64_t>(ready_nodes) * config_.pods_per_node;
  int64_t assigned = 0;
  for (const Pod& pod : pods_) assigned += pod.placed ? 1 : 0;
  for (Pod& pod : pods_) {
    if (assigned >= room) break;
    if (!pod.placed) {
      pod.placed = true;
      pod.started = now_;
      ++assigned;
    }
  }
}

void HpaSimulator::RunNodePool() {
  if (config_.pods_per_node <= 0) return;
  const int per_node = config_.pods_per_node;
  const int64_t pods = Pods();
  int nodes = static_cast<int>(node_ready_.size());
  int64_t pending = 0;
  for (const Pod& pod : pods_) pending += pod.placed ? 0 : 1;
  int64_t provisioning_room = 0;
  for (double ready : node_ready_) provisioning_room += ready > now_ ? per_node : 0;
  // Scale-up for pods that cannot be scheduled, within max_nodes; min_nodes is kept.
  int wanted = nodes;
  if (pending > provisioning_room) {
    wanted += static_cast<int>((pending - provisioning_room + per_node - 1) / per_node);
  }
  wanted = std::max(std::min(wanted, pool_.max_nodes), pool_.min_nodes);
  while (nodes < wanted) {
    node_ready_.push_back(now_ + config_.node_startup_seconds);
    ++nodes;
  }
  // Scale-down: a whole node's worth of room for node_unneeded_seconds removes one node.
  const int64_t spare = static_cast<int64_t>(nodes) * per_node - pods;
  if (spare >= per_node && nodes > pool_.min_nodes) {
    if (spare_since_ < 0) spare_since_ = now_;
    if (now_ - spare_since_ >= config_.node_unneeded_seconds) {
      // The node that is not ready yet goes first, else the youngest.
      node_ready_.pop_back();
      spare_since_ = now_;
    }
  } else {
    spare_since_ = -1;
  }
}

StepResult HpaSimulator::Step(double demand) {
  // Sample: usage spreads over the serving pods and saturates at the CPU limit.
  const int serving = ServingPods();
  double utilization = config_.cpu_limit_ratio;
  if (serving > 0) utilization = std::min(demand / (serving * config_.pod_capacity), config_.cpu_limit_ratio);
  if (demand <= 0) utilization = 0;
  utilization_.push_back(utilization);
  const size_t lag_steps = static_cast<size_t>(std::llround(config_.metric_lag_seconds / config_.step_seconds));
  while (utilization_.size() > lag_steps + 1) utilization_.pop_front();
  const double observed = utilization_.front();

  AssignNodes();
  StepResult result;
  const int current = Pods();
  int desired = current;
  if (current == 0 && hpa_.min_replicas != 0) {
    // Scaled to zero by someone else: autoscaling is disabled until it is scaled up again.
  } else if (current > hpa_.max_replicas) {
    desired = hpa_.max_replicas;  // immediately, without metrics, stabilisation or rate limits
  } else if (current < hpa_.min_replicas) {
    desired = hpa_.min_replicas;
  } else if (auto proposal = MetricProposal(observed)) {
    desired = Normalize(current, *proposal);
  }
  if (desired != current) {
    Scale(desired);
    result.scaled = true;
  }
  RunNodePool();
  AssignNodes();

  result.pods = Pods();
  result.serving_pods = ServingPods();
  result.capacity = result.serving_pods * config_.pod_capacity;
  result.nodes = static_cast<int>(node_ready_.size());
  now_ += config_.step_seconds;
  return result;
}

}  // namespace topdog::advisor
