#include "exporter/parse/loadavg.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {

Result<Loadavg> ParseLoadavg(std::string_view text) {
  // node_exporter splits the whole file on white space, so newlines count as separators too.
  Loadavg loadavg;
  double* targets[] = {&loadavg.load1, &loadavg.load5, &loadavg.load15};
  static constexpr const char* kNames[] = {"load1", "load5", "load15"};
  std::string_view rest = text;
  for (size_t i = 0; i < std::size(targets); ++i) {
    while (!rest.empty() && (parse::IsFieldSpace(rest.front()) || rest.front() == '\n')) rest.remove_prefix(1);
    size_t end = 0;
    while (end < rest.size() && !parse::IsFieldSpace(rest[end]) && rest[end] != '\n') ++end;
    std::string_view field = rest.substr(0, end);
    rest.remove_prefix(end);
    if (field.empty()) {
      return MakeError(ErrorKind::kBadData, std::string("field ") + kNames[i] + ": missing (expected 3 load averages)");
    }
    auto value = parse::ParseDouble(field);
    if (!value) {
      return MakeError(ErrorKind::kBadData,
                       std::string("field ") + kNames[i] + ": invalid number " + parse::QuoteField(field));
    }
    *targets[i] = *value;
  }
  return loadavg;
}

}  // namespace topdog::exporter
