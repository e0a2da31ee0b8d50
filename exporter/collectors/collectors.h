// Factories of the node collectors. Each validates its options (regex flags) and returns the collector.
#pragma once

#include <memory>

#include "common/result.h"
#include "exporter/collector.h"
#include "exporter/collectors/registry.h"

namespace topdog::exporter {

Result<std::unique_ptr<Collector>> NewAccessLogCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewCpuCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewDiskstatsCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewFilefdCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewFilesystemCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewLoadavgCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewMeminfoCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewNetdevCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewPressureCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewStatCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewTimeCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewUnameCollector(const CollectorDeps& deps);
Result<std::unique_ptr<Collector>> NewVmstatCollector(const CollectorDeps& deps);

}  // namespace topdog::exporter
