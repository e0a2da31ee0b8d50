#include "exporter/parse/cpuinfo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;
using ::testing::StartsWith;

TEST(ParseCpuInfoTest, ParsesHostFixture) {
  const std::string text = ReadFixture("host-6.18/proc/cpuinfo");
  auto cpus = ParseCpuInfo(text);
  ASSERT_TRUE(cpus) << cpus.error().message;
  ASSERT_EQ(cpus->size(), 2u);
  const CpuInfoEntry& cpu0 = (*cpus)[0];
  EXPECT_EQ(cpu0.processor, 0u);
  EXPECT_EQ(cpu0.vendor_id, "GenuineIntel");
  EXPECT_EQ(cpu0.cpu_family, "6");
  EXPECT_EQ(cpu0.model, "167");
  EXPECT_EQ(cpu0.model_name, "Intel(R) Xeon(R) Processor");
  EXPECT_EQ(cpu0.stepping, "1");
  EXPECT_EQ(cpu0.microcode, "0x1");
  EXPECT_EQ(cpu0.cpu_mhz, 2599.998);
  EXPECT_EQ(cpu0.cache_size, "491520 KB");
  EXPECT_EQ(cpu0.physical_id, "0");
  EXPECT_EQ(cpu0.core_id, "0");
  EXPECT_THAT(std::string(cpu0.flags), StartsWith("fpu vme de pse"));
  EXPECT_THAT(std::string(cpu0.bugs), StartsWith("spectre_v1 spectre_v2 "));
  EXPECT_EQ((*cpus)[1].processor, 1u);
  EXPECT_EQ((*cpus)[1].core_id, "1");
}

TEST(ParseCpuInfoTest, RejectsFileNotStartingWithProcessor) {
  auto cpus = ParseCpuInfo("\nvendor_id\t: GenuineIntel\n");
  ASSERT_FALSE(cpus);
  EXPECT_THAT(cpus.error().message, HasSubstr("line 2"));
  EXPECT_FALSE(ParseCpuInfo(""));
}

// Found by tests/fuzz/cpuinfo_fuzz.cc: a first line that starts with "processor" but whose key is not
// exactly "processor" left no entry for the next lines to fill. procfs reads its value as the processor.
TEST(ParseCpuInfoTest, TakesFirstLineAsProcessorWhateverFollowsTheWord) {
  auto cpus = ParseCpuInfo("processor\t): 3\nvendor_id\t: GenuineIntel\n");
  ASSERT_TRUE(cpus) << cpus.error().message;
  ASSERT_EQ(cpus->size(), 1u);
  EXPECT_EQ((*cpus)[0].processor, 3u);
  EXPECT_EQ((*cpus)[0].vendor_id, "GenuineIntel");
  EXPECT_FALSE(ParseCpuInfo("processors: x\nvendor_id\t: GenuineIntel\n"));
}

TEST(ParseCpuInfoTest, RejectsNonNumericFields) {
  std::string text = ReadFixture("host-6.18/proc/cpuinfo");
  std::string bad_mhz = text;
  bad_mhz.replace(bad_mhz.find("2599.998"), 8, "fast");
  auto cpus = ParseCpuInfo(bad_mhz);
  ASSERT_FALSE(cpus);
  EXPECT_THAT(cpus.error().message, HasSubstr("line 8: field cpu MHz"));
  std::string bad_processor = text;
  bad_processor.replace(bad_processor.find("processor\t: 1"), 13, "processor\t: z");
  EXPECT_FALSE(ParseCpuInfo(bad_processor));
}

}  // namespace
}  // namespace topdog::exporter
