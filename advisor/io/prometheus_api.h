// The Prometheus HTTP API as the advisor reads it (issue 5): the pure part, without the HTTP client: splitting
// a range into queries under the points-per-query limit, and parsing `query_range` and `query` answers strictly,
// so that a failed, partial or malformed answer is an error and never a shorter history. Thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

struct PromSeries {
  std::map<std::string, std::string> labels;  // including __name__ when the query keeps it
  std::vector<Sample> samples;                 // ascending times; NaN/Inf values as Prometheus sent them
};

struct RangeAnswer {
  std::vector<PromSeries> series;
  std::vector<std::string> warnings;  // Prometheus's "warnings" (a partial answer says so there)
};

// Parses the body of GET /api/v1/query_range. Errors (kBadData) for: not JSON, "status" not "success" (the
// message carries errorType and error), a resultType other than "matrix", a sample that is not
// [time, "value"], a value that is not a Go float, times not ascending within a series.
Result<RangeAnswer> ParseQueryRange(std::string_view body);

// One element of an instant vector: its labels and the sample at the evaluation time.
using LabeledSample = std::pair<std::map<std::string, std::string>, Sample>;

struct InstantAnswer {
  std::vector<LabeledSample> samples;  // a scalar answer is one sample with no labels
  std::vector<std::string> warnings;   // as in RangeAnswer
};

// Parses the body of GET /api/v1/query. Errors (kBadData, prefixed "query answer: ") for: not JSON, "status"
// not "success", a resultType other than "vector" or "scalar" ("matrix" comes from a range selector such as
// `up[5m]`, "string" from a string literal), an element without its labels or [time, "value"] pair, a value
// that is not a Go float, two elements with the same labels (Prometheus never sends that).
Result<InstantAnswer> ParseQuery(std::string_view body);

// [start, end] at `step` split into consecutive ranges of at most `max_points` points each (Prometheus refuses
// more than 11,000 points per series and query); the ranges share no point. REQUIRES: step > 0, max_points >= 1.
std::vector<std::pair<double, double>> SplitRange(double start, double end, double step, size_t max_points = 11000);

}  // namespace topdog::advisor
