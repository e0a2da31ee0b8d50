// CollectorSet runs the enabled collectors for a scrape, each on its own long-lived worker thread, and
// waits for them up to a deadline. A collector that misses the deadline (a hung NFS statfs, say) reports
// success 0 for this scrape; its thread is not duplicated: later scrapes wait for the same run. Concurrent
// scrapes share one fresh run per collector. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/collector.h"

namespace topdog::exporter {

class CollectorSet {
 public:
  using Clock = std::chrono::steady_clock;

  explicit CollectorSet(std::vector<std::unique_ptr<Collector>> collectors);
  ~CollectorSet();
  CollectorSet(const CollectorSet&) = delete;
  CollectorSet& operator=(const CollectorSet&) = delete;

  // The families of one scrape, shared with other scrapes of the same runs; ordered by family name
  // (samples by label values), as client_golang orders them.
  struct Scrape {
    std::vector<std::shared_ptr<const std::vector<MetricFamily>>> parts;
    std::vector<const MetricFamily*> Ordered() const;
  };

  // Runs the collectors named in `only` (all when null) and returns their families plus
  // node_scrape_collector_duration_seconds and node_scrape_collector_success.
  // REQUIRES: every name in `only` is one of Names().
  Scrape Collect(Clock::time_point deadline, const std::set<std::string>* only = nullptr) const;

  // topdog_exporter_collector_timeouts_total{collector} and topdog_exporter_collector_runs_total{collector,result}.
  std::vector<MetricFamily> SelfMetrics() const;

  std::vector<std::string> Names() const;

 private:
  struct Slot;
  std::vector<std::shared_ptr<Slot>> slots_;
};

}  // namespace topdog::exporter
