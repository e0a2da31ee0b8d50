// CollectorSet runs the enabled collectors for a scrape on a small shared pool of worker threads (or, with
// RunInline, the quick ones on the scraping thread) and waits for them up to a deadline. A collector that misses the deadline (a hung NFS statfs, say) reports success 0
// for this scrape and is never started twice: later scrapes wait for the same run. The pool grows by one
// thread per stuck collector, so a hung collector cannot starve the others, and shrinks when it returns.
// Concurrent scrapes share one fresh run per collector. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/collector.h"

namespace topdog::exporter {

class CollectorSet {
 public:
  using Clock = std::chrono::steady_clock;

  // base_workers: threads kept for collectors that behave; a collector running longer than
  // stuck_after counts as stuck and gets a thread of its own.
  explicit CollectorSet(std::vector<std::unique_ptr<Collector>> collectors, int base_workers = 1,
                        Clock::duration stuck_after = std::chrono::milliseconds(500));
  ~CollectorSet();
  CollectorSet(const CollectorSet&) = delete;
  CollectorSet& operator=(const CollectorSet&) = delete;

  // The families of one scrape, shared with other scrapes of the same runs; Ordered() gives them by family
  // name (samples are by label values), as client_golang orders them, leaving out families without samples.
  struct Scrape {
    std::vector<std::shared_ptr<const std::vector<MetricFamily>>> parts;
    std::vector<const MetricFamily*> Ordered() const;
  };

  // Runs the collectors named in `only` (all when null) and returns their families plus
  // node_scrape_collector_duration_seconds and node_scrape_collector_success.
  // REQUIRES: every name in `only` is one of Names().
  Scrape Collect(Clock::time_point deadline, const std::set<std::string>* only = nullptr) const;

  // Runs `fn` at (or after) a time point, on some other thread; may drop calls once the answer is sent.
  using Schedule = std::function<void(Clock::time_point, std::function<void()>)>;

  // Like Collect, without waiting: `done` gets the scrape once, on the thread that finishes the last run, or
  // from `schedule` at the deadline, or here when there is nothing to wait for. While the scrape is pending,
  // one scheduled call at a time checks for stuck collectors every stuck_after. With RunInline(true), the
  // collectors that cannot block (Collector::MayBlock) run here, on the calling thread, before it returns.
  void CollectAsync(Clock::time_point deadline, const std::set<std::string>* only, const Schedule& schedule,
                    std::function<void(Scrape)> done) const;

  // Lets CollectAsync run collectors on its caller's thread (an HTTP I/O thread) when they cannot block
  // (Collector::MayBlock) and their last run, the first always on a worker, took under 50 ms: a scrape then
  // costs no hand-off to a worker and back, two thread wake-ups (about a tenth of the exporter's CPU). A run
  // that takes longer than stuck_after there turns this off for good, with a warning and
  // topdog_exporter_collector_inline_runs 0. `budget`: the 50 ms above.
  void RunInline(bool enabled, Clock::duration budget = std::chrono::milliseconds(50));

  // topdog_exporter_collector_timeouts_total{collector}, topdog_exporter_collector_runs_total{collector,result}
  // topdog_exporter_collector_workers (threads in the pool) and topdog_exporter_collector_inline_runs.
  void SelfMetrics(FamilyWriter& out) const;
  std::vector<MetricFamily> SelfMetrics() const {
    FamilyWriter out;
    SelfMetrics(out);
    return std::move(out).Finish();
  }

  std::vector<std::string> Names() const;

 private:
  struct State;
  std::shared_ptr<State> state_;  // shared with the worker threads, which may outlive us if stuck
};

}  // namespace topdog::exporter
