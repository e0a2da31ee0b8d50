#include "exporter/collectors/device_filter.h"

#include <gtest/gtest.h>

namespace topdog::exporter {
namespace {

TEST(DeviceFilterTest, UnsetFilterIgnoresNothing) {
  auto filter = DeviceFilter::Create("collector.netdev.device", "", "");
  ASSERT_TRUE(filter);
  EXPECT_FALSE(filter->Ignored("eth0"));
  EXPECT_FALSE(filter->Ignored(""));
}

TEST(DeviceFilterTest, ExcludeSearchesAnywhereInTheName) {
  auto filter = DeviceFilter::Create("collector.netdev.device", "veth", "");
  ASSERT_TRUE(filter);
  EXPECT_TRUE(filter->Ignored("vethf345468"));
  EXPECT_TRUE(filter->Ignored("myveth"));  // MatchString is a search, not a full match
  EXPECT_FALSE(filter->Ignored("eth0"));
  EXPECT_TRUE(filter->Ignored("vethf345468"));  // cached verdict
}

TEST(DeviceFilterTest, IncludeIgnoresWhatDoesNotMatch) {
  auto filter = DeviceFilter::Create("collector.diskstats.device", "", "^sd[a-z]$");
  ASSERT_TRUE(filter);
  EXPECT_FALSE(filter->Ignored("sda"));
  EXPECT_TRUE(filter->Ignored("sda1"));
  EXPECT_TRUE(filter->Ignored("nvme0n1"));
}

TEST(DeviceFilterTest, DefaultDiskstatsExcludeWorksWithEcmaScript) {
  auto filter =
      DeviceFilter::Create("collector.diskstats.device", R"(^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$)", "");
  ASSERT_TRUE(filter);
  for (const char* ignored : {"ram0", "zram0", "loop7", "fd0", "sda1", "vda2", "xvdb3", "nvme0n1p1"}) {
    EXPECT_TRUE(filter->Ignored(ignored)) << ignored;
  }
  for (const char* kept : {"sda", "vda", "nvme0n1", "dm-0", "mmcblk0p1", "sr0", "md127"}) {
    EXPECT_FALSE(filter->Ignored(kept)) << kept;
  }
}

TEST(DeviceFilterTest, RejectsBothPatternsAndInvalidRegex) {
  auto both = DeviceFilter::Create("collector.netdev.device", "^lo$", "^eth");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().kind, ErrorKind::kRejected);
  auto bad = DeviceFilter::Create("collector.netdev.device", "", "(eth");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("--collector.netdev.device-include: invalid regular expression \"(eth\"", 0), 0u)
      << bad.error().message;
}

TEST(DeviceFilterTest, CacheStaysBoundedUnderChurn) {
  auto filter = DeviceFilter::Create("collector.netdev.device", "^veth", "");
  ASSERT_TRUE(filter);
  for (int i = 0; i < 5000; ++i) EXPECT_TRUE(filter->Ignored("veth" + std::to_string(i)));
  EXPECT_FALSE(filter->Ignored("eth0"));
}

}  // namespace
}  // namespace topdog::exporter
