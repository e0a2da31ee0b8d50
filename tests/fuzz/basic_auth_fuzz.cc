// libFuzzer target: ParseBasicAuthorization (the Authorization header) on arbitrary bytes. Property: the
// credentials it returns, encoded again, parse back to the same credentials.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/http/basic_auth.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// Standard padded base64, as Go's base64.StdEncoding writes it.
std::string EncodeBase64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t triple = 0;
    for (size_t j = 0; j < 3; ++j) {
      triple = (triple << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    }
    for (size_t j = 0; j < 4; ++j) out += j <= n ? kAlphabet[(triple >> (18 - 6 * j)) & 0x3f] : '=';
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto credentials = topdog::http::ParseBasicAuthorization(topdog::fuzz::AsText(data, size));
  if (!credentials) return 0;
  Check(credentials->user.find(':') == std::string::npos);  // split at the first ':'
  Check(credentials->user.size() + credentials->password.size() + 1 <= size);
  auto again =
      topdog::http::ParseBasicAuthorization("Basic " + EncodeBase64(credentials->user + ":" + credentials->password));
  Check(again && again->user == credentials->user && again->password == credentials->password);
  return 0;
}
