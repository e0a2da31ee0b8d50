// The daemon's config file: defaults, overrides per workload, strictness (unknown keys and bad values name the
// key and line), and series templates.
#include "advisor/io/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace topdog::advisor {
namespace {

using ::testing::HasSubstr;

constexpr const char* kCluster = R"(
interval: 5m
dry_run: false
history: 14d
decision:
  horizons: [20m, 1h]
  quantiles: [0.5, 0.9, 0.95]
  decision_quantile: 0.95
prometheus:
  url: https://prometheus.monitoring:9090/
  bearer_token_file: token
  tls_config: {ca_file: /etc/ca.crt}
kubernetes:
  mode: in_cluster
  namespaces: [shop]
leader_election: {enabled: true, namespace: topdog}
digitalocean:
  token_file: /var/run/secrets/do/token
  cluster_id: c-123
defaults:
  demand:
    promql: sum(rate(nginx_ingress_controller_requests{exported_namespace="$namespace",service="$target"}[2m]))
  capacity_rps: 40
workloads:
  - namespace: shop
    name: backend
    capacity_rps: 25
    floor_replicas: 3
    node_pool: pool-1
    pods_per_node: 8
)";

TEST(ConfigTest, ReadsAClusterConfigWithDefaultsAndOverrides) {
  auto config = ParseConfig(kCluster, "/etc/topdog");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->interval_seconds, 300);
  EXPECT_FALSE(config->dry_run);
  EXPECT_EQ(config->history_seconds, 14 * 86400);
  EXPECT_EQ(config->decision.horizons_seconds, (std::vector<double>{1200, 3600}));
  EXPECT_EQ(config->decision.decision_quantile_index, 2u);
  EXPECT_EQ(config->decision.decision_interval_seconds, 300);
  ASSERT_TRUE(config->prometheus.has_value());
  EXPECT_EQ(config->prometheus->url, "https://prometheus.monitoring:9090");
  EXPECT_EQ(config->prometheus->bearer_token_file, "/etc/topdog/token");  // relative to the config file
  EXPECT_EQ(config->prometheus->tls.ca_file, "/etc/ca.crt");
  EXPECT_EQ(config->kubernetes.mode, KubeMode::kInCluster);
  EXPECT_TRUE(config->leader_election.enabled);
  EXPECT_EQ(config->leader_election.ns, "topdog");
  EXPECT_EQ(config->leader_election.name, "topdog-advisor");

  WorkloadConfig backend = config->For("shop", "backend");
  EXPECT_EQ(backend.capacity_rps, 25);
  EXPECT_EQ(backend.floor_replicas, 3);
  EXPECT_EQ(backend.node_pool, "pool-1");
  EXPECT_EQ(backend.demand.promql, config->defaults.demand.promql);  // inherited
  WorkloadConfig other = config->For("shop", "checkout");            // not listed: the defaults
  EXPECT_EQ(other.capacity_rps, 40);
  EXPECT_EQ(other.ns, "shop");
  SeriesConfig expanded = ExpandSeries(other.demand, "shop", "checkout", "checkout-api");
  EXPECT_EQ(expanded.promql,
            "sum(rate(nginx_ingress_controller_requests{exported_namespace=\"shop\",service=\"checkout-api\"}[2m]))");
}

TEST(ConfigTest, PrometheusModeHasTheStacksSeriesByDefault) {
  auto config = ParseConfig("prometheus: {url: http://p:9090}\nkubernetes: {mode: in_cluster}\n", "");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  WorkloadConfig w = config->For("shop", "backend");
  EXPECT_EQ(ExpandSeries(w.demand, "shop", "backend", "backend-api").promql,
            "sum(rate(nginx_ingress_controller_requests{exported_namespace=\"shop\","
            "exported_service=\"backend-api\"}[2m]))");
  EXPECT_NE(w.busy_pods.promql.find("container_cpu_usage_seconds_total"), std::string::npos);
  EXPECT_EQ(w.capacity_rps, 0);  // estimated from demand / busy_pods
}

TEST(ConfigTest, EmbeddedSeriesKeysAreStableAndExpanded) {
  auto config = ParseConfig(R"(
embedded:
  targets: [{url: http://10.0.0.1:9100/metrics}]
workloads:
  - namespace: demo
    name: web
    demand: {metric: http_requests_total, match: {job: $name, code: "200"}, counter: true}
    capacity_rps: 5
    static_hpa: {min_replicas: 2, max_replicas: 9}
)",
                            "");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_FALSE(config->prometheus.has_value());
  EXPECT_EQ(config->kubernetes.mode, KubeMode::kNone);
  EXPECT_EQ(config->embedded.targets[0].name, "http://10.0.0.1:9100/metrics");
  const WorkloadConfig& web = config->workloads[0];
  ASSERT_TRUE(web.static_hpa.has_value());
  EXPECT_EQ(web.static_hpa->max_replicas, 9);
  EXPECT_EQ(web.static_pods, 2);
  EXPECT_EQ(EmbeddedKey(ExpandSeries(web.demand, "demo", "web", "web")),
            "http_requests_total{code=\"200\",job=\"web\"}:rate");
}

struct BadConfig {
  const char* yaml;
  const char* message;
};

class ConfigErrorTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrorTest, IsRefusedWithAClearMessage) {
  auto config = ParseConfig(GetParam().yaml, "");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(config.error().message, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigErrorTest,
    ::testing::Values(
        BadConfig{"prometheus: {url: http://p:9090}\nintervall: 5m\n", "field intervall not found in config (line 2)"},
        BadConfig{"interval: soon\nprometheus: {url: http://p}\n", "invalid duration"},
        BadConfig{"kubernetes: {mode: none}\n", "no history source"},
        BadConfig{"prometheus: {url: p:9090}\n", "prometheus.url must be an http"},
        BadConfig{"prometheus: {url: http://p}\nkubernetes: {mode: k8s}\n", "kubernetes.mode"},
        BadConfig{"prometheus: {url: http://p}\ndecision: {decision_quantile: 0.8}\n", "one of decision.quantiles"},
        BadConfig{"prometheus: {url: http://p}\nleader_election: {enabled: true}\n", "needs kubernetes"},
        BadConfig{"prometheus: {url: http://p}\nworkloads: [{namespace: a, name: b, demand: {promql: x}}]\n",
                  "needs static_hpa"},
        BadConfig{"embedded: {targets: [{url: 'http://e:9100/metrics'}]}\nkubernetes: {mode: in_cluster}\n"
                  "workloads: [{namespace: a, name: b}]\n",
                  "has no demand series"},
        BadConfig{"prometheus: {url: http://p, basic_auth: {username: u, password: secret}}\n",
                  "field password not found"},
        BadConfig{"prometheus: {url: http://p}\nkubernetes: {mode: in_cluster}\n"
                  "workloads: [{namespace: a, name: b, demand: {promql: x}, node_pool: p1, pods_per_node: 4}]\n",
                  "digitalocean.token_file is not set"},
        BadConfig{"prometheus: {url: http://p}\nstep: 1s\nhistory: 14d\n", "over 100,000 points"},
        BadConfig{"prometheus: {url: 'http://'}\n", "prometheus.url"},
        BadConfig{"prometheus: {url: 'http://user:secret@p:9090'}\n", "no credentials in URLs"},
        BadConfig{"prometheus: {url: http://p}\ndigitalocean: {api_url: /}\n", "api_url"},
        BadConfig{"prometheus: {url: http://p}\ndecision: {min_recent_coverage: 5}\n", "min_recent_coverage"},
        BadConfig{"embedded: {targets: [{url: 'http://e:9100/metrics'}]}\nrules: {files: [r.yml]}\n",
                  "rules need a prometheus section"},
        BadConfig{"prometheus: {url: http://p}\nrules: {files: [r.yml], evaluation_interval: 0s}\n",
                  "rules.evaluation_interval must be above 0"},
        BadConfig{"prometheus: {url: http://p}\nrules: {external_labels: {bad-name: x}}\n",
                  "rules.external_labels: invalid label name bad-name"},
        BadConfig{"prometheus: {url: http://p}\nalerting: {alertmanagers: ['am:9093']}\n",
                  "alerting.alertmanagers must be an http"},
        BadConfig{"prometheus: {url: http://p}\nalerting: {alertmanager: [http://am:9093]}\n",
                  "field alertmanager not found in alerting"},
        BadConfig{"{{{", "config is not YAML"}));

}  // namespace
}  // namespace topdog::advisor

namespace topdog::advisor {
namespace {

TEST(ConfigTest, RulesAndAlertingSections) {
  auto config = ParseConfig(R"(
prometheus: {url: http://p:9090}
rules:
  files: [rules/*.yml, /etc/topdog/extra.yml]
  evaluation_interval: 30s
  resend_delay: 2m
  external_labels: {cluster: doks-fra1}
  external_url: http://advisor.example/
alerting:
  alertmanagers: [http://am-0:9093, https://am-1:9093/prefix/]
  bearer_token_file: am-token
  timeout: 5s
  queue_capacity: 500
)",
                            "/etc/topdog");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->rules.files, (std::vector<std::string>{"/etc/topdog/rules/*.yml", "/etc/topdog/extra.yml"}));
  EXPECT_EQ(config->rules.evaluation_interval_seconds, 30);
  EXPECT_EQ(config->rules.resend_delay_seconds, 120);
  EXPECT_EQ(config->rules.external_labels, (std::map<std::string, std::string>{{"cluster", "doks-fra1"}}));
  EXPECT_EQ(config->rules.external_url, "http://advisor.example");
  EXPECT_EQ(config->alerting.alertmanagers,
            (std::vector<std::string>{"http://am-0:9093", "https://am-1:9093/prefix"}));
  EXPECT_EQ(config->alerting.bearer_token_file, "/etc/topdog/am-token");
  EXPECT_EQ(config->alerting.timeout_seconds, 5);
  EXPECT_EQ(config->alerting.queue_capacity, 500u);
}

TEST(ConfigTest, TheBundledExamplesParse) {
  for (const char* name : {"advisor/examples/embedded-demo.yaml", "deploy/base/advisor/config.yaml"}) {
    auto config = LoadConfig(std::string(TOPDOG_SOURCE_DIR) + "/" + name);
    EXPECT_TRUE(config.has_value()) << name << ": " << config.error().message;
  }
}

}  // namespace
}  // namespace topdog::advisor
