// Parses the Prometheus text exposition format 0.0.4 (what node_exporter and topdog-exporter serve without
// content negotiation) into samples, for the advisor's embedded mode, which scrapes exporters itself.
// Written by hand because Debian ships no C++ parser of the format (prometheus-cpp only writes it); the
// grammar follows prometheus/common expfmt's text parser: `# HELP`/`# TYPE` lines, other comments, samples
// `name{label="value",...} value [timestamp_ms]` with \\, \" and \n escapes in label values, values as Go
// floats (NaN, +Inf, -Inf). Pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace topdog::exposition {

struct ParsedSample {
  std::string name;  // as written, e.g. "node_cpu_seconds_total" or "http_request_duration_seconds_bucket"
  std::vector<std::pair<std::string, std::string>> labels;  // in the order written, values unescaped
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct ParsedFamily {
  std::string name;
  std::string type;  // "counter", "gauge", "summary", "histogram", "untyped" (also when no TYPE line)
  std::string help;  // unescaped
};

struct ParsedPage {
  std::vector<ParsedSample> samples;   // in page order
  std::vector<ParsedFamily> families;  // one per TYPE or HELP line, in page order
};

struct ParseLimits {
  size_t max_line_bytes = 64 * 1024;  // a longer line is an error, not an allocation
  size_t max_samples = 2'000'000;
  size_t max_labels = 64;  // per sample
};

// A sample value as Go's strconv.ParseFloat reads it (and Prometheus writes it): decimal or exponent notation,
// an optional sign, Inf/+Inf/-Inf/Infinity and NaN in any case; nullopt otherwise or when out of range.
std::optional<double> ParseGoFloat(std::string_view text);

// Errors (kBadData) name the 1-based line and what is wrong: an invalid metric or label name, an unterminated
// or badly escaped label value, a duplicate label name, a missing or unparsable value or timestamp, a TYPE
// other than the five above, a second TYPE for one name, a line or page over the limits.
Result<ParsedPage> ParseTextFormat(std::string_view text, const ParseLimits& limits = {});

}  // namespace topdog::exposition
