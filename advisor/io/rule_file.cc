#include "advisor/io/rule_file.h"

#include <glob.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "common/duration.h"
#include "common/exposition/text_writer.h"

namespace topdog::advisor {
namespace {

class FileErrors {
 public:
  explicit FileErrors(const std::string& file) : file_(file) {}
  tl::unexpected<Error> At(const YAML::Node& node, const std::string& reason) const {
    const int line = node.Mark().line;
    return MakeError(ErrorKind::kBadData,
                     file_ + (line >= 0 ? ":" + std::to_string(line + 1) : std::string()) + ": " + reason);
  }

 private:
  const std::string& file_;
};

// Unknown and repeated keys, reported at the key (yaml-cpp keeps the last of repeated keys silently).
Result<void> CheckFields(const YAML::Node& node, std::initializer_list<std::string_view> allowed,
                         const std::string& what, const FileErrors& errors) {
  if (!node.IsMap()) return errors.At(node, what + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return errors.At(entry.first, what + ": keys must be strings");
    const std::string& key = entry.first.Scalar();
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (!known) return errors.At(entry.first, "field " + key + " not found in " + what);
    if (!seen.insert(key).second) return errors.At(entry.first, what + ": field " + key + " is repeated");
  }
  return {};
}

// What can be checked of a PromQL expression without its grammar: brackets balanced and nested properly
// outside string literals, strings closed. The full parse is Prometheus's, at the first query: an error there
// marks the rule unhealthy (topdog_advisor_rule_healthy 0) with the parser's message.
std::string CheckExpressionShape(std::string_view expr) {
  std::string open;
  for (size_t i = 0; i < expr.size(); ++i) {
    const char c = expr[i];
    if (c == '"' || c == '\'' || c == '`') {
      size_t j = i + 1;
      while (j < expr.size() && expr[j] != c) j += (c != '`' && expr[j] == '\\') ? 2 : 1;
      if (j >= expr.size()) return "unterminated string starting at column " + std::to_string(i + 1);
      i = j;
    } else if (c == '#') {  // a comment runs to the end of the line
      while (i < expr.size() && expr[i] != '\n') ++i;
    } else if (c == '(' || c == '[' || c == '{') {
      open += c;
    } else if (c == ')' || c == ']' || c == '}') {
      const char want = c == ')' ? '(' : c == ']' ? '[' : '{';
      if (open.empty() || open.back() != want) {
        return std::string("unexpected '") + c + "' at column " + std::to_string(i + 1);
      }
      open.pop_back();
    }
  }
  if (!open.empty()) return std::string("unclosed '") + open.back() + "'";
  return "";
}

Result<double> Seconds(const YAML::Node& node, const FileErrors& errors, const std::string& what) {
  if (!node || node.IsNull()) return 0.0;
  if (!node.IsScalar()) return errors.At(node, what + " must be a duration");
  auto duration = ParseDuration(node.Scalar());
  if (!duration || duration->count() < 0) {
    return errors.At(node, what + ": not a valid duration: \"" + node.Scalar() + "\"");
  }
  return static_cast<double>(duration->count()) / 1000;
}

Result<std::vector<std::pair<std::string, std::string>>> StringMap(const YAML::Node& node, const FileErrors& errors,
                                                                   const std::string& what, bool label_values) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!node || node.IsNull()) return out;
  if (!node.IsMap()) return errors.At(node, what + " must be a mapping");
  std::set<std::string> seen;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) return errors.At(entry.first, what + ": names must be strings");
    const std::string& name = entry.first.Scalar();
    if (!exposition::IsValidLabelName(name) || (label_values && name == "__name__")) {
      return errors.At(entry.first, "invalid " + what.substr(0, what.size() - 1) + " name: " + name);
    }
    if (!seen.insert(name).second) return errors.At(entry.first, what + ": " + name + " is repeated");
    if (!entry.second.IsScalar() && !entry.second.IsNull()) {
      return errors.At(entry.second, what + ": the value of " + name + " must be a string");
    }
    std::string value = entry.second.IsNull() ? "" : entry.second.Scalar();
    if (!exposition::IsValidUtf8(value))
      return errors.At(entry.second, "invalid " + what.substr(0, what.size() - 1) + " value: " + name);
    out.emplace_back(name, std::move(value));
  }
  return out;
}

Result<RuleSpec> ParseRule(const YAML::Node& node, const FileErrors& errors) {
  if (auto fields = CheckFields(node, {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
                                "rule", errors);
      !fields) {
    return tl::unexpected(fields.error());
  }
  RuleSpec rule;
  rule.line = node.Mark().line + 1;
  const YAML::Node record = node["record"], alert = node["alert"], expr = node["expr"];
  const bool has_record = record && !record.IsNull() && !record.Scalar().empty();
  const bool has_alert = alert && !alert.IsNull() && !alert.Scalar().empty();
  if (has_record == has_alert) {
    return errors.At(
        node, has_record ? "only one of 'record' and 'alert' must be set" : "one of 'record' or 'alert' must be set");
  }
  const YAML::Node& name = has_record ? record : alert;
  if (!name.IsScalar()) return errors.At(name, "the rule name must be a string");
  rule.kind = has_record ? RuleSpec::Kind::kRecording : RuleSpec::Kind::kAlerting;
  rule.name = name.Scalar();
  if (has_record && !exposition::IsValidMetricName(rule.name))
    return errors.At(name, "invalid recording rule name: " + rule.name);
  // The advisor publishes recorded series next to its own on /metrics: those names are taken.
  if (has_record &&
      (rule.name == "ALERTS" || rule.name == "ALERTS_FOR_STATE" || rule.name.rfind("topdog_advisor_", 0) == 0)) {
    return errors.At(name, "recording rule name " + rule.name + " is reserved for the advisor's own series");
  }
  if (!expr || expr.IsNull() || !expr.IsScalar() || expr.Scalar().empty()) {
    return errors.At(node, "field 'expr' must be set in rule");
  }
  rule.expr = expr.Scalar();
  if (std::string shape = CheckExpressionShape(rule.expr); !shape.empty()) {
    return errors.At(expr, "could not parse expression: " + shape);
  }
  auto for_seconds = Seconds(node["for"], errors, "for");
  if (!for_seconds) return tl::unexpected(for_seconds.error());
  auto keep_firing = Seconds(node["keep_firing_for"], errors, "keep_firing_for");
  if (!keep_firing) return tl::unexpected(keep_firing.error());
  rule.for_seconds = *for_seconds;
  rule.keep_firing_for_seconds = *keep_firing;
  auto labels = StringMap(node["labels"], errors, "labels", true);
  if (!labels) return tl::unexpected(labels.error());
  auto annotations = StringMap(node["annotations"], errors, "annotations", false);
  if (!annotations) return tl::unexpected(annotations.error());
  rule.labels = std::move(*labels);
  rule.annotations = std::move(*annotations);
  if (has_record) {
    if (!rule.annotations.empty())
      return errors.At(node["annotations"], "invalid field 'annotations' in recording rule");
    if (rule.for_seconds != 0) return errors.At(node["for"], "invalid field 'for' in recording rule");
    if (rule.keep_firing_for_seconds != 0) {
      return errors.At(node["keep_firing_for"], "invalid field 'keep_firing_for' in recording rule");
    }
  }
  return rule;
}

Result<std::vector<RuleGroupSpec>> ParseRuleYaml(const YAML::Node& root, const std::string& file);

}  // namespace

Result<std::vector<RuleGroupSpec>> ParseRuleFile(std::string_view text, const std::string& file) {
  Result<std::vector<RuleGroupSpec>> groups;
  try {
    groups = ParseRuleYaml(YAML::Load(std::string(text)), file);
  } catch (const YAML::Exception& e) {  // bad YAML, or a node of an unexpected kind deep down
    groups = MakeError(ErrorKind::kBadData, file + ":" + std::to_string(std::max(e.mark.line, 0) + 1) + ": " + e.msg);
  }
  if (!groups) {
    // One log line whatever the input: yaml-cpp quotes the offending character, keys may hold anything.
    std::string& message = groups.error().message;
    std::string clean;
    for (unsigned char c : message) {
      if (c < 0x20 || c == 0x7f) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        clean += hex;
      } else {
        clean += static_cast<char>(c);
      }
    }
    message = std::move(clean);
  }
  return groups;
}

namespace {

Result<std::vector<RuleGroupSpec>> ParseRuleYaml(const YAML::Node& root, const std::string& file) {
  const FileErrors errors(file);
  std::vector<RuleGroupSpec> groups;
  if (root.IsNull()) return groups;
  if (auto fields = CheckFields(root, {"groups"}, "the rule file", errors); !fields)
    return tl::unexpected(fields.error());
  const YAML::Node list = root["groups"];
  if (!list || list.IsNull()) return groups;
  if (!list.IsSequence()) return errors.At(list, "groups must be a list");
  std::set<std::string> names;
  for (const YAML::Node& node : list) {
    if (auto fields = CheckFields(node, {"name", "interval", "limit", "rules"}, "group", errors); !fields) {
      return tl::unexpected(fields.error());
    }
    RuleGroupSpec group;
    group.file = file;
    const YAML::Node name = node["name"];
    if (!name || !name.IsScalar() || name.Scalar().empty()) return errors.At(node, "Groupname must not be empty");
    group.name = name.Scalar();
    if (!names.insert(group.name).second) {
      return errors.At(name, "groupname: \"" + group.name + "\" is repeated in the same file");
    }
    auto interval = Seconds(node["interval"], errors, "interval");
    if (!interval) return tl::unexpected(interval.error());
    if (node["interval"] && *interval == 0) return errors.At(node["interval"], "interval must be positive");
    group.interval_seconds = *interval;
    if (const YAML::Node limit = node["limit"]; limit && !limit.IsNull()) {
      int value = -1;
      if (!limit.IsScalar() || !YAML::convert<int>::decode(limit, value) || value < 0) {
        return errors.At(limit, "limit must be a non-negative integer");
      }
      group.limit = static_cast<size_t>(value);
    }
    const YAML::Node rules = node["rules"];
    if (rules && !rules.IsNull()) {
      if (!rules.IsSequence()) return errors.At(rules, "rules must be a list");
      for (const YAML::Node& rule_node : rules) {
        auto rule = ParseRule(rule_node, errors);
        if (!rule) return tl::unexpected(rule.error());
        group.rules.push_back(std::move(*rule));
      }
    }
    // The templates: compiled now so a file that cannot run is refused at load.
    if (auto compiled = RuleGroup::Create(group); !compiled) {
      return MakeError(ErrorKind::kBadData, compiled.error().message);
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace

Result<std::vector<std::string>> ExpandRuleFilePattern(const std::string& pattern) {
  if (pattern.find_first_of("*?[") == std::string::npos) return std::vector<std::string>{pattern};
  std::vector<std::string> files;
  glob_t matches{};
  const int rc = ::glob(pattern.c_str(), GLOB_ERR, nullptr, &matches);
  if (rc == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) files.emplace_back(matches.gl_pathv[i]);
  }
  ::globfree(&matches);
  if (rc != 0 && rc != GLOB_NOMATCH) return MakeError(ErrorKind::kUnavailable, pattern + ": glob failed");
  return files;
}

Result<std::vector<RuleGroupSpec>> LoadRuleFiles(const std::vector<std::string>& patterns) {
  std::vector<RuleGroupSpec> all;
  for (const std::string& pattern : patterns) {
    auto files = ExpandRuleFilePattern(pattern);
    if (!files) return tl::unexpected(files.error());
    for (const std::string& file : *files) {
      std::ifstream in(file, std::ios::binary);
      if (!in) return MakeError(ErrorKind::kNotFound, file + ": cannot open the rule file");
      std::stringstream text;
      text << in.rdbuf();
      auto groups = ParseRuleFile(text.str(), file);
      if (!groups) return tl::unexpected(groups.error());
      std::move(groups->begin(), groups->end(), std::back_inserter(all));
    }
  }
  return all;
}

}  // namespace topdog::advisor
