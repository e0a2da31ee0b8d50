// The netdev collector (node_exporter collector/netdev_linux.go with --no-collector.netdev.netlink):
// node_network_<receive|transmit>_<stat>_total{device} counters from /proc/net/dev. Owns a DeviceFilter
// (caches verdicts), so not thread-safe; CollectorSet never runs it concurrently.
#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
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
    auto text = reader_.ReadInto(path_, buffer_);
    if (!text) return tl::unexpected(text.error());
    auto lines = ParseNetDev(*text);
    if (!lines) return tl::unexpected(lines.error().WithContext(path_));

    FamilyWriter out = NewWriter();
    for (size_t i = 0; i < kNetDevFieldCount; ++i) out.Counter(names_[i].name, names_[i].help);  // index i
    // Written by device name (the exposition order). procfs keys interfaces by name, so a repeated name keeps
    // its last line: among equal names the later line comes first and the others are skipped.
    order_.resize(lines->size());
    for (size_t i = 0; i < order_.size(); ++i) order_[i] = i;
    std::sort(order_.begin(), order_.end(), [&](size_t a, size_t b) {
      const std::string& name_a = (*lines)[a].name;
      const std::string& name_b = (*lines)[b].name;
      return name_a != name_b ? name_a < name_b : a > b;
    });
    const std::string* previous = nullptr;
    for (size_t index : order_) {
      const NetDevLine& line = (*lines)[index];
      if (previous != nullptr && *previous == line.name) continue;
      previous = &line.name;
      if (filter_.Ignored(line.name)) continue;
      for (size_t i = 0; i < kNetDevFieldCount; ++i) {
        out.Sample(i, static_cast<double>(line.values[i]), {{"device", line.name}});
      }
    }
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const std::string path_;
  std::string buffer_;  // the file's text, its storage reused by every read
  DeviceFilter filter_;
  struct Names {
    std::string name, help;
  };
  std::array<Names, kNetDevFieldCount> names_;
  std::vector<size_t> order_;  // scratch space of Collect: indices of the lines by name
};

}  // namespace

Result<std::unique_ptr<Collector>> NewNetdevCollector(const CollectorDeps& deps) {
  auto filter = DeviceFilter::Create("collector.netdev.device", deps.options.netdev_device_exclude,
                                     deps.options.netdev_device_include);
  if (!filter) return tl::unexpected(filter.error());
  return std::make_unique<NetdevCollector>(deps, std::move(*filter));
}

}  // namespace topdog::exporter
