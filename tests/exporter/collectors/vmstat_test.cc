#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"
#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::ElementsAre;
using testing::FakeSystem;
using testing::FamilyNames;
using testing::FindFamily;
using ::testing::HasSubstr;
using testing::LoadFixtureTree;
using testing::SampleValue;

TEST(VmstatCollectorTest, DefaultFieldsOnHostFixture) {
  InMemoryFileReader reader = LoadFixtureTree("host-6.18");
  FakeSystem system;
  CollectorOptions options;
  auto collector = NewVmstatCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector) << collector.error().message;
  for (int scrape = 0; scrape < 2; ++scrape) {  // the second scrape uses the cached regex verdicts
    auto families = (*collector)->Collect();
    ASSERT_TRUE(families) << families.error().message;
    EXPECT_THAT(FamilyNames(*families),
                ElementsAre("node_vmstat_oom_kill", "node_vmstat_pgfault", "node_vmstat_pgmajfault",
                            "node_vmstat_pgpgin", "node_vmstat_pgpgout", "node_vmstat_pswpin", "node_vmstat_pswpout"));
    EXPECT_EQ(SampleValue(*families, "node_vmstat_pgfault"), 1339407);
    EXPECT_EQ(SampleValue(*families, "node_vmstat_pgmajfault"), 865);
    EXPECT_EQ(SampleValue(*families, "node_vmstat_pgpgin"), 1013641);
    EXPECT_EQ(SampleValue(*families, "node_vmstat_pgpgout"), 776308);
    const MetricFamily* pgfault = FindFamily(*families, "node_vmstat_pgfault");
    EXPECT_EQ(pgfault->help, "/proc/vmstat information field pgfault.");
    EXPECT_EQ(pgfault->type, prometheus::MetricType::Untyped);
  }
}

TEST(VmstatCollectorTest, CustomRegexIsAnUnanchoredSearch) {
  InMemoryFileReader reader;
  reader.AddFile("/proc/vmstat", "nr_free_pages 5\npgfault 6\nnr_dirty 7\n");
  FakeSystem system;
  CollectorOptions options;
  options.vmstat_fields = "dirty|free";
  auto collector = NewVmstatCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector);
  auto families = (*collector)->Collect();
  ASSERT_TRUE(families);
  EXPECT_THAT(FamilyNames(*families), ElementsAre("node_vmstat_nr_dirty", "node_vmstat_nr_free_pages"));
  // The field set changes (another kernel in a test): verdicts are recomputed per position.
  reader.AddFile("/proc/vmstat", "pgfault 6\nnr_dirty 7\n");
  families = (*collector)->Collect();
  ASSERT_TRUE(families);
  EXPECT_THAT(FamilyNames(*families), ElementsAre("node_vmstat_nr_dirty"));
}

TEST(VmstatCollectorTest, InvalidRegexNamesTheFlag) {
  InMemoryFileReader reader;
  FakeSystem system;
  CollectorOptions options;
  options.vmstat_fields = "^(pg";
  auto collector = NewVmstatCollector(CollectorDeps{reader, system, options});
  ASSERT_FALSE(collector);
  EXPECT_THAT(collector.error().message, HasSubstr("--collector.vmstat.fields: "));
}

TEST(VmstatCollectorTest, BadValueOfAnyFieldFailsLikeNodeExporter) {
  InMemoryFileReader reader;
  reader.AddFile("/proc/vmstat", "nr_free_pages x\npgfault 6\n");
  FakeSystem system;
  CollectorOptions options;
  auto collector = NewVmstatCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector);
  auto families = (*collector)->Collect();
  ASSERT_FALSE(families);
  EXPECT_THAT(families.error().message, HasSubstr("/proc/vmstat: line 1"));
  InMemoryFileReader empty;
  auto missing = NewVmstatCollector(CollectorDeps{empty, system, options});
  EXPECT_EQ((*missing)->Collect().error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::exporter
