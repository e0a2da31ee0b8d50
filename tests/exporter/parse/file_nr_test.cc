#include "exporter/parse/file_nr.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

// procfs-0.8.0 has no sys/fs/file-nr fixture, so only the host capture is used.
TEST(ParseFileNrTest, ParsesHostFixture) {
  auto file_nr = ParseFileNr(ReadFixture("host-6.18/proc/sys/fs/file-nr"));  // "324\t0\t2466170\n"
  ASSERT_TRUE(file_nr) << file_nr.error().message;
  EXPECT_EQ(file_nr->allocated, 324);
  EXPECT_EQ(file_nr->maximum, 2466170);
}

TEST(ParseFileNrTest, RejectsTruncatedLine) {
  auto file_nr = ParseFileNr("324\t0\n");
  ASSERT_FALSE(file_nr);
  EXPECT_EQ(file_nr.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(file_nr.error().message, HasSubstr("maximum"));
}

TEST(ParseFileNrTest, RejectsNonNumericField) {
  auto file_nr = ParseFileNr("324\t0\tunlimited\n");
  ASSERT_FALSE(file_nr);
  EXPECT_THAT(file_nr.error().message, HasSubstr("\"unlimited\""));
}

TEST(ParseFileNrTest, RejectsEmptyFile) { EXPECT_FALSE(ParseFileNr("")); }

}  // namespace
}  // namespace topdog::exporter
