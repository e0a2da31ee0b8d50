#include "exporter/parse/cri_log.h"

#include <algorithm>
#include <utility>

#include "exporter/parse/field_scanner.h"

namespace topdog::exporter {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Whether `text` has the shape of Go's time.RFC3339Nano output: "2006-01-02T15:04:05[.fraction](Z|±07:00)".
// The value itself is not needed (the access-log line has its own time), only a cheap guard against junk.
bool LooksLikeRfc3339(std::string_view text) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (text.size() < kShape.size() + 1) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !IsDigit(text[i]) : text[i] != kShape[i]) return false;
  }
  size_t pos = kShape.size();
  if (text[pos] == '.') {
    size_t digits = 0;
    while (++pos < text.size() && IsDigit(text[pos])) ++digits;
    if (digits == 0 || digits > 9) return false;
  }
  std::string_view zone = text.substr(pos);
  if (zone == "Z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && IsDigit(zone[1]) && IsDigit(zone[2]) &&
         zone[3] == ':' && IsDigit(zone[4]) && IsDigit(zone[5]);
}

}  // namespace

Result<CriLine> ParseCriLine(std::string_view line) {
  CriLine out;
  size_t space = line.find(' ');
  if (space == std::string_view::npos || !LooksLikeRfc3339(line.substr(0, space))) {
    return MakeError(ErrorKind::kBadData, "not a CRI log record: expected an RFC 3339 time, found " +
                                              parse::QuoteEscaped(line.substr(0, std::min<size_t>(space, 40))));
  }
  out.timestamp = line.substr(0, space);
  std::string_view rest = line.substr(space + 1);
  if (rest.starts_with("stdout ")) {
    out.stream = CriStream::kStdout;
  } else if (rest.starts_with("stderr ")) {
    out.stream = CriStream::kStderr;
  } else {
    return MakeError(ErrorKind::kBadData, "not a CRI log record: expected stdout or stderr after the time, found " +
                                              parse::QuoteEscaped(rest.substr(0, 16)));
  }
  rest.remove_prefix(7);
  space = rest.find(' ');
  if (space == std::string_view::npos || space == 0) {
    return MakeError(ErrorKind::kBadData, "not a CRI log record: no tag (P or F) after the stream");
  }
  std::string_view tag = rest.substr(0, space);
  out.partial = tag.substr(0, tag.find(':')) == "P";
  out.content = rest.substr(space + 1);
  return out;
}

Result<std::optional<CriEntry>> CriJoiner::Add(std::string_view record) {
  auto line = ParseCriLine(record);
  if (!line) return tl::unexpected(line.error());
  Pending& pending = pending_[static_cast<size_t>(line->stream)];
  if (!pending.active) {
    if (!line->partial) {  // the common case: a whole line in one record, no copy
      if (line->content.size() > max_line_bytes_) {
        return MakeError(ErrorKind::kBadData, "log line of " + std::to_string(line->content.size()) +
                                                  " bytes is longer than the " + std::to_string(max_line_bytes_) +
                                                  "-byte limit");
      }
      return CriEntry{line->stream, line->timestamp, line->content};
    }
    pending.active = true;
    pending.overflowed = false;
    pending.total_bytes = 0;
    pending.text.clear();
  }
  pending.total_bytes += line->content.size();
  if (!pending.overflowed) {
    if (pending.text.size() + line->content.size() > max_line_bytes_) {
      pending.overflowed = true;
      pending.text.clear();
      pending.text.shrink_to_fit();  // a runaway line must not keep its memory
    } else {
      pending.text.append(line->content);
    }
  }
  if (line->partial) return std::optional<CriEntry>();
  pending.active = false;
  if (pending.overflowed) {
    return MakeError(ErrorKind::kBadData, "joined log line of " + std::to_string(pending.total_bytes) +
                                              " bytes is longer than the " + std::to_string(max_line_bytes_) +
                                              "-byte limit");
  }
  completed_.swap(pending.text);  // keeps both buffers' capacity for the next lines
  pending.text.clear();
  return CriEntry{line->stream, line->timestamp, completed_};
}

void CriJoiner::Reset() {
  for (Pending& pending : pending_) pending = Pending{};
  completed_.clear();
}

}  // namespace topdog::exporter
