#include "exporter/collectors/statfs_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

#include "common/logging.h"

namespace topdog::exporter {

struct StatfsPool::Task {
  enum class Status { kQueued, kRunning, kDone, kTimedOut, kCancelled };

  explicit Task(const Request& request) : mount_point(request.mount_point), path(request.path) {}

  const std::string mount_point;
  const std::string path;
  // Guarded by State::mu.
  Status status = Status::kQueued;
  Clock::time_point started;
  size_t worker = 0;  // which worker runs it, once kRunning
  std::optional<Result<StatfsInfo>> result;
};

struct StatfsPool::State {
  mutable std::mutex mu;
  std::condition_variable work_cv;  // workers wait here for tasks or stopping
  std::condition_variable done_cv;  // StatAll and WaitForBlockedCalls wait here for starts and completions
  std::deque<std::shared_ptr<Task>> queue;
  std::set<std::string> stuck;     // mount points whose timed-out statfs has not returned yet
  std::vector<bool> in_timed_out;  // per worker: blocked in a call nobody waits for any more
  size_t blocked = 0;              // count of true in_timed_out
  bool stopping = false;
};

StatfsPool::StatfsPool(const System& system, int workers, std::chrono::milliseconds timeout)
    : system_(system),
      worker_count_(static_cast<size_t>(std::max(workers, 1))),
      timeout_(timeout),
      state_(std::make_shared<State>()) {
  state_->in_timed_out.assign(worker_count_, false);
}

void StatfsPool::StartWorkers() {
  if (!workers_.empty()) return;
  workers_.reserve(worker_count_);
  for (size_t i = 0; i < worker_count_; ++i) workers_.emplace_back(WorkerLoop, state_, std::cref(system_), i);
}

StatfsPool::~StatfsPool() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
  }
  state_->work_cv.notify_all();
  // Give a call that just got unblocked a moment to return, so its worker can be joined.
  WaitForBlockedCalls(Clock::now() + std::max<Clock::duration>(timeout_, std::chrono::seconds(1)));
  std::vector<bool> blocked;
  {
    std::lock_guard lock(state_->mu);
    blocked = state_->in_timed_out;
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    // An idle worker sees `stopping` and exits at once; a blocked one may never return (hung NFS).
    if (blocked[i]) {
      workers_[i].detach();
    } else {
      workers_[i].join();
    }
  }
}

void StatfsPool::WorkerLoop(std::shared_ptr<State> state, const System& system, size_t worker_index) {
  std::unique_lock lock(state->mu);
  while (true) {
    state->work_cv.wait(lock, [&] { return state->stopping || !state->queue.empty(); });
    if (state->stopping) return;
    std::shared_ptr<Task> task = std::move(state->queue.front());
    state->queue.pop_front();
    if (task->status == Task::Status::kCancelled) continue;
    task->status = Task::Status::kRunning;
    task->started = Clock::now();
    task->worker = worker_index;
    lock.unlock();

    Result<StatfsInfo> result = system.Statfs(task->path);

    lock.lock();
    if (task->status == Task::Status::kTimedOut) {
      // Nobody waits for this answer any more; the mount is responsive again, so the next scrape tries it.
      state->stuck.erase(task->mount_point);
      state->in_timed_out[worker_index] = false;
      --state->blocked;
      spdlog::info("mount point has recovered, monitoring will resume collector=filesystem mountpoint={}",
                   LogQuote(task->mount_point));
    } else {
      task->result = std::move(result);
      task->status = Task::Status::kDone;
    }
    state->done_cv.notify_all();
  }
}

std::vector<Result<StatfsInfo>> StatfsPool::StatAll(const std::vector<Request>& requests) {
  auto timeout_error = [](const std::string& mount_point, std::string_view why) {
    return Result<StatfsInfo>(
        MakeError(ErrorKind::kDeadlineExceeded, "statfs " + mount_point + ": " + std::string(why)));
  };

  std::vector<Result<StatfsInfo>> results;
  results.reserve(requests.size());
  std::vector<std::shared_ptr<Task>> tasks(requests.size());
  std::vector<std::optional<Result<StatfsInfo>>> inline_results(requests.size());
  std::vector<std::string> newly_stuck;
  if (std::any_of(requests.begin(), requests.end(), [](const Request& r) { return r.may_block; })) StartWorkers();
  {
    std::unique_lock lock(state_->mu);
    size_t queued = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!requests[i].may_block || state_->stuck.count(requests[i].mount_point) != 0) continue;
      tasks[i] = std::make_shared<Task>(requests[i]);
      state_->queue.push_back(tasks[i]);
      ++queued;
    }
    // One wake-up per task, not a thundering herd: a scrape usually stats a handful of mounts.
    for (size_t i = 0; i < std::min(queued, workers_.size()); ++i) state_->work_cv.notify_one();

    lock.unlock();
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!requests[i].may_block) inline_results[i] = system_.Statfs(requests[i].path);
    }
    lock.lock();

    while (true) {
      const Clock::time_point now = Clock::now();
      std::optional<Clock::time_point> next_deadline;
      bool pending = false;
      for (const auto& task : tasks) {
        if (!task) continue;
        switch (task->status) {
          case Task::Status::kRunning:
            if (now >= task->started + timeout_) {
              task->status = Task::Status::kTimedOut;
              state_->stuck.insert(task->mount_point);
              newly_stuck.push_back(task->mount_point);
              // Its worker stays blocked until the call returns; queued tasks need another worker.
              state_->in_timed_out[task->worker] = true;
              ++state_->blocked;
            } else {
              pending = true;
              Clock::time_point deadline = task->started + timeout_;
              if (!next_deadline || deadline < *next_deadline) next_deadline = deadline;
            }
            break;
          case Task::Status::kQueued:
            if (state_->blocked >= state_->in_timed_out.size()) {
              task->status = Task::Status::kCancelled;
            } else {
              // Workers don't announce starts (that would cost a wake-up per task): look again after one
              // timeout at the latest, by when a started task has either finished or timed out.
              pending = true;
              Clock::time_point recheck = now + timeout_;
              if (!next_deadline || recheck < *next_deadline) next_deadline = recheck;
            }
            break;
          default:
            break;
        }
      }
      if (!pending) break;
      if (next_deadline) {
        state_->done_cv.wait_until(lock, *next_deadline);
      } else {
        state_->done_cv.wait(lock);
      }
    }
    // Cancelled tasks would otherwise pile up in the queue while every worker is blocked.
    std::erase_if(state_->queue, [](const auto& task) { return task->status == Task::Status::kCancelled; });

    for (size_t i = 0; i < requests.size(); ++i) {
      const auto& task = tasks[i];
      if (inline_results[i]) {
        results.push_back(std::move(*inline_results[i]));
      } else if (!task) {
        results.push_back(timeout_error(requests[i].mount_point, "mount point is unresponsive (stuck)"));
      } else if (task->status == Task::Status::kDone) {
        results.push_back(std::move(*task->result));
      } else if (task->status == Task::Status::kTimedOut) {
        results.push_back(timeout_error(requests[i].mount_point, "timed out"));
      } else {
        results.push_back(timeout_error(requests[i].mount_point, "every statfs worker is blocked"));
      }
    }
  }
  for (const std::string& mount_point : newly_stuck) {
    spdlog::warn(
        "mount point timed out, it is labeled as stuck and not monitored until its statfs returns "
        "collector=filesystem mountpoint={} timeout={}ms",
        LogQuote(mount_point), timeout_.count());
  }
  return results;
}

bool StatfsPool::IsStuck(const std::string& mount_point) const {
  std::lock_guard lock(state_->mu);
  return state_->stuck.count(mount_point) != 0;
}

bool StatfsPool::WaitForBlockedCalls(Clock::time_point deadline) {
  std::unique_lock lock(state_->mu);
  return state_->done_cv.wait_until(lock, deadline, [&] { return state_->blocked == 0; });
}

}  // namespace topdog::exporter
