#include "advisor/core/csv.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace topdog::advisor {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// Reads exactly `digits` decimal digits at `pos`.
bool Digits(std::string_view s, size_t& pos, int digits, int& out) {
  if (pos + static_cast<size_t>(digits) > s.size()) return false;
  out = 0;
  for (int i = 0; i < digits; ++i) {
    char c = s[pos++];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

constexpr double kMinEpochSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr double kMaxEpochSeconds = 253402300799;  // 9999-12-31T23:59:59Z

Result<double> ParseNumber(std::string_view text, const char* what) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return MakeError(ErrorKind::kBadData, std::string(what) + " \"" + std::string(text) + "\" is not a number");
  }
  if (!std::isfinite(value)) {
    return MakeError(ErrorKind::kBadData, std::string(what) + " \"" + std::string(text) + "\" is not finite");
  }
  return value;
}

// Why a row at `time` cannot follow `samples` (rows must be sorted and distinct), or "" when it can.
std::string OrderError(double time, std::string_view field, const std::vector<Sample>& samples,
                       size_t previous_line) {
  if (samples.empty() || time > samples.back().time_seconds) return "";
  if (time == samples.back().time_seconds) {
    return "duplicate timestamp " + std::string(field) + " (also on line " + std::to_string(previous_line) + ")";
  }
  return "timestamp " + std::string(field) + " is earlier than the one on line " + std::to_string(previous_line) +
         ": rows must be sorted by time";
}

}  // namespace

Result<double> ParseTimestamp(std::string_view text, TimeFormat* format) {
  auto bad = [&] {
    return MakeError(ErrorKind::kBadData, "timestamp \"" + std::string(text) +
                                              "\" is not epoch seconds, RFC 3339 or YYYY-MM-DD HH:MM:SS");
  };
  if (text.size() < 10 || text[4] != '-') {
    auto seconds = ParseNumber(text, "timestamp");
    if (!seconds) return bad();
    // Years 0001 to 9999, as RFC 3339 allows: keeps every later step count and date conversion in range.
    if (*seconds < kMinEpochSeconds || *seconds > kMaxEpochSeconds) {
      return MakeError(ErrorKind::kBadData, "timestamp \"" + std::string(text) +
                                                "\" is outside the years 0001 to 9999 in epoch seconds");
    }
    if (format != nullptr) *format = TimeFormat::kEpochSeconds;
    return *seconds;
  }
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(text, pos, 4, year) || text[pos++] != '-' || !Digits(text, pos, 2, month) || pos >= text.size() ||
      text[pos++] != '-' || !Digits(text, pos, 2, day) || pos >= text.size()) {
    return bad();
  }
  char separator = text[pos++];
  if (separator != 'T' && separator != 't' && separator != ' ') return bad();
  if (!Digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' || !Digits(text, pos, 2, minute) ||
      pos >= text.size() || text[pos++] != ':' || !Digits(text, pos, 2, second)) {
    return bad();
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return bad();
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t start = pos++;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    if (pos == start + 1) return bad();
    std::string digits = "0" + std::string(text.substr(start, pos - start));  // ".25" -> "0.25"
    std::from_chars(digits.data(), digits.data() + digits.size(), fraction);
  }
  double offset_seconds = 0;
  bool zoned = false;
  if (pos < text.size()) {
    char zone = text[pos++];
    if ((zone == 'Z' || zone == 'z') && pos == text.size()) {
      zoned = true;
    } else if (zone == '+' || zone == '-') {
      int oh = 0, om = 0;
      if (!Digits(text, pos, 2, oh)) return bad();
      if (pos < text.size() && text[pos] == ':') ++pos;
      if (!Digits(text, pos, 2, om) || pos != text.size() || oh > 23 || om > 59) return bad();
      offset_seconds = (zone == '+' ? 1 : -1) * (oh * 3600.0 + om * 60.0);
      zoned = true;
    } else {
      return bad();
    }
  }
  // Without a zone the time is UTC (the "YYYY-MM-DD HH:MM:SS" form, or a "T" form missing its "Z").
  if (format != nullptr) *format = zoned || separator != ' ' ? TimeFormat::kRfc3339 : TimeFormat::kDateTime;
  int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return static_cast<double>(days) * 86400.0 + hour * 3600.0 + minute * 60.0 + second + fraction - offset_seconds;
}

std::string FormatTimestamp(double epoch_seconds, TimeFormat format) {
  char buf[64];
  if (format == TimeFormat::kEpochSeconds) {
    if (epoch_seconds == std::floor(epoch_seconds) && std::abs(epoch_seconds) < 1e15) {
      std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(epoch_seconds));
    } else {
      std::snprintf(buf, sizeof buf, "%.3f", epoch_seconds);
    }
    return buf;
  }
  if (!(std::abs(epoch_seconds) < 1e15)) {  // no calendar date; only reachable with absurd steps
    std::snprintf(buf, sizeof buf, "%.17g", epoch_seconds);
    return buf;
  }
  double whole = std::floor(epoch_seconds);
  int millis = static_cast<int>(std::lround((epoch_seconds - whole) * 1000));
  if (millis == 1000) {
    whole += 1;
    millis = 0;
  }
  auto total = static_cast<int64_t>(whole);
  int64_t days = total >= 0 ? total / 86400 : (total - 86399) / 86400;
  int64_t rest = total - days * 86400;
  int64_t year = 0;
  unsigned month = 0, day = 0;
  CivilFromDays(days, year, month, day);
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u%c%02lld:%02lld:%02lld", static_cast<long long>(year), month,
                        day, format == TimeFormat::kRfc3339 ? 'T' : ' ', static_cast<long long>(rest / 3600),
                        static_cast<long long>(rest / 60 % 60), static_cast<long long>(rest % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (millis != 0) {
    std::snprintf(buf, sizeof buf, ".%03d", millis);
    out += buf;
  }
  if (format == TimeFormat::kRfc3339) out += 'Z';
  return out;
}

Result<SamplesCsv> ParseSamplesCsv(std::string_view text) {
  SamplesCsv out;
  size_t line_number = 0;
  size_t previous_line = 0;
  bool first_row = true;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    ++line_number;
    if (Trim(line).empty()) continue;
    auto fail = [&](const std::string& why) {
      return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number) + ": " + why);
    };
    size_t comma = line.find(',');
    if (comma == std::string_view::npos || line.find(',', comma + 1) != std::string_view::npos) {
      if (first_row) return fail("expected a header row \"timestamp,value\" with two fields");
      return fail("expected two fields \"timestamp,value\"");
    }
    std::string_view time_field = Trim(line.substr(0, comma));
    std::string_view value_field = Trim(line.substr(comma + 1));
    TimeFormat format = TimeFormat::kEpochSeconds;
    auto time = ParseTimestamp(time_field, &format);
    auto value = ParseNumber(value_field, "value");
    if (first_row) {
      first_row = false;
      if (!time) continue;  // the header row
    }
    if (!time) return fail(time.error().message);
    if (!value) return fail(value.error().message);
    if (std::string order = OrderError(*time, time_field, out.samples, previous_line); !order.empty()) {
      return fail(order);
    }
    if (out.samples.empty()) out.time_format = format;
    out.samples.push_back({*time, *value});
    previous_line = line_number;
  }
  if (out.samples.empty()) {
    return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number + 1) + ": no data rows");
  }
  return out;
}

Result<TraceCsv> ParseTraceCsv(std::string_view text) {
  auto split = [](std::string_view line) {
    std::vector<std::string_view> fields;
    while (true) {
      size_t comma = line.find(',');
      fields.push_back(Trim(line.substr(0, comma)));
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    return fields;
  };
  std::string_view rest = text;
  size_t header_line = 0;
  std::vector<std::string_view> header;
  while (!rest.empty() && header.empty()) {
    size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++header_line;
    if (!Trim(line).empty()) header = split(line);
  }
  if (header.size() <= 2) {  // the forecast command's format
    auto samples = ParseSamplesCsv(text);
    if (!samples) return tl::unexpected(samples.error());
    TraceCsv out;
    out.unscored.assign(samples->samples.size(), false);
    out.samples = std::move(samples->samples);
    return out;
  }
  size_t value_column = header.size(), flag_column = header.size();
  for (size_t i = 1; i < header.size(); ++i) {
    if (header[i] == "value" || header[i] == "requests" || header[i] == "count") value_column = i;
    if (header[i] == "flag") flag_column = i;
  }
  if (value_column == header.size()) {
    return MakeError(ErrorKind::kBadData, "line " + std::to_string(header_line) +
                                              ": no column named value, requests or count in the header");
  }
  TraceCsv out;
  size_t line_number = header_line, previous_line = 0;
  while (!rest.empty()) {
    size_t newline = rest.find('\n');
    std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    ++line_number;
    if (Trim(line).empty()) continue;
    auto fail = [&](const std::string& why) {
      return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number) + ": " + why);
    };
    auto fields = split(line);
    if (fields.size() != header.size()) {
      return fail("expected " + std::to_string(header.size()) + " fields like the header, found " +
                  std::to_string(fields.size()));
    }
    auto time = ParseTimestamp(fields[0]);
    if (!time) return fail(time.error().message);
    double value = std::numeric_limits<double>::quiet_NaN();
    if (!fields[value_column].empty()) {
      auto parsed = ParseNumber(fields[value_column], "value");
      if (!parsed) return fail(parsed.error().message);
      value = *parsed;
    }
    bool unscored = std::isnan(value) || (flag_column < fields.size() && !fields[flag_column].empty());
    if (std::string order = OrderError(*time, fields[0], out.samples, previous_line); !order.empty()) {
      return fail(order);
    }
    out.samples.push_back({*time, value});
    out.unscored.push_back(unscored);
    previous_line = line_number;
  }
  if (out.samples.empty()) {
    return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number + 1) + ": no data rows");
  }
  return out;
}

std::string FormatForecastCsv(const std::vector<double>& times, TimeFormat format,
                              const std::vector<double>& quantiles,
                              const std::vector<std::vector<double>>& values) {
  std::string out = "timestamp";
  char buf[64];
  for (double q : quantiles) {
    std::snprintf(buf, sizeof buf, ",q%g", q);
    out += buf;
  }
  out += '\n';
  for (size_t i = 0; i < times.size(); ++i) {
    out += FormatTimestamp(times[i], format);
    for (double v : values[i]) {
      std::snprintf(buf, sizeof buf, ",%.10g", v);
      out += buf;
    }
    out += '\n';
  }
  return out;
}

}  // namespace topdog::advisor
