#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using testing::FakeSystem;
using testing::FindFamily;
using testing::LoadFixtureTree;
using testing::SampleValue;

Result<std::vector<MetricFamily>> CollectOnce(const InMemoryFileReader& reader) {
  return testing::CollectOnce(NewFilefdCollector, reader);
}

TEST(FilefdCollectorTest, HostFixture) {
  auto families = CollectOnce(LoadFixtureTree("host-6.18"));  // "324\t0\t2466170"
  ASSERT_TRUE(families) << families.error().message;
  ASSERT_EQ(families->size(), 2u);
  EXPECT_EQ(SampleValue(*families, "node_filefd_allocated"), 324);
  EXPECT_EQ(SampleValue(*families, "node_filefd_maximum"), 2466170);
  EXPECT_EQ(FindFamily(*families, "node_filefd_allocated")->help, "File descriptor statistics: allocated.");
  EXPECT_EQ(FindFamily(*families, "node_filefd_maximum")->help, "File descriptor statistics: maximum.");
  EXPECT_EQ(FindFamily(*families, "node_filefd_maximum")->type, prometheus::MetricType::Gauge);
}

TEST(FilefdCollectorTest, MissingAndDeniedFiles) {
  // procfs-0.8.0 has no sys/fs/file-nr.
  EXPECT_EQ(CollectOnce(LoadFixtureTree("procfs-0.8.0")).error().kind, ErrorKind::kNotFound);
  InMemoryFileReader reader;
  reader.AddError("/proc/sys/fs/file-nr", Error{ErrorKind::kRejected, "open /proc/sys/fs/file-nr: Permission denied"});
  EXPECT_EQ(CollectOnce(reader).error().kind, ErrorKind::kRejected);
}

}  // namespace
}  // namespace topdog::exporter
