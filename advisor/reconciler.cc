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

// The minReplicas and maxReplicas of the advisor's last write (kWrittenAnnotation), when the annotation is there
// and readable.
std::optional<std::pair<int, int>> Written(const HpaObject& hpa) {
  auto it = hpa.annotations.find(kWrittenAnnotation);
  if (it == hpa.annotations.end()) return std::nullopt;
  int min = 0, max = 0;
  if (std::sscanf(it->second.c_str(), "minReplicas=%d,maxReplicas=%d", &min, &max) != 2) return std::nullopt;
  return std::make_pair(min, max);
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

void Reconciler::CountApply(const MetricLabels& labels) {
  metrics_.Count("topdog_advisor_apply_total", "Writes to the Kubernetes and DigitalOcean APIs, by result.", labels);
}

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
  // The user's bounds: from the config; else as recorded when the advisor first wrote the HPA; but a spec that
  // differs from what the advisor last wrote was edited by someone, and their values are the new bounds.
  const auto written = Written(hpa);
  const bool min_edited = written && written->first != hpa.min_replicas;
  const bool max_edited = written && written->second != hpa.max_replicas;
  policy.floor_replicas = wc.floor_replicas > 0 ? wc.floor_replicas
                          : min_edited          ? hpa.min_replicas
                                                : AnnotationInt(hpa, kFloorAnnotation).value_or(hpa.min_replicas);
  policy.max_replicas = wc.max_replicas > 0 ? wc.max_replicas
                        : max_edited        ? hpa.max_replicas
                                            : AnnotationInt(hpa, kMaxAnnotation).value_or(hpa.max_replicas);
  outcome.floor_replicas = policy.floor_replicas;
  outcome.max_bound = policy.max_replicas;
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
  if (auto outlook = ComputeCapacityOutlook(decision, hpa.max_replicas, config_.decision.decision_quantile_index)) {
    for (const auto& [horizon_seconds, ratio] : outlook->saturation_by_horizon) {
      MetricLabels labels = who;
      labels.emplace_back("horizon", HorizonLabel(horizon_seconds));
      gauges.Set("topdog_advisor_predicted_saturation_ratio",
                 "Forecast peak demand over the horizon (the decision quantile) divided by what maxReplicas pods "
                 "serve at 100% of their CPU request; above 1 the HPA cannot keep up.",
                 labels, ratio);
    }
    gauges.Set("topdog_advisor_capacity_exhaustion_seconds",
               "The shortest forecast horizon within which demand exceeds what maxReplicas pods serve (+Inf: none "
               "of the horizons).",
               who, outlook->exhaustion_seconds);
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
  // A target is retuned only on an HPA that scales on CPU utilisation (adding a signal is not a retuning).
  const bool scales_on_cpu = hpa.cpu_target_percent.has_value() || hpa.metrics_json == "[]";
  if (scales_on_cpu && target_percent != static_cast<int>(std::lround(TargetFraction(hpa) * 100))) {
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
  if (auto rejected = rejected_.find(hpa.ref); rejected != rejected_.end() && rejected->second == hpa.generation) {
    outcome.error = "the last patch was refused as invalid; not retried until the HPA's spec changes";
    return;
  }
  if (!is_leader_()) {
    outcome.error = "leadership lost: not written";
    return;
  }
  // Re-read just before writing: the HPA controller writes status every 15 s, so the list's resourceVersion may
  // be minutes old at the end of a long pass. Decided on a spec that has changed since: decided again next pass.
  auto fresh = hpas_->GetHpa(hpa.ref);
  if (!fresh) {
    ++report.errors;
    outcome.error = fresh.error().message;
    CountError("reread", fresh.error());
    return;
  }
  if (fresh->min_replicas != hpa.min_replicas || fresh->max_replicas != hpa.max_replicas ||
      fresh->cpu_target_percent != hpa.cpu_target_percent || fresh->metrics_json != hpa.metrics_json) {
    outcome.error = "the HPA's spec changed during the pass: decided again next pass";
    return;
  }
  change.resource_version = fresh->resource_version;
  change.annotations[kDecisionAnnotation] = decision.reason + ": " + decision.detail;
  change.annotations[kChangeAnnotation] = FormatMicroTime(now_seconds);
  change.annotations[kWrittenAnnotation] =
      "minReplicas=" + std::to_string(want.min_replicas) + ",maxReplicas=" + std::to_string(want.max_replicas);
  // The user's bounds (recorded the first time, updated after a user's edit): later passes keep within them.
  for (const auto& [key, value] :
       {std::pair{kFloorAnnotation, outcome.floor_replicas}, std::pair{kMaxAnnotation, outcome.max_bound}}) {
    auto current = hpa.annotations.find(key);
    if (current == hpa.annotations.end() || current->second != std::to_string(value)) {
      change.annotations[key] = std::to_string(value);
    }
  }
  auto patched = hpas_->PatchHpa(hpa.ref, change, config_.dry_run ? ApplyMode::kDryRun : ApplyMode::kApply);
  const MetricLabels labels_ok = {{"mode", mode}, {"result", "ok"}, {"target", "hpa"}};
  if (patched) {
    outcome.written = true;
    ++report.patches;
    CountApply(labels_ok);
    spdlog::info("hpa patched mode={} hpa={}/{} min_replicas={}->{} max_replicas={}->{} reason={} detail={}", mode,
                 hpa.ref.ns, hpa.ref.name, hpa.min_replicas, want.min_replicas, hpa.max_replicas, want.max_replicas,
                 decision.reason, LogQuote(decision.detail));
    return;
  }
  const Error& error = patched.error();
  ++report.errors;
  outcome.error = error.message;
  CountError("patch", error);
  CountApply({{"mode", mode}, {"result", std::string(ErrorKindName(error.kind))}, {"target", "hpa"}});
  if (error.kind == ErrorKind::kRejected) rejected_[hpa.ref] = fresh->generation;
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
  // A listed workload on a pool that is not in this pass (opted out, deleted, another namespace) makes its
  // pool's need unknown: left alone.
  for (const WorkloadConfig& listed : config_.workloads) {
    if (listed.node_pool.empty()) continue;
    const bool seen = std::any_of(workloads.begin(), workloads.end(), [&](const Workload& w) {
      return w.ref.ns == listed.ns && w.ref.name == listed.name;
    });
    if (!seen) needs[listed.node_pool].complete = false;
  }
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
    if (!pool.auto_scale) {
      // Turning autoscaling on is the owner's decision, not a retuning.
      if (!warned_pools_[pool_id]) {
        warned_pools_[pool_id] = true;
        spdlog::warn("node pool not managed: autoscaling is off node_pool={}", pool_id);
      }
      continue;
    }
    const int cap = 25;  // DigitalOcean's default Droplet limit per account: the API refuses more
    int min_nodes = std::clamp(static_cast<int>(std::ceil(need.min_nodes - 1e-9)), 1, cap);
    // max_nodes is a guard: raised when the managed workloads need more, never lowered below what the pool has
    // (other workloads, DaemonSets and system pods need room the advisor does not see), and never below the
    // current count (a PUT clamps the count into the bounds: that would delete nodes).
    int max_nodes = std::max(
        {std::clamp(static_cast<int>(std::ceil(need.max_nodes - 1e-9)), min_nodes, cap), pool.max_nodes, pool.count});
    if (!need.calibrated) min_nodes = std::max(min_nodes, pool.min_nodes);  // an uncalibrated forecast never lowers
    const MetricLabels who = {{"node_pool", pool_id}};
    gauges.Set("topdog_advisor_node_pool_recommended_min_nodes", "min_nodes the last pass recommended.", who,
               min_nodes);
    gauges.Set("topdog_advisor_node_pool_recommended_max_nodes", "max_nodes the last pass recommended.", who,
               max_nodes);
    gauges.Set("topdog_advisor_node_pool_min_nodes", "The node pool's min_nodes as read in the last pass.", who,
               pool.min_nodes);
    gauges.Set("topdog_advisor_node_pool_max_nodes", "The node pool's max_nodes as read in the last pass.", who,
               pool.max_nodes);
    if (min_nodes == pool.min_nodes && max_nodes == pool.max_nodes) continue;
    PoolState& state = pool_state_[pool_id];
    if (now_seconds - state.last_update_seconds < config_.digitalocean.min_update_interval_seconds) continue;
    if (config_.dry_run) {
      // DigitalOcean's API has no dry run: the write is only logged and counted.
      state.last_update_seconds = now_seconds;
      CountApply({{"mode", mode}, {"result", "ok"}, {"target", "node_pool"}});
      spdlog::info("node pool update (dry run, not sent) node_pool={} min_nodes={}->{} max_nodes={}->{}", pool_id,
                   pool.min_nodes, min_nodes, pool.max_nodes, max_nodes);
      continue;
    }
    if (!is_leader_()) continue;
    // Re-read just before the PUT: it carries the count, and the cluster autoscaler may have resized the pool
    // since the read at the start of the pass (the API has no precondition to catch that).
    auto fresh = pools_->GetNodePool(config_.digitalocean.cluster_id, pool_id);
    if (!fresh) {
      ++report.errors;
      CountError("node_pool_read", fresh.error());
      continue;
    }
    max_nodes = std::max({max_nodes, fresh->count, fresh->max_nodes});
    auto updated = pools_->SetBounds(config_.digitalocean.cluster_id, *fresh, min_nodes, max_nodes);
    if (!updated) {
      ++report.errors;
      CountError("node_pool_update", updated.error());
      CountApply(
          {{"mode", mode}, {"result", std::string(ErrorKindName(updated.error().kind))}, {"target", "node_pool"}});
      spdlog::warn("node pool update failed node_pool={} err={}", pool_id, LogQuote(updated.error().message));
      continue;
    }
    state.last_update_seconds = now_seconds;
    ++report.pool_updates;
    CountApply({{"mode", mode}, {"result", "ok"}, {"target", "node_pool"}});
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
    if (!is_leader_()) {  // stopping, or leadership lost: the rest waits for the next leader's pass
      report.skipped_why = "stopped or lost leadership during the pass";
      break;
    }
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
  if (report.workloads.size() == workloads->size()) {  // a pass cut short decides no pool
    ReconcilePools(*workloads, report.workloads, pools_read, now_seconds, gauges, report);
  }
  gauges.Set("topdog_advisor_managed_workloads", "Workloads (HPAs) the advisor manages.", {},
             static_cast<double>(workloads->size()));
  metrics_.Publish(gauges,
                   {"topdog_advisor_forecast_requests_per_second", "topdog_advisor_forecast_calibrated",
                    "topdog_advisor_predicted_saturation_ratio", "topdog_advisor_capacity_exhaustion_seconds",
                    "topdog_advisor_pod_capacity_requests_per_second", "topdog_advisor_hpa_min_replicas",
                    "topdog_advisor_hpa_max_replicas", "topdog_advisor_recommended_min_replicas",
                    "topdog_advisor_recommended_max_replicas", "topdog_advisor_recommended_target_utilization_ratio",
                    "topdog_advisor_node_pool_recommended_min_nodes", "topdog_advisor_node_pool_recommended_max_nodes",
                    "topdog_advisor_node_pool_min_nodes", "topdog_advisor_node_pool_max_nodes"});
  return report;
}

}  // namespace topdog::advisor
