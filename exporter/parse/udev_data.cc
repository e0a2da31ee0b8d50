#include "exporter/parse/udev_data.h"

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {

std::optional<std::string_view> UdevProperties::Find(std::string_view key) const {
  for (auto it = properties_.rbegin(); it != properties_.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return std::nullopt;
}

UdevProperties ParseUdevData(std::string_view text) {
  constexpr std::string_view kPropertyPrefix = "E:";  // see udevadm(8)
  UdevProperties properties;
  parse::LineScanner scanner(text);
  std::string_view line;
  while (scanner.Next(line)) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // bufio.ScanLines drops it too
    if (line.substr(0, kPropertyPrefix.size()) != kPropertyPrefix) continue;
    line.remove_prefix(kPropertyPrefix.size());
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    properties.Add(line.substr(0, equals), line.substr(equals + 1));
  }
  return properties;
}

}  // namespace topdog::exporter
