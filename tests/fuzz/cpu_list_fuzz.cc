// libFuzzer target: ParseCpuList (sysfs CPU lists such as .../cpu/isolated) on arbitrary bytes. Checks the
// documented bounds: CPU numbers fit procfs's uint16, and ranges cannot blow the list up.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "exporter/parse/cpu_list.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto cpus = topdog::exporter::ParseCpuList(text);
  if (!cpus) {
    Check(!cpus.error().message.empty());
    return 0;
  }
  for (uint32_t cpu : *cpus) Check(cpu <= 65535);
  // Each element adds one CPU, or a range adds at most what keeps the list within 65536 entries.
  const size_t elements = static_cast<size_t>(std::count(text.begin(), text.end(), ',')) + 1;
  Check(cpus->size() <= 65536 + elements);
  return 0;
}
