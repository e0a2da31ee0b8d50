// libFuzzer target: ParseProcMounts (/proc/<pid>/mounts, node_exporter 1.5's source) on arbitrary bytes.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/field_scanner.h"
#include "exporter/parse/mountinfo.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto mounts = topdog::exporter::ParseProcMounts(topdog::fuzz::AsText(data, size));
  if (!mounts) {
    Check(!mounts.error().message.empty());
    return 0;
  }
  for (const auto& mount : *mounts) {
    // Fields are whitespace-separated: none is empty and none contains a separator.
    for (const std::string* field : {&mount.device, &mount.fs_type, &mount.options}) {
      Check(!field->empty());
      for (char c : *field) Check(c != '\n' && !topdog::exporter::parse::IsFieldSpace(c));
    }
    Check(!mount.mount_point.empty());
    Check(topdog::exporter::HasMountOption(mount.options, mount.options.substr(0, mount.options.find(','))));
  }
  return 0;
}
