// Collector: one node_exporter-style collector (cpu, meminfo, ...). CollectorSet calls a Collector from one
// thread at a time (a pool worker or, for quick runs, an HTTP I/O thread), with its mutex handing the
// collector over between threads, so implementations may keep state without locking.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/exposition/family_writer.h"
#include "common/result.h"

namespace topdog::exporter {

using exposition::FamilyWriter;
using prometheus::MetricFamily;

class Collector {
 public:
  virtual ~Collector() = default;
  // The name used in --collector.<name> and node_scrape_collector_success{collector="<name>"}.
  virtual std::string_view Name() const = 0;
  // Reads and parses the source. An error makes success 0 for this collector only; families returned
  // with an error are dropped. Families without samples are not exposed. REQUIRES: not called
  // concurrently (CollectorSet guarantees it).
  virtual Result<std::vector<MetricFamily>> Collect() = 0;

  // True when the next Collect may wait on something other than procfs and sysfs (a network file system, a
  // mount table being changed): such a run stays off the HTTP I/O thread (CollectorSet::RunInline). Called
  // between runs, from any thread, never concurrently with Collect.
  virtual bool MayBlock() { return false; }

  // Families to expose although the last Collect failed: nginx_up 0, as nginx-prometheus-exporter exports
  // when stub_status cannot be read, or the targets of a multi-target collector that did answer. Called by
  // CollectorSet right after a failed Collect; node_scrape_collector_success stays 0. Default: none.
  virtual std::vector<MetricFamily> TakeFamiliesOnError() { return {}; }

  // Hands back an earlier result of this collector that no scrape uses any more, for the next Collect to
  // build over its storage (see FamilyWriter). REQUIRES: not called concurrently with Collect.
  void Recycle(std::vector<MetricFamily> families) { recycled_ = std::move(families); }

 protected:
  // A writer over the storage last recycled (none: a fresh one).
  FamilyWriter NewWriter() { return FamilyWriter(std::move(recycled_)); }

 private:
  std::vector<MetricFamily> recycled_;
};

}  // namespace topdog::exporter
