// libFuzzer target: ParseMountInfo (/proc/<pid>/mountinfo) on arbitrary bytes, plus the helpers the
// filesystem collector applies to its result (UnescapeMountPath, HasMountOption).
#include <cstddef>
#include <cstdint>

#include "exporter/parse/mountinfo.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  // Unescaping only ever shortens: each recognised 4-byte escape becomes one byte.
  Check(topdog::exporter::UnescapeMountPath(text).size() <= size);
  auto mounts = topdog::exporter::ParseMountInfo(text);
  if (!mounts) {
    Check(!mounts.error().message.empty());
    return 0;
  }
  for (const auto& mount : *mounts) {
    Check(mount.mount_point.find('\n') == std::string::npos || text.find("\\012") != std::string_view::npos);
    // Every comma-separated option is found by HasMountOption.
    std::string_view options = mount.options;
    while (true) {
      size_t comma = options.find(',');
      Check(topdog::exporter::HasMountOption(mount.options, options.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      options.remove_prefix(comma + 1);
    }
  }
  return 0;
}
