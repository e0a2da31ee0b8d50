// FakeServerProcess: starts one of the Python loopback fakes (tests/fakes/fake_*.py), reads the port it bound from
// its first stdout line ("PORT <n>"), and stops it when destroyed (fake_http.py also dies with its parent). For
// integration tests of the advisor's API clients. Not thread-safe.
#pragma once

#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/fakes/child_process.h"

namespace topdog::advisor {

class FakeServerProcess {
 public:
  // `script`: path of the fake; `args`: extra arguments. Throws std::runtime_error when it does not start.
  explicit FakeServerProcess(const std::string& script, std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"/usr/bin/python3", script};
    argv.insert(argv.end(), args.begin(), args.end());
    process_ = std::make_unique<ChildProcess>(argv);
    auto port = process_->WaitForLine(std::regex(R"(^PORT (\d+))"));
    if (!port) throw std::runtime_error(script + " did not report its port: " + process_->output());
    port_ = std::stoi(*port);
  }

  int port() const { return port_; }
  std::string Url(const std::string& scheme = "http") const { return scheme + "://127.0.0.1:" + std::to_string(port_); }
  // Kills the fake now (an API server that goes away mid-test).
  void Stop() { process_->Kill(); }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = 0;
};

}  // namespace topdog::advisor
