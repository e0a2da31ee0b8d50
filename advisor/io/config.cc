#include "advisor/io/config.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/exposition/text_writer.h"
#include "common/yaml_fields.h"

namespace topdog::advisor {
namespace {

using yaml_fields::CheckKeys;
using yaml_fields::ConfigError;
using yaml_fields::GetBool;
using yaml_fields::GetDurationSeconds;
using yaml_fields::GetNumber;
using yaml_fields::GetString;
using yaml_fields::GetStringList;
using yaml_fields::Where;

// Unwraps a Result into `var` or returns its error from the enclosing function (every field read below is one).
#define TRY_ASSIGN(var, expr)                                     \
  do {                                                            \
    auto try_result_ = (expr);                                    \
    if (!try_result_) return tl::unexpected(try_result_.error()); \
    var = std::move(*try_result_);                                \
  } while (0)
#define TRY(expr)                                                 \
  do {                                                            \
    auto try_result_ = (expr);                                    \
    if (!try_result_) return tl::unexpected(try_result_.error()); \
  } while (0)

std::string Resolve(std::string_view base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

Result<int> GetInt(const YAML::Node& map, const char* key, std::string_view section, int fallback, int low, int high) {
  double value = fallback;
  TRY_ASSIGN(value, GetNumber(map, key, section, fallback));
  if (value != std::floor(value) || value < low || value > high) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be a whole number in [" +
                                      std::to_string(low) + ", " + std::to_string(high) + "]" + Where(map[key])));
  }
  return static_cast<int>(value);
}

Result<double> GetPositiveDuration(const YAML::Node& map, const char* key, std::string_view section, double fallback) {
  double seconds = fallback;
  TRY_ASSIGN(seconds, GetDurationSeconds(map, key, section, fallback));
  if (!(seconds > 0)) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be above 0" + Where(map[key])));
  }
  return seconds;
}

// http(s)://host[:port][/path], without credentials in it (they would end up in logs; secrets come from files).
Result<void> CheckUrl(const std::string& url, const std::string& what) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return tl::unexpected(ConfigError(what + " must be an http:// or https:// URL"));
  }
  const size_t authority = url.find("://") + 3;
  const std::string host = url.substr(authority, url.find('/', authority) - authority);
  if (host.find('@') != std::string::npos) {
    return tl::unexpected(ConfigError(what + ": no credentials in URLs (use basic_auth.password_file)"));
  }
  return {};
}

Result<TlsOptions> ParseTls(const YAML::Node& node, std::string_view section, std::string_view base_dir) {
  TlsOptions tls;
  if (!node || node.IsNull()) return tls;
  TRY(CheckKeys(node, section, {"ca_file", "cert_file", "key_file", "insecure_skip_verify"}));
  TRY_ASSIGN(tls.ca_file, GetString(node, "ca_file", section));
  TRY_ASSIGN(tls.cert_file, GetString(node, "cert_file", section));
  TRY_ASSIGN(tls.key_file, GetString(node, "key_file", section));
  TRY_ASSIGN(tls.insecure_skip_verify, GetBool(node, "insecure_skip_verify", section, false));
  tls.ca_file = Resolve(base_dir, tls.ca_file);
  tls.cert_file = Resolve(base_dir, tls.cert_file);
  tls.key_file = Resolve(base_dir, tls.key_file);
  return tls;
}

// basic_auth: {username, password_file} (a password inline is refused: secrets come from files).
Result<void> ParseBasicAuth(const YAML::Node& node, std::string_view section, std::string_view base_dir,
                            std::string& user, std::string& password_file) {
  if (!node || node.IsNull()) return {};
  TRY(CheckKeys(node, section, {"username", "password_file"}));
  TRY_ASSIGN(user, GetString(node, "username", section));
  TRY_ASSIGN(password_file, GetString(node, "password_file", section));
  if (user.empty() || password_file.empty()) {
    return tl::unexpected(ConfigError(std::string(section) + " needs username and password_file" + Where(node)));
  }
  password_file = Resolve(base_dir, password_file);
  return {};
}

Result<SeriesConfig> ParseSeries(const YAML::Node& node, std::string_view section) {
  SeriesConfig series;
  if (!node || node.IsNull()) return series;
  TRY(CheckKeys(node, section, {"promql", "metric", "match", "counter"}));
  TRY_ASSIGN(series.promql, GetString(node, "promql", section));
  TRY_ASSIGN(series.metric, GetString(node, "metric", section));
  TRY_ASSIGN(series.counter, GetBool(node, "counter", section, false));
  const YAML::Node match = node["match"];
  if (match && !match.IsNull()) {
    if (!match.IsMap())
      return tl::unexpected(ConfigError(std::string(section) + ".match must be a mapping" + Where(match)));
    for (auto it = match.begin(); it != match.end(); ++it) {
      if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
        return tl::unexpected(ConfigError(std::string(section) + ".match: label: value pairs" + Where(it->first)));
      }
      series.match[it->first.Scalar()] = it->second.IsNull() ? "" : it->second.Scalar();
    }
  }
  return series;
}

Result<void> ParseRules(const YAML::Node& node, std::string_view base_dir, RulesConfig& rules) {
  if (!node || node.IsNull()) return {};
  TRY(CheckKeys(node, "rules", {"files", "evaluation_interval", "resend_delay", "external_labels", "external_url"}));
  TRY_ASSIGN(rules.files, GetStringList(node, "files", "rules"));
  for (std::string& file : rules.files) file = Resolve(base_dir, file);
  TRY_ASSIGN(rules.evaluation_interval_seconds, GetPositiveDuration(node, "evaluation_interval", "rules", 60));
  TRY_ASSIGN(rules.resend_delay_seconds, GetPositiveDuration(node, "resend_delay", "rules", 60));
  TRY_ASSIGN(rules.external_url, GetString(node, "external_url", "rules"));
  while (!rules.external_url.empty() && rules.external_url.back() == '/') rules.external_url.pop_back();
  if (!rules.external_url.empty()) TRY(CheckUrl(rules.external_url, "rules.external_url"));
  const YAML::Node labels = node["external_labels"];
  if (labels && !labels.IsNull()) {
    if (!labels.IsMap()) return tl::unexpected(ConfigError("rules.external_labels must be a mapping" + Where(labels)));
    for (auto it = labels.begin(); it != labels.end(); ++it) {
      if (!it->first.IsScalar() || !it->second.IsScalar()) {
        return tl::unexpected(ConfigError("rules.external_labels: name: value pairs" + Where(it->first)));
      }
      if (!exposition::IsValidLabelName(it->first.Scalar())) {
        return tl::unexpected(ConfigError("rules.external_labels: invalid label name " + it->first.Scalar() +
                                          Where(it->first)));
      }
      rules.external_labels[it->first.Scalar()] = it->second.Scalar();
    }
  }
  return {};
}

Result<void> ParseAlerting(const YAML::Node& node, std::string_view base_dir, AlertingConfig& alerting) {
  if (!node || node.IsNull()) return {};
  TRY(CheckKeys(node, "alerting",
                {"alertmanagers", "bearer_token_file", "basic_auth", "tls_config", "timeout", "queue_capacity"}));
  TRY_ASSIGN(alerting.alertmanagers, GetStringList(node, "alertmanagers", "alerting"));
  for (std::string& url : alerting.alertmanagers) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    TRY(CheckUrl(url, "alerting.alertmanagers"));
  }
  TRY_ASSIGN(alerting.bearer_token_file, GetString(node, "bearer_token_file", "alerting"));
  alerting.bearer_token_file = Resolve(base_dir, alerting.bearer_token_file);
  TRY(ParseBasicAuth(node["basic_auth"], "alerting.basic_auth", base_dir, alerting.basic_user,
                     alerting.basic_password_file));
  TRY_ASSIGN(alerting.tls, ParseTls(node["tls_config"], "alerting.tls_config", base_dir));
  TRY_ASSIGN(alerting.timeout_seconds, GetPositiveDuration(node, "timeout", "alerting", 10));
  int capacity = 10000;
  TRY_ASSIGN(capacity, GetInt(node, "queue_capacity", "alerting", 10000, 1, 1000000));
  alerting.queue_capacity = static_cast<size_t>(capacity);
  return {};
}

// A workload entry or the defaults block (`is_defaults`: no namespace/name).
Result<WorkloadConfig> ParseWorkload(const YAML::Node& node, std::string_view section, bool is_defaults,
                                     const WorkloadConfig& base) {
  WorkloadConfig w = base;
  if (!node || node.IsNull()) return w;
  TRY(CheckKeys(node, section,
                {"namespace", "name", "demand", "busy_pods", "capacity_rps", "target_utilization", "floor_replicas",
                 "max_replicas", "node_pool", "pods_per_node", "static_hpa"}));
  if (!is_defaults) {
    TRY_ASSIGN(w.ns, GetString(node, "namespace", section));
    TRY_ASSIGN(w.name, GetString(node, "name", section));
    if (w.ns.empty() || w.name.empty()) {
      return tl::unexpected(ConfigError(std::string(section) + " needs namespace and name" + Where(node)));
    }
  } else if (node["namespace"] || node["name"]) {
    return tl::unexpected(ConfigError("defaults cannot name a workload" + Where(node)));
  }
  if (node["demand"]) TRY_ASSIGN(w.demand, ParseSeries(node["demand"], std::string(section) + ".demand"));
  if (node["busy_pods"]) TRY_ASSIGN(w.busy_pods, ParseSeries(node["busy_pods"], std::string(section) + ".busy_pods"));
  TRY_ASSIGN(w.capacity_rps, GetNumber(node, "capacity_rps", section, w.capacity_rps));
  TRY_ASSIGN(w.target_utilization, GetNumber(node, "target_utilization", section, w.target_utilization));
  if (w.capacity_rps < 0 || w.target_utilization < 0 || w.target_utilization > 1) {
    return tl::unexpected(ConfigError(
        std::string(section) + ": capacity_rps >= 0 and target_utilization in [0, 1] (0.7 = 70%)" + Where(node)));
  }
  TRY_ASSIGN(w.floor_replicas, GetInt(node, "floor_replicas", section, w.floor_replicas, 0, 100000));
  TRY_ASSIGN(w.max_replicas, GetInt(node, "max_replicas", section, w.max_replicas, 0, 100000));
  if (node["node_pool"]) TRY_ASSIGN(w.node_pool, GetString(node, "node_pool", section));
  TRY_ASSIGN(w.pods_per_node, GetInt(node, "pods_per_node", section, w.pods_per_node, 0, 10000));
  if (!w.node_pool.empty() && w.pods_per_node == 0) {
    return tl::unexpected(ConfigError(std::string(section) + ": node_pool needs pods_per_node" + Where(node)));
  }
  const YAML::Node hpa = node["static_hpa"];
  if (hpa && !hpa.IsNull()) {
    const std::string where = std::string(section) + ".static_hpa";
    TRY(CheckKeys(hpa, where, {"min_replicas", "max_replicas", "target_utilization", "pods"}));
    HpaSpec spec;
    TRY_ASSIGN(spec.min_replicas, GetInt(hpa, "min_replicas", where, 1, 1, 100000));
    TRY_ASSIGN(spec.max_replicas, GetInt(hpa, "max_replicas", where, 10, 1, 100000));
    TRY_ASSIGN(spec.target_utilization, GetNumber(hpa, "target_utilization", where, 0.7));
    TRY_ASSIGN(w.static_pods, GetInt(hpa, "pods", where, spec.min_replicas, 0, 100000));
    if (spec.min_replicas > spec.max_replicas || !(spec.target_utilization > 0 && spec.target_utilization <= 1)) {
      return tl::unexpected(
          ConfigError(where + ": min_replicas <= max_replicas, target_utilization in (0, 1]" + Where(hpa)));
    }
    w.static_hpa = spec;
  }
  return w;
}

// A section of the root, or a null node when absent (yaml-cpp's absent node throws on every use).
YAML::Node Section(const YAML::Node& root, const char* key) {
  YAML::Node node = root[key];
  return node ? node : YAML::Node(YAML::NodeType::Null);
}

Result<AdvisorConfig> ParseRoot(const YAML::Node& root, std::string_view base_dir) {
  AdvisorConfig c;
  TRY(CheckKeys(root, "config",
                {"interval", "dry_run", "step", "history", "decision", "prometheus", "embedded", "kubernetes",
                 "leader_election", "digitalocean", "defaults", "workloads", "rules", "alerting"}));
  TRY_ASSIGN(c.interval_seconds, GetPositiveDuration(root, "interval", "config", c.interval_seconds));
  TRY_ASSIGN(c.dry_run, GetBool(root, "dry_run", "config", true));
  TRY_ASSIGN(c.step_seconds, GetPositiveDuration(root, "step", "config", c.step_seconds));
  TRY_ASSIGN(c.history_seconds, GetPositiveDuration(root, "history", "config", c.history_seconds));
  if (c.history_seconds / c.step_seconds > 100000) {
    return tl::unexpected(ConfigError("history / step over 100,000 points per series"));
  }

  const YAML::Node decision = Section(root, "decision");
  TRY(CheckKeys(
      decision, "decision",
      {"horizons", "quantiles", "decision_quantile", "max_staleness", "min_recent_coverage", "capacity_window"}));
  DecisionSettings& d = c.decision;
  d.decision_interval_seconds = c.interval_seconds;
  if (decision && decision["horizons"]) {
    std::vector<std::string> horizons;
    TRY_ASSIGN(horizons, GetStringList(decision, "horizons", "decision"));
    d.horizons_seconds.clear();
    for (const std::string& text : horizons) {
      YAML::Node one;
      one["h"] = text;
      double seconds = 0;
      TRY_ASSIGN(seconds, GetPositiveDuration(one, "h", "decision.horizons", 0));
      d.horizons_seconds.push_back(seconds);
    }
    if (d.horizons_seconds.empty()) return tl::unexpected(ConfigError("decision.horizons is empty"));
  }
  if (decision && decision["quantiles"]) {
    const YAML::Node list = decision["quantiles"];
    if (!list.IsSequence() || list.size() == 0) {
      return tl::unexpected(ConfigError("decision.quantiles must be a non-empty list" + Where(list)));
    }
    d.quantiles.clear();
    for (const YAML::Node& item : list) {
      double q = 0;
      if (!item.IsScalar() || !YAML::convert<double>::decode(item, q) || !(q > 0 && q < 1)) {
        return tl::unexpected(ConfigError("decision.quantiles: numbers in (0, 1)" + Where(item)));
      }
      d.quantiles.push_back(q);
    }
  }
  double decision_quantile = 0.9;
  TRY_ASSIGN(decision_quantile, GetNumber(decision, "decision_quantile", "decision", 0.9));
  auto found = std::find(d.quantiles.begin(), d.quantiles.end(), decision_quantile);
  if (found == d.quantiles.end()) {
    return tl::unexpected(ConfigError("decision.decision_quantile must be one of decision.quantiles"));
  }
  d.decision_quantile_index = static_cast<size_t>(found - d.quantiles.begin());
  TRY_ASSIGN(d.max_staleness_seconds,
             GetPositiveDuration(decision, "max_staleness", "decision", std::max(300.0, 3 * c.step_seconds)));
  TRY_ASSIGN(d.min_recent_coverage, GetNumber(decision, "min_recent_coverage", "decision", 0.5));
  if (d.min_recent_coverage < 0 || d.min_recent_coverage > 1) {
    return tl::unexpected(ConfigError("decision.min_recent_coverage must be in [0, 1] (a share of the last hour)" +
                                      Where(decision["min_recent_coverage"])));
  }
  TRY_ASSIGN(d.capacity_window_seconds, GetPositiveDuration(decision, "capacity_window", "decision", 86400));

  const YAML::Node prometheus = Section(root, "prometheus");
  if (prometheus && !prometheus.IsNull()) {
    TRY(CheckKeys(prometheus, "prometheus",
                  {"url", "bearer_token_file", "basic_auth", "tls_config", "timeout", "attempts"}));
    PrometheusConfig p;
    TRY_ASSIGN(p.url, GetString(prometheus, "url", "prometheus"));
    while (!p.url.empty() && p.url.back() == '/') p.url.pop_back();  // first: "http://" alone has no host
    TRY(CheckUrl(p.url, "prometheus.url"));
    TRY_ASSIGN(p.bearer_token_file, GetString(prometheus, "bearer_token_file", "prometheus"));
    p.bearer_token_file = Resolve(base_dir, p.bearer_token_file);
    TRY(ParseBasicAuth(prometheus["basic_auth"], "prometheus.basic_auth", base_dir, p.basic_user,
                       p.basic_password_file));
    TRY_ASSIGN(p.tls, ParseTls(prometheus["tls_config"], "prometheus.tls_config", base_dir));
    TRY_ASSIGN(p.timeout_seconds, GetPositiveDuration(prometheus, "timeout", "prometheus", 30));
    TRY_ASSIGN(p.attempts, GetInt(prometheus, "attempts", "prometheus", 3, 1, 10));
    c.prometheus = std::move(p);
  }

  const YAML::Node embedded = Section(root, "embedded");
  TRY(CheckKeys(
      embedded, "embedded",
      {"scrape_interval", "timeout", "targets", "tls_config", "snapshot_file", "snapshot_interval", "max_series"}));
  EmbeddedConfig& e = c.embedded;
  TRY_ASSIGN(e.scrape_interval_seconds, GetPositiveDuration(embedded, "scrape_interval", "embedded", 15));
  TRY_ASSIGN(e.timeout_seconds, GetPositiveDuration(embedded, "timeout", "embedded", 10));
  TRY_ASSIGN(e.tls, ParseTls(embedded["tls_config"], "embedded.tls_config", base_dir));
  TRY_ASSIGN(e.snapshot_file, GetString(embedded, "snapshot_file", "embedded"));
  e.snapshot_file = Resolve(base_dir, e.snapshot_file);
  TRY_ASSIGN(e.snapshot_interval_seconds, GetPositiveDuration(embedded, "snapshot_interval", "embedded", 300));
  int max_series = 2000;
  TRY_ASSIGN(max_series, GetInt(embedded, "max_series", "embedded", 2000, 1, 1000000));
  e.max_series = static_cast<size_t>(max_series);
  if (embedded && embedded["targets"]) {
    const YAML::Node targets = embedded["targets"];
    if (!targets.IsSequence()) return tl::unexpected(ConfigError("embedded.targets must be a list" + Where(targets)));
    for (const YAML::Node& item : targets) {
      ScrapeTargetConfig t;
      TRY(CheckKeys(item, "embedded.targets[]", {"name", "url", "bearer_token_file", "basic_auth"}));
      TRY_ASSIGN(t.url, GetString(item, "url", "embedded.targets[]"));
      TRY_ASSIGN(t.name, GetString(item, "name", "embedded.targets[]"));
      TRY(CheckUrl(t.url, "embedded.targets[].url"));
      if (t.name.empty()) t.name = t.url;
      TRY_ASSIGN(t.bearer_token_file, GetString(item, "bearer_token_file", "embedded.targets[]"));
      t.bearer_token_file = Resolve(base_dir, t.bearer_token_file);
      TRY(ParseBasicAuth(item["basic_auth"], "embedded.targets[].basic_auth", base_dir, t.basic_user,
                         t.basic_password_file));
      e.targets.push_back(std::move(t));
    }
  }
  if (!c.prometheus && e.targets.empty()) {
    return tl::unexpected(ConfigError("neither prometheus.url nor embedded.targets is set: no history source"));
  }

  const YAML::Node kube = Section(root, "kubernetes");
  TRY(CheckKeys(kube, "kubernetes", {"mode", "kubeconfig", "context", "namespaces", "timeout"}));
  std::string mode;
  TRY_ASSIGN(mode, GetString(kube, "mode", "kubernetes"));
  KubernetesConfig& k = c.kubernetes;
  if (mode.empty() || mode == "none") {
    k.mode = KubeMode::kNone;
  } else if (mode == "in_cluster") {
    k.mode = KubeMode::kInCluster;
  } else if (mode == "kubeconfig") {
    k.mode = KubeMode::kKubeconfig;
  } else {
    return tl::unexpected(ConfigError("kubernetes.mode: none, in_cluster or kubeconfig, not " + mode + Where(kube)));
  }
  TRY_ASSIGN(k.kubeconfig, GetString(kube, "kubeconfig", "kubernetes"));
  k.kubeconfig = Resolve(base_dir, k.kubeconfig);
  TRY_ASSIGN(k.context, GetString(kube, "context", "kubernetes"));
  TRY_ASSIGN(k.namespaces, GetStringList(kube, "namespaces", "kubernetes"));
  TRY_ASSIGN(k.timeout_seconds, GetPositiveDuration(kube, "timeout", "kubernetes", 15));
  if (k.mode == KubeMode::kKubeconfig && k.kubeconfig.empty()) {
    return tl::unexpected(ConfigError("kubernetes.mode kubeconfig needs kubernetes.kubeconfig"));
  }

  const YAML::Node leader = Section(root, "leader_election");
  TRY(CheckKeys(leader, "leader_election",
                {"enabled", "namespace", "name", "lease_duration", "renew_deadline", "retry_period"}));
  LeaderElectionConfig& l = c.leader_election;
  // On by default with Kubernetes: the Deployment runs two replicas, and both must not write.
  TRY_ASSIGN(l.enabled, GetBool(leader, "enabled", "leader_election", k.mode != KubeMode::kNone));
  std::string text;
  TRY_ASSIGN(text, GetString(leader, "namespace", "leader_election"));
  if (!text.empty()) l.ns = text;
  TRY_ASSIGN(text, GetString(leader, "name", "leader_election"));
  if (!text.empty()) l.name = text;
  TRY_ASSIGN(l.lease_duration_seconds, GetPositiveDuration(leader, "lease_duration", "leader_election", 15));
  TRY_ASSIGN(l.renew_deadline_seconds, GetPositiveDuration(leader, "renew_deadline", "leader_election", 10));
  TRY_ASSIGN(l.retry_period_seconds, GetPositiveDuration(leader, "retry_period", "leader_election", 2));
  if (!(l.retry_period_seconds < l.renew_deadline_seconds && l.renew_deadline_seconds < l.lease_duration_seconds)) {
    return tl::unexpected(ConfigError("leader_election: retry_period < renew_deadline < lease_duration"));
  }
  if (l.enabled && k.mode == KubeMode::kNone) {  // only when asked for explicitly
    return tl::unexpected(ConfigError("leader_election needs kubernetes (a Lease)"));
  }

  const YAML::Node digitalocean = Section(root, "digitalocean");
  TRY(CheckKeys(digitalocean, "digitalocean",
                {"token_file", "api_url", "cluster_id", "min_update_interval", "timeout"}));
  DigitalOceanConfig& o = c.digitalocean;
  TRY_ASSIGN(o.token_file, GetString(digitalocean, "token_file", "digitalocean"));
  o.token_file = Resolve(base_dir, o.token_file);
  TRY_ASSIGN(text, GetString(digitalocean, "api_url", "digitalocean"));
  if (!text.empty()) o.api_url = text;
  while (!o.api_url.empty() && o.api_url.back() == '/') o.api_url.pop_back();
  if (o.api_url.rfind("http://", 0) != 0 && o.api_url.rfind("https://", 0) != 0) {
    return tl::unexpected(ConfigError("digitalocean.api_url must be an http:// or https:// URL" + Where(digitalocean)));
  }
  TRY_ASSIGN(o.cluster_id, GetString(digitalocean, "cluster_id", "digitalocean"));
  TRY_ASSIGN(o.min_update_interval_seconds,
             GetPositiveDuration(digitalocean, "min_update_interval", "digitalocean", 300));
  TRY_ASSIGN(o.timeout_seconds, GetPositiveDuration(digitalocean, "timeout", "digitalocean", 15));
  if (!o.token_file.empty() && o.cluster_id.empty()) {
    return tl::unexpected(ConfigError("digitalocean.token_file needs digitalocean.cluster_id"));
  }

  WorkloadConfig built_in;
  if (c.prometheus) {
    // The stack's series (kube-prometheus-stack scraping ingress-nginx, cAdvisor and kube-state-metrics), used
    // unless `defaults` names others: demand from the ingress, CPU in use in pods' worth of request.
    built_in.demand.promql = kDefaultDemandPromql;
    built_in.busy_pods.promql = kDefaultBusyPodsPromql;
  }
  TRY_ASSIGN(c.defaults, ParseWorkload(Section(root, "defaults"), "defaults", true, built_in));
  const YAML::Node workloads = Section(root, "workloads");
  if (workloads && !workloads.IsNull()) {
    if (!workloads.IsSequence()) return tl::unexpected(ConfigError("workloads must be a list" + Where(workloads)));
    for (const YAML::Node& item : workloads) {
      WorkloadConfig w;
      TRY_ASSIGN(w, ParseWorkload(item, "workloads[]", false, c.defaults));
      for (const WorkloadConfig& other : c.workloads) {
        if (other.ns == w.ns && other.name == w.name) {
          return tl::unexpected(ConfigError("workload " + w.ns + "/" + w.name + " listed twice" + Where(item)));
        }
      }
      if (k.mode == KubeMode::kNone && !w.static_hpa) {
        return tl::unexpected(
            ConfigError("workload " + w.ns + "/" + w.name + ": without kubernetes it needs static_hpa" + Where(item)));
      }
      if (!w.node_pool.empty() && o.token_file.empty()) {
        return tl::unexpected(ConfigError("workload " + w.ns + "/" + w.name +
                                          " names a node_pool but digitalocean.token_file is not set" + Where(item)));
      }
      c.workloads.push_back(std::move(w));
    }
  }
  TRY(ParseRules(Section(root, "rules"), base_dir, c.rules));
  TRY(ParseAlerting(Section(root, "alerting"), base_dir, c.alerting));
  if (!c.rules.files.empty() && !c.prometheus) {
    return tl::unexpected(ConfigError("rules need a prometheus section: rule expressions are PromQL, evaluated "
                                      "through Prometheus's query API"));
  }
  for (const WorkloadConfig& w : c.workloads) {
    if (w.demand.Empty()) {
      return tl::unexpected(ConfigError("workload " + w.ns + "/" + w.name + " has no demand series"));
    }
    if (c.prometheus && w.demand.promql.empty()) {
      return tl::unexpected(
          ConfigError("workload " + w.ns + "/" + w.name + ": demand.promql is needed with prometheus"));
    }
    if (!c.prometheus && w.demand.metric.empty()) {
      return tl::unexpected(
          ConfigError("workload " + w.ns + "/" + w.name + ": demand.metric is needed in embedded mode"));
    }
  }
  return c;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

std::string Expand(std::string text, std::string_view ns, std::string_view name, std::string_view target) {
  // $namespace before $name: "$name" is a prefix of neither, but keep the longest first anyway.
  ReplaceAll(text, "$namespace", ns);
  ReplaceAll(text, "$target", target);
  ReplaceAll(text, "$name", name);
  return text;
}

}  // namespace

WorkloadConfig AdvisorConfig::For(std::string_view ns, std::string_view name) const {
  for (const WorkloadConfig& w : workloads) {
    if (w.ns == ns && w.name == name) return w;
  }
  WorkloadConfig w = defaults;
  w.ns = std::string(ns);
  w.name = std::string(name);
  return w;
}

SeriesConfig ExpandSeries(const SeriesConfig& series, std::string_view ns, std::string_view name,
                          std::string_view target) {
  SeriesConfig out = series;
  out.promql = Expand(out.promql, ns, name, target);
  for (auto& [label, value] : out.match) value = Expand(value, ns, name, target);
  return out;
}

std::string EmbeddedKey(const SeriesConfig& series) {
  std::string key = series.metric + "{";
  bool first = true;
  for (const auto& [label, value] : series.match) {  // std::map: sorted
    if (!first) key += ",";
    first = false;
    key += label + "=\"" + value + "\"";
  }
  key += "}";
  if (series.counter) key += ":rate";
  return key;
}

Result<AdvisorConfig> ParseConfig(std::string_view yaml, std::string_view base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return tl::unexpected(ConfigError(std::string("config is not YAML: ") + e.what()));
  }
  try {
    return ParseRoot(root, base_dir);
  } catch (const YAML::Exception& e) {  // a node of an unexpected kind deep down
    return tl::unexpected(ConfigError(std::string("config: ") + e.what()));
  }
}

Result<AdvisorConfig> LoadConfig(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return MakeError(ErrorKind::kNotFound, "config " + path + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  auto config = ParseConfig(text, std::filesystem::path(path).parent_path().string());
  if (!config) return tl::unexpected(config.error().WithContext(path));
  return config;
}

}  // namespace topdog::advisor
