// The cpu collector (node_exporter collector/cpu_linux.go): node_cpu_seconds_total and
// node_cpu_guest_seconds_total from /proc/stat with node_exporter's per-field monotonic guard, the sysfs
// thermal throttle counters, node_cpu_isolated, node_cpu_online (1.12) and, with --collector.cpu.info,
// the /proc/cpuinfo families. Keeps the guarded counters between scrapes; not thread-safe (CollectorSet
// calls Collect from one thread at a time).
#include <algorithm>
#include <map>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
#include "exporter/parse/cpu_list.h"
#include "exporter/parse/cpuinfo.h"
#include "exporter/parse/field_scanner.h"
#include "exporter/parse/proc_stat.h"

namespace topdog::exporter {
namespace {

// node_exporter's jumpBackSeconds: an idle counter that goes back this much means the CPU was hot-plugged
// (its counters restarted), so its stored values are dropped instead of being held forever.
constexpr double kJumpBackSeconds = 3.0;

struct CpuSeconds {
  double user = 0;
  double nice = 0;
  double system = 0;
  double idle = 0;
  double iowait = 0;
  double irq = 0;
  double softirq = 0;
  double steal = 0;
  double guest = 0;
  double guest_nice = 0;
};

CpuSeconds ToSeconds(const CpuTicks& ticks) {
  // Same operation as procfs (float64(ticks) / userHZ), so values are bit-identical.
  return CpuSeconds{
      static_cast<double>(ticks.user) / kUserHz,    static_cast<double>(ticks.nice) / kUserHz,
      static_cast<double>(ticks.system) / kUserHz,  static_cast<double>(ticks.idle) / kUserHz,
      static_cast<double>(ticks.iowait) / kUserHz,  static_cast<double>(ticks.irq) / kUserHz,
      static_cast<double>(ticks.softirq) / kUserHz, static_cast<double>(ticks.steal) / kUserHz,
      static_cast<double>(ticks.guest) / kUserHz,   static_cast<double>(ticks.guest_nice) / kUserHz,
  };
}

// updateCPUStats for one CPU: a counter that went backwards keeps its previous value; an idle counter that
// went back by >= 3 s resets every stored counter of the CPU first.
void ApplyMonotonicGuard(CpuSeconds& stored, const CpuSeconds& fresh) {
  if (stored.idle - fresh.idle >= kJumpBackSeconds) stored = CpuSeconds{};
  auto keep_max = [](double& kept, double next) {
    if (next >= kept) kept = next;
  };
  keep_max(stored.idle, fresh.idle);
  keep_max(stored.user, fresh.user);
  keep_max(stored.nice, fresh.nice);
  keep_max(stored.system, fresh.system);
  keep_max(stored.iowait, fresh.iowait);
  keep_max(stored.irq, fresh.irq);
  keep_max(stored.softirq, fresh.softirq);
  keep_max(stored.steal, fresh.steal);
  keep_max(stored.guest, fresh.guest);
  keep_max(stored.guest_nice, fresh.guest_nice);
}

std::optional<uint64_t> ReadUintFile(const FileReader& reader, const std::string& path, std::string& buffer) {
  auto contents = reader.ReadInto(path, buffer);
  if (!contents) return std::nullopt;
  std::string_view text = *contents;
  while (!text.empty() && (text.back() == '\n' || parse::IsFieldSpace(text.back()))) text.remove_suffix(1);
  while (!text.empty() && parse::IsFieldSpace(text.front())) text.remove_prefix(1);
  return parse::ParseUint64(text);
}

// filepath.Glob("cpu[0-9]*") on /sys/devices/system/cpu: cpu0, cpu1, ... but not cpufreq or cpuidle.
bool IsCpuDirName(std::string_view name) {
  return name.size() > 3 && name.substr(0, 3) == "cpu" && name[3] >= '0' && name[3] <= '9';
}

class CpuCollector final : public Collector {
 public:
  CpuCollector(const CollectorDeps& deps, bool info, std::optional<std::regex> flags_include,
               std::optional<std::regex> bugs_include)
      : reader_(deps.reader),
        compat_(deps.options.compat),
        guest_(deps.options.cpu_guest),
        info_(info),
        flags_include_(std::move(flags_include)),
        bugs_include_(std::move(bugs_include)),
        stat_path_(deps.options.paths.Proc("stat")),
        cpuinfo_path_(deps.options.paths.Proc("cpuinfo")),
        cpu_dir_(deps.options.paths.Sys("devices/system/cpu")),
        isolated_path_(deps.options.paths.Sys("devices/system/cpu/isolated")) {}

  std::string_view Name() const override { return "cpu"; }

  Result<std::vector<MetricFamily>> Collect() override {
    FamilyWriter out = NewWriter();
    // Same order as node_exporter's Update: a failing step ends the scrape of this collector.
    if (info_) {
      if (auto done = CollectInfo(out); !done) return tl::unexpected(done.error());
    }
    if (auto done = CollectStat(out); !done) return tl::unexpected(done.error());
    if (auto done = CollectIsolated(out); !done) return tl::unexpected(done.error());
    const std::vector<CpuDir>& cpu_dirs = ListCpuDirs();
    CollectThermalThrottle(cpu_dirs, out);
    if (compat_ != NodeExporterCompat::kV1_5) CollectOnline(cpu_dirs, out);
    return std::move(out).Finish();
  }

 private:
  struct StoredCpu {
    int64_t id;
    CpuSeconds seconds;
  };

  Result<void> CollectStat(FamilyWriter& out) {
    auto text = reader_.ReadInto(stat_path_, stat_buffer_);
    if (!text) return tl::unexpected(text.error());
    auto stat = ParseProcStat(*text);
    if (!stat) return tl::unexpected(stat.error().WithContext(stat_path_));
    UpdateCpuStats(stat->cpus);

    const size_t seconds = out.Counter("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.");
    const size_t guest =
        out.Counter("node_cpu_guest_seconds_total", "Seconds the CPUs spent in guests (VMs) for each mode.");
    // Written in the exposition order (label values compared as text, "10" before "2"; modes alphabetical),
    // which spares CollectorSet a sort of some hundred samples on large hosts.
    for (size_t index : text_order_) {
      const std::string& id = id_text_[index];
      const CpuSeconds& s = stored_[index].seconds;
      const std::pair<const char*, double> modes[] = {
          {"idle", s.idle}, {"iowait", s.iowait}, {"irq", s.irq},       {"nice", s.nice},
          {"softirq", s.softirq}, {"steal", s.steal}, {"system", s.system}, {"user", s.user},
      };
      for (const auto& [mode, value] : modes) out.Sample(seconds, value, {{"cpu", id}, {"mode", mode}});
      if (guest_) {
        // Guest time is also counted in user and nice; node_exporter exposes it separately, unsubtracted.
        out.Sample(guest, s.guest_nice, {{"cpu", id}, {"mode", "nice"}});
        out.Sample(guest, s.guest, {{"cpu", id}, {"mode", "user"}});
      }
    }
    return {};
  }

  // node_exporter 1.5.0 (procfs 0.8.0) keeps CPUs in a slice indexed by CPU number, so a gap (an offline
  // CPU) shows as a CPU with all-zero counters, and a change in the slice length resets every CPU.
  // 1.12 keys them by number: only listed CPUs appear, and CPUs that disappear are forgotten.
  void UpdateCpuStats(const std::vector<CpuTicks>& cpus) {
    fresh_.clear();
    fresh_.reserve(cpus.size());
    for (const CpuTicks& ticks : cpus) fresh_.push_back(StoredCpu{ticks.cpu, ToSeconds(ticks)});
    // Sorted by id, the last line of a duplicated id winning (as in procfs).
    auto by_id = [](const StoredCpu& a, const StoredCpu& b) { return a.id < b.id; };
    if (!std::is_sorted(fresh_.begin(), fresh_.end(), by_id)) std::stable_sort(fresh_.begin(), fresh_.end(), by_id);
    auto last_of_each = std::unique(fresh_.rbegin(), fresh_.rend(),
                                    [](const StoredCpu& a, const StoredCpu& b) { return a.id == b.id; });
    fresh_.erase(fresh_.begin(), last_of_each.base());
    if (compat_ == NodeExporterCompat::kV1_5 && !fresh_.empty()) {
      const int64_t count = fresh_.back().id + 1;  // ids are bounded by kMaxCpuId
      if (static_cast<size_t>(count) != fresh_.size()) {
        std::vector<StoredCpu> dense(static_cast<size_t>(count));
        for (int64_t i = 0; i < count; ++i) dense[static_cast<size_t>(i)].id = i;
        for (const StoredCpu& cpu : fresh_) dense[static_cast<size_t>(cpu.id)] = cpu;
        fresh_.swap(dense);
      }
    }

    const bool same_cpus = stored_.size() == fresh_.size() &&
                           std::equal(stored_.begin(), stored_.end(), fresh_.begin(),
                                      [](const StoredCpu& a, const StoredCpu& b) { return a.id == b.id; });
    if (!same_cpus) {
      std::vector<StoredCpu> next;
      next.reserve(fresh_.size());
      for (const StoredCpu& cpu : fresh_) {
        StoredCpu kept{cpu.id, CpuSeconds{}};
        if (compat_ != NodeExporterCompat::kV1_5) {
          auto it = std::lower_bound(stored_.begin(), stored_.end(), cpu.id,
                                     [](const StoredCpu& a, int64_t id) { return a.id < id; });
          if (it != stored_.end() && it->id == cpu.id) kept.seconds = it->seconds;
        }
        next.push_back(kept);
      }
      stored_.swap(next);
      id_text_.clear();
      for (const StoredCpu& cpu : stored_) id_text_.push_back(std::to_string(cpu.id));
      text_order_.resize(stored_.size());
      for (size_t i = 0; i < text_order_.size(); ++i) text_order_[i] = i;
      std::sort(text_order_.begin(), text_order_.end(), [&](size_t a, size_t b) { return id_text_[a] < id_text_[b]; });
    }
    for (size_t i = 0; i < stored_.size(); ++i) ApplyMonotonicGuard(stored_[i].seconds, fresh_[i].seconds);
  }

  // /sys/devices/system/cpu/isolated is read once, like node_exporter does at start-up (the set only
  // changes with a reboot). Absent file: no metric.
  Result<void> CollectIsolated(FamilyWriter& out) {
    if (!isolated_loaded_) {
      auto text = reader_.Read(isolated_path_);
      if (!text && text.error().kind != ErrorKind::kNotFound) return tl::unexpected(text.error());
      if (text) {
        auto cpus = ParseCpuList(*text);
        if (!cpus) return tl::unexpected(cpus.error().WithContext(isolated_path_));
        isolated_ = std::move(*cpus);
        std::sort(isolated_.begin(), isolated_.end());
        isolated_.erase(std::unique(isolated_.begin(), isolated_.end()), isolated_.end());
      }
      isolated_loaded_ = true;
    }
    const size_t isolated = out.Gauge("node_cpu_isolated",
                                      "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.");
    for (uint32_t cpu : isolated_) out.Sample(isolated, 1, {{"cpu", std::to_string(cpu)}});
    return {};
  }

  // A cpu<N> directory of sysfs and the files read from it (paths built once per directory).
  struct CpuDir {
    std::string name;  // "cpu0"
    std::string core_throttles, package_throttles, package_id, core_id, online;
  };

  // The cpu<N> directories, sorted by name like filepath.Glob("cpu[0-9]*"). Listed on every scrape (CPUs
  // come and go); the paths are built again only when the list changes.
  const std::vector<CpuDir>& ListCpuDirs() {
    // Go's filepath.Glob ignores I/O errors: an unreadable directory just has no CPUs.
    auto names = reader_.ListDir(cpu_dir_);
    if (!names) {
      cpu_dirs_.clear();
      return cpu_dirs_;
    }
    std::erase_if(*names, [](const std::string& name) { return !IsCpuDirName(name); });
    const bool same = names->size() == cpu_dirs_.size() &&
                      std::equal(names->begin(), names->end(), cpu_dirs_.begin(),
                                 [](const std::string& name, const CpuDir& dir) { return name == dir.name; });
    if (!same) {
      cpu_dirs_.clear();
      for (std::string& name : *names) {
        const std::string dir = cpu_dir_ + "/" + name;
        // The counters are read before the topology (node_exporter reads the topology first): same result,
        // but hosts without thermal_throttle (VMs) cost one failed open per CPU instead of three reads.
        cpu_dirs_.push_back(CpuDir{std::move(name), dir + "/thermal_throttle/core_throttle_count",
                                   dir + "/thermal_throttle/package_throttle_count",
                                   dir + "/topology/physical_package_id", dir + "/topology/core_id", dir + "/online"});
      }
    }
    return cpu_dirs_;
  }


  // updateThermalThrottle: one core counter per (package, core) and one package counter per package, each
  // taken from the first CPU (in directory order) whose file could be read.
  void CollectThermalThrottle(const std::vector<CpuDir>& cpu_dirs, FamilyWriter& out) {
    std::map<uint64_t, uint64_t> package_throttles;
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> core_throttles;
    for (const CpuDir& dir : cpu_dirs) {
      auto core_count = ReadUintFile(reader_, dir.core_throttles, scratch_);
      auto package_count = ReadUintFile(reader_, dir.package_throttles, scratch_);
      if (!core_count && !package_count) continue;
      auto package_id = ReadUintFile(reader_, dir.package_id, scratch_);
      if (!package_id) continue;
      auto core_id = ReadUintFile(reader_, dir.core_id, scratch_);
      if (!core_id) continue;
      if (core_count) core_throttles.emplace(std::make_pair(*package_id, *core_id), *core_count);
      if (package_count) package_throttles.emplace(*package_id, *package_count);
    }
    const size_t packages =
        out.Counter("node_cpu_package_throttles_total", "Number of times this CPU package has been throttled.");
    for (const auto& [package, count] : package_throttles) {
      out.Sample(packages, static_cast<double>(count), {{"package", std::to_string(package)}});
    }
    const size_t cores =
        out.Counter("node_cpu_core_throttles_total", "Number of times this CPU core has been throttled.");
    for (const auto& [key, count] : core_throttles) {
      out.Sample(cores, static_cast<double>(count),
                 {{"package", std::to_string(key.first)}, {"core", std::to_string(key.second)}});
    }
  }

  // updateOnline (node_exporter >= 1.8): a no-op when the first CPU has no "online" file (the system does
  // not support CPU hot-plug); otherwise 1 per CPU whose file says "1", else 0.
  void CollectOnline(const std::vector<CpuDir>& cpu_dirs, FamilyWriter& out) {
    if (cpu_dirs.empty()) return;
    auto first = reader_.ReadInto(cpu_dirs.front().online, scratch_);
    if (!first && first.error().kind == ErrorKind::kNotFound) return;
    const size_t online = out.Gauge("node_cpu_online", "CPUs that are online and being scheduled.");
    for (const CpuDir& dir : cpu_dirs) {
      auto state = ReadUintFile(reader_, dir.online, scratch_);
      out.Sample(online, state && *state == 1 ? 1 : 0, {{"cpu", std::string_view(dir.name).substr(3)}});
    }
  }

  Result<void> CollectInfo(FamilyWriter& out) {
    auto text = reader_.Read(cpuinfo_path_);
    if (!text) return tl::unexpected(text.error());
    auto entries = ParseCpuInfo(*text);
    if (!entries) return tl::unexpected(entries.error().WithContext(cpuinfo_path_));

    const size_t info = out.Gauge("node_cpu_info", "CPU information from /proc/cpuinfo.");
    const size_t frequency = out.Gauge("node_cpu_frequency_hertz", "CPU frequency in hertz from /proc/cpuinfo.");
    for (const CpuInfoEntry& cpu : *entries) {
      const std::string number = std::to_string(cpu.processor);
      out.Sample(info, 1,
                 {{"package", cpu.physical_id},
                  {"core", cpu.core_id},
                  {"cpu", number},
                  {"vendor", cpu.vendor_id},
                  {"family", cpu.cpu_family},
                  {"model", cpu.model},
                  {"model_name", cpu.model_name},
                  {"microcode", cpu.microcode},
                  {"stepping", cpu.stepping},
                  {"cachesize", cpu.cache_size}});
      // 1.12 exposes the cpuinfo frequency when the cpufreq collector is disabled, which it always is here.
      if (compat_ != NodeExporterCompat::kV1_5) {
        out.Sample(frequency, cpu.cpu_mhz * 1e6, {{"package", cpu.physical_id}, {"core", cpu.core_id}, {"cpu", number}});
      }
    }
    if (!entries->empty()) {
      const CpuInfoEntry& first = entries->front();
      AppendFieldInfo(first.flags, flags_include_, flags_cache_, "node_cpu_flag_info",
                      "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.", "flag",
                      out);
      AppendFieldInfo(first.bugs, bugs_include_, bugs_cache_, "node_cpu_bug_info",
                      "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.", "bug", out);
    }
    return {};
  }

  // The filtered word list of the last scrape: the flags line of a host does not change, so the regex runs
  // over ~100 flags only when it does.
  struct FieldCache {
    std::string source;
    std::vector<std::string> matched;
    bool valid = false;
  };

  static void AppendFieldInfo(std::string_view words, const std::optional<std::regex>& include, FieldCache& cache,
                              const char* name, const char* help, const char* label, FamilyWriter& out) {
    if (!include) return;
    if (!cache.valid || cache.source != words) {
      cache.source.assign(words);
      cache.matched.clear();
      std::string_view rest = words;
      for (std::string_view word = parse::NextField(rest); !word.empty(); word = parse::NextField(rest)) {
        if (std::regex_search(word.begin(), word.end(), *include)) cache.matched.emplace_back(word);
      }
      cache.valid = true;
    }
    const size_t family = out.Gauge(name, help);
    for (const std::string& word : cache.matched) out.Sample(family, 1, {{label, word}});
  }

  const FileReader& reader_;
  const NodeExporterCompat compat_;
  const bool guest_;
  const bool info_;
  const std::optional<std::regex> flags_include_;
  const std::optional<std::regex> bugs_include_;
  const std::string stat_path_;
  const std::string cpuinfo_path_;
  const std::string cpu_dir_;
  const std::string isolated_path_;

  std::vector<StoredCpu> stored_;  // guarded counters, sorted by CPU id
  std::vector<StoredCpu> fresh_;   // scratch space of UpdateCpuStats, kept to reuse its allocation
  std::vector<CpuDir> cpu_dirs_;       // the last listing
  std::string stat_buffer_, scratch_;  // file text, storage reused by every read
  std::vector<std::string> id_text_;  // per entry of stored_: its id as a label value
  std::vector<size_t> text_order_;    // indices of stored_ ordered by id_text_
  bool isolated_loaded_ = false;
  std::vector<uint32_t> isolated_;
  FieldCache flags_cache_;
  FieldCache bugs_cache_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewCpuCollector(const CollectorDeps& deps) {
  const CollectorOptions& options = deps.options;
  auto flags = CompileFlagRegex("--collector.cpu.info.flags-include", options.cpu_info_flags_include);
  if (!flags) return tl::unexpected(flags.error());
  auto bugs = CompileFlagRegex("--collector.cpu.info.bugs-include", options.cpu_info_bugs_include);
  if (!bugs) return tl::unexpected(bugs.error());
  // Like node_exporter, a flags/bugs filter turns --collector.cpu.info on.
  const bool info = options.cpu_info || flags->has_value() || bugs->has_value();
  return std::make_unique<CpuCollector>(deps, info, std::move(*flags), std::move(*bugs));
}

}  // namespace topdog::exporter
