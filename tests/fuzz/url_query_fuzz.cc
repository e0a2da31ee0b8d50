// libFuzzer target: ParseQuery and PercentDecode (the /metrics query string, e.g. collect[]=cpu) on
// arbitrary bytes. Property: percent-encoding every byte of a decoded value and decoding it again is the
// identity.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/http/url.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

std::string EncodeEveryByte(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[byte >> 4];
    out += kHex[byte & 0xf];
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  const std::string_view text = topdog::fuzz::AsText(data, size);
  for (bool plus_as_space : {false, true}) {
    std::string decoded = topdog::http::PercentDecode(text, plus_as_space);
    Check(decoded.size() <= size);
    Check(topdog::http::PercentDecode(EncodeEveryByte(decoded), plus_as_space) == decoded);
  }
  auto pairs = topdog::http::ParseQuery(text);
  Check(pairs.size() <= static_cast<size_t>(std::count(text.begin(), text.end(), '&')) + 1);
  for (const auto& [name, value] : pairs) Check(name.size() + value.size() <= size);
  return 0;
}
