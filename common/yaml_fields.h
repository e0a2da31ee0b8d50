// Strict reading of YAML configuration files (yaml-cpp checks nothing): every mapping's keys against the
// allowed set, typed scalars, and the line of the offending node in every message. Shared by the exporter's
// web-config file and the advisor's config file. Pure functions; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::yaml_fields {

// An Error{kBadData, message}.
Error ConfigError(std::string message);

// " (line N)" for a node read from text, "" otherwise.
std::string Where(const YAML::Node& node);

// Checks that node is a mapping (or null) with string keys from `allowed`, each at most once.
Result<void> CheckKeys(const YAML::Node& node, std::string_view section,
                       std::initializer_list<std::string_view> allowed);

// A string field; absent or null -> "".
Result<std::string> GetString(const YAML::Node& map, const char* key, std::string_view section);

// A list of strings; absent or null -> empty.
Result<std::vector<std::string>> GetStringList(const YAML::Node& map, const char* key, std::string_view section);

// A bool field; absent or null keeps `fallback`.
Result<bool> GetBool(const YAML::Node& map, const char* key, std::string_view section, bool fallback);

// A number field; absent or null keeps `fallback`.
Result<double> GetNumber(const YAML::Node& map, const char* key, std::string_view section, double fallback);

// A duration field ("30s", "5m", Go/Prometheus syntax) in seconds; absent or null keeps `fallback`.
Result<double> GetDurationSeconds(const YAML::Node& map, const char* key, std::string_view section, double fallback);

}  // namespace topdog::yaml_fields
