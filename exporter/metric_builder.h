// Helpers to build prometheus::MetricFamily values at scrape time: one-off builders (Gauge, AddSample, ...),
// and FamilyWriter (common/exposition), which writes a collector's families over the storage of its previous
// result. Pure.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/exposition/family_writer.h"

namespace topdog::exporter {

using Labels = std::vector<prometheus::ClientMetric::Label>;
using exposition::FamilyWriter;

inline prometheus::MetricFamily MakeFamily(std::string name, std::string help, prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

inline prometheus::MetricFamily Gauge(std::string name, std::string help) {
  return MakeFamily(std::move(name), std::move(help), prometheus::MetricType::Gauge);
}
inline prometheus::MetricFamily Counter(std::string name, std::string help) {
  return MakeFamily(std::move(name), std::move(help), prometheus::MetricType::Counter);
}
inline prometheus::MetricFamily Untyped(std::string name, std::string help) {
  return MakeFamily(std::move(name), std::move(help), prometheus::MetricType::Untyped);
}

// Adds one sample; the value goes into the field matching the family's type.
inline void AddSample(prometheus::MetricFamily& family, double value, Labels labels = {}) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  FamilyWriter::SetValue(metric, family.type, value);
  family.metric.push_back(std::move(metric));
}

// Convenience: a family with one unlabelled sample.
inline prometheus::MetricFamily Single(prometheus::MetricFamily family, double value) {
  AddSample(family, value);
  return family;
}

}  // namespace topdog::exporter
