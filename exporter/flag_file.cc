#include "exporter/flag_file.h"

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

namespace topdog::exporter {
namespace {

std::string Line(const YAML::Node& node) {
  return node.Mark().is_null() ? std::string("line ?") : "line " + std::to_string(node.Mark().line + 1);
}

class Flattener {
 public:
  explicit Flattener(const CLI::App& app) : app_(app) {}

  void Walk(const YAML::Node& node, const std::string& prefix) {
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar() || key.Scalar().empty()) {
        throw CLI::ConfigError(Line(key) + ": keys must be flag names");
      }
      const std::string name = prefix.empty() ? key.Scalar() : prefix + "." + key.Scalar();
      const YAML::Node& value = entry.second;
      if (value.IsMap()) {
        Walk(value, name);
      } else {
        Add(name, key, value);
      }
    }
  }

  std::vector<CLI::ConfigItem> Take() { return std::move(items_); }

 private:
  void Add(const std::string& name, const YAML::Node& key, const YAML::Node& value) {
    const CLI::Option* option = app_.get_option_no_throw("--" + name);
    if (option == nullptr || !option->get_configurable()) {
      throw CLI::ConfigError(Line(key) + ": " + name + ": no such flag (--" + name + ")");
    }
    if (!names_.insert(option->get_name()).second) {
      throw CLI::ConfigError(Line(key) + ": " + name + ": given twice");
    }
    CLI::ConfigItem item;
    item.name = name;
    if (value.IsScalar()) {
      item.inputs.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const YAML::Node& element : value) {
        if (!element.IsScalar()) throw CLI::ConfigError(Line(element) + ": " + name + ": list items must be scalars");
        item.inputs.push_back(element.Scalar());
      }
      if (item.inputs.empty()) throw CLI::ConfigError(Line(key) + ": " + name + ": empty list");
    } else {
      throw CLI::ConfigError(Line(key) + ": " + name + ": no value");
    }
    items_.push_back(std::move(item));
  }

  const CLI::App& app_;
  std::set<std::string> names_;
  std::vector<CLI::ConfigItem> items_;
};

}  // namespace

std::vector<CLI::ConfigItem> YamlFlagFile::from_config(std::istream& input) const {
  YAML::Node root;
  try {
    root = YAML::Load(input);
  } catch (const YAML::Exception& e) {
    throw CLI::ConfigError("line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) throw CLI::ConfigError(Line(root) + ": expected a mapping of flag names to values");
  Flattener flattener(app_);
  flattener.Walk(root, "");
  return flattener.Take();
}

}  // namespace topdog::exporter
