// The stat collector (node_exporter collector/stat_linux.go): boot time, context switches, forks,
// interrupts, running/blocked processes and, with --collector.stat.softirq, softirqs per vector, from
// /proc/stat. Stateless; not called concurrently.
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/parse/proc_stat.h"

namespace topdog::exporter {
namespace {

class StatCollector final : public Collector {
 public:
  explicit StatCollector(const CollectorDeps& deps)
      : reader_(deps.reader), softirq_(deps.options.stat_softirq), path_(deps.options.paths.Proc("stat")) {}

  std::string_view Name() const override { return "stat"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto stat = ParseProcStat(*text);
    if (!stat) return tl::unexpected(stat.error().WithContext(path_));

    using prometheus::MetricType;
    FamilyWriter out = NewWriter();
    out.Single("node_intr_total", "Total number of interrupts serviced.", MetricType::Counter,
               static_cast<double>(stat->intr_total));
    out.Single("node_context_switches_total", "Total number of context switches.", MetricType::Counter,
               static_cast<double>(stat->context_switches));
    out.Single("node_forks_total", "Total number of forks.", MetricType::Counter,
               static_cast<double>(stat->processes_created));
    out.Single("node_boot_time_seconds", "Node boot time, in unixtime.", MetricType::Gauge,
               static_cast<double>(stat->boot_time_seconds));
    out.Single("node_procs_running", "Number of processes in runnable state.", MetricType::Gauge,
               static_cast<double>(stat->procs_running));
    out.Single("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.", MetricType::Gauge,
               static_cast<double>(stat->procs_blocked));
    if (softirq_) {
      const size_t softirqs = out.Counter("node_softirqs_total", "Number of softirq calls.");
      for (size_t i = 0; i < kSoftirqVectorNames.size(); ++i) {
        out.Sample(softirqs, static_cast<double>(stat->softirq[i]), {{"vector", kSoftirqVectorNames[i]}});
      }
    }
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const bool softirq_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
};

}  // namespace

Result<std::unique_ptr<Collector>> NewStatCollector(const CollectorDeps& deps) {
  return std::make_unique<StatCollector>(deps);
}

}  // namespace topdog::exporter
