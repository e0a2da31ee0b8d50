// FamilyWriter: builds prometheus::MetricFamily values over the storage of an earlier result, for the
// families a server rebuilds on every scrape. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <atomic>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

namespace topdog::exposition {

// Builds families over the storage of an earlier result. Collectors emit nearly the same families, samples
// and labels on every scrape, so names, help texts, label strings and the vectors holding them are assigned
// in place (std::string::assign within the old capacity) instead of allocated: a steady scrape allocates
// next to nothing, where fresh MetricFamily values cost some 1,100 malloc/free pairs per scrape of the
// default collectors (counted with an LD_PRELOAD malloc counter), about a sixth of the exporter's CPU.
// Any recycled content is fine (another shape only costs allocations). Families are addressed by the
// index Add returns. Not thread-safe.
class FamilyWriter {
 public:
  using Label = std::pair<std::string_view, std::string_view>;

  explicit FamilyWriter(std::vector<prometheus::MetricFamily> recycled = {}) : families_(std::move(recycled)) {
    used_.reserve(families_.size());
  }

  // Starts a family; returns its index.
  size_t Add(std::string_view name, std::string_view help, prometheus::MetricType type);
  size_t Gauge(std::string_view name, std::string_view help) {
    return Add(name, help, prometheus::MetricType::Gauge);
  }
  size_t Counter(std::string_view name, std::string_view help) {
    return Add(name, help, prometheus::MetricType::Counter);
  }

  // Appends a sample to family `family` (a counter, gauge or untyped family).
  void Sample(size_t family, double value, std::span<const Label> labels);
  void Sample(size_t family, double value, std::initializer_list<Label> labels = {}) {
    Sample(family, value, std::span<const Label>(labels.begin(), labels.size()));
  }
  // A family with one unlabelled sample; returns its index.
  size_t Single(std::string_view name, std::string_view help, prometheus::MetricType type, double value) {
    size_t family = Add(name, help, type);
    Sample(family, value);
    return family;
  }

  // Appends a histogram sample: `cumulative_counts[i]` samples were <= `upper_bounds[i]` (the last bound
  // being +Inf). REQUIRES: both spans have the same size.
  void HistogramSample(size_t family, std::span<const Label> labels, uint64_t count, double sum,
                       std::span<const uint64_t> cumulative_counts, std::span<const double> upper_bounds);

  // Samples written to `family` so far.
  size_t SampleCount(size_t family) const { return used_[family]; }
  // Overwrites the value of sample `sample` (< SampleCount) of `family`.
  void SetValue(size_t family, size_t sample, double value) {
    SetValue(families_[family].metric[sample], families_[family].type, value);
  }
  // Families written so far.
  size_t FamilyCount() const { return count_; }

  // The families in the order added. Families without samples stay in (keeping their storage for the next
  // scrape); they are not exposed (CollectorSet::Scrape::Ordered and the text writer skip them).
  std::vector<prometheus::MetricFamily> Finish() &&;

  // Sets the value field matching `type` (counter, gauge or untyped).
  static void SetValue(prometheus::ClientMetric& metric, prometheus::MetricType type, double value);

 private:
  // The next sample of `family`, its labels set.
  prometheus::ClientMetric& NextSample(size_t family, std::span<const Label> labels);

  std::vector<prometheus::MetricFamily> families_;
  std::vector<size_t> used_;  // samples written per family; families_[i].metric may hold more, recycled
  size_t count_ = 0;
};

// Whether `shared` holds the last reference to a result other threads may have read, so that its storage can
// be written over. use_count() is a relaxed load: the acquire fence pairs it with the release of the other
// owners' references, making their reads happen before our writes.
template <class T>
bool SoleOwner(const std::shared_ptr<T>& shared) {
  if (!shared || shared.use_count() != 1) return false;
  std::atomic_thread_fence(std::memory_order_acquire);
  return true;
}

}  // namespace topdog::exposition
