// ExporterApp wires the enabled collectors to the /metrics handler: request filtering (collect[]/exclude[]),
// the per-scrape deadline from X-Prometheus-Scrape-Timeout-Seconds, format negotiation and the exporter's own
// metrics. Thread-safe: scrapes run concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/http/server.h"
#include "common/result.h"
#include "exporter/collector_set.h"
#include "exporter/io/file_reader.h"
#include "exporter/io/system.h"
#include "exporter/options.h"

namespace topdog::exporter {

struct ExporterConfig {
  CollectorOptions options;
  std::set<std::string> enabled_collectors;
  bool disable_exporter_metrics = false;
  // Used when the scraper sends no X-Prometheus-Scrape-Timeout-Seconds header.
  std::chrono::milliseconds default_scrape_timeout{10000};
  // Collectors must finish this long before the scraper's timeout, leaving time to serialize and send.
  std::chrono::milliseconds scrape_timeout_offset{500};
  // Asynchronous scrapes run the collectors that cannot block on the HTTP I/O thread (CollectorSet::RunInline).
  bool inline_collectors = false;
};

class ExporterApp {
 public:
  // Builds the enabled collectors; an unknown collector name or a bad collector flag is an error.
  static Result<std::unique_ptr<ExporterApp>> Create(ExporterConfig config, const FileReader& reader,
                                                     const System& system);

  // Answers a scrape, blocking until the collectors are done or the deadline passes.
  http::Response HandleMetrics(const http::Request& request) const;
  // The same without blocking, for the server's asynchronous routes: the collector thread that finishes
  // last renders the page (or the deadline timer does), so a scrape costs no hand-off to a handler thread.
  void HandleMetricsAsync(const http::Request& request, http::Responder responder) const;

  // Adds the HTTP server's own metrics to scrapes (unless exporter metrics are disabled).
  void SetServerMetrics(std::function<void(exposition::FamilyWriter&)> server_metrics) {
    server_metrics_ = std::move(server_metrics);
  }

  // The deadline for a scrape that starts at `now` given the header value ("" when absent).
  static CollectorSet::Clock::time_point Deadline(CollectorSet::Clock::time_point now, std::string_view timeout_header,
                                                  std::chrono::milliseconds default_timeout,
                                                  std::chrono::milliseconds offset);

 private:
  // The scrape's collector filter and deadline, or an error response (400) for bad collect[]/exclude[].
  struct Plan {
    std::set<std::string> only;
    bool filtered = false;
    CollectorSet::Clock::time_point deadline;
  };
  tl::expected<Plan, http::Response> PlanScrape(const http::Request& request) const;
  http::Response Render(CollectorSet::Scrape scrape, const http::Request& request) const;

  ExporterApp(ExporterConfig config, std::unique_ptr<CollectorSet> collectors)
      : config_(std::move(config)), collectors_(std::move(collectors)) {}

  ExporterConfig config_;
  std::unique_ptr<CollectorSet> collectors_;
  std::function<void(exposition::FamilyWriter&)> server_metrics_;
  mutable std::atomic<size_t> last_page_bytes_{16 * 1024};
  // The exporter's own families of the last scrape, written over by the next one once no scrape holds them.
  mutable std::mutex own_mu_;
  mutable std::shared_ptr<std::vector<prometheus::MetricFamily>> own_last_;  // GUARDED_BY(own_mu_)
};

}  // namespace topdog::exporter
