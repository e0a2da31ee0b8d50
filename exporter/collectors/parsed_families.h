// GroupFamilies: the samples of a parsed text-format page (exposition::ParseTextFormat) back into typed metric
// families, for the collectors that re-expose another server's page (envoy, backend_metrics). Pure,
// thread-safe.
#pragma once

#include <prometheus/metric_family.h>

#include <functional>
#include <string_view>
#include <vector>

#include "common/exposition/text_parser.h"
#include "common/result.h"

namespace topdog::exporter {

// Samples are assigned to families as Prometheus reads the text format: a sample belongs to the counter, gauge
// or untyped family of its name; `<name>_bucket`, `_sum` and `_count` to the histogram `<name>`, the sample
// `<name>` and `_sum`, `_count` to the summary `<name>`, when a TYPE line declared them so; any other sample is
// an untyped family of its own name. Histogram and summary series are keyed by their labels without `le` /
// `quantile`; buckets are sorted by bound; a histogram without `_count` takes its +Inf bucket. Families come in
// order of first appearance, samples in page order; timestamps are dropped (the exporter writes none).
// `keep_family` (null: keep all) is asked once per family name; samples of families it rejects are skipped.
// Errors (kBadData): a bucket without a numeric `le`, a summary sample without `quantile`, a negative or
// non-finite bucket count, a sample named like a histogram itself.
Result<std::vector<prometheus::MetricFamily>> GroupFamilies(
    const exposition::ParsedPage& page, const std::function<bool(std::string_view family)>& keep_family = nullptr);

}  // namespace topdog::exporter
