// The loadavg collector (node_exporter collector/loadavg_linux.go): node_load1, node_load5, node_load15
// from /proc/loadavg. Stateless; not called concurrently.
#include "exporter/parse/loadavg.h"

#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"

namespace topdog::exporter {
namespace {

class LoadavgCollector final : public Collector {
 public:
  explicit LoadavgCollector(const CollectorDeps& deps)
      : reader_(deps.reader), path_(deps.options.paths.Proc("loadavg")) {}

  std::string_view Name() const override { return "loadavg"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto loadavg = ParseLoadavg(*text);
    if (!loadavg) return tl::unexpected(loadavg.error().WithContext(path_));
    FamilyWriter out = NewWriter();
    out.Single("node_load1", "1m load average.", prometheus::MetricType::Gauge, loadavg->load1);
    out.Single("node_load5", "5m load average.", prometheus::MetricType::Gauge, loadavg->load5);
    out.Single("node_load15", "15m load average.", prometheus::MetricType::Gauge, loadavg->load15);
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
};

}  // namespace

Result<std::unique_ptr<Collector>> NewLoadavgCollector(const CollectorDeps& deps) {
  return std::make_unique<LoadavgCollector>(deps);
}

}  // namespace topdog::exporter
