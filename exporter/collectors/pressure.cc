// The pressure collector (node_exporter collector/pressure_linux.go): PSI stall totals from
// /proc/pressure/{cpu,io,memory} (and irq in 1.12 mode), microseconds -> seconds. Stateless; not called
// concurrently.
#include "exporter/parse/pressure.h"

#include <array>
#include <iterator>
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"

namespace topdog::exporter {
namespace {

// Like node_exporter: float64(total) / 1000.0 / 1000.0, two divisions (not / 1e6), so values such as
// 1.4999999999999999e-05 come out bit-identical.
double MicrosecondsToSeconds(uint64_t total) { return static_cast<double>(total) / 1000.0 / 1000.0; }

constexpr const char* kResources[] = {"cpu", "io", "memory", "irq"};

class PressureCollector final : public Collector {
 public:
  explicit PressureCollector(const CollectorDeps& deps)
      : reader_(deps.reader), compat_(deps.options.compat), dir_(deps.options.paths.Proc("pressure")) {
    for (size_t r = 0; r < std::size(kResources); ++r) paths_[r] = dir_ + "/" + kResources[r];
  }

  std::string_view Name() const override { return "pressure"; }

  Result<std::vector<MetricFamily>> Collect() override {
    FamilyWriter out = NewWriter();
    const bool v1_5 = compat_ == NodeExporterCompat::kV1_5;
    int found = 0;
    for (size_t r = 0; r < std::size(kResources); ++r) {
      const std::string_view name = kResources[r];
      if (name == "irq" && v1_5) break;  // 1.5.0 does not know the irq file
      const std::string& path = paths_[r];
      auto text = reader_.ReadInto(path, buffer_);
      if (!text) {
        if (text.error().kind != ErrorKind::kNotFound) return tl::unexpected(text.error());
        // No PSI (kernel < 4.20 or CONFIG_PSI off): 1.5.0 gives up at the first missing file (ErrNoData);
        // 1.12 skips the missing resource and gives up only when none exists.
        if (v1_5) return tl::unexpected(text.error().WithContext("pressure information is unavailable"));
        continue;
      }
      auto stats = ParsePressure(*text);
      if (!stats) return tl::unexpected(stats.error().WithContext(path));
      // node_exporter reads only "some" for cpu (the "full" line of Linux >= 5.13 is ignored) and only
      // "full" for irq. A missing line is ErrNoData in 1.12 (1.5.0 would dereference nil and crash).
      const bool needs_some = name != "irq";
      const bool needs_full = name != "cpu";
      if ((needs_some && !stats->some) || (needs_full && !stats->full)) {
        return MakeError(ErrorKind::kNotFound, path + ": pressure information returned no '" +
                                                   (needs_some && !stats->some ? "some" : "full") + "' data");
      }
      if (name == "cpu") {
        out.Single("node_pressure_cpu_waiting_seconds_total",
                   "Total time in seconds that processes have waited for CPU time",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->some->total_microseconds));
      } else if (name == "io") {
        out.Single("node_pressure_io_waiting_seconds_total",
                   "Total time in seconds that processes have waited due to IO congestion",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->some->total_microseconds));
        out.Single("node_pressure_io_stalled_seconds_total",
                   "Total time in seconds no process could make progress due to IO congestion",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->full->total_microseconds));
      } else if (name == "memory") {
        out.Single("node_pressure_memory_waiting_seconds_total",
                   "Total time in seconds that processes have waited for memory",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->some->total_microseconds));
        out.Single("node_pressure_memory_stalled_seconds_total",
                   "Total time in seconds no process could make progress due to memory congestion",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->full->total_microseconds));
      } else {
        out.Single("node_pressure_irq_stalled_seconds_total",
                   "Total time in seconds no process could make progress due to IRQ congestion",
                   prometheus::MetricType::Counter, MicrosecondsToSeconds(stats->full->total_microseconds));
      }
      ++found;
    }
    if (found == 0) {
      return MakeError(ErrorKind::kNotFound, dir_ +
                                                 ": pressure information is unavailable (needs Linux >= 4.20 "
                                                 "with CONFIG_PSI)");
    }
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const NodeExporterCompat compat_;
  const std::string dir_;
  std::array<std::string, std::size(kResources)> paths_;  // dir_/<resource>
  std::string buffer_;                                    // file text, storage reused by every read
};

}  // namespace

Result<std::unique_ptr<Collector>> NewPressureCollector(const CollectorDeps& deps) {
  return std::make_unique<PressureCollector>(deps);
}

}  // namespace topdog::exporter
