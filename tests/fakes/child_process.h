// ChildProcess: a program a test or benchmark runs (a fake API, topdog-exporter, Prometheus), killed when
// destroyed and by the kernel if the test dies first (PR_SET_PDEATHSIG), so nothing outlives a crashed test. Its
// output goes to a log file, or to a pipe that WaitForLine reads until a line matches (the port a server bound).
// Not thread-safe.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace topdog {

class ChildProcess {
 public:
  // `args[0]` is the program's path. With `log_path` the output is appended there; without, it goes to a pipe
  // kept open until destruction (a closed pipe would kill the child with SIGPIPE at its next line).
  explicit ChildProcess(const std::vector<std::string>& args, const std::string& log_path = "") {
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int out[2] = {-1, -1};
    if (log_path.empty() && pipe2(out, O_CLOEXEC) != 0) return;
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {  // only async-signal-safe calls until exec
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      const int target =
          log_path.empty() ? out[1] : open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (target >= 0) {
        dup2(target, STDOUT_FILENO);
        dup2(target, STDERR_FILENO);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    if (out[1] >= 0) close(out[1]);
    if (pid_ < 0) {
      if (out[0] >= 0) close(out[0]);
      return;
    }
    if (out[0] >= 0) output_stream_ = fdopen(out[0], "r");
  }
  ~ChildProcess() {
    Kill();
    if (output_stream_ != nullptr) std::fclose(output_stream_);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }

  // Reads the piped output line by line until one matches `pattern`: its first group, or nullopt when the
  // output ends first (the child exited). Blocks meanwhile (a server prints the line once it listens).
  std::optional<std::string> WaitForLine(const std::regex& pattern) {
    char line[4096];
    while (output_stream_ != nullptr && std::fgets(line, sizeof line, output_stream_) != nullptr) {
      output_ += line;
      std::cmatch match;
      if (std::regex_search(line, match, pattern)) return match.size() > 1 ? match[1].str() : std::string();
    }
    return std::nullopt;
  }
  // What WaitForLine has read so far.
  const std::string& output() const { return output_; }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* output_stream_ = nullptr;
  std::string output_;
};

}  // namespace topdog
