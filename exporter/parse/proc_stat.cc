#include "exporter/parse/proc_stat.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

using parse::LineContext;
using parse::NextField;
using parse::ParseUint64;
using parse::QuoteField;

tl::unexpected<Error> FieldError(int line_number, std::string_view field_name, std::string_view what,
                                 std::string_view value) {
  return MakeError(ErrorKind::kBadData, LineContext(line_number) + ": field " + std::string(field_name) + ": " +
                                            std::string(what) + " " + QuoteField(value));
}

// "cpu" or "cpuN" followed by up to ten tick counts (older kernels print fewer: missing ones stay 0).
Result<CpuTicks> ParseCpuLine(std::string_view name, std::string_view rest, int line_number) {
  CpuTicks ticks;
  if (name.size() > 3) {
    auto id = parse::ParseInt64(name.substr(3));
    if (!id || *id < 0 || *id > kMaxCpuId) return FieldError(line_number, "cpu", "invalid cpu id in", name);
    ticks.cpu = *id;
  }
  static constexpr const char* kFieldNames[] = {"user", "nice",    "system", "idle",  "iowait",
                                                "irq",  "softirq", "steal",  "guest", "guest_nice"};
  uint64_t* fields[] = {&ticks.user, &ticks.nice,    &ticks.system, &ticks.idle,  &ticks.iowait,
                        &ticks.irq,  &ticks.softirq, &ticks.steal,  &ticks.guest, &ticks.guest_nice};
  size_t parsed = 0;
  for (; parsed < std::size(fields); ++parsed) {
    std::string_view field = NextField(rest);
    if (field.empty()) break;
    auto value = ParseUint64(field);
    if (!value) {
      return FieldError(line_number, std::string(name) + " " + kFieldNames[parsed], "invalid number", field);
    }
    *fields[parsed] = *value;
  }
  // Linux 2.4 already printed four fields; fewer means the line was cut off.
  if (parsed < 4) {
    return MakeError(ErrorKind::kBadData, LineContext(line_number) + ": field " + std::string(name) + " " +
                                              kFieldNames[parsed] + ": missing (truncated cpu line)");
  }
  return ticks;
}

}  // namespace

Result<ProcStat> ParseProcStat(std::string_view text) {
  ProcStat stat;
  parse::LineScanner lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    const int line_number = lines.line_number();
    std::string_view rest = line;
    std::string_view key = NextField(rest);
    std::string_view rest_after_key = rest;
    std::string_view first = NextField(rest);
    // procfs skips lines with fewer than two fields (blank lines, a bare key).
    if (first.empty()) continue;

    if (key.substr(0, 3) == "cpu") {
      auto ticks = ParseCpuLine(key, rest_after_key, line_number);
      if (!ticks) return tl::unexpected(ticks.error());
      if (ticks->cpu < 0) {
        stat.total = *ticks;
      } else {
        if (stat.cpus.empty()) stat.cpus.reserve(64);
        stat.cpus.push_back(*ticks);
      }
      continue;
    }

    uint64_t* target = nullptr;
    if (key == "intr") {
      target = &stat.intr_total;  // the rest of the line (one count per IRQ) is not needed
    } else if (key == "ctxt") {
      target = &stat.context_switches;
    } else if (key == "btime") {
      target = &stat.boot_time_seconds;
    } else if (key == "processes") {
      target = &stat.processes_created;
    } else if (key == "procs_running") {
      target = &stat.procs_running;
    } else if (key == "procs_blocked") {
      target = &stat.procs_blocked;
    } else if (key == "softirq") {
      target = &stat.softirq_total;
    } else {
      continue;  // unknown lines are ignored, so newer kernels can add some
    }
    auto value = ParseUint64(first);
    if (!value) return FieldError(line_number, key, "invalid number", first);
    *target = *value;

    if (key == "softirq") {
      // procfs requires the total and all ten vectors (every kernel since 2.6.36 prints them).
      for (size_t i = 0; i < stat.softirq.size(); ++i) {
        std::string field_name = "softirq " + std::string(kSoftirqVectorNames[i]);
        std::string_view field = NextField(rest);
        if (field.empty()) {
          return MakeError(ErrorKind::kBadData,
                           LineContext(line_number) + ": field " + field_name + ": missing (truncated softirq line)");
        }
        auto count = ParseUint64(field);
        if (!count) return FieldError(line_number, field_name, "invalid number", field);
        stat.softirq[i] = *count;
      }
    }
  }
  return stat;
}

}  // namespace topdog::exporter
