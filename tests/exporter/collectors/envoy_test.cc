// The envoy collector over FakeHttpGetter and the /stats/prometheus page of tests/fixtures/gateway (written in
// Envoy's format from its source, not captured: see PROVENANCE.md): the upstream cluster families keep Envoy's
// names and labels, the cluster filter (names, regex), and failures.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>

#include "exporter/collectors/gateway.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_http_getter.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeHttpGetter;
using testing::FamilyNames;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::LabelsOf;
using testing::ReadFixture;
using testing::SampleValue;

const std::string kStatsUrl = "http://127.0.0.1:9901/stats/prometheus?usedonly";

Result<std::vector<MetricFamily>> CollectWith(const GatewayOptions& options, Result<HttpGetResponse> answer,
                                              std::vector<std::string>* requests = nullptr,
                                              const std::string& url = kStatsUrl) {
  auto getter = std::make_shared<FakeHttpGetter>();
  getter->Answer(url, std::move(answer));
  auto collector = NewEnvoyCollectorWith(options, getter);
  EXPECT_TRUE(collector) << collector.error().message;
  if (!collector) return tl::unexpected(collector.error());
  EXPECT_EQ((*collector)->Name(), "envoy");
  EXPECT_TRUE((*collector)->MayBlock());
  auto families = (*collector)->Collect();
  if (requests != nullptr) *requests = getter->requests;
  return families;
}

HttpGetResponse Page() {
  return HttpGetResponse{200, "text/plain; charset=UTF-8", ReadFixture("gateway/envoy_stats_prometheus.txt")};
}

std::set<std::string> Clusters(const std::vector<MetricFamily>& families) {
  std::set<std::string> clusters;
  for (const auto& family : families) {
    for (const auto& metric : family.metric) clusters.insert(LabelsOf(metric).at("envoy_cluster_name"));
  }
  return clusters;
}

TEST(EnvoyCollectorTest, KeepsTheUpstreamClusterFamiliesWithEnvoysNames) {
  std::vector<std::string> requests;
  auto families = CollectWith(GatewayOptions{}, Page(), &requests);
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(requests, ElementsAre(kStatsUrl));  // the default --collector.envoy.admin-uri + the stats path
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("envoy_cluster_membership_healthy", "envoy_cluster_membership_total",
                          "envoy_cluster_upstream_cx_active", "envoy_cluster_upstream_cx_connect_fail",
                          "envoy_cluster_upstream_rq", "envoy_cluster_upstream_rq_active",
                          "envoy_cluster_upstream_rq_completed", "envoy_cluster_upstream_rq_pending_active",
                          "envoy_cluster_upstream_rq_pending_overflow", "envoy_cluster_upstream_rq_retry",
                          "envoy_cluster_upstream_rq_time", "envoy_cluster_upstream_rq_timeout",
                          "envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_xx"));
  EXPECT_EQ(Clusters(*families), (std::set<std::string>{"backend", "opa", "static_assets"}));
  EXPECT_EQ(SampleValue(*families, "envoy_cluster_upstream_rq_total", {{"envoy_cluster_name", "backend"}}), 10);
  EXPECT_EQ(SampleValue(*families, "envoy_cluster_upstream_rq",
                        {{"envoy_cluster_name", "backend"}, {"envoy_response_code", "503"}}),
            1);
  EXPECT_EQ(SampleValue(*families, "envoy_cluster_upstream_rq_xx",
                        {{"envoy_cluster_name", "backend"}, {"envoy_response_code_class", "4"}}),
            2);
  EXPECT_EQ(SampleValue(*families, "envoy_cluster_membership_healthy", {{"envoy_cluster_name", "backend"}}), 2);
  const auto* total = FindFamily(*families, "envoy_cluster_upstream_rq_total");
  EXPECT_EQ(total->type, prometheus::MetricType::Counter);
  EXPECT_EQ(total->help, "Total upstream requests of the cluster.");  // Envoy writes no HELP: ours
  EXPECT_EQ(FindFamily(*families, "envoy_cluster_upstream_rq_active")->type, prometheus::MetricType::Gauge);

  // The request-time histogram in milliseconds, Envoy's 19 default bounds plus +Inf.
  const auto* time = FindFamily(*families, "envoy_cluster_upstream_rq_time");
  ASSERT_EQ(time->type, prometheus::MetricType::Histogram);
  ASSERT_EQ(time->metric.size(), 3u);
  const prometheus::ClientMetric* backend = nullptr;
  for (const auto& metric : time->metric) {
    if (LabelsOf(metric) == testing::LabelMap{{"envoy_cluster_name", "backend"}}) backend = &metric;
  }
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->histogram.sample_count, 10u);
  EXPECT_EQ(backend->histogram.sample_sum, 1465.5);
  ASSERT_EQ(backend->histogram.bucket.size(), 20u);
  EXPECT_EQ(backend->histogram.bucket[0].upper_bound, 0.5);
  EXPECT_EQ(backend->histogram.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(backend->histogram.bucket[2].upper_bound, 5);
  EXPECT_EQ(backend->histogram.bucket[2].cumulative_count, 2u);
  EXPECT_EQ(backend->histogram.bucket[8].upper_bound, 500);
  EXPECT_EQ(backend->histogram.bucket[8].cumulative_count, 9u);
  EXPECT_EQ(backend->histogram.bucket[18].upper_bound, 3600000);
  EXPECT_TRUE(std::isinf(backend->histogram.bucket[19].upper_bound));
  EXPECT_EQ(backend->histogram.bucket[19].cumulative_count, 10u);

  // Not kept: downstream, listener, server and cluster-manager stats, other upstream counters.
  for (const char* name : {"envoy_http_downstream_rq_total", "envoy_server_live", "envoy_cluster_upstream_cx_total",
                           "envoy_cluster_manager_active_clusters", "envoy_http_downstream_rq_time"}) {
    EXPECT_EQ(FindFamily(*families, name), nullptr) << name;
  }
}

TEST(EnvoyCollectorTest, FiltersClustersByNameListAndRegex) {
  GatewayOptions options;
  options.envoy_clusters = {"backend"};
  auto only_backend = CollectWith(options, Page());
  ASSERT_TRUE(only_backend) << only_backend.error().message;
  EXPECT_EQ(Clusters(*only_backend), (std::set<std::string>{"backend"}));
  EXPECT_EQ(FamilyNames(*only_backend).size(), 14u);

  options.envoy_clusters = {"backend,opa", "no_such_cluster"};
  auto two = CollectWith(options, Page());
  ASSERT_TRUE(two);
  EXPECT_EQ(Clusters(*two), (std::set<std::string>{"backend", "opa"}));

  // The regex must match the whole name ("static" alone would not).
  options.envoy_clusters = {};
  options.envoy_clusters_regex = "static.*|op.";
  auto regex = CollectWith(options, Page());
  ASSERT_TRUE(regex);
  EXPECT_EQ(Clusters(*regex), (std::set<std::string>{"opa", "static_assets"}));
  options.envoy_clusters_regex = "static";
  EXPECT_TRUE(CollectWith(options, Page())->empty());

  // Names and regex add up.
  options.envoy_clusters = {"backend"};
  options.envoy_clusters_regex = "opa";
  EXPECT_EQ(Clusters(*CollectWith(options, Page())), (std::set<std::string>{"backend", "opa"}));
}

TEST(EnvoyCollectorTest, AdminUriWithAPathIsUsedAsGiven) {
  GatewayOptions options;
  options.envoy_admin_uri = "http://10.0.0.7:9901/";
  std::vector<std::string> requests;
  ASSERT_TRUE(CollectWith(options, Page(), &requests, "http://10.0.0.7:9901/stats/prometheus?usedonly"));
  options.envoy_admin_uri = "https://envoy-admin:9901/stats/prometheus?usedonly&filter=cluster";
  ASSERT_TRUE(CollectWith(options, Page(), &requests, options.envoy_admin_uri));
  EXPECT_THAT(requests, ElementsAre(options.envoy_admin_uri));
}

TEST(EnvoyCollectorTest, FailsAloneOnBadPagesAndDownPeers) {
  auto html = CollectWith(GatewayOptions{}, HttpGetResponse{200, "text/html", ReadFixture("gateway/html_502.html")});
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(html.error().message, HasSubstr("GET " + kStatsUrl + ": not an Envoy stats page"));

  auto status = CollectWith(GatewayOptions{}, HttpGetResponse{503, "text/plain", "no healthy upstream"});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(status.error().message, HasSubstr("HTTP 503 (text/plain): \"no healthy upstream\""));

  auto other =
      CollectWith(GatewayOptions{}, HttpGetResponse{200, "text/plain", ReadFixture("gateway/fastapi_metrics.prom")});
  ASSERT_FALSE(other);
  EXPECT_THAT(other.error().message, HasSubstr("no envoy_ samples"));

  auto down = CollectWith(GatewayOptions{}, MakeError(ErrorKind::kUnavailable, "connect: Connection refused"));
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);

  // A truncated page: the histogram's last series loses its _count; the +Inf bucket stands in.
  std::string page = ReadFixture("gateway/envoy_stats_prometheus.txt");
  size_t cut = page.find("envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"static_assets\"}");
  ASSERT_NE(cut, std::string::npos);
  auto truncated = CollectWith(GatewayOptions{}, HttpGetResponse{200, "text/plain", page.substr(0, cut)});
  ASSERT_TRUE(truncated) << truncated.error().message;
  const auto* time = FindFamily(*truncated, "envoy_cluster_upstream_rq_time");
  for (const auto& metric : time->metric) EXPECT_GT(metric.histogram.sample_count, 0u);
  // Cut inside a line: a parse error.
  auto garbled = CollectWith(GatewayOptions{}, HttpGetResponse{200, "text/plain", page.substr(0, cut + 20)});
  ASSERT_FALSE(garbled);
  EXPECT_EQ(garbled.error().kind, ErrorKind::kBadData);
}

TEST(EnvoyCollectorTest, BadFlagsAreStartUpErrors) {
  GatewayOptions options;
  options.envoy_clusters_regex = "(unclosed";
  auto collector = NewEnvoyCollectorWith(options, std::make_shared<FakeHttpGetter>());
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("--collector.envoy.clusters-regex: invalid regex"));
  options = GatewayOptions{};
  options.envoy_admin_uri = "127.0.0.1:9901";
  collector = NewEnvoyCollectorWith(options, std::make_shared<FakeHttpGetter>());
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("--collector.envoy.admin-uri: bad URL"));
}

}  // namespace
}  // namespace topdog::exporter
