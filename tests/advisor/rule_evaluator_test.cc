#include "advisor/rule_evaluator.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace topdog::advisor {
namespace {

constexpr const char* kRules = R"(groups:
  - name: api
    interval: 30s
    rules:
      - record: job:errors:rate5m
        expr: sum by (job) (rate(errors_total[5m]))
      - alert: ApiErrors
        expr: job:errors:rate5m > 1
        for: 1m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }}: {{ $value }} errors/s"}
)";

class RuleEvaluatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rule_evaluator_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    Write(kRules);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Rewrites the rule file with a new modification time (the evaluator notices changes by size and mtime).
  void Write(const std::string& text) {
    const std::string path = dir_ + "/api.yml";
    std::ofstream(path + ".tmp") << text;
    std::filesystem::rename(path + ".tmp", path);  // a new inode, as a ConfigMap update
  }

  // A loaded evaluator whose group has passed its first slot (a new group waits for its next one).
  std::unique_ptr<RuleEvaluator> Make(bool primed = true) {
    RuleEvaluatorOptions options;
    options.files = {dir_ + "/*.yml"};
    options.context.external_url = "http://advisor:9101";
    auto evaluator = std::make_unique<RuleEvaluator>(
        options,
        [this](std::string_view expr, double ts) -> Result<std::vector<RuleSample>> {
          queries.emplace_back(std::string(expr), ts);
          if (fail_queries) return MakeError(ErrorKind::kUnavailable, "prometheus: connection refused");
          if (expr.find("rate(errors_total") != std::string_view::npos)
            return std::vector<RuleSample>{{{{"job", "api"}}, rate}};
          if (expr == "job:errors:rate5m > 1" && rate > 1)
            return std::vector<RuleSample>{{{{"__name__", "job:errors:rate5m"}, {"job", "api"}}, rate}};
          return std::vector<RuleSample>{};
        },
        [this](std::vector<AlertNotification> alerts) {
          for (auto& alert : alerts) sent.push_back(std::move(alert));
        },
        metrics);
    auto loaded = evaluator->Load();
    EXPECT_TRUE(loaded) << loaded.error().message;
    if (primed) evaluator->Tick(Start() - 29);
    return evaluator;
  }

  double Metric(const std::string& name, const MetricLabels& labels = {}) { return metrics.Value(name, labels); }
  std::string GroupLabel() { return dir_ + "/api.yml;api"; }
  // A time exactly on one of the group's evaluation slots.
  double Start() { return 1'000'000 * 30.0 + GroupEvaluationOffset(dir_ + "/api.yml", "api", 30); }

  std::string dir_;
  DaemonMetrics metrics;
  std::vector<std::pair<std::string, double>> queries;
  std::vector<AlertNotification> sent;
  double rate = 2;
  bool fail_queries = false;
};

TEST_F(RuleEvaluatorTest, EvaluatesEachSlotOnceInRuleOrder) {
  auto evaluator = Make(/*primed=*/false);
  EXPECT_EQ(evaluator->group_count(), 1u);
  const double start = Start();
  EXPECT_NEAR(evaluator->Tick(start - 29.5), 29.5, 1e-6);  // the group waits for its next slot
  EXPECT_TRUE(queries.empty());
  double wait = evaluator->Tick(start + 0.5);
  ASSERT_EQ(queries.size(), 2u);
  EXPECT_EQ(queries[0].first, "sum by (job) (rate(errors_total[5m]))");
  EXPECT_EQ(queries[0].second, start);  // queries run at the slot's time
  EXPECT_EQ(queries[1].first, "job:errors:rate5m > 1");
  EXPECT_NEAR(wait, 29.5, 1e-6);
  evaluator->Tick(start + 10);  // same slot: nothing
  EXPECT_EQ(queries.size(), 2u);
  evaluator->Tick(start + 30);
  EXPECT_EQ(queries.size(), 4u);
}

TEST_F(RuleEvaluatorTest, PublishesRecordedSeriesAlertsAndHealth) {
  auto evaluator = Make();
  const double start = Start();
  for (int i = 0; i <= 2; ++i) evaluator->Tick(start + 30 * i + 1);
  EXPECT_EQ(Metric("job:errors:rate5m", {{"job", "api"}}), 2);
  EXPECT_EQ(
      Metric("ALERTS", {{"alertname", "ApiErrors"}, {"alertstate", "firing"}, {"job", "api"}, {"severity", "page"}}),
      1);
  EXPECT_EQ(Metric("topdog_advisor_rule_healthy", {{"rule_group", GroupLabel()}, {"rule", "ApiErrors"}}), 1);
  EXPECT_EQ(Metric("topdog_advisor_rules_last_reload_successful"), 1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].annotations.at("summary"), "api: 2 errors/s");
  EXPECT_EQ(sent[0].generator_url, "http://advisor:9101/graph?g0.expr=job%3Aerrors%3Arate5m+%3E+1&g0.tab=1");
  // The alert goes away: ALERTS is gone from /metrics, the resolved alert is sent.
  rate = 0.5;
  evaluator->Tick(start + 90 + 1);
  EXPECT_TRUE(std::isnan(
      Metric("ALERTS", {{"alertname", "ApiErrors"}, {"alertstate", "firing"}, {"job", "api"}, {"severity", "page"}})));
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NE(sent[1].ends_at, 0);
}

TEST_F(RuleEvaluatorTest, FailingQueriesMarkRulesUnhealthyAndKeepAlertState) {
  auto evaluator = Make();
  const double start = Start();
  evaluator->Tick(start + 1);
  fail_queries = true;
  evaluator->Tick(start + 31);
  EXPECT_EQ(Metric("topdog_advisor_rule_healthy", {{"rule_group", GroupLabel()}, {"rule", "ApiErrors"}}), 0);
  // What the failed rules last wrote stays on /metrics (Prometheus writes nothing new, marks nothing stale).
  EXPECT_EQ(
      Metric("ALERTS", {{"alertname", "ApiErrors"}, {"alertstate", "pending"}, {"job", "api"}, {"severity", "page"}}),
      1);
  EXPECT_EQ(Metric("job:errors:rate5m", {{"job", "api"}}), 2);
  EXPECT_EQ(Metric("topdog_advisor_rule_evaluation_failures_total", {{"rule_group", GroupLabel()}}), 2);
  fail_queries = false;
  evaluator->Tick(start + 61);  // pending since `start`: 60 s >= for 1m
  EXPECT_EQ(
      Metric("ALERTS", {{"alertname", "ApiErrors"}, {"alertstate", "firing"}, {"job", "api"}, {"severity", "page"}}),
      1);
  EXPECT_EQ(Metric("topdog_advisor_rule_healthy", {{"rule_group", GroupLabel()}, {"rule", "ApiErrors"}}), 1);
}

TEST_F(RuleEvaluatorTest, BadReloadKeepsThePreviousRulesRunning) {
  auto evaluator = Make();
  const double start = Start();
  evaluator->Tick(start + 1);
  Write("groups:\n  - name: api\n    rules:\n      - alert: Broken\n");
  evaluator->Tick(start + 31);
  EXPECT_EQ(Metric("topdog_advisor_rules_last_reload_successful"), 0);
  EXPECT_EQ(Metric("topdog_advisor_rules_reloads_total", {{"result", "error"}}), 1);
  EXPECT_EQ(evaluator->group_count(), 1u);
  EXPECT_EQ(queries.size(), 4u);  // the old rules ran
  evaluator->Tick(start + 61);
  EXPECT_EQ(Metric("topdog_advisor_rules_reloads_total", {{"result", "error"}}), 1);  // not retried until changed
  EXPECT_EQ(
      Metric("ALERTS", {{"alertname", "ApiErrors"}, {"alertstate", "firing"}, {"job", "api"}, {"severity", "page"}}),
      1);
}

TEST_F(RuleEvaluatorTest, GoodReloadKeepsPendingStateOfUnchangedRules) {
  auto evaluator = Make();
  const double start = Start();
  evaluator->Tick(start + 1);  // pending from `start`
  std::string changed = kRules;
  changed.replace(changed.find("errors/s"), 8, "errors per second");
  Write(changed);
  evaluator->Tick(start + 61);
  EXPECT_EQ(Metric("topdog_advisor_rules_reloads_total", {{"result", "ok"}}), 2);
  ASSERT_EQ(sent.size(), 1u);  // fired at start + 60: the pending time before the reload counted
  EXPECT_EQ(sent[0].starts_at, start + 60);
  EXPECT_EQ(sent[0].annotations.at("summary"), "api: 2 errors per second");
}

TEST_F(RuleEvaluatorTest, MissedSlotsAreCountedNotRun) {
  auto evaluator = Make();
  const double start = Start();
  evaluator->Tick(start + 1);
  evaluator->Tick(start + 120 + 1);  // slots at +30, +60, +90 missed
  EXPECT_EQ(queries.size(), 4u);
  EXPECT_EQ(Metric("topdog_advisor_rule_group_iterations_missed_total", {{"rule_group", GroupLabel()}}), 3);
}

}  // namespace
}  // namespace topdog::advisor
