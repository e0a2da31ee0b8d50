// libFuzzer target: ParseStubStatus (NGINX's stub_status page) on arbitrary bytes. The parser is strict,
// so what it accepts must be exactly the page nginx would write for those counters; every error is one
// printable line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "exporter/parse/stub_status.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool HasLeadingZero(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (text[i] == '0' && IsDigit(text[i + 1]) && (i == 0 || !IsDigit(text[i - 1]))) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto status = topdog::exporter::ParseStubStatus(text);
  if (!status) {
    Check(!status.error().message.empty());
    for (char c : status.error().message) Check(c >= 0x20 && c < 0x7f);
    return 0;
  }
  // The format string of ngx_http_stub_status_handler, rendered back.
  const std::string page =
      "Active connections: " + std::to_string(status->active) + " \nserver accepts handled requests\n " +
      std::to_string(status->accepted) + " " + std::to_string(status->handled) + " " +
      std::to_string(status->requests) + " \nReading: " + std::to_string(status->reading) +
      " Writing: " + std::to_string(status->writing) + " Waiting: " + std::to_string(status->waiting) + " \n";
  // Leading zeros ("007") are the only spelling the round trip cannot keep.
  Check(page == text || HasLeadingZero(text));
  return 0;
}
