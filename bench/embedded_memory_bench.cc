// Benchmark of the advisor's embedded mode (issue 5 target: under 50 MB RSS with 5 scraped exporters after 24
// simulated hours of history). Starts N real topdog-exporter processes on 127.0.0.1, then runs the real Scraper
// (CurlHttpClient, text parser, HistoryStore of 14 days x 1 minute) for `hours` of simulated time: the round
// clock advances `interval` seconds per round while the rounds run back to back. 40 keys, as a stack config
// keeps (CPU by mode, load, memory, disk, network, pressure, the exporters' own process metrics). At the end the
// reconciler's read (every key over 14 days) and a snapshot save/load run too, so their memory counts. Prints
// this process's peak RSS (VmHWM: the exporters are other processes) and the store's value bytes; exits 1 when
// the peak is over --max-rss-mb.
//
// Usage: embedded_memory_bench [--exporter PATH] [--targets 5] [--hours 24] [--interval 15] [--max-rss-mb 50]
//   PATH defaults to $TOPDOG_EXPORTER, else <build dir>/exporter/topdog-exporter next to <build dir>/bench/.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "advisor/io/embedded_source.h"
#include "advisor/io/http_client.h"
#include "advisor/io/scraper.h"
#include "tests/fakes/child_process.h"

namespace {

using topdog::advisor::EmbeddedSeries;

// A topdog-exporter child on 127.0.0.1:0; the port comes from its "Listening on" log line.
class ExporterProcess {
 public:
  explicit ExporterProcess(const std::string& binary) : process_({binary, "--web.listen-address=127.0.0.1:0"}) {
    auto bound = process_.WaitForLine(std::regex(R"(msg="Listening on" address=127\.0\.0\.1:(\d+))"));
    if (bound) port_ = std::stoi(*bound);
  }
  int port() const { return port_; }

 private:
  topdog::ChildProcess process_;
  int port_ = 0;
};

long StatusKb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::atol(line.c_str() + prefix.size());
  }
  return -1;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::vector<EmbeddedSeries> StackKeys() {
  std::vector<EmbeddedSeries> keys;
  for (const char* mode : {"idle", "user", "system", "iowait", "irq", "softirq", "steal", "nice"}) {
    keys.push_back({std::string("cpu_") + mode + "_cores", "node_cpu_seconds_total", {{"mode", mode}}, true});
  }
  auto counter = [&](const char* key, const char* metric, std::map<std::string, std::string> match = {}) {
    keys.push_back({key, metric, std::move(match), true});
  };
  auto gauge = [&](const char* key, const char* metric, std::map<std::string, std::string> match = {}) {
    keys.push_back({key, metric, std::move(match), false});
  };
  counter("context_switches_per_second", "node_context_switches_total");
  counter("interrupts_per_second", "node_intr_total");
  counter("forks_per_second", "node_forks_total");
  counter("disk_read_bytes_per_second", "node_disk_read_bytes_total");
  counter("disk_written_bytes_per_second", "node_disk_written_bytes_total");
  counter("disk_reads_per_second", "node_disk_reads_completed_total");
  counter("disk_writes_per_second", "node_disk_writes_completed_total");
  counter("disk_io_time_ratio", "node_disk_io_time_seconds_total");
  counter("net_eth0_rx_bytes_per_second", "node_network_receive_bytes_total", {{"device", "eth0"}});
  counter("net_eth0_tx_bytes_per_second", "node_network_transmit_bytes_total", {{"device", "eth0"}});
  counter("net_eth0_rx_packets_per_second", "node_network_receive_packets_total", {{"device", "eth0"}});
  counter("net_eth0_tx_packets_per_second", "node_network_transmit_packets_total", {{"device", "eth0"}});
  counter("net_rx_bytes_per_second", "node_network_receive_bytes_total");
  counter("net_tx_bytes_per_second", "node_network_transmit_bytes_total");
  counter("pressure_cpu_waiting_ratio", "node_pressure_cpu_waiting_seconds_total");
  counter("pressure_memory_waiting_ratio", "node_pressure_memory_waiting_seconds_total");
  counter("pressure_io_waiting_ratio", "node_pressure_io_waiting_seconds_total");
  counter("exporter_cpu_cores", "topdog_exporter_process_cpu_seconds_total");
  counter("page_faults_per_second", "node_vmstat_pgfault");
  counter("major_page_faults_per_second", "node_vmstat_pgmajfault");
  gauge("load1", "node_load1");
  gauge("load5", "node_load5");
  gauge("load15", "node_load15");
  gauge("memory_available_bytes", "node_memory_MemAvailable_bytes");
  gauge("memory_free_bytes", "node_memory_MemFree_bytes");
  gauge("memory_cached_bytes", "node_memory_Cached_bytes");
  gauge("memory_buffers_bytes", "node_memory_Buffers_bytes");
  gauge("memory_total_bytes", "node_memory_MemTotal_bytes");
  gauge("procs_running", "node_procs_running");
  gauge("procs_blocked", "node_procs_blocked");
  gauge("exporter_resident_memory_bytes", "topdog_exporter_process_resident_memory_bytes");
  gauge("collectors_succeeding", "node_scrape_collector_success");
  return keys;
}

std::string DefaultExporter() {
  if (const char* path = std::getenv("TOPDOG_EXPORTER"); path != nullptr && *path != '\0') return path;
  std::error_code error;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "" : (self.parent_path().parent_path() / "exporter" / "topdog-exporter").string();
}

}  // namespace

int main(int argc, char** argv) {
  std::string exporter = DefaultExporter();
  int target_count = 5;
  double hours = 24, interval_seconds = 15, max_rss_mb = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--exporter") {
      exporter = value;
    } else if (flag == "--targets") {
      target_count = std::stoi(value);
    } else if (flag == "--hours") {
      hours = std::stod(value);
    } else if (flag == "--interval") {
      interval_seconds = std::stod(value);
    } else if (flag == "--max-rss-mb") {
      max_rss_mb = std::stod(value);
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (access(exporter.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "no topdog-exporter at '%s' (--exporter or TOPDOG_EXPORTER)\n", exporter.c_str());
    return 2;
  }
  const long baseline_kb = StatusKb("VmRSS");

  std::vector<std::unique_ptr<ExporterProcess>> exporters;
  std::vector<topdog::advisor::ScrapeTarget> targets;
  for (int i = 0; i < target_count; ++i) {
    exporters.push_back(std::make_unique<ExporterProcess>(exporter));
    if (exporters.back()->port() == 0) {
      std::fprintf(stderr, "exporter %d did not start\n", i);
      return 2;
    }
    targets.push_back({"node-" + std::to_string(i),
                       "http://127.0.0.1:" + std::to_string(exporters.back()->port()) + "/metrics", "", "", ""});
  }

  topdog::advisor::HttpClientOptions http_options;
  http_options.timeout = std::chrono::milliseconds(10000);
  auto http = topdog::advisor::CurlHttpClient::Create(http_options);
  if (!http) {
    std::fprintf(stderr, "%s\n", http.error().message.c_str());
    return 2;
  }
  const topdog::advisor::HistoryGeometry geometry{60, 14 * 24 * 60, 64};
  topdog::advisor::SharedHistory history(geometry);
  const std::vector<EmbeddedSeries> keys = StackKeys();
  auto scraper = topdog::advisor::Scraper::Create(**http, targets, keys, history);
  if (!scraper) {
    std::fprintf(stderr, "%s\n", scraper.error().message.c_str());
    return 2;
  }

  const double start_seconds = 1'800'000'000;  // simulated clock, on a minute boundary
  const auto rounds = static_cast<long>(std::llround(hours * 3600 / interval_seconds));
  long incomplete = 0;
  size_t samples_per_round = 0;
  const auto wall_start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  for (long round = 0; round < rounds; ++round) {
    topdog::advisor::ScrapeReport report = (*scraper)->ScrapeOnce(start_seconds + interval_seconds * round);
    if (!report.complete) ++incomplete;
    if (round == 0) {
      for (const auto& target : report.targets) samples_per_round += target.samples;
    }
  }
  const double scrape_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  const double scrape_cpu = CpuSeconds() - cpu_start;
  const long after_scrapes_kb = StatusKb("VmRSS");

  // The reconciler's read: every key over the whole 14-day window at the store's step.
  const double end_seconds = start_seconds + interval_seconds * (rounds - 1);
  topdog::advisor::EmbeddedSource source(history);
  size_t observed = 0;
  for (const EmbeddedSeries& key : keys) {
    auto series = source.Fetch({"", key.key}, end_seconds - 14 * 86400.0 + 60, end_seconds, 60);
    if (series) observed += series->ObservedCount();
  }
  // A snapshot save and load, as the daemon does periodically and at start.
  const std::string snapshot = "/tmp/embedded_memory_bench." + std::to_string(getpid()) + ".snapshot";
  const auto save_start = std::chrono::steady_clock::now();
  auto saved = topdog::advisor::SaveSnapshot(history, snapshot);
  const double save_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - save_start).count();
  std::error_code size_error;
  const auto snapshot_bytes = std::filesystem::file_size(snapshot, size_error);
  auto loaded = topdog::advisor::LoadSnapshot(snapshot);
  std::filesystem::remove(snapshot, size_error);
  if (!saved || !loaded) {
    std::fprintf(stderr, "snapshot: %s\n", !saved ? saved.error().message.c_str() : loaded.error().message.c_str());
    return 2;
  }
  const size_t value_bytes = history.With([](topdog::advisor::HistoryStore& store) { return store.ValueBytes(); });
  const size_t series_count = history.With([](topdog::advisor::HistoryStore& store) { return store.SeriesCount(); });
  const long peak_kb = StatusKb("VmHWM");

  std::printf("embedded mode: %d exporters, %zu keys, %ld rounds of %.0f s (%.1f simulated hours)\n", target_count,
              keys.size(), rounds, interval_seconds, hours);
  std::printf("samples per round (all targets): %zu; incomplete rounds: %ld\n", samples_per_round, incomplete);
  std::printf("history: %zu series x %zu points (%.0f s step): value bytes %zu (%.2f MB)\n", series_count,
              geometry.points_per_series, geometry.step_seconds, value_bytes, value_bytes / 1048576.0);
  std::printf("observed points read back over 14 days: %zu (%.1f per key)\n", observed,
              static_cast<double>(observed) / static_cast<double>(keys.size()));
  std::printf("scraping: %.1f s wall, %.1f CPU s (%.2f ms CPU per round)\n", scrape_wall, scrape_cpu,
              1000 * scrape_cpu / static_cast<double>(rounds));
  std::printf("snapshot: %ju bytes, saved in %.3f s\n", static_cast<uintmax_t>(snapshot_bytes), save_seconds);
  std::printf("RSS: %.1f MB at start, %.1f MB after scraping, peak (VmHWM) %.1f MB; target < %.0f MB\n",
              baseline_kb / 1024.0, after_scrapes_kb / 1024.0, peak_kb / 1024.0, max_rss_mb);
  const bool ok = peak_kb / 1024.0 < max_rss_mb;
  std::printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
