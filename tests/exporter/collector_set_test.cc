#include "exporter/collector_set.h"

#include <atomic>
#include <future>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/exposition/family_writer.h"

namespace topdog::exporter {
namespace {

using namespace std::chrono_literals;

class ValueCollector : public Collector {
 public:
  ValueCollector(std::string name, double value) : name_(std::move(name)), value_(value) {}
  std::string_view Name() const override { return name_; }
  Result<std::vector<MetricFamily>> Collect() override {
    ++runs;
    FamilyWriter out;
    out.Single("test_" + name_, "A test value.", prometheus::MetricType::Gauge, value_);
    return std::move(out).Finish();
  }
  std::atomic<int> runs{0};

 private:
  std::string name_;
  double value_;
};

class FailingCollector : public Collector {
 public:
  std::string_view Name() const override { return "failing"; }
  Result<std::vector<MetricFamily>> Collect() override {
    return MakeError(ErrorKind::kBadData, "/proc/stat line 3: field 2 is not a number");
  }
};

// Blocks in Collect until released, like statfs on a hung NFS mount.
class HangingCollector : public Collector {
 public:
  std::string_view Name() const override { return "hanging"; }
  Result<std::vector<MetricFamily>> Collect() override {
    ++runs;
    entered.count_down();
    release.wait();
    FamilyWriter out;
    out.Single("test_hanging", "Late value.", prometheus::MetricType::Gauge, 1);
    return std::move(out).Finish();
  }
  std::atomic<int> runs{0};
  std::latch entered{1};
  std::latch release{1};
};

// Writes over what CollectorSet recycles and records where its family name was stored each run.
class RecyclingCollector : public Collector {
 public:
  std::string_view Name() const override { return "recycling"; }
  Result<std::vector<MetricFamily>> Collect() override {
    FamilyWriter out = NewWriter();
    out.Single("test_recycled_family_with_a_long_name", "A run counter.", prometheus::MetricType::Gauge, ++runs);
    auto families = std::move(out).Finish();
    storage.push_back(families[0].name.data());
    return families;
  }
  int runs = 0;
  std::vector<const char*> storage;  // read after the scrapes, from the test thread
};

// Sample values by "family{collector=...}" for easy assertions.
std::map<std::string, double> Flatten(const CollectorSet::Scrape& scrape) {
  std::map<std::string, double> out;
  for (const MetricFamily* family : scrape.Ordered()) {
    for (const auto& metric : family->metric) {
      std::string key = family->name;
      for (const auto& label : metric.label) key += "{" + label.name + "=" + label.value + "}";
      out[key] = family->type == prometheus::MetricType::Gauge ? metric.gauge.value : metric.counter.value;
    }
  }
  return out;
}

// One sample of the set's own metrics, keyed like Flatten ("name{label=value}...").
double SelfValue(const CollectorSet& set, const std::string& key) {
  for (const auto& family : set.SelfMetrics()) {
    for (const auto& metric : family.metric) {
      std::string k = family.name;
      for (const auto& label : metric.label) k += "{" + label.name + "=" + label.value + "}";
      if (k == key) return family.type == prometheus::MetricType::Gauge ? metric.gauge.value : metric.counter.value;
    }
  }
  return -1;
}

TEST(CollectorSetTest, ReportsSuccessPerCollectorAndKeepsOthersWhenOneFails) {
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<ValueCollector>("a", 7));
  collectors.push_back(std::make_unique<FailingCollector>());
  CollectorSet set(std::move(collectors));
  auto values = Flatten(set.Collect(CollectorSet::Clock::now() + 10s));
  EXPECT_EQ(values["test_a"], 7);
  EXPECT_EQ(values["node_scrape_collector_success{collector=a}"], 1);
  EXPECT_EQ(values["node_scrape_collector_success{collector=failing}"], 0);
  EXPECT_EQ(values.count("node_scrape_collector_duration_seconds{collector=failing}"), 1u);
}

TEST(CollectorSetTest, ARunWritesOverTheResultNoScrapeHoldsAnyMore) {
  auto owned = std::make_unique<RecyclingCollector>();
  RecyclingCollector* collector = owned.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(owned));
  CollectorSet set(std::move(collectors));
  const std::string key = "test_recycled_family_with_a_long_name";
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(Flatten(set.Collect(CollectorSet::Clock::now() + 10s))[key], i);
  // Run 3 wrote over run 1's storage, which run 2 had replaced while no scrape held it.
  ASSERT_EQ(collector->storage.size(), 3u);
  EXPECT_EQ(collector->storage[2], collector->storage[0]);
  EXPECT_NE(collector->storage[1], collector->storage[0]);

  // A scrape that still holds its families keeps them as they were.
  CollectorSet::Scrape held = set.Collect(CollectorSet::Clock::now() + 10s);  // run 4
  EXPECT_EQ(Flatten(set.Collect(CollectorSet::Clock::now() + 10s))[key], 5);
  EXPECT_EQ(Flatten(set.Collect(CollectorSet::Clock::now() + 10s))[key], 6);
  EXPECT_EQ(Flatten(held)[key], 4);
  ASSERT_EQ(collector->storage.size(), 6u);
  EXPECT_NE(collector->storage[5], collector->storage[3]);  // run 6 could not take run 4's storage
}

TEST(CollectorSetTest, HungCollectorMissesDeadlineWithoutBlockingTheScrapeOrStartingASecondRun) {
  auto hanging = std::make_unique<HangingCollector>();
  HangingCollector* hang = hanging.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<ValueCollector>("a", 1));
  collectors.push_back(std::move(hanging));
  CollectorSet set(std::move(collectors));

  auto first = Flatten(set.Collect(CollectorSet::Clock::now() + 50ms));
  EXPECT_EQ(first["node_scrape_collector_success{collector=hanging}"], 0);
  EXPECT_EQ(first["node_scrape_collector_success{collector=a}"], 1);
  EXPECT_EQ(first.count("test_hanging"), 0u);

  hang->entered.wait();
  // The run already missed a deadline, so this scrape must not wait for it at all: with an hour's deadline
  // a wait would hang the test (ctest's timeout fails it).
  auto second = Flatten(set.Collect(CollectorSet::Clock::now() + 1h));
  EXPECT_EQ(second["node_scrape_collector_success{collector=hanging}"], 0);
  EXPECT_EQ(second["node_scrape_collector_success{collector=a}"], 1);
  EXPECT_EQ(hang->runs.load(), 1) << "a hung collector must not be started again while it runs";

  EXPECT_EQ(SelfValue(set, "topdog_exporter_collector_timeouts_total{collector=hanging}"), 2);
  EXPECT_EQ(SelfValue(set, "topdog_exporter_collector_timeouts_total{collector=a}"), 0);

  hang->release.count_down();
  // Once the released run has been recorded, a fresh run serves the next scrape.
  while (SelfValue(set, "topdog_exporter_collector_runs_total{collector=hanging}{result=success}") < 1) {
    std::this_thread::yield();
  }
  auto third = Flatten(set.Collect(CollectorSet::Clock::now() + 10s));
  EXPECT_EQ(third["node_scrape_collector_success{collector=hanging}"], 1);
  EXPECT_EQ(third["test_hanging"], 1);
}

TEST(CollectorSetTest, CollectorQueuedBehindAStuckOneStillMakesTheDeadline) {
  auto hanging = std::make_unique<HangingCollector>();
  HangingCollector* hang = hanging.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(hanging));  // first in the queue, taken by the only base worker
  collectors.push_back(std::make_unique<ValueCollector>("a", 4));
  CollectorSet set(std::move(collectors), /*base_workers=*/1, /*stuck_after=*/std::chrono::milliseconds(10));
  auto values = Flatten(set.Collect(CollectorSet::Clock::now() + 1s));
  EXPECT_EQ(values["node_scrape_collector_success{collector=hanging}"], 0);
  EXPECT_EQ(values["node_scrape_collector_success{collector=a}"], 1);
  EXPECT_EQ(values["test_a"], 4);
  hang->release.count_down();
}

// A Schedule whose calls the test runs by hand, in time order, standing in for the server's timers.
class ManualSchedule {
 public:
  CollectorSet::Schedule schedule() {
    return [this](CollectorSet::Clock::time_point when, std::function<void()> fn) {
      std::lock_guard lock(mu_);
      pending_.emplace(when, std::move(fn));
    };
  }
  // Runs the earliest pending call; false when there is none.
  bool RunNext() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return false;
      fn = std::move(pending_.begin()->second);
      pending_.erase(pending_.begin());
    }
    fn();
    return true;
  }
  size_t Pending() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

 private:
  std::mutex mu_;
  std::multimap<CollectorSet::Clock::time_point, std::function<void()>> pending_;
};

TEST(CollectorSetTest, AsyncScrapeIsDeliveredOnceByTheWorkerThatFinishesLast) {
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<ValueCollector>("a", 1));
  collectors.push_back(std::make_unique<ValueCollector>("b", 2));
  CollectorSet set(std::move(collectors));
  ManualSchedule timers;
  std::promise<std::pair<std::map<std::string, double>, std::thread::id>> delivered;
  std::atomic<int> calls{0};
  set.CollectAsync(CollectorSet::Clock::now() + 1h, nullptr, timers.schedule(), [&](CollectorSet::Scrape scrape) {
    if (++calls == 1) delivered.set_value({Flatten(scrape), std::this_thread::get_id()});
  });
  auto future = delivered.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready);
  auto [values, thread] = future.get();
  EXPECT_NE(thread, std::this_thread::get_id());
  EXPECT_EQ(values["test_a"], 1);
  EXPECT_EQ(values["test_b"], 2);
  EXPECT_EQ(values["node_scrape_collector_success{collector=b}"], 1);
  // The deadline and stuck-check callbacks find the scrape done: nothing is delivered twice.
  while (timers.RunNext()) {
  }
  EXPECT_EQ(calls.load(), 1);
}

// Records the threads it ran on; `may_block` is what it answers to MayBlock; run number `slow_run` (from 1)
// takes `slow_for`.
class ThreadRecordingCollector : public Collector {
 public:
  ThreadRecordingCollector(std::string name, bool may_block, size_t slow_run = 0,
                           std::chrono::milliseconds slow_for = 0ms)
      : name_(std::move(name)), may_block_(may_block), slow_run_(slow_run), slow_for_(slow_for) {}
  std::string_view Name() const override { return name_; }
  bool MayBlock() override { return may_block_; }
  Result<std::vector<MetricFamily>> Collect() override {
    std::lock_guard lock(mu_);
    // Simulates a slow read (the behaviour under test), not a wait for another thread.
    if (threads_.size() + 1 == slow_run_) std::this_thread::sleep_for(slow_for_);
    threads_.push_back(std::this_thread::get_id());
    FamilyWriter out;
    out.Single("test_" + name_, "A test value.", prometheus::MetricType::Gauge, static_cast<double>(threads_.size()));
    return std::move(out).Finish();
  }
  std::vector<std::thread::id> Threads() {
    std::lock_guard lock(mu_);
    return threads_;
  }

 private:
  std::string name_;
  bool may_block_;
  size_t slow_run_;
  std::chrono::milliseconds slow_for_;
  std::mutex mu_;
  std::vector<std::thread::id> threads_;
};

// One asynchronous scrape, waited for; returns its values.
std::map<std::string, double> ScrapeAsync(CollectorSet& set, ManualSchedule& timers,
                                          const std::set<std::string>* only = nullptr) {
  auto delivered = std::make_shared<std::promise<std::map<std::string, double>>>();
  auto calls = std::make_shared<std::atomic<int>>(0);
  set.CollectAsync(CollectorSet::Clock::now() + 1h, only, timers.schedule(), [=](CollectorSet::Scrape scrape) {
    if (++*calls == 1) delivered->set_value(Flatten(scrape));
  });
  auto future = delivered->get_future();
  if (future.wait_for(10s) != std::future_status::ready) {
    ADD_FAILURE() << "the scrape was not delivered";
    return {};
  }
  return future.get();
}

TEST(CollectorSetTest, InlineRunsPutQuickCollectorsThatCannotBlockOnTheCallingThreadAndTheOthersOnAWorker) {
  auto quick = std::make_unique<ThreadRecordingCollector>("quick", false);
  auto remote = std::make_unique<ThreadRecordingCollector>("remote", true);
  ThreadRecordingCollector* quick_ptr = quick.get();
  ThreadRecordingCollector* remote_ptr = remote.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(quick));
  collectors.push_back(std::move(remote));
  CollectorSet set(std::move(collectors));
  set.RunInline(true, /*budget=*/1h);  // "quick" whatever the machine's load
  ManualSchedule timers;
  const auto self = std::this_thread::get_id();
  // First runs: on workers, whatever the collector says.
  auto first = ScrapeAsync(set, timers);
  EXPECT_EQ(first["node_scrape_collector_success{collector=quick}"], 1);
  EXPECT_EQ(first["node_scrape_collector_success{collector=remote}"], 1);
  ASSERT_EQ(quick_ptr->Threads().size(), 1u);
  EXPECT_NE(quick_ptr->Threads()[0], self);
  // Then a collector that cannot block and was quick runs here; one that may block runs on a worker.
  auto second = ScrapeAsync(set, timers);
  EXPECT_EQ(second["node_scrape_collector_success{collector=remote}"], 1);
  auto remote_threads = remote_ptr->Threads();
  ASSERT_EQ(remote_threads.size(), 2u);
  EXPECT_NE(remote_threads[1], self);

  // Nothing that may block: the scrape is complete when CollectAsync returns, answered from this thread.
  std::optional<std::thread::id> answered_on;
  const std::set<std::string> only_quick{"quick"};
  set.CollectAsync(CollectorSet::Clock::now() + 1h, &only_quick, timers.schedule(),
                   [&](CollectorSet::Scrape) { answered_on = std::this_thread::get_id(); });
  ASSERT_TRUE(answered_on.has_value());
  EXPECT_EQ(*answered_on, self);
  auto quick_threads = quick_ptr->Threads();
  ASSERT_EQ(quick_threads.size(), 3u);
  EXPECT_EQ(quick_threads[2], self);
}

TEST(CollectorSetTest, ASlowInlineRunTurnsInlineRunsOff) {
  // "slow" is quick on its first run (a worker), then slower than stuck_after on its second (inline).
  auto slow = std::make_unique<ThreadRecordingCollector>("slow", false, 2, 60ms);
  auto quick = std::make_unique<ThreadRecordingCollector>("quick", false);
  ThreadRecordingCollector* slow_ptr = slow.get();
  ThreadRecordingCollector* quick_ptr = quick.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(slow));
  collectors.push_back(std::move(quick));
  CollectorSet set(std::move(collectors), /*base_workers=*/1, /*stuck_after=*/20ms);
  set.RunInline(true, /*budget=*/1h);  // the 60 ms run still counts as quick: only stuck_after stops it
  EXPECT_EQ(SelfValue(set, "topdog_exporter_collector_inline_runs"), 1);
  ManualSchedule timers;
  const auto self = std::this_thread::get_id();
  for (int i = 0; i < 3; ++i) ScrapeAsync(set, timers);
  auto slow_threads = slow_ptr->Threads();
  auto quick_threads = quick_ptr->Threads();
  ASSERT_EQ(slow_threads.size(), 3u);
  ASSERT_EQ(quick_threads.size(), 3u);
  EXPECT_EQ(slow_threads[1], self);   // the slow run, inline
  EXPECT_NE(quick_threads[2], self);  // after it, even quick collectors run on a worker
  EXPECT_NE(slow_threads[2], self);
  EXPECT_EQ(SelfValue(set, "topdog_exporter_collector_inline_runs"), 0);
}

TEST(CollectorSetTest, AsyncScrapeDeadlineReportsTheHungCollectorAndTheStuckCheckFreesTheQueue) {
  auto hanging = std::make_unique<HangingCollector>();
  HangingCollector* hang = hanging.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(hanging));  // taken first by the only base worker
  collectors.push_back(std::make_unique<ValueCollector>("a", 4));
  CollectorSet set(std::move(collectors), /*base_workers=*/1, /*stuck_after=*/std::chrono::milliseconds(1));
  ManualSchedule timers;
  std::optional<std::map<std::string, double>> values;
  std::mutex mu;
  // A deadline close enough for the checks, run back to back, to reach it.
  set.CollectAsync(CollectorSet::Clock::now() + 200ms, nullptr, timers.schedule(), [&](CollectorSet::Scrape scrape) {
    std::lock_guard lock(mu);
    values = Flatten(scrape);
  });
  hang->entered.wait();
  ASSERT_EQ(timers.Pending(), 1u);  // one timer at a time: the first stuck check
  // The stuck check (earlier than the deadline) runs once the hung run is older than stuck_after: it adds a
  // worker, which runs "a"; the scrape then still waits for the hung collector.
  while (SelfValue(set, "topdog_exporter_collector_runs_total{collector=a}{result=success}") < 1) {
    // Re-armed each time while the scrape is pending.
    ASSERT_TRUE(timers.RunNext()) << "deadline reached before the stuck check freed the queue";
    std::this_thread::yield();
  }
  {
    std::lock_guard lock(mu);
    EXPECT_FALSE(values) << "delivered before the hung collector finished or the deadline";
  }
  // Each check re-arms until the deadline, when the scrape goes out without the hung collector.
  while (true) {
    {
      std::lock_guard lock(mu);
      if (values) break;
    }
    ASSERT_TRUE(timers.RunNext()) << "no check pending before the scrape was delivered";
  }
  std::lock_guard lock(mu);
  EXPECT_EQ((*values)["node_scrape_collector_success{collector=hanging}"], 0);
  EXPECT_EQ((*values)["node_scrape_collector_success{collector=a}"], 1);
  EXPECT_EQ((*values)["test_a"], 4);
  EXPECT_EQ(SelfValue(set, "topdog_exporter_collector_timeouts_total{collector=hanging}"), 1);
  hang->release.count_down();
}

TEST(CollectorSetTest, AsyncScrapeWithNothingToWaitForIsDeliveredAtOnce) {
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<ValueCollector>("a", 1));
  CollectorSet set(std::move(collectors));
  ManualSchedule timers;
  std::set<std::string> none;
  std::optional<std::map<std::string, double>> values;
  set.CollectAsync(CollectorSet::Clock::now() + 1h, &none, timers.schedule(),
                   [&](CollectorSet::Scrape scrape) { values = Flatten(scrape); });
  ASSERT_TRUE(values);  // on this thread, before CollectAsync returned
  EXPECT_EQ(values->count("test_a"), 0u);
  EXPECT_EQ(timers.Pending(), 0u);
}

TEST(CollectorSetTest, InvalidUtf8LabelValueFailsOnlyThatCollector) {
  class BadBytes : public Collector {
   public:
    std::string_view Name() const override { return "badbytes"; }
    Result<std::vector<MetricFamily>> Collect() override {
      FamilyWriter out;
      size_t f = out.Gauge("node_filesystem_size_bytes", "Filesystem size in bytes.");
      out.Sample(f, 1, {{"mountpoint", "/mnt/caf\xe9"}});  // Latin-1 byte from a mount table
      return std::move(out).Finish();
    }
  };
  class Throws : public Collector {
   public:
    std::string_view Name() const override { return "throws"; }
    Result<std::vector<MetricFamily>> Collect() override { throw std::bad_alloc(); }
  };
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<BadBytes>());
  collectors.push_back(std::make_unique<Throws>());
  collectors.push_back(std::make_unique<ValueCollector>("a", 1));
  CollectorSet set(std::move(collectors));
  auto values = Flatten(set.Collect(CollectorSet::Clock::now() + 10s));
  EXPECT_EQ(values["node_scrape_collector_success{collector=badbytes}"], 0);
  EXPECT_EQ(values.count("node_filesystem_size_bytes{mountpoint=/mnt/caf\xe9}"), 0u);
  EXPECT_EQ(values["node_scrape_collector_success{collector=throws}"], 0);
  EXPECT_EQ(values["node_scrape_collector_success{collector=a}"], 1);
}

TEST(CollectorSetTest, FiltersByCollectorName) {
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<ValueCollector>("a", 1));
  collectors.push_back(std::make_unique<ValueCollector>("b", 2));
  CollectorSet set(std::move(collectors));
  std::set<std::string> only{"b"};
  auto values = Flatten(set.Collect(CollectorSet::Clock::now() + 10s, &only));
  EXPECT_EQ(values.count("test_a"), 0u);
  EXPECT_EQ(values["test_b"], 2);
  EXPECT_EQ(values.count("node_scrape_collector_success{collector=a}"), 0u);
}

TEST(CollectorSetTest, OrdersFamiliesByNameAndSamplesByLabelValues) {
  class Unordered : public Collector {
   public:
    std::string_view Name() const override { return "unordered"; }
    Result<std::vector<MetricFamily>> Collect() override {
      FamilyWriter out;
      size_t f = out.Gauge("zz_family", "z");
      out.Sample(f, 2, {{"mode", "b"}, {"cpu", "1"}});
      out.Sample(f, 1, {{"mode", "a"}, {"cpu", "1"}});
      out.Sample(f, 0, {{"mode", "z"}, {"cpu", "0"}});
      out.Single("aa_family", "a", prometheus::MetricType::Gauge, 5);
      return std::move(out).Finish();
    }
  };
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::make_unique<Unordered>());
  CollectorSet set(std::move(collectors));
  auto scrape = set.Collect(CollectorSet::Clock::now() + 10s);
  auto ordered = scrape.Ordered();
  ASSERT_EQ(ordered.front()->name, "aa_family");
  const MetricFamily* zz = ordered.back();
  ASSERT_EQ(zz->name, "zz_family");
  ASSERT_EQ(zz->metric.size(), 3u);
  EXPECT_EQ(zz->metric[0].label[0].name, "cpu");
  EXPECT_EQ(zz->metric[0].label[0].value, "0");
  EXPECT_EQ(zz->metric[1].label[1].value, "a");
  EXPECT_EQ(zz->metric[2].label[1].value, "b");
}

TEST(CollectorSetTest, ScrapesArrivingDuringARunShareTheNextRun) {
  auto hanging = std::make_unique<HangingCollector>();
  HangingCollector* hang = hanging.get();
  std::vector<std::unique_ptr<Collector>> collectors;
  collectors.push_back(std::move(hanging));
  CollectorSet set(std::move(collectors));
  // Scrape 0 starts run 1 and blocks in it; scrapes 1..7 arrive while it runs and must all be served by a
  // single run 2 (fresh data, one collection), not by run 1 and not by seven runs.
  auto first = std::async(std::launch::async, [&] { return Flatten(set.Collect(CollectorSet::Clock::now() + 1h)); });
  hang->entered.wait();
  std::vector<std::future<std::map<std::string, double>>> later;
  for (int i = 0; i < 7; ++i) {
    later.push_back(std::async(std::launch::async, [&] { return Flatten(set.Collect(CollectorSet::Clock::now() + 1h)); }));
  }
  // Every later scrape holds a ticket before run 1 ends: wait until the set shows 8 requests.
  while (SelfValue(set, "topdog_exporter_collector_requests_total{collector=hanging}") < 8) std::this_thread::yield();
  hang->release.count_down();
  EXPECT_EQ(first.get()["test_hanging"], 1);
  for (auto& s : later) EXPECT_EQ(s.get()["node_scrape_collector_success{collector=hanging}"], 1);
  EXPECT_EQ(hang->runs.load(), 2);
}

}  // namespace
}  // namespace topdog::exporter
