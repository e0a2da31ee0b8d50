// Regex flags of the collectors: CompileFlagRegex, and DeviceFilter, node_exporter's exclude/include regex
// pair for device, interface, mount point and file system type names (deviceFilter in
// collector/device_filter.go). DeviceFilter is not thread-safe: it caches verdicts, and each collector owns
// its filters and is not run concurrently.
#pragma once

#include <functional>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/result.h"

namespace topdog::exporter {

// Compiles a regex flag value (ECMAScript; matched as a search, like Go's MatchString). Empty means unset
// (nullopt). An invalid pattern is kBadData naming the flag, e.g. "--collector.vmstat.fields: ...".
Result<std::optional<std::regex>> CompileFlagRegex(std::string_view flag, const std::string& pattern);

class DeviceFilter {
 public:
  // Empty patterns are unset. Fails when a pattern is not a valid regex (kBadData), or when both are set (kRejected):
  // node_exporter refuses that combination ("device-exclude & device-include are mutually exclusive").
  // `flag_prefix` names the flags in messages, e.g. "collector.diskstats.device".
  static Result<DeviceFilter> Create(std::string_view flag_prefix, const std::string& exclude,
                                     const std::string& include);

  // True when `name` matches the exclude pattern or does not match the include pattern. Matching is a
  // search, not a full match, like Go's Regexp.MatchString.
  bool Ignored(std::string_view name);

 private:
  // Names repeat on every scrape, so verdicts are cached to keep std::regex off the hot path; the cache is
  // cleared if it ever grows past kMaxCached (churning container interfaces).
  static constexpr size_t kMaxCached = 4096;

  std::optional<std::regex> exclude_;
  std::optional<std::regex> include_;
  // Looked up by string_view (transparent hash): a hit allocates nothing.
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view name) const { return std::hash<std::string_view>()(name); }
  };
  std::unordered_map<std::string, bool, NameHash, std::equal_to<>> cache_;
};

}  // namespace topdog::exporter
