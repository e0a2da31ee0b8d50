#include "advisor/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "advisor/core/lease.h"
#include "common/logging.h"

namespace topdog::advisor {
namespace {

constexpr const char* kForecastHelp =
    "Forecast peak demand (req/s) over the horizon, per quantile, from the last reconcile pass.";

std::string Number(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g", value);
  return buffer;
}

std::string HorizonLabel(double seconds) {
  if (std::fmod(seconds, 3600) == 0) return Number(seconds / 3600) + "h";
  if (std::fmod(seconds, 60) == 0) return Number(seconds / 60) + "m";
  return Number(seconds) + "s";
}

std::optional<int> AnnotationInt(const HpaObject& hpa, const char* key) {
  auto it = hpa.annotations.find(key);
  if (it == hpa.annotations.end()) return std::nullopt;
  try {
    size_t used = 0;
    int value = std::stoi(it->second, &used);
    if (used == it->second.size() && value >= 1) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;  // a bad annotation is ignored (the HPA's own values stand), not fatal
}

// HpaSpec's target is a fraction; the API's is whole percent. An HPA without metrics scales on CPU at 80%.
double TargetFraction(const HpaObject& hpa) { return hpa.cpu_target_percent.value_or(80) / 100.0; }

}  // namespace

Reconciler::Reconciler(const AdvisorConfig& config, HistorySource& source, HpaApi* hpas, NodePoolApi* pools,
                       DaemonMetrics& metrics, std::function<bool()> is_leader)
    : config_(config),
      source_(source),
      hpas_(hpas),
      pools_(pools),
      metrics_(metrics),
      is_leader_(std::move(is_leader)) {}

void Reconciler::CountError(const std::string& stage, const Error& error) {
  metrics_.Count("topdog_advisor_reconcile_errors_total", "Errors of reconcile passes, by stage and kind.",
                 {{"kind", std::string(ErrorKindName(error.kind))}, {"stage", stage}});
}

Result<std::vector<Reconciler::Workload>> Reconciler::Observe() {
  std::vector<Workload> out;
  if (hpas_ == nullptr) {
    for (const WorkloadConfig& w : config_.workloads) {
      if (!w.static_hpa) continue;
      HpaObject object;
      object.ref = {w.ns, w.name};
      object.min_replicas = w.static_hpa->min_replicas;
      object.max_replicas = w.static_hpa->max_replicas;
      object.cpu_target_percent = static_cast<int>(std::lround(w.static_hpa->target_utilization * 100));
      object.current_replicas = w.static_pods;
      object.target_name = w.name;
      out.push_back({object.ref, object, w});
    }
    return out;
  }
  auto listed = hpas_->ListHpas(config_.kubernetes.namespaces);
  if (!listed) return tl::unexpected(listed.error());
  for (HpaObject& object : *listed) {
    auto managed = object.annotations.find(kManagedAnnotation);
    if (managed == object.annotations.end() || managed->second != "true") continue;  // not opted in: not ours
    WorkloadConfig config = config_.For(object.ref.ns, object.ref.name);
    out.push_back({object.ref, std::move(object), std::move(config)});
  }
  return out;
}

WorkloadOutcome Reconciler::Decide(const Workload& workload, double now_seconds, GaugeBatch& gauges,
                                   std::map<std::string, NodePool>& pools_read) {
  WorkloadOutcome outcome;
  outcome.ref = workload.ref;
  WorkloadDecision& decision = outcome.decision;
  const HpaObject& hpa = workload.object;
  const WorkloadConfig& wc = workload.config;
  auto skip = [&](std::string reason, std::string error) {
    decision.outcome = DecisionOutcome::kSkip;
    decision.reason = std::move(reason);
    decision.detail = error;
    outcome.error = std::move(error);
    return outcome;
  };
  if (wc.demand.Empty()) return skip("no_config", "no demand series configured (defaults.demand or workloads[])");

  const std::string& target = hpa.target_name.empty() ? hpa.ref.name : hpa.target_name;
  const double start = now_seconds - config_.history_seconds;
  auto fetch = [&](const SeriesConfig& series) {
    SeriesConfig expanded = ExpandSeries(series, hpa.ref.ns, hpa.ref.name, target);
    return source_.Fetch({expanded.promql, EmbeddedKey(expanded)}, start, now_seconds, config_.step_seconds);
  };
  WorkloadInput input;
  auto demand = fetch(wc.demand);
  if (!demand) {
    CountError("fetch", demand.error());
    return skip(demand.error().kind == ErrorKind::kNotFound ? "no_data" : "source_error",
                "demand: " + demand.error().message);
  }
  input.demand = std::move(*demand);
  input.configured_capacity = wc.capacity_rps;
  if (wc.capacity_rps <= 0 && !wc.busy_pods.Empty()) {
    auto busy = fetch(wc.busy_pods);
    if (!busy) {
      CountError("fetch", busy.error());
      return skip("source_error", "busy_pods: " + busy.error().message);
    }
    input.busy_pods = std::move(*busy);
  }

  ClusterState& state = input.state;
  state.hpa.min_replicas = hpa.min_replicas;
  state.hpa.max_replicas = hpa.max_replicas;
  state.hpa.target_utilization = TargetFraction(hpa);
  state.current_pods = hpa.current_replicas;
  state.now_seconds = now_seconds;
  state.last_change_seconds = -1e18;
  if (auto it = hpa.annotations.find(kChangeAnnotation); it != hpa.annotations.end()) {
    if (auto parsed = ParseMicroTime(it->second)) state.last_change_seconds = *parsed;
  }
  AdvisorPolicy& policy = input.policy;
  policy.floor_replicas =
      wc.floor_replicas > 0 ? wc.floor_replicas : AnnotationInt(hpa, kFloorAnnotation).value_or(hpa.min_replicas);
  policy.max_replicas =
      wc.max_replicas > 0 ? wc.max_replicas : AnnotationInt(hpa, kMaxAnnotation).value_or(hpa.max_replicas);
  policy.target_utilization = wc.target_utilization > 0 ? wc.target_utilization : state.hpa.target_utilization;
  // Lowering waits three passes after any change: a pre-warm is not undone by the next noisy pass.
  policy.cooldown_seconds = 3 * config_.interval_seconds;
  if (!wc.node_pool.empty() && pools_ != nullptr) {
    auto cached = pools_read.find(wc.node_pool);
    if (cached == pools_read.end()) {
      auto pool = pools_->GetNodePool(config_.digitalocean.cluster_id, wc.node_pool);
      if (!pool) {
        CountError("node_pool_read", pool.error());
        return skip("source_error", "node pool " + wc.node_pool + ": " + pool.error().message);
      }
      cached = pools_read.emplace(wc.node_pool, *pool).first;
    }
    policy.pods_per_node = wc.pods_per_node;
    state.pool.min_nodes = cached->second.min_nodes;
    state.pool.max_nodes = cached->second.max_nodes;
  }

  decision = DecideWorkload(input, config_.decision);

  const MetricLabels who = {{"namespace", hpa.ref.ns}, {"hpa", hpa.ref.name}};
  for (const HorizonForecast& forecast : decision.forecasts) {
    for (size_t i = 0; i < forecast.quantiles.size(); ++i) {
      MetricLabels labels = who;
      labels.emplace_back("horizon", HorizonLabel(forecast.horizon_seconds));
      labels.emplace_back("quantile", Number(config_.decision.quantiles[i]));
      gauges.Set("topdog_advisor_forecast_requests_per_second", kForecastHelp, labels, forecast.quantiles[i]);
    }
    MetricLabels labels = who;
    labels.emplace_back("horizon", HorizonLabel(forecast.horizon_seconds));
    gauges.Set("topdog_advisor_forecast_calibrated",
               "1 when the forecast's quantiles are calibrated on its own past errors, 0 for the recent peak alone.",
               labels, forecast.calibrated ? 1 : 0);
  }
  if (std::isfinite(decision.pod_capacity)) {
    gauges.Set("topdog_advisor_pod_capacity_requests_per_second",
               "Requests per second one pod serves at 100% of its CPU request (configured or estimated).", who,
               decision.pod_capacity);
  }
  gauges.Set("topdog_advisor_hpa_min_replicas", "The HPA's minReplicas as read in the last pass.", who,
             hpa.min_replicas);
  gauges.Set("topdog_advisor_hpa_max_replicas", "The HPA's maxReplicas as read in the last pass.", who,
             hpa.max_replicas);
  if (decision.outcome != DecisionOutcome::kSkip) {
    const Recommendation& rec = decision.recommendation;
    gauges.Set("topdog_advisor_recommended_min_replicas", "minReplicas the last pass recommended.", who,
               rec.hpa.min_replicas);
    gauges.Set("topdog_advisor_recommended_max_replicas", "maxReplicas the last pass recommended.", who,
               rec.hpa.max_replicas);
    gauges.Set("topdog_advisor_recommended_target_utilization_ratio",
               "CPU target utilisation the last pass recommended (0.7 = 70%).", who, rec.hpa.target_utilization);
  }
  return outcome;
}

void Reconciler::Apply(const Workload& workload, WorkloadOutcome& outcome, double now_seconds, PassReport& report) {
  const WorkloadDecision& decision = outcome.decision;
  const HpaObject& hpa = workload.object;
  const HpaSpec& want = decision.recommendation.hpa;
  HpaChange change;
  if (want.min_replicas != hpa.min_replicas) change.min_replicas = want.min_replicas;
  if (want.max_replicas != hpa.max_replicas) change.max_replicas = want.max_replicas;
  const int target_percent = static_cast<int>(std::lround(want.target_utilization * 100));
  if (target_percent != static_cast<int>(std::lround(TargetFraction(hpa) * 100))) {
    change.cpu_target_percent = target_percent;
    change.base_metrics_json = hpa.metrics_json;
  }
  if (!change.min_replicas && !change.max_replicas && !change.cpu_target_percent) return;  // a pool change only
  const char* mode = config_.dry_run ? "dry_run" : "apply";
  if (hpas_ == nullptr) {
    spdlog::info("recommendation (no cluster) hpa={}/{} min_replicas={} max_replicas={} reason={} detail={}",
                 hpa.ref.ns, hpa.ref.name, want.min_replicas, want.max_replicas, decision.reason,
                 LogQuote(decision.detail));
    return;
  }
  if (auto rejected = rejected_.find(hpa.ref);
      rejected != rejected_.end() && rejected->second == hpa.resource_version) {
    outcome.error = "the last patch was refused as invalid; not retried until the HPA changes";
    return;
  }
  if (!is_leader_()) {
    outcome.error = "leadership lost: not written";
    return;
  }
  change.resource_version = hpa.resource_version;
  change.annotations[kDecisionAnnotation] = decision.reason + ": " + decision.detail;
  change.annotations[kChangeAnnotation] = FormatMicroTime(now_seconds);
  // The user's bounds as they were when the advisor first changed the HPA: later passes keep within them.
  if (!hpa.annotations.count(kFloorAnnotation)) change.annotations[kFloorAnnotation] = std::to_string(hpa.min_replicas);
  if (!hpa.annotations.count(kMaxAnnotation)) change.annotations[kMaxAnnotation] = std::to_string(hpa.max_replicas);
  auto patched = hpas_->PatchHpa(hpa.ref, change, config_.dry_run ? ApplyMode::kDryRun : ApplyMode::kApply);
  const MetricLabels labels_ok = {{"mode", mode}, {"result", "ok"}, {"target", "hpa"}};
  if (patched) {
    outcome.written = true;
    ++report.patches;
    metrics_.Count("topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.",
                   labels_ok);
    spdlog::info("hpa patched mode={} hpa={}/{} min_replicas={}->{} max_replicas={}->{} reason={} detail={}", mode,
                 hpa.ref.ns, hpa.ref.name, hpa.min_replicas, want.min_replicas, hpa.max_replicas, want.max_replicas,
                 decision.reason, LogQuote(decision.detail));
    return;
  }
  const Error& error = patched.error();
  ++report.errors;
  outcome.error = error.message;
  CountError("patch", error);
  metrics_.Count("topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.",
                 {{"mode", mode}, {"result", std::string(ErrorKindName(error.kind))}, {"target", "hpa"}});
  if (error.kind == ErrorKind::kRejected) rejected_[hpa.ref] = hpa.resource_version;
  spdlog::warn("hpa patch failed hpa={}/{} kind={} err={}", hpa.ref.ns, hpa.ref.name, ErrorKindName(error.kind),
               LogQuote(error.message));
}

void Reconciler::ReconcilePools(const std::vector<Workload>& workloads, const std::vector<WorkloadOutcome>& outcomes,
                                const std::map<std::string, NodePool>& pools_read, double now_seconds,
                                GaugeBatch& gauges, PassReport& report) {
  if (pools_ == nullptr) return;
  struct Need {
    double min_nodes = 0, max_nodes = 0;
    bool complete = true, calibrated = true;
  };
  std::map<std::string, Need> needs;
  for (size_t i = 0; i < workloads.size(); ++i) {
    const WorkloadConfig& wc = workloads[i].config;
    if (wc.node_pool.empty()) continue;
    Need& need = needs[wc.node_pool];
    const WorkloadDecision& decision = outcomes[i].decision;
    if (decision.outcome == DecisionOutcome::kSkip) {
      need.complete = false;  // a pool shared with a workload we could not decide is left alone
      continue;
    }
    const HpaSpec& hpa = decision.recommendation.hpa;
    need.min_nodes += static_cast<double>(hpa.min_replicas) / wc.pods_per_node;
    need.max_nodes += static_cast<double>(hpa.max_replicas) / wc.pods_per_node;
    need.calibrated = need.calibrated && !decision.forecasts.empty() && decision.forecasts.front().calibrated;
  }
  const char* mode = config_.dry_run ? "dry_run" : "apply";
  for (const auto& [pool_id, need] : needs) {
    auto read = pools_read.find(pool_id);
    if (!need.complete || read == pools_read.end()) continue;
    const NodePool& pool = read->second;
    const int cap = 25;  // DigitalOcean's default Droplet limit per account: the API refuses more
    int min_nodes = std::clamp(static_cast<int>(std::ceil(need.min_nodes - 1e-9)), 1, cap);
    int max_nodes = std::clamp(static_cast<int>(std::ceil(need.max_nodes - 1e-9)), min_nodes, cap);
    if (!need.calibrated) {  // as for replicas: an uncalibrated forecast never lowers
      min_nodes = std::max(min_nodes, pool.min_nodes);
      max_nodes = std::max(max_nodes, pool.max_nodes);
    }
    const MetricLabels who = {{"node_pool", pool_id}};
    gauges.Set("topdog_advisor_node_pool_recommended_min_nodes", "min_nodes the last pass recommended.", who,
               min_nodes);
    gauges.Set("topdog_advisor_node_pool_recommended_max_nodes", "max_nodes the last pass recommended.", who,
               max_nodes);
    gauges.Set("topdog_advisor_node_pool_min_nodes", "The node pool's min_nodes as read in the last pass.", who,
               pool.min_nodes);
    gauges.Set("topdog_advisor_node_pool_max_nodes", "The node pool's max_nodes as read in the last pass.", who,
               pool.max_nodes);
    if (pool.auto_scale && min_nodes == pool.min_nodes && max_nodes == pool.max_nodes) continue;
    PoolState& state = pool_state_[pool_id];
    if (now_seconds - state.last_update_seconds < config_.digitalocean.min_update_interval_seconds) continue;
    if (config_.dry_run) {
      // DigitalOcean's API has no dry run: the write is only logged and counted.
      state.last_update_seconds = now_seconds;
      metrics_.Count("topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.",
                     {{"mode", mode}, {"result", "ok"}, {"target", "node_pool"}});
      spdlog::info("node pool update (dry run, not sent) node_pool={} min_nodes={}->{} max_nodes={}->{}", pool_id,
                   pool.min_nodes, min_nodes, pool.max_nodes, max_nodes);
      continue;
    }
    if (!is_leader_()) continue;
    auto updated = pools_->SetBounds(config_.digitalocean.cluster_id, pool, min_nodes, max_nodes);
    if (!updated) {
      ++report.errors;
      CountError("node_pool_update", updated.error());
      metrics_.Count(
          "topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.",
          {{"mode", mode}, {"result", std::string(ErrorKindName(updated.error().kind))}, {"target", "node_pool"}});
      spdlog::warn("node pool update failed node_pool={} err={}", pool_id, LogQuote(updated.error().message));
      continue;
    }
    state.last_update_seconds = now_seconds;
    ++report.pool_updates;
    metrics_.Count("topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.",
                   {{"mode", mode}, {"result", "ok"}, {"target", "node_pool"}});
    spdlog::info("node pool updated node_pool={} min_nodes={}->{} max_nodes={}->{}", pool_id, pool.min_nodes, min_nodes,
                 pool.max_nodes, max_nodes);
  }
}

PassReport Reconciler::RunOnce(double now_seconds) {
  PassReport report;
  if (!is_leader_()) {
    report.skipped_why = "not the leader";
    return report;
  }
  auto workloads = Observe();
  if (!workloads) {
    CountError("list_hpas", workloads.error());
    report.skipped_why = "listing HPAs failed: " + workloads.error().message;
    spdlog::warn("reconcile pass skipped err={}", LogQuote(report.skipped_why));
    return report;
  }
  report.ran = true;
  GaugeBatch gauges;
  std::map<std::string, NodePool> pools_read;
  for (const Workload& workload : *workloads) {
    WorkloadOutcome outcome = Decide(workload, now_seconds, gauges, pools_read);
    metrics_.Count("topdog_advisor_decisions_total", "Workload decisions of reconcile passes, by reason.",
                   {{"reason", outcome.decision.reason}});
    if (outcome.decision.outcome == DecisionOutcome::kSkip) {
      ++report.errors;
      spdlog::warn("workload skipped hpa={}/{} reason={} err={}", workload.ref.ns, workload.ref.name,
                   outcome.decision.reason, LogQuote(outcome.decision.detail));
    } else if (outcome.decision.outcome == DecisionOutcome::kChange) {
      Apply(workload, outcome, now_seconds, report);
    } else {
      spdlog::debug("workload unchanged hpa={}/{} reason={} detail={}", workload.ref.ns, workload.ref.name,
                    outcome.decision.reason, LogQuote(outcome.decision.detail));
    }
    report.workloads.push_back(std::move(outcome));
  }
  ReconcilePools(*workloads, report.workloads, pools_read, now_seconds, gauges, report);
  gauges.Set("topdog_advisor_managed_workloads", "Workloads (HPAs) the advisor manages.", {},
             static_cast<double>(workloads->size()));
  metrics_.Publish(gauges,
                   {"topdog_advisor_forecast_requests_per_second", "topdog_advisor_forecast_calibrated",
                    "topdog_advisor_pod_capacity_requests_per_second", "topdog_advisor_hpa_min_replicas",
                    "topdog_advisor_hpa_max_replicas", "topdog_advisor_recommended_min_replicas",
                    "topdog_advisor_recommended_max_replicas", "topdog_advisor_recommended_target_utilization_ratio",
                    "topdog_advisor_node_pool_recommended_min_nodes", "topdog_advisor_node_pool_recommended_max_nodes",
                    "topdog_advisor_node_pool_min_nodes", "topdog_advisor_node_pool_max_nodes"});
  return report;
}

}  // namespace topdog::advisor
