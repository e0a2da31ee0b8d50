// The embedded mode end to end: the Scraper over the real CurlHttpClient against two real topdog-exporter
// processes on 127.0.0.1. Every page the scraper received is recorded on the way, and the history must hold
// exactly the sums and rates those pages imply (read here line by line, not through the scraper's parser);
// one exporter is killed (a gap) and restarted on its port (its rate then spans the outage).
// The exporter binary: $TOPDOG_EXPORTER, else <build dir>/exporter/topdog-exporter next to this test's
// <build dir>/tests/; the test is skipped when there is none.
#include "advisor/io/scraper.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "advisor/io/embedded_source.h"
#include "advisor/io/http_client.h"
#include "tests/fakes/child_process.h"

namespace topdog::advisor {
namespace {

namespace fs = std::filesystem;

std::string ExporterPath() {
  if (const char* path = std::getenv("TOPDOG_EXPORTER"); path != nullptr && *path != '\0') return path;
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  if (error) return "";
  return (self.parent_path().parent_path() / "exporter" / "topdog-exporter").string();
}

// A topdog-exporter child bound to 127.0.0.1 (port 0: it picks one, read back from its "Listening on" log line).
class ExporterProcess {
 public:
  ExporterProcess(const std::string& binary, int port)
      : process_({binary, "--web.listen-address=127.0.0.1:" + std::to_string(port), "--collector.disable-defaults",
                  "--collector.cpu", "--collector.loadavg", "--collector.stat", "--collector.meminfo"}) {
    auto bound = process_.WaitForLine(std::regex(R"(msg="Listening on" address=127\.0\.0\.1:(\d+))"));
    if (bound) port_ = std::stoi(*bound);
  }
  int port() const { return port_; }  // 0 when it did not start
  const std::string& log() const { return process_.output(); }
  void Kill() { process_.Kill(); }

 private:
  ChildProcess process_;
  int port_ = 0;
};

// Passes requests to the real client and records every answer body per URL, in order (nullopt: failed).
class RecordingHttpClient : public HttpClient {
 public:
  explicit RecordingHttpClient(HttpClient& inner) : inner_(inner) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    Result<HttpResponse> response = inner_.Send(request);
    std::lock_guard<std::mutex> lock(mutex_);  // the scraper fetches targets in parallel
    bodies_[request.url].push_back(response && response->status == 200 ? std::optional(response->body) : std::nullopt);
    return response;
  }
  std::optional<std::string> Body(const std::string& url, size_t round) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto& bodies = bodies_[url];
    return round < bodies.size() ? bodies[round] : std::nullopt;
  }

 private:
  HttpClient& inner_;
  std::mutex mutex_;
  std::map<std::string, std::vector<std::optional<std::string>>> bodies_;
};

// "name{labels}" -> value of the sample lines of `metric`, read with string operations only.
std::map<std::string, double> Samples(const std::string& page, const std::string& metric) {
  std::map<std::string, double> samples;
  std::istringstream lines(page);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(metric, 0) != 0 || (line[metric.size()] != '{' && line[metric.size()] != ' ')) continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

double Sum(const std::map<std::string, double>& samples) {
  double sum = 0;
  for (const auto& [series, value] : samples) sum += value;
  return sum;
}

double RateSum(const std::map<std::string, double>& before, const std::map<std::string, double>& after,
               double seconds) {
  EXPECT_EQ(before.size(), after.size());
  double sum = 0;
  for (const auto& [series, value] : after) {
    const double previous = before.at(series);
    sum += (value >= previous ? value - previous : value) / seconds;
  }
  return sum;
}

constexpr double kT = 1'800'000'000;  // simulated round times, 15 s apart

TEST(EmbeddedScraperIntegrationTest, TwoRealExportersGapWhenOneDiesAndRateAcrossTheOutageAfterItReturns) {
  const std::string binary = ExporterPath();
  if (binary.empty() || access(binary.c_str(), X_OK) != 0) {
    GTEST_SKIP() << "no topdog-exporter at '" << binary << "' (set TOPDOG_EXPORTER)";
  }
  auto a = std::make_unique<ExporterProcess>(binary, 0);
  auto b = std::make_unique<ExporterProcess>(binary, 0);
  ASSERT_NE(a->port(), 0) << a->log();
  ASSERT_NE(b->port(), 0) << b->log();
  const int b_port = b->port();
  const std::string url_a = "http://127.0.0.1:" + std::to_string(a->port()) + "/metrics";
  const std::string url_b = "http://127.0.0.1:" + std::to_string(b_port) + "/metrics";

  HttpClientOptions http_options;
  http_options.connect_timeout = std::chrono::milliseconds(2000);
  http_options.timeout = std::chrono::milliseconds(10000);
  auto curl = CurlHttpClient::Create(http_options);
  ASSERT_TRUE(curl) << curl.error().message;
  RecordingHttpClient http(**curl);
  SharedHistory history(HistoryGeometry{15, 100, 10});
  const std::vector<EmbeddedSeries> series = {
      {"context_switches", "node_context_switches_total", {}, true},
      {"cpu", "node_cpu_seconds_total", {}, true},
      {"load1", "node_load1", {}, false},
  };
  auto scraper = Scraper::Create(http, {{"a", url_a, "", "", ""}, {"b", url_b, "", "", ""}}, series, history);
  ASSERT_TRUE(scraper) << scraper.error().message;  // parallel: CurlHttpClient is thread-safe

  auto page = [&](const std::string& url, size_t round) {
    auto body = http.Body(url, round);
    EXPECT_TRUE(body) << url << " round " << round;
    return body.value_or("");
  };
  auto value_at = [&](const std::string& key, double time_seconds) {
    auto ring = history.With([&](HistoryStore& store) { return store.Get(key); });
    if (!ring) return std::nan("");
    return ring->values[static_cast<size_t>((time_seconds - ring->start_seconds) / ring->step_seconds)];
  };

  // Round 0: gauges only (a counter's first sample has no rate).
  ScrapeReport report = (*scraper)->ScrapeOnce(kT);
  ASSERT_TRUE(report.complete) << report.targets[0].error << " / " << report.targets[1].error;
  EXPECT_EQ(report.keys_recorded, 1u);
  EXPECT_FLOAT_EQ(value_at("load1", kT),
                  Sum(Samples(page(url_a, 0), "node_load1")) + Sum(Samples(page(url_b, 0), "node_load1")));

  // Round 1: rates over the simulated 15 s, from exactly the pages the scraper got.
  report = (*scraper)->ScrapeOnce(kT + 15);
  ASSERT_TRUE(report.complete);
  EXPECT_EQ(report.keys_recorded, 3u);
  for (const char* metric : {"node_context_switches_total", "node_cpu_seconds_total"}) {
    const std::string key = metric == std::string("node_cpu_seconds_total") ? "cpu" : "context_switches";
    EXPECT_FLOAT_EQ(value_at(key, kT + 15),
                    RateSum(Samples(page(url_a, 0), metric), Samples(page(url_a, 1), metric), 15) +
                        RateSum(Samples(page(url_b, 0), metric), Samples(page(url_b, 1), metric), 15))
        << metric;
  }
  EXPECT_GT(value_at("context_switches", kT + 15), 0);  // the host did switch contexts between the scrapes
  EXPECT_FLOAT_EQ(value_at("load1", kT + 15),
                  Sum(Samples(page(url_a, 1), "node_load1")) + Sum(Samples(page(url_b, 1), "node_load1")));

  // Round 2: b is gone: nothing recorded, b reported down.
  b->Kill();
  report = (*scraper)->ScrapeOnce(kT + 30);
  EXPECT_FALSE(report.complete);
  EXPECT_EQ(report.keys_recorded, 0u);
  EXPECT_TRUE(report.targets[0].up);
  EXPECT_FALSE(report.targets[1].up);
  EXPECT_EQ(report.targets[1].error.rfind("unavailable: ", 0), 0u) << report.targets[1].error;

  // Round 3: b is back on its port; its counters (the host's) went on, its rate spans the 30 s since round 1.
  b = std::make_unique<ExporterProcess>(binary, b_port);
  ASSERT_EQ(b->port(), b_port) << b->log();
  report = (*scraper)->ScrapeOnce(kT + 45);
  ASSERT_TRUE(report.complete) << report.targets[1].error;
  EXPECT_EQ(report.keys_recorded, 3u);
  // b's round-2 request failed, so its pages are recorded as rounds 0, 1, (2: failed), 3.
  EXPECT_FALSE(http.Body(url_b, 2));
  for (const char* metric : {"node_context_switches_total", "node_cpu_seconds_total"}) {
    const std::string key = metric == std::string("node_cpu_seconds_total") ? "cpu" : "context_switches";
    EXPECT_FLOAT_EQ(value_at(key, kT + 45),
                    RateSum(Samples(page(url_a, 2), metric), Samples(page(url_a, 3), metric), 15) +
                        RateSum(Samples(page(url_b, 1), metric), Samples(page(url_b, 3), metric), 30))
        << metric;
  }

  // The reconciler's view: the same values on the 15 s grid, the outage as a gap.
  EmbeddedSource source(history);
  auto fetched = source.Fetch({"", "load1"}, kT, kT + 45, 15);
  ASSERT_TRUE(fetched) << fetched.error().message;
  ASSERT_EQ(fetched->values.size(), 4u);
  EXPECT_FLOAT_EQ(fetched->values[1], value_at("load1", kT + 15));
  EXPECT_TRUE(std::isnan(fetched->values[2]));
  EXPECT_FLOAT_EQ(fetched->values[3],
                  Sum(Samples(page(url_a, 3), "node_load1")) + Sum(Samples(page(url_b, 3), "node_load1")));
}

}  // namespace
}  // namespace topdog::advisor
