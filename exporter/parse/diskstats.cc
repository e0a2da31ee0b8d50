#include "exporter/parse/diskstats.h"

#include <limits>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

constexpr size_t kMinFields = 14;  // major, minor, device + 11 values: what every kernel since 2.6.25 prints

constexpr std::string_view kValueNames[kDiskstatsFieldCount] = {
    "reads_completed",     "reads_merged",       "sectors_read",    "read_time_ms",      "writes_completed",
    "writes_merged",       "sectors_written",    "write_time_ms",   "ios_in_progress",   "io_time_ms",
    "weighted_io_time_ms", "discards_completed", "discards_merged", "sectors_discarded", "discard_time_ms",
    "flush_requests",      "flush_time_ms",
};

tl::unexpected<Error> FieldError(int line_number, size_t field_number, std::string_view name, std::string_view field) {
  return MakeError(ErrorKind::kBadData, parse::LineContext(line_number) + ": field " + std::to_string(field_number) +
                                            " (" + std::string(name) + "): invalid number " + parse::QuoteField(field));
}

}  // namespace

Result<std::vector<DiskstatsLine>> ParseDiskstats(std::string_view text) {
  std::vector<DiskstatsLine> lines;
  lines.reserve(32);
  parse::LineScanner scanner(text);
  std::string_view line;
  while (scanner.Next(line)) {
    const int line_number = scanner.line_number();
    std::string_view rest = line;
    DiskstatsLine out;

    // procfs uses fmt.Sscanf: a bad number anywhere fails the file, running out of fields does not.
    std::string_view field = parse::NextField(rest);
    if (field.empty()) continue;
    auto major = parse::ParseUint64(field);
    if (!major || *major > std::numeric_limits<uint32_t>::max()) return FieldError(line_number, 1, "major", field);
    field = parse::NextField(rest);
    if (field.empty()) continue;
    auto minor = parse::ParseUint64(field);
    if (!minor || *minor > std::numeric_limits<uint32_t>::max()) return FieldError(line_number, 2, "minor", field);
    field = parse::NextField(rest);
    if (field.empty()) continue;
    out.major = static_cast<uint32_t>(*major);
    out.minor = static_cast<uint32_t>(*minor);

    size_t count = 0;
    std::string_view device = field;
    while (count < kDiskstatsFieldCount) {
      field = parse::NextField(rest);
      if (field.empty()) break;
      auto value = parse::ParseUint64(field);
      if (!value) return FieldError(line_number, count + 4, kValueNames[count], field);
      out.values[count++] = *value;
    }
    if (count + 3 < kMinFields) continue;
    out.device.assign(device);
    out.value_count = count;
    lines.push_back(std::move(out));
  }
  return lines;
}

}  // namespace topdog::exporter
