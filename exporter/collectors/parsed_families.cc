#include "exporter/collectors/parsed_families.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

namespace topdog::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::optional<MetricType> TypeOf(std::string_view type) {
  if (type == "counter") return MetricType::Counter;
  if (type == "gauge") return MetricType::Gauge;
  if (type == "histogram") return MetricType::Histogram;
  if (type == "summary") return MetricType::Summary;
  if (type == "untyped") return MetricType::Untyped;
  return std::nullopt;
}

// What a sample is within its family.
enum class Role { kValue, kBucket, kQuantile, kSum, kCount };

struct Declared {
  MetricType type = MetricType::Untyped;
  std::string help;
  bool typed = false;  // a TYPE line was seen
};

// A family being built: its series by their labels (without le / quantile), and whether a series has
// seen its _count.
struct Building {
  size_t index = 0;  // in the output
  std::unordered_map<std::string, size_t> series;
  std::vector<bool> has_count;
};

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// The series key: labels in the order written, without `skip`.
std::string SeriesKey(const exposition::ParsedSample& sample, std::string_view skip) {
  std::string key;
  for (const auto& [name, value] : sample.labels) {
    if (name == skip) continue;
    key += name;
    key += '\0';
    key += value;
    key += '\0';
  }
  return key;
}

std::optional<uint64_t> Count(double value) {
  if (!std::isfinite(value) || value < 0 || value > 1.8e19) return std::nullopt;
  return static_cast<uint64_t>(std::llround(value));
}

}  // namespace

Result<std::vector<MetricFamily>> GroupFamilies(const exposition::ParsedPage& page,
                                                const std::function<bool(std::string_view family)>& keep_family) {
  std::unordered_map<std::string, Declared> declared;
  for (const auto& family : page.families) {
    Declared& d = declared[family.name];
    if (!family.help.empty()) d.help = family.help;
    if (auto type = TypeOf(family.type); type && (family.type != "untyped" || !d.typed)) {
      d.type = *type;
      d.typed = true;
    }
  }
  auto declared_as = [&](std::string_view name, std::initializer_list<MetricType> types) -> const Declared* {
    auto it = declared.find(std::string(name));
    if (it == declared.end() || !it->second.typed) return nullptr;
    for (MetricType type : types) {
      if (it->second.type == type) return &it->second;
    }
    return nullptr;
  };

  std::vector<MetricFamily> out;
  std::unordered_map<std::string, Building> building;
  std::unordered_map<std::string, bool> kept;  // keep_family's verdicts
  for (const auto& sample : page.samples) {
    auto fail = [&](std::string why) { return MakeError(ErrorKind::kBadData, "sample " + sample.name + ": " + why); };
    std::string_view family_name = sample.name;
    MetricType type = MetricType::Untyped;
    Role role = Role::kValue;
    std::string_view name = sample.name;
    if (const Declared* d = declared_as(name, {MetricType::Counter, MetricType::Gauge, MetricType::Untyped})) {
      type = d->type;
    } else if (declared_as(name, {MetricType::Summary})) {
      type = MetricType::Summary;
      role = Role::kQuantile;
    } else if (declared_as(name, {MetricType::Histogram})) {
      return fail("a histogram sample needs the suffix _bucket, _sum or _count");
    } else if (EndsWith(name, "_bucket") && declared_as(name.substr(0, name.size() - 7), {MetricType::Histogram})) {
      family_name = name.substr(0, name.size() - 7);
      type = MetricType::Histogram;
      role = Role::kBucket;
    } else if (EndsWith(name, "_sum") &&
               declared_as(name.substr(0, name.size() - 4), {MetricType::Histogram, MetricType::Summary})) {
      family_name = name.substr(0, name.size() - 4);
      type = declared[std::string(family_name)].type;
      role = Role::kSum;
    } else if (EndsWith(name, "_count") &&
               declared_as(name.substr(0, name.size() - 6), {MetricType::Histogram, MetricType::Summary})) {
      family_name = name.substr(0, name.size() - 6);
      type = declared[std::string(family_name)].type;
      role = Role::kCount;
    }

    std::string family_key(family_name);
    if (keep_family) {
      auto verdict = kept.find(family_key);
      if (verdict == kept.end()) verdict = kept.emplace(family_key, keep_family(family_name)).first;
      if (!verdict->second) continue;
    }
    auto [it, added] = building.try_emplace(family_key);
    Building& b = it->second;
    if (added) {
      b.index = out.size();
      MetricFamily family;
      family.name = family_key;
      auto d = declared.find(family_key);
      if (d != declared.end()) family.help = d->second.help;
      family.type = type;
      out.push_back(std::move(family));
    }
    MetricFamily& family = out[b.index];

    if (role == Role::kValue) {
      ClientMetric metric;
      for (const auto& [label, value] : sample.labels) metric.label.push_back({label, value});
      switch (type) {
        case MetricType::Counter:
          metric.counter.value = sample.value;
          break;
        case MetricType::Gauge:
          metric.gauge.value = sample.value;
          break;
        default:
          metric.untyped.value = sample.value;
          break;
      }
      family.metric.push_back(std::move(metric));
      continue;
    }

    std::string_view special = type == MetricType::Histogram ? "le" : "quantile";
    auto [series, new_series] = b.series.try_emplace(SeriesKey(sample, special), family.metric.size());
    if (new_series) {
      ClientMetric metric;
      for (const auto& [label, value] : sample.labels) {
        if (label != special) metric.label.push_back({label, value});
      }
      family.metric.push_back(std::move(metric));
      b.has_count.push_back(false);
    }
    ClientMetric& metric = family.metric[series->second];
    const std::string* special_value = nullptr;
    for (const auto& [label, value] : sample.labels) {
      if (label == special) special_value = &value;
    }
    switch (role) {
      case Role::kBucket: {
        if (special_value == nullptr) return fail("a histogram bucket without an le label");
        auto bound = exposition::ParseGoFloat(*special_value);
        if (!bound || std::isnan(*bound)) return fail("le=\"" + *special_value + "\" is not a number");
        auto count = Count(sample.value);
        if (!count) return fail("a bucket count must be a finite non-negative number");
        metric.histogram.bucket.push_back({*count, *bound});
        break;
      }
      case Role::kQuantile: {
        if (special_value == nullptr) return fail("a summary sample without a quantile label");
        auto quantile = exposition::ParseGoFloat(*special_value);
        if (!quantile) return fail("quantile=\"" + *special_value + "\" is not a number");
        metric.summary.quantile.push_back({*quantile, sample.value});
        break;
      }
      case Role::kSum:
        (type == MetricType::Histogram ? metric.histogram.sample_sum : metric.summary.sample_sum) = sample.value;
        break;
      case Role::kCount: {
        auto count = Count(sample.value);
        if (!count) return fail("a count must be a finite non-negative number");
        (type == MetricType::Histogram ? metric.histogram.sample_count : metric.summary.sample_count) = *count;
        b.has_count[series->second] = true;
        break;
      }
      case Role::kValue:
        break;
    }
  }

  for (auto& [name, b] : building) {
    MetricFamily& family = out[b.index];
    if (family.type != MetricType::Histogram) continue;
    for (size_t i = 0; i < family.metric.size(); ++i) {
      auto& buckets = family.metric[i].histogram.bucket;
      std::stable_sort(buckets.begin(), buckets.end(),
                       [](const auto& a, const auto& b) { return a.upper_bound < b.upper_bound; });
      if (!b.has_count[i] && !buckets.empty() && std::isinf(buckets.back().upper_bound)) {
        family.metric[i].histogram.sample_count = buckets.back().cumulative_count;
      }
    }
  }
  return out;
}

}  // namespace topdog::exporter
