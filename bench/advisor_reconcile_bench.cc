// Benchmark of one reconcile pass at scale (issue 5 target: 500 managed HPAs with 14 days of 1-minute history
// each, under 20 CPU-seconds and under 300 MB RSS). The history is the bundled NASA HTTP 1995 per-minute trace
// (tests/fixtures/traces, decompressed by the driver), each HPA a different 14-day window of it at a different
// scale, in the embedded HistoryStore; the HPAs are listed from and dry-run patched on the Kubernetes API fake
// (tests/fakes/fake_kube_api.py, started by bench/advisor_bench.py) through the real KubeClient and libcurl.
// With `--source prometheus` the same history is read through the real PrometheusSource instead, from answers in
// Prometheus's query_range JSON (as tests/fixtures/prometheus has them) built in-process when asked for; the CPU
// spent building them (the server's work) is measured on its own and subtracted, so the pass's figure is what
// the advisor pays with a real Prometheus (requests, chunking, JSON parsing, merging, grid placement). The
// served values (float, 4 bytes per point) stay resident in this mode instead of the embedded store.
// Prints one JSON line: CPU seconds and wall time of the pass, of the history fill, peak RSS, decisions.
//
// Usage: advisor_reconcile_bench --trace NASA.csv --kube-url http://127.0.0.1:PORT --token T [--hpas 500]
//                                [--days 14] [--source embedded|prometheus]
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "advisor/core/csv.h"
#include "advisor/daemon_metrics.h"
#include "advisor/io/config.h"
#include "advisor/io/embedded_source.h"
#include "advisor/io/http_client.h"
#include "advisor/io/kube_client.h"
#include "advisor/io/kube_config.h"
#include "advisor/io/prometheus_source.h"
#include "advisor/reconciler.h"

namespace {

using namespace topdog::advisor;

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024;
  }
  return -1;
}

using topdog::Result;

// Percent-decoding of a query parameter value.
std::string UrlDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

std::string Param(const std::string& url, const std::string& name) {
  const size_t at = url.find("&" + name + "=") != std::string::npos ? url.find("&" + name + "=") + 1
                                                                     : url.find("?" + name + "=") + 1;
  const size_t begin = at + name.size() + 1;
  return UrlDecode(std::string_view(url).substr(begin, url.find('&', begin) - begin));
}

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Answers /api/v1/query_range for `http_requests{hpa="hpa-N"}` from per-HPA series, in Prometheus's JSON. The CPU
// it spends building answers is kept in `cpu_seconds` (the reconciler calls it on its own thread).
class ServedPrometheus : public HttpClient {
 public:
  ServedPrometheus(const std::vector<std::vector<float>>& series, double end_seconds)
      : series_(series), end_(end_seconds) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    const double cpu_before = ThreadCpuSeconds();
    const std::string query = Param(request.url, "query");
    const size_t hpa = std::stoul(query.substr(query.find("hpa-") + 4));
    const double start = std::stod(Param(request.url, "start")), end = std::stod(Param(request.url, "end"));
    const double step = std::stod(Param(request.url, "step"));
    const std::vector<float>& values = series_.at(hpa);
    std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{"hpa":"hpa-)" +
                       std::to_string(hpa) + R"("},"values":[)";
    bool first = true;
    char buffer[64];
    for (double t = start; t <= end + 1e-9; t += step) {
      const double back = (end_ - t) / 60;
      if (back < 0 || back >= static_cast<double>(values.size())) continue;
      const double value = values[values.size() - 1 - static_cast<size_t>(std::llround(back))];
      if (std::isnan(value)) continue;
      std::snprintf(buffer, sizeof buffer, "%s[%.3f,\"%.9g\"]", first ? "" : ",", t, value);
      body += buffer;
      first = false;
    }
    body += "]}]}}";
    cpu_seconds += ThreadCpuSeconds() - cpu_before;
    return HttpResponse{200, {}, std::move(body)};
  }
  double cpu_seconds = 0;

 private:
  const std::vector<std::vector<float>>& series_;
  double end_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path, kube_url, token, source_kind = "embedded";
  int hpas = 500;
  double days = 14;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--trace")
      trace_path = value;
    else if (flag == "--kube-url")
      kube_url = value;
    else if (flag == "--token")
      token = value;
    else if (flag == "--hpas")
      hpas = std::stoi(value);
    else if (flag == "--days")
      days = std::stod(value);
    else if (flag == "--source")
      source_kind = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  std::ifstream file(trace_path);
  std::stringstream text;
  text << file.rdbuf();
  auto csv = ParseTraceCsv(text.str());
  if (!csv) {
    std::fprintf(stderr, "%s: %s\n", trace_path.c_str(), csv.error().message.c_str());
    return 2;
  }
  std::vector<double> per_minute;  // req/s, NaN where the trace is flagged (the outage)
  for (size_t i = 0; i < csv->samples.size(); ++i) {
    per_minute.push_back(csv->unscored[i] ? std::nan("") : csv->samples[i].value / 60);
  }

  AdvisorConfig config;
  config.interval_seconds = 300;
  config.dry_run = true;
  config.step_seconds = 60;
  config.history_seconds = days * 86400;
  config.decision.decision_interval_seconds = 300;
  config.kubernetes.mode = KubeMode::kKubeconfig;
  config.defaults.demand.metric = "http_requests";
  config.defaults.demand.match = {{"hpa", "$name"}};
  config.defaults.capacity_rps = 0.2;

  const size_t points = static_cast<size_t>(days * 1440);
  HistoryGeometry geometry{60, points, static_cast<size_t>(hpas) + 10};
  SharedHistory history(geometry);
  const double now = 1.8e9;
  const double fill_cpu = CpuSeconds();
  const bool from_prometheus = source_kind == "prometheus";
  std::vector<std::vector<float>> served(static_cast<size_t>(hpas));  // the same values for --source prometheus
  history.With([&](HistoryStore& store) {
    for (int h = 0; h < hpas; ++h) {
      SeriesConfig series = ExpandSeries(config.defaults.demand, "bench", "hpa-" + std::to_string(h), "");
      const std::string key = EmbeddedKey(series);
      // Windows that end inside the trace's outage (flagged rows) would be skipped as stale: moved a day on.
      size_t offset = static_cast<size_t>(h % 40) * 1440 % (per_minute.size() - points);
      while (std::isnan(per_minute[offset + points - 1]) && offset + 1440 + points <= per_minute.size()) {
        offset += 1440;
      }
      const double scale = 1 + 0.1 * (h % 7);
      for (size_t j = 0; j < points; ++j) {
        const double value = per_minute[offset + j] * scale;
        if (from_prometheus) {
          served[static_cast<size_t>(h)].push_back(static_cast<float>(value));
          continue;
        }
        if (std::isnan(value)) continue;
        (void)store.Add(key, now - static_cast<double>(points - 1 - j) * 60, value);
      }
    }
  });
  const double fill_seconds = CpuSeconds() - fill_cpu;

  KubeAccess access;
  access.server = kube_url;
  access.token = token;
  HttpClientOptions options;
  auto http = CurlHttpClient::Create(options);
  if (!http) return 1;
  KubeClient kube(**http, access);
  KubeHpaApi api(kube);
  EmbeddedSource embedded(history);
  ServedPrometheus prometheus_http(served, now + 30);
  PrometheusOptions prometheus_options;
  prometheus_options.url = "http://prometheus.bench:9090";
  PrometheusSource prometheus(prometheus_http, prometheus_options, [](std::chrono::milliseconds) {});
  if (from_prometheus) config.defaults.demand.promql = "http_requests{hpa=\"$name\"}";
  HistorySource& source = from_prometheus ? static_cast<HistorySource&>(prometheus) : embedded;
  DaemonMetrics metrics;
  Reconciler reconciler(config, source, &api, nullptr, metrics, [] { return true; });

  const double cpu_before = CpuSeconds();
  const auto wall_before = std::chrono::steady_clock::now();
  PassReport report = reconciler.RunOnce(now + 30);
  const double pass_cpu = CpuSeconds() - cpu_before - prometheus_http.cpu_seconds;
  const double pass_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
  std::map<std::string, int> reasons;
  int calibrated = 0;
  for (const WorkloadOutcome& w : report.workloads) {
    ++reasons[w.decision.reason];
    calibrated += !w.decision.forecasts.empty() && w.decision.forecasts[0].calibrated;
  }
  std::string reason_json;
  for (const auto& [reason, count] : reasons) {
    reason_json += (reason_json.empty() ? "" : ",") + ("\"" + reason + "\":" + std::to_string(count));
  }
  std::printf(
      "{\"source\":\"%s\",\"hpas\":%d,\"days\":%g,\"ran\":%s,\"workloads\":%zu,\"patches\":%d,\"errors\":%d,\"calibrated\":%d,"
      "\"reasons\":{%s},\"pass_cpu_seconds\":%.3f,\"pass_wall_seconds\":%.3f,\"fill_cpu_seconds\":%.3f,"
      "\"peak_rss_mb\":%.1f,\"history_value_mb\":%.1f}\n",
      source_kind.c_str(), hpas, days, report.ran ? "true" : "false", report.workloads.size(), report.patches, report.errors, calibrated,
      reason_json.c_str(), pass_cpu, pass_wall, fill_seconds, PeakRssMb(),
      static_cast<double>(history.With([](HistoryStore& s) { return s.ValueBytes(); })) / (1 << 20));
  return report.ran ? 0 : 1;
}
