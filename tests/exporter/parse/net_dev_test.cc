#include "exporter/parse/net_dev.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::ReadFixture;

TEST(ParseNetDevTest, ParsesHostFixture) {
  auto lines = ParseNetDev(ReadFixture("host-6.18/proc/net/dev"));
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 4u);
  EXPECT_EQ((*lines)[0].name, "lo");
  EXPECT_EQ((*lines)[1].name, "ifb0");
  // "  eth0: 46100618     997    0    0    0     0          0         0    49459     611    0 ..."
  const NetDevLine& eth0 = (*lines)[3];
  EXPECT_EQ(eth0.name, "eth0");
  EXPECT_EQ(eth0.values[kRxBytes], 46100618u);
  EXPECT_EQ(eth0.values[kRxPackets], 997u);
  EXPECT_EQ(eth0.values[kRxMulticast], 0u);
  EXPECT_EQ(eth0.values[kTxBytes], 49459u);
  EXPECT_EQ(eth0.values[kTxPackets], 611u);
  EXPECT_EQ(eth0.values[kTxCompressed], 0u);
}

TEST(ParseNetDevTest, ParsesProcfsFixtureWithLongNameAtColumnZero) {
  auto lines = ParseNetDev(ReadFixture("procfs-0.8.0/proc/net/dev"));
  ASSERT_TRUE(lines) << lines.error().message;
  ASSERT_EQ(lines->size(), 4u);
  // "vethf345468:     648       8    0    0    0     0          0         0      438       5 ..."
  EXPECT_EQ((*lines)[0].name, "vethf345468");
  EXPECT_EQ((*lines)[0].values[kRxBytes], 648u);
  EXPECT_EQ((*lines)[0].values[kTxBytes], 438u);
  EXPECT_EQ((*lines)[0].values[kTxPackets], 5u);
  // "    lo: 1664039048 1566805 ..."
  EXPECT_EQ((*lines)[1].name, "lo");
  EXPECT_EQ((*lines)[1].values[kRxBytes], 1664039048u);
  EXPECT_EQ((*lines)[1].values[kTxPackets], 1566805u);
}

TEST(ParseNetDevTest, NameIsEverythingBeforeTheLastColon) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  text.replace(text.find("  eth0:"), 7, "eth0:1:");
  auto lines = ParseNetDev(text);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ((*lines)[3].name, "eth0:1");
  EXPECT_EQ((*lines)[3].values[kRxBytes], 46100618u);
}

TEST(ParseNetDevTest, ParsesCountersUpToTwoToTheSixtyFourMinusOne) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  text.replace(text.find("46100618"), 8, "18446744073709551615");
  auto lines = ParseNetDev(text);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ((*lines)[3].values[kRxBytes], 18446744073709551615u);

  text.replace(text.find("18446744073709551615"), 20, "18446744073709551616");
  auto overflow = ParseNetDev(text);
  ASSERT_FALSE(overflow);
  EXPECT_NE(overflow.error().message.find("line 6: interface \"eth0\": field 1 (receive bytes): invalid number"),
            std::string::npos)
      << overflow.error().message;
}

TEST(ParseNetDevTest, HeaderOnlyAndEmptyFileHaveNoInterfaces) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  std::string header = text.substr(0, text.find("    lo:"));
  auto lines = ParseNetDev(header);
  ASSERT_TRUE(lines);
  EXPECT_TRUE(lines->empty());
  EXPECT_TRUE(ParseNetDev("")->empty());
}

TEST(ParseNetDevTest, TruncatedLineIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  text = text.substr(0, text.find("    49459"));  // eth0 loses its transmit columns
  auto lines = ParseNetDev(text);
  ASSERT_FALSE(lines);
  EXPECT_EQ(lines.error().kind, ErrorKind::kBadData);
  EXPECT_NE(lines.error().message.find("line 6: interface \"eth0\": field 9 (transmit bytes): missing"),
            std::string::npos)
      << lines.error().message;
}

TEST(ParseNetDevTest, NonNumericCounterIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  text.replace(text.find("62796"), 5, "62x96");
  auto lines = ParseNetDev(text);
  ASSERT_FALSE(lines);
  EXPECT_NE(lines.error().message.find("line 3: interface \"lo\": field 1 (receive bytes): invalid number \"62x96\""),
            std::string::npos)
      << lines.error().message;
}

TEST(ParseNetDevTest, LineWithoutColonOrNameIsAnError) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  std::string no_colon = text;
  no_colon.replace(no_colon.find("ifb0:"), 5, "ifb0 ");
  auto lines = ParseNetDev(no_colon);
  ASSERT_FALSE(lines);
  EXPECT_NE(lines.error().message.find("line 4: missing ':'"), std::string::npos) << lines.error().message;
  std::string no_name = text;
  no_name.replace(no_name.find("ifb0:"), 5, "    :");
  lines = ParseNetDev(no_name);
  ASSERT_FALSE(lines);
  EXPECT_NE(lines.error().message.find("line 4: empty interface name"), std::string::npos) << lines.error().message;
}

TEST(ParseNetDevTest, ParsesTwoHundredKilobyteLine) {
  std::string text = ReadFixture("host-6.18/proc/net/dev");
  size_t eth0_end = text.find('\n', text.find("eth0:"));
  text.insert(eth0_end, std::string(200 * 1024, ' ') + "7");  // a 17th column after a long run of blanks
  auto lines = ParseNetDev(text);
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ((*lines)[3].values[kTxPackets], 611u);
}

}  // namespace
}  // namespace topdog::exporter
