#include "common/yaml_fields.h"

#include <cmath>
#include <set>

#include "common/duration.h"

namespace topdog::yaml_fields {

Error ConfigError(std::string message) { return Error{ErrorKind::kBadData, std::move(message)}; }

std::string Where(const YAML::Node& node) {
  YAML::Mark mark = node.Mark();
  if (mark.line < 0) return "";
  return " (line " + std::to_string(mark.line + 1) + ")";
}

Result<void> CheckKeys(const YAML::Node& node, std::string_view section,
                       std::initializer_list<std::string_view> allowed) {
  if (node.IsNull()) return {};
  if (!node.IsMap()) return tl::unexpected(ConfigError(std::string(section) + " must be a mapping" + Where(node)));
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!it->first.IsScalar()) {
      return tl::unexpected(ConfigError(std::string(section) + ": keys must be strings" + Where(it->first)));
    }
    const std::string& key = it->first.Scalar();
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (!known) {
      return tl::unexpected(ConfigError("field " + key + " not found in " + std::string(section) + Where(it->first)));
    }
    if (!seen.insert(key).second) {
      return tl::unexpected(ConfigError(std::string(section) + ": key " + key + " already set" + Where(it->first)));
    }
  }
  return {};
}

Result<std::string> GetString(const YAML::Node& map, const char* key, std::string_view section) {
  if (map.IsNull()) return std::string();
  YAML::Node value = map[key];
  if (!value || value.IsNull()) return std::string();
  if (!value.IsScalar()) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be a string" + Where(value)));
  }
  return value.Scalar();
}

Result<std::vector<std::string>> GetStringList(const YAML::Node& map, const char* key, std::string_view section) {
  std::vector<std::string> out;
  if (map.IsNull()) return out;
  YAML::Node value = map[key];
  if (!value || value.IsNull()) return out;
  if (!value.IsSequence()) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be a list" + Where(value)));
  }
  for (const YAML::Node& item : value) {
    if (!item.IsScalar()) {
      return tl::unexpected(ConfigError(std::string(section) + "." + key + " entries must be strings" + Where(item)));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

Result<bool> GetBool(const YAML::Node& map, const char* key, std::string_view section, bool fallback) {
  if (map.IsNull()) return fallback;
  YAML::Node value = map[key];
  if (!value || value.IsNull()) return fallback;
  bool out = fallback;
  if (!value.IsScalar() || !YAML::convert<bool>::decode(value, out)) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be true or false" + Where(value)));
  }
  return out;
}

Result<double> GetNumber(const YAML::Node& map, const char* key, std::string_view section, double fallback) {
  if (map.IsNull()) return fallback;
  YAML::Node value = map[key];
  if (!value || value.IsNull()) return fallback;
  double out = fallback;
  if (!value.IsScalar() || !YAML::convert<double>::decode(value, out) || !std::isfinite(out)) {
    return tl::unexpected(ConfigError(std::string(section) + "." + key + " must be a number" + Where(value)));
  }
  return out;
}

Result<double> GetDurationSeconds(const YAML::Node& map, const char* key, std::string_view section, double fallback) {
  auto text = GetString(map, key, section);
  if (!text) return tl::unexpected(text.error());
  if (text->empty()) return fallback;
  auto duration = ParseDuration(*text);
  if (!duration) {
    return tl::unexpected(
        ConfigError(std::string(section) + "." + key + ": " + duration.error().message + Where(map[key])));
  }
  return static_cast<double>(duration->count()) / 1000.0;
}

}  // namespace topdog::yaml_fields
