// libFuzzer target: HistoryStore::Decode (the embedded mode's snapshot file, read at start-up) on arbitrary
// bytes, and, for what decodes, Encode again: it gives the same bytes back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "advisor/core/history.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = topdog::fuzz::AsText(data, size);
  auto store = topdog::advisor::HistoryStore::Decode(text);
  if (!store) {
    topdog::fuzz::Check(store.error().message.rfind("history snapshot: ", 0) == 0);
    return 0;
  }
  topdog::fuzz::Check(store->Encode() == std::string(text));
  return 0;
}
