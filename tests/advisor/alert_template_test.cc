#include "advisor/core/alert_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace topdog::advisor {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Fixture cases that Go accepts and this implementation refuses on purpose (see alert_template.h), and the
// reason each is refused.
const std::map<std::string, std::string> kRefusedOnPurpose = {
    {"number_complex", "complex number 1i is not supported"},
    {"syntax_45", "{{define}} is not supported"},
    {"syntax_46", "{{template}} is not supported"},
    {"syntax_47", "{{block}} is not supported"},
};
// Fixture cases Go refuses for one reason and this implementation for another.
const std::map<std::string, std::string> kRefusedOtherwise = {
    {"syntax_77", "function \"query\" is not supported"},
};

struct Fixtures {
  std::string prometheus;
  nlohmann::json cases;
};

// tests/fixtures/alert_template/cases.json, captured from Prometheus 2.42 by capture.py (see PROVENANCE.md).
const Fixtures& LoadFixtures() {
  static const Fixtures fixtures = [] {
    std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/alert_template/cases.json", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    if (json.is_discarded()) return Fixtures{};
    return Fixtures{json["prometheus"].get<std::string>(), json["cases"]};
  }();
  return fixtures;
}

double ParseValue(const std::string& text) {
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Inf" || text == "+Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  return std::strtod(text.c_str(), nullptr);  // "5e-324" is a denormal: std::stod would throw
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

struct Expansion {
  Result<AlertTemplate> parsed;
  Result<std::string> expanded;
};

Expansion ExpandCase(const nlohmann::json& c) {
  Expansion e{AlertTemplate::Parse(c["template"].get<std::string>()), std::string()};
  if (!e.parsed) return e;
  const auto labels = c["labels"].get<std::map<std::string, std::string>>();
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  if (c.contains("external_labels")) external_labels = c["external_labels"].get<std::map<std::string, std::string>>();
  if (c.contains("external_url")) external_url = c["external_url"].get<std::string>();
  const AlertTemplateData data{&labels, &external_labels, external_url, ParseValue(c["value"].get<std::string>())};
  e.expanded = e.parsed->Expand(data);
  return e;
}

// The number of fixture cases of `kind` that this implementation supports.
size_t CountKind(const std::string& kind) {
  size_t n = 0;
  for (const auto& c : LoadFixtures().cases) n += c["kind"] == kind && kRefusedOnPurpose.count(c["name"]) == 0;
  return n;
}

TEST(AlertTemplateFixtureTest, FixturesComeFromPrometheus242) {
  EXPECT_THAT(LoadFixtures().prometheus, HasSubstr("version 2.42.0"));
  EXPECT_GE(LoadFixtures().cases.size(), 1000u);
}

// Every template whose expansion Prometheus printed expands to the same bytes.
TEST(AlertTemplateFixtureTest, ExpansionsAreByteIdenticalToPrometheus) {
  size_t checked = 0;
  for (const auto& c : LoadFixtures().cases) {
    const std::string name = c["name"];
    if (c["kind"] != "output" || kRefusedOnPurpose.count(name) > 0) continue;
    const std::string want = c.contains("output_hex") ? FromHex(c["output_hex"]) : c["output"].get<std::string>();
    Expansion e = ExpandCase(c);
    ASSERT_TRUE(e.parsed) << name << ": " << e.parsed.error().message;
    ASSERT_TRUE(e.expanded) << name << ": " << e.expanded.error().message;
    EXPECT_EQ(*e.expanded, want) << name << ": " << c["template"];
    ++checked;
  }
  EXPECT_EQ(checked, CountKind("output"));
}

// Where Prometheus printed "<error expanding template: ...>", Expand fails and PrometheusErrorText gives that
// text: the same node, line, column and reason.
TEST(AlertTemplateFixtureTest, RuntimeErrorsMatchPrometheusText) {
  size_t checked = 0;
  for (const auto& c : LoadFixtures().cases) {
    const std::string name = c["name"];
    if (c["kind"] != "error" || kRefusedOnPurpose.count(name) > 0) continue;
    const std::string want = c["prometheus"];
    const size_t at = want.find("__alert_") + 8;
    const std::string rule = want.substr(at, want.find(':', at) - at);
    Expansion e = ExpandCase(c);
    ASSERT_TRUE(e.parsed) << name << ": " << e.parsed.error().message;
    ASSERT_FALSE(e.expanded) << name << " expanded to " << *e.expanded;
    EXPECT_EQ(e.expanded.error().kind, ErrorKind::kBadData);
    EXPECT_EQ(e.parsed->PrometheusErrorText(rule, e.expanded.error()), want) << name;
    ++checked;
  }
  EXPECT_EQ(checked, CountKind("error"));
}

// Templates Go's parser refuses are refused with Go's reason (Go names only the line; we add the column).
TEST(AlertTemplateFixtureTest, ParseErrorsGiveGosReason) {
  const std::regex started_at(R"(( in action)? started at __alert_\w+:\d+$)");
  size_t checked = 0;
  for (const auto& c : LoadFixtures().cases) {
    const std::string name = c["name"];
    if (c["kind"] != "parse_error") continue;
    auto parsed = AlertTemplate::Parse(c["template"].get<std::string>());
    ASSERT_FALSE(parsed) << name << " parsed; Go: " << c["prometheus"];
    EXPECT_EQ(parsed.error().kind, ErrorKind::kBadData);
    EXPECT_THAT(parsed.error().message, StartsWith("column ")) << name;
    const std::string reason = parsed.error().message.substr(parsed.error().message.find(": ") + 2);
    if (auto other = kRefusedOtherwise.find(name); other != kRefusedOtherwise.end()) {
      EXPECT_THAT(reason, StartsWith(other->second)) << name;
    } else {
      EXPECT_EQ(reason, std::regex_replace(c["prometheus"].get<std::string>(), started_at, "")) << name;
    }
    ++checked;
  }
  EXPECT_EQ(checked, CountKind("parse_error"));
}

TEST(AlertTemplateFixtureTest, TemplatesGoAcceptsAreRefusedOnlyWhereDocumented) {
  for (const auto& c : LoadFixtures().cases) {
    const std::string name = c["name"];
    auto refused = kRefusedOnPurpose.find(name);
    if (refused == kRefusedOnPurpose.end()) continue;
    EXPECT_NE(c["kind"], "parse_error") << name;
    auto parsed = AlertTemplate::Parse(c["template"].get<std::string>());
    ASSERT_FALSE(parsed) << name;
    EXPECT_THAT(parsed.error().message, HasSubstr(refused->second));
  }
}

AlertTemplateData Data(const std::map<std::string, std::string>& labels, double value) {
  static const std::map<std::string, std::string> kNoLabels;
  return AlertTemplateData{&labels, &kNoLabels, "http://prom.example.com:9090/sub", value};
}

std::string MustExpand(std::string_view text, double value = 1, const std::map<std::string, std::string>& labels = {}) {
  auto parsed = AlertTemplate::Parse(text);
  if (!parsed) return "parse error: " + parsed.error().message;
  auto expanded = parsed->Expand(Data(labels, value));
  if (!expanded) return "expand error: " + expanded.error().message;
  return *expanded;
}

std::string ParseError(std::string_view text) {
  auto parsed = AlertTemplate::Parse(text);
  return parsed ? "parsed" : parsed.error().message;
}

std::string ExpandError(std::string_view text, double value = 1,
                        const std::map<std::string, std::string>& labels = {}) {
  auto parsed = AlertTemplate::Parse(text);
  if (!parsed) return "parse error: " + parsed.error().message;
  auto expanded = parsed->Expand(Data(labels, value));
  return expanded ? "expanded: " + *expanded : expanded.error().message;
}

TEST(AlertTemplateTest, ParseErrorsNameTheColumnAndTheReason) {
  EXPECT_EQ(ParseError("ab {{ nosuch }}"), "column 7: function \"nosuch\" not defined");
  EXPECT_EQ(ParseError("{{ $undefined }}"), "column 4: undefined variable \"$undefined\"");
  EXPECT_EQ(ParseError("x\n{{ if 1 }}"), "column 13: unexpected EOF");
  EXPECT_EQ(ParseError("ok {{ \"unterminated }}"), "column 7: unterminated quoted string");
  EXPECT_EQ(ParseError("{{ end }}"), "column 8: unexpected {{end}}");
  EXPECT_EQ(ParseError("{{ 1 | 2 }}"), "column 10: non executable command in pipeline stage 2");
  EXPECT_EQ(ParseError("{{ 08 }}"), "column 4: integer overflow: \"08\"");
  EXPECT_EQ(ParseError("{{/* open"), "column 3: unclosed comment");
  EXPECT_EQ(ParseError("{{ @ }}"), "column 4: unexpected \"@\" in command");
}

TEST(AlertTemplateTest, FunctionsThatNeedAQueryAreRefusedWithTheReason) {
  EXPECT_EQ(ParseError("{{ query \"up\" }}"),
            "column 4: function \"query\" is not supported: it runs a PromQL query, and templates here have no "
            "query engine");
  for (const char* name : {"first", "label", "value", "strvalue", "sortByLabel"}) {
    const std::string text = std::string("x {{ ") + name + " 1 }}";
    EXPECT_EQ(ParseError(text), "column 6: function \"" + std::string(name) +
                                    "\" is not supported: it needs the result of query, which is not supported")
        << name;
  }
  EXPECT_EQ(ParseError("{{ with query \"up\" }}{{ . | first | value }}{{ end }}"),
            "column 9: function \"query\" is not supported: it runs a PromQL query, and templates here have no "
            "query engine");
}

TEST(AlertTemplateTest, OtherUnsupportedSyntaxIsRefusedAtParse) {
  EXPECT_THAT(ParseError("{{ define \"x\" }}y{{ end }}"), HasSubstr("{{define}} is not supported"));
  EXPECT_THAT(ParseError("{{ template \"x\" . }}"), HasSubstr("{{template}} is not supported"));
  EXPECT_THAT(ParseError("{{ 1+2i }}"), HasSubstr("complex number 1+2i is not supported"));
  EXPECT_THAT(ParseError("{{ $labels.sévère }}"), HasSubstr("non-ASCII character U+00E9 'é' outside a string"));
  EXPECT_THAT(ParseError("{{ match \"" + std::string(101, '(') + std::string(101, ')') + "\" \"x\" }}"),
              HasSubstr("is not supported: nesting deeper than 100"));
  EXPECT_THAT(ParseError("{{ match \"" + std::string(65537, 'a') + "\" \"x\" }}"),
              HasSubstr("is not supported: longer than 65536 bytes (a bound of this implementation)"));
  EXPECT_THAT(
      ParseError("{{ match \"\\\\pL{1000}\" \"x\" }}"),
      HasSubstr("is not supported: compiled, it needs more than 4194304 bytes (a bound of this implementation)"));
  std::string deep;
  for (int i = 0; i < 101; ++i) deep += "{{ if 1 }}";
  EXPECT_THAT(ParseError(deep), HasSubstr("nesting deeper than 100 is not supported"));
  // An invalid pattern is not refused: Prometheus fails when expanding, and so do we.
  EXPECT_EQ(ParseError("{{ reReplaceAll \"(\" \"x\" \"y\" }}"), "parsed");
}

// Expected values from promtool 2.42 (Go 1.19.8), like the fixtures.
TEST(AlertTemplateTest, RegularExpressionsAreGosRunByRe2) {
  EXPECT_EQ(MustExpand("{{ reReplaceAll \"\\\\pL+\" \"L\" \"héllo wörld 42\" }}"), "L L 42");
  EXPECT_EQ(MustExpand("{{ reReplaceAll \"\\\\p{Greek}+\" \"G\" \"αβγ abc\" }}|{{ reReplaceAll \"\\\\P{Latin}\" \"\" "
                       "\"aΩb1\" }}|{{ reReplaceAll \"\\\\p{^Nd}\" \"\" \"a١2\" }}"),
            "G abc|ab|١2");
  EXPECT_EQ(MustExpand("{{ match \"(?i)é\" \"É\" }}|{{ reReplaceAll \"(?i)straße\" \"X\" \"STRASSE Straße STRAẞE\" }}|"
                       "{{ reReplaceAll \"(?i)k\" \"x\" \"kK\u212a\" }}"),
            "true|STRASSE X X|xxx");
  // Go reads each byte of invalid UTF-8 as U+FFFD, and matches only at rune boundaries (\B is true inside é).
  EXPECT_EQ(
      MustExpand(
          "{{ reReplaceAll \".\" \"x\" (slice \"é\" 0 1) }}|{{ reReplaceAll \"\\\\x{FFFD}\" \"?\" (slice \"é\" 1) "
          "}}|{{ reReplaceAll \"\\\\B\" \".\" \"aéa\" }}|{{ match \"\\\\B\" \"aéa\" }}"),
      "x|?|aéa|false");
  EXPECT_EQ(MustExpand("{{ reReplaceAll \"(?P<n>a)|(?P<m>b)\" \"[${m}][$1é][$\u0661]\" \"ab\" }}"), "[][][][b][][]");
  EXPECT_EQ(MustExpand("{{ reReplaceAll \"(?P<a>x)|(?P<a>y)\" \"[$a]\" \"xy\" }}"), "[x][y]");
  // Syntax RE2 accepts or reports otherwise fails with Go's error.
  for (const auto& [pattern, error] : std::vector<std::pair<std::string, std::string>>{
           {"\\\\C", "invalid escape sequence: `\\C`"},
           {"a{1000000000}", "invalid repeat count: `{1000000000}`"},
           {"a{2,1}?", "invalid repeat count: `{2,1}`"},
           {"(?P=n)", "invalid or unsupported Perl syntax: `(?P`"},
           {"\\\\p{Toto}", "invalid character class range: `\\p{Toto}`"},
       }) {
    EXPECT_THAT(ExpandError("{{ match \"" + pattern + "\" \"x\" }}"),
                HasSubstr("error calling match: error parsing regexp: " + error))
        << pattern;
  }
  // Runes of Unicode 14 and 15 are in no Go 1.19 table: matching them where tables matter is refused.
  EXPECT_EQ(ExpandError("{{ match \"\\\\pL\" $labels.x }}", 1, {{"x", "\u0870"}}),
            "column 4: at <match \"\\\\pL\" $labels.x>: error calling match: matching regular expression \"\\\\pL\" "
            "against U+0870 is not supported: Go 1.19 (Unicode 13.0) and RE2 (Unicode 15.0) have different Unicode "
            "tables for it");
  EXPECT_EQ(MustExpand("{{ match \"^.$\" $labels.x }}", 1, {{"x", "\u0870"}}), "true");
}

TEST(AlertTemplateTest, RuntimeErrorsSayWhereAndWhy) {
  auto parsed = AlertTemplate::Parse("CPU {{ humanize \"x\" }}");
  ASSERT_TRUE(parsed);
  const std::map<std::string, std::string> labels;
  auto expanded = parsed->Expand(Data(labels, 1));
  ASSERT_FALSE(expanded);
  EXPECT_EQ(expanded.error().message,
            "column 8: at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax");
  EXPECT_EQ(parsed->PrometheusErrorText("HighCPU", expanded.error()),
            "<error expanding template: error executing template __alert_HighCPU: template: __alert_HighCPU:1:119: "
            "executing \"__alert_HighCPU\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing "
            "\"x\": invalid syntax>");
  EXPECT_EQ(ExpandError("{{ gt $value 1 }}"),
            "column 4: at <gt $value 1>: error calling gt: incompatible types for "
            "comparison");
  EXPECT_EQ(ExpandError("a\n {{ $value | toUpper }}"),
            "column 16: at <toUpper>: wrong type for value; expected string; got float64");
  EXPECT_EQ(ExpandError("{{ (toTime 1).Unix }}"),
            "column 12: at <1>: calling the method Unix of a time value is not supported");
  EXPECT_EQ(ExpandError("{{ printf \"%d\" (args (toTime 1)) }}"),
            "column 4: at <printf \"%d\" (args (toTime 1))>: error calling printf: printing a time value inside a "
            "map with %d (an address) is not supported");
  EXPECT_EQ(ExpandError("{{ toUpper $labels.job }}", 1, {{"job", "\u0561"}}),
            "column 4: at <toUpper $labels.job>: error calling toUpper: toUpper of U+0561 is not supported (no "
            "Unicode table for it)");
}

TEST(AlertTemplateTest, MissingLabelsAreEmptyAsWithPrometheusMissingkeyZero) {
  EXPECT_EQ(MustExpand("[{{ $labels.missing }}][{{ .Labels.missing }}][{{ index $labels \"missing\" }}]"), "[][][]");
  EXPECT_EQ(MustExpand("{{ if $labels.missing }}yes{{ else }}no{{ end }}"), "no");
}

TEST(AlertTemplateTest, ExpandsTheCommonAlertTemplates) {
  const std::map<std::string, std::string> labels = {{"instance", "node-1.example.com:9100"}, {"job", "node"}};
  EXPECT_EQ(MustExpand("{{ $labels.instance }} CPU at {{ $value | humanizePercentage }}", 0.05263, labels),
            "node-1.example.com:9100 CPU at 5.263%");
  EXPECT_EQ(MustExpand("{{ $value | humanize }}B", 1234.5), "1.234kB");
  EXPECT_EQ(MustExpand("up for {{ humanizeDuration $value }}", 7200), "up for 2h 0m 0s");
  EXPECT_EQ(MustExpand("{{ $labels.instance | stripPort | stripDomain }}", 1, labels), "node-1");
  EXPECT_EQ(MustExpand("{{ printf \"%.1f\" $value }}%", 93.456), "93.5%");
  EXPECT_EQ(MustExpand("{{ externalURL }}/alerts {{ pathPrefix }}"), "http://prom.example.com:9090/sub/alerts /sub");
  EXPECT_EQ(MustExpand("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}", 1, labels),
            "instance=node-1.example.com:9100 job=node ");
}

TEST(AlertTemplateTest, PlainTextNeedsNoExpansion) {
  auto plain = AlertTemplate::Parse("disk almost full: 95% {not an action}");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has_actions());
  const std::map<std::string, std::string> labels;
  EXPECT_EQ(plain->Expand(Data(labels, 1)).value(), "disk almost full: 95% {not an action}");
  auto comment = AlertTemplate::Parse("a {{- /* gone */}} b");
  ASSERT_TRUE(comment);
  EXPECT_TRUE(comment->has_actions());
  EXPECT_EQ(comment->Expand(Data(labels, 1)).value(), "a b");
  EXPECT_EQ(comment->text(), "a {{- /* gone */}} b");
}

TEST(AlertTemplateTest, ExpansionIsBoundedWithAnError) {
  EXPECT_THAT(ExpandError("{{ printf \"%1000000d\" 1 }}{{ printf \"%1000000d\" 1 }}"),
              HasSubstr("the expansion would exceed 1048576 bytes"));
  std::map<std::string, std::string> labels;
  for (int i = 0; i < 50; ++i) labels["l" + std::to_string(i)] = "v";
  EXPECT_THAT(
      ExpandError("{{ range $labels }}{{ range $labels }}{{ range $labels }}{{ end }}{{ end }}{{ end }}", 1, labels),
      HasSubstr("more than 100000 range iterations"));
  // A search costs a step per 256 bytes of the text it may read (to its end): 2500 searches of 200 kB, or one
  // search after each of the 40,000 empty matches in 40 kB, are too many.
  EXPECT_THAT(ExpandError("{{ $s := printf \"%200000s\" \"\" }}{{ range $labels }}{{ range $labels }}"
                          "{{ if match \"x\" $s }}{{ end }}{{ end }}{{ end }}",
                          1, labels),
              HasSubstr("steps (a bound of this implementation)"));
  EXPECT_THAT(ExpandError("{{ reReplaceAll \"\" \"\" (printf \"%40000s\" \"\") }}"),
              HasSubstr("steps (a bound of this implementation)"));
  EXPECT_EQ(MustExpand("{{ len (reReplaceAll \"\" \"\" (printf \"%10000s\" \"\")) }}"), "10000");
}

TEST(AlertTemplateTest, ExpandIsDeterministicAndReusable) {
  auto parsed = AlertTemplate::Parse("{{ $labels }} {{ args 1 (toTime 1) }} {{ $value }}");
  ASSERT_TRUE(parsed);
  const std::map<std::string, std::string> labels = {{"b", "2"}, {"a", "1"}};
  const std::string first = parsed->Expand(Data(labels, 0.1)).value();
  EXPECT_EQ(first, "map[a:1 b:2] map[arg0:1 arg1:1970-01-01 00:00:01 +0000 UTC] 0.1");
  const AlertTemplate copy = *parsed;
  EXPECT_EQ(copy.Expand(Data(labels, 0.1)).value(), first);
}

TEST(AlertTemplateGoFormatFloatTest, MatchesGosPercentV) {
  EXPECT_EQ(GoFormatFloat(1), "1");
  EXPECT_EQ(GoFormatFloat(0.1), "0.1");
  EXPECT_EQ(GoFormatFloat(1e6), "1e+06");
  EXPECT_EQ(GoFormatFloat(1234567), "1.234567e+06");
  EXPECT_EQ(GoFormatFloat(123456), "123456");
  EXPECT_EQ(GoFormatFloat(1e21), "1e+21");
  EXPECT_EQ(GoFormatFloat(0.0001), "0.0001");
  EXPECT_EQ(GoFormatFloat(0.00001), "1e-05");
  EXPECT_EQ(GoFormatFloat(5e-324), "5e-324");
  EXPECT_EQ(GoFormatFloat(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(GoFormatFloat(-1234.5), "-1234.5");
  EXPECT_EQ(GoFormatFloat(0), "0");
  EXPECT_EQ(GoFormatFloat(-0.0), "-0");
  EXPECT_EQ(GoFormatFloat(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(GoFormatFloat(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(GoFormatFloat(-std::numeric_limits<double>::infinity()), "-Inf");
}

}  // namespace
}  // namespace topdog::advisor
