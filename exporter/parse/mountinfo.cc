#include "exporter/parse/mountinfo.h"

#include <array>
#include <limits>
#include <optional>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

tl::unexpected<Error> LineError(int line_number, std::string message) {
  return MakeError(ErrorKind::kBadData, parse::LineContext(line_number) + ": " + message);
}

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (!parse::IsFieldSpace(c)) return false;
  }
  return true;
}

std::optional<uint32_t> ParseUint32(std::string_view field) {
  auto value = parse::ParseUint64(field);
  if (!value || *value > std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return static_cast<uint32_t>(*value);
}

}  // namespace

std::string UnescapeMountPath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '\\' && path.size() - i >= 4) {
      std::string_view code = path.substr(i + 1, 3);
      char decoded = 0;
      if (code == "040")
        decoded = ' ';
      else if (code == "011")
        decoded = '\t';
      else if (code == "012")
        decoded = '\n';
      else if (code == "134")
        decoded = '\\';
      if (decoded != 0) {
        out += decoded;
        i += 4;
        continue;
      }
    }
    out += path[i++];
  }
  return out;
}

bool HasMountOption(std::string_view options, std::string_view option) {
  while (true) {
    size_t comma = options.find(',');
    if (options.substr(0, comma) == option) return true;
    if (comma == std::string_view::npos) return false;
    options.remove_prefix(comma + 1);
  }
}

Result<std::vector<MountEntry>> ParseProcMounts(std::string_view text) {
  std::vector<MountEntry> mounts;
  mounts.reserve(32);
  parse::LineScanner scanner(text);
  std::string_view line;
  while (scanner.Next(line)) {
    if (IsBlank(line)) continue;
    std::string_view rest = line;
    std::array<std::string_view, 4> fields;
    for (auto& field : fields) field = parse::NextField(rest);
    if (fields[3].empty()) {
      return LineError(scanner.line_number(),
                       "malformed mount point information " + parse::QuoteField(line) + " (fewer than 4 fields)");
    }
    MountEntry entry;
    entry.device.assign(fields[0]);
    entry.mount_point = UnescapeMountPath(fields[1]);
    entry.fs_type.assign(fields[2]);
    entry.options.assign(fields[3]);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

Result<std::vector<MountEntry>> ParseMountInfo(std::string_view text) {
  constexpr size_t kMinFields = 10;
  std::vector<MountEntry> mounts;
  mounts.reserve(32);
  std::vector<std::string_view> fields;
  parse::LineScanner scanner(text);
  std::string_view line;
  while (scanner.Next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (IsBlank(line)) continue;
    const int line_number = scanner.line_number();
    fields.clear();
    std::string_view rest = line;
    while (true) {
      size_t space = rest.find(' ');
      fields.push_back(rest.substr(0, space));
      if (space == std::string_view::npos) break;
      rest.remove_prefix(space + 1);
    }
    const size_t n = fields.size();
    if (n < kMinFields) {
      return LineError(line_number, "too few fields (" + std::to_string(n) + ", need " + std::to_string(kMinFields) +
                                        ") in " + parse::QuoteField(line));
    }
    if (fields[n - 4] != "-") {
      return LineError(line_number, "field " + std::to_string(n - 3) + ": expected the separator \"-\", got " +
                                        parse::QuoteField(fields[n - 4]));
    }
    if (!parse::ParseInt64(fields[0])) {
      return LineError(line_number, "field 1 (mount id): invalid number " + parse::QuoteField(fields[0]));
    }
    if (!parse::ParseInt64(fields[1])) {
      return LineError(line_number, "field 2 (parent id): invalid number " + parse::QuoteField(fields[1]));
    }
    std::string_view major_minor = fields[2];
    size_t colon = major_minor.find(':');
    std::optional<uint32_t> major, minor;
    if (colon != std::string_view::npos) {
      major = ParseUint32(major_minor.substr(0, colon));
      minor = ParseUint32(major_minor.substr(colon + 1));
    }
    if (!major || !minor) {
      return LineError(line_number, "field 3 (major:minor): malformed " + parse::QuoteField(major_minor));
    }
    MountEntry entry;
    entry.major = *major;
    entry.minor = *minor;
    entry.mount_point = UnescapeMountPath(fields[4]);
    entry.options.assign(fields[5]);
    entry.fs_type.assign(fields[n - 3]);
    entry.device.assign(fields[n - 2]);
    entry.super_options.assign(fields[n - 1]);
    mounts.push_back(std::move(entry));
  }
  return mounts;
}

}  // namespace topdog::exporter
