#include "common/http/url.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/http/server.h"

namespace topdog::http {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(PercentDecodeTest, DecodesEscapesAndPlusOnlyWhenAsked) {
  EXPECT_EQ(PercentDecode("collect%5B%5D", true), "collect[]");
  EXPECT_EQ(PercentDecode("a+b%20c", true), "a b c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("%e2%82%AC", true), "\xe2\x82\xac");  // lower- and upper-case hex
}

TEST(PercentDecodeTest, KeepsMalformedEscapesVerbatim) {
  EXPECT_EQ(PercentDecode("100%", true), "100%");
  EXPECT_EQ(PercentDecode("%4", true), "%4");
  EXPECT_EQ(PercentDecode("%zz%41", true), "%zzA");
}

TEST(ParseQueryTest, SplitsAndDecodesPairsInOrder) {
  EXPECT_THAT(ParseQuery("collect[]=cpu&collect%5B%5D=mem+ory&&flag&x=a%3Db"),
              ElementsAre(Pair("collect[]", "cpu"), Pair("collect[]", "mem ory"), Pair("flag", ""), Pair("x", "a=b")));
  EXPECT_TRUE(ParseQuery("").empty());
}

TEST(ParseQueryTest, SemicolonIsNotASeparator) { EXPECT_THAT(ParseQuery("a=1;b=2"), ElementsAre(Pair("a", "1;b=2"))); }

TEST(RequestTest, QueryValuesReturnsAllDecodedValuesOfOneName) {
  Request request;
  request.query = "collect[]=cpu&other=1&collect%5B%5D=disk%2Fstats";
  EXPECT_THAT(request.QueryValues("collect[]"), ElementsAre("cpu", "disk/stats"));
  EXPECT_TRUE(request.QueryValues("missing").empty());
}

TEST(RequestTest, HeaderReturnsEmptyStringWhenAbsent) {
  Request request;
  request.headers["accept"] = "text/plain";
  EXPECT_EQ(request.Header("accept"), "text/plain");
  EXPECT_EQ(request.Header("x-missing"), "");
}

}  // namespace
}  // namespace topdog::http
