// libFuzzer target: ParseMicroTime (the Lease's acquireTime/renewTime as the API server sends them) on arbitrary
// bytes, and FormatMicroTime on what parses: the text is Kubernetes' MicroTime shape and parses back to the same
// time, within 1 µs where a double still holds microseconds (before 2106), else within the double's precision.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "advisor/core/lease.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::fuzz::Check;

// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a four-digit MicroTime can spell. (An offset lets a
// parsed text land just outside, e.g. "0000-01-01T00:00:00+01:00"; those have no MicroTime spelling.)
constexpr double kFirstSpellable = -62167219200.0;
constexpr double kLastSpellable = 253402300799.0;
// Below 2^32 s a double's spacing is under 1 µs, so formatting (rounding to µs) and parsing stay within 1 µs.
constexpr double kMicrosecondExact = 4294967296.0;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "YYYY-MM-DDTHH:MM:SS.ffffffZ", exactly as FormatMicroTime promises.
bool IsMicroTimeShape(std::string_view text) {
  constexpr std::string_view kPattern = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (text.size() != kPattern.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (kPattern[i] == 'd' ? !IsDigit(text[i]) : text[i] != kPattern[i]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = topdog::fuzz::AsText(data, size);
  auto seconds = topdog::advisor::ParseMicroTime(text);
  if (!seconds) {
    Check(seconds.error().kind == topdog::ErrorKind::kBadData && !seconds.error().message.empty());
    return 0;
  }
  Check(std::isfinite(*seconds));
  if (*seconds < kFirstSpellable || *seconds > kLastSpellable) return 0;
  const std::string formatted = topdog::advisor::FormatMicroTime(*seconds);
  Check(IsMicroTimeShape(formatted));
  auto again = topdog::advisor::ParseMicroTime(formatted);
  Check(again.has_value());
  const double tolerance_seconds =
      std::fabs(*seconds) < kMicrosecondExact ? 1e-6 : 1e-6 + 4.5e-16 * std::fabs(*seconds);
  Check(std::fabs(*again - *seconds) <= tolerance_seconds);
  // The canonical spelling is a fixed point: a MicroTime the API server wrote formats back to the same text.
  if (std::fabs(*seconds) < kMicrosecondExact && IsMicroTimeShape(text) && text.substr(17, 2) <= "59") {
    Check(formatted == text);
  }
  return 0;
}
