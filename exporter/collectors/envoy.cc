// The envoy collector: the upstream request counts, status codes and classes, request-time histograms (ms, as
// Envoy measures them) and a few connection and health gauges of each cluster, from the admin endpoint's
// /stats/prometheus page, with Envoy's own names and labels, filtered to the configured clusters. Not called
// concurrently.
#include <map>
#include <regex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/exposition/text_parser.h"
#include "exporter/collectors/gateway.h"
#include "exporter/collectors/parsed_families.h"

namespace topdog::exporter {
namespace {

// The families kept, as Envoy's Prometheus output names them (cluster.<name>.<stat> with the tags
// envoy_cluster_name, envoy_response_code and envoy_response_code_class extracted), with a HELP text for when
// the page has none (Envoy writes only TYPE lines).
const std::map<std::string, std::string_view, std::less<>> kKeptFamilies = {
    {"envoy_cluster_upstream_rq_total", "Total upstream requests of the cluster."},
    {"envoy_cluster_upstream_rq", "Upstream requests of the cluster by response code."},
    {"envoy_cluster_upstream_rq_xx", "Upstream requests of the cluster by response code class."},
    {"envoy_cluster_upstream_rq_completed", "Upstream requests of the cluster that completed."},
    {"envoy_cluster_upstream_rq_time", "Upstream request time of the cluster in milliseconds."},
    {"envoy_cluster_upstream_rq_timeout", "Upstream requests of the cluster that timed out waiting for a response."},
    {"envoy_cluster_upstream_rq_retry", "Upstream request retries of the cluster."},
    {"envoy_cluster_upstream_rq_pending_overflow",
     "Upstream requests of the cluster that overflowed the circuit breaker."},
    {"envoy_cluster_upstream_cx_connect_fail", "Upstream connection failures of the cluster."},
    {"envoy_cluster_upstream_rq_active", "Active upstream requests of the cluster."},
    {"envoy_cluster_upstream_rq_pending_active",
     "Upstream requests of the cluster pending a connection pool connection."},
    {"envoy_cluster_upstream_cx_active", "Active upstream connections of the cluster."},
    {"envoy_cluster_membership_healthy", "Healthy members of the cluster."},
    {"envoy_cluster_membership_total", "Members of the cluster."},
};

class EnvoyCollector final : public Collector {
 public:
  EnvoyCollector(std::string url, std::shared_ptr<HttpGetter> getter, std::set<std::string, std::less<>> names,
                 std::optional<std::regex> regex)
      : url_(std::move(url)), getter_(std::move(getter)), names_(std::move(names)), regex_(std::move(regex)) {}

  std::string_view Name() const override { return "envoy"; }
  bool MayBlock() override { return true; }  // a network peer

  Result<std::vector<MetricFamily>> Collect() override {
    auto response = getter_->Get(url_);
    if (!response) return tl::unexpected(response.error());
    if (response->status != 200) return tl::unexpected(StatusError(url_, *response));
    auto page = exposition::ParseTextFormat(response->body);
    if (!page) return tl::unexpected(page.error().WithContext("GET " + url_ + ": not an Envoy stats page"));
    bool any_envoy = false;
    for (const auto& sample : page->samples) {
      if (sample.name.rfind("envoy_", 0) == 0) {
        any_envoy = true;
        break;
      }
    }
    if (!any_envoy && !page->samples.empty()) {
      return MakeError(ErrorKind::kBadData, "GET " + url_ + ": not an Envoy stats page: no envoy_ samples (first: " +
                                                page->samples.front().name + ")");
    }
    auto families = GroupFamilies(*page, [](std::string_view name) { return kKeptFamilies.count(name) != 0; });
    if (!families) return tl::unexpected(families.error().WithContext("GET " + url_));
    for (auto& family : *families) {
      std::erase_if(family.metric, [&](const prometheus::ClientMetric& metric) { return !KeepCluster(metric); });
      if (family.help.empty()) family.help = std::string(kKeptFamilies.find(family.name)->second);
    }
    std::erase_if(*families, [](const MetricFamily& family) { return family.metric.empty(); });
    return std::move(*families);
  }

 private:
  bool KeepCluster(const prometheus::ClientMetric& metric) {
    if (names_.empty() && !regex_) return true;
    for (const auto& label : metric.label) {
      if (label.name != "envoy_cluster_name") continue;
      if (names_.count(label.value) != 0) return true;
      if (!regex_) return false;
      // Cluster names repeat on every scrape: remember the verdicts (bounded, in case names churn).
      auto it = verdicts_.find(label.value);
      if (it != verdicts_.end()) return it->second;
      if (verdicts_.size() >= 4096) verdicts_.clear();
      bool keep = std::regex_match(label.value, *regex_);
      verdicts_.emplace(label.value, keep);
      return keep;
    }
    return false;
  }

  const std::string url_;
  std::shared_ptr<HttpGetter> getter_;
  const std::set<std::string, std::less<>> names_;
  const std::optional<std::regex> regex_;
  std::unordered_map<std::string, bool> verdicts_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewEnvoyCollectorWith(const GatewayOptions& options,
                                                         std::shared_ptr<HttpGetter> getter) {
  auto base = ParseHttpUrl(options.envoy_admin_uri);
  if (!base) return tl::unexpected(base.error().WithContext("--collector.envoy.admin-uri"));
  // A bare admin address gets the stats path; a URI with a path is used as given.
  std::string url = options.envoy_admin_uri;
  if (base->target == "/") {
    while (!url.empty() && url.back() == '/') url.pop_back();
    url += "/stats/prometheus?usedonly";
  }
  std::set<std::string, std::less<>> names;
  for (const auto& value : options.envoy_clusters) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      std::string name = value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!name.empty()) names.insert(name);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  std::optional<std::regex> regex;
  if (!options.envoy_clusters_regex.empty()) {
    try {
      regex.emplace(options.envoy_clusters_regex, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      return MakeError(ErrorKind::kBadData, "--collector.envoy.clusters-regex: invalid regex " +
                                                options.envoy_clusters_regex + ": " + e.what());
    }
  }
  return std::make_unique<EnvoyCollector>(std::move(url), std::move(getter), std::move(names), std::move(regex));
}

Result<std::unique_ptr<Collector>> NewEnvoyCollector(const CollectorDeps& deps) {
  const GatewayOptions& options = deps.options.gateway;
  auto getter = NewPeerGetter("--collector.envoy", options.envoy_peer, options.envoy_timeout, kEnvoyStatsMaxBytes);
  if (!getter) return tl::unexpected(getter.error());
  return NewEnvoyCollectorWith(options, std::move(*getter));
}

}  // namespace topdog::exporter
