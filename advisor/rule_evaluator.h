// RuleEvaluator: the advisor's Prometheus-compatible rule evaluation (like vmalert): the groups of the configured
// rule files, each evaluated at its own slots (its interval, or the default) through a query function
// (Prometheus's query API), with ALERTS / ALERTS_FOR_STATE, recording outputs and rule health published to the
// advisor's /metrics and due alerts handed to the notifier. The files are re-read when they change; a set that
// does not load is refused whole (logged with file, line and reason, topdog_advisor_rules_last_reload_successful
// 0) and the previous set keeps running, with alert state carried over for unchanged rules.
// Not thread-safe: one thread calls Load and Tick.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "advisor/core/alerting.h"
#include "advisor/daemon_metrics.h"
#include "common/result.h"

namespace topdog::advisor {

struct RuleEvaluatorOptions {
  std::vector<std::string> files;  // paths or globs
  double default_interval_seconds = 60;
  double resend_delay_seconds = 60;
  RuleContext context;
};

class RuleEvaluator {
 public:
  using NotifyFunc = std::function<void(std::vector<AlertNotification>)>;

  RuleEvaluator(RuleEvaluatorOptions options, RuleQueryFunc query, NotifyFunc notify, DaemonMetrics& metrics);

  // Reads the files (start-up: an error is fatal). Later changes are picked up by Tick.
  Result<void> Load();
  // Evaluates every group whose slot came by `now` (each once: slots missed while busy are counted, not run),
  // after reloading the files if they changed. Returns the seconds until the next slot.
  double Tick(double now);

  size_t group_count() const { return groups_.size(); }

 private:
  struct GroupState {
    std::unique_ptr<RuleGroup> group;
    double interval_seconds = 0;
    double offset_seconds = 0;
    double last_slot = 0;  // 0: never evaluated
    std::vector<RuleSample> series;
  };

  // The files' identity now (paths, sizes, modification times), to notice changes cheaply.
  std::string Fingerprint() const;
  Result<void> Reload(bool initial);
  void Evaluate(GroupState& state, double slot);
  void PublishSeries();

  const RuleEvaluatorOptions options_;
  RuleQueryFunc query_;
  NotifyFunc notify_;
  DaemonMetrics& metrics_;
  std::vector<GroupState> groups_;
  std::string fingerprint_;
  std::set<std::string> published_families_;
};

}  // namespace topdog::advisor
