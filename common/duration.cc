#include "common/duration.h"

#include <charconv>
#include <string>

namespace topdog {

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return MakeError(ErrorKind::kBadData,
                     "invalid duration \"" + std::string(text) + "\" (want e.g. 500ms, 5s, 1m30s, 14d)");
  };
  if (text.empty()) return bad();
  if (text == "0") return std::chrono::milliseconds(0);
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    // Go's grammar: digits with an optional fraction. std::from_chars would also take "nan" and "inf", and
    // a NaN passes every range check below and then makes the cast to int64_t undefined.
    if (!(rest.front() == '.' || (rest.front() >= '0' && rest.front() <= '9'))) return bad();
    double number = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
    if (ec != std::errc() || number < 0) return bad();
    rest.remove_prefix(static_cast<size_t>(ptr - rest.data()));
    double unit_ms;
    if (rest.substr(0, 2) == "ms") {
      unit_ms = 1;
      rest.remove_prefix(2);
    } else if (rest.substr(0, 1) == "s") {
      unit_ms = 1000;
      rest.remove_prefix(1);
    } else if (rest.substr(0, 1) == "m") {
      unit_ms = 60000;
      rest.remove_prefix(1);
    } else if (rest.substr(0, 1) == "h") {
      unit_ms = 3600000;
      rest.remove_prefix(1);
    } else if (rest.substr(0, 1) == "d") {  // Prometheus's units beyond Go's: d = 24h, w = 7d
      unit_ms = 86400000;
      rest.remove_prefix(1);
    } else if (rest.substr(0, 1) == "w") {
      unit_ms = 7 * 86400000.0;
      rest.remove_prefix(1);
    } else {
      return bad();
    }
    total_ms += number * unit_ms;
  }
  if (!(total_ms <= 1e12)) return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(total_ms));
}

}  // namespace topdog
