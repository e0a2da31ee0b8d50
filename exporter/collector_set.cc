#include "exporter/collector_set.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/exposition/text_writer.h"
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

namespace {

struct Outcome {
  bool success = false;
  double duration_seconds = 0;
  std::shared_ptr<const std::vector<MetricFamily>> families;
};

// One scrape waiting for some collectors; `remaining` counts the runs it still needs. Shared, so a worker can
// notify it after releasing the lock (the scrape may have given up and returned by then).
struct Waiter {
  std::condition_variable cv;
  size_t remaining = 0;
};

struct Slot {
  explicit Slot(std::unique_ptr<Collector> c) : collector(std::move(c)), name(collector->Name()) {}

  std::unique_ptr<Collector> collector;
  const std::string name;
  // All below guarded by State::mu.
  uint64_t requested = 0;  // tickets handed out
  uint64_t completed = 0;  // every ticket <= completed is served by `last`
  bool queued = false;
  bool running = false;
  CollectorSet::Clock::time_point started;
  bool run_missed_deadline = false;  // a scrape gave up on the current run: later ones don't wait for it
  Outcome last;
  uint64_t runs_ok = 0, runs_failed = 0, timeouts = 0;
  std::vector<std::pair<std::shared_ptr<Waiter>, uint64_t>> waiters;  // scrapes waiting for a ticket of this slot
};

}  // namespace

// Collectors return errors as values; this keeps an unexpected throw (std::bad_alloc, a library) from
// ending the process on a worker thread.
static Result<std::vector<MetricFamily>> CollectNoThrow(Collector& collector) {
  try {
    return collector.Collect();
  } catch (const std::exception& e) {
    return MakeError(ErrorKind::kBadData, std::string("collector threw: ") + e.what());
  } catch (...) {
    return MakeError(ErrorKind::kBadData, "collector threw an unknown exception");
  }
}

struct CollectorSet::State {
  std::mutex mu;
  std::condition_variable work_cv;
  std::condition_variable exit_cv;  // a worker left
  std::vector<std::unique_ptr<Slot>> slots;
  std::vector<Slot*> queue;  // FIFO of slots to run; guarded by mu
  int workers = 0;           // live worker threads; guarded by mu
  int base_workers = 1;
  Clock::duration stuck_after;
  bool stopping = false;

  // Threads the pool should have now: the base plus one per collector that has been running too long.
  // REQUIRES: mu held.
  int WantedWorkers(Clock::time_point now) const {
    int stuck = 0;
    for (const auto& slot : slots) {
      if (slot->running && now - slot->started > stuck_after) ++stuck;
    }
    return base_workers + stuck;
  }

  // REQUIRES: mu held.
  void SpawnWorkersIfNeeded(std::shared_ptr<State> self, Clock::time_point now) {
    int wanted = WantedWorkers(now);
    while (workers < wanted && workers < static_cast<int>(slots.size()) + base_workers) {
      ++workers;
      std::thread([self] { self->Work(); }).detach();
    }
  }

  void Work() {
    std::unique_lock lock(mu);
    std::vector<std::shared_ptr<Waiter>> wake;
    while (true) {
      work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
      Slot* slot = queue.front();
      queue.erase(queue.begin());
      slot->queued = false;
      slot->running = true;
      slot->run_missed_deadline = false;
      slot->started = Clock::now();
      uint64_t target = slot->requested;
      lock.unlock();
      Outcome outcome = RunCollector(*slot);
      lock.lock();
      slot->running = false;
      slot->last = std::move(outcome);
      slot->completed = target;
      ++(slot->last.success ? slot->runs_ok : slot->runs_failed);
      // Wake each scrape whose last missing run this was (one wake-up per scrape, not per collector).
      auto& waiters = slot->waiters;
      for (auto it = waiters.begin(); it != waiters.end();) {
        if (it->second > target) {
          ++it;
          continue;
        }
        if (--it->first->remaining == 0) wake.push_back(it->first);
        it = waiters.erase(it);
      }
      if (!wake.empty()) {
        // Notified without the lock, so the scrape does not wake only to block on it.
        lock.unlock();
        for (const auto& waiter : wake) waiter->cv.notify_one();
        wake.clear();
        lock.lock();
      }
      if (slot->requested > slot->completed && !slot->queued) {  // asked for again while it ran
        slot->queued = true;
        queue.push_back(slot);
      }
      // A thread added for a stuck collector leaves once that collector is back and there is no work.
      if (queue.empty() && workers > WantedWorkers(Clock::now())) break;
    }
    --workers;
    exit_cv.notify_all();
  }

  static Outcome RunCollector(Slot& slot) {
    auto start = Clock::now();
    Result<std::vector<MetricFamily>> result = CollectNoThrow(*slot.collector);
    if (result) {
      // One bad name or non-UTF-8 label value (a mount point, a disk model) would make Prometheus reject the
      // whole page: fail this collector alone instead.
      std::string invalid = exposition::FindInvalid(*result);
      if (!invalid.empty()) result = MakeError(ErrorKind::kBadData, invalid);
    }
    Outcome outcome;
    outcome.success = result.has_value();
    if (result) {
      Canonicalize(*result);
      outcome.families = std::make_shared<const std::vector<MetricFamily>>(std::move(*result));
    } else if (result.error().kind == ErrorKind::kNotFound) {
      // Like node_exporter's ErrNoData: an absent subsystem is expected on many hosts.
      spdlog::debug("collector found no data collector={} result=no_data err={}", slot.name,
                    LogQuote(result.error().message));
    } else {
      spdlog::warn("collector failed collector={} result=error err={}", slot.name, LogQuote(result.error().message));
    }
    outcome.duration_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return outcome;
  }
};

CollectorSet::CollectorSet(std::vector<std::unique_ptr<Collector>> collectors, int base_workers,
                           Clock::duration stuck_after)
    : state_(std::make_shared<State>()) {
  state_->base_workers = std::max(1, base_workers);
  state_->stuck_after = stuck_after;
  for (auto& collector : collectors) state_->slots.push_back(std::make_unique<Slot>(std::move(collector)));
  std::lock_guard lock(state_->mu);
  state_->SpawnWorkersIfNeeded(state_, Clock::now());
}

CollectorSet::~CollectorSet() {
  // Idle workers exit at once and are waited for; one stuck in a syscall owns the state through its
  // shared_ptr and finishes (or dies with the process) without touching freed memory.
  std::unique_lock lock(state_->mu);
  state_->stopping = true;
  state_->work_cv.notify_all();
  state_->exit_cv.wait(lock, [&] {
    int running = 0;
    for (const auto& slot : state_->slots) running += slot->running ? 1 : 0;
    return state_->workers <= running;
  });
}

std::vector<std::string> CollectorSet::Names() const {
  std::vector<std::string> names;
  for (const auto& slot : state_->slots) names.push_back(slot->name);
  return names;
}

CollectorSet::Scrape CollectorSet::Collect(Clock::time_point deadline, const std::set<std::string>* only) const {
  auto start = Clock::now();
  State& st = *state_;
  auto waiter_ptr = std::make_shared<Waiter>();
  Waiter& waiter = *waiter_ptr;
  size_t queued = 0;
  std::vector<std::pair<Slot*, uint64_t>> tickets;
  std::unique_lock lock(st.mu);
  for (const auto& slot : st.slots) {
    if (only != nullptr && only->count(slot->name) == 0) continue;
    uint64_t ticket = ++slot->requested;
    tickets.emplace_back(slot.get(), ticket);
    // A run that already missed an earlier scrape's deadline is stuck: report it at once rather than make
    // every scrape wait out its full deadline (a fresh run is still requested for when it returns).
    if (slot->running && slot->run_missed_deadline) continue;
    slot->waiters.emplace_back(waiter_ptr, ticket);
    ++waiter.remaining;
    if (!slot->running && !slot->queued) {
      slot->queued = true;
      st.queue.push_back(slot.get());
      ++queued;
    }
  }
  st.SpawnWorkersIfNeeded(state_, start);
  // One worker per queued run at most: with the default single base worker, one wake-up per scrape.
  for (int i = 0; i < std::min<int>(static_cast<int>(queued), st.workers); ++i) st.work_cv.notify_one();
  // Wake every stuck_after to give a collector that got stuck during this scrape a thread of its own, so
  // the collectors queued behind it still make the deadline.
  while (waiter.remaining > 0) {
    auto now = Clock::now();
    if (now >= deadline) break;
    waiter.cv.wait_until(lock, std::min(deadline, now + st.stuck_after), [&] { return waiter.remaining == 0; });
    st.SpawnWorkersIfNeeded(state_, Clock::now());
  }

  auto duration = Gauge("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.");
  auto success = Gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.");
  Scrape scrape;
  std::vector<std::string> late;
  double waited = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto [slot, ticket] : tickets) {
    Labels labels{{"collector", slot->name}};
    if (slot->completed < ticket) {
      // Late: stop waiting for it; the run goes on and serves a later scrape.
      ++slot->timeouts;
      if (slot->running) slot->run_missed_deadline = true;
      std::erase_if(slot->waiters, [&](const auto& w) { return w.first == waiter_ptr; });
      late.push_back(slot->name);
      AddSample(duration, waited, labels);
      AddSample(success, 0, std::move(labels));
      continue;
    }
    AddSample(duration, slot->last.duration_seconds, labels);
    AddSample(success, slot->last.success ? 1 : 0, std::move(labels));
    if (slot->last.success && slot->last.families) scrape.parts.push_back(slot->last.families);
  }
  lock.unlock();
  for (const auto& name : late) {
    spdlog::warn("collector failed collector={} result=timeout err={}", name,
                 LogQuote("collector did not finish before the scrape deadline; reporting success 0"));
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
  auto workers = Gauge("topdog_exporter_collector_workers", "Threads in the collector pool.");
  auto requests = Counter("topdog_exporter_collector_requests_total",
                          "Collector results asked for by scrapes, by collector (runs are shared between scrapes).");
  std::lock_guard lock(state_->mu);
  for (const auto& slot : state_->slots) {
    AddSample(requests, static_cast<double>(slot->requested), {{"collector", slot->name}});
    AddSample(timeouts, static_cast<double>(slot->timeouts), {{"collector", slot->name}});
    AddSample(runs, static_cast<double>(slot->runs_failed), {{"collector", slot->name}, {"result", "error"}});
    AddSample(runs, static_cast<double>(slot->runs_ok), {{"collector", slot->name}, {"result", "success"}});
  }
  AddSample(workers, state_->workers);
  std::vector<MetricFamily> out;
  out.push_back(std::move(runs));
  out.push_back(std::move(timeouts));
  out.push_back(std::move(workers));
  out.push_back(std::move(requests));
  return out;
}

}  // namespace topdog::exporter
