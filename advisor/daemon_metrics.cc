#include "advisor/daemon_metrics.h"

#include <limits>

namespace topdog::advisor {

void GaugeBatch::Set(const std::string& name, const std::string& help, MetricLabels labels, double value) {
  Family& family = families_[name];
  family.help = help;
  family.samples[std::move(labels)] = value;
}

void DaemonMetrics::Count(const std::string& name, const std::string& help, const MetricLabels& labels, double delta) {
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.help = help;
  family.counter = true;
  family.samples[labels] += delta;
}

void DaemonMetrics::Set(const std::string& name, const std::string& help, const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  Family& family = families_[name];
  family.help = help;
  family.samples[labels] = value;
}

void DaemonMetrics::Publish(const GaugeBatch& batch, const std::vector<std::string>& families) {
  std::lock_guard lock(mutex_);
  for (const std::string& name : families) {
    if (!batch.families_.count(name)) {
      auto it = families_.find(name);
      if (it != families_.end()) it->second.samples.clear();
    }
  }
  for (const auto& [name, staged] : batch.families_) {
    Family& family = families_[name];
    family.help = staged.help;
    family.counter = false;
    family.samples = staged.samples;
  }
}

void DaemonMetrics::Append(exposition::FamilyWriter& out) const {
  std::lock_guard lock(mutex_);
  std::vector<exposition::FamilyWriter::Label> labels;
  for (const auto& [name, family] : families_) {
    if (family.samples.empty()) continue;
    const size_t index = family.counter ? out.Counter(name, family.help) : out.Gauge(name, family.help);
    for (const auto& [label_set, value] : family.samples) {
      labels.clear();
      for (const auto& [label, text] : label_set) labels.emplace_back(label, text);
      out.Sample(index, value, labels);
    }
  }
}

double DaemonMetrics::Value(const std::string& name, const MetricLabels& labels) const {
  std::lock_guard lock(mutex_);
  auto family = families_.find(name);
  if (family == families_.end()) return std::numeric_limits<double>::quiet_NaN();
  auto sample = family->second.samples.find(labels);
  return sample == family->second.samples.end() ? std::numeric_limits<double>::quiet_NaN() : sample->second;
}

}  // namespace topdog::advisor
