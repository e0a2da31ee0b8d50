// libFuzzer target: NegotiateFormat (the Accept header of a scrape) on arbitrary bytes. OpenMetrics may
// only be chosen when the client names it.
#include <cstddef>
#include <cstdint>

#include "common/exposition/text_writer.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::exposition::Format;
  const std::string_view accept = topdog::fuzz::AsText(data, size);
  const Format format = topdog::exposition::NegotiateFormat(accept);
  if (format == Format::kOpenMetrics100) {
    topdog::fuzz::Check(accept.find("application/openmetrics-text") != std::string_view::npos);
  }
  topdog::fuzz::Check(!topdog::exposition::ContentType(format).empty());
  return 0;
}
