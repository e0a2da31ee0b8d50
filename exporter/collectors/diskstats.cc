// The diskstats collector (node_exporter collector/diskstats_linux.go): node_disk_* counters from
// /proc/diskstats, node_disk_info and the udev-derived info families from /run/udev/data/b<major>:<minor>.
// Owns a DeviceFilter (caches verdicts), so not thread-safe; CollectorSet never runs it concurrently.
#include "exporter/parse/diskstats.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdio>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "common/exposition/family_writer.h"
#include "common/logging.h"
#include "exporter/collectors/collectors.h"
#include "exporter/collectors/device_filter.h"
#include "exporter/parse/field_scanner.h"
#include "exporter/parse/udev_data.h"

namespace topdog::exporter {
namespace {

// /proc/diskstats counts in 512-byte "UNIX sectors" whatever the device's block size, and times in ms.
constexpr double kUnixSectorBytes = 512.0;
constexpr double kSecondsPerTick = 1.0 / 1000.0;  // multiplied, not divided, as Go does: same rounding

struct StatSpec {
  const char* name;
  const char* help;
  bool counter;
  double scale;
};

// One family per DiskstatsField, in that order (node_exporter's descs slice; note that discarded sectors
// are not converted to bytes there).
constexpr StatSpec kStats[kDiskstatsFieldCount] = {
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.", true, 1},
    {"node_disk_reads_merged_total", "The total number of reads merged.", true, 1},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", true, kUnixSectorBytes},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.", true, kSecondsPerTick},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.", true, 1},
    {"node_disk_writes_merged_total", "The number of writes merged.", true, 1},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.", true, kUnixSectorBytes},
    {"node_disk_write_time_seconds_total", "This is the total number of seconds spent by all writes.", true,
     kSecondsPerTick},
    {"node_disk_io_now", "The number of I/Os currently in progress.", false, 1},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", true, kSecondsPerTick},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", true, kSecondsPerTick},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.", true, 1},
    {"node_disk_discards_merged_total", "The total number of discards merged.", true, 1},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.", true, 1},
    {"node_disk_discard_time_seconds_total", "This is the total number of seconds spent by all discards.", true,
     kSecondsPerTick},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully", true, 1},
    {"node_disk_flush_requests_time_seconds_total", "This is the total number of seconds spent by all flush requests.",
     true, kSecondsPerTick},
};

// udev properties (see udevadm(8)) and the ATA families built from them.
constexpr std::string_view kUdevDmLvLayer = "DM_LV_LAYER";
constexpr std::string_view kUdevDmLvName = "DM_LV_NAME";
constexpr std::string_view kUdevDmName = "DM_NAME";
constexpr std::string_view kUdevDmUuid = "DM_UUID";
constexpr std::string_view kUdevDmVgName = "DM_VG_NAME";
constexpr std::string_view kUdevIdAta = "ID_ATA";
constexpr std::string_view kUdevIdFsType = "ID_FS_TYPE";
constexpr std::string_view kUdevIdFsUsage = "ID_FS_USAGE";
constexpr std::string_view kUdevIdFsUuid = "ID_FS_UUID";
constexpr std::string_view kUdevIdFsVersion = "ID_FS_VERSION";
constexpr std::string_view kUdevIdModel = "ID_MODEL";
constexpr std::string_view kUdevIdPath = "ID_PATH";
constexpr std::string_view kUdevIdRevision = "ID_REVISION";
constexpr std::string_view kUdevIdSerialShort = "ID_SERIAL_SHORT";
constexpr std::string_view kUdevIdWwn = "ID_WWN";
constexpr std::string_view kUdevScsiIdentSerial = "SCSI_IDENT_SERIAL";

struct AtaSpec {
  std::string_view property;
  const char* name;
  const char* help;
};

constexpr AtaSpec kAtaStats[] = {
    {"ID_ATA_ROTATION_RATE_RPM", "node_disk_ata_rotation_rate_rpm", "ATA disk rotation rate in RPMs (0 for SSDs)."},
    {"ID_ATA_WRITE_CACHE", "node_disk_ata_write_cache", "ATA disk has a write cache."},
    {"ID_ATA_WRITE_CACHE_ENABLED", "node_disk_ata_write_cache_enabled", "ATA disk has its write cache enabled."},
};
constexpr size_t kAtaCount = std::size(kAtaStats);

class DiskstatsCollector final : public Collector {
 public:
  DiskstatsCollector(const CollectorDeps& deps, DeviceFilter filter)
      : reader_(deps.reader),
        paths_(deps.options.paths),
        compat_(deps.options.compat),
        diskstats_path_(paths_.Proc("diskstats")),
        filter_(std::move(filter)) {}

  std::string_view Name() const override { return "diskstats"; }

  Result<std::vector<MetricFamily>> Collect() override {
    auto text = reader_.ReadInto(diskstats_path_, diskstats_buffer_);
    if (!text) return tl::unexpected(text.error());
    auto lines = ParseDiskstats(*text);
    if (!lines) return tl::unexpected(lines.error().WithContext(diskstats_path_));

    // Family indices: the stats in DiskstatsField order, then the info families, then the ATA ones.
    FamilyWriter out = NewWriter();
    for (const StatSpec& stat : kStats) {
      stat.counter ? out.Counter(stat.name, stat.help) : out.Gauge(stat.name, stat.help);
    }
    const size_t info = out.Gauge("node_disk_info", "Info of /sys/block/<block_device>.");
    const size_t filesystem_info = out.Gauge("node_disk_filesystem_info", "Info about disk filesystem.");
    const size_t device_mapper_info = out.Gauge("node_disk_device_mapper_info", "Info about disk device mapper.");
    const size_t ata = out.FamilyCount();
    for (const AtaSpec& spec : kAtaStats) out.Gauge(spec.name, spec.help);

    for (const DiskstatsLine& line : *lines) {
      const std::string& device = line.device;
      if (filter_.Ignored(device)) continue;
      UdevProperties udev = ReadUdev(line.major, line.minor);

      // This is usually the serial printed on the disk label; 1.5 only knew ID_SERIAL_SHORT.
      std::string_view serial =
          compat_ == NodeExporterCompat::kV1_5 ? std::string_view() : udev.Get(kUdevScsiIdentSerial);
      if (serial.empty()) serial = udev.Get(kUdevIdSerialShort);
      const std::string major = std::to_string(line.major), minor = std::to_string(line.minor);
      const std::string rotational = compat_ == NodeExporterCompat::kV1_12 ? ReadRotational(device) : "";
      const FamilyWriter::Label info_labels[] = {{"device", device},
                                                 {"major", major},
                                                 {"minor", minor},
                                                 {"model", udev.Get(kUdevIdModel)},
                                                 {"path", udev.Get(kUdevIdPath)},
                                                 {"revision", udev.Get(kUdevIdRevision)},
                                                 {"serial", serial},
                                                 {"wwn", udev.Get(kUdevIdWwn)},
                                                 {"rotational", rotational}};
      out.Sample(info, 1.0, std::span(info_labels, compat_ == NodeExporterCompat::kV1_12 ? 9 : 8));

      for (size_t i = 0; i < line.value_count; ++i) {
        out.Sample(i, static_cast<double>(line.values[i]) * kStats[i].scale, {{"device", device}});
      }

      if (std::string_view fs_type = udev.Get(kUdevIdFsType); !fs_type.empty()) {
        out.Sample(filesystem_info, 1.0,
                   {{"device", device},
                    {"type", fs_type},
                    {"usage", udev.Get(kUdevIdFsUsage)},
                    {"uuid", udev.Get(kUdevIdFsUuid)},
                    {"version", udev.Get(kUdevIdFsVersion)}});
      }
      if (std::string_view dm_name = udev.Get(kUdevDmName); !dm_name.empty()) {
        out.Sample(device_mapper_info, 1.0,
                   {{"device", device},
                    {"lv_layer", udev.Get(kUdevDmLvLayer)},
                    {"lv_name", udev.Get(kUdevDmLvName)},
                    {"name", dm_name},
                    {"uuid", udev.Get(kUdevDmUuid)},
                    {"vg_name", udev.Get(kUdevDmVgName)}});
      }
      if (!udev.Get(kUdevIdAta).empty()) {
        for (size_t i = 0; i < kAtaCount; ++i) {
          auto text_value = udev.Find(kAtaStats[i].property);
          if (!text_value) continue;
          auto value = parse::ParseDouble(*text_value);
          if (!value) {
            spdlog::debug("failed to parse ATA value collector=diskstats device={} property={} value={}",
                          LogQuote(device), kAtaStats[i].property, LogQuote(*text_value));
            continue;
          }
          out.Sample(ata + i, *value, {{"device", device}});
        }
      }
    }
    return std::move(out).Finish();
  }

 private:
  // A missing or unreadable udev database only blanks the udev-derived labels, as in node_exporter. The
  // properties point into udev_buffer_: valid until the next call.
  UdevProperties ReadUdev(uint32_t major, uint32_t minor) {
    char name[32];
    std::snprintf(name, sizeof name, "%u:%u", major, minor);
    udev_path_.assign(udev_prefix_);
    udev_path_ += name;
    auto text = reader_.ReadInto(udev_path_, udev_buffer_);
    if (!text) return UdevProperties();
    return ParseUdevData(*text);
  }

  // node_exporter 1.12 prints queue/rotational in base 2 and uses 0 when the queue stats are unreadable.
  std::string ReadRotational(const std::string& device) {
    rotational_path_.assign(block_prefix_).append(device).append("/queue/rotational");
    auto text = reader_.ReadInto(rotational_path_, rotational_buffer_);
    if (!text) return "0";
    std::string_view value = *text;
    auto is_space = [](char c) { return c == '\n' || parse::IsFieldSpace(c); };
    while (!value.empty() && is_space(value.front())) value.remove_prefix(1);
    while (!value.empty() && is_space(value.back())) value.remove_suffix(1);
    auto rotational = parse::ParseUint64(value);
    if (!rotational || *rotational == 0) return "0";
    std::string binary;
    for (uint64_t bits = *rotational; bits != 0; bits >>= 1) binary += static_cast<char>('0' + (bits & 1));
    return std::string(binary.rbegin(), binary.rend());
  }

  const FileReader& reader_;
  const Paths paths_;
  const NodeExporterCompat compat_;
  const std::string diskstats_path_;
  const std::string udev_prefix_ = paths_.Udev("b");        // + "<major>:<minor>"
  const std::string block_prefix_ = paths_.Sys("block") + "/";  // + "<device>/queue/rotational"
  std::string diskstats_buffer_, udev_buffer_, udev_path_;  // storage reused by every scrape
  std::string rotational_buffer_, rotational_path_;
  DeviceFilter filter_;
};

}  // namespace

Result<std::unique_ptr<Collector>> NewDiskstatsCollector(const CollectorDeps& deps) {
  auto filter = DeviceFilter::Create("collector.diskstats.device", deps.options.diskstats_device_exclude,
                                     deps.options.diskstats_device_include);
  if (!filter) return tl::unexpected(filter.error());
  return std::make_unique<DiskstatsCollector>(deps, std::move(*filter));
}

}  // namespace topdog::exporter
