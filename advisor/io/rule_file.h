// Prometheus rule files (the `groups:` format of Prometheus 2.42, also what promtool and the Prometheus Operator
// take), read as strictly as Prometheus's rulefmt: unknown fields, a repeated group name, a rule with both or
// neither of record/alert, invalid names, bad durations, unbalanced expressions and templates that do not parse
// are errors naming the file and line. Pure parsing plus a loader that reads files and globs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "advisor/core/alerting.h"
#include "common/result.h"

namespace topdog::advisor {

// kBadData "FILE:LINE: reason" on the first problem. Templates are checked by compiling the groups.
Result<std::vector<RuleGroupSpec>> ParseRuleFile(std::string_view text, const std::string& file);

// Every file named by `patterns` (paths, or glob(7) patterns), in pattern then name order, parsed and compiled:
// all of them or an error (a reload keeps the previous set). kNotFound for a path that does not exist; a glob
// matching nothing is no error (Prometheus's rule_files behave alike).
Result<std::vector<RuleGroupSpec>> LoadRuleFiles(const std::vector<std::string>& patterns);

// The files one entry of `rule_files` names: a path as it is (existing or not), a glob(7) pattern's matches in name
// order (none is no error). kUnavailable when the pattern cannot be read (an unreadable directory).
Result<std::vector<std::string>> ExpandRuleFilePattern(const std::string& pattern);

}  // namespace topdog::advisor
