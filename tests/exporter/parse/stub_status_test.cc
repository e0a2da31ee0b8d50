#include "exporter/parse/stub_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

size_t CountLines(const std::string& text) {
  size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

TEST(ParseStubStatusTest, ParsesCapturedPages) {
  // "Active connections: 1 \nserver accepts handled requests\n 40 40 40 \nReading: 0 Writing: 1 Waiting: 0 \n"
  auto status = ParseStubStatus(ReadFixture("gateway/stub_status.txt"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->active, 1u);
  EXPECT_EQ(status->accepted, 40u);
  EXPECT_EQ(status->handled, 40u);
  EXPECT_EQ(status->requests, 40u);
  EXPECT_EQ(status->reading, 0u);
  EXPECT_EQ(status->writing, 1u);  // the stub_status request itself
  EXPECT_EQ(status->waiting, 0u);

  auto idle = ParseStubStatus(ReadFixture("gateway/stub_status_idle.txt"));
  ASSERT_TRUE(idle) << idle.error().message;
  EXPECT_EQ(idle->accepted, 2u);
  EXPECT_EQ(idle->requests, 2u);
}

TEST(ParseStubStatusTest, RequestCountMatchesTheAccessLog) {
  // The last page was fetched after every other request of the capture: nginx counted each logged request
  // once (the page's own request included), and the one connection that sent nothing only as accepted.
  auto status = ParseStubStatus(ReadFixture("gateway/stub_status_after_raw.txt"));
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(status->requests, CountLines(ReadFixture("gateway/combined_times.log")));
  EXPECT_EQ(status->accepted, 46u);
  EXPECT_EQ(status->handled, status->accepted);
}

TEST(ParseStubStatusTest, HtmlErrorPageIsBadDataThatSaysWhatWasExpected) {
  auto status = ParseStubStatus(ReadFixture("gateway/html_502.html"));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(status.error().message, HasSubstr("expected \"Active connections: \""));
  EXPECT_THAT(status.error().message, HasSubstr("line 1, column 1"));
  EXPECT_THAT(status.error().message, HasSubstr("HTML"));
}

TEST(ParseStubStatusTest, EveryTruncationIsAnError) {
  const std::string page = ReadFixture("gateway/stub_status.txt");
  for (size_t length = 0; length < page.size(); ++length) {
    auto status = ParseStubStatus(page.substr(0, length));
    EXPECT_FALSE(status) << "prefix of " << length << " bytes";
  }
}

TEST(ParseStubStatusTest, TrailingSpacesAreRequired) {
  std::string page = ReadFixture("gateway/stub_status.txt");
  std::string without = page;
  for (size_t pos; (pos = without.find(" \n")) != std::string::npos;) without.erase(pos, 1);
  auto status = ParseStubStatus(without);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("line 1"));
  EXPECT_THAT(status.error().message, HasSubstr("expected \" \\n"));
}

TEST(ParseStubStatusTest, RejectsTrailingGarbageAndOverflow) {
  const std::string page = ReadFixture("gateway/stub_status.txt");
  auto trailing = ParseStubStatus(page + "extra");
  ASSERT_FALSE(trailing);
  EXPECT_THAT(trailing.error().message, HasSubstr("the end of the page"));
  EXPECT_THAT(trailing.error().message, HasSubstr("line 5"));

  std::string overflow = page;
  overflow.replace(overflow.find(" 40 40 40 "), 10, " 18446744073709551616 40 40 ");
  auto status = ParseStubStatus(overflow);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("accepted count"));

  std::string max = page;
  max.replace(max.find(" 40 40 40 "), 10, " 18446744073709551615 40 40 ");
  auto at_max = ParseStubStatus(max);
  ASSERT_TRUE(at_max) << at_max.error().message;
  EXPECT_EQ(at_max->accepted, 18446744073709551615u);
}

TEST(ParseStubStatusTest, RejectsSignsAndWhitespaceVariants) {
  const std::string page = ReadFixture("gateway/stub_status.txt");
  std::string negative = page;
  negative.replace(negative.find("Reading: 0"), 10, "Reading: -1");
  EXPECT_FALSE(ParseStubStatus(negative));
  std::string crlf = page;
  crlf.replace(crlf.find("requests\n"), 9, "requests\r\n");
  EXPECT_FALSE(ParseStubStatus(crlf));
  EXPECT_FALSE(ParseStubStatus(""));
}

}  // namespace
}  // namespace topdog::exporter
