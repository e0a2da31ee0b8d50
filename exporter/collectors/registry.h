// The table of known collectors: name, enabled by default, and a factory, like node_exporter's
// registerCollector(). Immutable after start-up; thread-safe to read.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "exporter/collector.h"
#include "exporter/io/file_reader.h"
#include "exporter/io/system.h"
#include "exporter/options.h"

namespace topdog::exporter {

// What a collector needs from the outside world. Outlives every collector.
struct CollectorDeps {
  const FileReader& reader;
  const System& system;
  const CollectorOptions& options;
};

struct CollectorInfo {
  std::string name;
  bool enabled_by_default;
  // Fails only on bad configuration (e.g. an invalid regex flag): a start-up error.
  std::function<Result<std::unique_ptr<Collector>>(const CollectorDeps&)> factory;
};

// All collectors this build knows, sorted by name.
const std::vector<CollectorInfo>& KnownCollectors();

}  // namespace topdog::exporter
