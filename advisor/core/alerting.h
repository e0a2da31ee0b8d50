// Prometheus's rule evaluation (v2.42 rules/alerting.go, recording.go, manager.go), minus the query engine: a
// group's rules are evaluated in order at one timestamp through a query function (the advisor's is Prometheus's
// query API, like vmalert), alerting rules keep their pending -> firing -> resolved state, `for` and
// `keep_firing_for`, expand their label and annotation templates, write ALERTS / ALERTS_FOR_STATE, and say which
// alerts to (re)send with Prometheus's timing. Pure: no clock (every call takes the evaluation time), no I/O.
// Not thread-safe: one evaluator thread owns a group.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "advisor/core/alert_template.h"
#include "common/result.h"

namespace topdog::advisor {

using LabelSet = std::map<std::string, std::string>;  // sorted by name, as Prometheus's labels.Labels

// One element of an instant vector. `labels` includes __name__ when the series has one.
struct RuleSample {
  LabelSet labels;
  double value = 0;
  bool operator==(const RuleSample&) const = default;
};

// A rule as written in a rule file (advisor/io/rule_file.h reads them).
struct RuleSpec {
  enum class Kind { kRecording, kAlerting };
  Kind kind = Kind::kAlerting;
  std::string name;  // `record:` or `alert:`
  std::string expr;
  double for_seconds = 0;
  double keep_firing_for_seconds = 0;
  std::vector<std::pair<std::string, std::string>> labels;       // templates for alerting rules
  std::vector<std::pair<std::string, std::string>> annotations;  // alerting rules only
  int line = 0;                                                  // in the rule file, for messages
};

struct RuleGroupSpec {
  std::string file;
  std::string name;
  double interval_seconds = 0;  // 0: the evaluator's default (Prometheus's evaluation_interval)
  size_t limit = 0;             // 0: no limit on alerts (alerting) or series (recording) per rule
  std::vector<RuleSpec> rules;
};

enum class AlertState { kInactive, kPending, kFiring };
std::string_view AlertStateName(AlertState state);  // "inactive", "pending", "firing"

// Times are Unix seconds; 0 means unset (as Go's zero time.Time in Prometheus).
struct Alert {
  LabelSet labels;  // the series' labels without __name__, the rule's labels, then alertname
  LabelSet annotations;
  double value = 0;
  AlertState state = AlertState::kPending;
  double active_at = 0;
  double fired_at = 0;
  double resolved_at = 0;
  double last_sent_at = 0;
  double valid_until = 0;
  double keep_firing_since = 0;
};

// An alert as sent to Alertmanager (POST /api/v2/alerts), built by ToNotification.
struct AlertNotification {
  LabelSet labels;  // with the external labels the alert does not set itself
  LabelSet annotations;
  double starts_at = 0;  // FiredAt
  double ends_at = 0;    // ResolvedAt, else ValidUntil
  std::string generator_url;
};

// What a rule's templates see besides the sample.
struct RuleContext {
  LabelSet external_labels;
  std::string external_url;  // e.g. http://advisor.example:9090, no trailing slash
};

class AlertingRule {
 public:
  // kBadData naming the label or annotation whose template does not parse (or is unsupported).
  static Result<AlertingRule> Create(const RuleSpec& spec);

  // Applies one evaluation's query result at `ts`: new series become pending alerts (firing at once without
  // `for`), pending ones fire once active for `for`, vanished ones are dropped (pending) or resolved (firing,
  // unless `keep_firing_for` holds them) and kept 15 minutes for resends. Returns ALERTS and ALERTS_FOR_STATE
  // samples of the pending and firing alerts. Errors as Prometheus: two samples with the same labels after the
  // rule's labels (no state change), more alerts than `limit` (all alerts dropped).
  Result<std::vector<RuleSample>> Eval(double ts, const std::vector<RuleSample>& result, const RuleContext& context,
                                       size_t limit);

  // The firing and resolved alerts due at `ts` (Prometheus's needsSending: resolved since the last send, or not
  // sent for more than `resend_delay_seconds`), marked sent, with ValidUntil = ts + 4 x max(resend delay,
  // group interval).
  std::vector<Alert> TakeAlertsToSend(double ts, double resend_delay_seconds, double interval_seconds);

  // Carries the active alerts over from the same rule before a reload (Prometheus's Group.CopyState).
  void TakeStateFrom(AlertingRule& previous) { active_ = std::move(previous.active_); }

  const RuleSpec& spec() const { return spec_; }
  const std::map<LabelSet, Alert>& active() const { return active_; }

 private:
  AlertingRule(RuleSpec spec, std::vector<std::pair<std::string, AlertTemplate>> labels,
               std::vector<std::pair<std::string, AlertTemplate>> annotations)
      : spec_(std::move(spec)), labels_(std::move(labels)), annotations_(std::move(annotations)) {}

  RuleSpec spec_;
  std::vector<std::pair<std::string, AlertTemplate>> labels_;
  std::vector<std::pair<std::string, AlertTemplate>> annotations_;
  std::map<LabelSet, Alert> active_;  // by the alert's labels (Prometheus keys by their hash)
};

class RecordingRule {
 public:
  explicit RecordingRule(RuleSpec spec) : spec_(std::move(spec)) {}

  // The result renamed to the rule's name with its labels applied (an empty value removes a label). Errors as
  // Prometheus: two samples with the same labels, more series than `limit`.
  Result<std::vector<RuleSample>> Eval(const std::vector<RuleSample>& result, size_t limit) const;

  const RuleSpec& spec() const { return spec_; }

 private:
  RuleSpec spec_;
};

// Runs a query at an evaluation time: an instant vector (a scalar as one sample without labels).
using RuleQueryFunc = std::function<Result<std::vector<RuleSample>>(std::string_view expr, double ts)>;

struct RuleHealth {
  bool ok = true;          // false after the last evaluation failed (query error or rule error)
  std::string last_error;  // of the last failed evaluation; "" after a good one
  double last_evaluation = 0;
  uint64_t failures_total = 0;
};

// The rules of one group, evaluated together in file order.
class RuleGroup {
 public:
  // kBadData "FILE: group NAME, rule N (KIND NAME): reason" for templates that do not parse.
  static Result<RuleGroup> Create(const RuleGroupSpec& spec);

  struct Evaluation {
    // Recording outputs, ALERTS, ALERTS_FOR_STATE; a rule that failed contributes its last good output (as in
    // Prometheus, a failed evaluation writes nothing new and marks nothing stale).
    std::vector<RuleSample> series;
    std::vector<AlertNotification> to_notify;  // due now, for Alertmanager
    size_t failed_rules = 0;
  };
  // One evaluation at `ts`: every rule in order; a rule whose query or evaluation fails keeps its previous
  // state, is marked unhealthy and the others still run (Prometheus's Group.Eval).
  Evaluation Evaluate(double ts, const RuleQueryFunc& query, const RuleContext& context, double interval_seconds,
                      double resend_delay_seconds);

  // Carries alert state and last outputs over from `previous` (same file and group name) for rules with the
  // same kind, name and labels, in order (Prometheus's CopyState).
  void TakeStateFrom(RuleGroup& previous);

  const RuleGroupSpec& spec() const { return spec_; }
  const std::vector<RuleHealth>& health() const { return health_; }
  // The alerting rule at `index`, or null for a recording rule.
  const AlertingRule* alerting_rule(size_t index) const;

 private:
  explicit RuleGroup(RuleGroupSpec spec) : spec_(std::move(spec)) {}

  RuleGroupSpec spec_;
  std::vector<std::unique_ptr<AlertingRule>> alerting_;  // per rule; null for recording rules
  std::vector<std::unique_ptr<RecordingRule>> recording_;
  std::vector<RuleHealth> health_;
  std::vector<std::vector<RuleSample>> last_series_;  // per rule: its last good output
};

// The notification Prometheus sends for an alert (rules.SendAlerts and the notifier's external labels).
AlertNotification ToNotification(const Alert& alert, std::string_view expr, const RuleContext& context);

// Where a group's evaluations fall: the slots ts = k x interval + offset (offset < interval), so groups with
// different offsets spread their queries (Prometheus derives the offset from a hash of file and group name;
// ours is FNV-1a of "file;name", so the slot differs from Prometheus's, not the spacing).
double GroupEvaluationOffset(std::string_view file, std::string_view name, double interval_seconds);
// The latest slot at or before `now`.
double LatestEvaluationSlot(double now, double interval_seconds, double offset_seconds);

}  // namespace topdog::advisor
