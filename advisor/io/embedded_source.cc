#include "advisor/io/embedded_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <string_view>

#include "advisor/io/atomic_file.h"

namespace topdog::advisor {
namespace {

Result<void> WithSnapshotContext(Result<void> result) {
  if (!result) return tl::unexpected(result.error().WithContext("history snapshot"));
  return result;
}

// Maps errno to the kinds of common/result.h; the message names the operation and the file, never content.
Error FileError(std::string_view what, const std::string& path, int error_number) {
  ErrorKind kind = ErrorKind::kUnavailable;
  if (error_number == ENOENT || error_number == ENOTDIR) kind = ErrorKind::kNotFound;
  if (error_number == EACCES || error_number == EPERM || error_number == EROFS) kind = ErrorKind::kRejected;
  return Error{kind, "history snapshot " + path + ": " + std::string(what) + ": " + std::strerror(error_number)};
}

// A snapshot of max_series x points floats is at most a few hundred MB for any sane config; a larger file is
// not ours (and reading it would be the allocation the bounded store exists to avoid).
constexpr off_t kMaxSnapshotBytes = off_t{4} << 30;

Result<std::string> ReadWholeFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(FileError("open", path, errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const int error_number = errno;
    ::close(fd);
    return tl::unexpected(FileError("stat", path, error_number));
  }
  if (!S_ISREG(info.st_mode) || info.st_size > kMaxSnapshotBytes) {
    ::close(fd);
    return MakeError(ErrorKind::kBadData, "history snapshot " + path + ": not a regular file of a sane size");
  }
  std::string bytes;
  bytes.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      ::close(fd);
      return tl::unexpected(FileError("read", path, error_number));
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<size_t>(got));
    if (static_cast<off_t>(bytes.size()) > kMaxSnapshotBytes) {
      ::close(fd);
      return MakeError(ErrorKind::kBadData, "history snapshot " + path + ": grew past a sane size while read");
    }
  }
  ::close(fd);
  return bytes;
}

std::string Number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

Result<Series> ResampleRing(const Series& ring, double start_seconds, double end_seconds, double step_seconds,
                            size_t max_points) {
  if (!std::isfinite(start_seconds) || !std::isfinite(end_seconds) || !std::isfinite(step_seconds) ||
      step_seconds <= 0 || end_seconds < start_seconds) {
    return MakeError(ErrorKind::kBadData, "bad range [" + Number(start_seconds) + ", " + Number(end_seconds) +
                                              "] step " + Number(step_seconds));
  }
  const double ring_step = ring.step_seconds;
  const double ratio = step_seconds / ring_step;
  const double steps_per_point = std::round(ratio);
  if (steps_per_point < 1 || std::abs(ratio - steps_per_point) > 1e-9 * ratio) {
    return MakeError(ErrorKind::kBadData, "step " + Number(step_seconds) +
                                              " s is not a whole multiple of the embedded history's step " +
                                              Number(ring_step) + " s");
  }
  const double count = std::floor((end_seconds - start_seconds) / step_seconds) + 1;
  if (count > static_cast<double>(max_points)) {
    return MakeError(ErrorKind::kBadData,
                     "range of " + Number(count) + " points is over the limit of " + std::to_string(max_points));
  }
  const auto k = static_cast<int64_t>(steps_per_point);
  // Absolute slot indexes (time / ring step), as HistoryStore numbers them; values[0] is slot `oldest`.
  const auto oldest = static_cast<int64_t>(std::llround(ring.start_seconds / ring_step));
  const auto newest = oldest + static_cast<int64_t>(ring.values.size()) - 1;
  Series out;
  out.start_seconds = start_seconds;
  out.step_seconds = step_seconds;
  out.values.reserve(static_cast<size_t>(count));
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) {
    const double t = out.TimeAt(i);
    // A hair of tolerance so a t computed as start + i * step lands in the slot it names, not the one before.
    const auto last = static_cast<int64_t>(std::floor(t / ring_step + 1e-9));
    const int64_t first = std::max(last - k + 1, oldest);
    double sum = 0;
    size_t observed = 0;
    for (int64_t slot = first; slot <= std::min(last, newest); ++slot) {
      const double value = ring.values[static_cast<size_t>(slot - oldest)];
      if (std::isnan(value)) continue;
      sum += value;
      ++observed;
    }
    out.values.push_back(observed == 0 ? std::numeric_limits<double>::quiet_NaN()
                                       : sum / static_cast<double>(observed));
  }
  return out;
}

Result<Series> EmbeddedSource::Fetch(const SeriesQuery& query, double start_seconds, double end_seconds,
                                     double step_seconds) {
  if (query.embedded_key.empty()) {
    return MakeError(ErrorKind::kNotFound, "the query names no embedded key (it is for Prometheus only)");
  }
  // Copy the ring under the lock, resample outside it: the scrape thread is not held up by the arithmetic.
  std::optional<Series> ring = history_.With([&](HistoryStore& store) { return store.Get(query.embedded_key); });
  if (!ring) {
    return MakeError(ErrorKind::kNotFound,
                     "embedded history has no series " + query.embedded_key + " (not configured, or not scraped yet)");
  }
  auto series = ResampleRing(*ring, start_seconds, end_seconds, step_seconds);
  if (!series) return tl::unexpected(series.error().WithContext("embedded series " + query.embedded_key));
  return series;
}

Result<void> SaveSnapshot(const HistoryStore& store, const std::string& path) {
  return WithSnapshotContext(WriteFileAtomically(path, store.Encode(), 0600));
}

Result<void> SaveSnapshot(SharedHistory& history, const std::string& path) {
  const std::string bytes = history.With([](HistoryStore& store) { return store.Encode(); });
  return WithSnapshotContext(WriteFileAtomically(path, bytes, 0600));
}

Result<HistoryStore> LoadSnapshot(const std::string& path) {
  auto bytes = ReadWholeFile(path);
  if (!bytes) return tl::unexpected(bytes.error());
  auto store = HistoryStore::Decode(*bytes);
  if (!store) return tl::unexpected(store.error().WithContext(path));
  return store;
}

Result<std::string> SetAsideCorruptSnapshot(const std::string& path) {
  const std::string aside = path + ".corrupt";
  if (::rename(path.c_str(), aside.c_str()) != 0) return tl::unexpected(FileError("rename", path, errno));
  return aside;
}

AdoptedHistory AdoptSnapshot(const HistoryStore& snapshot, const HistoryGeometry& geometry,
                             const std::vector<std::string>& keep_keys) {
  AdoptedHistory adopted{HistoryStore(geometry.step_seconds, geometry.points_per_series, geometry.max_series), 0, {}};
  const std::set<std::string, std::less<>> keep(keep_keys.begin(), keep_keys.end());
  size_t dropped_unconfigured = 0, dropped_full = 0;
  bool warned_shorter = false;
  for (const std::string& key : snapshot.Keys()) {
    if (keep.count(key) == 0) {
      ++dropped_unconfigured;
      continue;
    }
    std::optional<Series> ring = snapshot.Get(key);
    if (!ring) continue;  // a key without values: nothing to restore
    if (std::abs(ring->step_seconds - geometry.step_seconds) > 1e-9 * geometry.step_seconds) {
      adopted.warnings.push_back("history snapshot step " + Number(ring->step_seconds) +
                                 " s differs from the configured " + Number(geometry.step_seconds) +
                                 " s: starting with an empty history");
      adopted.store = HistoryStore(geometry.step_seconds, geometry.points_per_series, geometry.max_series);
      adopted.series_restored = 0;
      return adopted;
    }
    if (ring->values.size() > geometry.points_per_series && !warned_shorter) {
      warned_shorter = true;
      adopted.warnings.push_back("history snapshot holds " + std::to_string(ring->values.size()) +
                                 " points per series, the config " + std::to_string(geometry.points_per_series) +
                                 ": only the newest are kept");
    }
    bool added = false, rejected = false;
    for (size_t i = 0; i < ring->values.size() && !rejected; ++i) {
      if (std::isnan(ring->values[i])) continue;
      // Mid-slot, so rounding in TimeAt can't move a value into the neighbouring slot.
      if (!adopted.store.Add(key, ring->TimeAt(i) + 0.5 * ring->step_seconds, ring->values[i])) {
        rejected = true;  // max_series reached
      } else {
        added = true;
      }
    }
    if (rejected) {
      ++dropped_full;
    } else if (added) {
      ++adopted.series_restored;
    }
  }
  if (dropped_unconfigured > 0) {
    adopted.warnings.push_back("history snapshot: " + std::to_string(dropped_unconfigured) +
                               " series no longer configured were dropped");
  }
  if (dropped_full > 0) {
    adopted.warnings.push_back("history snapshot: " + std::to_string(dropped_full) +
                               " series dropped: over the configured maximum of " +
                               std::to_string(geometry.max_series));
  }
  return adopted;
}

RestoreOutcome RestoreHistory(SharedHistory& history, const std::string& path,
                              const std::vector<std::string>& keep_keys) {
  RestoreOutcome outcome;
  auto loaded = LoadSnapshot(path);
  if (!loaded) {
    switch (loaded.error().kind) {
      case ErrorKind::kNotFound:
        outcome.state = RestoreOutcome::State::kFresh;
        return outcome;
      case ErrorKind::kBadData: {
        outcome.state = RestoreOutcome::State::kSetAside;
        outcome.warnings.push_back(loaded.error().message + "; starting with an empty history");
        auto aside = SetAsideCorruptSnapshot(path);
        outcome.warnings.push_back(aside ? "corrupt history snapshot kept as " + *aside
                                         : "cannot set the corrupt snapshot aside: " + aside.error().message);
        return outcome;
      }
      default:
        outcome.state = RestoreOutcome::State::kUnreadable;
        outcome.warnings.push_back(loaded.error().message + "; starting with an empty history");
        return outcome;
    }
  }
  AdoptedHistory adopted = AdoptSnapshot(*loaded, history.geometry(), keep_keys);
  outcome.state = RestoreOutcome::State::kRestored;
  outcome.series_restored = adopted.series_restored;
  outcome.warnings = std::move(adopted.warnings);
  history.With([&](HistoryStore& store) { store = std::move(adopted.store); });
  return outcome;
}

}  // namespace topdog::advisor
