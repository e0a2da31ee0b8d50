// The exporter's own process metrics (topdog_exporter_process_*) and build info, read from /proc/self and
// getrusage at scrape time. Stateless apart from the start time; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

namespace topdog::exporter {

// topdog_exporter_build_info{version,compiler} 1: always exposed, like node_exporter_build_info.
prometheus::MetricFamily BuildInfo();

// topdog_exporter_process_{cpu_seconds_total,resident_memory_bytes,virtual_memory_bytes,open_fds,max_fds,
// start_time_seconds,threads}. Fields that cannot be read are omitted.
std::vector<prometheus::MetricFamily> ProcessMetrics();

}  // namespace topdog::exporter
