// The stat collector (node_exporter collector/stat_linux.go): boot time, context switches, forks,
// interrupts, running/blocked processes and, with --collector.stat.softirq, softirqs per vector, from
// /proc/stat. Stateless; not called concurrently.
#include <string>
#include <vector>

#include "exporter/collectors/collectors.h"
#include "exporter/metric_builder.h"
#include "exporter/parse/proc_stat.h"

namespace topdog::exporter {
namespace {

class StatCollector final : public Collector {
 public:
  explicit StatCollector(const CollectorDeps& deps)
      : reader_(deps.reader), softirq_(deps.options.stat_softirq), path_(deps.options.paths.Proc("stat")) {}

  std::string_view Name() const override { return "stat"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.Read(path_);
    if (!text) return tl::unexpected(text.error());
    auto stat = ParseProcStat(*text);
    if (!stat) return tl::unexpected(stat.error().WithContext(path_));

    std::vector<MetricFamily> out;
    out.reserve(7);
    out.push_back(Single(Counter("node_intr_total", "Total number of interrupts serviced."),
                         static_cast<double>(stat->intr_total)));
    out.push_back(Single(Counter("node_context_switches_total", "Total number of context switches."),
                         static_cast<double>(stat->context_switches)));
    out.push_back(
        Single(Counter("node_forks_total", "Total number of forks."), static_cast<double>(stat->processes_created)));
    out.push_back(Single(Gauge("node_boot_time_seconds", "Node boot time, in unixtime."),
                         static_cast<double>(stat->boot_time_seconds)));
    out.push_back(Single(Gauge("node_procs_running", "Number of processes in runnable state."),
                         static_cast<double>(stat->procs_running)));
    out.push_back(Single(Gauge("node_procs_blocked", "Number of processes blocked waiting for I/O to complete."),
                         static_cast<double>(stat->procs_blocked)));
    if (softirq_) {
      MetricFamily softirqs = Counter("node_softirqs_total", "Number of softirq calls.");
      softirqs.metric.reserve(kSoftirqVectorNames.size());
      for (size_t i = 0; i < kSoftirqVectorNames.size(); ++i) {
        AddSample(softirqs, static_cast<double>(stat->softirq[i]), {{"vector", std::string(kSoftirqVectorNames[i])}});
      }
      out.push_back(std::move(softirqs));
    }
    return out;
  }

 private:
  const FileReader& reader_;
  const bool softirq_;
  const std::string path_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewStatCollector(const CollectorDeps& deps) {
  return std::make_unique<StatCollector>(deps);
}

}  // namespace topdog::exporter
