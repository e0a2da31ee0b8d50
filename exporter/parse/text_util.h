// Small pure helpers shared by the /proc and /sys parsers: line and field splitting without copies, and
// number parsing that never throws. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace topdog::exporter::parse {

// Splits on runs of spaces and tabs; no empty fields.
std::vector<std::string_view> SplitFields(std::string_view line);

// Trims spaces, tabs and newlines at both ends.
std::string_view Trim(std::string_view s);

// Whole-string conversions; nullopt on any garbage, sign or overflow problem.
std::optional<uint64_t> ParseUint64(std::string_view s);
std::optional<int64_t> ParseInt64(std::string_view s);
std::optional<double> ParseDouble(std::string_view s);

// Calls fn(line_number_from_1, line) for each line (without the '\n').
template <typename Fn>
void ForEachLine(std::string_view text, Fn&& fn) {
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    fn(++line_number, line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

}  // namespace topdog::exporter::parse
