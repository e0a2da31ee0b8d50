// FakeSystem: canned statfs/uname/clock answers for collector tests. Not thread-safe to mutate while used.
// HangingSystem: a FakeSystem whose statfs blocks on chosen paths, like a hung NFS mount; thread-safe.
#pragma once

#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "exporter/io/system.h"

namespace topdog::exporter::testing {

class FakeSystem : public System {
 public:
  std::map<std::string, Result<StatfsInfo>> statfs;  // path -> answer; absent path -> kNotFound
  Result<UnameInfo> uname = UnameInfo{"Linux", "node-1", "6.1.0-13-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1",
                                      "x86_64", "(none)"};
  WallTime now{1700000000.5, "UTC", 0};

  Result<StatfsInfo> Statfs(const std::string& path) const override {
    auto it = statfs.find(path);
    if (it == statfs.end()) return MakeError(ErrorKind::kNotFound, "statfs " + path + ": No such file or directory");
    return it->second;
  }
  Result<UnameInfo> Uname() const override { return uname; }
  WallTime Now() const override { return now; }
};

// statfs of the paths in `hung` blocks until Release(); others answer like FakeSystem. Counts calls.
class HangingSystem : public FakeSystem {
 public:
  Result<StatfsInfo> Statfs(const std::string& path) const override {
    {
      std::lock_guard lock(mu_);
      ++calls_[path];
      threads_[path] = std::this_thread::get_id();
    }
    if (hung.count(path) != 0) release_.wait();
    return FakeSystem::Statfs(path);
  }
  void Release() { release_.count_down(); }
  int Calls(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = calls_.find(path);
    return it == calls_.end() ? 0 : it->second;
  }

  // The thread of the latest statfs of `path` (a default id when never called).
  std::thread::id Thread(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = threads_.find(path);
    return it == threads_.end() ? std::thread::id() : it->second;
  }

  std::set<std::string> hung;

 private:
  mutable std::latch release_{1};
  mutable std::mutex mu_;
  mutable std::map<std::string, int> calls_;
  mutable std::map<std::string, std::thread::id> threads_;
};

}  // namespace topdog::exporter::testing
