// Collector: one node_exporter-style collector (cpu, meminfo, ...). A Collector is called by CollectorSet
// from one dedicated worker thread at a time, so implementations may keep state without locking.
#pragma once

#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/result.h"

namespace topdog::exporter {

using prometheus::MetricFamily;

class Collector {
 public:
  virtual ~Collector() = default;
  // The name used in --collector.<name> and node_scrape_collector_success{collector="<name>"}.
  virtual std::string_view Name() const = 0;
  // Reads and parses the source. An error makes success 0 for this collector only; families returned
  // with an error are dropped. REQUIRES: not called concurrently (CollectorSet guarantees it).
  virtual Result<std::vector<MetricFamily>> Collect() = 0;
};

}  // namespace topdog::exporter
