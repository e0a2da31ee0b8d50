#include "exporter/parse/vmstat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

// procfs-0.8.0 has no vmstat fixture (procfs has no vmstat parser), so only the host capture is used.
TEST(ParseVmstatTest, ParsesHostFixture) {
  const std::string text = ReadFixture("host-6.18/proc/vmstat");
  auto fields = ParseVmstat(text);
  ASSERT_TRUE(fields) << fields.error().message;
  EXPECT_EQ(fields->size(), 192u);  // one per line
  EXPECT_EQ(fields->front().name, "nr_free_pages");
  EXPECT_EQ(fields->front().value, 1239657);
  bool found = false;
  for (const auto& field : *fields) {
    if (field.name == "pgfault") {
      EXPECT_EQ(field.value, 1339407);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(ParseVmstatTest, AcceptsEmptyFileAndBlankLines) {
  auto fields = ParseVmstat("\npgfault 3\n\n");
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->size(), 1u);
  auto empty = ParseVmstat("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(ParseVmstatTest, RejectsNonNumericValue) {
  auto fields = ParseVmstat("nr_free_pages 1\npgfault many\n");
  ASSERT_FALSE(fields);
  EXPECT_EQ(fields.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(fields.error().message, HasSubstr("line 2"));
  EXPECT_THAT(fields.error().message, HasSubstr("pgfault"));
}

TEST(ParseVmstatTest, RejectsTruncatedLine) {
  // node_exporter 1.5.0 indexes parts[1] unchecked and panics here.
  std::string text = ReadFixture("host-6.18/proc/vmstat");
  text.resize(text.find("nr_zone_inactive_anon") + 10);
  auto fields = ParseVmstat(text);
  ASSERT_FALSE(fields);
  EXPECT_THAT(fields.error().message, HasSubstr("line 3"));
  EXPECT_THAT(fields.error().message, HasSubstr("missing value"));
}

}  // namespace
}  // namespace topdog::exporter
