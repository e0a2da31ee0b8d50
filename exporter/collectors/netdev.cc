// The netdev collector (node_exporter collector/netdev_linux.go with --no-collector.netdev.netlink):
// node_network_<receive|transmit>_<stat>_total{device} counters from /proc/net/dev. Owns a DeviceFilter
// (caches verdicts), so not thread-safe; CollectorSet never runs it concurrently.
#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
#include "exporter/metric_builder.h"
#include "exporter/parse/net_dev.h"

namespace topdog::exporter {
namespace {

// node_exporter's legacy() names for the /proc/net/dev columns, in NetDevField order.
constexpr std::string_view kStatNames[kNetDevFieldCount] = {
    "receive_bytes",  "receive_packets",  "receive_errs",       "receive_drop",
    "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
    "transmit_bytes", "transmit_packets", "transmit_errs",      "transmit_drop",
    "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed",
};

class NetdevCollector final : public Collector {
 public:
  NetdevCollector(const CollectorDeps& deps, DeviceFilter filter)
      : reader_(deps.reader), path_(deps.options.paths.Proc("net/dev")), filter_(std::move(filter)) {
    for (size_t i = 0; i < kNetDevFieldCount; ++i) {
      std::string stat(kStatNames[i]);
      names_[i] = {"node_network_" + stat + "_total", "Network device statistic " + stat + "."};
    }
  }

  std::string_view Name() const override { return "netdev"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.Read(path_);
    if (!text) return tl::unexpected(text.error());
    auto lines = ParseNetDev(*text);
    if (!lines) return tl::unexpected(lines.error().WithContext(path_));

    FamilyWriter out = NewWriter();
    for (size_t i = 0; i < kNetDevFieldCount; ++i) out.Counter(names_[i].name, names_[i].help);  // index i
    // procfs keys interfaces by name, so a repeated name keeps its last line: walk backwards, first wins.
    seen_.clear();
    for (auto it = lines->rbegin(); it != lines->rend(); ++it) {
      const NetDevLine& line = *it;
      if (!seen_.insert(line.name).second || filter_.Ignored(line.name)) continue;
      for (size_t i = 0; i < kNetDevFieldCount; ++i) {
        out.Sample(i, static_cast<double>(line.values[i]), {{"device", line.name}});
      }
    }
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const std::string path_;
  DeviceFilter filter_;
  struct Names {
    std::string name, help;
  };
  std::array<Names, kNetDevFieldCount> names_;
  std::unordered_set<std::string_view> seen_;  // scratch space of Collect, kept for its buckets
};

}  // namespace

Result<std::unique_ptr<Collector>> NewNetdevCollector(const CollectorDeps& deps) {
  auto filter = DeviceFilter::Create("collector.netdev.device", deps.options.netdev_device_exclude,
                                     deps.options.netdev_device_include);
  if (!filter) return tl::unexpected(filter.error());
  return std::make_unique<NetdevCollector>(deps, std::move(*filter));
}

}  // namespace topdog::exporter
