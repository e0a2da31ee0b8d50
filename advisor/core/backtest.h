// The backtest: replays a demand trace through the HPA simulator under several arms (reactive HPA with its
// target swept, HPA retuned by our advisor with its quantile level swept, a seasonal-naive advisor, static
// peak provisioning, an oracle) and scores each (reference: autoscaling.md section 4). Advisors only ever see
// the past. Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "advisor/core/hpa_simulator.h"
#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

// A demand trace on a regular grid: demand in req/s per row (constant within the row); rows not scored
// (flagged in the source, or without a value) are simulated with their demand (0 when absent) and left out
// of every sum.
struct Trace {
  double start_seconds = 0;
  double step_seconds = 60;
  std::vector<double> demand;
  std::vector<bool> scored;
};

// Rows of `timestamp,value` (value = requests in the row's interval, or req/s with `values_are_rates`) on a
// regular grid; `unscored` marks rows to leave out (same length as samples, or empty).
Result<Trace> MakeTrace(const std::vector<Sample>& samples, const std::vector<bool>& unscored, bool values_are_rates);

// Forecasts, every decision, quantiles of the highest demand over the next `horizon_rows` rows: the larger
// of the last hour's peak and the mean of the horizon's window one day and one week earlier (each scaled by
// how the last hour compares with the hour before it), times the quantiles of how that estimate has erred
// over the last week of decisions taken within an hour of the same time of day (bursts cluster by time of
// day). O(hour + horizon + week of decisions) per decision.
class PeakForecaster {
 public:
  // `decision_rows`: how often Forecast is called, to keep a week of errors.
  PeakForecaster(size_t rows_per_day, size_t horizon_rows, size_t decision_rows, std::vector<double> quantiles);
  // The next row (NaN: unknown).
  void Observe(double value);
  // Quantiles of the peak over the next horizon (in the order given), or nullopt until there is a day of
  // history and 100 decisions whose outcome is known. With `calibrate` false the decision is only recorded
  // (its outcome still calibrates later ones) and nothing is returned: a replay of history needs the quantiles
  // at its last decision only.
  std::optional<std::vector<double>> Forecast(bool calibrate = true);

 private:
  double WindowMax(size_t begin, size_t end) const;  // NaN-skipping; NaN when nothing is known
  double WindowMean(size_t begin, size_t end) const;

  size_t day_, horizon_;
  std::vector<double> quantiles_;
  std::vector<double> history_;
  struct Pending {
    size_t origin;
    double estimate;
  };
  std::vector<Pending> pending_;
  struct Ratio {
    size_t hour;   // hour of day of the decision (rows since the start; the trace's phase does not matter)
    double value;  // actual / estimate
  };
  std::vector<Ratio> ratios_;  // oldest first, the last week of decisions
  size_t max_ratios_;
};

struct BacktestOptions {
  double pod_capacity = 0;  // req/s per pod; 0: the p99 of scored demand / 30
  double pod_startup_seconds = 45;
  double metric_lag_seconds = 30;
  double node_startup_seconds = 180;
  int pods_per_node = 0;  // 0: no node limit
  int min_replicas = 2;
  int max_replicas = 100;
  double decision_seconds = 300;  // how often advisors patch
  double horizon_seconds = 1200;  // what our advisor's floor covers (best of 7 to 30 min on the NASA trace)
  std::vector<double> hpa_targets = {0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::vector<double> advisor_targets = {0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
  std::vector<double> advisor_quantiles = {0.2, 0.35, 0.5, 0.8, 0.95, 0.99};
  // The seasonal-naive advisor (reference: autoscaling.md section 7): minReplicas for the peak of the same
  // 15 minutes one day earlier, at 90% utilisation.
  double seasonal_naive_window_seconds = 900;
  std::vector<double> seasonal_naive_targets = {0.4, 0.5, 0.6, 0.7};
  double floor_utilization = 0.9;  // our advisor sizes minReplicas for its peak at this utilisation
};

struct ArmResult {
  std::string arm;  // "hpa", "advisor", "seasonal_naive", "static_peak", "oracle"
  std::optional<double> target;
  std::optional<double> quantile;
  double replica_minutes = 0;
  double node_minutes = 0;
  double overload_minutes = 0;
  double unserved_fraction = 0;
  double longest_overload_streak_minutes = 0;
  int64_t scaling_changes = 0;
  double patches_per_day = 0;
  // Per scored row, for plots: demand and mean ready capacity (req/s).
  std::vector<float> demand_series, capacity_series;
};

// The frontier comparison at one cost: the HPA at `hpa_target`, and the other arms' overload minutes
// interpolated on their Pareto frontier at the HPA's replica-minutes (nullopt where a frontier does not
// reach that cost).
struct FrontierPoint {
  double hpa_target = 0;
  double replica_minutes = 0;
  double hpa_overload = 0;
  std::optional<double> advisor_overload;
  std::optional<double> seasonal_naive_overload;
};

struct BacktestResult {
  BacktestOptions options;  // with pod_capacity resolved
  double scored_minutes = 0;
  double days = 0;
  std::vector<ArmResult> arms;
  std::vector<FrontierPoint> frontier;  // at the HPA's 70%, 50% and 40% targets when swept
  double oracle_replica_minutes = 0;
  double seconds_simulated = 0;
  double step_seconds = 60;   // of the trace's rows
  SimulatorConfig simulator;  // what every HPA arm ran with
};

// `progress` gets the fraction done (0..1) now and then.
Result<BacktestResult> RunBacktest(const Trace& trace, BacktestOptions options,
                                   const std::function<void(double)>& progress = nullptr);

// Linear interpolation of overload minutes at `cost` on the lower Pareto frontier of (replica-minutes,
// overload-minutes) points; nullopt outside the frontier's cost range.
std::optional<double> FrontierAt(std::vector<std::pair<double, double>> points, double cost);

}  // namespace topdog::advisor
