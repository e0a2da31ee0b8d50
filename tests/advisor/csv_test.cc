#include "advisor/core/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace topdog::advisor {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ParseTimestampTest, AcceptsEpochRfc3339AndPlainDateTime) {
  TimeFormat format{};
  EXPECT_EQ(ParseTimestamp("1700000000", &format).value(), 1700000000.0);
  EXPECT_EQ(format, TimeFormat::kEpochSeconds);
  EXPECT_EQ(ParseTimestamp("1700000000.25").value(), 1700000000.25);
  EXPECT_EQ(ParseTimestamp("2023-11-14T22:13:20Z", &format).value(), 1700000000.0);
  EXPECT_EQ(format, TimeFormat::kRfc3339);
  EXPECT_EQ(ParseTimestamp("2023-11-15T00:13:20.5+02:00").value(), 1700000000.5);
  EXPECT_EQ(ParseTimestamp("2023-11-14T17:13:20-0500").value(), 1700000000.0);
  EXPECT_EQ(ParseTimestamp("2023-11-14 22:13:20", &format).value(), 1700000000.0);
  EXPECT_EQ(format, TimeFormat::kDateTime);
  EXPECT_EQ(ParseTimestamp("1995-07-01 00:00:00").value(), 804556800.0);  // read as UTC
  EXPECT_EQ(ParseTimestamp("2024-02-29 12:00:00").value(), 1709208000.0);  // leap day
}

TEST(ParseTimestampTest, RejectsMalformedTimes) {
  for (const char* bad : {"", "abc", "2023-13-01 00:00:00", "2023-11-14 25:00:00", "2023-11-14T22:13:20Q",
                          "2023-11-14X22:13:20", "2023-11-14 22:13", "12e", "nan", "inf"}) {
    EXPECT_FALSE(ParseTimestamp(bad)) << bad;
  }
}

TEST(ParseTimestampTest, EpochSecondsBeyondTheYear9999AreRefused) {
  EXPECT_EQ(ParseTimestamp("253402300799").value(), 253402300799.0);  // 9999-12-31T23:59:59Z
  EXPECT_EQ(ParseTimestamp("-62135596800").value(), -62135596800.0);  // 0001-01-01T00:00:00Z
  // Found by the forecast_csv fuzz target: a value this large overflowed the step count.
  auto huge = ParseTimestamp("118446744073709551615700000240");
  ASSERT_FALSE(huge);
  EXPECT_NE(huge.error().message.find("9999"), std::string::npos) << huge.error().message;
  EXPECT_FALSE(ParseTimestamp("253402300800"));
}

TEST(FormatTimestampTest, RoundTripsEachFormat) {
  for (TimeFormat format : {TimeFormat::kEpochSeconds, TimeFormat::kRfc3339, TimeFormat::kDateTime}) {
    for (double t : {0.0, 804556800.0, 1700000000.0, 1709208000.5}) {
      std::string text = FormatTimestamp(t, format);
      EXPECT_EQ(ParseTimestamp(text).value(), t) << text;
    }
  }
  EXPECT_EQ(FormatTimestamp(1700000000, TimeFormat::kRfc3339), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatTimestamp(1700000000, TimeFormat::kDateTime), "2023-11-14 22:13:20");
}

TEST(ParseSamplesCsvTest, ReadsHeaderRowsAndKeepsTheTimeFormat) {
  auto csv = ParseSamplesCsv("timestamp,value\r\n2023-11-14 22:13:20,5\r\n2023-11-14 22:14:20, 7.5 \r\n\n");
  ASSERT_TRUE(csv) << csv.error().message;
  ASSERT_EQ(csv->samples.size(), 2u);
  EXPECT_EQ(csv->samples[1].time_seconds, 1700000060.0);
  EXPECT_EQ(csv->samples[1].value, 7.5);
  EXPECT_EQ(csv->time_format, TimeFormat::kDateTime);
  // No header: the first row is data.
  auto bare = ParseSamplesCsv("1,2\n2,3\n");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->samples.size(), 2u);
  EXPECT_EQ(bare->time_format, TimeFormat::kEpochSeconds);
  EXPECT_TRUE(ParseSamplesCsv("\"timestamp\",\"value\"\n\"10\",\"1\"\n"));
}

// Each bad input is rejected with the line it is on.
TEST(ParseSamplesCsvTest, BadInputNamesTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"timestamp,value\n", "line 2: no data rows"},
           {"", "line 1: no data rows"},
           {"timestamp,value\n10,1\n5,2\n", "line 3: timestamp 5 is earlier than the one on line 2"},
           {"timestamp,value\n10,1\n10,2\n", "line 3: duplicate timestamp 10 (also on line 2)"},
           {"timestamp,value\n10,1\n20,abc\n", "line 3: value \"abc\" is not a number"},
           {"timestamp,value\n10,NaN\n", "line 2: value \"NaN\" is not finite"},
           {"timestamp,value\n10,\n", "line 2: value \"\" is not a number"},
           {"timestamp,value\n10,1,2\n", "line 2: expected two fields"},
           {"timestamp;value\n", "line 1: expected a header row"},
           {"timestamp,value\nyesterday,1\n", "line 2: timestamp \"yesterday\" is not"},
       }) {
    auto csv = ParseSamplesCsv(c.text);
    ASSERT_FALSE(csv) << c.text;
    EXPECT_EQ(csv.error().kind, ErrorKind::kBadData);
    EXPECT_THAT(csv.error().message, StartsWith(c.message)) << c.text;
  }
}

TEST(FormatForecastCsvTest, HeaderNamesTheQuantiles) {
  std::string out = FormatForecastCsv({60, 120}, TimeFormat::kEpochSeconds, {0.5, 0.95}, {{1, 2}, {3, 4.25}});
  EXPECT_EQ(out, "timestamp,q0.5,q0.95\n60,1,2\n120,3,4.25\n");
}

}  // namespace
}  // namespace topdog::advisor
