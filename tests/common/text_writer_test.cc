#include "common/exposition/text_writer.h"

#include <cmath>
#include <charconv>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace topdog::exposition {
namespace {

std::string Go(double v) {
  std::string out;
  AppendGoFloat(out, v);
  return out;
}

// Expected strings are node_exporter 1.5.0 output lines quoted in reference/exporter.md section 3 and
// Go's strconv rules ('g', shortest, %e below 1e-4 and from 1e6).
TEST(AppendGoFloatTest, UsesExponentFromOneMillion) {
  EXPECT_EQ(Go(38014093), "3.8014093e+07");
  EXPECT_EQ(Go(1631329), "1.631329e+06");
  EXPECT_EQ(Go(1e6), "1e+06");
  EXPECT_EQ(Go(999999), "999999");
}

TEST(AppendGoFloatTest, KeepsBinaryNoiseOfShortestRoundTrip) {
  EXPECT_EQ(Go(14.036781000000001), "14.036781000000001");
  EXPECT_EQ(Go(1.4999999999999999e-05), "1.4999999999999999e-05");
  EXPECT_EQ(Go(0.1 + 0.2), "0.30000000000000004");
}

TEST(AppendGoFloatTest, UsesExponentBelowOneTenThousandth) {
  EXPECT_EQ(Go(0.0001), "0.0001");
  EXPECT_EQ(Go(0.00001), "1e-05");
  EXPECT_EQ(Go(-0.000012), "-1.2e-05");
}

TEST(AppendGoFloatTest, WritesSpecialValuesLikeExpfmt) {
  EXPECT_EQ(Go(0.0), "0");
  EXPECT_EQ(Go(-0.0), "0");
  EXPECT_EQ(Go(1), "1");
  EXPECT_EQ(Go(-1), "-1");
  EXPECT_EQ(Go(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(Go(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(Go(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(Go(1.8446744073709552e+19), "1.8446744073709552e+19");
}

// Oracle for the integer fast path: Go's rule applied to std::to_chars' shortest scientific digits.
std::string GoReference(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string sci(buf, end);
  int exp = std::stoi(sci.substr(sci.find('e') + 1));
  if (exp < -4 || exp >= 6) return sci;
  auto [fend, fec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, fend);
}

TEST(AppendGoFloatTest, IntegerFastPathMatchesShortestRoundTrip) {
  std::vector<double> values;
  for (double v = 1; v < 9007199254740992.0; v = v * 3 + 1) values.push_back(v);
  for (double p = 1; p < 1e16; p *= 10) {
    values.push_back(p);
    values.push_back(p - 1);
    values.push_back(p + 1);
    values.push_back(p * 7);
  }
  values.push_back(9007199254740991.0);
  values.push_back(9007199254740992.0);  // first value outside the fast path
  values.push_back(2460000);             // node_filefd_maximum-like: 2.46e+06
  for (double v : std::vector<double>(values)) values.push_back(-v);
  for (double v : values) {
    if (v != 0) {  // zero has its own expfmt rule
      EXPECT_EQ(Go(v), GoReference(v)) << v;
    }
  }
}

prometheus::MetricFamily CounterFamily() {
  prometheus::MetricFamily family;
  family.name = "node_cpu_seconds_total";
  family.help = "Seconds the CPUs spent in each mode.";
  family.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric metric;
  metric.label = {{"cpu", "0"}, {"mode", "idle"}};
  metric.counter.value = 115.55;
  family.metric.push_back(metric);
  return family;
}

TEST(AppendFamiliesTest, WritesTextFormat004) {
  std::string out;
  AppendFamilies(out, {CounterFamily()}, Format::kText004);
  EXPECT_EQ(out,
            "# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.\n"
            "# TYPE node_cpu_seconds_total counter\n"
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 115.55\n");
}

TEST(AppendFamiliesTest, WritesOpenMetricsCounterWithoutTotalInFamilyName) {
  std::string out;
  AppendFamilies(out, {CounterFamily()}, Format::kOpenMetrics100);
  FinishOpenMetrics(out);
  EXPECT_EQ(out,
            "# HELP node_cpu_seconds Seconds the CPUs spent in each mode.\n"
            "# TYPE node_cpu_seconds counter\n"
            "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 115.55\n"
            "# EOF\n");
}

TEST(AppendFamiliesTest, EscapesLabelValuesAndHelp) {
  prometheus::MetricFamily family;
  family.name = "node_uname_info";
  family.help = "back\\slash\nnewline";
  family.type = prometheus::MetricType::Gauge;
  prometheus::ClientMetric metric;
  metric.label = {{"version", "#1 \"SMP\" \\ x\ny"}};
  metric.gauge.value = 1;
  family.metric.push_back(metric);
  std::string out;
  AppendFamilies(out, {family}, Format::kText004);
  EXPECT_EQ(out,
            "# HELP node_uname_info back\\\\slash\\nnewline\n"
            "# TYPE node_uname_info gauge\n"
            "node_uname_info{version=\"#1 \\\"SMP\\\" \\\\ x\\ny\"} 1\n");
}

TEST(AppendFamiliesTest, OpenMetricsCounterWithoutTotalKeepsItsNameAsUnknown) {
  prometheus::MetricFamily family;
  family.name = "nginx_connections_accepted";
  family.help = "Accepted client connections";
  family.type = prometheus::MetricType::Counter;
  prometheus::ClientMetric metric;
  metric.counter.value = 12;
  family.metric.push_back(metric);
  std::string out;
  AppendFamilies(out, {family}, Format::kOpenMetrics100);
  EXPECT_EQ(out,
            "# HELP nginx_connections_accepted Accepted client connections\n"
            "# TYPE nginx_connections_accepted unknown\n"
            "nginx_connections_accepted 12.0\n");
  std::string text;
  AppendFamilies(text, {family}, Format::kText004);
  EXPECT_EQ(text,
            "# HELP nginx_connections_accepted Accepted client connections\n"
            "# TYPE nginx_connections_accepted counter\n"
            "nginx_connections_accepted 12\n");
}

TEST(AppendFamiliesTest, OpenMetricsIntegralValuesGetDecimalPoint) {
  prometheus::MetricFamily family;
  family.name = "node_load1";
  family.help = "1m load average.";
  family.type = prometheus::MetricType::Untyped;
  prometheus::ClientMetric metric;
  metric.untyped.value = 3;
  family.metric.push_back(metric);
  std::string out;
  AppendFamilies(out, {family}, Format::kOpenMetrics100);
  EXPECT_EQ(out, "# HELP node_load1 1m load average.\n# TYPE node_load1 unknown\nnode_load1 3.0\n");
}

TEST(AppendFamiliesTest, SkipsFamiliesWithoutSamples) {
  prometheus::MetricFamily family;
  family.name = "node_empty";
  family.help = "x";
  std::string out;
  AppendFamilies(out, {family}, Format::kText004);
  EXPECT_EQ(out, "");
}

TEST(AppendFamiliesTest, WritesHistogramBucketsSumAndCount) {
  prometheus::MetricFamily family;
  family.name = "req_seconds";
  family.help = "h";
  family.type = prometheus::MetricType::Histogram;
  prometheus::ClientMetric metric;
  metric.histogram.sample_count = 3;
  metric.histogram.sample_sum = 0.75;
  metric.histogram.bucket = {{1, 0.1}, {3, 1}};
  family.metric.push_back(metric);
  std::string out;
  AppendFamilies(out, {family}, Format::kText004);
  EXPECT_EQ(out,
            "# HELP req_seconds h\n# TYPE req_seconds histogram\n"
            "req_seconds_bucket{le=\"0.1\"} 1\nreq_seconds_bucket{le=\"1\"} 3\nreq_seconds_bucket{le=\"+Inf\"} 3\n"
            "req_seconds_sum 0.75\nreq_seconds_count 3\n");
}

TEST(ValidityTest, Utf8FollowsRfc3629) {
  EXPECT_TRUE(IsValidUtf8("plain /mnt/data"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));             // Latin-1
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));             // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));         // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));     // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));             // truncated
}

TEST(ValidityTest, NamesFollowThePrometheusGrammar) {
  EXPECT_TRUE(IsValidMetricName("node_memory_Active_anon_bytes"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_FALSE(IsValidMetricName("node_vmstat_pg{x"));
  EXPECT_FALSE(IsValidMetricName("0abc"));
  EXPECT_TRUE(IsValidLabelName("device_error"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName(""));
}

// Accept header Prometheus 2.42 sends (scrape/scrape.go, scrapeAcceptHeader).
constexpr char kPrometheusAccept[] =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

TEST(NegotiateFormatTest, PrefersOpenMetricsWhenPrometheusAsksForIt) {
  EXPECT_EQ(NegotiateFormat(kPrometheusAccept), Format::kOpenMetrics100);
}

TEST(NegotiateFormatTest, FallsBackToText) {
  EXPECT_EQ(NegotiateFormat(""), Format::kText004);
  EXPECT_EQ(NegotiateFormat("*/*"), Format::kText004);
  EXPECT_EQ(NegotiateFormat("text/plain;version=0.0.4"), Format::kText004);
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text;q=0.2,text/plain;q=0.9"), Format::kText004);
  EXPECT_EQ(NegotiateFormat("application/openmetrics-text;q=0"), Format::kText004);
}

}  // namespace
}  // namespace topdog::exposition
