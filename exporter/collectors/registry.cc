#include "exporter/collectors/registry.h"

#include "exporter/collectors/collectors.h"

namespace topdog::exporter {

const std::vector<CollectorInfo>& KnownCollectors() {
  // All twelve are enabled by default in node_exporter too.
  static const std::vector<CollectorInfo> kCollectors = {
      {"cpu", true, NewCpuCollector},
      {"diskstats", true, NewDiskstatsCollector},
      {"filefd", true, NewFilefdCollector},
      {"filesystem", true, NewFilesystemCollector},
      {"loadavg", true, NewLoadavgCollector},
      {"meminfo", true, NewMeminfoCollector},
      {"netdev", true, NewNetdevCollector},
      {"pressure", true, NewPressureCollector},
      {"stat", true, NewStatCollector},
      {"time", true, NewTimeCollector},
      {"uname", true, NewUnameCollector},
      {"vmstat", true, NewVmstatCollector},
  };
  return kCollectors;
}

}  // namespace topdog::exporter
