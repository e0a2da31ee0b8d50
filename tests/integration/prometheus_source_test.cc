// PrometheusSource against Debian's real Prometheus scraping a real topdog-exporter every second, directly and
// through tests/fakes/fault_proxy.py (which breaks the path to Prometheus: slow, garbage, cut, partial, 503,
// closed). Each test starts its own exporter + Prometheus (~8 s: Prometheus applies scrape targets on a 5 s tick).
#include "advisor/io/prometheus_source.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "advisor/io/http_client.h"
#include "tests/fakes/fake_server_process.h"
#include "tests/fakes/child_process.h"
#include "tests/fakes/test_http_client.h"

namespace topdog::advisor {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kCpuRate[] = "sum(rate(node_cpu_seconds_total[5s]))";
constexpr char kCpuRatePerMode[] = "rate(node_cpu_seconds_total[5s])";
constexpr char kPrometheus[] = "/usr/bin/prometheus";

// A free loopback port: bind port 0, read it, close. Small race: another process may take the port between the
// close and the server's bind; the server then fails to start and the readiness poll reports it with its log.
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(address.sin_port);
}

// The exporter built next to this test binary (<build>/tests/ -> <build>/exporter/), or $TOPDOG_EXPORTER.
std::string ExporterPath() {
  if (const char* path = std::getenv("TOPDOG_EXPORTER"); path != nullptr && *path != '\0') return path;
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return (self.parent_path().parent_path() / "exporter" / "topdog-exporter").string();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Polls `ready` every 100 ms until it holds or `deadline` passes (waiting for a server, not synchronisation
// by sleeping: the test proceeds as soon as the condition holds).
bool PollUntil(const std::function<bool()>& ready, milliseconds deadline) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return true;
}

class PrometheusSourceIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::path(::testing::TempDir()) / ("prometheus_source_test_" + std::to_string(getpid()) + "_" +
                                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "tsdb");
    client_ = MakeTestHttpClient(milliseconds(1000), milliseconds(1000));
    ASSERT_NE(client_, nullptr);

    const std::string exporter = ExporterPath();
    ASSERT_TRUE(std::filesystem::exists(exporter))
        << exporter << " not built (ninja topdog-exporter) and TOPDOG_EXPORTER not set";
    ASSERT_TRUE(std::filesystem::exists(kPrometheus)) << "Debian's prometheus package is not installed";

    const int exporter_port = FreePort();
    exporter_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{exporter, "--web.listen-address=127.0.0.1:" + std::to_string(exporter_port)},
        (dir_ / "exporter.log").string());
    ASSERT_TRUE(exporter_->started());
    const std::string metrics_url = "http://127.0.0.1:" + std::to_string(exporter_port) + "/metrics";
    ASSERT_TRUE(PollUntil(
        [&] {
          auto answer = client_->Send({"GET", metrics_url, {}, ""});
          return answer && answer->status == 200;
        },
        milliseconds(10000)))
        << "topdog-exporter did not serve " << metrics_url << ":\n"
        << ReadFile((dir_ / "exporter.log").string());

    std::ofstream(dir_ / "prometheus.yml") << "global:\n"
                                              "  scrape_interval: 1s\n"
                                              "  scrape_timeout: 1s\n"
                                              "  evaluation_interval: 1s\n"
                                              "scrape_configs:\n"
                                              "  - job_name: topdog\n"
                                              "    static_configs:\n"
                                              "      - targets: ['127.0.0.1:"
                                           << exporter_port << "']\n";
    const int prometheus_port = FreePort();
    prometheus_url_ = "http://127.0.0.1:" + std::to_string(prometheus_port);
    prometheus_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kPrometheus, "--config.file=" + (dir_ / "prometheus.yml").string(),
                                 "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
        (dir_ / "prometheus.log").string());
    ASSERT_TRUE(prometheus_->started());
    ASSERT_TRUE(PollUntil(
        [&] {
          auto answer = client_->Send({"GET", prometheus_url_ + "/-/ready", {}, ""});
          return answer && answer->status == 200;
        },
        milliseconds(15000)))
        << "Prometheus not ready:\n"
        << PrometheusLog();

    proxy_ = std::make_unique<FakeServerProcess>(std::string(TOPDOG_SOURCE_DIR) + "/tests/fakes/fault_proxy.py",
                                                 std::vector<std::string>{"--upstream", prometheus_url_});

    // Data: the first scrape lands ~6 s after start. `now_` is a whole second at least 1 s in the past, so every
    // scrape stamped up to it has been stored (a scrape of the exporter takes milliseconds), and answers about
    // [.., now_] are the same whenever they are asked.
    auto source = Direct();
    ASSERT_TRUE(PollUntil(
        [&] {
          now_ =
              std::floor(std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()) -
              1;
          auto answer = source.Query(kCpuRate, now_);
          return answer && !answer->empty();
        },
        milliseconds(25000)))
        << "no " << kCpuRate << " in Prometheus:\n"
        << PrometheusLog();
  }

  void TearDown() override {
    proxy_.reset();
    prometheus_.reset();
    exporter_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string PrometheusLog() const { return ReadFile((dir_ / "prometheus.log").string()); }

  PrometheusSource Direct(PrometheusOptions options = {}) {
    options.url = prometheus_url_;
    return PrometheusSource(*client_, std::move(options), [this](milliseconds wait) { waits_.push_back(wait); });
  }
  PrometheusSource Proxied(PrometheusOptions options = {}) {
    options.url = proxy_->Url();
    return PrometheusSource(*client_, std::move(options), [this](milliseconds wait) { waits_.push_back(wait); });
  }

  // The proxy's control routes.
  void AddFaults(const std::string& json) {
    auto answer = client_->Send({"POST", proxy_->Url() + "/_fake/faults", {}, json});
    ASSERT_TRUE(answer && answer->status == 200);
  }
  void ResetProxy() {
    auto answer = client_->Send({"POST", proxy_->Url() + "/_fake/reset", {}, ""});
    ASSERT_TRUE(answer && answer->status == 200);
    waits_.clear();
  }
  nlohmann::json RecordedRequests() {
    auto answer = client_->Send({"GET", proxy_->Url() + "/_fake/requests", {}, ""});
    EXPECT_TRUE(answer && answer->status == 200);
    return answer ? nlohmann::json::parse(answer->body, nullptr, false) : nlohmann::json::array();
  }

  std::filesystem::path dir_;
  std::unique_ptr<CurlHttpClient> client_;
  std::unique_ptr<ChildProcess> exporter_, prometheus_;
  std::unique_ptr<FakeServerProcess> proxy_;
  std::string prometheus_url_;
  double now_ = 0;
  std::vector<milliseconds> waits_;
};

void ExpectSameValues(const Series& actual, const Series& expected) {
  EXPECT_EQ(actual.start_seconds, expected.start_seconds);
  EXPECT_EQ(actual.step_seconds, expected.step_seconds);
  ASSERT_EQ(actual.values.size(), expected.values.size());
  for (size_t i = 0; i < expected.values.size(); ++i) {
    if (std::isnan(expected.values[i])) {
      EXPECT_TRUE(std::isnan(actual.values[i])) << "point " << i;
    } else {
      EXPECT_EQ(actual.values[i], expected.values[i]) << "point " << i;
    }
  }
}

TEST_F(PrometheusSourceIntegrationTest, ReadsOneSeriesOnTheGridAndChunksGiveTheSameSeries) {
  PrometheusSource direct = Direct();
  auto series = direct.Fetch({kCpuRate, ""}, now_ - 10, now_, 1);
  ASSERT_TRUE(series) << series.error().message;
  EXPECT_EQ(series->start_seconds, now_ - 10);
  EXPECT_EQ(series->step_seconds, 1);
  ASSERT_EQ(series->values.size(), 11u);
  ASSERT_FALSE(std::isnan(series->values.back())) << "the poll saw a value at now";
  // Each grid point is what Prometheus evaluates at that instant (a range query is instant queries on a grid).
  for (size_t i = 0; i < series->values.size(); ++i) {
    auto instant = direct.Query(kCpuRate, series->TimeAt(i));
    ASSERT_TRUE(instant) << instant.error().message;
    if (instant->empty()) {
      EXPECT_TRUE(std::isnan(series->values[i])) << "point " << i;
    } else {
      ASSERT_EQ(instant->size(), 1u);
      EXPECT_EQ((*instant)[0].second.time_seconds, series->TimeAt(i));
      EXPECT_EQ(series->values[i], (*instant)[0].second.value) << "point " << i;
      EXPECT_GE(series->values[i], 0);  // CPU seconds per second, summed over CPUs and modes
    }
  }

  // One series per CPU and mode is not one series.
  auto per_mode = direct.QueryRange(kCpuRatePerMode, now_ - 10, now_, 1);
  ASSERT_TRUE(per_mode) << per_mode.error().message;
  ASSERT_GE(per_mode->size(), 2u);
  auto ambiguous = direct.Fetch({kCpuRatePerMode, ""}, now_ - 10, now_, 1);
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(ambiguous.error().message, HasSubstr("query returns " + std::to_string(per_mode->size()) + " series"));

  auto absent = direct.Fetch({"sum(no_such_metric_anywhere)", ""}, now_ - 10, now_, 1);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().kind, ErrorKind::kNotFound);

  auto bad = direct.Fetch({"sum(", ""}, now_ - 10, now_, 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(bad.error().message, HasSubstr("(bad_data): 1:5: parse error"));

  // 21 points at 5 per query through the proxy: the same series as one query, in exactly these five requests.
  auto whole = direct.Fetch({kCpuRate, ""}, now_ - 20, now_, 1);
  ASSERT_TRUE(whole) << whole.error().message;
  ResetProxy();
  PrometheusOptions chunked_options;
  chunked_options.max_points_per_query = 5;
  PrometheusSource chunked = Proxied(chunked_options);
  auto pieces = chunked.Fetch({kCpuRate, ""}, now_ - 20, now_, 1);
  ASSERT_TRUE(pieces) << pieces.error().message;
  ExpectSameValues(*pieces, *whole);
  const nlohmann::json recorded = RecordedRequests();
  ASSERT_EQ(recorded.size(), 5u) << recorded.dump();
  const auto first = static_cast<long long>(now_) - 20;
  for (int i = 0; i < 5; ++i) {
    const nlohmann::json& request = recorded[i];
    EXPECT_EQ(request["method"], "GET");
    EXPECT_EQ(request["path"], "/api/v1/query_range");
    EXPECT_EQ(request["query"]["query"], nlohmann::json::array({kCpuRate}));
    EXPECT_EQ(request["query"]["start"], nlohmann::json::array({std::to_string(first + 5 * i)}));
    EXPECT_EQ(request["query"]["end"],
              nlohmann::json::array({std::to_string(std::min(first + 5 * i + 4, first + 20))}));
    EXPECT_EQ(request["query"]["step"], nlohmann::json::array({"1"}));
  }

  // Many series, chunked: merged per label set into what one query returns.
  auto merged = chunked.QueryRange(kCpuRatePerMode, now_ - 10, now_, 1);
  ASSERT_TRUE(merged) << merged.error().message;
  ASSERT_EQ(merged->size(), per_mode->size());
  for (size_t i = 0; i < merged->size(); ++i) {
    EXPECT_EQ((*merged)[i].labels, (*per_mode)[i].labels);
    ASSERT_EQ((*merged)[i].samples.size(), (*per_mode)[i].samples.size());
    for (size_t j = 0; j < (*merged)[i].samples.size(); ++j) {
      EXPECT_EQ((*merged)[i].samples[j].time_seconds, (*per_mode)[i].samples[j].time_seconds);
      EXPECT_EQ((*merged)[i].samples[j].value, (*per_mode)[i].samples[j].value);
    }
  }
}

TEST_F(PrometheusSourceIntegrationTest, FaultsOnTheWayToPrometheusAreErrorsNeverShorterHistories) {
  PrometheusOptions options;
  options.retry.attempts = 2;
  options.retry.initial_backoff = milliseconds(100);
  PrometheusSource source = Proxied(options);
  auto fetch = [&] { return source.Fetch({kCpuRate, ""}, now_ - 10, now_, 1); };
  auto attempts = [&] { return RecordedRequests().size(); };

  {
    SCOPED_TRACE("pass-through");
    ResetProxy();
    auto series = fetch();
    ASSERT_TRUE(series) << series.error().message;
    EXPECT_EQ(attempts(), 1u);
  }
  {
    SCOPED_TRACE("slower than the client's 1 s timeout, twice");
    ResetProxy();
    AddFaults(R"([{"mode": "delay", "seconds": 3, "times": -1}])");
    auto slow = fetch();
    ASSERT_FALSE(slow);
    EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded) << slow.error().message;
    EXPECT_THAT(slow.error().message, HasSubstr("after 2 attempts"));
    EXPECT_EQ(attempts(), 2u);
    EXPECT_EQ(waits_.size(), 1u);
  }
  {
    SCOPED_TRACE("garbage");
    ResetProxy();
    AddFaults(R"([{"mode": "garbage"}])");
    auto garbage = fetch();
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().kind, ErrorKind::kBadData) << garbage.error().message;
    EXPECT_EQ(attempts(), 1u);  // a 200 is not retried: the same garbage would come back
  }
  {
    SCOPED_TRACE("body cut in half");
    ResetProxy();
    AddFaults(R"([{"mode": "truncate"}])");
    auto cut = fetch();
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().kind, ErrorKind::kBadData) << cut.error().message;
  }
  {
    SCOPED_TRACE("partial answer");
    ResetProxy();
    AddFaults(R"([{"mode": "warnings", "warning": "remote read: store eu-1 unreachable"}])");
    auto partial = fetch();
    ASSERT_FALSE(partial);
    EXPECT_EQ(partial.error().kind, ErrorKind::kUnavailable);
    EXPECT_THAT(partial.error().message, HasSubstr("partial answer: remote read: store eu-1 unreachable"));
  }
  {
    SCOPED_TRACE("503 with Retry-After, then Prometheus answers");
    ResetProxy();
    AddFaults(R"([{"mode": "status", "status": 503, "body": "Service Unavailable", "headers": {"Retry-After": "1"}}])");
    auto series = fetch();
    ASSERT_TRUE(series) << series.error().message;
    EXPECT_EQ(attempts(), 2u);
    EXPECT_EQ(waits_, std::vector<milliseconds>{milliseconds(1000)});
    EXPECT_FALSE(std::isnan(series->values.back()));
  }
  {
    SCOPED_TRACE("one failing chunk fails the whole range");
    ResetProxy();
    AddFaults(R"([{"mode": "status", "status": 500, "after": 2, "times": -1}])");
    PrometheusOptions chunked_options = options;
    chunked_options.max_points_per_query = 4;
    auto failed = Proxied(chunked_options).Fetch({kCpuRate, ""}, now_ - 10, now_, 1);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind, ErrorKind::kUnavailable);
    EXPECT_THAT(failed.error().message, HasSubstr("chunk 3/3"));
    EXPECT_EQ(attempts(), 4u);  // chunks 1 and 2 once, chunk 3 twice
  }
  {
    SCOPED_TRACE("connection closed without an answer");
    ResetProxy();
    AddFaults(R"([{"mode": "close", "times": -1}])");
    auto closed = fetch();
    ASSERT_FALSE(closed);
    EXPECT_EQ(closed.error().kind, ErrorKind::kUnavailable) << closed.error().message;
    EXPECT_THAT(closed.error().message, HasSubstr("after 2 attempts"));
    // 2 attempts, 3 requests: libcurl re-sends once by itself when a reused keep-alive connection (the one the
    // previous step left open) dies before any answer; the second attempt starts on a fresh connection.
    EXPECT_EQ(attempts(), 3u);
  }
  {
    SCOPED_TRACE("Prometheus killed");
    ResetProxy();
    prometheus_->Kill();
    auto direct = Direct(options).Fetch({kCpuRate, ""}, now_ - 10, now_, 1);
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().kind, ErrorKind::kUnavailable) << direct.error().message;
    auto proxied = fetch();
    ASSERT_FALSE(proxied);
    EXPECT_EQ(proxied.error().kind, ErrorKind::kUnavailable);
    EXPECT_THAT(proxied.error().message, HasSubstr("HTTP 502"));
    EXPECT_EQ(attempts(), 2u);
  }
}

}  // namespace
}  // namespace topdog::advisor
