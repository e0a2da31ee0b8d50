// libFuzzer target: ParseVmstat (/proc/vmstat) on arbitrary bytes. The collector's field filter is a
// regex applied after parsing, so the parser itself takes no options; names must point into the input.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/field_scanner.h"
#include "exporter/parse/vmstat.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto fields = topdog::exporter::ParseVmstat(text);
  if (!fields) {
    Check(!fields.error().message.empty());
    return 0;
  }
  for (const auto& field : *fields) {
    Check(!field.name.empty() && topdog::fuzz::PointsInto(field.name, text));
    for (char c : field.name) Check(c != '\n' && !topdog::exporter::parse::IsFieldSpace(c));
    topdog::fuzz::CheckGoFloatRoundTrip(field.value);
  }
  return 0;
}
