#include "exporter/parse/meminfo.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {

Result<std::vector<MeminfoEntry>> ParseMeminfo(std::string_view text) {
  std::vector<MeminfoEntry> entries;
  entries.reserve(64);
  parse::LineScanner lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view key = parse::NextField(rest);
    if (key.empty()) continue;
    const std::string context = parse::LineContext(lines.line_number());
    std::string_view value_field = parse::NextField(rest);
    std::string_view unit = parse::NextField(rest);
    if (key.back() != ':' || key.size() == 1) {
      return MakeError(ErrorKind::kBadData, context + ": key " + parse::QuoteField(key) + " does not end in ':'");
    }
    key.remove_suffix(1);
    if (value_field.empty()) {
      return MakeError(ErrorKind::kBadData, context + ": field " + std::string(key) + ": missing value");
    }
    if (!parse::NextField(rest).empty()) {
      return MakeError(ErrorKind::kBadData, context + ": field " + std::string(key) + ": more than 3 fields");
    }
    auto value = parse::ParseDouble(value_field);
    if (!value) {
      return MakeError(ErrorKind::kBadData,
                       context + ": field " + std::string(key) + ": invalid number " + parse::QuoteField(value_field));
    }
    entries.push_back(MeminfoEntry{key, *value, !unit.empty()});
  }
  return entries;
}

}  // namespace topdog::exporter
