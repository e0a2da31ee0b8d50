// The meminfo collector (node_exporter collector/meminfo_linux.go): one node_memory_<Key>[_bytes] gauge
// per /proc/meminfo line. Caches names per key and writes over its last result; not called concurrently.
#include "exporter/parse/meminfo.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
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
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto entries = ParseMeminfo(*text);
    if (!entries) return tl::unexpected(entries.error().WithContext(path_));

    ++scrape_;
    FamilyWriter out = NewWriter();
    for (size_t line = 0; line < entries->size(); ++line) {
      const MeminfoEntry& entry = (*entries)[line];
      auto names = NamesFor(line, entry);
      if (!names) return tl::unexpected(names.error());
      Names& n = **names;
      double value = entry.has_unit ? entry.value * 1024 : entry.value;  // node_exporter presumes kB
      // node_exporter collects into a map, so a key printed twice yields its last value once.
      if (n.scrape == scrape_) {
        out.SetValue(n.family, 0, value);
        continue;
      }
      n.scrape = scrape_;
      n.family = out.Single(n.name, n.help, n.counter ? prometheus::MetricType::Counter : prometheus::MetricType::Gauge,
                            value);
    }
    return std::move(out).Finish();
  }

 private:
  struct Names {
    std::string key;  // as in the file
    bool has_unit;
    std::string name, help;
    bool counter;
    uint64_t scrape = 0;  // the last scrape that emitted this key, and its family there
    size_t family = 0;
  };

  // Metric name and HELP of a meminfo key, derived once per key and unit (the set of keys is fixed per kernel,
  // and so is their order: the entry found for the same line last time is checked first).
  Result<Names*> NamesFor(size_t line, const MeminfoEntry& entry) {
    if (line < by_line_.size() && by_line_[line] != nullptr && by_line_[line]->key == entry.key &&
        by_line_[line]->has_unit == entry.has_unit) {
      return by_line_[line];
    }
    std::string cache_key(entry.key);
    if (entry.has_unit) cache_key += " kB";
    auto it = names_.find(cache_key);
    if (it == names_.end()) {
      std::string key = NormalizeKey(entry.key);
      if (entry.has_unit) key += "_bytes";
      if (!IsMetricNameSuffix(key)) {
        // node_exporter would panic on such a name; refusing the scrape of this collector is the safe twin.
        return MakeError(ErrorKind::kBadData,
                         path_ + ": key " + parse::QuoteField(entry.key) + " does not form a valid metric name");
      }
      const bool counter = key.size() >= 6 && key.compare(key.size() - 6, 6, "_total") == 0;
      Names names{std::string(entry.key), entry.has_unit, "node_memory_" + key,
                  "Memory information field " + key + ".", counter};
      it = names_.emplace(std::move(cache_key), std::move(names)).first;
    }
    if (line >= by_line_.size()) by_line_.resize(line + 1, nullptr);
    by_line_[line] = &it->second;
    return &it->second;
  }

  const FileReader& reader_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
  std::unordered_map<std::string, Names> names_;  // node-based: the pointers below stay valid
  std::vector<Names*> by_line_;                    // the entry of each line last time
  uint64_t scrape_ = 0;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewMeminfoCollector(const CollectorDeps& deps) {
  return std::make_unique<MeminfoCollector>(deps);
}

}  // namespace topdog::exporter
