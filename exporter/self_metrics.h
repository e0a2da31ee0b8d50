// The exporter's own process metrics (topdog_exporter_process_*) and build info, read from /proc/self and
// getrusage at scrape time. Stateless apart from the start time; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/exposition/family_writer.h"

namespace topdog::exporter {

// topdog_exporter_build_info{version,compiler} 1: always exposed, like node_exporter_build_info.
void BuildInfo(exposition::FamilyWriter& out);

// topdog_exporter_process_{cpu_seconds_total,resident_memory_bytes,virtual_memory_bytes,open_fds,max_fds,
// start_time_seconds,threads}. Fields that cannot be read are omitted.
void ProcessMetrics(exposition::FamilyWriter& out);

}  // namespace topdog::exporter
