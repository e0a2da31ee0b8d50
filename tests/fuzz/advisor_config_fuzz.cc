// libFuzzer target: ParseConfig (topdog-advisor's strict YAML config file) on arbitrary bytes. yaml-cpp throws on
// bad YAML and on nodes of an unexpected kind; nothing may escape the parser. What parses satisfies the checks the
// daemon relies on instead of re-checking (positive periods, a history source, quantile index in range, unique
// workloads with a demand series of the mode's kind, ...); the series helpers run on every workload.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "advisor/io/config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::advisor::AdvisorConfig;
using topdog::advisor::KubeMode;
using topdog::advisor::WorkloadConfig;
using topdog::fuzz::Check;

bool Positive(double seconds) { return std::isfinite(seconds) && seconds > 0; }

bool IsHttpUrl(const std::string& url) { return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0; }

void CheckWorkload(const AdvisorConfig& config, const WorkloadConfig& w) {
  Check(!w.ns.empty() && !w.name.empty());
  Check(!w.demand.Empty());
  Check(config.prometheus ? !w.demand.promql.empty() : !w.demand.metric.empty());
  Check(w.capacity_rps >= 0 && w.target_utilization >= 0 && w.target_utilization <= 1);
  Check(w.floor_replicas >= 0 && w.max_replicas >= 0 && w.pods_per_node >= 0);
  Check(w.node_pool.empty() || (w.pods_per_node > 0 && !config.digitalocean.token_file.empty()));
  if (config.kubernetes.mode == KubeMode::kNone) Check(w.static_hpa.has_value());
  if (w.static_hpa) {
    Check(1 <= w.static_hpa->min_replicas && w.static_hpa->min_replicas <= w.static_hpa->max_replicas);
    Check(w.static_hpa->target_utilization > 0 && w.static_hpa->target_utilization <= 1);
    Check(w.static_pods >= 0);
  }
  // The helpers the reconciler calls per workload, with names that hold the placeholders themselves.
  const WorkloadConfig found = config.For(w.ns, w.name);
  Check(found.ns == w.ns && found.name == w.name);
  for (const auto* series : {&w.demand, &w.busy_pods}) {
    const auto expanded = topdog::advisor::ExpandSeries(*series, "$name$namespace", "$target", "$namespace");
    Check(expanded.match.size() == series->match.size());
    Check(!topdog::advisor::EmbeddedKey(expanded).empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = topdog::advisor::ParseConfig(topdog::fuzz::AsText(data, size), "");
  if (!config) {
    Check(config.error().kind == topdog::ErrorKind::kBadData && !config.error().message.empty());
    return 0;
  }
  Check(Positive(config->interval_seconds) && Positive(config->step_seconds) && Positive(config->history_seconds));
  Check(config->history_seconds / config->step_seconds <= 100000);
  const auto& decision = config->decision;
  Check(!decision.horizons_seconds.empty() && !decision.quantiles.empty());
  for (double horizon : decision.horizons_seconds) Check(Positive(horizon));
  for (double q : decision.quantiles) Check(q > 0 && q < 1);
  Check(decision.decision_quantile_index < decision.quantiles.size());
  Check(Positive(decision.max_staleness_seconds) && Positive(decision.capacity_window_seconds));
  Check(decision.min_recent_coverage >= 0 && decision.min_recent_coverage <= 1);
  Check(config->prometheus || !config->embedded.targets.empty());
  if (config->prometheus) {
    Check(IsHttpUrl(config->prometheus->url) && config->prometheus->url.back() != '/');
    Check(Positive(config->prometheus->timeout_seconds));
    Check(config->prometheus->attempts >= 1 && config->prometheus->attempts <= 10);
  }
  for (const auto& target : config->embedded.targets) Check(IsHttpUrl(target.url) && !target.name.empty());
  Check(Positive(config->embedded.scrape_interval_seconds) && config->embedded.max_series >= 1);
  const auto& lease = config->leader_election;
  Check(lease.retry_period_seconds < lease.renew_deadline_seconds &&
        lease.renew_deadline_seconds < lease.lease_duration_seconds);
  Check(!lease.enabled || config->kubernetes.mode != KubeMode::kNone);
  Check(config->kubernetes.mode != KubeMode::kKubeconfig || !config->kubernetes.kubeconfig.empty());
  Check(config->digitalocean.token_file.empty() || !config->digitalocean.cluster_id.empty());
  Check(IsHttpUrl(config->digitalocean.api_url) && config->digitalocean.api_url.back() != '/');
  Check(config->defaults.ns.empty() && config->defaults.name.empty());
  for (size_t i = 0; i < config->workloads.size(); ++i) {
    const WorkloadConfig& w = config->workloads[i];
    CheckWorkload(*config, w);
    for (size_t j = 0; j < i; ++j) {
      Check(config->workloads[j].ns != w.ns || config->workloads[j].name != w.name);
    }
  }
  return 0;
}
