// Serializes prometheus::MetricFamily values into the Prometheus text format 0.0.4 or OpenMetrics 1.0.0.
// Numbers are written like Go's expfmt (shortest round-trip, exponent form outside [1e-4, 1e6)), so our
// output matches node_exporter's byte for byte where the values match. Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <prometheus/metric_family.h>

namespace topdog::exposition {

enum class Format { kText004, kOpenMetrics100 };

// Content-Type header value for the format.
std::string_view ContentType(Format format);

// Picks the format from an HTTP Accept header the way client_golang's negotiation does: OpenMetrics when
// the client prefers application/openmetrics-text (by q-value), text 0.0.4 otherwise.
Format NegotiateFormat(std::string_view accept_header);

// Appends the number as Go's strconv.FormatFloat(v, 'g', -1, 64) would ("+Inf", "-Inf", "NaN" for
// special values).
void AppendGoFloat(std::string& out, double value);

// Appends all families. For OpenMetrics the caller appends "# EOF\n" after the last call (FinishOpenMetrics).
// Families with no samples are skipped, as client_golang does.
void AppendFamilies(std::string& out, const std::vector<prometheus::MetricFamily>& families, Format format);
void AppendFamily(std::string& out, const prometheus::MetricFamily& family, Format format);

void FinishOpenMetrics(std::string& out);

// Validity as Prometheus parses it: metric names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
// label values valid UTF-8. One invalid byte in a label value makes Prometheus reject the whole scrape.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
bool IsValidUtf8(std::string_view text);

// Checks every name and label value of the families; the error names the first bad one.
// Returns "" when all are valid.
std::string FindInvalid(const std::vector<prometheus::MetricFamily>& families);

}  // namespace topdog::exposition
