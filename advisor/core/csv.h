// The forecast command's file formats, as pure text functions: samples in (`timestamp,value` with a
// header row; epoch seconds, RFC 3339 or "YYYY-MM-DD HH:MM:SS" UTC) and quantile forecasts out.
// Thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

enum class TimeFormat { kEpochSeconds, kRfc3339, kDateTime };

struct SamplesCsv {
  std::vector<Sample> samples;  // sorted by time, distinct times, finite values
  TimeFormat time_format = TimeFormat::kEpochSeconds;  // of the first row; output uses the same
};

// Errors (kBadData) name the 1-based line: no data rows, a row without exactly two fields, a timestamp or
// value that does not parse, NaN or infinite values, a timestamp not after the previous row's (unsorted or
// duplicate). A first row that parses as data is taken as data (a missing header is not an error).
Result<SamplesCsv> ParseSamplesCsv(std::string_view text);

// A load trace for the backtest: `timestamp,value` as above, or a header naming more columns: the first is
// the time, the value is the column named "value", "requests" or "count", and rows with a non-empty "flag"
// column or an empty value are kept but marked unscored (their value is NaN when empty). Same errors.
struct TraceCsv {
  std::vector<Sample> samples;
  std::vector<bool> unscored;  // per sample
};
Result<TraceCsv> ParseTraceCsv(std::string_view text);

// One timestamp: "1700000000", "1700000000.5", "2024-03-01T12:00:00Z", "2024-03-01T12:00:00.250+02:00",
// "2024-03-01 12:00:00" (UTC). Error message without the line.
Result<double> ParseTimestamp(std::string_view text, TimeFormat* format = nullptr);
std::string FormatTimestamp(double epoch_seconds, TimeFormat format);

// "timestamp,q0.5,q0.9" then one row per time; values[i][j] is quantile j at times[i].
std::string FormatForecastCsv(const std::vector<double>& times, TimeFormat format,
                              const std::vector<double>& quantiles,
                              const std::vector<std::vector<double>>& values);

}  // namespace topdog::advisor
