#include "exporter/parse/cpu_list.h"

#include <string>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

constexpr uint64_t kMaxCpu = 65535;  // procfs stores CPU numbers as uint16

Result<uint32_t> ParseCpu(std::string_view field, std::string_view element) {
  auto value = parse::ParseUint64(field);
  if (!value || *value > kMaxCpu) {
    return MakeError(ErrorKind::kBadData, "invalid cpu number in element " + parse::QuoteField(element));
  }
  return static_cast<uint32_t>(*value);
}

}  // namespace

Result<std::vector<uint32_t>> ParseCpuList(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || parse::IsFieldSpace(text.back()))) text.remove_suffix(1);
  std::vector<uint32_t> cpus;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view element = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (element.empty()) continue;
    size_t dash = element.find('-');
    if (dash == std::string_view::npos) {
      auto cpu = ParseCpu(element, element);
      if (!cpu) return tl::unexpected(cpu.error());
      cpus.push_back(*cpu);
      continue;
    }
    std::string_view first = element.substr(0, dash);
    std::string_view last = element.substr(dash + 1);
    if (last.find('-') != std::string_view::npos) {
      return MakeError(ErrorKind::kBadData, "invalid cpu range " + parse::QuoteField(element));
    }
    auto begin = ParseCpu(first, element);
    if (!begin) return tl::unexpected(begin.error());
    auto end = ParseCpu(last, element);
    if (!end) return tl::unexpected(end.error());
    // Bounded so that a garbled list ("0-65535,0-65535,...") cannot grow without limit.
    if (*end >= *begin && cpus.size() + (*end - *begin) >= kMaxCpu + 1) {
      return MakeError(ErrorKind::kBadData, "cpu list longer than 65536 entries");
    }
    for (uint32_t cpu = *begin; cpu <= *end; ++cpu) cpus.push_back(cpu);
  }
  return cpus;
}

}  // namespace topdog::exporter
