// Benchmark of one reconcile pass at scale (issue 5 target: 500 managed HPAs with 14 days of 1-minute history
// each, under 20 CPU-seconds and under 300 MB RSS). The history is the bundled NASA HTTP 1995 per-minute trace
// (tests/fixtures/traces, decompressed by the driver), each HPA a different 14-day window of it at a different
// scale, in the embedded HistoryStore; the HPAs are listed from and dry-run patched on the Kubernetes API fake
// (tests/fakes/fake_kube_api.py, started by bench/advisor_bench.py) through the real KubeClient and libcurl.
// Prints one JSON line: CPU seconds and wall time of the pass, of the history fill, peak RSS, decisions.
//
// Usage: advisor_reconcile_bench --trace NASA.csv --kube-url http://127.0.0.1:PORT --token T [--hpas 500]
//                                [--days 14]
#include <sys/resource.h>

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

}  // namespace

int main(int argc, char** argv) {
  std::string trace_path, kube_url, token;
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
  EmbeddedSource source(history);
  DaemonMetrics metrics;
  Reconciler reconciler(config, source, &api, nullptr, metrics, [] { return true; });

  const double cpu_before = CpuSeconds();
  const auto wall_before = std::chrono::steady_clock::now();
  PassReport report = reconciler.RunOnce(now + 30);
  const double pass_cpu = CpuSeconds() - cpu_before;
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
      "{\"hpas\":%d,\"days\":%g,\"ran\":%s,\"workloads\":%zu,\"patches\":%d,\"errors\":%d,\"calibrated\":%d,"
      "\"reasons\":{%s},\"pass_cpu_seconds\":%.3f,\"pass_wall_seconds\":%.3f,\"fill_cpu_seconds\":%.3f,"
      "\"peak_rss_mb\":%.1f,\"history_value_mb\":%.1f}\n",
      hpas, days, report.ran ? "true" : "false", report.workloads.size(), report.patches, report.errors, calibrated,
      reason_json.c_str(), pass_cpu, pass_wall, fill_seconds, PeakRssMb(),
      static_cast<double>(history.With([](HistoryStore& s) { return s.ValueBytes(); })) / (1 << 20));
  return report.ran ? 0 : 1;
}
