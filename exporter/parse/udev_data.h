// ParseUdevData: a udev database file (/run/udev/data/b<major>:<minor>) -> its device properties, the
// "E:KEY=VALUE" lines node_exporter's diskstats collector reads. Pure; the result holds views into the text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace topdog::exporter {

class UdevProperties {
 public:
  // The value of `key`; the last one when the file repeats it (node_exporter fills a map line by line).
  std::optional<std::string_view> Find(std::string_view key) const;
  // Find(key) or "" when absent, like indexing node_exporter's map.
  std::string_view Get(std::string_view key) const { return Find(key).value_or(std::string_view()); }
  size_t size() const { return properties_.size(); }

  void Add(std::string_view key, std::string_view value) { properties_.emplace_back(key, value); }

 private:
  // A flat list: a disk has a few dozen properties, so a linear scan beats a map. Views into the parsed
  // text: a disk's properties cost no allocation each per scrape.
  std::vector<std::pair<std::string_view, std::string_view>> properties_;
};

// Never fails: as in node_exporter, lines other than "E:KEY=VALUE" (S: links, I:, G:, W:, ...) and "E:" lines
// without '=' are ignored; the value is everything after the first '=' (it may contain '=').
// REQUIRES: `text` outlives the result.
UdevProperties ParseUdevData(std::string_view text);

}  // namespace topdog::exporter
