#include "advisor/core/decision.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "advisor/core/backtest.h"

namespace topdog::advisor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Format(const char* format, double a, double b = 0, double c = 0) {
  char buffer[256];
  std::snprintf(buffer, sizeof buffer, format, a, b, c);
  return buffer;
}

// The forecast for one horizon: a replay of the whole history through the backtest's PeakForecaster, deciding
// as often as the reconciler does, so the error quantiles are those of decisions like this one. Only the last
// decision computes quantiles (O(history) in all).
HorizonForecast ForecastHorizon(const Series& demand, double horizon_seconds, const DecisionSettings& settings) {
  const double step = demand.step_seconds;
  const size_t rows = demand.values.size();
  const size_t rows_per_day = static_cast<size_t>(std::llround(86400 / step));
  const size_t horizon_rows = std::max<size_t>(1, static_cast<size_t>(std::ceil(horizon_seconds / step - 1e-9)));
  const size_t decision_rows =
      std::max<size_t>(1, static_cast<size_t>(std::llround(settings.decision_interval_seconds / step)));
  PeakForecaster forecaster(rows_per_day, horizon_rows, decision_rows, settings.quantiles);
  for (size_t r = 0; r < rows; ++r) {
    // Past decisions at the rows that fall on the reconciler's rhythm counted back from now.
    if ((rows - r) % decision_rows == 0) forecaster.Forecast(/*calibrate=*/false);
    forecaster.Observe(demand.values[r]);
  }
  HorizonForecast out;
  out.horizon_seconds = horizon_seconds;
  if (auto calibrated = forecaster.Forecast(/*calibrate=*/true)) {
    out.quantiles = std::move(*calibrated);
    out.calibrated = true;
    return out;
  }
  // Too little history to calibrate: the last hour's peak for every quantile.
  const size_t hour_rows = std::max<size_t>(1, static_cast<size_t>(std::llround(3600 / step)));
  double peak = kNaN;
  for (size_t i = rows > hour_rows ? rows - hour_rows : 0; i < rows; ++i) {
    if (!std::isnan(demand.values[i]) && !(demand.values[i] <= peak)) peak = demand.values[i];
  }
  out.quantiles.assign(settings.quantiles.size(), peak);
  return out;
}

}  // namespace

double EstimatePodCapacity(const Series& demand, const Series& busy_pods, double window_seconds) {
  const size_t n = std::min(demand.values.size(), busy_pods.values.size());
  if (n == 0 || demand.step_seconds <= 0) return kNaN;
  const size_t window = static_cast<size_t>(std::max(0.0, window_seconds / demand.step_seconds));
  std::vector<double> ratios;
  for (size_t i = n > window ? n - window : 0; i < n; ++i) {
    const double d = demand.values[i], b = busy_pods.values[i];
    if (std::isfinite(d) && std::isfinite(b) && b > 0.05 && d >= 0) ratios.push_back(d / b);
  }
  if (ratios.size() < 30) return kNaN;
  std::sort(ratios.begin(), ratios.end());
  return SortedQuantile(ratios, 0.5);
}

WorkloadDecision DecideWorkload(const WorkloadInput& input, const DecisionSettings& settings) {
  WorkloadDecision out;
  out.peak_demand = kNaN;
  out.pod_capacity = kNaN;
  out.recommendation.hpa = input.state.hpa;
  out.recommendation.pool = input.state.pool;
  const Series& demand = input.demand;
  const double now = input.state.now_seconds;

  // Data checks first: the newest sample must be fresh and the last hour mostly observed.
  size_t newest = demand.values.size();
  while (newest > 0 && std::isnan(demand.values[newest - 1])) --newest;
  if (newest == 0 || demand.step_seconds <= 0) {
    out.reason = "no_data";
    out.detail = "no demand sample in the history";
    return out;
  }
  const double age = now - demand.TimeAt(newest - 1);
  if (age > settings.max_staleness_seconds) {
    out.reason = "stale_data";
    out.detail = Format("newest demand sample is %.0f s old (limit %.0f s)", age, settings.max_staleness_seconds);
    return out;
  }
  const size_t hour_rows = std::max<size_t>(1, static_cast<size_t>(std::llround(3600 / demand.step_seconds)));
  // Over the last hour, or since the first sample when the history is younger (a new workload is not sparse).
  size_t first = demand.values.size() > hour_rows ? demand.values.size() - hour_rows : 0;
  size_t oldest = 0;
  while (oldest < demand.values.size() && std::isnan(demand.values[oldest])) ++oldest;
  first = std::max(first, oldest);
  size_t known = 0;
  for (size_t i = first; i < demand.values.size(); ++i) known += std::isnan(demand.values[i]) ? 0 : 1;
  const double coverage = static_cast<double>(known) / static_cast<double>(demand.values.size() - first);
  if (coverage < settings.min_recent_coverage) {
    out.reason = "sparse_data";
    out.detail =
        Format("%.0f%% of the last hour observed (need %.0f%%)", 100 * coverage, 100 * settings.min_recent_coverage);
    return out;
  }

  for (double horizon : settings.horizons_seconds) out.forecasts.push_back(ForecastHorizon(demand, horizon, settings));
  const HorizonForecast& used = out.forecasts.front();
  out.peak_demand = used.quantiles[settings.decision_quantile_index];

  out.pod_capacity =
      input.configured_capacity > 0
          ? input.configured_capacity
          : (input.busy_pods ? EstimatePodCapacity(demand, *input.busy_pods, settings.capacity_window_seconds) : kNaN);
  if (!(out.pod_capacity > 0)) {
    out.reason = "no_capacity";
    out.detail = "pod capacity unknown: configure capacity_rps or a busy_pods series with a day of data";
    return out;
  }
  AdvisorPolicy policy = input.policy;
  policy.pod_capacity = out.pod_capacity;
  Recommendation rec = Recommend(out.peak_demand, input.state, policy);
  const HpaSpec& before = input.state.hpa;
  if (!used.calibrated) {
    // An uncalibrated forecast may pre-warm, never release: keep anything it would lower.
    rec.hpa.min_replicas = std::max(rec.hpa.min_replicas, before.min_replicas);
    rec.hpa.max_replicas = std::max(rec.hpa.max_replicas, before.max_replicas);
    rec.pool.min_nodes = std::max(rec.pool.min_nodes, input.state.pool.min_nodes);
    rec.pool.max_nodes = std::max(rec.pool.max_nodes, input.state.pool.max_nodes);
  }
  // A change is a change of the HPA: node pools may be shared by several workloads, so the reconciler sums
  // their needs and decides pools itself (rec.pool is this workload's alone).
  rec.changed = !(rec.hpa == before);
  out.recommendation = rec;
  const std::string numbers = Format("forecast peak %.3g req/s in %.0f min, capacity %.3g req/s per pod",
                                     out.peak_demand, used.horizon_seconds / 60, out.pod_capacity);
  if (!rec.changed) {
    out.outcome = DecisionOutcome::kHold;
    const bool cooling = rec.reason.find("cool-down") != std::string::npos;
    out.reason = !used.calibrated ? "short_history" : (cooling ? "cooldown" : "no_change");
    out.detail = numbers + ": " + (used.calibrated ? rec.reason : "history too short to lower anything");
    return out;
  }
  out.outcome = DecisionOutcome::kChange;
  out.reason = rec.hpa.min_replicas > before.min_replicas ? "raise" : "lower";
  if (rec.hpa.min_replicas == before.min_replicas) out.reason = "bounds";  // maxReplicas or the target
  out.detail = numbers + Format(": minReplicas %.0f -> %.0f, maxReplicas %.0f", before.min_replicas,
                                rec.hpa.min_replicas, rec.hpa.max_replicas);
  return out;
}

std::optional<CapacityOutlook> ComputeCapacityOutlook(const WorkloadDecision& decision, int max_replicas,
                                                      size_t decision_quantile_index) {
  if (decision.forecasts.empty() || !std::isfinite(decision.pod_capacity) || decision.pod_capacity <= 0 ||
      max_replicas <= 0) {
    return std::nullopt;
  }
  const double capacity = decision.pod_capacity * max_replicas;
  CapacityOutlook outlook;
  outlook.exhaustion_seconds = std::numeric_limits<double>::infinity();
  for (const HorizonForecast& forecast : decision.forecasts) {
    if (decision_quantile_index >= forecast.quantiles.size()) return std::nullopt;
    const double ratio = forecast.quantiles[decision_quantile_index] / capacity;
    outlook.saturation_by_horizon.emplace_back(forecast.horizon_seconds, ratio);
    if (ratio > 1) outlook.exhaustion_seconds = std::min(outlook.exhaustion_seconds, forecast.horizon_seconds);
  }
  return outlook;
}

}  // namespace topdog::advisor
