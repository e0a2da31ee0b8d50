#include <gtest/gtest.h>

#include "exporter/collectors/collectors.h"
#include "tests/exporter/collectors/families_for_test.h"
#include "tests/fakes/fake_system.h"

namespace topdog::exporter {
namespace {

using testing::FakeSystem;
using testing::FindFamily;
using testing::SampleValue;

TEST(UnameCollectorTest, LabelsCarryTheUnameFields) {
  InMemoryFileReader reader;
  FakeSystem system;
  system.uname = UnameInfo{"Linux", "vm", "6.18.44-fc-v669", "#1 SMP PREEMPT_DYNAMIC @0", "x86_64", "(none)"};
  CollectorOptions options;
  auto collector = NewUnameCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector);
  auto families = (*collector)->Collect();
  ASSERT_TRUE(families) << families.error().message;
  EXPECT_EQ(SampleValue(*families, "node_uname_info",
                        {{"domainname", "(none)"},
                         {"machine", "x86_64"},
                         {"nodename", "vm"},
                         {"release", "6.18.44-fc-v669"},
                         {"sysname", "Linux"},
                         {"version", "#1 SMP PREEMPT_DYNAMIC @0"}}),
            1);
  const MetricFamily* info = FindFamily(*families, "node_uname_info");
  EXPECT_EQ(info->help, "Labeled system information as provided by the uname system call.");
  EXPECT_EQ(info->type, prometheus::MetricType::Gauge);
}

TEST(UnameCollectorTest, UnameFailureIsAnError) {
  InMemoryFileReader reader;
  FakeSystem system;
  system.uname = MakeError(ErrorKind::kUnavailable, "uname: Bad address");
  CollectorOptions options;
  auto collector = NewUnameCollector(CollectorDeps{reader, system, options});
  ASSERT_TRUE(collector);
  auto families = (*collector)->Collect();
  ASSERT_FALSE(families);
  EXPECT_EQ(families.error().message, "uname: Bad address");
}

}  // namespace
}  // namespace topdog::exporter
