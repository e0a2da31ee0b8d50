#include "advisor/core/alerting.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace topdog::advisor {
namespace {

// How long a resolved alert is kept (and resent) after it stopped firing (Prometheus's resolvedRetention).
constexpr double kResolvedRetentionSeconds = 15 * 60;

std::string Describe(const RuleSpec& rule) {
  return std::string(rule.kind == RuleSpec::Kind::kAlerting ? "alert " : "record ") + rule.name;
}

// The key rules are matched on across a reload (Prometheus's nameAndLabels, plus the kind).
std::string RuleIdentity(const RuleSpec& rule) {
  std::string key = Describe(rule);
  for (const auto& [name, value] : rule.labels) key += "\n" + name + "=" + value;
  return key;
}

// The expansion, or Prometheus's "<error expanding template: ...>" text in its place.
std::string Expand(const AlertTemplate& tmpl, const AlertTemplateData& data, std::string_view rule_name) {
  if (!tmpl.has_actions()) return tmpl.text();
  auto text = tmpl.Expand(data);
  if (!text) return tmpl.PrometheusErrorText(rule_name, text.error());
  return std::move(*text);
}

// Sets a label as Prometheus's labels.Builder.Set does: an empty value removes it.
void SetLabel(LabelSet& labels, const std::string& name, std::string value) {
  if (value.empty()) {
    labels.erase(name);
  } else {
    labels[name] = std::move(value);
  }
}

}  // namespace

std::string_view AlertStateName(AlertState state) {
  switch (state) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "inactive";
}

Result<AlertingRule> AlertingRule::Create(const RuleSpec& spec) {
  auto compile = [&spec](const std::vector<std::pair<std::string, std::string>>& texts,
                         const char* what) -> Result<std::vector<std::pair<std::string, AlertTemplate>>> {
    std::vector<std::pair<std::string, AlertTemplate>> out;
    for (const auto& [name, text] : texts) {
      auto tmpl = AlertTemplate::Parse(text);
      if (!tmpl) return MakeError(ErrorKind::kBadData, std::string(what) + " " + name + ": " + tmpl.error().message);
      out.emplace_back(name, std::move(*tmpl));
    }
    return out;
  };
  auto labels = compile(spec.labels, "label");
  if (!labels) return tl::unexpected(labels.error());
  auto annotations = compile(spec.annotations, "annotation");
  if (!annotations) return tl::unexpected(annotations.error());
  return AlertingRule(spec, std::move(*labels), std::move(*annotations));
}

Result<std::vector<RuleSample>> AlertingRule::Eval(double ts, const std::vector<RuleSample>& result,
                                                   const RuleContext& context, size_t limit) {
  // The alerts this result asks for, before touching the state: a collision leaves it as it was.
  std::map<LabelSet, Alert> fresh;
  for (const RuleSample& sample : result) {
    const AlertTemplateData data{&sample.labels, &context.external_labels, context.external_url, sample.value};
    Alert alert;
    alert.labels = sample.labels;
    alert.labels.erase("__name__");
    for (const auto& [name, tmpl] : labels_) SetLabel(alert.labels, name, Expand(tmpl, data, spec_.name));
    alert.labels["alertname"] = spec_.name;
    for (const auto& [name, tmpl] : annotations_) alert.annotations[name] = Expand(tmpl, data, spec_.name);
    alert.value = sample.value;
    alert.state = AlertState::kPending;
    alert.active_at = ts;
    LabelSet key = alert.labels;
    if (!fresh.emplace(std::move(key), std::move(alert)).second) {
      return MakeError(ErrorKind::kBadData,
                       "vector contains metrics with the same labelset after applying alert labels");
    }
  }
  for (auto& [labels, alert] : fresh) {
    auto it = active_.find(labels);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = alert.value;
      it->second.annotations = std::move(alert.annotations);
      continue;
    }
    active_.insert_or_assign(labels, std::move(alert));
  }

  std::vector<RuleSample> series;
  size_t active_count = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    Alert& alert = it->second;
    if (!fresh.contains(it->first)) {
      bool keep_firing = false;
      if (alert.state == AlertState::kFiring && spec_.keep_firing_for_seconds > 0) {
        if (alert.keep_firing_since == 0) alert.keep_firing_since = ts;
        keep_firing = ts - alert.keep_firing_since < spec_.keep_firing_for_seconds;
      }
      // A pending alert that vanished is forgotten; a resolved one is kept for resends until its retention ends.
      if (alert.state == AlertState::kPending ||
          (alert.resolved_at != 0 && ts - alert.resolved_at > kResolvedRetentionSeconds)) {
        it = active_.erase(it);
        continue;
      }
      if (!keep_firing) {
        if (alert.state != AlertState::kInactive) {
          alert.state = AlertState::kInactive;
          alert.resolved_at = ts;
        }
        ++it;
        continue;
      }
    } else {
      alert.keep_firing_since = 0;
    }
    ++active_count;
    if (alert.state == AlertState::kPending && ts - alert.active_at >= spec_.for_seconds) {
      alert.state = AlertState::kFiring;
      alert.fired_at = ts;
    }
    RuleSample alerts{alert.labels, 1};
    alerts.labels["__name__"] = "ALERTS";
    alerts.labels["alertstate"] = std::string(AlertStateName(alert.state));
    series.push_back(std::move(alerts));
    RuleSample for_state{alert.labels, std::floor(alert.active_at)};  // Prometheus writes whole seconds
    for_state.labels["__name__"] = "ALERTS_FOR_STATE";
    series.push_back(std::move(for_state));
    ++it;
  }
  if (limit > 0 && active_count > limit) {
    active_.clear();
    return MakeError(ErrorKind::kBadData, "exceeded limit of " + std::to_string(limit) + " with " +
                                              std::to_string(active_count) + " alerts");
  }
  return series;
}

std::vector<Alert> AlertingRule::TakeAlertsToSend(double ts, double resend_delay_seconds, double interval_seconds) {
  std::vector<Alert> out;
  for (auto& [labels, alert] : active_) {
    if (alert.state == AlertState::kPending) continue;
    // Never sent (Go's zero LastSentAt is always long past), resolved since the last send, or due for a resend.
    const bool due = alert.last_sent_at == 0 || alert.resolved_at > alert.last_sent_at ||
                     alert.last_sent_at + resend_delay_seconds < ts;
    if (!due) continue;
    alert.last_sent_at = ts;
    // Two evaluation or Alertmanager send failures may pass before Alertmanager resolves it on its own.
    alert.valid_until = ts + 4 * std::max(resend_delay_seconds, interval_seconds);
    out.push_back(alert);
  }
  return out;
}

Result<std::vector<RuleSample>> RecordingRule::Eval(const std::vector<RuleSample>& result, size_t limit) const {
  std::vector<RuleSample> out;
  out.reserve(result.size());
  std::map<LabelSet, bool> seen;
  for (const RuleSample& sample : result) {
    RuleSample recorded{sample.labels, sample.value};
    recorded.labels["__name__"] = spec_.name;
    for (const auto& [name, value] : spec_.labels) SetLabel(recorded.labels, name, value);
    if (!seen.emplace(recorded.labels, true).second) {
      return MakeError(ErrorKind::kBadData,
                       "vector contains metrics with the same labelset after applying rule labels");
    }
    out.push_back(std::move(recorded));
  }
  if (limit > 0 && out.size() > limit) {
    return MakeError(ErrorKind::kBadData,
                     "exceeded limit of " + std::to_string(limit) + " with " + std::to_string(out.size()) + " series");
  }
  return out;
}

Result<RuleGroup> RuleGroup::Create(const RuleGroupSpec& spec) {
  RuleGroup group(spec);
  for (size_t i = 0; i < spec.rules.size(); ++i) {
    const RuleSpec& rule = spec.rules[i];
    if (rule.kind == RuleSpec::Kind::kAlerting) {
      auto alerting = AlertingRule::Create(rule);
      if (!alerting) {
        return MakeError(ErrorKind::kBadData, spec.file + ": group " + spec.name + ", rule " + std::to_string(i + 1) +
                                                  " (" + Describe(rule) + "): " + alerting.error().message);
      }
      group.alerting_.push_back(std::make_unique<AlertingRule>(std::move(*alerting)));
      group.recording_.push_back(nullptr);
    } else {
      group.alerting_.push_back(nullptr);
      group.recording_.push_back(std::make_unique<RecordingRule>(rule));
    }
  }
  group.health_.resize(spec.rules.size());
  group.last_series_.resize(spec.rules.size());
  return group;
}

RuleGroup::Evaluation RuleGroup::Evaluate(double ts, const RuleQueryFunc& query, const RuleContext& context,
                                          double interval_seconds, double resend_delay_seconds) {
  Evaluation evaluation;
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    RuleHealth& health = health_[i];
    health.last_evaluation = ts;
    auto fail = [&](const Error& error) {
      health.ok = false;
      health.last_error = error.message;
      ++health.failures_total;
      ++evaluation.failed_rules;
      evaluation.series.insert(evaluation.series.end(), last_series_[i].begin(), last_series_[i].end());
    };
    auto result = query(spec_.rules[i].expr, ts);
    if (!result) {
      fail(result.error());
      continue;
    }
    Result<std::vector<RuleSample>> series = recording_[i] ? recording_[i]->Eval(*result, spec_.limit)
                                                           : alerting_[i]->Eval(ts, *result, context, spec_.limit);
    if (!series) {
      fail(series.error());
      continue;
    }
    health.ok = true;
    health.last_error.clear();
    evaluation.series.insert(evaluation.series.end(), series->begin(), series->end());
    last_series_[i] = std::move(*series);
    if (alerting_[i]) {
      for (const Alert& alert : alerting_[i]->TakeAlertsToSend(ts, resend_delay_seconds, interval_seconds)) {
        evaluation.to_notify.push_back(ToNotification(alert, spec_.rules[i].expr, context));
      }
    }
  }
  return evaluation;
}

void RuleGroup::TakeStateFrom(RuleGroup& previous) {
  std::vector<bool> used(previous.spec_.rules.size(), false);
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    const std::string identity = RuleIdentity(spec_.rules[i]);
    for (size_t j = 0; j < previous.spec_.rules.size(); ++j) {
      if (used[j] || RuleIdentity(previous.spec_.rules[j]) != identity) continue;
      used[j] = true;
      if (alerting_[i] && previous.alerting_[j]) alerting_[i]->TakeStateFrom(*previous.alerting_[j]);
      last_series_[i] = std::move(previous.last_series_[j]);
      break;
    }
  }
}

const AlertingRule* RuleGroup::alerting_rule(size_t index) const { return alerting_.at(index).get(); }

AlertNotification ToNotification(const Alert& alert, std::string_view expr, const RuleContext& context) {
  AlertNotification out;
  out.labels = alert.labels;
  for (const auto& [name, value] : context.external_labels) {
    auto it = out.labels.find(name);
    if (it == out.labels.end() || it->second.empty()) out.labels[name] = value;
  }
  out.annotations = alert.annotations;
  out.starts_at = alert.fired_at;
  out.ends_at = alert.resolved_at != 0 ? alert.resolved_at : alert.valid_until;
  out.generator_url = context.external_url + TableLinkForExpression(expr);
  return out;
}

double GroupEvaluationOffset(std::string_view file, std::string_view name, double interval_seconds) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a 64
  auto mix = [&hash](std::string_view text) {
    for (unsigned char c : text) {
      hash ^= c;
      hash *= 1099511628211ull;
    }
  };
  mix(file);
  mix(";");
  mix(name);
  const auto interval_ms = static_cast<uint64_t>(std::llround(interval_seconds * 1000));
  if (interval_ms == 0) return 0;
  return static_cast<double>(hash % interval_ms) / 1000;
}

double LatestEvaluationSlot(double now, double interval_seconds, double offset_seconds) {
  return std::floor((now - offset_seconds) / interval_seconds) * interval_seconds + offset_seconds;
}

}  // namespace topdog::advisor
