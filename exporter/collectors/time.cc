// The time collector (node_exporter collector/time.go, time_linux.go): node_time_seconds,
// node_time_zone_offset_seconds{time_zone} and the clock sources of
// /sys/devices/system/clocksource/clocksource<N>. Stateless; not called concurrently.
#include <string>
#include <string_view>
#include <vector>

#include "common/exposition/family_writer.h"
#include "exporter/collectors/collectors.h"
#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

// procfs's util.SysReadFile reads sysfs attributes with one 128-byte read and trims white space.
constexpr size_t kSysReadBytes = 128;

bool IsSpace(char c) { return parse::IsFieldSpace(c) || c == '\n'; }

std::string_view SysfsValue(std::string_view contents) {
  contents = contents.substr(0, kSysReadBytes);
  while (!contents.empty() && IsSpace(contents.front())) contents.remove_prefix(1);
  while (!contents.empty() && IsSpace(contents.back())) contents.remove_suffix(1);
  return contents;
}

// strings.Fields: the next run of non-space characters, consumed from `text`; empty at the end.
std::string_view NextWord(std::string_view& text) {
  while (!text.empty() && IsSpace(text.front())) text.remove_prefix(1);
  size_t end = 0;
  while (end < text.size() && !IsSpace(text[end])) ++end;
  std::string_view word = text.substr(0, end);
  text.remove_prefix(end);
  return word;
}

// filepath.Glob("clocksource[0-9]*").
bool IsClocksourceDir(std::string_view name) {
  constexpr std::string_view kPrefix = "clocksource";
  return name.size() > kPrefix.size() && name.substr(0, kPrefix.size()) == kPrefix && name[kPrefix.size()] >= '0' &&
         name[kPrefix.size()] <= '9';
}

class TimeCollector final : public Collector {
 public:
  explicit TimeCollector(const CollectorDeps& deps)
      : reader_(deps.reader), system_(deps.system), dir_(deps.options.paths.Sys("devices/system/clocksource")) {}

  std::string_view Name() const override { return "time"; }

  Result<std::vector<MetricFamily>> Collect() override {
    WallTime now = system_.Now();
    FamilyWriter out = NewWriter();
    out.Single("node_time_seconds", "System time in seconds since epoch (1970).", prometheus::MetricType::Gauge,
               now.unix_seconds);
    const size_t zone = out.Gauge("node_time_zone_offset_seconds", "System time zone offset in seconds.");
    out.Sample(zone, static_cast<double>(now.zone_offset_seconds), {{"time_zone", now.zone_name}});

    const size_t available = out.Gauge("node_time_clocksource_available_info",
                                       "Available clocksources read from '/sys/devices/system/clocksource'.");
    const size_t current = out.Gauge("node_time_clocksource_current_info",
                                     "Current clocksource read from '/sys/devices/system/clocksource'.");
    // Like filepath.Glob, an unreadable or absent directory just means no clock sources.
    auto entries = reader_.ListDir(dir_);
    if (entries) {
      size_t index = 0;  // node_exporter's device label is the position in the sorted glob, not the suffix
      for (const std::string& entry : *entries) {
        if (!IsClocksourceDir(entry)) continue;
        path_.assign(dir_).append("/").append(entry).append("/available_clocksource");
        auto available_text = reader_.ReadInto(path_, available_buffer_);
        if (!available_text) return tl::unexpected(available_text.error().WithContext("couldn't get clocksources"));
        path_.assign(dir_).append("/").append(entry).append("/current_clocksource");
        auto current_text = reader_.ReadInto(path_, current_buffer_);
        if (!current_text) return tl::unexpected(current_text.error().WithContext("couldn't get clocksources"));
        std::string device = std::to_string(index++);
        std::string_view names = SysfsValue(*available_text);
        for (std::string_view name = NextWord(names); !name.empty(); name = NextWord(names)) {
          out.Sample(available, 1.0, {{"clocksource", name}, {"device", device}});
        }
        out.Sample(current, 1.0, {{"clocksource", SysfsValue(*current_text)}, {"device", device}});
      }
    }
    return std::move(out).Finish();
  }

 private:
  const FileReader& reader_;
  const System& system_;
  const std::string dir_;
  std::string path_, available_buffer_, current_buffer_;  // storage reused by every scrape
};

}  // namespace

Result<std::unique_ptr<Collector>> NewTimeCollector(const CollectorDeps& deps) {
  return std::make_unique<TimeCollector>(deps);
}

}  // namespace topdog::exporter
