// Helpers shared by the libFuzzer targets in tests/fuzz/: view the input as text, and checks that turn a
// fuzz run into a property test (a failed check calls __builtin_trap(), which libFuzzer reports as a crash).
// Stateless; each target runs single-threaded.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

#include "common/exposition/text_writer.h"

namespace topdog::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Traps unless `condition` holds. Unlike assert(), it survives NDEBUG builds.
inline void Check(bool condition) {
  if (!condition) __builtin_trap();
}

// Whether `inner` is a substring view of `outer` (parsers that return string_views promise to point into
// the parsed text: a view anywhere else is a dangling-pointer bug waiting to happen).
inline bool PointsInto(std::string_view inner, std::string_view outer) {
  if (inner.empty()) return true;
  auto begin = reinterpret_cast<uintptr_t>(outer.data());
  auto first = reinterpret_cast<uintptr_t>(inner.data());
  return first >= begin && first + inner.size() <= begin + outer.size();
}

// Writes `value` the way /metrics does (Go's FormatFloat 'g', -1) and checks that reading the text back
// gives the same double: the exposition must not lose precision on any value a parser can produce.
// NaN is only checked to be spelled "NaN".
inline void CheckGoFloatRoundTrip(double value) {
  std::string text;
  exposition::AppendGoFloat(text, value);
  if (std::isnan(value)) {
    Check(text == "NaN");
    return;
  }
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') digits.remove_prefix(1);  // "+Inf": from_chars takes no '+'
  double parsed = 0;
  const char* end = digits.data() + digits.size();
  auto [ptr, ec] = std::from_chars(digits.data(), end, parsed, std::chars_format::general);
  Check(ec == std::errc() && ptr == end);
  Check(parsed == value);  // -0 is written "0" (as expfmt does) and 0 == -0
}

}  // namespace topdog::fuzz
