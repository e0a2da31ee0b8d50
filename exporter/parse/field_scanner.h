// Allocation-free helpers shared by the /proc parsers: split text into lines and whitespace-separated
// fields, and convert fields to numbers with std::from_chars (no locale, no exceptions). Pure, thread-safe.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace topdog::exporter::parse {

inline bool IsFieldSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Walks a text line by line; the last line need not end in '\n'. Line numbers start at 1.
class LineScanner {
 public:
  explicit LineScanner(std::string_view text) : rest_(text) {}

  // REQUIRES: nothing; returns false at the end of the text.
  bool Next(std::string_view& line) {
    if (rest_.empty()) return false;
    size_t end = rest_.find('\n');
    if (end == std::string_view::npos) {
      line = rest_;
      rest_ = {};
    } else {
      line = rest_.substr(0, end);
      rest_.remove_prefix(end + 1);
    }
    ++line_number_;
    return true;
  }
  int line_number() const { return line_number_; }

 private:
  std::string_view rest_;
  int line_number_ = 0;
};

// Returns the next whitespace-separated field of `line` and consumes it (empty at the end). Only scans up
// to the end of the field, so a caller can stop early on a 200 KB line.
inline std::string_view NextField(std::string_view& line) {
  size_t start = 0;
  while (start < line.size() && IsFieldSpace(line[start])) ++start;
  size_t end = start;
  while (end < line.size() && !IsFieldSpace(line[end])) ++end;
  std::string_view field = line.substr(start, end - start);
  line.remove_prefix(end);
  return field;
}

// Whole-field conversions: the field must be a complete number (like Go's strconv.ParseUint/ParseFloat).
inline std::optional<uint64_t> ParseUint64(std::string_view field) {
  uint64_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, 10);
  if (field.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

inline std::optional<int64_t> ParseInt64(std::string_view field) {
  int64_t value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, 10);
  if (field.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Accepts what Go's strconv.ParseFloat accepts for /proc content: decimal, exponent, a leading '+' or '-',
// inf/nan. Out-of-range values are rejected (Go returns an error there too).
inline std::optional<double> ParseDouble(std::string_view field) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);
  double value = 0;
  const char* end = field.data() + field.size();
  auto [ptr, ec] = std::from_chars(field.data(), end, value, std::chars_format::general);
  if (field.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Error text helpers: quote a field for a message, cut to a sane length (fields can be 200 KB).
inline std::string QuoteField(std::string_view field) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  out.append(field.substr(0, kMaxShown));
  if (field.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

// Like QuoteField, for text that may hold line breaks, control bytes or binary junk (log lines, HTTP
// bodies): those are shown as \n, \r, \t and \xHH so that an error message stays one printable line.
inline std::string QuoteEscaped(std::string_view field) {
  constexpr size_t kMaxShown = 64;
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "\"";
  for (char c : field.substr(0, kMaxShown)) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte >= 0x7F || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    } else {
      out += c;
    }
  }
  if (field.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

inline std::string LineContext(int line_number) { return "line " + std::to_string(line_number); }

}  // namespace topdog::exporter::parse
