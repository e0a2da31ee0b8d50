#include "common/exposition/family_writer.h"

namespace topdog::exposition {

size_t FamilyWriter::Add(std::string_view name, std::string_view help, prometheus::MetricType type) {
  if (count_ == families_.size()) families_.emplace_back();
  prometheus::MetricFamily& family = families_[count_];
  family.name.assign(name);
  family.help.assign(help);
  family.type = type;
  used_.push_back(0);
  return count_++;
}

prometheus::ClientMetric& FamilyWriter::NextSample(size_t family, std::span<const Label> labels) {
  prometheus::MetricFamily& f = families_[family];
  size_t& used = used_[family];
  if (used == f.metric.size()) f.metric.emplace_back();
  prometheus::ClientMetric& metric = f.metric[used++];
  metric.label.resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    metric.label[i].name.assign(labels[i].first);
    metric.label[i].value.assign(labels[i].second);
  }
  metric.timestamp_ms = 0;
  return metric;
}

void FamilyWriter::Sample(size_t family, double value, std::span<const Label> labels) {
  prometheus::ClientMetric& metric = NextSample(family, labels);
  metric.counter.value = metric.gauge.value = metric.untyped.value = 0;
  SetValue(metric, families_[family].type, value);
}

void FamilyWriter::HistogramSample(size_t family, std::span<const Label> labels, uint64_t count, double sum,
                                   std::span<const uint64_t> cumulative_counts,
                                   std::span<const double> upper_bounds) {
  prometheus::ClientMetric& metric = NextSample(family, labels);
  metric.histogram.sample_count = count;
  metric.histogram.sample_sum = sum;
  metric.histogram.bucket.resize(cumulative_counts.size());
  for (size_t i = 0; i < cumulative_counts.size(); ++i) {
    metric.histogram.bucket[i].cumulative_count = cumulative_counts[i];
    metric.histogram.bucket[i].upper_bound = upper_bounds[i];
  }
}

void FamilyWriter::SetValue(prometheus::ClientMetric& metric, prometheus::MetricType type, double value) {
  switch (type) {
    case prometheus::MetricType::Counter: metric.counter.value = value; break;
    case prometheus::MetricType::Gauge: metric.gauge.value = value; break;
    default: metric.untyped.value = value; break;
  }
}

std::vector<prometheus::MetricFamily> FamilyWriter::Finish() && {
  families_.resize(count_);
  for (size_t i = 0; i < count_; ++i) families_[i].metric.resize(used_[i]);
  return std::move(families_);
}

}  // namespace topdog::exposition
