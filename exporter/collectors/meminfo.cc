// The meminfo collector (node_exporter collector/meminfo_linux.go): one node_memory_<Key>[_bytes] gauge
// per /proc/meminfo line. Caches names per key; not called concurrently.
#include "exporter/parse/meminfo.h"

#include <string>
#include <unordered_map>
#include <vector>

#include "exporter/collectors/collectors.h"
#include "exporter/metric_builder.h"
#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

// node_exporter's reParens.ReplaceAllString(key, "_${1}") with reParens = `\((.*)\)`: the greedy match runs
// from the first '(' to the last ')', so "Active(anon)" -> "Active_anon".
std::string NormalizeKey(std::string_view key) {
  size_t open = key.find('(');
  size_t close = key.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::string(key);
  std::string out;
  out.reserve(key.size());
  out.append(key.substr(0, open));
  out += '_';
  out.append(key.substr(open + 1, close - open - 1));
  out.append(key.substr(close + 1));
  return out;
}

bool IsMetricNameSuffix(std::string_view text) {
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
    if (!ok) return false;
  }
  return !text.empty();
}

class MeminfoCollector final : public Collector {
 public:
  explicit MeminfoCollector(const CollectorDeps& deps)
      : reader_(deps.reader), path_(deps.options.paths.Proc("meminfo")) {}

  std::string_view Name() const override { return "meminfo"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.Read(path_);
    if (!text) return tl::unexpected(text.error());
    auto entries = ParseMeminfo(*text);
    if (!entries) return tl::unexpected(entries.error().WithContext(path_));

    std::vector<MetricFamily> out;
    out.reserve(entries->size());
    // node_exporter collects into a map, so a key printed twice yields its last value once.
    std::unordered_map<const Names*, size_t> index_by_names;
    for (const MeminfoEntry& entry : *entries) {
      auto names = NamesFor(entry);
      if (!names) return tl::unexpected(names.error());
      double value = entry.has_unit ? entry.value * 1024 : entry.value;  // node_exporter presumes kB
      auto [it, inserted] = index_by_names.emplace(*names, out.size());
      if (!inserted) {
        MetricFamily& earlier = out[it->second];
        if (earlier.type == prometheus::MetricType::Counter) {
          earlier.metric.front().counter.value = value;
        } else {
          earlier.metric.front().gauge.value = value;
        }
        continue;
      }
      out.push_back(Single((*names)->counter ? Counter((*names)->name, (*names)->help)
                                             : Gauge((*names)->name, (*names)->help),
                           value));
    }
    return out;
  }

 private:
  struct Names {
    std::string name, help;
    bool counter;
  };

  // Metric name and HELP of a meminfo key, derived once per key and unit (the set of keys is fixed per kernel).
  Result<const Names*> NamesFor(const MeminfoEntry& entry) {
    std::string cache_key(entry.key);
    if (entry.has_unit) cache_key += " kB";
    auto it = names_.find(cache_key);
    if (it != names_.end()) return &it->second;
    std::string key = NormalizeKey(entry.key);
    if (entry.has_unit) key += "_bytes";
    if (!IsMetricNameSuffix(key)) {
      // node_exporter would panic on such a name; refusing the scrape of this collector is the safe twin.
      return MakeError(ErrorKind::kBadData,
                       path_ + ": key " + parse::QuoteField(entry.key) + " does not form a valid metric name");
    }
    const bool counter = key.size() >= 6 && key.compare(key.size() - 6, 6, "_total") == 0;
    Names names{"node_memory_" + key, "Memory information field " + key + ".", counter};
    return &names_.emplace(std::move(cache_key), std::move(names)).first->second;
  }

  const FileReader& reader_;
  const std::string path_;
  std::unordered_map<std::string, Names> names_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewMeminfoCollector(const CollectorDeps& deps) {
  return std::make_unique<MeminfoCollector>(deps);
}

}  // namespace topdog::exporter
