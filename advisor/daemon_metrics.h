// DaemonMetrics: the advisor's own /metrics families (forecasts, recommendations, decisions, errors, leader
// status, embedded scraping). Counters accumulate; gauges are replaced a whole family at a time, so a scrape
// never sees half a reconcile pass and workloads that went away disappear. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/exposition/family_writer.h"

namespace topdog::advisor {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Gauge samples gathered during a pass, then published at once with DaemonMetrics::Publish.
class GaugeBatch {
 public:
  void Set(const std::string& name, const std::string& help, MetricLabels labels, double value);

 private:
  friend class DaemonMetrics;
  struct Family {
    std::string help;
    std::map<MetricLabels, double> samples;
  };
  std::map<std::string, Family> families_;
};

class DaemonMetrics {
 public:
  // Adds `delta` to counter `name{labels}`.
  void Count(const std::string& name, const std::string& help, const MetricLabels& labels, double delta = 1);
  // Sets one gauge sample (for values not tied to a pass: leader status, last success time).
  void Set(const std::string& name, const std::string& help, const MetricLabels& labels, double value);
  // Replaces every family present in `batch` by the batch's samples; `families` lists families to clear when
  // the batch has none of them (a pass with no workloads left).
  void Publish(const GaugeBatch& batch, const std::vector<std::string>& families = {});
  void Append(exposition::FamilyWriter& out) const;
  // One sample's value, or NaN (tests).
  double Value(const std::string& name, const MetricLabels& labels) const;

 private:
  struct Family {
    std::string help;
    bool counter = false;
    std::map<MetricLabels, double> samples;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
};

}  // namespace topdog::advisor
