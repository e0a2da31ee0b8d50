#include "advisor/report.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include <nlohmann/json.hpp>

namespace topdog::advisor {
namespace {

nlohmann::json OptionalNumber(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string Format(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string ArmLabel(const ArmResult& arm) {
  std::string label = arm.arm;
  if (arm.target) label += " " + Format("%.0f%%", *arm.target * 100);
  if (arm.quantile) label += " q" + Format("%g", *arm.quantile);
  return label;
}

const ArmResult* FindArm(const BacktestResult& result, const std::string& name, std::optional<double> target) {
  for (const ArmResult& arm : result.arms) {
    if (arm.arm != name) continue;
    if (target && (!arm.target || std::abs(*arm.target - *target) > 1e-9)) continue;
    return &arm;
  }
  return nullptr;
}

}  // namespace

int PlottedAdvisorArm(const BacktestResult& result) {
  const ArmResult* hpa = FindArm(result, "hpa", 0.7);
  const double cost = hpa != nullptr ? hpa->replica_minutes : std::numeric_limits<double>::infinity();
  // Rank: first the arms that cost at least the HPA's, cheapest first; then the others, dearest first.
  auto rank = [&](const ArmResult& arm) {
    return arm.replica_minutes >= cost ? std::make_pair(0, arm.replica_minutes)
                                       : std::make_pair(1, -arm.replica_minutes);
  };
  int best = -1;
  for (size_t i = 0; i < result.arms.size(); ++i) {
    if (result.arms[i].arm != "advisor") continue;
    if (best < 0 || rank(result.arms[i]) < rank(result.arms[static_cast<size_t>(best)])) best = static_cast<int>(i);
  }
  return best;
}

std::string ReportJson(const BacktestResult& result, const ReportInfo& info) {
  const BacktestOptions& o = result.options;
  nlohmann::json report;
  report["trace"] = info.trace;
  report["assumptions"] = {
      {"pod_capacity_rps", o.pod_capacity},
      {"pod_startup_seconds", o.pod_startup_seconds},
      {"metric_lag_seconds", o.metric_lag_seconds},
      {"metric_window_seconds", result.simulator.metric_window_seconds},
      {"hpa_sync_seconds", result.simulator.step_seconds},
      {"hpa_tolerance", result.simulator.tolerance},
      {"downscale_stabilization_seconds", result.simulator.downscale_stabilization_seconds},
      {"cpu_limit_over_request", result.simulator.cpu_limit_ratio},
      {"node_startup_seconds", o.node_startup_seconds},
      {"pods_per_node", o.pods_per_node == 0 ? nlohmann::json(nullptr) : nlohmann::json(o.pods_per_node)},
      {"min_replicas", o.min_replicas},
      {"max_replicas", o.max_replicas},
      {"decision_seconds", o.decision_seconds},
      {"advisor_horizon_seconds", o.horizon_seconds},
      {"floor_utilization", o.floor_utilization},
      {"scored_minutes", result.scored_minutes},
      {"days", result.days},
  };
  nlohmann::json arms = nlohmann::json::array();
  for (const ArmResult& arm : result.arms) {
    arms.push_back({
        {"arm", arm.arm},
        {"target", OptionalNumber(arm.target)},
        {"quantile", OptionalNumber(arm.quantile)},
        {"replica_minutes", arm.replica_minutes},
        {"node_minutes", arm.node_minutes},
        {"overload_minutes", arm.overload_minutes},
        {"unserved_fraction", arm.unserved_fraction},
        {"longest_overload_streak_minutes", arm.longest_overload_streak_minutes},
        {"scaling_changes", arm.scaling_changes},
        {"patches_per_day", arm.patches_per_day},
        {"cost_vs_oracle",
         result.oracle_replica_minutes > 0 ? nlohmann::json(arm.replica_minutes / result.oracle_replica_minutes)
                                           : nlohmann::json(nullptr)},
    });
  }
  report["arms"] = arms;
  nlohmann::json frontier = nlohmann::json::array();
  for (const FrontierPoint& point : result.frontier) {
    auto ratio = [&](const std::optional<double>& value, double base) -> nlohmann::json {
      if (!value || base <= 0) return nullptr;
      return *value / base;
    };
    frontier.push_back({
        {"hpa_target", point.hpa_target},
        {"replica_minutes", point.replica_minutes},
        {"hpa_overload_minutes", point.hpa_overload},
        {"advisor_overload_minutes", OptionalNumber(point.advisor_overload)},
        {"seasonal_naive_overload_minutes", OptionalNumber(point.seasonal_naive_overload)},
        {"advisor_vs_hpa", ratio(point.advisor_overload, point.hpa_overload)},
        {"advisor_vs_seasonal_naive",
         point.seasonal_naive_overload ? ratio(point.advisor_overload, *point.seasonal_naive_overload) : nullptr},
    });
  }
  report["frontier"] = frontier;
  report["run_seconds"] = info.run_seconds;
  // A trace path need not be UTF-8 (Linux paths are bytes): replace what is not rather than throw.
  return report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string ReportMarkdown(const BacktestResult& result, const ReportInfo& info) {
  const BacktestOptions& o = result.options;
  std::string md = "# Autoscaling backtest: " + info.trace + "\n\n";
  md += Format("%.1f days, ", result.days) + Format("%.0f scored minutes. ", result.scored_minutes);
  md += Format("Pod capacity %.4g req/s, ", o.pod_capacity) + Format("pod start-up %.0f s, ", o.pod_startup_seconds) +
        Format("metric lag %.0f s, ", o.metric_lag_seconds) +
        (o.pods_per_node > 0 ? Format("%.0f pods per node, ", o.pods_per_node) +
                                   Format("node start-up %.0f s, ", o.node_startup_seconds)
                             : std::string("no node limit, ")) +
        Format("minReplicas %.0f, ", o.min_replicas) + Format("maxReplicas %.0f; ", o.max_replicas) +
        Format("advisors decide every %.0f s ", o.decision_seconds) +
        Format("for the next %.0f s. ", o.horizon_seconds) + Format("Run time %.1f s.\n\n", info.run_seconds);
  md += "## Frontier comparison (overload minutes at the HPA's cost)\n\n";
  md += "| HPA target | replica-minutes | HPA | advisor | seasonal naive | advisor / HPA | advisor / seasonal naive |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|\n";
  auto cell = [](const std::optional<double>& v) { return v ? Format("%.1f", *v) : std::string("-"); };
  for (const FrontierPoint& p : result.frontier) {
    std::optional<double> vs_hpa, vs_naive;
    if (p.advisor_overload && p.hpa_overload > 0) vs_hpa = *p.advisor_overload / p.hpa_overload;
    if (p.advisor_overload && p.seasonal_naive_overload && *p.seasonal_naive_overload > 0) {
      vs_naive = *p.advisor_overload / *p.seasonal_naive_overload;
    }
    md += Format("| %.0f%% ", p.hpa_target * 100) + Format("| %.0f ", p.replica_minutes) +
          Format("| %.0f ", p.hpa_overload) + "| " + cell(p.advisor_overload) + " | " +
          cell(p.seasonal_naive_overload) + " | " + (vs_hpa ? Format("%.2f", *vs_hpa) : "-") + " | " +
          (vs_naive ? Format("%.2f", *vs_naive) : "-") + " |\n";
  }
  md += "\n## Arms\n\n";
  md += "| arm | replica-minutes | cost / oracle | overload minutes | unserved % | longest streak (min) | scale writes | "
        "patches / day |\n";
  md += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const ArmResult& arm : result.arms) {
    md += "| " + ArmLabel(arm) + Format(" | %.0f", arm.replica_minutes) +
          Format(" | %.2f", result.oracle_replica_minutes > 0 ? arm.replica_minutes / result.oracle_replica_minutes
                                                               : std::numeric_limits<double>::quiet_NaN()) +
          Format(" | %.0f", arm.overload_minutes) + Format(" | %.3f", arm.unserved_fraction * 100) +
          Format(" | %.0f", arm.longest_overload_streak_minutes) +
          Format(" | %.0f", static_cast<double>(arm.scaling_changes)) + Format(" | %.1f |\n", arm.patches_per_day);
  }
  return md;
}

std::string FrontierData(const BacktestResult& result) {
  std::string out = "# arm target quantile replica_minutes overload_minutes\n";
  for (const ArmResult& arm : result.arms) {
    out += arm.arm + Format(" %g", arm.target.value_or(0)) + Format(" %g", arm.quantile.value_or(0)) +
           Format(" %.1f", arm.replica_minutes) + Format(" %.1f\n", arm.overload_minutes);
  }
  return out;
}

std::string TimelineData(const BacktestResult& result, int bucket_minutes) {
  const double row_minutes = result.step_seconds / 60;
  std::vector<const ArmResult*> arms;
  const ArmResult* hpa = FindArm(result, "hpa", 0.7);
  int advisor = PlottedAdvisorArm(result);
  const ArmResult* naive = FindArm(result, "seasonal_naive", 0.7);
  const ArmResult* oracle = FindArm(result, "oracle", std::nullopt);
  for (const ArmResult* arm : {hpa, advisor >= 0 ? &result.arms[static_cast<size_t>(advisor)] : nullptr, naive, oracle}) {
    if (arm != nullptr) arms.push_back(arm);
  }
  std::string out = "# day demand";
  for (const ArmResult* arm : arms) {
    std::string label = ArmLabel(*arm);
    for (char& c : label) c = c == ' ' ? '_' : c;
    out += " " + label;
  }
  out += "\n";
  if (arms.empty()) return out;
  const size_t n = arms.front()->demand_series.size();
  const size_t bucket = std::max<size_t>(1, static_cast<size_t>(std::llround(bucket_minutes / row_minutes)));
  for (size_t start = 0; start < n; start += bucket) {
    const size_t end = std::min(n, start + bucket);
    double demand = 0;
    for (size_t i = start; i < end; ++i) demand += arms.front()->demand_series[i];
    out += Format("%.4f", static_cast<double>(start) * row_minutes / 1440.0) +
           Format(" %.5g", demand / static_cast<double>(end - start));
    for (const ArmResult* arm : arms) {
      double capacity = 0;
      for (size_t i = start; i < end && i < arm->capacity_series.size(); ++i) capacity += arm->capacity_series[i];
      out += Format(" %.5g", capacity / static_cast<double>(end - start));
    }
    out += "\n";
  }
  return out;
}

}  // namespace topdog::advisor
