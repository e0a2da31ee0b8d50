// libFuzzer target: ParseNetDev (/proc/net/dev) on arbitrary bytes; names are trimmed and non-empty, and
// the counters survive the exposition writer.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/field_scanner.h"
#include "exporter/parse/net_dev.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::exporter::parse::IsFieldSpace;
  using topdog::fuzz::Check;
  auto lines = topdog::exporter::ParseNetDev(topdog::fuzz::AsText(data, size));
  if (!lines) {
    Check(!lines.error().message.empty());
    return 0;
  }
  for (const auto& line : *lines) {
    Check(!line.name.empty() && !IsFieldSpace(line.name.front()) && !IsFieldSpace(line.name.back()));
    Check(line.name.find('\n') == std::string::npos);
    for (uint64_t value : line.values) topdog::fuzz::CheckGoFloatRoundTrip(static_cast<double>(value));
  }
  return 0;
}
