// ParseProcStat: /proc/stat text -> ProcStat (per-CPU ticks, interrupt and context-switch totals, boot time,
// process counts, softirqs per vector), as prometheus/procfs's FS.Stat() reads it. Pure, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// USER_HZ: /proc/stat counts CPU time in 1/100 s on every Linux architecture (procfs hardcodes it too).
inline constexpr double kUserHz = 100.0;

// One "cpu" or "cpuN" line, in ticks of 1/USER_HZ s. Fields an old kernel does not print are 0.
struct CpuTicks {
  int64_t cpu = -1;  // N of "cpuN"; -1 for the aggregate "cpu" line
  uint64_t user = 0;
  uint64_t nice = 0;
  uint64_t system = 0;
  uint64_t idle = 0;
  uint64_t iowait = 0;
  uint64_t irq = 0;
  uint64_t softirq = 0;
  uint64_t steal = 0;
  uint64_t guest = 0;
  uint64_t guest_nice = 0;
};

// The softirq vectors in the kernel's order, named as node_exporter labels them (vector="...").
inline constexpr std::array<std::string_view, 10> kSoftirqVectorNames = {
    "hi", "timer", "net_tx", "net_rx", "block", "block_iopoll", "tasklet", "sched", "hrtimer", "rcu"};

// Lines that are absent leave their fields 0 (procfs does the same).
struct ProcStat {
  CpuTicks total;              // the "cpu" line
  std::vector<CpuTicks> cpus;  // the "cpuN" lines in file order
  uint64_t intr_total = 0;     // first number of "intr"; the per-IRQ counts are not parsed
  uint64_t context_switches = 0;
  uint64_t boot_time_seconds = 0;
  uint64_t processes_created = 0;  // "processes": forks since boot
  uint64_t procs_running = 0;
  uint64_t procs_blocked = 0;
  uint64_t softirq_total = 0;
  std::array<uint64_t, kSoftirqVectorNames.size()> softirq{};  // indexed like kSoftirqVectorNames
};

// CPU ids above this are rejected: Linux supports at most 8192 (NR_CPUS); the bound keeps a garbled file
// from making a caller allocate per-id tables of absurd size.
inline constexpr int64_t kMaxCpuId = 65535;

// Errors (kBadData) name the line number and the field. Accepts lines of any length (a 128-CPU host has an
// "intr" line of 200 KB or more). A cpu line needs at least user, nice, system and idle.
Result<ProcStat> ParseProcStat(std::string_view text);

}  // namespace topdog::exporter
