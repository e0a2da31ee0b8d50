// The accesslog collector over the captured NGINX logs (tests/fixtures/gateway), written to real files in a
// temporary directory: exact request counts and histogram buckets per label set, every log format and the
// CRI wrapping agreeing, bounded labels, junk, missing files, restarts with a position file, bad flags.
// No reader thread (poll interval 0) and a fake clock: nothing sleeps.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "common/exposition/text_writer.h"
#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::LabelMap;
using testing::ReadFixture;
using testing::ReadFixtureLines;
using testing::SampleValue;

constexpr size_t kCapturedRequests = 45;

std::string Join(const std::vector<std::string>& lines, size_t from, size_t to) {
  std::string text;
  for (size_t i = from; i < to; ++i) text += lines[i] + "\n";
  return text;
}

using Families = std::vector<prometheus::MetricFamily>;

// requests_total by label set.
std::map<LabelMap, double> Requests(const Families& families) {
  std::map<LabelMap, double> out;
  const auto* family = testing::FindFamily(families, "topdog_exporter_gateway_requests_total");
  if (family == nullptr) return out;
  for (const auto& metric : family->metric) out[testing::LabelsOf(metric)] = metric.counter.value;
  return out;
}

double Total(const std::map<LabelMap, double>& requests) {
  return std::accumulate(requests.begin(), requests.end(), 0.0,
                         [](double sum, const auto& entry) { return sum + entry.second; });
}

// Without the host label (summed over hosts).
std::map<LabelMap, double> WithoutHost(const std::map<LabelMap, double>& requests) {
  std::map<LabelMap, double> out;
  for (const auto& [key, value] : requests) {
    LabelMap labels = key;
    labels.erase("host");
    out[labels] += value;
  }
  return out;
}

const prometheus::ClientMetric::Histogram* HistogramOf(const Families& families, const std::string& name,
                                                       const LabelMap& labels) {
  const auto* family = testing::FindFamily(families, name);
  if (family == nullptr) return nullptr;
  for (const auto& metric : family->metric) {
    if (testing::LabelsOf(metric) == labels) return &metric.histogram;
  }
  return nullptr;
}

// Cumulative count of the bucket with upper bound `le`.
uint64_t Bucket(const prometheus::ClientMetric::Histogram& histogram, double le) {
  for (const auto& bucket : histogram.bucket) {
    if (bucket.upper_bound == le) return bucket.cumulative_count;
  }
  ADD_FAILURE() << "no bucket le=" << le;
  return 0;
}

double LineCount(const Families& families, const std::string& result) {
  return SampleValue(families, "topdog_exporter_gateway_log_lines_total", {{"result", result}}).value_or(-1);
}

LabelMap Req(std::string method, std::string route, std::string status, std::string host = "") {
  return {{"host", host}, {"method", method}, {"route", route}, {"status", status}};
}
LabelMap Hist(std::string method, std::string route, std::string status_class, std::string host = "") {
  return {{"host", host}, {"method", method}, {"route", route}, {"status_class", status_class}};
}

class AccessLogCollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "access_log_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    log_ = dir_ + "/access.log";
    Append(log_, "");
    options_.accesslog.paths = {log_};
    options_.accesslog.poll_interval = "0s";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static void Append(const std::string& path, const std::string& text) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
  }

  std::unique_ptr<Collector> New() {
    auto collector = NewAccessLogCollector(CollectorDeps{reader_, system_, options_});
    EXPECT_TRUE(collector) << collector.error().message;
    return collector ? std::move(*collector) : nullptr;
  }

  Families CollectOk(Collector& collector) {
    auto families = collector.Collect();
    EXPECT_TRUE(families) << families.error().message;
    return families ? std::move(*families) : Families{};
  }

  // Follows a fresh file, writes the captured log into it, collects once.
  Families CollectFixture(const std::string& name) {
    auto collector = New();
    if (!collector) return {};
    Append(log_, ReadFixture("gateway/" + name));
    return CollectOk(*collector);
  }

  std::string dir_;
  std::string log_;
  DiskFileReader reader_;
  testing::FakeSystem system_;
  CollectorOptions options_;
};

TEST_F(AccessLogCollectorTest, CountsEveryCapturedRequestByHostMethodRouteStatus) {
  const Families families = CollectFixture("combined_times.log");
  EXPECT_EQ(LineCount(families, "parsed"), kCapturedRequests);
  EXPECT_EQ(LineCount(families, "unparsable"), 0);
  EXPECT_EQ(LineCount(families, "too_long"), 0);
  const auto requests = Requests(families);
  EXPECT_EQ(Total(requests), kCapturedRequests);
  // One label set per distinct (method, templated route, status) of the capture (combined has no host).
  const std::map<LabelMap, double> expected = {
      {Req("GET", "/healthz", "200"), 2},
      {Req("GET", "/stub_status", "200"), 3},
      {Req("GET", "/api/users/:id", "200"), 6},  // 12345, 7, 8, 9, 10 and the absolute-form 11
      {Req("HEAD", "/api/users/:id", "200"), 1},
      {Req("GET", "/api/users/:id/orders/:id", "200"), 1},
      {Req("GET", "/api/items/:uuid", "200"), 1},
      {Req("GET", "/api/items/:uuid/reviews", "200"), 1},
      {Req("GET", "/api/blobs/:hash", "200"), 1},
      {Req("GET", "/api/commits/:hash", "200"), 1},
      {Req("GET", "/api/slow", "200"), 2},
      {Req("POST", "/api/orders", "200"), 1},
      {Req("PUT", "/api/orders/:id", "200"), 1},
      {Req("DELETE", "/api/orders/:id", "200"), 1},
      {Req("GET", "/does/not/exist", "404"), 1},
      {Req("GET", "/static/app.3f2a9c.js", "200"), 1},
      {Req("GET", "/static/img/logo.png", "404"), 1},
      {Req("GET", "/api/status/:id", "503"), 1},
      {Req("GET", "/api/status/:id", "201"), 1},
      {Req("GET", "/retry/ping", "200"), 3},
      {Req("GET", "/fallback/missing/:id", "404"), 1},
      {Req("GET", "/down/x", "502"), 2},
      {Req("GET", "/api/search", "200"), 1},
      {Req("GET", "/api/say\"hi\"/now", "200"), 1},
      {Req("GET", "/api/back\\slash", "200"), 1},
      {Req("GET", "/api/caf%c3%a9/%c3%bcn%c3%afcode/%c3%9f", "200"), 1},
      {Req("GET", "/api/caf%C3%A9/%E2%9C%93", "200"), 1},
      {Req("OPTIONS", "*", "400"), 1},
      {Req("GET", "/api/long/:hash", "200"), 1},  // 20 000 'a's: hex digits
      {Req("GET", "/api/long/:hash", "414"), 1},
      {Req("none", "none", "400"), 1},  // a TLS handshake on the plain port
      {Req("GET", "/api/ctl%01%7F%FF", "400"), 1},
      {Req("GET", "/api/caf\xC3\xA9/\xE2\x9C\x93/:id", "200"), 1},
      {Req("GET", "/api/caf\xC3\xA9/\xE2\x9C\x93/:id", "499"), 1},
  };
  EXPECT_EQ(requests, expected);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_routes_dropped_total"), 0);

  // /api/slow?ms=150 and ?ms=420: 0.154 s and 0.422 s.
  const auto* slow =
      HistogramOf(families, "topdog_exporter_gateway_request_duration_seconds", Hist("GET", "/api/slow", "2xx"));
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->sample_count, 2u);
  EXPECT_DOUBLE_EQ(slow->sample_sum, 0.576);
  ASSERT_EQ(slow->bucket.size(), 17u);  // 16 default bounds and +Inf
  EXPECT_EQ(Bucket(*slow, 0.1), 0u);
  EXPECT_EQ(Bucket(*slow, 0.15), 0u);
  EXPECT_EQ(Bucket(*slow, 0.2), 1u);
  EXPECT_EQ(Bucket(*slow, 0.4), 1u);
  EXPECT_EQ(Bucket(*slow, 0.5), 2u);
  EXPECT_EQ(Bucket(*slow, std::numeric_limits<double>::infinity()), 2u);
  const auto* slow_upstream = HistogramOf(families, "topdog_exporter_gateway_upstream_response_duration_seconds",
                                          Hist("GET", "/api/slow", "2xx"));
  ASSERT_NE(slow_upstream, nullptr);
  EXPECT_EQ(slow_upstream->sample_count, 2u);
  EXPECT_DOUBLE_EQ(slow_upstream->sample_sum, 0.574);
  EXPECT_EQ(Bucket(*slow_upstream, 0.15), 0u);
  EXPECT_EQ(Bucket(*slow_upstream, 0.2), 1u);
  EXPECT_EQ(Bucket(*slow_upstream, 0.5), 2u);

  // nginx answered /healthz itself: no upstream histogram; 0.000 s falls in the first bucket.
  const auto* healthz =
      HistogramOf(families, "topdog_exporter_gateway_request_duration_seconds", Hist("GET", "/healthz", "2xx"));
  ASSERT_NE(healthz, nullptr);
  EXPECT_EQ(Bucket(*healthz, 0.005), 2u);
  EXPECT_EQ(HistogramOf(families, "topdog_exporter_gateway_upstream_response_duration_seconds",
                        Hist("GET", "/healthz", "2xx")),
            nullptr);
  // Retries: one observation per request (the tries summed), not per try.
  const auto* retry = HistogramOf(families, "topdog_exporter_gateway_upstream_response_duration_seconds",
                                  Hist("GET", "/retry/ping", "2xx"));
  ASSERT_NE(retry, nullptr);
  EXPECT_EQ(retry->sample_count, 3u);
  // Status classes split one route's latency: 200 and 499 (the client left).
  for (const char* status_class : {"2xx", "4xx"}) {
    const auto* cafe = HistogramOf(families, "topdog_exporter_gateway_request_duration_seconds",
                                   Hist("GET", "/api/caf\xC3\xA9/\xE2\x9C\x93/:id", status_class));
    ASSERT_NE(cafe, nullptr) << status_class;
    EXPECT_EQ(cafe->sample_count, 1u);
  }
  EXPECT_EQ(testing::SampleCount(families, "topdog_exporter_gateway_request_duration_seconds"), 33u);
}

TEST_F(AccessLogCollectorTest, EveryLogFormatOfTheSameRequestsGivesTheSameCounts) {
  const auto combined = Requests(CollectFixture("combined_times.log"));
  ASSERT_EQ(Total(combined), kCapturedRequests);

  std::filesystem::remove(log_);
  Append(log_, "");
  options_.accesslog.format = "ingress";
  EXPECT_EQ(Requests(CollectFixture("upstreaminfo.log")), combined);

  // The same format spelled as its log_format string.
  std::filesystem::remove(log_);
  Append(log_, "");
  options_.accesslog.format =
      "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" "
      "\"$http_user_agent\" $request_time $upstream_response_time";
  EXPECT_EQ(Requests(CollectFixture("combined_times.log")), combined);

  // JSON with $host: the same counts once summed over hosts.
  std::filesystem::remove(log_);
  Append(log_, "");
  options_.accesslog.format = "json";
  const auto json = Requests(CollectFixture("json_vars.log"));
  EXPECT_EQ(WithoutHost(json), WithoutHost(combined));
  std::map<std::string, double> by_host;
  for (const auto& [labels, value] : json) by_host[labels.at("host")] += value;
  EXPECT_EQ(by_host,
            (std::map<std::string, double>{{"127.0.0.1", 36}, {"shop.example.com", 8}, {"other.example.org", 1}}));
  EXPECT_EQ(json.at(Req("GET", "/api/users/:id", "200", "other.example.org")), 1);
}

TEST_F(AccessLogCollectorTest, JsonFieldMapReadsOtherKeys) {
  options_.accesslog.format = "json";
  // ingress-nginx's documented JSON example: other keys, $uri (decoded) instead of $request.
  options_.accesslog.json_fields = "host=vhost,request=,method=method,path=path,bytes=bytes_sent";
  const Families families = CollectFixture("json_default_escape.log");
  EXPECT_EQ(LineCount(families, "parsed"), kCapturedRequests);
  const auto requests = Requests(families);
  EXPECT_EQ(Total(requests), kCapturedRequests);
  EXPECT_EQ(requests.at(Req("GET", "/api/slow", "200", "127.0.0.1")), 2);
  // $uri is percent-decoded by nginx: the route holds the UTF-8, not %C3%A9.
  EXPECT_EQ(requests.at(Req("GET", "/api/caf\xC3\xA9/\xE2\x9C\x93", "200", "127.0.0.1")), 1);
}

TEST_F(AccessLogCollectorTest, CriContainerLogsCountLikeThePlainFile) {
  options_.accesslog.format = "ingress";
  const auto plain = Requests(CollectFixture("upstreaminfo.log"));

  for (const std::string cri : {"auto", "true"}) {
    SCOPED_TRACE(cri);
    std::filesystem::remove(log_);
    Append(log_, "");
    options_.accesslog.cri = cri;
    const Families families = CollectFixture("cri_upstreaminfo.log");
    EXPECT_EQ(Requests(families), plain);
    EXPECT_EQ(LineCount(families, "parsed"), kCapturedRequests);  // the two long lines rejoined from P records
    EXPECT_EQ(LineCount(families, "ignored"), 9);                 // stderr: nginx's error log
    EXPECT_EQ(LineCount(families, "unparsable"), 0);
  }
  // Told the lines are plain: the error log's records and the pieces of the two split lines are junk (the
  // other records parse, their CRI prefix taken for part of $remote_addr).
  std::filesystem::remove(log_);
  Append(log_, "");
  options_.accesslog.cri = "false";
  const Families plain_records = CollectFixture("cri_upstreaminfo.log");
  EXPECT_EQ(LineCount(plain_records, "unparsable"), 9 + 3 + 2);
  EXPECT_EQ(LineCount(plain_records, "parsed"), 45 - 2);
}

TEST_F(AccessLogCollectorTest, RoutesBeyondTheLimitAreCountedAsOther) {
  options_.accesslog.max_routes = 3;
  const Families families = CollectFixture("combined_times.log");
  const auto requests = Requests(families);
  EXPECT_EQ(Total(requests), kCapturedRequests);
  // The first three routes seen keep their label: /healthz (2), /stub_status (3), /api/users/:id (6 + 1 HEAD).
  EXPECT_EQ(requests.at(Req("GET", "/healthz", "200")), 2);
  EXPECT_EQ(requests.at(Req("GET", "/stub_status", "200")), 3);
  EXPECT_EQ(requests.at(Req("HEAD", "/api/users/:id", "200")), 1);
  EXPECT_EQ(requests.at(Req("GET", "other", "200")), 18);
  EXPECT_EQ(requests.at(Req("none", "none", "400")), 1);  // no path: not a route, never dropped
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_routes_dropped_total"), 45 - 12 - 1);
  double other = 0;
  for (const auto& [labels, value] : requests) other += labels.at("route") == "other" ? value : 0;
  EXPECT_EQ(other, 45 - 12 - 1);
}

TEST_F(AccessLogCollectorTest, LabelSetsStayBoundedWhateverTheInput) {
  // 20 000 requests for distinct routes and hosts (a scanner), made from a captured line.
  options_.accesslog.format = "json";
  options_.accesslog.max_routes = 10;
  options_.accesslog.max_hosts = 2;
  auto collector = New();
  ASSERT_TRUE(collector);
  const std::string line = ReadFixtureLines("gateway/json_vars.log")[3];  // GET /api/users/12345, host 127.0.0.1
  std::string text;
  const std::string status = "\"status\":200";
  for (int i = 0; i < 20000; ++i) {
    std::string variant = line;
    const std::string suffix = std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i);
    variant.replace(variant.find("/api/users/12345"), 16, "/scan/x" + suffix);
    variant.replace(variant.find("/api/users/12345"), 16, "/scan/x" + suffix);
    variant.replace(variant.find("\"host\":\"127.0.0.1\""), 18, "\"host\":\"h" + suffix + ".example\"");
    variant.replace(variant.find(status), status.size(), "\"status\":" + std::to_string(200 + i % 7));
    text += variant + "\n";
  }
  Append(log_, text);
  const Families families = CollectOk(*collector);
  EXPECT_EQ(LineCount(families, "parsed"), 20000);
  const auto requests = Requests(families);
  EXPECT_EQ(Total(requests), 20000);
  // 10 routes x 3 hosts (2 + other) x 7 statuses could make 210 label sets; the cap is 20 per route (200),
  // then one overflow set per status.
  EXPECT_LE(requests.size(), 200u + 7u);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_routes_dropped_total"), 20000 - 10);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_hosts_dropped_total"), 20000 - 2);
}

TEST_F(AccessLogCollectorTest, JunkAndOverlongLinesAreCountedAndNeverFatal) {
  auto collector = New();
  ASSERT_TRUE(collector);
  const auto lines = ReadFixtureLines("gateway/combined_times.log");
  std::string junk;
  for (int i = 0; i < 256; ++i) {
    if (i != '\n') junk += static_cast<char>(i);
  }
  std::string huge = lines[3];
  huge.insert(huge.find(" HTTP/1.1"), std::string(1 << 20, 'x'));  // a 1 MB line
  Append(log_, junk + "\n" + huge + "\n" + lines[3].substr(0, 40) + "\n" + lines[3] + "\n");
  const Families families = CollectOk(*collector);
  EXPECT_EQ(LineCount(families, "parsed"), 1);
  EXPECT_EQ(LineCount(families, "unparsable"), 2);
  EXPECT_EQ(LineCount(families, "too_long"), 1);
  EXPECT_EQ(Requests(families), (std::map<LabelMap, double>{{Req("GET", "/api/users/:id", "200"), 1}}));
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_log_read_bytes_total"),
            junk.size() + huge.size() + 40 + lines[3].size() + 4);
}

TEST_F(AccessLogCollectorTest, MissingConfiguredFileFailsOnlyThisCollectorUntilItIsBack) {
  std::filesystem::remove(log_);
  auto collector = New();
  ASSERT_TRUE(collector);
  CollectOk(*collector);  // within the grace period (a rotation in progress)
  system_.now.unix_seconds += 6;
  auto failed = collector->Collect();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(failed.error().message, HasSubstr(log_ + ": No such file or directory"));
  Append(log_, ReadFixtureLines("gateway/combined_times.log")[3] + "\n");
  const Families families = CollectOk(*collector);
  EXPECT_EQ(LineCount(families, "parsed"), 1);  // a file that appears later is read from its start
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_log_files", {{"state", "following"}}), 1);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_log_files", {{"state", "missing"}}), 0);
}

TEST_F(AccessLogCollectorTest, AMissingFileKeepsTheOtherFilesRequestsServed) {
  const std::string absent = dir_ + "/absent.log";
  options_.accesslog.paths = {log_, absent};
  auto collector = New();
  ASSERT_TRUE(collector);
  Append(log_, ReadFixtureLines("gateway/combined_times.log")[3] + "\n");
  system_.now.unix_seconds += 6;
  auto failed = collector->Collect();
  ASSERT_FALSE(failed);
  EXPECT_THAT(failed.error().message, HasSubstr(absent));
  const Families kept = collector->TakeFamiliesOnError();
  EXPECT_EQ(LineCount(kept, "parsed"), 1);
  EXPECT_EQ(Total(Requests(kept)), 1);
  EXPECT_EQ(SampleValue(kept, "topdog_exporter_gateway_log_files", {{"state", "missing"}}), 1);
  EXPECT_TRUE(collector->TakeFamiliesOnError().empty());  // taken once
}

TEST_F(AccessLogCollectorTest, GlobWithoutMatchesIsNotAnError) {
  // A node without an ingress pod: nothing to follow is normal for a DaemonSet.
  options_.accesslog.paths = {dir_ + "/ingress-nginx-*.log"};
  auto collector = New();
  ASSERT_TRUE(collector);
  system_.now.unix_seconds += 60;
  const Families families = CollectOk(*collector);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_log_files", {{"state", "following"}}), 0);
  Append(dir_ + "/ingress-nginx-abc.log", ReadFixtureLines("gateway/combined_times.log")[3] + "\n");
  EXPECT_EQ(LineCount(CollectOk(*collector), "parsed"), 1);
}

TEST_F(AccessLogCollectorTest, RestartWithPositionFileCountsEachLineOnce) {
  options_.accesslog.position_file = dir_ + "/positions";
  const auto lines = ReadFixtureLines("gateway/combined_times.log");
  double parsed_first = 0;
  {
    auto first = New();
    ASSERT_TRUE(first);
    Append(log_, Join(lines, 0, 20));
    parsed_first = LineCount(CollectOk(*first), "parsed");  // what Prometheus saw of this process
    EXPECT_EQ(parsed_first, 20);
    Append(log_, Join(lines, 20, 30));  // read by nobody's scrape before the restart
  }
  auto second = New();
  ASSERT_TRUE(second);
  EXPECT_EQ(LineCount(CollectOk(*second), "parsed"), 10);
  Append(log_, Join(lines, 30, kCapturedRequests));
  const Families families = CollectOk(*second);
  EXPECT_EQ(parsed_first + LineCount(families, "parsed"), kCapturedRequests);
  EXPECT_EQ(SampleValue(families, "topdog_exporter_gateway_position_file_errors_total"), 0);

  // Without a position file a restart starts at the end: nothing is counted twice, later lines are.
  options_.accesslog.position_file = "";
  auto third = New();
  ASSERT_TRUE(third);
  EXPECT_EQ(LineCount(CollectOk(*third), "parsed"), 0);
}

TEST_F(AccessLogCollectorTest, CustomBucketsAreUsed) {
  options_.accesslog.buckets = {0.1, 0.5};
  const Families families = CollectFixture("combined_times.log");
  const auto* slow =
      HistogramOf(families, "topdog_exporter_gateway_request_duration_seconds", Hist("GET", "/api/slow", "2xx"));
  ASSERT_NE(slow, nullptr);
  ASSERT_EQ(slow->bucket.size(), 3u);
  EXPECT_EQ(Bucket(*slow, 0.1), 0u);
  EXPECT_EQ(Bucket(*slow, 0.5), 2u);
}

TEST_F(AccessLogCollectorTest, NodeNameLabelsEveryRequestSeries) {
  options_.gateway.node_name = "pool-a-xk2j9";
  const Families families = CollectFixture("combined_times.log");
  const auto requests = Requests(families);
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(Total(requests), kCapturedRequests);
  for (const auto& [labels, value] : requests) {
    auto node = labels.find("node");
    ASSERT_NE(node, labels.end());
    EXPECT_EQ(node->second, "pool-a-xk2j9");
  }
  LabelMap slow_labels = Hist("GET", "/api/slow", "2xx");
  slow_labels["node"] = "pool-a-xk2j9";
  const auto* slow = HistogramOf(families, "topdog_exporter_gateway_request_duration_seconds", slow_labels);
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->sample_count, 2u);
}

TEST_F(AccessLogCollectorTest, RouteRulesGiveFixedRoutes) {
  options_.accesslog.route_rules = {"/static/=/static/*", "/api/long/=/api/long"};
  const auto requests = Requests(CollectFixture("combined_times.log"));
  EXPECT_EQ(requests.at(Req("GET", "/static/*", "200")), 1);
  EXPECT_EQ(requests.at(Req("GET", "/static/*", "404")), 1);
  EXPECT_EQ(requests.at(Req("GET", "/api/long", "414")), 1);
}

TEST_F(AccessLogCollectorTest, RecycledResultGivesTheSameFamilies) {
  auto render = [](const Families& families) {
    std::string out;
    exposition::AppendFamilies(out, families, exposition::Format::kText004);
    return out;
  };
  auto collector = New();
  ASSERT_TRUE(collector);
  Append(log_, ReadFixture("gateway/combined_times.log"));
  Families first = CollectOk(*collector);
  const std::string expected = render(first);
  collector->Recycle(std::move(first));
  EXPECT_EQ(render(CollectOk(*collector)), expected);
}

TEST_F(AccessLogCollectorTest, BadFlagsAreStartUpErrors) {
  auto error = [&](auto change) {
    CollectorOptions options = options_;
    change(options.accesslog);
    auto collector = NewAccessLogCollector(CollectorDeps{reader_, system_, options});
    return collector ? std::string() : collector.error().message;
  };
  EXPECT_THAT(error([](AccessLogOptions& o) { o.paths.clear(); }), HasSubstr("--collector.accesslog.path"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.format = "common"; }), HasSubstr("--collector.accesslog.format"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.format = "$status $request"; }), HasSubstr("request_time"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.json_fields = "status=code"; }), HasSubstr("format=json only"));
  EXPECT_THAT(error([](AccessLogOptions& o) {
                o.format = "json";
                o.json_fields = "colour=x";
              }),
              HasSubstr("unknown field"));
  EXPECT_THAT(error([](AccessLogOptions& o) {
                o.format = "json";
                o.json_fields = "status";
              }),
              HasSubstr("field=key"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.cri = "maybe"; }), HasSubstr("--collector.accesslog.cri"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.buckets = {0.5, 0.1}; }), HasSubstr("increasing"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.buckets = {}; }), HasSubstr("buckets"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.route_rules = {"/static/"}; }), HasSubstr("prefix=route"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.route_rules = {"=/x"}; }), HasSubstr("empty prefix"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.max_routes = 0; }), HasSubstr("max-routes"));
  EXPECT_THAT(error([](AccessLogOptions& o) { o.poll_interval = "soon"; }), HasSubstr("poll-interval"));
  EXPECT_EQ(error([](AccessLogOptions&) {}), "");
}

}  // namespace
}  // namespace topdog::exporter
