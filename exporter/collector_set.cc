#include "exporter/collector_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "common/exposition/family_writer.h"
#include "common/exposition/text_writer.h"
#include "common/logging.h"

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
  std::shared_ptr<std::vector<MetricFamily>> families;  // handed to scrapes as const
};

// One scrape waiting for some collectors; `remaining` counts the runs it still needs. Shared, so a worker can
// notify it after releasing the lock (the scrape may have given up and returned by then).
struct Slot;
struct Waiter {
  std::condition_variable cv;  // synchronous scrapes wait here
  size_t remaining = 0;
  std::vector<std::pair<Slot*, uint64_t>> tickets;
  CollectorSet::Clock::time_point start;
  // Asynchronous scrapes: `done` runs once, from the worker that finishes the last run or from the
  // deadline callback, whichever comes first.
  std::function<void(CollectorSet::Scrape)> done;
  bool finished = false;  // guarded by State::mu
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
  bool fast = false;                 // the last run took less than the inline budget
  // Only the running run touches this (runs of one collector never overlap): the last error logged, so a
  // peer that stays down is logged once, not at every scrape.
  std::string logged_error;
  Outcome last;
  // The families of an earlier run once no scrape holds them, for the collector to write the next run over.
  std::vector<MetricFamily> spare;
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
  bool inline_runs = false;  // CollectAsync runs collectors that cannot block on its caller's thread
  Clock::duration inline_budget = std::chrono::milliseconds(50);

  // Whether a queued slot must run on a worker rather than on the caller's thread: only a collector whose
  // last run was quick goes inline, so the first run of each is on a worker and one that hangs from the start
  // (a FIFO for a /proc file) never does. REQUIRES: mu held; the slot is queued (no thread runs it).
  bool KeepOffCaller(Slot& slot) const { return !slot.fast || slot.collector->MayBlock(); }
  // The last scrape's node_scrape_collector_* families, reused when no scrape holds them any more.
  std::shared_ptr<std::vector<MetricFamily>> own_last;  // guarded by mu

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
      std::thread([self] { self->Work(self); }).detach();
    }
  }

  // Asks for a run of each selected collector for `waiter`; returns how many runs were queued.
  // REQUIRES: mu held.
  size_t Register(const std::shared_ptr<Waiter>& waiter, const std::set<std::string>* only) {
    size_t queued = 0;
    for (const auto& slot : slots) {
      if (only != nullptr && only->count(slot->name) == 0) continue;
      uint64_t ticket = ++slot->requested;
      waiter->tickets.emplace_back(slot.get(), ticket);
      // A run that already missed an earlier scrape's deadline is stuck: report it at once rather than make
      // every scrape wait out its full deadline (a fresh run is still requested for when it returns).
      if (slot->running && slot->run_missed_deadline) continue;
      slot->waiters.emplace_back(waiter, ticket);
      ++waiter->remaining;
      if (!slot->running && !slot->queued) {
        slot->queued = true;
        queue.push_back(slot.get());
        ++queued;
      }
    }
    return queued;
  }

  // One worker per queued run at most: with the default single base worker, one wake-up per scrape.
  // REQUIRES: mu held.
  void WakeWorkers(size_t queued) {
    for (int i = 0; i < std::min<int>(static_cast<int>(queued), workers); ++i) work_cv.notify_one();
  }

  // The scrape's families as they stand: runs not finished yet report success 0 and are logged in `late`.
  // REQUIRES: mu held.
  CollectorSet::Scrape BuildScrape(const std::shared_ptr<Waiter>& waiter, std::vector<std::string>& late);

  // Completes an asynchronous scrape (once; later calls do nothing).
  static void Finish(const std::shared_ptr<State>& self, const std::shared_ptr<Waiter>& waiter);

  // Every stuck_after until the scrape is done: gives a collector that got stuck a thread of its own, so
  // the collectors queued behind it still make the deadline; at the deadline, sends what there is. One
  // timer per pending scrape.
  static void Watch(const std::shared_ptr<State>& self, const std::shared_ptr<Waiter>& waiter,
                    Clock::time_point deadline, const CollectorSet::Schedule& schedule) {
    Clock::time_point now = Clock::now();
    if (now >= deadline) return Finish(self, waiter);
    {
      std::lock_guard lock(self->mu);
      if (waiter->finished) return;
      self->SpawnWorkersIfNeeded(self, now);
      if (!self->queue.empty()) self->work_cv.notify_all();  // idle workers take what waits
    }
    schedule(std::min(deadline, now + self->stuck_after),
             [self, waiter, deadline, schedule] { Watch(self, waiter, deadline, schedule); });
  }

  void Work(const std::shared_ptr<State>& self) {
    std::unique_lock lock(mu);
    while (true) {
      work_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
      // With inline runs on, what must stay off the scraping thread goes first: that thread takes the rest.
      auto next = queue.begin();
      if (inline_runs) {
        next = std::find_if(queue.begin(), queue.end(), [this](Slot* slot) { return KeepOffCaller(*slot); });
        if (next == queue.end()) next = queue.begin();
      }
      RunQueued(self, lock, next);
      // A thread added for a stuck collector leaves once that collector is back and there is no work.
      if (queue.empty() && workers > WantedWorkers(Clock::now())) break;
    }
    --workers;
    exit_cv.notify_all();
  }

  // Runs the collectors of the queue that cannot block (Collector::MayBlock) on the calling thread, until
  // none is left; a worker takes the others. REQUIRES: lock held (released while a collector runs).
  void RunInline(const std::shared_ptr<State>& self, std::unique_lock<std::mutex>& lock) {
    while (!stopping && inline_runs) {
      // Judged when taken, not when queued: the slot may have been queued again by a run or a synchronous
      // scrape since, and its last run may have been slow.
      auto next = std::find_if(queue.begin(), queue.end(), [this](Slot* slot) { return !KeepOffCaller(*slot); });
      if (next == queue.end()) break;
      Slot* slot = *next;
      auto start = Clock::now();
      RunQueued(self, lock, next);
      if (Clock::now() - start > stuck_after && inline_runs) {
        // The thread is an I/O thread: one slow run is one too many there.
        inline_runs = false;
        spdlog::warn("collector ran too long on the I/O thread collector={} err={}", slot->name,
                     LogQuote("collectors run on the worker pool from now on"));
      }
    }
    WakeWorkers(queue.size());  // what is left (inline runs were turned off) goes to the workers
  }

  // Takes the slot at `it` off the queue, runs it and hands its result to the scrapes waiting for it.
  // REQUIRES: lock held; it is released while the collector runs and while waiting scrapes are notified.
  void RunQueued(const std::shared_ptr<State>& self, std::unique_lock<std::mutex>& lock,
                 std::vector<Slot*>::iterator it) {
    Slot* slot = *it;
    queue.erase(it);
    slot->queued = false;
    slot->running = true;
    slot->run_missed_deadline = false;
    slot->started = Clock::now();
    uint64_t target = slot->requested;
    std::vector<MetricFamily> spare = std::move(slot->spare);
    lock.unlock();
    Outcome outcome = RunCollector(*slot, std::move(spare));
    lock.lock();
    slot->running = false;
    slot->fast = outcome.duration_seconds < std::chrono::duration<double>(inline_budget).count();
    auto previous = std::move(slot->last.families);
    slot->last = std::move(outcome);
    // No scrape can take `previous` any more; if none still holds it, its storage serves the next run.
    if (exposition::SoleOwner(previous)) slot->spare = std::move(*previous);
    slot->completed = target;
    ++(slot->last.success ? slot->runs_ok : slot->runs_failed);
    // Wake each scrape whose last missing run this was (one wake-up per scrape, not per collector).
    std::vector<std::shared_ptr<Waiter>> wake;
    std::vector<std::shared_ptr<Waiter>> finish;
    auto& waiters = slot->waiters;
    for (auto w = waiters.begin(); w != waiters.end();) {
      if (w->second > target) {
        ++w;
        continue;
      }
      if (--w->first->remaining == 0) (w->first->done ? finish : wake).push_back(w->first);
      w = waiters.erase(w);
    }
    if (!wake.empty() || !finish.empty()) {
      // Notified without the lock, so the scrape does not wake only to block on it.
      lock.unlock();
      for (const auto& waiter : wake) waiter->cv.notify_one();
      for (const auto& waiter : finish) Finish(self, waiter);
      lock.lock();
    }
    if (slot->requested > slot->completed && !slot->queued) {  // asked for again while it ran
      slot->queued = true;
      queue.push_back(slot);
    }
  }

  static Outcome RunCollector(Slot& slot, std::vector<MetricFamily> spare) {
    auto start = Clock::now();
    slot.collector->Recycle(std::move(spare));
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
      outcome.families = std::make_shared<std::vector<MetricFamily>>(std::move(*result));
    } else if (result.error().kind == ErrorKind::kNotFound) {
      // Like node_exporter's ErrNoData: an absent subsystem is expected on many hosts.
      spdlog::debug("collector found no data collector={} result=no_data err={}", slot.name,
                    LogQuote(result.error().message));
    } else if (result.error().message != slot.logged_error) {
      spdlog::warn("collector failed collector={} result=error err={}", slot.name, LogQuote(result.error().message));
      slot.logged_error = result.error().message;
    }
    if (result && !slot.logged_error.empty()) {
      spdlog::info("collector recovered collector={}", slot.name);
      slot.logged_error.clear();
    }
    if (!result) {
      // What a failed collector still has to say (e.g. nginx_up 0); success stays 0.
      std::vector<MetricFamily> kept;
      try {
        kept = slot.collector->TakeFamiliesOnError();
      } catch (...) {
        kept.clear();  // the run's error is what gets logged
      }
      if (!kept.empty() && exposition::FindInvalid(kept).empty()) {
        Canonicalize(kept);
        outcome.families = std::make_shared<std::vector<MetricFamily>>(std::move(kept));
      }
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

void CollectorSet::RunInline(bool enabled, Clock::duration budget) {
  std::lock_guard lock(state_->mu);
  state_->inline_runs = enabled;
  state_->inline_budget = budget;
}

std::vector<std::string> CollectorSet::Names() const {
  std::vector<std::string> names;
  for (const auto& slot : state_->slots) names.push_back(slot->name);
  return names;
}

CollectorSet::Scrape CollectorSet::State::BuildScrape(const std::shared_ptr<Waiter>& waiter,
                                                      std::vector<std::string>& late) {
  std::vector<MetricFamily> spare;
  if (exposition::SoleOwner(own_last)) spare = std::move(*own_last);
  FamilyWriter own(std::move(spare));
  size_t duration =
      own.Gauge("node_scrape_collector_duration_seconds", "node_exporter: Duration of a collector scrape.");
  size_t success = own.Gauge("node_scrape_collector_success", "node_exporter: Whether a collector succeeded.");
  Scrape scrape;
  double waited = std::chrono::duration<double>(Clock::now() - waiter->start).count();
  for (auto [slot, ticket] : waiter->tickets) {
    const FamilyWriter::Label labels[] = {{"collector", slot->name}};
    if (slot->completed < ticket) {
      // Late: stop waiting for it; the run goes on and serves a later scrape.
      ++slot->timeouts;
      if (slot->running) slot->run_missed_deadline = true;
      std::erase_if(slot->waiters, [&](const auto& w) { return w.first == waiter; });
      late.push_back(slot->name);
      own.Sample(duration, waited, labels);
      own.Sample(success, 0, labels);
      continue;
    }
    own.Sample(duration, slot->last.duration_seconds, labels);
    own.Sample(success, slot->last.success ? 1 : 0, labels);
    if (slot->last.families) scrape.parts.push_back(slot->last.families);  // a failed run's kept families too
  }
  own_last = std::make_shared<std::vector<MetricFamily>>(std::move(own).Finish());
  Canonicalize(*own_last);
  scrape.parts.push_back(own_last);
  return scrape;
}

static void LogLate(const std::vector<std::string>& late) {
  for (const auto& name : late) {
    spdlog::warn("collector failed collector={} result=timeout err={}", name,
                 LogQuote("collector did not finish before the scrape deadline; reporting success 0"));
  }
}

void CollectorSet::State::Finish(const std::shared_ptr<State>& self, const std::shared_ptr<Waiter>& waiter) {
  std::vector<std::string> late;
  Scrape scrape;
  {
    std::lock_guard lock(self->mu);
    if (waiter->finished) return;
    waiter->finished = true;
    scrape = self->BuildScrape(waiter, late);
  }
  LogLate(late);
  auto done = std::move(waiter->done);
  done(std::move(scrape));
}

CollectorSet::Scrape CollectorSet::Collect(Clock::time_point deadline, const std::set<std::string>* only) const {
  State& st = *state_;
  auto waiter = std::make_shared<Waiter>();
  waiter->start = Clock::now();
  std::unique_lock lock(st.mu);
  size_t queued = st.Register(waiter, only);
  st.SpawnWorkersIfNeeded(state_, waiter->start);
  st.WakeWorkers(queued);
  // Wake every stuck_after to give a collector that got stuck during this scrape a thread of its own, so
  // the collectors queued behind it still make the deadline.
  while (waiter->remaining > 0) {
    auto now = Clock::now();
    if (now >= deadline) break;
    waiter->cv.wait_until(lock, std::min(deadline, now + st.stuck_after), [&] { return waiter->remaining == 0; });
    st.SpawnWorkersIfNeeded(state_, Clock::now());
  }
  std::vector<std::string> late;
  Scrape scrape = st.BuildScrape(waiter, late);
  lock.unlock();
  LogLate(late);
  return scrape;
}

void CollectorSet::CollectAsync(Clock::time_point deadline, const std::set<std::string>* only, const Schedule& schedule,
                                std::function<void(Scrape)> done) const {
  auto waiter = std::make_shared<Waiter>();
  waiter->start = Clock::now();
  waiter->done = std::move(done);
  bool ready = false;
  bool run_inline = false;
  {
    std::lock_guard lock(state_->mu);
    size_t queued = state_->Register(waiter, only);
    state_->SpawnWorkersIfNeeded(state_, waiter->start);
    run_inline = state_->inline_runs;
    if (run_inline) {
      // Only the collectors that may block need a worker; this thread runs the others below.
      size_t blocking = 0;
      for (Slot* slot : state_->queue) blocking += state_->KeepOffCaller(*slot) ? 1 : 0;
      queued = std::min(queued, blocking);
    }
    state_->WakeWorkers(queued);
    ready = waiter->remaining == 0;
  }
  if (ready) return State::Finish(state_, waiter);  // nothing to wait for (all stuck, or none selected)
  schedule(std::min(deadline, waiter->start + state_->stuck_after),
           [state = state_, waiter, deadline, schedule] { State::Watch(state, waiter, deadline, schedule); });
  if (run_inline) {
    std::unique_lock lock(state_->mu);
    state_->RunInline(state_, lock);
  }
}

std::vector<const MetricFamily*> CollectorSet::Scrape::Ordered() const {
  std::vector<const MetricFamily*> out;
  for (const auto& part : parts) {
    for (const auto& family : *part) {
      if (!family.metric.empty()) out.push_back(&family);  // an empty family is not exposed
    }
  }
  // Names are unique across collectors, so an unstable sort (which needs no buffer) gives one order.
  std::sort(out.begin(), out.end(), [](const MetricFamily* a, const MetricFamily* b) { return a->name < b->name; });
  return out;
}

void CollectorSet::SelfMetrics(FamilyWriter& out) const {
  size_t runs =
      out.Counter("topdog_exporter_collector_runs_total", "Finished collector runs, by collector and result.");
  size_t timeouts = out.Counter("topdog_exporter_collector_timeouts_total",
                                "Collector runs that missed the scrape deadline, by collector.");
  size_t workers = out.Gauge("topdog_exporter_collector_workers", "Threads in the collector pool.");
  size_t inline_runs = out.Gauge("topdog_exporter_collector_inline_runs",
                                 "1 while quick collectors may run on the HTTP I/O thread; 0 when off or turned off "
                                 "after a slow run there.");
  size_t requests =
      out.Counter("topdog_exporter_collector_requests_total",
                  "Collector results asked for by scrapes, by collector (runs are shared between scrapes).");
  std::lock_guard lock(state_->mu);
  for (const auto& slot : state_->slots) {
    out.Sample(requests, static_cast<double>(slot->requested), {{"collector", slot->name}});
    out.Sample(timeouts, static_cast<double>(slot->timeouts), {{"collector", slot->name}});
    out.Sample(runs, static_cast<double>(slot->runs_failed), {{"collector", slot->name}, {"result", "error"}});
    out.Sample(runs, static_cast<double>(slot->runs_ok), {{"collector", slot->name}, {"result", "success"}});
  }
  out.Sample(workers, state_->workers);
  out.Sample(inline_runs, state_->inline_runs ? 1 : 0);
}

}  // namespace topdog::exporter
