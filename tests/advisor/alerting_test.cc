#include "advisor/core/alerting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace topdog::advisor {
namespace {

RuleSpec Alerting(std::string name, double for_seconds = 0, double keep_firing_for_seconds = 0) {
  RuleSpec spec;
  spec.kind = RuleSpec::Kind::kAlerting;
  spec.name = std::move(name);
  spec.expr = "sum by (job) (rate(http_requests_total{status=~\"5..\"}[5m])) > 0.5";
  spec.for_seconds = for_seconds;
  spec.keep_firing_for_seconds = keep_firing_for_seconds;
  spec.labels = {{"severity", "page"}};
  spec.annotations = {{"summary", "{{ $labels.job }} errors at {{ $value }}/s"}};
  return spec;
}

AlertingRule MakeRule(const RuleSpec& spec) {
  auto rule = AlertingRule::Create(spec);
  EXPECT_TRUE(rule) << rule.error().message;
  return std::move(*rule);
}

std::vector<RuleSample> Api(double value) { return {{{{"job", "api"}}, value}}; }

const LabelSet kApiAlert = {{"alertname", "ApiErrors"}, {"job", "api"}, {"severity", "page"}};

// The state of the one alert of `rule`, or kInactive with found=false.
const Alert* OnlyAlert(const AlertingRule& rule) {
  if (rule.active().size() != 1) return nullptr;
  return &rule.active().begin()->second;
}

// Runs evaluations every `interval` seconds from `from` to `to` (inclusive), the series present while
// `present(ts)`, and returns the times at which notifications went out.
struct Timeline {
  std::vector<double> sent_at;
  std::vector<Alert> sent;
  std::map<double, AlertState> state_at;  // of the alert after each evaluation (absent: no alert)
};

Timeline RunEvaluations(AlertingRule& rule, double from, double to, double interval, double resend_delay,
                        const std::function<bool(double)>& present) {
  Timeline timeline;
  for (double ts = from; ts <= to + 1e-9; ts += interval) {
    auto series = rule.Eval(ts, present(ts) ? Api(0.75) : std::vector<RuleSample>{}, RuleContext{}, 0);
    EXPECT_TRUE(series) << series.error().message;
    if (const Alert* alert = OnlyAlert(rule)) timeline.state_at[ts] = alert->state;
    for (const Alert& alert : rule.TakeAlertsToSend(ts, resend_delay, interval)) {
      timeline.sent_at.push_back(ts);
      timeline.sent.push_back(alert);
    }
  }
  return timeline;
}

TEST(AlertingRuleTest, PendingForTheForDurationThenFiring) {
  // As verified on Prometheus 2.42: active at 1m with `for: 5m` and a 30 s interval: pending at 5m30s, firing at 6m.
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 300));
  Timeline timeline = RunEvaluations(rule, 0, 420, 30, 60, [](double ts) { return ts >= 60; });
  EXPECT_EQ(timeline.state_at.count(30), 0u);
  EXPECT_EQ(timeline.state_at.at(60), AlertState::kPending);
  EXPECT_EQ(timeline.state_at.at(330), AlertState::kPending);
  EXPECT_EQ(timeline.state_at.at(360), AlertState::kFiring);
  ASSERT_FALSE(timeline.sent.empty());
  EXPECT_EQ(timeline.sent_at.front(), 360);  // pending is never sent
  EXPECT_EQ(timeline.sent.front().fired_at, 360);
  EXPECT_EQ(timeline.sent.front().active_at, 60);
}

TEST(AlertingRuleTest, WithoutForFiresAtOnce) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors"));
  ASSERT_TRUE(rule.Eval(100, Api(1), RuleContext{}, 0));
  ASSERT_NE(OnlyAlert(rule), nullptr);
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kFiring);
  EXPECT_EQ(OnlyAlert(rule)->fired_at, 100);
}

TEST(AlertingRuleTest, AlertsSeriesAndLabelsAndAnnotations) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 60));
  std::vector<RuleSample> result = {{{{"__name__", "x"}, {"job", "api"}, {"alertname", "overridden"}}, 0.75}};
  auto series = rule.Eval(1000.5, result, RuleContext{}, 0);
  ASSERT_TRUE(series) << series.error().message;
  LabelSet alerts = kApiAlert;
  alerts["__name__"] = "ALERTS";
  alerts["alertstate"] = "pending";
  LabelSet for_state = kApiAlert;
  for_state["__name__"] = "ALERTS_FOR_STATE";
  EXPECT_EQ(*series, (std::vector<RuleSample>{{alerts, 1}, {for_state, 1000}}));
  ASSERT_NE(OnlyAlert(rule), nullptr);
  EXPECT_EQ(OnlyAlert(rule)->labels, kApiAlert);
  EXPECT_EQ(OnlyAlert(rule)->annotations, (LabelSet{{"summary", "api errors at 0.75/s"}}));
}

TEST(AlertingRuleTest, ValueAndAnnotationsFollowEachEvaluationButActiveAtStays) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 60));
  ASSERT_TRUE(rule.Eval(0, Api(0.75), RuleContext{}, 0));
  ASSERT_TRUE(rule.Eval(30, Api(2), RuleContext{}, 0));
  const Alert* alert = OnlyAlert(rule);
  ASSERT_NE(alert, nullptr);
  EXPECT_EQ(alert->value, 2);
  EXPECT_EQ(alert->annotations.at("summary"), "api errors at 2/s");
  EXPECT_EQ(alert->active_at, 0);
}

TEST(AlertingRuleTest, PendingAlertThatVanishesIsForgottenAndNeverSent) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 300));
  Timeline timeline = RunEvaluations(rule, 0, 600, 30, 60, [](double ts) { return ts >= 60 && ts < 200; });
  EXPECT_TRUE(timeline.sent.empty());
  EXPECT_TRUE(rule.active().empty());
  EXPECT_EQ(timeline.state_at.count(210), 0u);
}

TEST(AlertingRuleTest, ResolvedAlertIsSentAtOnceThenResentUntilRetentionEnds) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors"));
  // Firing from t0 to t0 + 100 s (5 s interval), resolved at t0 + 105 s.
  const double t0 = 1'700'000'000;
  Timeline timeline = RunEvaluations(rule, t0, t0 + 2000, 5, 60, [t0](double ts) { return ts <= t0 + 100; });
  // Firing: sent at once, then when more than 60 s passed (65 s: as verified, resent at +65 s).
  ASSERT_GE(timeline.sent_at.size(), 3u);
  EXPECT_EQ(timeline.sent_at[0] - t0, 0);
  EXPECT_EQ(timeline.sent_at[1] - t0, 65);
  EXPECT_EQ(timeline.sent[1].valid_until - t0, 65 + 240);  // 4 x max(resend delay, interval)
  // Resolved at +105: sent at once with ResolvedAt, then every 65 s until 15 minutes after resolution.
  EXPECT_EQ(timeline.sent_at[2] - t0, 105);
  EXPECT_EQ(timeline.sent[2].state, AlertState::kInactive);
  EXPECT_EQ(timeline.sent[2].resolved_at - t0, 105);
  for (size_t i = 3; i < timeline.sent_at.size(); ++i) {
    EXPECT_EQ(timeline.sent_at[i] - timeline.sent_at[i - 1], 65) << i;
    EXPECT_EQ(timeline.sent[i].resolved_at - t0, 105);
  }
  EXPECT_LE(timeline.sent_at.back() - t0, 105 + 900);
  EXPECT_GT(timeline.sent_at.back() - t0, 105 + 900 - 65);
  EXPECT_TRUE(rule.active().empty());  // dropped after the retention
}

TEST(AlertingRuleTest, KeepFiringForHoldsTheAlertWithItsLastAnnotations) {
  // As verified: expression false from 18m with keep_firing_for 2m: still firing at 19m with the old
  // annotation, resolved by 21m.
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 0, 120));
  double value = 0.75;
  for (double ts = 0; ts < 1080; ts += 60) {
    value += 1;
    ASSERT_TRUE(rule.Eval(ts, Api(value), RuleContext{}, 0));
  }
  const std::string last_summary = OnlyAlert(rule)->annotations.at("summary");
  auto at_18m = rule.Eval(1080, {}, RuleContext{}, 0);
  ASSERT_TRUE(at_18m);
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kFiring);
  EXPECT_EQ(at_18m->size(), 2u);  // ALERTS and ALERTS_FOR_STATE still written
  ASSERT_TRUE(rule.Eval(1140, {}, RuleContext{}, 0));
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kFiring);
  EXPECT_EQ(OnlyAlert(rule)->annotations.at("summary"), last_summary);
  EXPECT_EQ(OnlyAlert(rule)->value, value);
  auto at_20m = rule.Eval(1200, {}, RuleContext{}, 0);
  ASSERT_TRUE(at_20m);
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kInactive);
  EXPECT_EQ(OnlyAlert(rule)->resolved_at, 1200);
  EXPECT_TRUE(at_20m->empty());
}

TEST(AlertingRuleTest, KeepFiringClockRestartsWhenTheSeriesComesBack) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 0, 120));
  ASSERT_TRUE(rule.Eval(0, Api(1), RuleContext{}, 0));
  ASSERT_TRUE(rule.Eval(60, {}, RuleContext{}, 0));
  ASSERT_TRUE(rule.Eval(120, Api(1), RuleContext{}, 0));
  EXPECT_EQ(OnlyAlert(rule)->keep_firing_since, 0);
  ASSERT_TRUE(rule.Eval(180, {}, RuleContext{}, 0));
  ASSERT_TRUE(rule.Eval(240, {}, RuleContext{}, 0));
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kFiring);
}

TEST(AlertingRuleTest, ResolvedAlertThatReturnsStartsOverAsPending) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors", 60));
  for (double ts : {0.0, 60.0}) ASSERT_TRUE(rule.Eval(ts, Api(1), RuleContext{}, 0));
  ASSERT_EQ(OnlyAlert(rule)->state, AlertState::kFiring);
  ASSERT_TRUE(rule.Eval(120, {}, RuleContext{}, 0));
  ASSERT_EQ(OnlyAlert(rule)->state, AlertState::kInactive);
  ASSERT_TRUE(rule.Eval(180, Api(1), RuleContext{}, 0));
  EXPECT_EQ(OnlyAlert(rule)->state, AlertState::kPending);
  EXPECT_EQ(OnlyAlert(rule)->active_at, 180);
  EXPECT_EQ(OnlyAlert(rule)->resolved_at, 0);
}

TEST(AlertingRuleTest, SameLabelsetAfterRuleLabelsIsAnErrorThatKeepsTheState) {
  RuleSpec spec = Alerting("ApiErrors", 300);
  spec.labels.push_back({"job", "fixed"});  // collapses every job
  AlertingRule rule = MakeRule(spec);
  ASSERT_TRUE(rule.Eval(0, {{{{"job", "a"}}, 1}}, RuleContext{}, 0));
  auto result = rule.Eval(30, {{{{"job", "a"}}, 1}, {{{"job", "b"}}, 1}}, RuleContext{}, 0);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "vector contains metrics with the same labelset after applying alert labels");
  ASSERT_NE(OnlyAlert(rule), nullptr);
  EXPECT_EQ(OnlyAlert(rule)->active_at, 0);
}

TEST(AlertingRuleTest, EmptyTemplatedLabelRemovesTheLabel) {
  RuleSpec spec = Alerting("ApiErrors");
  spec.labels = {{"job", ""}, {"team", "{{ $labels.owner }}"}};
  AlertingRule rule = MakeRule(spec);
  ASSERT_TRUE(rule.Eval(0, {{{{"job", "api"}, {"owner", "payments"}}, 1}}, RuleContext{}, 0));
  EXPECT_EQ(OnlyAlert(rule)->labels,
            (LabelSet{{"alertname", "ApiErrors"}, {"owner", "payments"}, {"team", "payments"}}));
}

TEST(AlertingRuleTest, TemplateThatFailsAtExpansionGivesPrometheusErrorText) {
  RuleSpec spec = Alerting("ApiErrors");
  spec.annotations = {{"summary", "{{ humanize \"many\" }}"}};
  AlertingRule rule = MakeRule(spec);
  ASSERT_TRUE(rule.Eval(1000, Api(1), RuleContext{}, 0));
  const std::string summary = OnlyAlert(rule)->annotations.at("summary");
  EXPECT_EQ(summary.rfind("<error expanding template: error executing template __alert_ApiErrors: ", 0), 0u) << summary;
  EXPECT_NE(summary.find("error calling humanize"), std::string::npos) << summary;
}

TEST(AlertingRuleTest, LimitDropsEveryAlert) {
  AlertingRule rule = MakeRule(Alerting("ApiErrors"));
  auto result = rule.Eval(0, {{{{"job", "a"}}, 1}, {{{"job", "b"}}, 1}, {{{"job", "c"}}, 1}}, RuleContext{}, 2);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "exceeded limit of 2 with 3 alerts");
  EXPECT_TRUE(rule.active().empty());
}

TEST(AlertingRuleTest, TemplateThatDoesNotParseIsRefusedAtCreation) {
  RuleSpec spec = Alerting("ApiErrors");
  spec.annotations = {{"description", "{{ $value | nosuchfunction }}"}};
  auto rule = AlertingRule::Create(spec);
  ASSERT_FALSE(rule);
  EXPECT_EQ(rule.error().message.rfind("annotation description: ", 0), 0u) << rule.error().message;
}

TEST(NotificationTest, CarriesTimesExternalLabelsAndGeneratorUrl) {
  Alert alert;
  alert.labels = kApiAlert;
  alert.labels["cluster"] = "own";
  alert.annotations = {{"summary", "s"}};
  alert.state = AlertState::kFiring;
  alert.fired_at = 360;
  alert.valid_until = 600;
  RuleContext context{{{"cluster", "doks-1"}, {"region", "fra1"}}, "http://advisor.example:9090"};
  AlertNotification firing = ToNotification(alert, "up == 0", context);
  EXPECT_EQ(firing.labels.at("cluster"), "own");  // the alert's own label wins
  EXPECT_EQ(firing.labels.at("region"), "fra1");
  EXPECT_EQ(firing.starts_at, 360);
  EXPECT_EQ(firing.ends_at, 600);
  EXPECT_EQ(firing.generator_url, "http://advisor.example:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1");
  alert.resolved_at = 420;
  EXPECT_EQ(ToNotification(alert, "up == 0", context).ends_at, 420);
}

TEST(QueryEscapeTest, MatchesGo) {
  // url.QueryEscape in Go 1.19.
  EXPECT_EQ(GoQueryEscape("sum(rate(x{a=\"b\"}[5m])) > 0.5"), "sum%28rate%28x%7Ba%3D%22b%22%7D%5B5m%5D%29%29+%3E+0.5");
  EXPECT_EQ(GoQueryEscape("a-b_c.d~e/f é"), "a-b_c.d~e%2Ff+%C3%A9");
}

TEST(RecordingRuleTest, RenamesAndAppliesLabels) {
  RuleSpec spec;
  spec.kind = RuleSpec::Kind::kRecording;
  spec.name = "job:requests:rate5m";
  spec.labels = {{"source", "gateway"}, {"instance", ""}};
  RecordingRule rule(spec);
  auto out = rule.Eval({{{{"__name__", "x"}, {"job", "api"}, {"instance", "a:1"}}, 2.5}}, 0);
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(
      *out,
      (std::vector<RuleSample>{{{{"__name__", "job:requests:rate5m"}, {"job", "api"}, {"source", "gateway"}}, 2.5}}));
}

TEST(RecordingRuleTest, CollisionsAndLimitAreErrors) {
  RuleSpec spec;
  spec.kind = RuleSpec::Kind::kRecording;
  spec.name = "r";
  spec.labels = {{"instance", ""}};
  RecordingRule rule(spec);
  auto collision = rule.Eval({{{{"instance", "a"}}, 1}, {{{"instance", "b"}}, 1}}, 0);
  ASSERT_FALSE(collision);
  EXPECT_EQ(collision.error().message, "vector contains metrics with the same labelset after applying rule labels");
  auto limited = rule.Eval({{{{"job", "a"}}, 1}, {{{"job", "b"}}, 1}}, 1);
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().message, "exceeded limit of 1 with 2 series");
}

RuleGroupSpec TwoRuleGroup() {
  RuleGroupSpec spec;
  spec.file = "rules/api.yml";
  spec.name = "api";
  RuleSpec record;
  record.kind = RuleSpec::Kind::kRecording;
  record.name = "job:errors:rate5m";
  record.expr = "broken(";
  spec.rules.push_back(record);
  spec.rules.push_back(Alerting("ApiErrors"));
  return spec;
}

TEST(RuleGroupTest, FailingQueryMarksOnlyThatRuleUnhealthy) {
  auto group = RuleGroup::Create(TwoRuleGroup());
  ASSERT_TRUE(group) << group.error().message;
  std::vector<std::string> asked;
  RuleQueryFunc query = [&asked](std::string_view expr, double) -> Result<std::vector<RuleSample>> {
    asked.emplace_back(expr);
    if (expr == "broken(")
      return MakeError(ErrorKind::kBadData, "bad_data: 1:8: parse error: unclosed left parenthesis");
    return Api(0.75);
  };
  RuleContext context{{}, "http://advisor:9090"};
  RuleGroup::Evaluation evaluation = group->Evaluate(120, query, context, 60, 60);
  EXPECT_EQ(asked.size(), 2u);
  EXPECT_EQ(evaluation.failed_rules, 1u);
  EXPECT_FALSE(group->health()[0].ok);
  EXPECT_EQ(group->health()[0].last_error, "bad_data: 1:8: parse error: unclosed left parenthesis");
  EXPECT_EQ(group->health()[0].failures_total, 1u);
  EXPECT_TRUE(group->health()[1].ok);
  EXPECT_EQ(group->health()[1].last_evaluation, 120);
  ASSERT_EQ(evaluation.to_notify.size(), 1u);
  EXPECT_EQ(evaluation.to_notify[0].labels, kApiAlert);
  EXPECT_EQ(evaluation.series.size(), 2u);
  // The next evaluation does not resend before the resend delay.
  EXPECT_TRUE(group->Evaluate(180, query, context, 60, 60).to_notify.empty());
  EXPECT_EQ(group->Evaluate(240, query, context, 60, 60).to_notify.size(), 1u);
}

TEST(RuleGroupTest, ReloadKeepsTheStateOfUnchangedRules) {
  auto before = RuleGroup::Create(TwoRuleGroup());
  ASSERT_TRUE(before);
  RuleGroupSpec spec = TwoRuleGroup();
  spec.rules[1].for_seconds = 600;
  spec.rules[1].annotations = {{"summary", "changed"}};
  RuleQueryFunc query = [](std::string_view, double) -> Result<std::vector<RuleSample>> { return Api(1); };
  before->Evaluate(60, query, RuleContext{}, 60, 60);
  auto after = RuleGroup::Create(spec);
  ASSERT_TRUE(after);
  after->TakeStateFrom(*before);
  const AlertingRule* rule = after->alerting_rule(1);
  ASSERT_NE(rule, nullptr);
  ASSERT_EQ(rule->active().size(), 1u);
  EXPECT_EQ(rule->active().begin()->second.active_at, 60);
  EXPECT_EQ(after->alerting_rule(0), nullptr);
}

TEST(RuleGroupTest, RenamedRuleStartsFresh) {
  auto before = RuleGroup::Create(TwoRuleGroup());
  ASSERT_TRUE(before);
  RuleQueryFunc query = [](std::string_view, double) -> Result<std::vector<RuleSample>> { return Api(1); };
  before->Evaluate(60, query, RuleContext{}, 60, 60);
  RuleGroupSpec spec = TwoRuleGroup();
  spec.rules[1].name = "ApiErrorsRenamed";
  auto after = RuleGroup::Create(spec);
  ASSERT_TRUE(after);
  after->TakeStateFrom(*before);
  EXPECT_TRUE(after->alerting_rule(1)->active().empty());
}

TEST(EvaluationSlotTest, SlotsAreSpacedByTheIntervalAtAStableOffset) {
  const double offset = GroupEvaluationOffset("rules/api.yml", "api", 60);
  EXPECT_GE(offset, 0);
  EXPECT_LT(offset, 60);
  EXPECT_EQ(offset, GroupEvaluationOffset("rules/api.yml", "api", 60));
  EXPECT_NE(offset, GroupEvaluationOffset("rules/api.yml", "other", 60));
  const double slot = LatestEvaluationSlot(1'000'000.25, 60, offset);
  EXPECT_LE(slot, 1'000'000.25);
  EXPECT_GT(slot, 1'000'000.25 - 60);
  EXPECT_DOUBLE_EQ(std::fmod(slot - offset, 60), 0);
}

}  // namespace
}  // namespace topdog::advisor
