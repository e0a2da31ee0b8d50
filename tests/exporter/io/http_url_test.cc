// ParseHttpUrl and Snippet: the pure parts of the HTTP getter (the getter itself is tested against loopback
// servers in tests/integration/exporter).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/io/http_getter.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ParseHttpUrlTest, SplitsSchemeHostPortAndTarget) {
  auto url = ParseHttpUrl("http://127.0.0.1:8080/stub_status");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_FALSE(url->https);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/stub_status");
  EXPECT_EQ(url->HostHeader(), "127.0.0.1:8080");

  url = ParseHttpUrl("HTTPS://Backend.default.svc/metrics?x=1&y=%20#frag");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->https);
  EXPECT_EQ(url->host, "Backend.default.svc");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/metrics?x=1&y=%20");
  EXPECT_EQ(url->HostHeader(), "Backend.default.svc");

  url = ParseHttpUrl("http://[::1]:9901");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->HostHeader(), "[::1]:9901");

  url = ParseHttpUrl("http://envoy?usedonly");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/?usedonly");
}

TEST(ParseHttpUrlTest, RefusesWhatCannotBeFetched) {
  for (const char* bad : {"", "127.0.0.1:8080/stub_status", "ftp://host/", "http://", "http:///path", "http://host:/",
                          "http://host:0/", "http://host:65536/", "http://host:80x/", "http://[::1/", "http://[::1]x/",
                          "http://host/a b", "http://host/\n"}) {
    auto url = ParseHttpUrl(bad);
    EXPECT_FALSE(url) << bad;
    if (!url) {
      EXPECT_EQ(url.error().kind, ErrorKind::kBadData);
      EXPECT_THAT(url.error().message, HasSubstr("bad URL")) << bad;
    }
  }
}

TEST(ParseHttpUrlTest, UserInfoIsRefusedWithoutRepeatingThePassword) {
  auto url = ParseHttpUrl("http://admin:hunter2@10.0.0.5:8000/metrics");
  ASSERT_FALSE(url);
  EXPECT_THAT(url.error().message, HasSubstr("give credentials in files"));
  EXPECT_THAT(url.error().message, HasSubstr("http://<redacted>@10.0.0.5:8000/metrics"));
  EXPECT_THAT(url.error().message, Not(HasSubstr("hunter2")));
}

TEST(SnippetTest, QuotesEscapesAndCutsAtACharacterBoundary) {
  EXPECT_EQ(Snippet("<html>\r\n<head>"), "\"<html>\\r\\n<head>\"");
  EXPECT_EQ(Snippet(std::string("a\0b\x7f\"\\", 6)), "\"a\\x00b\\x7f\\\"\\\\\"");
  EXPECT_EQ(Snippet("abcdef", 3), "\"abc\"...");
  EXPECT_EQ(Snippet("ab\xc3\xa9z", 3), "\"ab\"...");  // é is not split
  EXPECT_EQ(Snippet(""), "\"\"");
}

}  // namespace
}  // namespace topdog::exporter
