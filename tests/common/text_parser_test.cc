#include "common/exposition/text_parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/exposition/family_writer.h"
#include "common/exposition/text_writer.h"

namespace topdog::exposition {
namespace {

std::string ReadFile(const std::string& relative) {
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

TEST(ParseTextFormatTest, ReadsNodeExporterOutput) {
  // Captured from Debian's prometheus-node-exporter 1.5.0 on tests/fixtures/host-6.18 (PROVENANCE.md).
  std::string text = ReadFile("tests/fixtures/exposition/node_exporter_1.5.0_host-6.18.prom");
  ASSERT_FALSE(text.empty());
  auto page = ParseTextFormat(text);
  ASSERT_TRUE(page) << page.error().message;
  size_t sample_lines = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) sample_lines += !line.empty() && line[0] != '#' ? 1 : 0;
  EXPECT_EQ(page->samples.size(), sample_lines);
  std::map<std::string, std::string> types;
  for (const auto& family : page->families) types[family.name] = family.type;
  EXPECT_EQ(types["go_gc_duration_seconds"], "summary");
  EXPECT_EQ(types["node_cpu_seconds_total"], "counter");
  EXPECT_EQ(types["node_memory_MemTotal_bytes"], "gauge");
  bool found = false;
  for (const auto& sample : page->samples) {
    if (sample.name == "node_memory_MemTotal_bytes") {
      EXPECT_EQ(sample.value, 24684084.0 * 1024);  // the fixture's meminfo, in bytes
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(ParseTextFormatTest, RoundTripsWhatOurWriterWrites) {
  FamilyWriter writer;
  size_t family = writer.Counter("test_requests_total", "Requests with \\ and\nnewline.");
  writer.Sample(family, 12, {{"path", "/a\"b\\c\nd"}, {"code", "200"}});
  writer.Sample(family, std::numeric_limits<double>::infinity(), {{"path", "/x"}, {"code", "500"}});
  size_t gauge = writer.Gauge("test_temperature", "A gauge.");
  writer.Sample(gauge, -1.5e-7);
  auto families = std::move(writer).Finish();
  std::string text;
  AppendFamilies(text, families, Format::kText004);
  auto page = ParseTextFormat(text);
  ASSERT_TRUE(page) << page.error().message << "\n" << text;
  ASSERT_EQ(page->samples.size(), 3u);
  EXPECT_EQ(page->samples[0].labels,
            (std::vector<std::pair<std::string, std::string>>{{"path", "/a\"b\\c\nd"}, {"code", "200"}}));
  EXPECT_EQ(page->samples[0].value, 12);
  EXPECT_TRUE(std::isinf(page->samples[1].value));
  EXPECT_EQ(page->samples[2].value, -1.5e-7);
  EXPECT_EQ(page->families[0].help, "Requests with \\ and\nnewline.");
}

TEST(ParseTextFormatTest, AcceptsWhatExpfmtAccepts) {
  auto page = ParseTextFormat(
      "# a comment\n"
      "\n"
      "  metric_without_labels 1\n"
      "with_timestamp{a=\"b\",} 2 1700000000000\n"
      "spaced { a = \"1\" , b=\"2\" } NaN\n"
      "negative -Inf\r\n"
      "# TYPE untyped_one untyped\n");
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->samples.size(), 4u);
  EXPECT_EQ(page->samples[1].timestamp_ms, 1700000000000);
  EXPECT_EQ(page->samples[2].labels.size(), 2u);
  EXPECT_TRUE(std::isnan(page->samples[2].value));
  EXPECT_TRUE(std::isinf(page->samples[3].value) && page->samples[3].value < 0);
}

TEST(ParseTextFormatTest, BadInputNamesTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {
           Case{"ok 1\n1bad 2\n", "line 2: invalid metric name"},
           Case{"m{a=\"unterminated} 1\n", "line 1: unterminated value of label a"},
           Case{"m{a=\"x\",a=\"y\"} 1\n", "line 1: label a given twice"},
           Case{"m{a=\"\\q\"} 1\n", "line 1: invalid escape \\q in the value of label a"},
           Case{"m{a=1} 1\n", "line 1: expected '\"' to start the value of label a"},
           Case{"m\n", "line 1: missing value for m"},
           Case{"m abc\n", "line 1: value \"abc\" is not a number"},
           Case{"m 1 1.5\n", "line 1: timestamp \"1.5\" is not an integer"},
           Case{"m 1 2 3\n", "line 1: unexpected text after the timestamp"},
           Case{"# TYPE m gauge\n# TYPE m counter\n", "line 2: second TYPE line for m"},
           Case{"# TYPE m histogramm\n", "line 1: unknown metric type \"histogramm\""},
           Case{"# HELP 9m x\n", "line 1: invalid metric name after # HELP"},
       }) {
    auto page = ParseTextFormat(c.text);
    ASSERT_FALSE(page) << c.text;
    EXPECT_EQ(page.error().message, c.message) << c.text;
  }
  ParseLimits limits;
  limits.max_line_bytes = 16;
  auto long_line = ParseTextFormat("m{label=\"a long value\"} 1\n", limits);
  ASSERT_FALSE(long_line);
  EXPECT_EQ(long_line.error().message, "line 1: longer than 16 bytes");
}

}  // namespace
}  // namespace topdog::exposition
