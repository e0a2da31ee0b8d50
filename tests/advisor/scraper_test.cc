// The embedded mode over FakeHttpClient serving pages captured from a real topdog-exporter: rates, resets, gaps,
// bad pages, auth; the history source's resampling; the snapshot file. Expected values are read from the
// captured pages line by line here, not through the text parser the scraper uses.
#include "advisor/io/scraper.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "advisor/io/embedded_source.h"
#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

namespace fs = std::filesystem;

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/exposition/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Captured 10 s apart from one topdog-exporter (tests/fixtures/PROVENANCE.md).
const std::string& PageT0() {
  static const std::string page = ReadFixture("topdog_exporter_0.1.0_live_t0.prom");
  return page;
}
const std::string& PageT10() {
  static const std::string page = ReadFixture("topdog_exporter_0.1.0_live_t10.prom");
  return page;
}

// The sample lines of `metric` containing every string of `filters`, as "name{labels}" -> value, read with
// plain string operations (independently of ParseTextFormat).
std::map<std::string, double> Samples(const std::string& page, const std::string& metric,
                                      const std::vector<std::string>& filters = {}) {
  std::map<std::string, double> samples;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(metric, 0) != 0 ||
        (line.size() > metric.size() && line[metric.size()] != '{' && line[metric.size()] != ' ')) {
      continue;
    }
    bool wanted = true;
    for (const std::string& filter : filters) wanted = wanted && line.find(filter) != std::string::npos;
    if (!wanted) continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

size_t SampleLines(const std::string& page) {
  size_t count = 0;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) count += !line.empty() && line[0] != '#';
  return count;
}

double Sum(const std::map<std::string, double>& samples) {
  double sum = 0;
  for (const auto& [series, value] : samples) sum += value;
  return sum;
}

// Sum over series of the increase from `before` to `after` with the counter reset rule, per second.
double RateSum(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
               double seconds) {
  double sum = 0;
  for (const auto& [series, value] : after) {
    const double previous = before.at(series);
    sum += (value >= previous ? value - previous : value) / seconds;
  }
  return sum;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

constexpr double kT = 1'800'000'000;  // round times: a recent epoch, on a 15 s and a 60 s boundary

HistoryGeometry Geometry(double step_seconds, size_t points = 100, size_t max_series = 10) {
  return HistoryGeometry{step_seconds, points, max_series};
}

const EmbeddedSeries kCpuUser{"cpu_user", "node_cpu_seconds_total", {{"mode", "user"}}, true};
const EmbeddedSeries kCpuAll{"cpu_all", "node_cpu_seconds_total", {}, true};
const EmbeddedSeries kLoad{"load1", "node_load1", {}, false};

std::vector<ScrapeTarget> TwoTargets() {
  return {{"a", "http://a:9100/metrics", "", "", ""}, {"b", "http://b:9100/metrics", "", "", ""}};
}

ScraperOptions Sequential() {
  ScraperOptions options;
  options.parallel = false;  // FakeHttpClient is not thread-safe
  return options;
}

std::unique_ptr<Scraper> MakeScraper(FakeHttpClient& http, SharedHistory& history, std::vector<EmbeddedSeries> series,
                                     std::vector<ScrapeTarget> targets = TwoTargets()) {
  auto scraper = Scraper::Create(http, std::move(targets), std::move(series), history, Sequential());
  EXPECT_TRUE(scraper) << scraper.error().message;
  return std::move(*scraper);
}

// The value recorded in the step holding `time_seconds`, NaN for a gap or outside the ring.
double ValueAt(SharedHistory& history, const std::string& key, double time_seconds) {
  auto series = history.With([&](HistoryStore& store) { return store.Get(key); });
  if (!series) return std::nan("");
  const double index = std::floor((time_seconds - series->start_seconds) / series->step_seconds);
  if (index < 0 || index >= static_cast<double>(series->values.size())) return std::nan("");
  return series->values[static_cast<size_t>(index)];
}

bool HasKey(SharedHistory& history, const std::string& key) {
  return history.With([&](HistoryStore& store) { return store.Get(key).has_value(); });
}

TEST(ScraperTest, CounterKeyIsTheSummedRateBetweenTwoPagesAndGaugeKeyTheSummedValue) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://b:9100/metrics", 200, PageT10());
  http.Answer("GET http://b:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  auto scraper = MakeScraper(http, history, {kCpuUser, kCpuAll, kLoad});

  ScrapeReport first = scraper->ScrapeOnce(kT);
  EXPECT_TRUE(first.complete);
  ASSERT_EQ(first.targets.size(), 2u);
  EXPECT_TRUE(first.targets[0].up);
  EXPECT_EQ(first.targets[0].name, "a");
  EXPECT_EQ(first.targets[0].samples, SampleLines(PageT0()));
  EXPECT_EQ(first.targets[1].samples, SampleLines(PageT10()));
  EXPECT_GE(first.targets[0].duration_seconds, 0);
  // A counter's first sample gives no rate: only the gauge is recorded.
  EXPECT_EQ(first.keys_recorded, 1u);
  EXPECT_FALSE(HasKey(history, "cpu_user"));
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT),
                  Sum(Samples(PageT0(), "node_load1")) + Sum(Samples(PageT10(), "node_load1")));

  ScrapeReport second = scraper->ScrapeOnce(kT + 15);
  EXPECT_TRUE(second.complete);
  EXPECT_EQ(second.keys_recorded, 3u);
  auto user_t0 = Samples(PageT0(), "node_cpu_seconds_total", {"mode=\"user\""});
  auto user_t10 = Samples(PageT10(), "node_cpu_seconds_total", {"mode=\"user\""});
  ASSERT_EQ(user_t0.size(), 2u);  // two CPUs
  // Target a moved from t0 to t10, b stayed at t10 (rate 0): the rate over the 15 s between rounds.
  const double expected_user = RateSum(user_t0, user_t10, 15);
  EXPECT_GT(expected_user, 0);
  EXPECT_FLOAT_EQ(ValueAt(history, "cpu_user", kT + 15), expected_user);
  auto all_t0 = Samples(PageT0(), "node_cpu_seconds_total");
  auto all_t10 = Samples(PageT10(), "node_cpu_seconds_total");
  ASSERT_EQ(all_t0.size(), 16u);
  EXPECT_FLOAT_EQ(ValueAt(history, "cpu_all", kT + 15), RateSum(all_t0, all_t10, 15));
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT + 15), 2 * Sum(Samples(PageT10(), "node_load1")));

  ASSERT_EQ(http.requests.size(), 4u);
  EXPECT_EQ(http.requests[0].method, "GET");
  EXPECT_EQ(http.requests[0].url, "http://a:9100/metrics");
  EXPECT_EQ(http.requests[1].url, "http://b:9100/metrics");
  EXPECT_EQ(http.requests[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"Accept", "text/plain;version=0.0.4"}}));
}

TEST(ScraperTest, CounterDecreaseCountsAsARestartFromZero) {
  const std::string restarted = Replace(PageT10(), "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 12830.69",
                                        "node_cpu_seconds_total{cpu=\"0\",mode=\"user\"} 3.5");
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  http.Answer("GET http://a:9100/metrics", 200, restarted);
  SharedHistory history(Geometry(15));
  auto scraper = MakeScraper(http, history, {kCpuUser}, {{"a", "http://a:9100/metrics", "", "", ""}});
  scraper->ScrapeOnce(kT);
  scraper->ScrapeOnce(kT + 30);  // a round skipped: the rate is over 30 s
  auto before = Samples(PageT0(), "node_cpu_seconds_total", {"mode=\"user\""});
  auto after = Samples(restarted, "node_cpu_seconds_total", {"mode=\"user\""});
  const double expected = (3.5 + (after.at("node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}") -
                                  before.at("node_cpu_seconds_total{cpu=\"1\",mode=\"user\"}"))) /
                          30;
  EXPECT_FLOAT_EQ(ValueAt(history, "cpu_user", kT + 30), expected);
  EXPECT_FLOAT_EQ(ValueAt(history, "cpu_user", kT + 30), RateSum(before, after, 30));
}

TEST(ScraperTest, AFailedTargetLeavesAGapAndItsNextRateSpansTheOutage) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://b:9100/metrics", 200, PageT0());
  http.Answer("GET http://b:9100/metrics", 503, "exporter restarting");
  http.Answer("GET http://b:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  auto scraper = MakeScraper(http, history, {kCpuUser, kLoad});

  ASSERT_TRUE(scraper->ScrapeOnce(kT).complete);
  ScrapeReport failed = scraper->ScrapeOnce(kT + 15);
  EXPECT_FALSE(failed.complete);
  EXPECT_EQ(failed.keys_recorded, 0u);
  EXPECT_TRUE(failed.targets[0].up);
  EXPECT_FALSE(failed.targets[1].up);
  EXPECT_EQ(failed.targets[1].error, "HTTP status 503");
  ScrapeReport recovered = scraper->ScrapeOnce(kT + 30);
  EXPECT_TRUE(recovered.complete);
  EXPECT_EQ(recovered.keys_recorded, 2u);

  // The failed round is a gap for every key, even the gauge target a answered.
  EXPECT_FALSE(std::isnan(ValueAt(history, "load1", kT)));
  EXPECT_TRUE(std::isnan(ValueAt(history, "load1", kT + 15)));
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT + 30), 2 * Sum(Samples(PageT10(), "node_load1")));
  // a: t0 -> t10 over the last 15 s; b kept its t0 state through the outage: t0 -> t10 over 30 s.
  auto before = Samples(PageT0(), "node_cpu_seconds_total", {"mode=\"user\""});
  auto after = Samples(PageT10(), "node_cpu_seconds_total", {"mode=\"user\""});
  EXPECT_FLOAT_EQ(ValueAt(history, "cpu_user", kT + 30), RateSum(before, after, 15) + RateSum(before, after, 30));
}

TEST(ScraperTest, GarbagePageFailsOnlyThatTargetWithTheParsersLineNumber) {
  std::string garbage = PageT10();
  garbage.insert(garbage.find('\n', garbage.find('\n') + 1) + 1, "node_load1 {broken\n");  // line 3
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://b:9100/metrics", 200, garbage);
  SharedHistory history(Geometry(15));
  auto scraper = MakeScraper(http, history, {kLoad});
  ScrapeReport report = scraper->ScrapeOnce(kT);
  EXPECT_FALSE(report.complete);
  EXPECT_TRUE(report.targets[0].up);
  EXPECT_EQ(report.targets[0].error, "");
  EXPECT_FALSE(report.targets[1].up);
  EXPECT_EQ(report.targets[1].error.rfind("bad page: line 3: ", 0), 0u) << report.targets[1].error;
  EXPECT_FALSE(HasKey(history, "load1"));
}

TEST(ScraperTest, TransportErrorsAndOversizedPagesFailTheTarget) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics",
              Result<HttpResponse>(tl::unexpected(Error{ErrorKind::kUnavailable, "connection refused"})));
  http.Answer("GET http://b:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  ScraperOptions options = Sequential();
  options.max_body_bytes = PageT10().size() - 1;
  auto scraper = Scraper::Create(http, TwoTargets(), {kLoad}, history, options);
  ASSERT_TRUE(scraper);
  ScrapeReport report = (*scraper)->ScrapeOnce(kT);
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.targets[0].error, "unavailable: connection refused");
  EXPECT_NE(report.targets[1].error.find("over the limit"), std::string::npos) << report.targets[1].error;
}

TEST(ScraperTest, DuplicatedSeriesOnAPageFailsTheTarget) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT10() + "node_load1 7\n");
  SharedHistory history(Geometry(15));
  auto scraper = MakeScraper(http, history, {kLoad}, {{"a", "http://a:9100/metrics", "", "", ""}});
  ScrapeReport report = scraper->ScrapeOnce(kT);
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.targets[0].error, "bad page: duplicate series node_load1{}");
}

TEST(ScraperTest, VanishedSeriesIsForgottenAndAReturningOneWaitsForItsSecondSample) {
  const std::string lo_line = "node_network_receive_bytes_total{device=\"lo\"} 9.067319389e+09\n";
  const std::string without_lo = Replace(PageT10(), lo_line, "");
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  http.Answer("GET http://a:9100/metrics", 200, without_lo);
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  const EmbeddedSeries received{"rx", "node_network_receive_bytes_total", {}, true};
  auto scraper = MakeScraper(http, history, {received}, {{"a", "http://a:9100/metrics", "", "", ""}});
  auto before = Samples(PageT0(), "node_network_receive_bytes_total");
  auto after = Samples(without_lo, "node_network_receive_bytes_total");
  ASSERT_EQ(after.size(), 3u);

  scraper->ScrapeOnce(kT);
  // lo gone: the key is the rate of the series still there.
  EXPECT_EQ(scraper->ScrapeOnce(kT + 15).keys_recorded, 1u);
  EXPECT_FLOAT_EQ(ValueAt(history, "rx", kT + 15), RateSum(before, after, 15));
  // lo back: its first sample again, so no value rather than an undercount...
  EXPECT_EQ(scraper->ScrapeOnce(kT + 30).keys_recorded, 0u);
  EXPECT_TRUE(std::isnan(ValueAt(history, "rx", kT + 30)));
  // ...and a rate once it has two (unchanged pages: 0).
  EXPECT_EQ(scraper->ScrapeOnce(kT + 45).keys_recorded, 1u);
  EXPECT_EQ(ValueAt(history, "rx", kT + 45), 0);
}

TEST(ScraperTest, EmptyMatchValueMeansLabelAbsentAndNoMatchRecordsNothing) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  const EmbeddedSeries lo{"rx_lo", "node_network_receive_bytes_total", {{"device", "lo"}}, false};
  const EmbeddedSeries no_zone{"rx_nozone", "node_network_receive_bytes_total", {{"zone", ""}}, false};
  const EmbeddedSeries no_device{"rx_nodevice", "node_network_receive_bytes_total", {{"device", ""}}, false};
  auto scraper = MakeScraper(http, history, {lo, no_zone, no_device}, {{"a", "http://a:9100/metrics", "", "", ""}});
  EXPECT_EQ(scraper->ScrapeOnce(kT).keys_recorded, 2u);
  EXPECT_FLOAT_EQ(ValueAt(history, "rx_lo", kT), 9.067319389e+09);
  EXPECT_FLOAT_EQ(ValueAt(history, "rx_nozone", kT), Sum(Samples(PageT10(), "node_network_receive_bytes_total")));
  EXPECT_FALSE(HasKey(history, "rx_nodevice"));  // every sample has a device: no value, not 0
}

TEST(ScraperTest, RoundsWithinOneHistoryStepAverage) {
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT0());   // load1 1.56
  http.Answer("GET http://a:9100/metrics", 200, PageT10());  // load1 1.85
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://a:9100/metrics", 503, "");
  http.Answer("GET http://a:9100/metrics", 200, PageT0());
  SharedHistory history(Geometry(60));
  auto scraper = MakeScraper(http, history, {kLoad}, {{"a", "http://a:9100/metrics", "", "", ""}});
  const double t0 = Sum(Samples(PageT0(), "node_load1")), t10 = Sum(Samples(PageT10(), "node_load1"));
  scraper->ScrapeOnce(kT);
  scraper->ScrapeOnce(kT + 15);
  scraper->ScrapeOnce(kT + 30);
  scraper->ScrapeOnce(kT + 45);  // failed: the step keeps the mean of the three recorded rounds
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT), (t0 + t10 + t10) / 3);
  scraper->ScrapeOnce(kT + 60);  // next step: starts afresh
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT + 60), t0);
  EXPECT_FLOAT_EQ(ValueAt(history, "load1", kT), (t0 + t10 + t10) / 3);
}

TEST(ScraperTest, SendsBearerAndBasicAuthFromFilesAndFailsWithoutReadingThem) {
  const fs::path dir = fs::path(testing::TempDir()) / ("scraper_auth_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "token") << "s3cret-token\n";
  std::ofstream(dir / "password") << "pass";
  FakeHttpClient http;
  http.Answer("GET http://a:9100/metrics", 200, PageT10());
  http.Answer("GET http://b:9100/metrics", 200, PageT10());
  http.Answer("GET http://c:9100/metrics", 200, PageT10());
  SharedHistory history(Geometry(15));
  std::vector<ScrapeTarget> targets = {
      {"a", "http://a:9100/metrics", (dir / "token").string(), "", ""},
      {"b", "http://b:9100/metrics", "", "user", (dir / "password").string()},
      {"c", "http://c:9100/metrics", (dir / "missing").string(), "", ""},
  };
  auto scraper = MakeScraper(http, history, {kLoad}, targets);
  ScrapeReport report = scraper->ScrapeOnce(kT);
  ASSERT_EQ(http.requests.size(), 2u);  // c's token is unreadable: no request without credentials
  EXPECT_EQ(http.requests[0].headers.at(1),
            (std::pair<std::string, std::string>{"Authorization", "Bearer s3cret-token"}));
  EXPECT_EQ(http.requests[1].headers.at(1),
            (std::pair<std::string, std::string>{"Authorization", "Basic dXNlcjpwYXNz"}));
  EXPECT_FALSE(report.targets[2].up);
  EXPECT_EQ(report.targets[2].error.rfind("bearer token: ", 0), 0u) << report.targets[2].error;
  fs::remove_all(dir);
}

TEST(ScraperTest, RefusesConfigsItCannotHonour) {
  const HistoryGeometry geometry = Geometry(15, 10, 1);
  EXPECT_TRUE(ValidateScrapeConfig(TwoTargets(), {kLoad}, geometry));
  auto expect_rejected = [&](std::vector<ScrapeTarget> targets, std::vector<EmbeddedSeries> series,
                             const std::string& part) {
    auto valid = ValidateScrapeConfig(targets, series, geometry);
    ASSERT_FALSE(valid) << part;
    EXPECT_EQ(valid.error().kind, ErrorKind::kRejected);
    EXPECT_NE(valid.error().message.find(part), std::string::npos) << valid.error().message;
  };
  expect_rejected({}, {kLoad}, "no targets");
  expect_rejected({{"a", "http://a/", "", "", ""}, {"a", "http://b/", "", "", ""}}, {kLoad}, "repeated");
  expect_rejected({{"a", "ftp://a/", "", "", ""}}, {kLoad}, "http://");
  expect_rejected({{"a", "http://a/", "", "user", ""}}, {kLoad}, "password file");
  expect_rejected({{"a", "http://a/", "t", "user", "p"}}, {kLoad}, "exclusive");
  expect_rejected(TwoTargets(), {kLoad, kCpuUser}, "at most 1");
  expect_rejected(TwoTargets(), {{"k", "", {}, false}}, "names no metric");
  FakeHttpClient http;
  SharedHistory history(geometry);
  EXPECT_FALSE(Scraper::Create(http, {}, {kLoad}, history, Sequential()));
}

Series Ring(double start_seconds, double step_seconds, std::vector<double> values) {
  return Series{start_seconds, step_seconds, std::move(values)};
}

TEST(ResampleRingTest, SameStepReadsTheSlotHoldingEachPoint) {
  const double nan = std::nan("");
  Series ring = Ring(600, 60, {1, 2, nan, 4});  // slots 10..13
  auto out = ResampleRing(ring, 630, 900, 60);  // points 630 690 750 810 870
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(out->start_seconds, 630);
  EXPECT_EQ(out->step_seconds, 60);
  ASSERT_EQ(out->values.size(), 5u);
  EXPECT_EQ(out->values[0], 1);
  EXPECT_EQ(out->values[1], 2);
  EXPECT_TRUE(std::isnan(out->values[2]));
  EXPECT_EQ(out->values[3], 4);
  EXPECT_TRUE(std::isnan(out->values[4]));  // after the newest slot
  auto before = ResampleRing(ring, 0, 120, 60);
  ASSERT_TRUE(before);
  EXPECT_EQ(before->values.size(), 3u);
  EXPECT_EQ(before->ObservedCount(), 0u);
}

TEST(ResampleRingTest, MultipleStepIsTheMeanOfObservedSlotsEndingAtThePoint) {
  const double nan = std::nan("");
  Series ring = Ring(0, 15, {1, 2, 3, nan, 5, nan, nan, nan});  // slots 0..7
  auto out = ResampleRing(ring, 45, 105, 60);                   // points 45 (slots 0..3), 105 (slots 4..7)
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->values.size(), 2u);
  EXPECT_DOUBLE_EQ(out->values[0], 2);
  EXPECT_DOUBLE_EQ(out->values[1], 5);
  auto partial = ResampleRing(ring, 15, 15, 60);  // slots -2..1: only 0 and 1 exist
  ASSERT_TRUE(partial);
  EXPECT_DOUBLE_EQ(partial->values.at(0), 1.5);
}

TEST(ResampleRingTest, RefusesStepsThatAreNotMultiplesAndBadRanges) {
  Series ring = Ring(0, 60, {1, 2});
  for (auto [start, end, step] : std::vector<std::tuple<double, double, double>>{
           {0, 600, 90}, {0, 600, 30}, {600, 0, 60}, {0, std::nan(""), 60}, {0, 1e12, 60}}) {
    auto out = ResampleRing(ring, start, end, step);
    ASSERT_FALSE(out) << start << " " << end << " " << step;
    EXPECT_EQ(out.error().kind, ErrorKind::kBadData);
  }
}

TEST(EmbeddedSourceTest, FetchesAKeyAndReportsUnknownOnesAsNotFound) {
  SharedHistory history(Geometry(60, 10, 4));
  history.With([](HistoryStore& store) {
    ASSERT_TRUE(store.Add("rps", 600, 10));
    ASSERT_TRUE(store.Add("rps", 660, 20));
    ASSERT_TRUE(store.Add("rps", 720, 30));
  });
  EmbeddedSource source(history);
  EXPECT_STREQ(source.Name(), "embedded");
  auto series = source.Fetch({"ignored{promql}", "rps"}, 600, 720, 60);
  ASSERT_TRUE(series) << series.error().message;
  EXPECT_EQ(series->values, (std::vector<double>{10, 20, 30}));
  auto coarse = source.Fetch({"", "rps"}, 660, 720, 120);
  ASSERT_TRUE(coarse);
  EXPECT_EQ(coarse->values, (std::vector<double>{15}));  // slots 10 and 11
  auto unknown = source.Fetch({"", "nope"}, 600, 720, 60);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);
  auto no_key = source.Fetch({"rate(x[5m])", ""}, 600, 720, 60);
  ASSERT_FALSE(no_key);
  EXPECT_EQ(no_key.error().kind, ErrorKind::kNotFound);
  auto odd_step = source.Fetch({"", "rps"}, 600, 720, 45);
  ASSERT_FALSE(odd_step);
  EXPECT_EQ(odd_step.error().kind, ErrorKind::kBadData);
  EXPECT_NE(odd_step.error().message.find("rps"), std::string::npos);
}

class SnapshotTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("snapshot_" + std::to_string(::getpid()) + "_" +
                                           testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "history.bin").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A store filled through a real scrape of the captured pages, so the snapshot holds realistic values.
  static void Fill(SharedHistory& history) {
    FakeHttpClient http;
    http.Answer("GET http://a:9100/metrics", 200, PageT0());
    http.Answer("GET http://a:9100/metrics", 200, PageT10());
    auto scraper = MakeScraper(http, history, {kCpuUser, kLoad}, {{"a", "http://a:9100/metrics", "", "", ""}});
    for (int round = 0; round < 6; ++round) scraper->ScrapeOnce(kT + 15 * round);
  }

  fs::path dir_;
  std::string path_;
};

void ExpectSameSeries(const std::optional<Series>& a, const std::optional<Series>& b) {
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->start_seconds, b->start_seconds);
  ASSERT_EQ(a->values.size(), b->values.size());
  for (size_t i = 0; i < a->values.size(); ++i) {
    EXPECT_TRUE(a->values[i] == b->values[i] || (std::isnan(a->values[i]) && std::isnan(b->values[i]))) << i;
  }
}

TEST_F(SnapshotTest, RoundTripsThroughAFileAndRestoresIntoTheSharedHistory) {
  SharedHistory history(Geometry(15));
  Fill(history);
  ASSERT_TRUE(SaveSnapshot(history, path_));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  auto loaded = LoadSnapshot(path_);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->Keys(), (std::vector<std::string>{"cpu_user", "load1"}));
  ExpectSameSeries(loaded->Get("load1"), history.With([](HistoryStore& s) { return s.Get("load1"); }));

  SharedHistory restarted(Geometry(15));
  RestoreOutcome outcome = RestoreHistory(restarted, path_, {"cpu_user", "load1"});
  EXPECT_EQ(outcome.state, RestoreOutcome::State::kRestored);
  EXPECT_EQ(outcome.series_restored, 2u);
  EXPECT_TRUE(outcome.warnings.empty());
  for (const char* key : {"cpu_user", "load1"}) {
    ExpectSameSeries(restarted.With([&](HistoryStore& s) { return s.Get(key); }),
                     history.With([&](HistoryStore& s) { return s.Get(key); }));
  }
  // Saving again replaces the file (the rename over an existing snapshot).
  ASSERT_TRUE(SaveSnapshot(restarted, path_));
  EXPECT_TRUE(LoadSnapshot(path_));
}

TEST_F(SnapshotTest, MissingFileIsAFreshStart) {
  auto loaded = LoadSnapshot(path_);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kNotFound);
  SharedHistory history(Geometry(15));
  RestoreOutcome outcome = RestoreHistory(history, path_, {"load1"});
  EXPECT_EQ(outcome.state, RestoreOutcome::State::kFresh);
  EXPECT_TRUE(outcome.warnings.empty());
}

TEST_F(SnapshotTest, CorruptFileIsBadDataAndSetAsideOnRestore) {
  SharedHistory history(Geometry(15));
  Fill(history);
  ASSERT_TRUE(SaveSnapshot(history, path_));
  fs::resize_file(path_, fs::file_size(path_) - 7);  // a crash mid-write without the atomic rename
  auto loaded = LoadSnapshot(path_);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().kind, ErrorKind::kBadData);
  EXPECT_NE(loaded.error().message.find(path_), std::string::npos);

  SharedHistory restarted(Geometry(15));
  RestoreOutcome outcome = RestoreHistory(restarted, path_, {"cpu_user", "load1"});
  EXPECT_EQ(outcome.state, RestoreOutcome::State::kSetAside);
  ASSERT_EQ(outcome.warnings.size(), 2u);
  EXPECT_NE(outcome.warnings[0].find("checksum"), std::string::npos) << outcome.warnings[0];
  EXPECT_EQ(outcome.warnings[1], "corrupt history snapshot kept as " + path_ + ".corrupt");
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(fs::exists(path_ + ".corrupt"));
  EXPECT_EQ(restarted.With([](HistoryStore& s) { return s.SeriesCount(); }), 0u);
}

TEST_F(SnapshotTest, SavingIntoAMissingDirectoryIsNotFound) {
  SharedHistory history(Geometry(15));
  auto saved = SaveSnapshot(history, (dir_ / "no" / "history.bin").string());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().kind, ErrorKind::kNotFound);
}

TEST(AdoptSnapshotTest, KeepsConfiguredKeysAndTheNewestPointsOfAShorterRing) {
  HistoryStore old_store(60, 10, 5);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(old_store.Add("kept", 6000 + 60.0 * i, i));
    ASSERT_TRUE(old_store.Add("gone", 6000 + 60.0 * i, -i));
  }
  AdoptedHistory adopted = AdoptSnapshot(old_store, Geometry(60, 4, 5), {"kept", "new"});
  EXPECT_EQ(adopted.series_restored, 1u);
  EXPECT_EQ(adopted.store.Keys(), (std::vector<std::string>{"kept"}));
  auto kept = adopted.store.Get("kept");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->start_seconds, 6000 + 60.0 * 6);
  EXPECT_EQ(kept->values, (std::vector<double>{6, 7, 8, 9}));
  ASSERT_EQ(adopted.warnings.size(), 2u);
  EXPECT_NE(adopted.warnings[0].find("only the newest"), std::string::npos) << adopted.warnings[0];
  EXPECT_NE(adopted.warnings[1].find("1 series no longer configured"), std::string::npos) << adopted.warnings[1];
}

TEST(AdoptSnapshotTest, ADifferentStepStartsEmptyAndTooManyKeysAreCut) {
  HistoryStore old_store(60, 10, 5);
  ASSERT_TRUE(old_store.Add("a", 6000, 1));
  ASSERT_TRUE(old_store.Add("b", 6000, 2));
  AdoptedHistory other_step = AdoptSnapshot(old_store, Geometry(30, 10, 5), {"a", "b"});
  EXPECT_EQ(other_step.store.SeriesCount(), 0u);
  EXPECT_EQ(other_step.series_restored, 0u);
  ASSERT_EQ(other_step.warnings.size(), 1u);
  EXPECT_NE(other_step.warnings[0].find("differs"), std::string::npos);

  AdoptedHistory cut = AdoptSnapshot(old_store, Geometry(60, 10, 1), {"a", "b"});
  EXPECT_EQ(cut.store.Keys(), (std::vector<std::string>{"a"}));
  ASSERT_EQ(cut.warnings.size(), 1u);
  EXPECT_NE(cut.warnings[0].find("maximum of 1"), std::string::npos) << cut.warnings[0];
}

}  // namespace
}  // namespace topdog::advisor
