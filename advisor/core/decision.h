// One workload's decision in a reconcile pass: from its demand history (and optionally its CPU in use) to the
// forecast peaks per horizon and a recommendation, or a reason to leave it alone. Pure: the reconciler fetches
// the history and the HPA, this decides, the reconciler applies. Never acts on stale or sparse data, and never
// lowers anything on a history too short to calibrate its forecast. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "advisor/core/policy.h"
#include "advisor/core/series.h"

namespace topdog::advisor {

struct DecisionSettings {
  double decision_interval_seconds = 300;  // how often the reconciler decides; the replay of history decides as often
  // Horizons to forecast; the first is the one decisions use (pod start-up, node provisioning and lag ahead).
  std::vector<double> horizons_seconds = {1200, 3600};
  std::vector<double> quantiles = {0.5, 0.9, 0.95};
  size_t decision_quantile_index = 1;      // into quantiles
  double max_staleness_seconds = 300;      // the newest observed demand sample at most this old
  double min_recent_coverage = 0.5;        // share of the last hour observed
  double capacity_window_seconds = 86400;  // pod capacity estimated over this much of the newest history
};

struct WorkloadInput {
  Series demand;                    // req/s per step up to now (gaps NaN)
  std::optional<Series> busy_pods;  // CPU in use in pods' worth of CPU request, on demand's grid
  double configured_capacity = 0;   // req/s one pod serves at 100% of its CPU request; 0: estimate it
  ClusterState state;               // the HPA and node pool as read, pods now, last change
  AdvisorPolicy policy;             // pod_capacity is filled in here
};

struct HorizonForecast {
  double horizon_seconds = 0;
  std::vector<double> quantiles;  // peak demand (req/s) over the horizon, per DecisionSettings::quantiles
  bool calibrated = false;        // false: the recent peak alone (a history under a day or 100 known decisions)
};

enum class DecisionOutcome { kChange, kHold, kSkip };

struct WorkloadDecision {
  DecisionOutcome outcome = DecisionOutcome::kSkip;
  // A label value: "raise", "lower", "bounds" (maxReplicas or the target only), "no_change", "cooldown",
  // "stale_data", "sparse_data", "no_data", "no_capacity", "short_history".
  std::string reason;
  std::string detail;  // one line for the log and the decision annotation
  std::vector<HorizonForecast> forecasts;
  double peak_demand = 0;   // the forecast the decision used (NaN when none)
  double pod_capacity = 0;  // the capacity it used (NaN when unknown)
  Recommendation recommendation;
};

// REQUIRES: settings.horizons_seconds and quantiles non-empty, decision_quantile_index < quantiles.size().
WorkloadDecision DecideWorkload(const WorkloadInput& input, const DecisionSettings& settings);

// The forecast against the most the HPA can give: per horizon, the forecast peak (the decision quantile) over
// what max_replicas pods serve at 100% of their CPU request, and the shortest horizon whose ratio exceeds 1
// (the capacity is exhausted within it; +Inf when no horizon's is). Series for alert rules
// (topdog_advisor_predicted_saturation_ratio, topdog_advisor_capacity_exhaustion_seconds).
struct CapacityOutlook {
  std::vector<std::pair<double, double>> saturation_by_horizon;  // (horizon seconds, ratio), as the forecasts
  double exhaustion_seconds = 0;
};
// nullopt without forecasts, a known pod capacity or max_replicas > 0.
std::optional<CapacityOutlook> ComputeCapacityOutlook(const WorkloadDecision& decision, int max_replicas,
                                                      size_t decision_quantile_index);

// The req/s one pod serves at 100% of its CPU request: the median of demand / busy_pods over the newest
// `window_seconds` where both are known and busy_pods > 0.05; NaN under 30 such points. REQUIRES: same grid.
double EstimatePodCapacity(const Series& demand, const Series& busy_pods, double window_seconds);

}  // namespace topdog::advisor
