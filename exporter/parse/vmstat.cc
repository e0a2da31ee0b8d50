#include "exporter/parse/vmstat.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {

Result<std::vector<VmstatField>> ParseVmstat(std::string_view text) {
  std::vector<VmstatField> fields;
  fields.reserve(256);  // kernel 6.x prints about 190 fields
  parse::LineScanner lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view name = parse::NextField(rest);
    if (name.empty()) continue;
    std::string_view value_field = parse::NextField(rest);
    if (value_field.empty()) {
      return MakeError(ErrorKind::kBadData, parse::LineContext(lines.line_number()) + ": field " +
                                                parse::QuoteField(name) + ": missing value");
    }
    auto value = parse::ParseDouble(value_field);
    if (!value) {
      return MakeError(ErrorKind::kBadData, parse::LineContext(lines.line_number()) + ": field " +
                                                parse::QuoteField(name) + ": invalid number " +
                                                parse::QuoteField(value_field));
    }
    fields.push_back(VmstatField{name, *value});
  }
  return fields;
}

}  // namespace topdog::exporter
