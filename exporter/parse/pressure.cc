#include "exporter/parse/pressure.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

// "avg10=0.00 avg60=0.02 avg300=0.30 total=3070566"
Result<PressureLine> ParseLine(std::string_view prefix, std::string_view rest, int line_number) {
  PressureLine line;
  bool seen[4] = {};
  const std::string context = parse::LineContext(line_number) + ": " + std::string(prefix) + " ";
  for (std::string_view field = parse::NextField(rest); !field.empty(); field = parse::NextField(rest)) {
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (key == "total") {
      auto total = parse::ParseUint64(value);
      if (!total) {
        return MakeError(ErrorKind::kBadData, context + "field total: invalid number " + parse::QuoteField(value));
      }
      line.total_microseconds = *total;
      seen[3] = true;
      continue;
    }
    double* target = nullptr;
    int index = 0;
    if (key == "avg10") {
      target = &line.avg10;
      index = 0;
    } else if (key == "avg60") {
      target = &line.avg60;
      index = 1;
    } else if (key == "avg300") {
      target = &line.avg300;
      index = 2;
    } else {
      continue;
    }
    auto number = parse::ParseDouble(value);
    if (!number) {
      return MakeError(ErrorKind::kBadData,
                       context + "field " + std::string(key) + ": invalid number " + parse::QuoteField(value));
    }
    *target = *number;
    seen[index] = true;
  }
  static constexpr const char* kNames[] = {"avg10", "avg60", "avg300", "total"};
  for (int i = 0; i < 4; ++i) {
    if (!seen[i]) return MakeError(ErrorKind::kBadData, context + "field " + kNames[i] + ": missing");
  }
  return line;
}

}  // namespace

Result<PressureStats> ParsePressure(std::string_view text) {
  PressureStats stats;
  parse::LineScanner lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view rest = line;
    std::string_view prefix = parse::NextField(rest);
    std::optional<PressureLine>* target = nullptr;
    if (prefix == "some") {
      target = &stats.some;
    } else if (prefix == "full") {
      target = &stats.full;
    } else {
      continue;
    }
    auto parsed = ParseLine(prefix, rest, lines.line_number());
    if (!parsed) return tl::unexpected(parsed.error());
    *target = *parsed;
  }
  return stats;
}

}  // namespace topdog::exporter
