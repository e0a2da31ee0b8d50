// HistorySource: where the reconciler reads a workload's history from: Prometheus (PromQL over query_range) or
// the embedded scraper's HistoryStore. One series per query, on a regular grid; a failed, partial or ambiguous
// answer is an error, never a shorter history. Implementations are thread-safe.
#pragma once

#include <string>

#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

// What to read: PromQL for the Prometheus source, a HistoryStore key for the embedded one (a workload's config
// names both, so the same config works in both modes).
struct SeriesQuery {
  std::string promql;
  std::string embedded_key;
};

class HistorySource {
 public:
  virtual ~HistorySource() = default;
  // The series over [start, end] on a grid of `step` seconds (gaps NaN), exactly one series. Errors:
  // kUnavailable (source down, slow, or a partial answer: Prometheus's warnings), kBadData (garbage, or a query
  // that returns more than one series), kNotFound (no series at all).
  virtual Result<Series> Fetch(const SeriesQuery& query, double start_seconds, double end_seconds,
                               double step_seconds) = 0;
  // "prometheus" or "embedded", for logs and metrics.
  virtual const char* Name() const = 0;
};

}  // namespace topdog::advisor
