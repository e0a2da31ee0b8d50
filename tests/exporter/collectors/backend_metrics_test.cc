// The backend_metrics collector over FakeHttpGetter and a real FastAPI /metrics page (tests/fixtures/gateway/
// fastapi_metrics.prom): families passed through with target and node labels, several targets merged, the
// sample limit, refused pages, and the exporter's own namespaces kept clear.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "common/exposition/text_writer.h"
#include "exporter/collectors/gateway.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_http_getter.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::Contains;
using testing::FakeHttpGetter;
using testing::FamilyNames;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::LabelsOf;
using ::testing::Not;
using testing::ReadFixture;
using testing::SampleValue;

const std::string kA = "http://10.0.0.5:8000/metrics";
const std::string kB = "http://10.0.0.6:8000/metrics";

struct Passthrough {
  std::shared_ptr<FakeHttpGetter> getter = std::make_shared<FakeHttpGetter>();
  std::unique_ptr<Collector> collector;

  explicit Passthrough(std::vector<std::string> urls, size_t sample_limit = 10000, std::string node = "pool-a-1") {
    GatewayOptions options;
    options.backend_metrics_urls = std::move(urls);
    options.backend_metrics_sample_limit = sample_limit;
    options.node_name = std::move(node);
    auto made = NewBackendMetricsCollectorWith(options, getter);
    EXPECT_TRUE(made) << made.error().message;
    collector = std::move(*made);
  }
};

testing::LabelMap With(testing::LabelMap labels, const std::string& target, const std::string& node = "pool-a-1") {
  labels["target"] = target;
  if (!node.empty()) labels["node"] = node;
  return labels;
}

TEST(BackendMetricsCollectorTest, PassesARealFastApiPageThroughWithTargetAndNode) {
  Passthrough p({kA});
  p.getter->Answer(kA, 200, ReadFixture("gateway/fastapi_metrics.prom"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(p.collector->Name(), "backend_metrics");
  EXPECT_TRUE(p.collector->MayBlock());
  auto families = p.collector->Collect();
  ASSERT_TRUE(families) << families.error().message;
  // Names, types and HELP as the backend wrote them.
  const auto* requests = FindFamily(*families, "http_requests_total");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->type, prometheus::MetricType::Counter);
  EXPECT_EQ(requests->help, "Total number of requests by method, status and handler.");
  EXPECT_EQ(SampleValue(*families, "http_requests_total",
                        With({{"handler", "/items/{item_id}"}, {"method", "GET"}, {"status", "2xx"}}, kA)),
            3);
  EXPECT_EQ(SampleValue(*families, "http_requests_total",
                        With({{"handler", "/items/{item_id}"}, {"method", "GET"}, {"status", "4xx"}}, kA)),
            1);
  EXPECT_EQ(FindFamily(*families, "http_requests_created")->type, prometheus::MetricType::Gauge);
  EXPECT_EQ(SampleValue(*families, "python_info",
                        With({{"implementation", "CPython"},
                              {"major", "3"},
                              {"minor", "11"},
                              {"patchlevel", "2"},
                              {"version", "3.11.2"}},
                             kA)),
            1);
  EXPECT_EQ(SampleValue(*families, "process_max_fds", With({}, kA)), 20000);

  const auto* latency = FindFamily(*families, "http_request_duration_seconds");
  ASSERT_NE(latency, nullptr);
  ASSERT_EQ(latency->type, prometheus::MetricType::Histogram);
  ASSERT_EQ(latency->metric.size(), 4u);
  const prometheus::ClientMetric* slow = nullptr;
  for (const auto& metric : latency->metric) {
    if (LabelsOf(metric) == With({{"handler", "/slow"}, {"method", "GET"}}, kA)) slow = &metric;
  }
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->histogram.sample_count, 1u);
  EXPECT_DOUBLE_EQ(slow->histogram.sample_sum, 0.15181606699843542);
  ASSERT_EQ(slow->histogram.bucket.size(), 4u);  // 0.1 0.5 1 +Inf
  EXPECT_EQ(slow->histogram.bucket[0].cumulative_count, 0u);
  EXPECT_EQ(slow->histogram.bucket[1].cumulative_count, 1u);

  // Our own per-target gauges.
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_up", {{"target", kA}}), 1);
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_samples", {{"target", kA}}), 84 - 28);
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_samples_dropped", {{"target", kA}}), 0);

  // The page we serve re-reads as the backend's page plus the labels.
  std::string text;
  exposition::AppendFamilies(text, *families, exposition::Format::kText004);
  EXPECT_THAT(text, HasSubstr("http_request_duration_seconds_bucket{handler=\"/slow\",method=\"GET\","
                              "target=\"http://10.0.0.5:8000/metrics\",node=\"pool-a-1\",le=\"0.5\"} 1\n"));
}

TEST(BackendMetricsCollectorTest, MergesTargetsAndRenamesClashingLabels) {
  Passthrough p({kA, kB});
  p.getter->Answer(kA, 200, ReadFixture("gateway/fastapi_metrics.prom"));
  p.getter->Answer(kB, 200,
                   "# HELP http_requests_total Other help.\n# TYPE http_requests_total counter\n"
                   "http_requests_total{handler=\"/x\",method=\"GET\",status=\"2xx\",target=\"t\",node=\"n\"} 7\n");
  auto families = p.collector->Collect();
  ASSERT_TRUE(families) << families.error().message;
  const auto* requests = FindFamily(*families, "http_requests_total");
  EXPECT_EQ(requests->help, "Total number of requests by method, status and handler.");  // the first target's
  EXPECT_EQ(requests->metric.size(), 7u);
  EXPECT_EQ(SampleValue(*families, "http_requests_total",
                        With({{"handler", "/x"},
                              {"method", "GET"},
                              {"status", "2xx"},
                              {"exported_target", "t"},
                              {"exported_node", "n"}},
                             kB)),
            7);
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_samples", {{"target", kB}}), 1);
  // One family name per page: each family appears once.
  auto names = FamilyNames(*families);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(BackendMetricsCollectorTest, DropsFamiliesInTheExportersNamespacesAndTypeClashes) {
  Passthrough p({kA, kB});
  p.getter->Answer(kA, 200,
                   "# TYPE node_load1 gauge\nnode_load1 3\n# TYPE nginx_up gauge\nnginx_up 1\n"
                   "# TYPE topdog_exporter_build_info gauge\ntopdog_exporter_build_info{version=\"x\"} 1\n"
                   "# TYPE probe_success gauge\nprobe_success 1\n# TYPE jobs counter\njobs 4\n");
  p.getter->Answer(kB, 200, "# TYPE jobs gauge\njobs 2\n# TYPE envoy_server_live gauge\nenvoy_server_live 1\n");
  auto families = p.collector->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(FindFamily(*families, "node_load1"), nullptr);
  EXPECT_EQ(FindFamily(*families, "nginx_up"), nullptr);
  EXPECT_EQ(FindFamily(*families, "probe_success"), nullptr);
  EXPECT_EQ(FindFamily(*families, "envoy_server_live"), nullptr);
  EXPECT_EQ(FindFamily(*families, "topdog_exporter_build_info"), nullptr);
  EXPECT_EQ(SampleValue(*families, "jobs", With({}, kA)), 4);
  EXPECT_EQ(SampleValue(*families, "jobs", With({}, kB)), std::nullopt);  // a gauge after a counter: dropped
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_samples_dropped", {{"target", kA}}), 4);
  EXPECT_EQ(SampleValue(*families, "topdog_exporter_backend_metrics_samples_dropped", {{"target", kB}}), 2);
}

TEST(BackendMetricsCollectorTest, RefusesAPageOverTheSampleLimit) {
  Passthrough p({kA, kB}, 56);
  p.getter->Answer(kA, 200, ReadFixture("gateway/fastapi_metrics.prom"));  // 56 samples: at the limit
  p.getter->Answer(kB, 200, ReadFixture("gateway/fastapi_metrics.prom") + "one_more 1\n");
  auto families = p.collector->Collect();
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().message,
            "1 of 2 targets failed: GET " + kB +
                ": refused: 57 samples, over the sample limit of 56 (--collector.backend.metrics-sample-limit)");
  // The good target is still served, with success 0 for the collector.
  auto kept = p.collector->TakeFamiliesOnError();
  EXPECT_EQ(SampleValue(kept, "topdog_exporter_backend_metrics_up", {{"target", kA}}), 1);
  EXPECT_EQ(SampleValue(kept, "topdog_exporter_backend_metrics_up", {{"target", kB}}), 0);
  EXPECT_EQ(SampleValue(kept, "topdog_exporter_backend_metrics_samples", {{"target", kB}}), 0);
  const auto* requests = FindFamily(kept, "http_requests_total");
  ASSERT_NE(requests, nullptr);
  for (const auto& metric : requests->metric) EXPECT_EQ(LabelsOf(metric).at("target"), kA);
}

TEST(BackendMetricsCollectorTest, RefusesUnparsablePagesErrorStatusesAndDownTargets) {
  const std::vector<std::pair<Result<HttpGetResponse>, std::string>> cases = {
      {HttpGetResponse{200, "text/html", ReadFixture("gateway/html_502.html")},
       "refused: not a text-format page: line 1"},
      {HttpGetResponse{200, "text/plain", "http_requests_total{handler=\"/x\" 1\n"}, "refused: not a text-format page"},
      {HttpGetResponse{200, "text/plain", "# TYPE h histogram\nh_bucket{le=\"fast\"} 1\n"},
       "refused: sample h_bucket: le=\"fast\" is not a number"},
      {HttpGetResponse{502, "text/html", ReadFixture("gateway/html_502.html")}, "HTTP 502 (text/html): \"<html>"},
      {MakeError(ErrorKind::kDeadlineExceeded, "GET " + kA + ": no answer within 5s (reading the response)"),
       "no answer within 5s"},
  };
  for (const auto& [answer, expected] : cases) {
    Passthrough p({kA});
    p.getter->Answer(kA, answer);
    auto families = p.collector->Collect();
    ASSERT_FALSE(families) << expected;
    EXPECT_THAT(families.error().message, HasSubstr("1 of 1 targets failed: "));
    EXPECT_THAT(families.error().message, HasSubstr(expected));
    auto kept = p.collector->TakeFamiliesOnError();
    EXPECT_THAT(FamilyNames(kept), Not(Contains("http_requests_total")));
    EXPECT_EQ(SampleValue(kept, "topdog_exporter_backend_metrics_up", {{"target", kA}}), 0);
  }
}

TEST(BackendMetricsCollectorTest, RenamedLabelsNeverDuplicateOne) {
  Passthrough p({kA});
  p.getter->Answer(kA, 200, "jobs{target=\"a\",exported_target=\"b\",node=\"c\"} 4\n");
  auto families = p.collector->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(
      SampleValue(*families, "jobs",
                  With({{"exported_exported_target", "a"}, {"exported_target", "b"}, {"exported_node", "c"}}, kA)),
      4);
}

TEST(BackendMetricsCollectorTest, WithoutANodeNameThereIsNoNodeLabel) {
  Passthrough p({kA}, 10000, "");
  p.getter->Answer(kA, 200, "# TYPE jobs counter\njobs{node=\"keep\"} 4\n");
  auto families = p.collector->Collect();
  ASSERT_TRUE(families);
  EXPECT_EQ(SampleValue(*families, "jobs", {{"node", "keep"}, {"target", kA}}), 4);
}

TEST(BackendMetricsCollectorTest, FlagsAreChecked) {
  GatewayOptions options;
  auto none = NewBackendMetricsCollectorWith(options, std::make_shared<FakeHttpGetter>());
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("--collector.backend.metrics-url"));
  options.backend_metrics_urls = {kA};
  options.backend_metrics_sample_limit = 0;
  ASSERT_FALSE(NewBackendMetricsCollectorWith(options, std::make_shared<FakeHttpGetter>()));
}

}  // namespace
}  // namespace topdog::exporter
