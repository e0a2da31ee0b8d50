#include "advisor/core/lease.h"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace topdog::advisor {

std::string_view LeaseActionName(LeaseAction action) {
  switch (action) {
    case LeaseAction::kCreate:
      return "create";
    case LeaseAction::kFollow:
      return "follow";
    case LeaseAction::kTakeOver:
      return "take_over";
    case LeaseAction::kRenew:
      return "renew";
  }
  return "unknown";
}

LeaseDecision DecideLease(const std::optional<LeaseRecord>& observed, double observed_unchanged_seconds,
                          std::string_view identity, double now_wall_seconds, double lease_duration_seconds) {
  LeaseDecision decision;
  if (!observed) {
    decision.action = LeaseAction::kCreate;
    decision.record = LeaseRecord{std::string(identity), lease_duration_seconds, now_wall_seconds,
                                  now_wall_seconds, 0, ""};
    return decision;
  }
  if (observed->holder == identity) {
    // Also after a restart with the same identity: the holder is us, so acquireTime and transitions stay.
    decision.action = LeaseAction::kRenew;
    decision.record = *observed;
    decision.record.renew_time_seconds = now_wall_seconds;
    decision.record.lease_duration_seconds = lease_duration_seconds;
    return decision;
  }
  const double holder_duration_seconds =
      observed->lease_duration_seconds > 0 ? observed->lease_duration_seconds : lease_duration_seconds;
  const bool released = observed->holder.empty();
  if (!released && observed_unchanged_seconds < holder_duration_seconds) {
    decision.action = LeaseAction::kFollow;
    decision.record = *observed;
    return decision;
  }
  decision.action = LeaseAction::kTakeOver;
  decision.record = *observed;  // keeps the resourceVersion: the update is conditional on it
  decision.record.holder = std::string(identity);
  decision.record.lease_duration_seconds = lease_duration_seconds;
  decision.record.acquire_time_seconds = now_wall_seconds;
  decision.record.renew_time_seconds = now_wall_seconds;
  decision.record.transitions = observed->transitions + 1;
  return decision;
}

std::string FormatMicroTime(double epoch_seconds) {
  using namespace std::chrono;
  const long long total_micros = std::llround(epoch_seconds * 1e6);
  // Floor division, so that times before 1970 still have a fraction in [0, 1).
  long long whole_seconds = total_micros / 1'000'000;
  long long micros = total_micros % 1'000'000;
  if (micros < 0) {
    micros += 1'000'000;
    whole_seconds -= 1;
  }
  const sys_seconds time{std::chrono::seconds{whole_seconds}};
  const sys_days day = floor<days>(time);
  const year_month_day date{day};
  const hh_mm_ss<std::chrono::seconds> clock{time - day};
  char text[40];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02lldZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                static_cast<long long>(clock.seconds().count()));
  std::string out(text);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%06lld", micros);
  out.insert(out.size() - 1, fraction);
  return out;
}

namespace {

// Reads exactly `count` digits at `pos` (advancing it); -1 when they are not all digits.
int ReadDigits(std::string_view text, size_t& pos, size_t count) {
  if (pos + count > text.size()) return -1;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool Expect(std::string_view text, size_t& pos, char c) {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

Result<double> ParseMicroTime(std::string_view text) {
  using namespace std::chrono;
  auto bad = [&] { return MakeError(ErrorKind::kBadData, "not an RFC 3339 time: \"" + std::string(text) + "\""); };
  size_t pos = 0;
  const int year = ReadDigits(text, pos, 4);
  if (year < 0 || !Expect(text, pos, '-')) return bad();
  const int month = ReadDigits(text, pos, 2);
  if (month < 0 || !Expect(text, pos, '-')) return bad();
  const int day = ReadDigits(text, pos, 2);
  if (day < 0 || pos >= text.size() || (text[pos] != 'T' && text[pos] != 't')) return bad();
  ++pos;
  const int hour = ReadDigits(text, pos, 2);
  if (hour < 0 || !Expect(text, pos, ':')) return bad();
  const int minute = ReadDigits(text, pos, 2);
  if (minute < 0 || !Expect(text, pos, ':')) return bad();
  const int second = ReadDigits(text, pos, 2);
  if (second < 0) return bad();
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    double scale = 0.1;
    const size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    const int offset_hours = ReadDigits(text, pos, 2);
    if (offset_hours < 0 || !Expect(text, pos, ':')) return bad();
    const int offset_minutes = ReadDigits(text, pos, 2);
    if (offset_minutes < 0 || offset_hours > 23 || offset_minutes > 59) return bad();
    offset_seconds = sign * (offset_hours * 3600 + offset_minutes * 60);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  const year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  // 60 is a leap second, which RFC 3339 allows and the API server never writes.
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return bad();
  const long long days_since_epoch = sys_days{date}.time_since_epoch().count();
  const long long whole =
      days_since_epoch * 86400 + hour * 3600LL + minute * 60LL + second - static_cast<long long>(offset_seconds);
  // Microseconds are rounded here, as the API server stores them, so that a parsed time formats back unchanged.
  return static_cast<double>(whole) + std::round(fraction * 1e6) / 1e6;
}

}  // namespace topdog::advisor
