#include "common/duration.h"

#include <gtest/gtest.h>

namespace topdog {
namespace {

TEST(ParseDurationTest, ParsesGoStyleUnits) {
  EXPECT_EQ(ParseDuration("500ms")->count(), 500);
  EXPECT_EQ(ParseDuration("5s")->count(), 5000);
  EXPECT_EQ(ParseDuration("1m30s")->count(), 90000);
  EXPECT_EQ(ParseDuration("1.5s")->count(), 1500);
  EXPECT_EQ(ParseDuration("2h")->count(), 7200000);
  EXPECT_EQ(ParseDuration("0")->count(), 0);
}

TEST(ParseDurationTest, RejectsGarbageWithTheValueInTheMessage) {
  // "nans" and "infs" (std::from_chars reads nan and inf) were found by tests/fuzz/duration_fuzz.cc.
  for (const char* bad : {"", "5", "s", "5x", "-1s", "1e400s", "nans", "NaNms", "infh", "1s-nanm", "+5s"}) {
    auto d = ParseDuration(bad);
    ASSERT_FALSE(d.has_value()) << bad;
    EXPECT_NE(d.error().message.find(std::string("\"") + bad + "\""), std::string::npos);
  }
}

}  // namespace
}  // namespace topdog
