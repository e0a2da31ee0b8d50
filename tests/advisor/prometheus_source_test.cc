#include "advisor/io/prometheus_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>
#include <vector>

#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kRange[] = "GET http://prom:9090/api/v1/query_range?";
constexpr char kInstant[] = "GET http://prom:9090/api/v1/query?";

// Answers captured from Debian's Prometheus 2.42 (tests/fixtures/PROVENANCE.md).
std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/prometheus/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::vector<PromSeries> FixtureSeries(const std::string& name) {
  auto answer = ParseQueryRange(Fixture(name));
  EXPECT_TRUE(answer) << answer.error().message;
  return answer ? answer->series : std::vector<PromSeries>{};
}

std::string GoFloat(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

// A query_range answer in Prometheus's shape with the samples of `series` within [from, to] (a chunk's share
// of a captured answer), optionally with warnings.
std::string Matrix(const std::vector<PromSeries>& series, double from = -INFINITY, double to = INFINITY,
                   const std::vector<std::string>& warnings = {}) {
  std::string out = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  bool first_series = true;
  for (const PromSeries& one : series) {
    std::string values;
    for (const Sample& sample : one.samples) {
      if (sample.time_seconds < from || sample.time_seconds > to) continue;
      values += (values.empty() ? "" : ",") + std::string("[") + FormatPrometheusSeconds(sample.time_seconds) + ",\"" +
                GoFloat(sample.value) + "\"]";
    }
    if (values.empty()) continue;  // Prometheus leaves out a series without points in the range
    std::string labels;
    for (const auto& [name, value] : one.labels)
      labels += (labels.empty() ? "" : ",") + ("\"" + name + "\":\"" + value + "\"");
    out += (first_series ? "" : ",") + ("{\"metric\":{" + labels + "},\"values\":[" + values + "]}");
    first_series = false;
  }
  out += "]}";
  if (!warnings.empty()) {
    out += ",\"warnings\":[";
    for (size_t i = 0; i < warnings.size(); ++i) out += (i ? ",\"" : "\"") + warnings[i] + "\"";
    out += "]";
  }
  return out + "}";
}

std::string PrometheusError(const std::string& type, const std::string& error) {
  return R"({"status":"error","errorType":")" + type + R"(","error":")" + error + "\"}";
}

std::string HeaderOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "(absent)";
}

class PrometheusSourceTest : public ::testing::Test {
 protected:
  PrometheusSource Source(PrometheusOptions options = {}) {
    if (options.url.empty()) options.url = "http://prom:9090";
    return PrometheusSource(client_, std::move(options), [this](milliseconds wait) { waits_.push_back(wait); });
  }
  std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = ::testing::TempDir() + "/prometheus_source_test_" + name;
    std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    return path;
  }

  FakeHttpClient client_;
  std::vector<milliseconds> waits_;
};

TEST_F(PrometheusSourceTest, FetchSendsOneQueryRangeAndPlacesSamplesOnTheRequestedGrid) {
  client_.Answer(kRange, 200, Fixture("range_ok.json"));  // node_load1 at ...723, 728, 733, 738
  auto series = Source().Fetch({"node_load1", ""}, 1795784713, 1795784743, 5);
  ASSERT_TRUE(series) << series.error().message;
  ASSERT_EQ(client_.requests.size(), 1u);
  EXPECT_EQ(client_.requests[0].method, "GET");
  EXPECT_EQ(client_.requests[0].url,
            "http://prom:9090/api/v1/query_range?query=node_load1&start=1795784713&end=1795784743&step=5");
  EXPECT_EQ(HeaderOf(client_.requests[0], "Accept"), "application/json");
  EXPECT_EQ(HeaderOf(client_.requests[0], "Authorization"), "(absent)");
  EXPECT_EQ(series->start_seconds, 1795784713);
  EXPECT_EQ(series->step_seconds, 5);
  ASSERT_EQ(series->values.size(), 7u);  // 713 ... 743: both ends are grid points
  EXPECT_TRUE(std::isnan(series->values[0]));
  EXPECT_TRUE(std::isnan(series->values[1]));
  EXPECT_EQ(series->values[2], 0.4);
  EXPECT_EQ(series->values[3], 0.37);
  EXPECT_EQ(series->values[4], 0.34);
  EXPECT_EQ(series->values[5], 0.31);
  EXPECT_TRUE(std::isnan(series->values[6]));
  EXPECT_TRUE(waits_.empty());
}

TEST_F(PrometheusSourceTest, FetchTreatsNaNAndInfValuesAsGapsAndIgnoresSamplesOffTheRange) {
  PromSeries one{{{"job", "topdog"}}, {{90, 7}, {100, NAN}, {110, 1.5}, {120, INFINITY}, {130, -INFINITY}, {140, 2}}};
  client_.Answer(kRange, 200, Matrix({one}));
  auto series = Source().Fetch({"x", ""}, 100, 130, 10);
  ASSERT_TRUE(series) << series.error().message;
  ASSERT_EQ(series->values.size(), 4u);
  EXPECT_TRUE(std::isnan(series->values[0]));
  EXPECT_EQ(series->values[1], 1.5);
  EXPECT_TRUE(std::isnan(series->values[2]));
  EXPECT_TRUE(std::isnan(series->values[3]));
  EXPECT_EQ(series->ObservedCount(), 1u);
}

TEST_F(PrometheusSourceTest, FetchNeedsExactlyOneSeries) {
  client_.Answer(kRange, 200, Fixture("range_rate.json"));  // the idle rate of each CPU: two series
  auto several = Source().Fetch({"rate(node_cpu_seconds_total{mode=\"idle\"}[5s])", ""}, 1795784723, 1795784738, 5);
  ASSERT_FALSE(several);
  EXPECT_EQ(several.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(several.error().message, HasSubstr("query returns 2 series"));
  EXPECT_THAT(several.error().message, HasSubstr("aggregate it (sum by ...)"));
  EXPECT_THAT(several.error().message, HasSubstr("rate(node_cpu_seconds_total{mode=\"idle\"}[5s])"));

  FakeHttpClient empty;
  empty.Answer(kRange, 200, Matrix({}));
  PrometheusSource source(empty, {.url = "http://prom:9090"}, [](milliseconds) {});
  auto none = source.Fetch({"absent_metric", ""}, 0, 60, 15);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(none.error().message, HasSubstr("query returned no series"));
}

TEST_F(PrometheusSourceTest, LongRangesAreSplitAndChunksMergedPerLabelSet) {
  // The captured two-CPU answer (samples at ...723, 728, 733, 738) served in two chunks of two points; the second
  // chunk lists the CPUs in the other order and adds a CPU the first chunk did not have.
  std::vector<PromSeries> cpus = FixtureSeries("range_rate.json");
  ASSERT_EQ(cpus.size(), 2u);
  PromSeries hot_plugged{{{"cpu", "2"}, {"instance", "127.0.0.1:19401"}, {"job", "topdog"}, {"mode", "idle"}},
                         {{1795784733, 0.5}, {1795784738, 0.25}}};
  client_.Answer(std::string(kRange) + "query=q&start=1795784723&", 200, Matrix(cpus, 1795784723, 1795784728));
  client_.Answer(std::string(kRange) + "query=q&start=1795784733&", 200,
                 Matrix({hot_plugged, cpus[1], cpus[0]}, 1795784733, 1795784738));
  PrometheusOptions options;
  options.max_points_per_query = 2;
  auto merged = Source(options).QueryRange("q", 1795784723, 1795784738, 5);
  ASSERT_TRUE(merged) << merged.error().message;
  ASSERT_EQ(client_.requests.size(), 2u);
  EXPECT_EQ(client_.requests[0].url,
            "http://prom:9090/api/v1/query_range?query=q&start=1795784723&end=1795784728&step=5");
  EXPECT_EQ(client_.requests[1].url,
            "http://prom:9090/api/v1/query_range?query=q&start=1795784733&end=1795784738&step=5");
  ASSERT_EQ(merged->size(), 3u);  // ordered by labels: cpu 0, 1, 2
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*merged)[i].labels, cpus[i].labels);
    ASSERT_EQ((*merged)[i].samples.size(), cpus[i].samples.size());
    for (size_t j = 0; j < cpus[i].samples.size(); ++j) {
      EXPECT_EQ((*merged)[i].samples[j].time_seconds, cpus[i].samples[j].time_seconds);
      EXPECT_EQ((*merged)[i].samples[j].value, cpus[i].samples[j].value);
    }
  }
  EXPECT_EQ((*merged)[2].labels.at("cpu"), "2");
  EXPECT_EQ((*merged)[2].samples.size(), 2u);
}

TEST_F(PrometheusSourceTest, ChunkedFetchEqualsOneQueryFetch) {
  const std::vector<PromSeries> load = FixtureSeries("range_ok.json");
  FakeHttpClient whole;
  whole.Answer(kRange, 200, Matrix(load));
  auto expected = PrometheusSource(whole, {.url = "http://prom:9090"}, [](milliseconds) {
                  }).Fetch({"node_load1", ""}, 1795784713, 1795784743, 5);
  ASSERT_TRUE(expected) << expected.error().message;

  // 7 points at 3 per query: [713, 723], [728, 738], [743, 743].
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784713&", 200, Matrix(load, 1795784713, 1795784723));
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784728&", 200, Matrix(load, 1795784728, 1795784738));
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784743&", 200, Matrix(load, 1795784743, 1795784743));
  PrometheusOptions options;
  options.max_points_per_query = 3;
  auto chunked = Source(options).Fetch({"node_load1", ""}, 1795784713, 1795784743, 5);
  ASSERT_TRUE(chunked) << chunked.error().message;
  ASSERT_EQ(client_.requests.size(), 3u);
  EXPECT_THAT(client_.requests[2].url, HasSubstr("start=1795784743&end=1795784743&step=5"));
  EXPECT_EQ(chunked->start_seconds, expected->start_seconds);
  ASSERT_EQ(chunked->values.size(), expected->values.size());
  for (size_t i = 0; i < expected->values.size(); ++i) {
    if (std::isnan(expected->values[i])) {
      EXPECT_TRUE(std::isnan(chunked->values[i])) << i;
    } else {
      EXPECT_EQ(chunked->values[i], expected->values[i]) << i;
    }
  }
  EXPECT_EQ(chunked->ObservedCount(), 4u);
}

TEST_F(PrometheusSourceTest, AnyFailedChunkFailsTheWholeRange) {
  const std::vector<PromSeries> load = FixtureSeries("range_ok.json");
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784723&", 200, Matrix(load));
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784733&", 500,
                 PrometheusError("internal", "unexpected error: storage closed"));
  PrometheusOptions options;
  options.max_points_per_query = 2;
  auto failed = Source(options).Fetch({"node_load1", ""}, 1795784723, 1795784738, 5);
  ASSERT_FALSE(failed);  // never the first half on its own
  EXPECT_EQ(failed.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(failed.error().message, HasSubstr("chunk 2/2 [1795784733, 1795784738]"));
  EXPECT_THAT(failed.error().message, HasSubstr("HTTP 500 (internal): unexpected error: storage closed"));
  EXPECT_THAT(failed.error().message, HasSubstr("after 3 attempts"));
  EXPECT_EQ(client_.requests.size(), 4u);  // chunk 1 once, chunk 2 three times

  FakeHttpClient garbage;
  garbage.Answer(std::string(kRange) + "query=node_load1&start=1795784723&", 200, Matrix(load));
  garbage.Answer(std::string(kRange) + "query=node_load1&start=1795784733&", 200, "<html>bad gateway</html>");
  auto bad = PrometheusSource(garbage, {.url = "http://prom:9090", .max_points_per_query = 2}, [](milliseconds) {
             }).Fetch({"node_load1", ""}, 1795784723, 1795784738, 5);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(bad.error().message, HasSubstr("chunk 2/2"));
  EXPECT_EQ(garbage.requests.size(), 2u);  // a 200 with garbage is not retried
}

TEST_F(PrometheusSourceTest, WarningsInAnyChunkMakeAPartialAnswer) {
  const std::vector<PromSeries> load = FixtureSeries("range_ok.json");
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784723&", 200, Matrix(load));
  client_.Answer(std::string(kRange) + "query=node_load1&start=1795784733&", 200,
                 Matrix(load, -INFINITY, INFINITY, {"remote_read: store eu-1 unreachable"}));
  PrometheusOptions options;
  options.max_points_per_query = 2;
  auto partial = Source(options).Fetch({"node_load1", ""}, 1795784723, 1795784738, 5);
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(partial.error().message, HasSubstr("chunk 2/2"));
  EXPECT_THAT(partial.error().message, HasSubstr("partial answer: remote_read: store eu-1 unreachable"));
}

TEST_F(PrometheusSourceTest, BadQueryIsRejectedWithPrometheusMessageAndNotRetried) {
  client_.Answer(kRange, 400, Fixture("range_badquery.json"));
  auto rejected = Source().Fetch({"sum(", ""}, 0, 60, 15);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(
      rejected.error().message,
      HasSubstr("Prometheus rejected the query: HTTP 400 (bad_data): 1:5: parse error: unclosed left parenthesis"));
  EXPECT_THAT(rejected.error().message, HasSubstr("query_range \"sum(\" [0, 60] step 15"));
  EXPECT_EQ(client_.requests.size(), 1u);
  EXPECT_TRUE(waits_.empty());

  FakeHttpClient heavy;
  heavy.Answer(kRange, 422, PrometheusError("execution", "query processing would load too many samples into memory"));
  auto too_heavy = PrometheusSource(heavy, {.url = "http://prom:9090"}, [](milliseconds) {}).QueryRange("x", 0, 60, 15);
  ASSERT_FALSE(too_heavy);
  EXPECT_EQ(too_heavy.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(too_heavy.error().message, HasSubstr("(execution): query processing would load too many samples"));
  EXPECT_EQ(heavy.requests.size(), 1u);
}

TEST_F(PrometheusSourceTest, StatusesMapToErrorKinds) {
  struct Case {
    int status;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    ErrorKind kind;
    size_t attempts;
    std::string message;
  };
  const std::vector<Case> cases = {
      {401, "<html>401 Authorization Required</html>", {}, ErrorKind::kRejected, 1, "HTTP 401: not authorized"},
      {403, "forbidden", {}, ErrorKind::kRejected, 1, "HTTP 403: not authorized"},
      {404, "404 page not found", {}, ErrorKind::kRejected, 1, "HTTP 404: 404 page not found"},
      {429, "slow down", {{"retry-after", "1"}}, ErrorKind::kUnavailable, 3, "HTTP 429: slow down (after 3 attempts)"},
      {502, "<html>Bad Gateway</html>", {}, ErrorKind::kUnavailable, 3, "HTTP 502: <html>Bad Gateway</html>"},
      {503,
       PrometheusError("timeout", "query timed out in expression evaluation"),
       {},
       ErrorKind::kDeadlineExceeded,
       3,
       "HTTP 503 (timeout): query timed out in expression evaluation"},
      {302, "", {{"location", "/login"}}, ErrorKind::kBadData, 1, "unexpected HTTP 302: (empty body)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    FakeHttpClient client;
    client.Answer(kRange, c.status, c.body, c.headers);
    auto result =
        PrometheusSource(client, {.url = "http://prom:9090"}, [](milliseconds) {}).QueryRange("up", 0, 60, 15);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, c.kind) << result.error().message;
    EXPECT_THAT(result.error().message, HasSubstr(c.message));
    EXPECT_EQ(client.requests.size(), c.attempts);
  }
}

TEST_F(PrometheusSourceTest, ServerErrorsAreRetriedWithBackoffOrRetryAfter) {
  client_.Answer(kRange, 503, "Service Unavailable");
  auto down = Source().QueryRange("up", 0, 60, 15);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(client_.requests.size(), 3u);
  EXPECT_THAT(waits_, ElementsAre(milliseconds(500), milliseconds(1000)));  // RetryPolicy's default backoff

  FakeHttpClient limited;
  std::vector<milliseconds> waits;
  limited.Answer(kRange, 429, "", {{"retry-after", "7"}});
  PrometheusOptions options{.url = "http://prom:9090"};
  options.retry.attempts = 4;
  auto result = PrometheusSource(limited, options, [&waits](milliseconds wait) {
                  waits.push_back(wait);
                }).QueryRange("up", 0, 60, 15);
  ASSERT_FALSE(result);
  EXPECT_EQ(limited.requests.size(), 4u);
  EXPECT_THAT(waits, ElementsAre(milliseconds(7000), milliseconds(7000), milliseconds(7000)));
}

TEST_F(PrometheusSourceTest, StartingPrometheusIsRetriedUntilItAnswers) {
  // A Prometheus that has not finished replaying its WAL answers 503 "Service Unavailable" on the API.
  client_.Answer(kRange, 503, "Service Unavailable", {{"retry-after", "2"}});
  client_.Answer(kRange, 200, Fixture("range_ok.json"));
  auto series = Source().Fetch({"node_load1", ""}, 1795784723, 1795784738, 5);
  ASSERT_TRUE(series) << series.error().message;
  EXPECT_EQ(series->ObservedCount(), 4u);
  EXPECT_EQ(client_.requests.size(), 2u);
  EXPECT_EQ(client_.requests[0].url, client_.requests[1].url);
  EXPECT_THAT(waits_, ElementsAre(milliseconds(2000)));
}

TEST_F(PrometheusSourceTest, TransportErrorsAreRetriedThenReported) {
  client_.Answer(kRange, MakeError(ErrorKind::kDeadlineExceeded, "GET http://prom:9090/api/v1/query_range: timeout"));
  auto slow = Source().QueryRange("up", 0, 60, 15);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_THAT(slow.error().message, HasSubstr("timeout (after 3 attempts)"));
  EXPECT_EQ(client_.requests.size(), 3u);
  ASSERT_EQ(waits_.size(), 2u);  // jittered: within [backoff / 2, backoff]
  EXPECT_GE(waits_[0], milliseconds(250));
  EXPECT_LE(waits_[0], milliseconds(500));
  EXPECT_GE(waits_[1], milliseconds(500));
  EXPECT_LE(waits_[1], milliseconds(1000));
}

TEST_F(PrometheusSourceTest, BearerTokenIsSentAndReReadWhenTheFileChanges) {
  const std::string path = WriteFile("token", "first-token\n");
  client_.Answer(kRange, 200, Fixture("range_ok.json"));
  PrometheusOptions options;
  options.bearer_token_file = path;
  PrometheusSource source = Source(options);
  ASSERT_TRUE(source.QueryRange("up", 0, 60, 15));
  EXPECT_EQ(HeaderOf(client_.requests.back(), "Authorization"), "Bearer first-token");
  WriteFile("token", "the-rotated-token");  // another size: seen as changed whatever the mtime resolution
  ASSERT_TRUE(source.QueryRange("up", 0, 60, 15));
  EXPECT_EQ(HeaderOf(client_.requests.back(), "Authorization"), "Bearer the-rotated-token");

  // A refusal names neither token.
  client_.Answer(std::string(kRange) + "query=refused", 401, "token the-rotated-token is not valid");
  auto refused = source.QueryRange("refused", 0, 60, 15);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(refused.error().message, Not(HasSubstr("the-rotated-token")));
  EXPECT_THAT(refused.error().message, Not(HasSubstr("first-token")));
}

TEST_F(PrometheusSourceTest, BasicAuthSendsTheUserAndThePasswordFromItsFile) {
  client_.Answer(kRange, 200, Fixture("range_ok.json"));
  PrometheusOptions options;
  options.basic_user = "Aladdin";
  options.basic_password_file = WriteFile("password", "open sesame\n");
  ASSERT_TRUE(Source(options).QueryRange("up", 0, 60, 15));
  EXPECT_EQ(HeaderOf(client_.requests.back(), "Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");  // RFC 7617

  options.basic_password_file = ::testing::TempDir() + "/prometheus_source_test_no_such_file";
  auto missing = Source(options).QueryRange("up", 0, 60, 15);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(missing.error().message, HasSubstr("basic auth password"));
  EXPECT_EQ(client_.requests.size(), 1u);  // nothing sent without the password
}

TEST_F(PrometheusSourceTest, BearerAndBasicAuthTogetherAreAConfigurationError) {
  PrometheusOptions options;
  options.bearer_token_file = WriteFile("token2", "a-token");
  options.basic_user = "admin";
  auto both = Source(options).Query("up", 0);
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(both.error().message, HasSubstr("both a bearer token file and basic auth"));
  EXPECT_TRUE(client_.requests.empty());
}

TEST_F(PrometheusSourceTest, QueryEncodesThePromQLAndReadsTheVector) {
  client_.Answer(kInstant, 200, Fixture("instant.json"));
  auto samples = Source().Query("sum by (job) (rate(x{a=\"b c\"}[5m]))", 1795784738.402);
  ASSERT_TRUE(samples) << samples.error().message;
  ASSERT_EQ(client_.requests.size(), 1u);
  EXPECT_EQ(client_.requests[0].url,
            "http://prom:9090/api/v1/query?query=sum%20by%20%28job%29%20%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29"
            "&time=1795784738.402");
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ((*samples)[0].first.at("__name__"), "node_load1");
  EXPECT_EQ((*samples)[0].second.time_seconds, 1795784738.402);
  EXPECT_EQ((*samples)[0].second.value, 0.31);
}

TEST_F(PrometheusSourceTest, QueryErrorsCarryTheQueryAndTime) {
  client_.Answer(kInstant, 200, Fixture("range_ok.json"));  // a matrix, as `up[5m]` would answer
  auto matrix = Source().Query("up[5m]", 100);
  ASSERT_FALSE(matrix);
  EXPECT_EQ(matrix.error().kind, ErrorKind::kBadData);
  EXPECT_EQ(matrix.error().message,
            "prometheus query \"up[5m]\" at 100: query answer: resultType is matrix, not vector or scalar");

  FakeHttpClient partial;
  partial.Answer(kInstant, 200,
                 R"({"status":"success","data":{"resultType":"vector","result":[]},"warnings":["shard 2 down"]})");
  auto warned = PrometheusSource(partial, {.url = "http://prom:9090"}, [](milliseconds) {}).Query("up", 100);
  ASSERT_FALSE(warned);
  EXPECT_EQ(warned.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(warned.error().message, HasSubstr("partial answer: shard 2 down"));
}

TEST_F(PrometheusSourceTest, BaseUrlMayHaveAPathPrefixAndATrailingSlash) {
  FakeHttpClient client;
  client.Answer("GET https://example.test/prometheus/api/v1/query?", 200, Fixture("instant.json"));
  PrometheusSource source(client, {.url = "https://example.test/prometheus/"}, [](milliseconds) {});
  ASSERT_TRUE(source.Query("up", 1.5));
  EXPECT_EQ(client.requests[0].url, "https://example.test/prometheus/api/v1/query?query=up&time=1.5");
}

TEST_F(PrometheusSourceTest, BadRangesAreRejectedWithoutARequest) {
  PrometheusSource source = Source();
  for (auto [start, end, step] : std::vector<std::tuple<double, double, double>>{
           {60, 0, 15}, {0, 60, 0}, {0, 60, -1}, {NAN, 60, 15}, {0, INFINITY, 15}, {0, 1e9, 1}}) {
    auto result = source.Fetch({"up", ""}, start, end, step);
    ASSERT_FALSE(result) << start << " " << end << " " << step;
    EXPECT_EQ(result.error().kind, ErrorKind::kRejected);
  }
  auto no_query = source.Fetch({"", "embedded-key"}, 0, 60, 15);
  ASSERT_FALSE(no_query);
  EXPECT_EQ(no_query.error().kind, ErrorKind::kRejected);
  EXPECT_TRUE(client_.requests.empty());
}

TEST(FormatPrometheusSecondsTest, KeepsMillisecondsWithoutTrailingZeros) {
  EXPECT_EQ(FormatPrometheusSeconds(1795784723), "1795784723");
  EXPECT_EQ(FormatPrometheusSeconds(1795784738.402), "1795784738.402");
  EXPECT_EQ(FormatPrometheusSeconds(0.5), "0.5");
  EXPECT_EQ(FormatPrometheusSeconds(12.3456), "12.346");
  EXPECT_EQ(FormatPrometheusSeconds(-0.0001), "0");
  EXPECT_EQ(FormatPrometheusSeconds(-30), "-30");
}

TEST(ParseQueryTest, ReadsTheCapturedVector) {
  auto answer = ParseQuery(Fixture("instant.json"));
  ASSERT_TRUE(answer) << answer.error().message;
  ASSERT_EQ(answer->samples.size(), 1u);
  EXPECT_EQ(answer->samples[0].first.at("job"), "topdog");
  EXPECT_EQ(answer->samples[0].first.at("instance"), "127.0.0.1:19401");
  EXPECT_EQ(answer->samples[0].second.time_seconds, 1795784738.402);
  EXPECT_EQ(answer->samples[0].second.value, 0.31);
  EXPECT_TRUE(answer->warnings.empty());
}

TEST(ParseQueryTest, ScalarIsOneSampleWithoutLabels) {
  auto answer = ParseQuery(R"({"status":"success","data":{"resultType":"scalar","result":[1795784738.402,"NaN"]}})");
  ASSERT_TRUE(answer) << answer.error().message;
  ASSERT_EQ(answer->samples.size(), 1u);
  EXPECT_TRUE(answer->samples[0].first.empty());
  EXPECT_TRUE(std::isnan(answer->samples[0].second.value));
}

TEST(ParseQueryTest, OtherShapesAndErrorAnswersAreErrors) {
  auto error = ParseQuery(Fixture("range_badquery.json"));
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error().message,
            "query answer: status error (bad_data): 1:5: parse error: unclosed left parenthesis");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"status":"success","data":{"resultType":"string","result":[1,"x"]}})",
       "query answer: resultType is string, not vector or scalar"},
      {R"({"status":"success","data":{"result":[]}})", "query answer: resultType is missing, not vector or scalar"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]},)"
       R"({"metric":{},"value":[1,"2"]}]}})",
       "query answer: element 1: the same labels as an earlier element"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"}}]}})",
       "query answer: element 0 lacks metric or value"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})",
       "query answer: element 0: label a is not a string"},
      {R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1]}]}})",
       "query answer: element 0: a sample is not [time, \"value\"]"},
      {R"({"status":"success","data":{"resultType":"scalar","result":[1,"one"]}})",
       "query answer: scalar: value \"one\" is not a number"},
      // Fields of the wrong type are errors, not exceptions.
      {R"({"status":"error","errorType":1,"error":["x"]})", "query answer: status error (unknown): "},
      {R"({"status":"success","data":{"resultType":5,"result":[]}})",
       "query answer: resultType is missing, not vector or scalar"},
      {"", "query answer: not a JSON object"},
  };
  for (const auto& [body, message] : cases) {
    auto answer = ParseQuery(body);
    ASSERT_FALSE(answer) << body;
    EXPECT_EQ(answer.error().kind, ErrorKind::kBadData);
    EXPECT_EQ(answer.error().message, message) << body;
  }
  auto range_type = ParseQueryRange(R"({"status":"success","data":{"resultType":["matrix"],"result":[]}})");
  ASSERT_FALSE(range_type);
  EXPECT_EQ(range_type.error().message, "query_range answer: resultType is not matrix");
}

}  // namespace
}  // namespace topdog::advisor
