#include "advisor/io/prometheus_api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

namespace topdog::advisor {
namespace {

// Answers captured from Debian's Prometheus 2.42 (tests/fixtures/PROVENANCE.md).
std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/prometheus/" + name, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ParseQueryRangeTest, ReadsRealAnswers) {
  auto answer = ParseQueryRange(Fixture("range_ok.json"));
  ASSERT_TRUE(answer) << answer.error().message;
  ASSERT_EQ(answer->series.size(), 1u);
  const PromSeries& load = answer->series[0];
  EXPECT_EQ(load.labels.at("__name__"), "node_load1");
  EXPECT_EQ(load.labels.at("job"), "topdog");
  ASSERT_EQ(load.samples.size(), 4u);
  EXPECT_EQ(load.samples[0].time_seconds, 1795784723);
  EXPECT_EQ(load.samples[0].value, 0.4);
  EXPECT_EQ(load.samples[3].time_seconds - load.samples[0].time_seconds, 15);
  EXPECT_TRUE(answer->warnings.empty());

  auto rate = ParseQueryRange(Fixture("range_rate.json"));
  ASSERT_TRUE(rate) << rate.error().message;
  ASSERT_GE(rate->series.size(), 2u);  // one per CPU
  EXPECT_EQ(rate->series[0].labels.count("__name__"), 0u);  // a rate drops the name
  EXPECT_EQ(rate->series[0].labels.at("mode"), "idle");
}

TEST(ParseQueryRangeTest, ErrorAnswersAndOtherShapesAreErrors) {
  auto too_many = ParseQueryRange(Fixture("range_toomany.json"));
  ASSERT_FALSE(too_many);
  EXPECT_NE(too_many.error().message.find("status error (bad_data): exceeded maximum resolution of 11,000 points"),
            std::string::npos)
      << too_many.error().message;
  auto bad_query = ParseQueryRange(Fixture("range_badquery.json"));
  ASSERT_FALSE(bad_query);
  EXPECT_NE(bad_query.error().message.find("parse error"), std::string::npos);
  auto instant = ParseQueryRange(Fixture("instant.json"));
  ASSERT_FALSE(instant);
  EXPECT_EQ(instant.error().message, "query_range answer: resultType is not matrix");
  EXPECT_FALSE(ParseQueryRange("<html>502 Bad Gateway</html>"));
  EXPECT_FALSE(ParseQueryRange(R"({"status":"success","data":{"resultType":"matrix","result":[)"));  // cut short
  auto unsorted = ParseQueryRange(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[2,"1"],[1,"2"]]}]}})");
  ASSERT_FALSE(unsorted);
  EXPECT_EQ(unsorted.error().message, "query_range answer: series 0: times not ascending");
  auto garbage_value = ParseQueryRange(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1.2.3"]]}]}})");
  ASSERT_FALSE(garbage_value);
}

TEST(ParseQueryRangeTest, SpecialValuesAndWarningsAreKept) {
  auto answer = ParseQueryRange(R"({"status":"success","warnings":["partial result: store down"],
      "data":{"resultType":"matrix","result":[{"metric":{"a":"b"},"values":[[1,"NaN"],[2,"+Inf"],[3,"-1e-3"]]}]}})");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->warnings, (std::vector<std::string>{"partial result: store down"}));
  EXPECT_TRUE(std::isnan(answer->series[0].samples[0].value));
  EXPECT_TRUE(std::isinf(answer->series[0].samples[1].value));
  EXPECT_EQ(answer->series[0].samples[2].value, -1e-3);
}

TEST(SplitRangeTest, ChunksStayUnderTheLimitAndCoverTheRange) {
  // 14 days at 60 s = 20,161 points: two queries of at most 11,000 points, no point twice.
  auto chunks = SplitRange(0, 14 * 86400, 60);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (std::pair<double, double>{0, 10999 * 60.0}));
  EXPECT_EQ(chunks[1], (std::pair<double, double>{11000 * 60.0, 14 * 86400.0}));
  EXPECT_EQ(SplitRange(100, 100, 15).size(), 1u);
  EXPECT_TRUE(SplitRange(100, 50, 15).empty());
  EXPECT_EQ(SplitRange(0, 9, 1, 5), (std::vector<std::pair<double, double>>{{0, 4}, {5, 9}}));
}

}  // namespace
}  // namespace topdog::advisor
