// libFuzzer target: ParseProcStat (/proc/stat) on arbitrary bytes; parsed ticks go through the exposition
// number writer as the cpu collector exports them (ticks / USER_HZ seconds).
#include <cstddef>
#include <cstdint>

#include "exporter/parse/proc_stat.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

void CheckTicks(const topdog::exporter::CpuTicks& ticks) {
  for (uint64_t value : {ticks.user, ticks.nice, ticks.system, ticks.idle, ticks.iowait, ticks.irq, ticks.softirq,
                         ticks.steal, ticks.guest, ticks.guest_nice}) {
    topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(value) / topdog::exporter::kUserHz);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto stat = topdog::exporter::ParseProcStat(topdog::fuzz::AsText(data, size));
  if (!stat) {
    Check(!stat.error().message.empty());
    return 0;
  }
  Check(stat->total.cpu == -1);
  CheckTicks(stat->total);
  for (const auto& cpu : stat->cpus) {
    Check(cpu.cpu >= 0 && cpu.cpu <= topdog::exporter::kMaxCpuId);
    CheckTicks(cpu);
  }
  for (uint64_t count : stat->softirq) topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(count));
  topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(stat->intr_total));
  topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(stat->boot_time_seconds));
  return 0;
}
