// FakeServerProcess: starts one of the Python loopback fakes (tests/fakes/fake_*.py) as a child process, reads
// the port it bound from its first stdout line ("PORT <n>"), and stops it when destroyed. For integration tests
// of the advisor's API clients. Not thread-safe.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace topdog::advisor {

class FakeServerProcess {
 public:
  // `script`: path of the fake; `args`: extra arguments. Throws std::runtime_error when it does not start.
  explicit FakeServerProcess(const std::string& script, std::vector<std::string> args = {}) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    std::vector<std::string> argv_strings = {"/usr/bin/python3", script};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    if (rc != 0) {
      close(out[0]);
      throw std::runtime_error("cannot start " + script);
    }
    // Blocks until the fake listens (it prints the line after bind) or exits (EOF).
    FILE* stream = fdopen(out[0], "r");
    char line[128] = {0};
    if (stream == nullptr || std::fgets(line, sizeof line, stream) == nullptr ||
        std::sscanf(line, "PORT %d", &port_) != 1) {
      if (stream != nullptr) std::fclose(stream);
      Stop();
      throw std::runtime_error(script + " did not report its port");
    }
    std::fclose(stream);
  }
  ~FakeServerProcess() { Stop(); }
  FakeServerProcess(const FakeServerProcess&) = delete;
  FakeServerProcess& operator=(const FakeServerProcess&) = delete;

  int port() const { return port_; }
  std::string Url(const std::string& scheme = "http") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_);
  }
  // Kills the fake now (an API server that goes away mid-test).
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace topdog::advisor
