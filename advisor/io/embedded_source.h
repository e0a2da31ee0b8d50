// The embedded mode's history (no Prometheus): SharedHistory, the HistoryStore the scrape thread writes and the
// reconciler reads, behind one mutex; EmbeddedSource, the HistorySource over it; and the snapshot file that
// lets a restart keep its history. SharedHistory and EmbeddedSource are thread-safe; the free functions are.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "advisor/core/history.h"
#include "advisor/core/series.h"
#include "advisor/io/history_source.h"
#include "common/result.h"

namespace topdog::advisor {

// The store's shape, from the config: ring step, ring length, and how many keys it may hold.
struct HistoryGeometry {
  double step_seconds = 60;
  size_t points_per_series = 14 * 24 * 60;  // 14 days of 1-minute steps
  size_t max_series = 1000;
};

// A HistoryStore (not thread-safe itself) and the mutex that guards it, with the geometry it was made with
// (HistoryStore does not expose it). Every access goes through With(), which holds the lock for the call.
class SharedHistory {
 public:
  // REQUIRES: geometry.step_seconds > 0, geometry.points_per_series > 0.
  explicit SharedHistory(const HistoryGeometry& geometry)
      : geometry_(geometry), store_(geometry.step_seconds, geometry.points_per_series, geometry.max_series) {}
  SharedHistory(const SharedHistory&) = delete;
  SharedHistory& operator=(const SharedHistory&) = delete;

  const HistoryGeometry& geometry() const { return geometry_; }

  // Calls fn(HistoryStore&) under the lock and returns what it returns. Keep fn short: the other thread waits.
  template <class Fn>
  decltype(auto) With(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::forward<Fn>(fn)(store_);
  }

 private:
  const HistoryGeometry geometry_;
  std::mutex mutex_;
  HistoryStore store_;
};

// `ring` (a HistoryStore::Get result: slot i holds what was recorded in [TimeAt(i), TimeAt(i) + ring step))
// on the grid start, start + step, ... <= end, as Prometheus's query_range lays out points. The point at t is
// the mean of the non-NaN values of the k = step / ring-step slots ending with the slot that contains t (NaN
// when none, or outside the ring), so with k = 1 it is that slot's value. Errors (kBadData): a step that is not
// a whole multiple of the ring's, a non-finite or reversed range, more than `max_points` points.
Result<Series> ResampleRing(const Series& ring, double start_seconds, double end_seconds, double step_seconds,
                            size_t max_points = 5'000'000);

// The reconciler's view of the embedded history: Fetch reads query.embedded_key (the PromQL is ignored).
// Errors: kNotFound for an unknown or empty key (nothing recorded yet, or not configured), kBadData as
// ResampleRing. A key whose newest values are old shows as trailing gaps (NaN), which the caller treats as
// stale data; it is not an error here. Thread-safe.
class EmbeddedSource : public HistorySource {
 public:
  explicit EmbeddedSource(SharedHistory& history) : history_(history) {}
  Result<Series> Fetch(const SeriesQuery& query, double start_seconds, double end_seconds,
                       double step_seconds) override;
  const char* Name() const override { return "embedded"; }

 private:
  SharedHistory& history_;
};

// The snapshot file: HistoryStore::Encode's bytes written atomically (path.tmp, fsync, rename over path,
// fsync of the directory), so a crash leaves the old or the new snapshot, never half of one. Errors:
// kNotFound (the directory is missing), kRejected (permission denied), kUnavailable (other I/O errors, e.g.
// disk full). The SharedHistory overload encodes under the lock and writes after releasing it.
Result<void> SaveSnapshot(const HistoryStore& store, const std::string& path);
Result<void> SaveSnapshot(SharedHistory& history, const std::string& path);

// Reads and decodes a snapshot. Errors: kNotFound (no file: a fresh start), kBadData (not a snapshot,
// truncated, damaged, wrong version: HistoryStore::Decode's message), kRejected (permission denied),
// kUnavailable (other read errors).
Result<HistoryStore> LoadSnapshot(const std::string& path);

// Renames a corrupt snapshot to path + ".corrupt" (replacing an older one), so it can be inspected and the
// next SaveSnapshot does not overwrite the evidence. Returns the new path.
Result<std::string> SetAsideCorruptSnapshot(const std::string& path);

// A loaded snapshot copied into a store of the configured geometry, keeping only `keep_keys` (keys dropped
// from the config would otherwise hold a slot of max_series forever). Geometry changes:
// - a different step: nothing is restored (resampling would mix averaged and last-wins values); a warning.
// - fewer points: the newest points are kept; a warning. More points: all kept, the ring is longer.
// - more kept keys than max_series: the first ones in key order are kept; a warning.
struct AdoptedHistory {
  HistoryStore store;
  size_t series_restored = 0;
  std::vector<std::string> warnings;  // for the daemon's log, one line each
};
AdoptedHistory AdoptSnapshot(const HistoryStore& snapshot, const HistoryGeometry& geometry,
                             const std::vector<std::string>& keep_keys);

// The daemon's start-up in one call: load `path` into `history` through AdoptSnapshot. A missing file is a
// fresh start; a corrupt one is set aside (SetAsideCorruptSnapshot) and the history starts empty; an
// unreadable one is left in place and the history starts empty. Never fails: the outcome says what happened
// so the daemon logs it (warnings) and counts it.
struct RestoreOutcome {
  enum class State { kFresh, kRestored, kSetAside, kUnreadable };
  State state = State::kFresh;
  size_t series_restored = 0;
  std::vector<std::string> warnings;
};
RestoreOutcome RestoreHistory(SharedHistory& history, const std::string& path,
                              const std::vector<std::string>& keep_keys);

}  // namespace topdog::advisor
