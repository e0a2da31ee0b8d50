#include "exporter/parse/cpuinfo.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

std::string_view TrimSpace(std::string_view text) {
  while (!text.empty() && parse::IsFieldSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && parse::IsFieldSpace(text.back())) text.remove_suffix(1);
  return text;
}

// Go's strconv.ParseUint(s, 0, 32): decimal, or 0x/0o/0b/0-prefixed.
std::optional<uint32_t> ParseProcessor(std::string_view field) {
  int base = 10;
  if (field.size() > 2 && field[0] == '0' && (field[1] == 'x' || field[1] == 'X')) {
    base = 16;
    field.remove_prefix(2);
  } else if (field.size() > 1 && field[0] == '0') {
    base = 8;
    field.remove_prefix(1);
  }
  uint32_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, base);
  if (field.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

Result<std::vector<CpuInfoEntry>> ParseCpuInfo(std::string_view text) {
  std::vector<CpuInfoEntry> entries;
  parse::LineScanner lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    const size_t colon = line.find(": ");
    if (entries.empty()) {
      if (TrimSpace(line).empty()) continue;
      if (line.substr(0, 9) != "processor" || colon == std::string_view::npos) {
        return MakeError(ErrorKind::kBadData, parse::LineContext(lines.line_number()) +
                                                  ": expected \"processor : N\", got " + parse::QuoteField(line));
      }
    }
    if (colon == std::string_view::npos) continue;
    std::string_view key = TrimSpace(line.substr(0, colon));
    std::string_view value = line.substr(colon + 2);
    // Like procfs, the first line opens the first CPU whatever follows "processor" in its key
    // ("processor\t): 0"): every later key needs an entry to fill.
    if (key == "processor" || entries.empty()) {
      auto processor = ParseProcessor(value);
      if (!processor) {
        return MakeError(ErrorKind::kBadData, parse::LineContext(lines.line_number()) +
                                                  ": field processor: invalid number " + parse::QuoteField(value));
      }
      entries.emplace_back().processor = *processor;
      if (entries.size() == 1) entries.reserve(64);
      continue;
    }
    CpuInfoEntry& entry = entries.back();
    if (key == "vendor_id" || key == "vendor") {
      entry.vendor_id = value;
    } else if (key == "cpu family") {
      entry.cpu_family = value;
    } else if (key == "model") {
      entry.model = value;
    } else if (key == "model name") {
      entry.model_name = value;
    } else if (key == "stepping") {
      entry.stepping = value;
    } else if (key == "microcode") {
      entry.microcode = value;
    } else if (key == "cache size") {
      entry.cache_size = value;
    } else if (key == "physical id") {
      entry.physical_id = value;
    } else if (key == "core id") {
      entry.core_id = value;
    } else if (key == "flags") {
      entry.flags = value;
    } else if (key == "bugs") {
      entry.bugs = value;
    } else if (key == "cpu MHz") {
      auto mhz = parse::ParseDouble(value);
      if (!mhz) {
        return MakeError(ErrorKind::kBadData, parse::LineContext(lines.line_number()) +
                                                  ": field cpu MHz: invalid number " + parse::QuoteField(value));
      }
      entry.cpu_mhz = *mhz;
    }
  }
  if (entries.empty()) return MakeError(ErrorKind::kBadData, "no \"processor : N\" line");
  return entries;
}

}  // namespace topdog::exporter
