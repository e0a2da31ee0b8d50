#include "advisor/rule_evaluator.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "advisor/io/rule_file.h"
#include "common/logging.h"

namespace topdog::advisor {
namespace {

std::string GroupKey(const RuleGroupSpec& spec) { return spec.file + ";" + spec.name; }

std::string_view SeriesHelp(std::string_view name) {
  if (name == "ALERTS") return "Pending and firing alerts of the advisor's rules (1 each), as Prometheus writes them.";
  if (name == "ALERTS_FOR_STATE") return "When each pending or firing alert became active (Unix seconds).";
  return "Recorded by a recording rule the advisor evaluates.";
}

}  // namespace

RuleEvaluator::RuleEvaluator(RuleEvaluatorOptions options, RuleQueryFunc query, NotifyFunc notify,
                             DaemonMetrics& metrics)
    : options_(std::move(options)), query_(std::move(query)), notify_(std::move(notify)), metrics_(metrics) {}

std::string RuleEvaluator::Fingerprint() const {
  std::string out;
  for (const std::string& pattern : options_.files) {
    auto files = ExpandRuleFilePattern(pattern);
    if (!files) {
      out += pattern + ": " + files.error().message + "\n";  // a directory that becomes readable is a change
      continue;
    }
    for (const std::string& file : *files) {
      struct stat st {};
      out += file;
      if (::stat(file.c_str(), &st) == 0) {
        out += ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
               ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
      }
      out += "\n";
    }
  }
  return out;
}

Result<void> RuleEvaluator::Load() { return Reload(/*initial=*/true); }

Result<void> RuleEvaluator::Reload(bool initial) {
  // Taken before reading: a change during the read is seen at the next tick.
  fingerprint_ = Fingerprint();
  auto specs = LoadRuleFiles(options_.files);
  metrics_.Set("topdog_advisor_rules_last_reload_successful",
               "1 when the last (re)load of the rule files succeeded; 0: the previous rules keep running.", {},
               specs ? 1 : 0);
  metrics_.Count("topdog_advisor_rules_reloads_total", "Loads of the rule files, by result.",
                 {{"result", specs ? "ok" : "error"}});
  if (!specs) {
    if (!initial) {
      spdlog::error("rule files not reloaded, the previous rules keep running groups={} err={}", groups_.size(),
                    LogQuote(specs.error().message));
    }
    return tl::unexpected(specs.error());
  }
  std::vector<GroupState> next;
  size_t rules = 0, alerts = 0;
  for (const RuleGroupSpec& spec : *specs) {
    auto group = RuleGroup::Create(spec);
    if (!group) return tl::unexpected(group.error());  // LoadRuleFiles compiled it already
    GroupState state;
    state.group = std::make_unique<RuleGroup>(std::move(*group));
    state.interval_seconds = spec.interval_seconds > 0 ? spec.interval_seconds : options_.default_interval_seconds;
    state.offset_seconds = GroupEvaluationOffset(spec.file, spec.name, state.interval_seconds);
    for (GroupState& old : groups_) {
      if (!old.group || GroupKey(old.group->spec()) != GroupKey(spec)) continue;
      state.group->TakeStateFrom(*old.group);
      if (old.interval_seconds == state.interval_seconds) state.last_slot = old.last_slot;
      state.series = std::move(old.series);  // until the reloaded group's first evaluation
      break;
    }
    rules += spec.rules.size();
    for (const RuleSpec& rule : spec.rules) alerts += rule.kind == RuleSpec::Kind::kAlerting;
    next.push_back(std::move(state));
  }
  groups_ = std::move(next);
  spdlog::info("rule files loaded groups={} rules={} alerting_rules={}", groups_.size(), rules, alerts);
  PublishSeries();
  return {};
}

double RuleEvaluator::Tick(double now) {
  if (Fingerprint() != fingerprint_) (void)Reload(/*initial=*/false);
  bool evaluated = false;
  double next = std::numeric_limits<double>::infinity();
  for (GroupState& state : groups_) {
    const double slot = LatestEvaluationSlot(now, state.interval_seconds, state.offset_seconds);
    if (state.last_slot == 0) {
      // A new group (start-up, reload) waits for its next slot, as Prometheus's: the latest one may be nearly an
      // interval old.
      state.last_slot = slot;
    } else if (slot > state.last_slot) {
      if (state.last_slot > 0) {
        const double missed = std::round((slot - state.last_slot) / state.interval_seconds) - 1;
        if (missed > 0) {
          metrics_.Count("topdog_advisor_rule_group_iterations_missed_total",
                         "Evaluation slots skipped because the evaluator was busy or stopped, by group.",
                         {{"rule_group", GroupKey(state.group->spec())}}, missed);
        }
      }
      Evaluate(state, slot);
      state.last_slot = slot;
      evaluated = true;
    }
    next = std::min(next, state.last_slot + state.interval_seconds - now);
  }
  if (evaluated) PublishSeries();
  if (groups_.empty()) return options_.default_interval_seconds;
  return std::max(0.0, next);
}

void RuleEvaluator::Evaluate(GroupState& state, double slot) {
  RuleGroup& group = *state.group;
  const RuleGroupSpec& spec = group.spec();
  const std::string key = GroupKey(spec);
  std::vector<RuleHealth> before = group.health();
  const auto started = std::chrono::steady_clock::now();
  RuleGroup::Evaluation evaluation =
      group.Evaluate(slot, query_, options_.context, state.interval_seconds, options_.resend_delay_seconds);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const MetricLabels labels = {{"rule_group", key}};
  metrics_.Count("topdog_advisor_rule_evaluations_total", "Rule evaluations, by group.", labels,
                 static_cast<double>(spec.rules.size()));
  if (evaluation.failed_rules > 0) {
    metrics_.Count("topdog_advisor_rule_evaluation_failures_total",
                   "Rule evaluations that failed (query error, or the rule's own error), by group.", labels,
                   static_cast<double>(evaluation.failed_rules));
  }
  metrics_.Set("topdog_advisor_rule_group_last_evaluation_timestamp_seconds",
               "The evaluation time of the group's last evaluation.", labels, slot);
  metrics_.Set("topdog_advisor_rule_group_last_duration_seconds", "How long the group's last evaluation took.", labels,
               seconds);
  metrics_.Set("topdog_advisor_rule_group_interval_seconds", "The group's evaluation interval.", labels,
               state.interval_seconds);
  // One health sample per rule name: a name used by several rules (page and ticket variants) is healthy when
  // all of them are.
  std::map<std::string, bool> healthy;
  for (size_t i = 0; i < spec.rules.size(); ++i) {
    const RuleHealth& health = group.health()[i];
    auto [it, inserted] = healthy.emplace(spec.rules[i].name, health.ok);
    if (!inserted) it->second = it->second && health.ok;
    // One log line when a rule starts failing or fails differently, one when it recovers.
    const bool was_ok = i < before.size() ? before[i].ok : true;
    const std::string was_error = i < before.size() ? before[i].last_error : "";
    if (!health.ok && (was_ok || was_error != health.last_error)) {
      spdlog::warn("rule evaluation failed rule_group={} rule={} line={} err={}", LogQuote(key),
                   LogQuote(spec.rules[i].name), spec.rules[i].line, LogQuote(health.last_error));
    } else if (health.ok && !was_ok) {
      spdlog::info("rule evaluation recovered rule_group={} rule={}", LogQuote(key), LogQuote(spec.rules[i].name));
    }
  }
  for (const auto& [rule, ok] : healthy) {
    metrics_.Set("topdog_advisor_rule_healthy",
                 "1 when the rule's last evaluation succeeded; 0 after a query error or a rule error.",
                 {{"rule_group", key}, {"rule", rule}}, ok ? 1 : 0);
  }
  state.series = std::move(evaluation.series);
  if (!evaluation.to_notify.empty()) notify_(std::move(evaluation.to_notify));
}

void RuleEvaluator::PublishSeries() {
  GaugeBatch batch;
  std::set<std::string> names;
  for (const GroupState& state : groups_) {
    for (const RuleSample& sample : state.series) {
      auto name = sample.labels.find("__name__");
      if (name == sample.labels.end()) continue;
      MetricLabels labels;
      for (const auto& [label, value] : sample.labels) {
        if (label != "__name__") labels.emplace_back(label, value);
      }
      batch.Set(name->second, std::string(SeriesHelp(name->second)), std::move(labels), sample.value);
      names.insert(name->second);
    }
  }
  std::vector<std::string> families(published_families_.begin(), published_families_.end());
  families.insert(families.end(), names.begin(), names.end());
  metrics_.Publish(batch, families);
  published_families_ = std::move(names);
}

}  // namespace topdog::advisor
