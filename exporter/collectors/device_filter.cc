#include "exporter/collectors/device_filter.h"

namespace topdog::exporter {
Result<std::optional<std::regex>> CompileFlagRegex(std::string_view flag, const std::string& pattern) {
  if (pattern.empty()) return std::optional<std::regex>();
  try {
    return std::optional<std::regex>(std::regex(pattern, std::regex::ECMAScript | std::regex::optimize));
  } catch (const std::regex_error& e) {
    return MakeError(ErrorKind::kBadData,
                     std::string(flag) + ": invalid regular expression \"" + pattern + "\": " + e.what());
  }
}

Result<DeviceFilter> DeviceFilter::Create(std::string_view flag_prefix, const std::string& exclude,
                                          const std::string& include) {
  std::string exclude_flag = std::string(flag_prefix) + "-exclude";
  std::string include_flag = std::string(flag_prefix) + "-include";
  if (!exclude.empty() && !include.empty()) {
    return MakeError(ErrorKind::kRejected, "--" + exclude_flag + " and --" + include_flag + " are mutually exclusive");
  }
  DeviceFilter filter;
  auto exclude_re = CompileFlagRegex("--" + exclude_flag, exclude);
  if (!exclude_re) return tl::unexpected(exclude_re.error());
  auto include_re = CompileFlagRegex("--" + include_flag, include);
  if (!include_re) return tl::unexpected(include_re.error());
  filter.exclude_ = std::move(*exclude_re);
  filter.include_ = std::move(*include_re);
  return filter;
}

bool DeviceFilter::Ignored(std::string_view name) {
  if (!exclude_ && !include_) return false;
  if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  std::string key(name);
  bool ignored = (exclude_ && std::regex_search(key, *exclude_)) || (include_ && !std::regex_search(key, *include_));
  if (cache_.size() >= kMaxCached) cache_.clear();
  cache_.emplace(std::move(key), ignored);
  return ignored;
}

}  // namespace topdog::exporter
