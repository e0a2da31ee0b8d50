// HistoryStore: the embedded mode's memory of scraped series (issue 5): one ring of float values per series on
// a fixed step, so the footprint is bounded by max_series x points_per_series x 4 bytes whatever runs, and a
// snapshot encoding so a restart keeps its history. Pure (the daemon writes and reads the snapshot file);
// not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/core/series.h"
#include "common/result.h"

namespace topdog::advisor {

class HistoryStore {
 public:
  // REQUIRES: step_seconds > 0, points_per_series > 0.
  HistoryStore(double step_seconds, size_t points_per_series, size_t max_series);

  // Records `value` for `key` in the step holding `time_seconds` (the last value of a step wins). A sample
  // older than the ring is dropped; steps skipped over become gaps. Errors (kRejected): a new key beyond
  // max_series, a non-finite time.
  Result<void> Add(std::string_view key, double time_seconds, double value);

  // The ring of `key` as a regular series ending at its newest step (gaps NaN); nullopt for an unknown key.
  std::optional<Series> Get(std::string_view key) const;

  std::vector<std::string> Keys() const;
  size_t SeriesCount() const { return series_.size(); }
  // The values' memory: the bound the footprint figure is about.
  size_t ValueBytes() const { return series_.size() * points_ * sizeof(float); }

  // A versioned binary snapshot with a checksum; Decode refuses anything else with a clear error (kBadData).
  std::string Encode() const;
  static Result<HistoryStore> Decode(std::string_view bytes);

 private:
  struct Ring {
    int64_t newest_step = 0;    // absolute step index (time / step) of the newest value
    std::vector<float> values;  // values[step % points]; NaN = no sample
    bool empty = true;
  };

  double step_;
  size_t points_;
  size_t max_series_;
  std::map<std::string, Ring, std::less<>> series_;
};

}  // namespace topdog::advisor
