// The daemon's configuration file (YAML, strict: unknown keys are errors with their line): where history comes
// from (Prometheus, or the embedded scraper with its targets), how to reach Kubernetes and DigitalOcean, the
// decision settings, and which series describe each workload, with defaults for the stack that any workload
// may override. An immutable value once parsed; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/core/decision.h"
#include "advisor/core/hpa_simulator.h"
#include "advisor/io/http_client.h"
#include "common/result.h"

namespace topdog::advisor {

// One series of a workload, readable in both modes: PromQL for Prometheus; a metric with label matchers
// (summed over targets and series; counters as per-second rates) for the embedded scraper. `$namespace`,
// `$name` (the HPA) and `$target` (its scaleTargetRef name) are replaced in both.
struct SeriesConfig {
  std::string promql;
  std::string metric;
  std::map<std::string, std::string> match;  // label equality; "" means the label is absent
  bool counter = false;
  bool Empty() const { return promql.empty() && metric.empty(); }
};

struct WorkloadConfig {
  std::string ns, name;           // the HPA; the defaults block has neither
  SeriesConfig demand;            // req/s the workload serves
  SeriesConfig busy_pods;         // CPU in use in pods' worth of CPU request (for the capacity estimate)
  double capacity_rps = 0;        // req/s per pod at 100% CPU; 0: estimated from demand / busy_pods
  double target_utilization = 0;  // 0: keep the HPA's own target
  int floor_replicas = 0;         // never below; 0: the HPA's minReplicas when the advisor first managed it
  int max_replicas = 0;           // the bound for maxReplicas; 0: the HPA's maxReplicas when first managed
  std::string node_pool;          // DigitalOcean node pool id ("" = none)
  int pods_per_node = 0;
  // Without Kubernetes (`kubernetes.mode: none`, the demo): the HPA as it would be.
  std::optional<HpaSpec> static_hpa;
  int static_pods = 0;
};

struct PrometheusConfig {
  std::string url;
  std::string bearer_token_file, basic_user, basic_password_file;
  TlsOptions tls;
  double timeout_seconds = 30;
  int attempts = 3;
};

struct ScrapeTargetConfig {
  std::string name, url;
  std::string bearer_token_file, basic_user, basic_password_file;
};

struct EmbeddedConfig {
  double scrape_interval_seconds = 15;
  std::vector<ScrapeTargetConfig> targets;
  TlsOptions tls;
  double timeout_seconds = 10;
  std::string snapshot_file;  // "" = no snapshot (history lost on restart)
  double snapshot_interval_seconds = 300;
  size_t max_series = 2000;
};

enum class KubeMode { kNone, kInCluster, kKubeconfig };

struct KubernetesConfig {
  KubeMode mode = KubeMode::kNone;
  std::string kubeconfig, context;
  std::vector<std::string> namespaces;  // empty: all
  double timeout_seconds = 15;
};

struct LeaderElectionConfig {
  bool enabled = false;
  std::string ns = "default", name = "topdog-advisor";
  double lease_duration_seconds = 15, renew_deadline_seconds = 10, retry_period_seconds = 2;
};

struct DigitalOceanConfig {
  std::string token_file;  // "" = node pools are not managed
  std::string api_url = "https://api.digitalocean.com";
  std::string cluster_id;
  double min_update_interval_seconds = 300;  // at most one PUT per pool per this long
  double timeout_seconds = 15;
};

// Rule evaluation (Prometheus mode only: the expressions are PromQL, run by Prometheus's query API).
struct RulesConfig {
  std::vector<std::string> files;  // paths or globs, relative to the config file; empty: no rule evaluation
  double evaluation_interval_seconds = 60;  // for groups without their own interval
  double resend_delay_seconds = 60;         // Prometheus's --rules.alert.resend-delay
  std::map<std::string, std::string> external_labels;
  std::string external_url;  // generatorURL base and $externalURL; default http://<hostname>:<port>
};

struct AlertingConfig {
  std::vector<std::string> alertmanagers;  // base URLs
  std::string bearer_token_file, basic_user, basic_password_file;
  TlsOptions tls;
  double timeout_seconds = 10;
  size_t queue_capacity = 10000;
};

struct AdvisorConfig {
  double interval_seconds = 300;  // reconcile period
  bool dry_run = true;
  double step_seconds = 60;             // history resolution
  double history_seconds = 14 * 86400;  // how much history a decision reads
  DecisionSettings decision;
  std::optional<PrometheusConfig> prometheus;  // absent: embedded mode
  EmbeddedConfig embedded;
  KubernetesConfig kubernetes;
  LeaderElectionConfig leader_election;
  DigitalOceanConfig digitalocean;
  WorkloadConfig defaults;
  std::vector<WorkloadConfig> workloads;
  RulesConfig rules;
  AlertingConfig alerting;

  // The workload's config: its own entry over the defaults (nullopt: not listed and defaults have no demand).
  WorkloadConfig For(std::string_view ns, std::string_view name) const;
};

// The built-in `defaults` series in Prometheus mode (ingress-nginx's request counter, whose `namespace` and
// `service` labels its ServiceMonitor's own target labels push to `exported_namespace` and `exported_service`;
// cAdvisor CPU over kube-state-metrics' CPU requests).
inline constexpr const char* kDefaultDemandPromql =
    "sum(rate(nginx_ingress_controller_requests{exported_namespace=\"$namespace\","
    "exported_service=\"$target\"}[2m]))";
inline constexpr const char* kDefaultBusyPodsPromql =
    "sum(rate(container_cpu_usage_seconds_total{namespace=\"$namespace\",pod=~\"$target-.*\",container!=\"\","
    "container!=\"POD\"}[2m])) / avg(kube_pod_container_resource_requests{namespace=\"$namespace\","
    "pod=~\"$target-.*\",resource=\"cpu\"})";

// Errors (kBadData) name the key and line. `base_dir` resolves relative file paths.
Result<AdvisorConfig> ParseConfig(std::string_view yaml, std::string_view base_dir);
Result<AdvisorConfig> LoadConfig(const std::string& path);

// `$namespace`, `$name`, `$target` replaced in the series' PromQL and label values.
SeriesConfig ExpandSeries(const SeriesConfig& series, std::string_view ns, std::string_view name,
                          std::string_view target);
// The embedded history key of a series: metric{labels sorted} (+ ":rate" for counters).
std::string EmbeddedKey(const SeriesConfig& series);

}  // namespace topdog::advisor
