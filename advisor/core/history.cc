#include "advisor/core/history.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace topdog::advisor {
namespace {

constexpr char kMagic[4] = {'T', 'D', 'H', 'S'};
constexpr uint32_t kVersion = 1;
constexpr size_t kMaxPoints = 10'000'000;
constexpr size_t kMaxSeries = 1'000'000;
constexpr size_t kMaxKeyBytes = 4096;

// FNV-1a, 64 bits: catches a truncated or damaged file (not an attacker; the file is ours).
uint64_t Checksum(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

template <class T>
void Put(std::string& out, T value) {
  char buffer[sizeof(T)];
  std::memcpy(buffer, &value, sizeof(T));  // little-endian hosts only (x86-64, arm64), as the format says
  out.append(buffer, sizeof(T));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  bool Get(T& value) {
    if (bytes_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::string_view& out) {
    if (bytes_.size() - pos_ < n) return false;
    out = bytes_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  size_t Remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

size_t Slot(int64_t step, size_t points) {
  int64_t p = static_cast<int64_t>(points);
  return static_cast<size_t>(((step % p) + p) % p);
}

}  // namespace

HistoryStore::HistoryStore(double step_seconds, size_t points_per_series, size_t max_series)
    : step_(step_seconds), points_(points_per_series), max_series_(max_series) {}

Result<void> HistoryStore::Add(std::string_view key, double time_seconds, double value) {
  const double step_index = std::floor(time_seconds / step_);
  if (!std::isfinite(step_index) || std::abs(step_index) > 9e15) {
    return MakeError(ErrorKind::kRejected, "sample time " + std::to_string(time_seconds) + " is out of range");
  }
  const auto step = static_cast<int64_t>(step_index);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= max_series_) {
      return MakeError(ErrorKind::kRejected, "history holds " + std::to_string(max_series_) +
                                                 " series already: " + std::string(key) + " is not kept");
    }
    it = series_.emplace(std::string(key), Ring{}).first;
  }
  Ring& ring = it->second;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  if (ring.empty) {
    ring.values.assign(points_, nan);
    ring.newest_step = step;
    ring.empty = false;
  } else if (step > ring.newest_step) {
    // The steps skipped over are gaps (at most a whole ring of them).
    const int64_t skipped = std::min<int64_t>(step - ring.newest_step, static_cast<int64_t>(points_));
    for (int64_t s = step - skipped + 1; s <= step; ++s) ring.values[Slot(s, points_)] = nan;
    ring.newest_step = step;
  } else if (step <= ring.newest_step - static_cast<int64_t>(points_)) {
    return {};  // older than what the ring holds
  }
  ring.values[Slot(step, points_)] = static_cast<float>(value);
  return {};
}

std::optional<Series> HistoryStore::Get(std::string_view key) const {
  auto it = series_.find(key);
  if (it == series_.end() || it->second.empty) return std::nullopt;
  const Ring& ring = it->second;
  Series series;
  series.step_seconds = step_;
  const int64_t oldest = ring.newest_step - static_cast<int64_t>(points_) + 1;
  series.start_seconds = static_cast<double>(oldest) * step_;
  series.values.reserve(points_);
  for (int64_t s = oldest; s <= ring.newest_step; ++s) series.values.push_back(ring.values[Slot(s, points_)]);
  return series;
}

std::vector<std::string> HistoryStore::Keys() const {
  std::vector<std::string> keys;
  for (const auto& [key, ring] : series_) keys.push_back(key);
  return keys;
}

std::string HistoryStore::Encode() const {
  std::string out(kMagic, sizeof kMagic);
  Put(out, kVersion);
  Put(out, step_);
  Put(out, static_cast<uint64_t>(points_));
  Put(out, static_cast<uint64_t>(max_series_));
  Put(out, static_cast<uint64_t>(series_.size()));
  for (const auto& [key, ring] : series_) {
    Put(out, static_cast<uint32_t>(key.size()));
    out += key;
    Put(out, ring.newest_step);
    Put(out, static_cast<uint8_t>(ring.empty ? 1 : 0));
    if (!ring.empty) out.append(reinterpret_cast<const char*>(ring.values.data()), points_ * sizeof(float));
  }
  Put(out, Checksum(out));
  return out;
}

Result<HistoryStore> HistoryStore::Decode(std::string_view bytes) {
  auto bad = [](const std::string& why) { return MakeError(ErrorKind::kBadData, "history snapshot: " + why); };
  if (bytes.size() < sizeof kMagic + sizeof(uint64_t) || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    return bad("not a topdog history snapshot");
  }
  std::string_view body = bytes.substr(0, bytes.size() - sizeof(uint64_t));
  uint64_t stored_checksum = 0;
  std::memcpy(&stored_checksum, bytes.data() + body.size(), sizeof stored_checksum);
  if (Checksum(body) != stored_checksum) return bad("checksum mismatch (truncated or damaged file)");
  Reader in(body.substr(sizeof kMagic));
  uint32_t version = 0;
  double step = 0;
  uint64_t points = 0, max_series = 0, count = 0;
  if (!in.Get(version) || !in.Get(step) || !in.Get(points) || !in.Get(max_series) || !in.Get(count)) {
    return bad("header cut short");
  }
  if (version != kVersion) return bad("version " + std::to_string(version) + ", expected " + std::to_string(kVersion));
  if (!(step > 0) || !std::isfinite(step) || points == 0 || points > kMaxPoints || max_series > kMaxSeries ||
      count > max_series) {
    return bad("header values out of range");
  }
  HistoryStore store(step, static_cast<size_t>(points), static_cast<size_t>(max_series));
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t key_size = 0;
    std::string_view key;
    Ring ring;
    uint8_t empty = 0;
    if (!in.Get(key_size) || key_size > kMaxKeyBytes || !in.Bytes(key_size, key) || !in.Get(ring.newest_step) ||
        !in.Get(empty) || empty > 1) {
      return bad("series " + std::to_string(i) + " cut short or malformed");
    }
    ring.empty = empty == 1;
    if (!ring.empty) {
      std::string_view values;
      if (!in.Bytes(static_cast<size_t>(points) * sizeof(float), values)) {
        return bad("series " + std::to_string(i) + " values cut short");
      }
      ring.values.resize(static_cast<size_t>(points));
      std::memcpy(ring.values.data(), values.data(), values.size());
    }
    // Encode writes keys in order; anything else is not a file we wrote.
    if (!store.series_.empty() && !(store.series_.rbegin()->first < key)) {
      return bad("series " + std::string(key) + " out of order or repeated");
    }
    store.series_.emplace_hint(store.series_.end(), std::string(key), std::move(ring));
  }
  if (in.Remaining() != 0) return bad("trailing bytes after the last series");
  return store;
}

}  // namespace topdog::advisor
