#include "exporter/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <string_view>

#include "common/exposition/family_writer.h"
#include "exporter/io/file_reader.h"

namespace topdog::exporter {
namespace {

const double kStartTimeSeconds =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

// /proc/self files are tiny; the exporter's own reader keeps one code path for file reads.
const DiskFileReader kSelfReader(64 * 1024, /*keep_open_roots=*/{"/proc"});
const std::string kStatmPath = "/proc/self/statm";
const std::string kStatPath = "/proc/self/stat";
const std::string kFdPath = "/proc/self/fd";

}  // namespace

void BuildInfo(exposition::FamilyWriter& out) {
  size_t family = out.Gauge("topdog_exporter_build_info",
                            "A metric with a constant '1' value labeled by version and compiler of topdog-exporter.");
  out.Sample(family, 1, {{"compiler", __VERSION__}, {"version", TOPDOG_VERSION}});
}

void ProcessMetrics(exposition::FamilyWriter& out) {
  using prometheus::MetricType;
  thread_local std::string buffer;  // file text; storage reused by every scrape on this thread
  struct rusage usage;
  if (::getrusage(RUSAGE_SELF, &usage) == 0) {
    double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    out.Single("topdog_exporter_process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter, cpu);
  }
  if (auto statm = kSelfReader.ReadInto(kStatmPath, buffer)) {
    // statm: size resident shared text lib data dt (pages)
    std::string_view s(*statm);
    uint64_t size_pages = 0, rss_pages = 0;
    auto r1 = std::from_chars(s.data(), s.data() + s.size(), size_pages);
    if (r1.ec == std::errc() && r1.ptr < s.data() + s.size()) {
      auto r2 = std::from_chars(r1.ptr + 1, s.data() + s.size(), rss_pages);
      if (r2.ec == std::errc()) {
        double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
        out.Single("topdog_exporter_process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge,
                   static_cast<double>(rss_pages) * page);
        out.Single("topdog_exporter_process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge,
                   static_cast<double>(size_pages) * page);
      }
    }
  }
  if (auto fds = kSelfReader.ListDir(kFdPath)) {
    // Minus the descriptor of the directory itself, which the reader keeps open between listings.
    out.Single("topdog_exporter_process_open_fds", "Number of open file descriptors.", MetricType::Gauge,
               static_cast<double>(fds->size()) - 1);
  }
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.Single("topdog_exporter_process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge,
               static_cast<double>(limit.rlim_cur));
  }
  out.Single("topdog_exporter_process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
             MetricType::Gauge, kStartTimeSeconds);
  if (auto stat = kSelfReader.ReadInto(kStatPath, buffer)) {
    // Field 20 (num_threads), counted after the ')' that ends the command name.
    std::string_view s(*stat);
    size_t pos = s.rfind(')');
    int field = 2;
    while (pos != std::string_view::npos && field < 20) {
      pos = s.find(' ', pos + 1);
      ++field;
    }
    double threads = 0;
    if (pos != std::string_view::npos &&
        std::from_chars(s.data() + pos + 1, s.data() + s.size(), threads).ec == std::errc()) {
      out.Single("topdog_exporter_process_threads", "Number of OS threads in the process.", MetricType::Gauge, threads);
    }
  }
}

}  // namespace topdog::exporter
