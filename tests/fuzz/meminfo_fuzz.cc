// libFuzzer target: ParseMeminfo (/proc/meminfo) on arbitrary bytes; keys must point into the input and
// values survive the exposition writer (kB values are exported in bytes, as the meminfo collector does).
#include <cstddef>
#include <cstdint>

#include "exporter/parse/field_scanner.h"
#include "exporter/parse/meminfo.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto entries = topdog::exporter::ParseMeminfo(text);
  if (!entries) {
    Check(!entries.error().message.empty());
    return 0;
  }
  for (const auto& entry : *entries) {
    Check(!entry.key.empty() && topdog::fuzz::PointsInto(entry.key, text));
    for (char c : entry.key) Check(c != '\n' && !topdog::exporter::parse::IsFieldSpace(c));
    topdog::fuzz::CheckGoFloatRoundTrip(entry.has_unit ? entry.value * 1024 : entry.value);
  }
  return 0;
}
