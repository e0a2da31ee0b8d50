#include "exporter/collector_set.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/logging.h"
#include "exporter/metric_builder.h"

namespace topdog::exporter {
namespace {

bool LabelValuesLess(const prometheus::ClientMetric& a, const prometheus::ClientMetric& b) {
  size_t n = std::min(a.label.size(), b.label.size());
  for (size_t i = 0; i < n; ++i) {
    if (a.label[i].value != b.label[i].value) return a.label[i].value < b.label[i].value;
  }
  return a.label.size() < b.label.size();
}

// client_golang order: labels by name within a sample, samples by label values. Most collectors already emit
// that order, so check before sorting (a sort moves large ClientMetric values). Families are ordered by name
// later, as pointers (Scrape::Ordered).
void Canonicalize(std::vector<MetricFamily>& families) {
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  for (auto& family : families) {
    for (auto& metric : family.metric) {
      if (!std::is_sorted(metric.label.begin(), metric.label.end(), by_name)) {
        std::sort(metric.label.begin(), metric.label.end(), by_name);
      }
    }
    if (!std::is_sorted(family.metric.begin(), family.metric.end(), LabelValuesLess)) {
      std::stable_sort(family.metric.begin(), family.metric.end(), LabelValuesLess);
    }
  }
}

}  // namespace

struct CollectorSet::Slot {
  struct Outcome {
    bool success = false;
    double duration_seconds = 0;
    std::shared_ptr<const std::vector<MetricFamily>> families;
  };

  explicit Slot(std::unique_ptr<Collector> c) : collector(std::move(c)), name(collector->Name()) {}

  // Worker loop: one run per batch of requests.
  void Run() {
    std::unique_lock lock(mu);
    while (true) {
      cv.wait(lock, [&] { return stopping || requested > completed; });
      if (stopping) return;
      uint64_t target = requested;
      running = true;
      lock.unlock();

      auto start = Clock::now();
      Result<std::vector<MetricFamily>> result = collector->Collect();
      Outcome outcome;
      outcome.success = result.has_value();
      if (result) {
        Canonicalize(*result);
        outcome.families = std::make_shared<const std::vector<MetricFamily>>(std::move(*result));
      } else if (result.error().kind == ErrorKind::kNotFound) {
        // Like node_exporter's ErrNoData: an absent subsystem is expected on many hosts.
        spdlog::debug("collector found no data collector={} result=no_data err={}", name, LogQuote(result.error().message));
      } else {
        spdlog::warn("collector failed collector={} result=error err={}", name, LogQuote(result.error().message));
      }
      outcome.duration_seconds = std::chrono::duration<double>(Clock::now() - start).count();

      lock.lock();
      last = std::move(outcome);
      completed = target;
      running = false;
      ++(last.success ? runs_ok : runs_failed);
      cv.notify_all();
    }
  }

  std::unique_ptr<Collector> collector;
  std::string name;
  std::thread thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  mutable uint64_t requested = 0;  // guarded by mu
  uint64_t completed = 0;          // guarded by mu
  bool running = false;            // guarded by mu
  bool stopping = false;           // guarded by mu
  Outcome last;                    // guarded by mu
  uint64_t runs_ok = 0, runs_failed = 0;
  mutable uint64_t timeouts = 0;  // guarded by mu
};

CollectorSet::CollectorSet(std::vector<std::unique_ptr<Collector>> collectors) {
  for (auto& collector : collectors) {
    auto slot = std::make_shared<Slot>(std::move(collector));
    // The thread owns a reference: a collector hung in a syscall at shutdown is detached safely.
    slot->thread = std::thread([slot] { slot->Run(); });
    slots_.push_back(std::move(slot));
  }
}

CollectorSet::~CollectorSet() {
  for (auto& slot : slots_) {
    bool hung;
    {
      std::lock_guard lock(slot->mu);
      slot->stopping = true;
      hung = slot->running;
    }
    slot->cv.notify_all();
    if (hung) {
      slot->thread.detach();
    } else {
      slot->thread.join();
    }
  }
}

std::vector<std::string> CollectorSet::Names() const {
  std::vector<std::string> names;
  for (const auto& slot : slots_) names.push_back(slot->name);
  return names;
}

CollectorSet::Scrape CollectorSet::Collect(Clock::time_point deadline, const std::set<std::string>* only) const {
  auto start = Clock::now();
  std::vector<std::pair<Slot*, uint64_t>> waiting;
  for (const auto& slot : slots_) {
    if (only != nullptr && only->count(slot->name) == 0) continue;
    uint64_t ticket;
    {
      std::lock_guard lock(slot->mu);
      ticket = ++slot->requested;
    }
    slot->cv.notify_all();
    waiting.emplace_back(slot.get(), ticket);
  }

  auto duration = Gauge("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.");
  auto success = Gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.");
  Scrape scrape;
  for (auto [slot, ticket] : waiting) {
    std::unique_lock lock(slot->mu);
    bool done = slot->cv.wait_until(lock, deadline, [&] { return slot->completed >= ticket; });
    Labels labels{{"collector", slot->name}};
    if (!done) {
      ++slot->timeouts;
      lock.unlock();
      double waited = std::chrono::duration<double>(Clock::now() - start).count();
      spdlog::warn("collector failed collector={} result=timeout err={}", slot->name,
                   LogQuote("collector did not finish before the scrape deadline; reporting success 0"));
      AddSample(duration, waited, labels);
      AddSample(success, 0, std::move(labels));
      continue;
    }
    Slot::Outcome outcome = slot->last;
    lock.unlock();
    AddSample(duration, outcome.duration_seconds, labels);
    AddSample(success, outcome.success ? 1 : 0, std::move(labels));
    if (outcome.success && outcome.families) scrape.parts.push_back(std::move(outcome.families));
  }
  std::vector<MetricFamily> own;
  own.push_back(std::move(duration));
  own.push_back(std::move(success));
  Canonicalize(own);
  scrape.parts.push_back(std::make_shared<const std::vector<MetricFamily>>(std::move(own)));
  return scrape;
}

std::vector<const MetricFamily*> CollectorSet::Scrape::Ordered() const {
  std::vector<const MetricFamily*> out;
  for (const auto& part : parts) {
    for (const auto& family : *part) out.push_back(&family);
  }
  std::stable_sort(out.begin(), out.end(), [](const MetricFamily* a, const MetricFamily* b) { return a->name < b->name; });
  return out;
}

std::vector<MetricFamily> CollectorSet::SelfMetrics() const {
  auto timeouts = Counter("topdog_exporter_collector_timeouts_total",
                          "Collector runs that missed the scrape deadline, by collector.");
  auto runs = Counter("topdog_exporter_collector_runs_total", "Finished collector runs, by collector and result.");
  for (const auto& slot : slots_) {
    std::lock_guard lock(slot->mu);
    AddSample(timeouts, static_cast<double>(slot->timeouts), {{"collector", slot->name}});
    AddSample(runs, static_cast<double>(slot->runs_failed), {{"collector", slot->name}, {"result", "error"}});
    AddSample(runs, static_cast<double>(slot->runs_ok), {{"collector", slot->name}, {"result", "success"}});
  }
  std::vector<MetricFamily> out;
  out.push_back(std::move(runs));
  out.push_back(std::move(timeouts));
  return out;
}

}  // namespace topdog::exporter
