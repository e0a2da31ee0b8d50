// StatfsPool: System::Statfs on a small fixed set of worker threads (started when first needed), so a hung mount (dead NFS server, stuck
// FUSE daemon) costs a scrape at most the mount timeout and never an extra thread. A call that times out
// marks its mount point stuck: it is not tried again until that call returns (node_exporter's stuckMounts).
// Thread-compatible: StatAll is called from one thread at a time (the owning collector).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "exporter/io/system.h"

namespace topdog::exporter {

class StatfsPool {
 public:
  using Clock = std::chrono::steady_clock;

  struct Request {
    std::string mount_point;  // identifies the mount for the stuck set and the logs
    std::string path;         // what to statfs (the mount point below --path.rootfs)
    // false: the caller runs statfs itself, without a thread hand-off and without the timeout (for file
    // systems whose statfs only reads in-memory counters; see the filesystem collector).
    bool may_block = true;
  };

  // REQUIRES: `system` outlives the pool and any worker it leaves blocked (see ~StatfsPool).
  StatfsPool(const System& system, int workers, std::chrono::milliseconds timeout);
  // Joins the workers. One still blocked in a timed-out statfs is given up to max(timeout, 1 s) to return,
  // then detached: it keeps only the shared state alive and exits when the call finally returns.
  ~StatfsPool();
  StatfsPool(const StatfsPool&) = delete;
  StatfsPool& operator=(const StatfsPool&) = delete;

  // One result per request, in order. Each call may run up to the timeout from when a worker starts it;
  // requests that cannot block run on the calling thread while the workers handle the others.
  // Errors are statfs's own, or kDeadlineExceeded when the call timed out (the mount point becomes stuck,
  // with one warning log line), the mount point is still stuck from an earlier scrape, or every worker is
  // blocked in a timed-out call so nobody could run it.
  // REQUIRES: mount points are distinct.
  std::vector<Result<StatfsInfo>> StatAll(const std::vector<Request>& requests);

  bool IsStuck(const std::string& mount_point) const;

  // Waits until no timed-out call is outstanding or `deadline` passes; true when none is.
  bool WaitForBlockedCalls(Clock::time_point deadline);

 private:
  struct Task;
  struct State;

  static void WorkerLoop(std::shared_ptr<State> state, const System& system, size_t worker_index);

  // Workers start on the first request that may block: hosts without network or FUSE mounts never need them.
  void StartWorkers();

  const System& system_;
  const size_t worker_count_;
  const std::chrono::milliseconds timeout_;
  std::shared_ptr<State> state_;
  std::vector<std::thread> workers_;
};

}  // namespace topdog::exporter
