#include "exporter/parse/file_nr.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {

Result<FileNr> ParseFileNr(std::string_view text) {
  // The file is one line; a trailing newline is trimmed like node_exporter's bytes.TrimSpace.
  while (!text.empty() && (text.back() == '\n' || parse::IsFieldSpace(text.back()))) text.remove_suffix(1);
  if (text.find('\n') != std::string_view::npos) {
    return MakeError(ErrorKind::kBadData, "line 2: unexpected second line");
  }
  static constexpr const char* kNames[] = {"allocated", "unused", "maximum"};
  double values[3] = {};
  std::string_view rest = text;
  for (size_t i = 0; i < 3; ++i) {
    std::string_view field = parse::NextField(rest);
    if (field.empty()) {
      return MakeError(ErrorKind::kBadData,
                       std::string("line 1: field ") + kNames[i] + ": missing (expected 3 fields)");
    }
    if (i == 1) continue;  // node_exporter never parses the unused-handles field
    auto value = parse::ParseDouble(field);
    if (!value) {
      return MakeError(ErrorKind::kBadData,
                       std::string("line 1: field ") + kNames[i] + ": invalid number " + parse::QuoteField(field));
    }
    values[i] = *value;
  }
  return FileNr{values[0], values[2]};
}

}  // namespace topdog::exporter
