#include "common/logging.h"

#include <gtest/gtest.h>

namespace topdog {
namespace {

TEST(FormatLogFieldsTest, SplitsMessageFromFieldsInLogfmt) {
  std::string payload = "collector failed collector=cpu err=" + LogQuote("open /proc/stat: \"denied\"");
  EXPECT_EQ(FormatLogFields(payload, false),
            "msg=\"collector failed\" collector=cpu err=\"open /proc/stat: \\\"denied\\\"\"");
}

TEST(FormatLogFieldsTest, RendersTheSameRecordAsJsonMembers) {
  std::string payload = "listening address=127.0.0.1:9100 port=9100";
  EXPECT_EQ(FormatLogFields(payload, true),
            "\"msg\":\"listening\",\"address\":\"127.0.0.1:9100\",\"port\":\"9100\"");
}

TEST(FormatLogFieldsTest, ControlCharactersCannotBreakTheLine) {
  std::string out = FormatLogFields("bad input err=" + LogQuote("line1\nline2\x01"), true);
  EXPECT_EQ(out.find('\n'), std::string::npos);
  EXPECT_NE(out.find("line1\\nline2\\u0001"), std::string::npos);
}

TEST(SetUpLoggingTest, RejectsUnknownLevelAndFormat) {
  EXPECT_FALSE(SetUpLogging("verbose", "logfmt").has_value());
  EXPECT_FALSE(SetUpLogging("info", "xml").has_value());
  EXPECT_TRUE(SetUpLogging("info", "json").has_value());
}

}  // namespace
}  // namespace topdog
