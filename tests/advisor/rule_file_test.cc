#include "advisor/io/rule_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace topdog::advisor {
namespace {

constexpr const char* kGood = R"(groups:
  - name: api-slo
    interval: 30s
    limit: 10
    rules:
      - record: topdog:gateway_request_errors:ratio_rate5m
        expr: |
          sum(rate(topdog_exporter_gateway_requests_total{status=~"5.."}[5m]))
          / sum(rate(topdog_exporter_gateway_requests_total[5m]))
        labels:
          slo: api-availability
      - alert: ApiErrorBudgetBurn
        expr: topdog:gateway_request_errors:ratio_rate5m > (14.4 * 0.001)
        for: 2m
        keep_firing_for: 5m
        labels:
          severity: page
        annotations:
          summary: "API error budget burning"
          description: "{{ $value | humanizePercentage }} of requests fail ({{ $labels.slo }})."
  - name: empty
)";

std::string ErrorOf(const std::string& text) {
  auto groups = ParseRuleFile(text, "rules/x.yml");
  return groups ? std::string("no error") : groups.error().message;
}

TEST(RuleFileTest, ReadsGroupsAndRules) {
  auto groups = ParseRuleFile(kGood, "rules/api.yml");
  ASSERT_TRUE(groups) << groups.error().message;
  ASSERT_EQ(groups->size(), 2u);
  const RuleGroupSpec& group = (*groups)[0];
  EXPECT_EQ(group.file, "rules/api.yml");
  EXPECT_EQ(group.name, "api-slo");
  EXPECT_EQ(group.interval_seconds, 30);
  EXPECT_EQ(group.limit, 10u);
  ASSERT_EQ(group.rules.size(), 2u);
  const RuleSpec& record = group.rules[0];
  EXPECT_EQ(record.kind, RuleSpec::Kind::kRecording);
  EXPECT_EQ(record.name, "topdog:gateway_request_errors:ratio_rate5m");
  EXPECT_EQ(record.expr.rfind("sum(rate(", 0), 0u);
  EXPECT_EQ(record.labels, (std::vector<std::pair<std::string, std::string>>{{"slo", "api-availability"}}));
  EXPECT_EQ(record.line, 6);
  const RuleSpec& alert = group.rules[1];
  EXPECT_EQ(alert.kind, RuleSpec::Kind::kAlerting);
  EXPECT_EQ(alert.name, "ApiErrorBudgetBurn");
  EXPECT_EQ(alert.for_seconds, 120);
  EXPECT_EQ(alert.keep_firing_for_seconds, 300);
  EXPECT_EQ(alert.annotations.size(), 2u);
  EXPECT_EQ((*groups)[1].name, "empty");
  EXPECT_EQ((*groups)[1].interval_seconds, 0);
  EXPECT_TRUE((*groups)[1].rules.empty());
}

TEST(RuleFileTest, EmptyFileHasNoGroups) {
  auto groups = ParseRuleFile("", "rules/empty.yml");
  ASSERT_TRUE(groups);
  EXPECT_TRUE(groups->empty());
}

TEST(RuleFileTest, ErrorsNameFileLineAndReason) {
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        fore: 5m\n"),
            "rules/x.yml:6: field fore not found in rule");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n  - name: a\n"),
            "rules/x.yml:3: groupname: \"a\" is repeated in the same file");
  EXPECT_EQ(ErrorOf("groups:\n  - interval: 1m\n"), "rules/x.yml:2: Groupname must not be empty");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        record: b\n        expr: up\n"),
            "rules/x.yml:4: only one of 'record' and 'alert' must be set");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - expr: up\n"),
            "rules/x.yml:4: one of 'record' or 'alert' must be set");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n"),
            "rules/x.yml:4: field 'expr' must be set in rule");
  EXPECT_EQ(
      ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        for: five minutes\n"),
      "rules/x.yml:6: for: not a valid duration: \"five minutes\"");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - record: a-b\n        expr: up\n"),
            "rules/x.yml:4: invalid recording rule name: a-b");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - record: ab\n        expr: up\n        for: 1m\n"),
            "rules/x.yml:6: invalid field 'for' in recording rule");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - record: ab\n        expr: up\n"
                    "        annotations: {summary: x}\n"),
            "rules/x.yml:6: invalid field 'annotations' in recording rule");
  EXPECT_EQ(
      ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        labels: {__name__: x}\n"),
      "rules/x.yml:6: invalid label name: __name__");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
                    "        annotations: {bad-name: x}\n"),
            "rules/x.yml:6: invalid annotation name: bad-name");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: sum(rate(x[5m])\n"),
            "rules/x.yml:5: could not parse expression: unclosed '('");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: 'x{a=\"b}'\n"),
            "rules/x.yml:5: could not parse expression: unterminated string starting at column 5");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    limit: -1\n"), "rules/x.yml:3: limit must be a non-negative integer");
  EXPECT_EQ(ErrorOf("groups:\n  - name: a\n    rules:\n      - record: ALERTS\n        expr: up\n"),
            "rules/x.yml:4: recording rule name ALERTS is reserved for the advisor's own series");
  EXPECT_EQ(ErrorOf("x: \"\\\n\"\n").find('\n'), std::string::npos);  // yaml-cpp quotes the character: kept on one line
  EXPECT_EQ(ErrorOf("groups: [\n"), "rules/x.yml:2: end of sequence flow not found");
  EXPECT_EQ(ErrorOf("rules: []\n"), "rules/x.yml:1: field rules not found in the rule file");
}

TEST(RuleFileTest, TemplateErrorsAreLoadErrors) {
  const std::string error = ErrorOf(
      "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n"
      "        annotations: {summary: '{{ $value | nosuch }}'}\n");
  EXPECT_EQ(error.rfind("rules/x.yml: group a, rule 1 (alert A): annotation summary: ", 0), 0u) << error;
}

class RuleFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "rule_files_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ + "/" + name) << text; }
  std::string dir_;
};

TEST_F(RuleFilesTest, GlobsAreReadInNameOrder) {
  Write("b.yml", "groups:\n  - name: b\n");
  Write("a.yml", "groups:\n  - name: a\n");
  auto groups = LoadRuleFiles({dir_ + "/*.yml"});
  ASSERT_TRUE(groups) << groups.error().message;
  ASSERT_EQ(groups->size(), 2u);
  EXPECT_EQ((*groups)[0].name, "a");
  EXPECT_EQ((*groups)[0].file, dir_ + "/a.yml");
  EXPECT_EQ((*groups)[1].name, "b");
}

TEST_F(RuleFilesTest, GlobWithoutMatchesIsEmptyButAMissingFileIsAnError) {
  auto none = LoadRuleFiles({dir_ + "/*.rules"});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto missing = LoadRuleFiles({dir_ + "/absent.yml"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST_F(RuleFilesTest, OneBadFileFailsTheWholeSet) {
  Write("a.yml", "groups:\n  - name: a\n");
  Write("b.yml", "groups:\n  - name: b\n    rules:\n      - alert: B\n");
  auto groups = LoadRuleFiles({dir_ + "/*.yml"});
  ASSERT_FALSE(groups);
  EXPECT_EQ(groups.error().message, dir_ + "/b.yml:4: field 'expr' must be set in rule");
}

// The rules shipped in rules/ are what the advisor evaluates in production: every template must compile.
TEST(ShippedRulesTest, EveryRuleFileInTheRepoLoads) {
  auto groups = LoadRuleFiles({std::string(TOPDOG_SOURCE_DIR) + "/rules/*.yml"});
  ASSERT_TRUE(groups) << groups.error().message;
  size_t alerts = 0;
  for (const RuleGroupSpec& group : *groups) {
    for (const RuleSpec& rule : group.rules) alerts += rule.kind == RuleSpec::Kind::kAlerting;
  }
  EXPECT_GT(alerts, 0u);
}

}  // namespace
}  // namespace topdog::advisor
