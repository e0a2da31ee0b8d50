// FakeSystem: canned statfs/uname/clock answers for collector tests. Not thread-safe to mutate while used.
#pragma once

#include <map>
#include <string>

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

}  // namespace topdog::exporter::testing
