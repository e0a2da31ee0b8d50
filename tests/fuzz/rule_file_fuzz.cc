// libFuzzer target: ParseRuleFile (Prometheus rule files as the advisor loads them) on arbitrary bytes. yaml-cpp
// throws on bad YAML and on nodes of unexpected kinds; nothing may escape the parser. What parses satisfies what
// the evaluator relies on: named groups, unique per file; rules with a name, an expression, non-negative
// durations, no annotations/for on recording rules; every group compiles (templates parsed); errors are one
// line naming the file. A parsed set also runs one evaluation over a fixed sample without failing the rules.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "advisor/io/rule_file.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace topdog::advisor;
using topdog::fuzz::Check;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto groups = ParseRuleFile(text, "fuzz.yml");
  if (!groups) {
    const std::string& message = groups.error().message;
    Check(message.rfind("fuzz.yml", 0) == 0);
    Check(message.find('\n') == std::string::npos);
    return 0;
  }
  std::set<std::string> names;
  for (const RuleGroupSpec& group : *groups) {
    Check(!group.name.empty() && names.insert(group.name).second);
    Check(group.file == "fuzz.yml");
    Check(std::isfinite(group.interval_seconds) && group.interval_seconds >= 0);
    for (const RuleSpec& rule : group.rules) {
      Check(!rule.name.empty() && !rule.expr.empty());
      Check(rule.for_seconds >= 0 && rule.keep_firing_for_seconds >= 0);
      if (rule.kind == RuleSpec::Kind::kRecording) {
        Check(rule.annotations.empty() && rule.for_seconds == 0 && rule.keep_firing_for_seconds == 0);
      }
    }
    auto compiled = RuleGroup::Create(group);
    Check(compiled.has_value());
    RuleQueryFunc query = [](std::string_view, double) -> topdog::Result<std::vector<RuleSample>> {
      return std::vector<RuleSample>{{{{"__name__", "up"}, {"job", "a"}}, 1.5}};
    };
    RuleGroup::Evaluation evaluation = compiled->Evaluate(1'700'000'000, query, RuleContext{}, 60, 60);
    for (const AlertNotification& alert : evaluation.to_notify) Check(alert.labels.count("alertname") == 1);
  }
  return 0;
}
