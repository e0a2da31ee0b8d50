// libFuzzer target: ParseFileNr (/proc/sys/fs/file-nr) on arbitrary bytes; both values survive the
// exposition writer.
#include <cstddef>
#include <cstdint>

#include "exporter/parse/file_nr.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file_nr = topdog::exporter::ParseFileNr(topdog::fuzz::AsText(data, size));
  if (!file_nr) {
    topdog::fuzz::Check(!file_nr.error().message.empty());
    return 0;
  }
  topdog::fuzz::CheckGoFloatRoundTrip(file_nr->allocated);
  topdog::fuzz::CheckGoFloatRoundTrip(file_nr->maximum);
  return 0;
}
