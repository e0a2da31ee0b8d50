#include "exporter/parse/proc_stat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fakes/fixture_tree.h"

namespace topdog::exporter {
namespace {

using ::testing::HasSubstr;
using testing::ReadFixture;

// Replaces the whole line starting with `key ` in `text` by `replacement` (without newline).
std::string ReplaceLine(std::string text, const std::string& key, const std::string& replacement) {
  size_t start = text.find("\n" + key + " ");
  start = start == std::string::npos ? (text.rfind(key + " ", 0) == 0 ? 0 : std::string::npos) : start + 1;
  EXPECT_NE(start, std::string::npos) << key;
  size_t end = text.find('\n', start);
  text.replace(start, end - start, replacement);
  return text;
}

TEST(ParseProcStatTest, ParsesHostFixture) {
  auto stat = ParseProcStat(ReadFixture("host-6.18/proc/stat"));
  ASSERT_TRUE(stat) << stat.error().message;
  // "cpu  1674 0 1251 63091 262 0 49 8 0 0"
  EXPECT_EQ(stat->total.cpu, -1);
  EXPECT_EQ(stat->total.user, 1674u);
  EXPECT_EQ(stat->total.idle, 63091u);
  EXPECT_EQ(stat->total.steal, 8u);
  ASSERT_EQ(stat->cpus.size(), 2u);
  // "cpu1 1083 0 827 30977 254 0 38 6 0 0"
  const CpuTicks& cpu1 = stat->cpus[1];
  EXPECT_EQ(cpu1.cpu, 1);
  EXPECT_EQ(cpu1.user, 1083u);
  EXPECT_EQ(cpu1.nice, 0u);
  EXPECT_EQ(cpu1.system, 827u);
  EXPECT_EQ(cpu1.idle, 30977u);
  EXPECT_EQ(cpu1.iowait, 254u);
  EXPECT_EQ(cpu1.irq, 0u);
  EXPECT_EQ(cpu1.softirq, 38u);
  EXPECT_EQ(cpu1.steal, 6u);
  EXPECT_EQ(cpu1.guest, 0u);
  EXPECT_EQ(cpu1.guest_nice, 0u);
  EXPECT_EQ(stat->intr_total, 144701u);
  EXPECT_EQ(stat->context_switches, 308176u);
  EXPECT_EQ(stat->boot_time_seconds, 1795761151u);
  EXPECT_EQ(stat->processes_created, 3340u);
  EXPECT_EQ(stat->procs_running, 1u);
  EXPECT_EQ(stat->procs_blocked, 0u);
  // "softirq 87113 0 7500 4 1256 46334 0 4 16252 0 15763"
  EXPECT_EQ(stat->softirq_total, 87113u);
  EXPECT_EQ(stat->softirq[0], 0u);      // hi
  EXPECT_EQ(stat->softirq[1], 7500u);   // timer
  EXPECT_EQ(stat->softirq[4], 46334u);  // block
  EXPECT_EQ(stat->softirq[9], 15763u);  // rcu
}

TEST(ParseProcStatTest, ParsesProcfsFixture) {
  auto stat = ParseProcStat(ReadFixture("procfs-0.8.0/proc/stat"));
  ASSERT_TRUE(stat) << stat.error().message;
  ASSERT_EQ(stat->cpus.size(), 8u);
  // "cpu7 29098 268 10164 1139282 555 0 31 0 0 0"
  EXPECT_EQ(stat->cpus[7].cpu, 7);
  EXPECT_EQ(stat->cpus[7].nice, 268u);
  EXPECT_EQ(stat->cpus[7].idle, 1139282u);
  EXPECT_EQ(stat->intr_total, 8885917u);
  EXPECT_EQ(stat->context_switches, 38014093u);
  EXPECT_EQ(stat->boot_time_seconds, 1418183276u);
  EXPECT_EQ(stat->processes_created, 26442u);
  EXPECT_EQ(stat->procs_running, 2u);
  EXPECT_EQ(stat->procs_blocked, 1u);
  // "softirq 5057579 250191 1481983 1647 211099 186066 0 1783454 622196 12499 508444"
  EXPECT_EQ(stat->softirq_total, 5057579u);
  EXPECT_EQ(stat->softirq[0], 250191u);
  EXPECT_EQ(stat->softirq[6], 1783454u);  // tasklet
  EXPECT_EQ(stat->softirq[8], 12499u);    // hrtimer
}

TEST(ParseProcStatTest, ParsesTwoHundredKilobyteIntrLine) {
  // A 128-CPU host prints one count per IRQ: the line outgrows bufio.Scanner's 64 KiB in node_exporter 1.5.0.
  std::string intr = "intr 144701";
  while (intr.size() < 200 * 1024) intr += " 0 17";
  std::string text = ReplaceLine(ReadFixture("host-6.18/proc/stat"), "intr", intr);
  ASSERT_GT(text.size(), 200u * 1024);
  auto stat = ParseProcStat(text);
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->intr_total, 144701u);
  EXPECT_EQ(stat->context_switches, 308176u);  // the lines after it are still read
  EXPECT_EQ(stat->procs_running, 1u);
}

TEST(ParseProcStatTest, EmptyFileGivesZeros) {
  auto stat = ParseProcStat("");
  ASSERT_TRUE(stat);
  EXPECT_TRUE(stat->cpus.empty());
  EXPECT_EQ(stat->intr_total, 0u);
}

TEST(ParseProcStatTest, AcceptsOldKernelCpuLinesWithFourFields) {
  auto stat = ParseProcStat("cpu  10 20 30 40\ncpu0 10 20 30 40\n");
  ASSERT_TRUE(stat) << stat.error().message;
  ASSERT_EQ(stat->cpus.size(), 1u);
  EXPECT_EQ(stat->cpus[0].idle, 40u);
  EXPECT_EQ(stat->cpus[0].iowait, 0u);
  EXPECT_EQ(stat->cpus[0].guest_nice, 0u);
}

TEST(ParseProcStatTest, SkipsUnknownAndSingleFieldLines) {
  auto stat = ParseProcStat("future_key 1 2 3\nctxt\n\nctxt 5\n");
  ASSERT_TRUE(stat) << stat.error().message;
  EXPECT_EQ(stat->context_switches, 5u);
}

TEST(ParseProcStatTest, RejectsTruncatedCpuLine) {
  std::string text = ReplaceLine(ReadFixture("host-6.18/proc/stat"), "cpu0", "cpu0 590 0");
  auto stat = ParseProcStat(text);
  ASSERT_FALSE(stat);
  EXPECT_EQ(stat.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(stat.error().message, HasSubstr("line 2"));
  EXPECT_THAT(stat.error().message, HasSubstr("cpu0 system"));
}

TEST(ParseProcStatTest, RejectsNonNumericCpuField) {
  std::string text = ReplaceLine(ReadFixture("host-6.18/proc/stat"), "cpu1", "cpu1 1083 0 827 3O977 254 0 38 6 0 0");
  auto stat = ParseProcStat(text);
  ASSERT_FALSE(stat);
  EXPECT_THAT(stat.error().message, HasSubstr("line 3"));
  EXPECT_THAT(stat.error().message, HasSubstr("cpu1 idle"));
  EXPECT_THAT(stat.error().message, HasSubstr("\"3O977\""));
}

TEST(ParseProcStatTest, RejectsNonNumericCounter) {
  std::string text = ReplaceLine(ReadFixture("host-6.18/proc/stat"), "ctxt", "ctxt 30817x");
  auto stat = ParseProcStat(text);
  ASSERT_FALSE(stat);
  EXPECT_THAT(stat.error().message, HasSubstr("line 5"));
  EXPECT_THAT(stat.error().message, HasSubstr("ctxt"));
}

TEST(ParseProcStatTest, RejectsNegativeProcessCount) {
  // node_exporter issue #1882: procfs refuses a negative "processes" too.
  auto stat = ParseProcStat("processes -3\n");
  ASSERT_FALSE(stat);
  EXPECT_THAT(stat.error().message, HasSubstr("processes"));
}

TEST(ParseProcStatTest, RejectsBadCpuId) {
  auto stat = ParseProcStat("cpuX 1 2 3 4\n");
  ASSERT_FALSE(stat);
  EXPECT_THAT(stat.error().message, HasSubstr("cpu id"));
  EXPECT_FALSE(ParseProcStat("cpu99999999 1 2 3 4\n"));
}

TEST(ParseProcStatTest, RejectsTruncatedSoftirqLine) {
  auto stat = ParseProcStat("softirq 87113 0 7500 4\n");
  ASSERT_FALSE(stat);
  EXPECT_THAT(stat.error().message, HasSubstr("softirq net_rx: missing"));
}

}  // namespace
}  // namespace topdog::exporter
