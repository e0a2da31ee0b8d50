#include "exporter/collectors/registry.h"

#include "exporter/collectors/collectors.h"
#include "exporter/collectors/gateway.h"

namespace topdog::exporter {

const std::vector<CollectorInfo>& KnownCollectors() {
  // The twelve node collectors are on by default, as in node_exporter; the gateway and backend ones are off.
  static const std::vector<CollectorInfo> kCollectors = {
      {"accesslog", false, NewAccessLogCollector},  // gateway access logs; needs --collector.accesslog.path
      {"backend_metrics", false, NewBackendMetricsCollector},  // a backend's /metrics passed through
      {"backend_probe", false, NewBackendProbeCollector},  // blackbox-style HTTP probes
      {"cpu", true, NewCpuCollector},
      {"diskstats", true, NewDiskstatsCollector},
      {"envoy", false, NewEnvoyCollector},  // Envoy admin stats of the upstream clusters
      {"filefd", true, NewFilefdCollector},
      {"filesystem", true, NewFilesystemCollector},
      {"loadavg", true, NewLoadavgCollector},
      {"meminfo", true, NewMeminfoCollector},
      {"netdev", true, NewNetdevCollector},
      {"nginx", false, NewNginxCollector},  // stub_status, nginx-prometheus-exporter's families
      {"pressure", true, NewPressureCollector},
      {"stat", true, NewStatCollector},
      {"time", true, NewTimeCollector},
      {"uname", true, NewUnameCollector},
      {"vmstat", true, NewVmstatCollector},
  };
  return kCollectors;
}

}  // namespace topdog::exporter
