// libFuzzer target: ParseUdevData (/run/udev/data/b<major>:<minor>) on arbitrary bytes. It never fails;
// checks that every parsed key is found again and that lookups of absent keys are empty.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/parse/udev_data.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  topdog::exporter::UdevProperties properties = topdog::exporter::ParseUdevData(text);
  Check(properties.size() <= size / 3);  // each property needs at least "E:=" in the input
  // The keys node_exporter's diskstats collector reads.
  for (std::string_view key : {"DM_LV_LAYER", "DM_LV_NAME", "DM_NAME", "DM_UUID", "DM_VG_NAME", "ID_ATA", "ID_FS_TYPE",
                               "ID_FS_USAGE", "ID_FS_UUID", "ID_FS_VERSION", "ID_MODEL", "ID_PATH", "ID_REVISION",
                               "ID_SERIAL_SHORT", "ID_WWN", "SCSI_IDENT_SERIAL"}) {
    auto value = properties.Find(key);
    Check(properties.Get(key) == value.value_or(std::string_view()));
    if (value) Check(text.find("E:" + std::string(key) + "=") != std::string_view::npos);
  }
  return 0;
}
