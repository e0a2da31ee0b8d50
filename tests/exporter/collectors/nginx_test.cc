// The nginx collector over FakeHttpGetter: nginx-prometheus-exporter's exact families on the stub_status pages
// captured from nginx 1.22.1 (tests/fixtures/gateway), and nginx_up 0 with success 0 for every way the page can
// fail (down, slow, an HTML error page, garbage, a truncated page).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "exporter/collector_set.h"
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
using testing::ReadFixture;
using testing::SampleValue;

const std::string kUri = "http://127.0.0.1:8080/stub_status";

std::unique_ptr<Collector> MakeCollector(std::shared_ptr<FakeHttpGetter> getter) {
  auto collector = NewNginxCollectorWith(GatewayOptions{}, std::move(getter));
  EXPECT_TRUE(collector) << collector.error().message;
  return std::move(*collector);
}

TEST(NginxCollectorTest, CapturedPageGivesTheReferenceExportersFamilies) {
  auto getter = std::make_shared<FakeHttpGetter>();
  getter->Answer(kUri, 200, ReadFixture("gateway/stub_status_after_raw.txt"));  // 1 / 46 46 45 / 0 1 0
  auto collector = MakeCollector(getter);
  EXPECT_EQ(collector->Name(), "nginx");
  EXPECT_TRUE(collector->MayBlock());
  auto families = collector->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_THAT(getter->requests, ElementsAre(kUri));  // the default --collector.nginx.scrape-uri
  EXPECT_THAT(FamilyNames(*families),
              ElementsAre("nginx_connections_accepted", "nginx_connections_active", "nginx_connections_handled",
                          "nginx_connections_reading", "nginx_connections_waiting", "nginx_connections_writing",
                          "nginx_http_requests_total", "nginx_up"));
  EXPECT_EQ(SampleValue(*families, "nginx_connections_active"), 1);
  EXPECT_EQ(SampleValue(*families, "nginx_connections_accepted"), 46);
  EXPECT_EQ(SampleValue(*families, "nginx_connections_handled"), 46);
  EXPECT_EQ(SampleValue(*families, "nginx_http_requests_total"), 45);
  EXPECT_EQ(SampleValue(*families, "nginx_connections_reading"), 0);
  EXPECT_EQ(SampleValue(*families, "nginx_connections_writing"), 1);
  EXPECT_EQ(SampleValue(*families, "nginx_connections_waiting"), 0);
  EXPECT_EQ(SampleValue(*families, "nginx_up"), 1);

  // HELP and TYPE as prometheus-nginx-exporter 0.11.0 serves them (checked against the real one in
  // tests/e2e/gateway_collectors_test.py).
  using prometheus::MetricType;
  const std::vector<std::tuple<std::string, std::string, MetricType>> expected = {
      {"nginx_connections_accepted", "Accepted client connections", MetricType::Counter},
      {"nginx_connections_active", "Active client connections", MetricType::Gauge},
      {"nginx_connections_handled", "Handled client connections", MetricType::Counter},
      {"nginx_connections_reading", "Connections where NGINX is reading the request header", MetricType::Gauge},
      {"nginx_connections_waiting", "Idle client connections", MetricType::Gauge},
      {"nginx_connections_writing", "Connections where NGINX is writing the response back to the client",
       MetricType::Gauge},
      {"nginx_http_requests_total", "Total http requests", MetricType::Counter},
      {"nginx_up", "Status of the last metric scrape", MetricType::Gauge},
  };
  for (const auto& [name, help, type] : expected) {
    const auto* family = FindFamily(*families, name);
    ASSERT_NE(family, nullptr) << name;
    EXPECT_EQ(family->help, help) << name;
    EXPECT_EQ(family->type, type) << name;
    EXPECT_EQ(family->metric.size(), 1u) << name;
    EXPECT_TRUE(family->metric[0].label.empty()) << name;
  }
}

TEST(NginxCollectorTest, EachCapturedPageMatchesItsCounts) {
  for (const auto& [file, accepted, requests] : std::vector<std::tuple<std::string, double, double>>{
           {"stub_status_idle.txt", 2, 2}, {"stub_status.txt", 40, 40}}) {
    auto getter = std::make_shared<FakeHttpGetter>();
    getter->Answer(kUri, 200, ReadFixture("gateway/" + file));
    auto families = MakeCollector(getter)->Collect();
    ASSERT_TRUE(families) << file << ": " << families.error().message;
    EXPECT_EQ(SampleValue(*families, "nginx_connections_accepted"), accepted) << file;
    EXPECT_EQ(SampleValue(*families, "nginx_http_requests_total"), requests) << file;
  }
}

// Runs the collector once and returns (error, the families it keeps on error).
std::pair<Error, std::vector<MetricFamily>> Failure(Result<HttpGetResponse> answer) {
  auto getter = std::make_shared<FakeHttpGetter>();
  getter->Answer(kUri, std::move(answer));
  auto collector = MakeCollector(getter);
  auto families = collector->Collect();
  EXPECT_FALSE(families);
  if (families) return {Error{ErrorKind::kBadData, ""}, {}};
  return {families.error(), collector->TakeFamiliesOnError()};
}

void ExpectOnlyUpZero(const std::vector<MetricFamily>& kept) {
  EXPECT_THAT(FamilyNames(kept), ElementsAre("nginx_up"));
  EXPECT_EQ(SampleValue(kept, "nginx_up"), 0);
  EXPECT_EQ(FindFamily(kept, "nginx_up")->help, "Status of the last metric scrape");
}

TEST(NginxCollectorTest, HtmlErrorPageFromAProxyIsAFailureWithUpZero) {
  auto [error, kept] = Failure(HttpGetResponse{502, "text/html", ReadFixture("gateway/html_502.html")});
  EXPECT_EQ(error.kind, ErrorKind::kUnavailable);
  EXPECT_THAT(error.message, HasSubstr("GET " + kUri + ": HTTP 502 (text/html): \"<html>"));
  ExpectOnlyUpZero(kept);
}

TEST(NginxCollectorTest, HtmlPageWithStatus200IsBadData) {
  auto [error, kept] = Failure(HttpGetResponse{200, "text/html", ReadFixture("gateway/html_502.html")});
  EXPECT_EQ(error.kind, ErrorKind::kBadData);
  EXPECT_THAT(error.message, HasSubstr("GET " + kUri + ": not an nginx stub_status page"));
  EXPECT_THAT(error.message, HasSubstr("the page is HTML"));
  ExpectOnlyUpZero(kept);
}

TEST(NginxCollectorTest, GarbageTruncatedAndEmptyPagesAreBadData) {
  std::string page = ReadFixture("gateway/stub_status.txt");
  for (const std::string& body : {std::string("\x16\x03\x01\x02\x00garbage\xff"), page.substr(0, page.size() / 2),
                                  std::string(), page + "extra\n"}) {
    auto [error, kept] = Failure(HttpGetResponse{200, "text/plain", body});
    EXPECT_EQ(error.kind, ErrorKind::kBadData) << body;
    EXPECT_THAT(error.message, HasSubstr("not an nginx stub_status page")) << body;
    ExpectOnlyUpZero(kept);
  }
}

TEST(NginxCollectorTest, DownAndSlowPeersGiveUpZero) {
  auto [refused, kept] = Failure(MakeError(ErrorKind::kUnavailable, "GET " + kUri + ": connect: Connection refused"));
  EXPECT_EQ(refused.kind, ErrorKind::kUnavailable);
  EXPECT_THAT(refused.message, HasSubstr("Connection refused"));
  ExpectOnlyUpZero(kept);
  auto [slow, kept_slow] = Failure(MakeError(ErrorKind::kDeadlineExceeded, "GET " + kUri + ": no answer within 5s"));
  EXPECT_EQ(slow.kind, ErrorKind::kDeadlineExceeded);
  ExpectOnlyUpZero(kept_slow);
  auto [forbidden, kept_forbidden] = Failure(HttpGetResponse{403, "text/html", "<html>403 Forbidden</html>"});
  EXPECT_EQ(forbidden.kind, ErrorKind::kRejected);
  ExpectOnlyUpZero(kept_forbidden);
}

TEST(NginxCollectorTest, ScrapeShowsUpZeroWithSuccessZeroAndRecovers) {
  auto getter = std::make_shared<FakeHttpGetter>();
  getter->Answer(kUri, MakeError(ErrorKind::kUnavailable, "GET " + kUri + ": connect: Connection refused"));
  getter->Answer(kUri, 200, ReadFixture("gateway/stub_status.txt"));
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(MakeCollector(getter));
  CollectorSet set(std::move(collectors));
  auto value = [](const CollectorSet::Scrape& scrape, const std::string& name,
                  const testing::LabelMap& labels = {}) -> std::optional<double> {
    for (const MetricFamily* family : scrape.Ordered()) {
      if (family->name != name) continue;
      for (const auto& metric : family->metric) {
        if (testing::LabelsOf(metric) == labels) return testing::ValueOf(*family, metric);
      }
    }
    return std::nullopt;
  };
  auto deadline = [] { return CollectorSet::Clock::now() + std::chrono::seconds(10); };
  auto down = set.Collect(deadline());
  EXPECT_EQ(value(down, "node_scrape_collector_success", {{"collector", "nginx"}}), 0);
  EXPECT_EQ(value(down, "nginx_up"), 0);
  EXPECT_EQ(value(down, "nginx_http_requests_total"), std::nullopt);
  auto up = set.Collect(deadline());
  EXPECT_EQ(value(up, "node_scrape_collector_success", {{"collector", "nginx"}}), 1);
  EXPECT_EQ(value(up, "nginx_up"), 1);
  EXPECT_EQ(value(up, "nginx_http_requests_total"), 40);
}

TEST(NginxCollectorTest, BadScrapeUriIsAStartUpError) {
  GatewayOptions options;
  options.nginx_scrape_uri = "ftp://127.0.0.1/stub_status";
  auto collector = NewNginxCollectorWith(options, std::make_shared<FakeHttpGetter>());
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("--collector.nginx.scrape-uri: bad URL"));
  options.nginx_scrape_uri = "http://user:secret@127.0.0.1/stub_status";
  collector = NewNginxCollectorWith(options, std::make_shared<FakeHttpGetter>());
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("give credentials in files"));
  EXPECT_THAT(collector.error().message, ::testing::Not(HasSubstr("secret")));
}

}  // namespace
}  // namespace topdog::exporter
