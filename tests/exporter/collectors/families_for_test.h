// Helpers for collector tests: run a collector once over a reader, find a family, read one sample's value
// by its labels (in any order). Test-only.
#pragma once

#include <prometheus/metric_family.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "exporter/collectors/collectors.h"
#include "tests/fakes/fake_system.h"

namespace topdog::exporter::testing {

using CollectorFactory = Result<std::unique_ptr<Collector>> (*)(const CollectorDeps&);

// Builds the collector (a failed factory is a test failure and its error is returned) and collects once.
inline Result<std::vector<prometheus::MetricFamily>> CollectOnce(CollectorFactory factory, const FileReader& reader,
                                                                 const CollectorOptions& options = {},
                                                                 const System& system = FakeSystem{}) {
  auto collector = factory(CollectorDeps{reader, system, options});
  EXPECT_TRUE(collector) << collector.error().message;
  if (!collector) return tl::unexpected(collector.error());
  return (*collector)->Collect();
}

using LabelMap = std::map<std::string, std::string>;

// A family without samples counts as absent: it is not exposed (see Collector::Collect).
inline const prometheus::MetricFamily* FindFamily(const std::vector<prometheus::MetricFamily>& families,
                                                  const std::string& name) {
  for (const auto& family : families) {
    if (family.name == name && !family.metric.empty()) return &family;
  }
  return nullptr;
}

inline LabelMap LabelsOf(const prometheus::ClientMetric& metric) {
  LabelMap labels;
  for (const auto& label : metric.label) labels[label.name] = label.value;
  return labels;
}

inline double ValueOf(const prometheus::MetricFamily& family, const prometheus::ClientMetric& metric) {
  switch (family.type) {
    case prometheus::MetricType::Counter:
      return metric.counter.value;
    case prometheus::MetricType::Gauge:
      return metric.gauge.value;
    default:
      return metric.untyped.value;
  }
}

// The value of the sample of family `name` whose labels are exactly `labels`; nullopt if absent.
inline std::optional<double> SampleValue(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                                         const LabelMap& labels = {}) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  if (family == nullptr) return std::nullopt;
  for (const auto& metric : family->metric) {
    if (LabelsOf(metric) == labels) return ValueOf(*family, metric);
  }
  return std::nullopt;
}

inline size_t SampleCount(const std::vector<prometheus::MetricFamily>& families, const std::string& name) {
  const prometheus::MetricFamily* family = FindFamily(families, name);
  return family == nullptr ? 0 : family->metric.size();
}

// Names of the exposed families (those with samples), sorted.
inline std::vector<std::string> FamilyNames(const std::vector<prometheus::MetricFamily>& families) {
  std::vector<std::string> names;
  for (const auto& family : families) {
    if (!family.metric.empty()) names.push_back(family.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace topdog::exporter::testing
