// Container log files in the kubelet's CRI logging format ("<RFC 3339 time> <stdout|stderr> <P|F> <text>",
// one record per line, as containerd and CRI-O write /var/log/pods/**/N.log): ParseCriLine splits one
// record; CriJoiner joins the partial (P) records of a long line back into that line. Pure; ParseCriLine is
// thread-safe, a CriJoiner is not (use one per followed file).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

enum class CriStream { kStdout, kStderr };

struct CriLine {
  std::string_view timestamp;  // as written, e.g. "2026-11-27T13:40:39.123456789Z"; checked for shape only
  CriStream stream = CriStream::kStdout;
  bool partial = false;      // tag "P": the line continues in the stream's next record
  std::string_view content;  // the log text, without the record's '\n'
};

// Splits one record (without its '\n'). As the kubelet's parser (pkg/kubelet/kuberuntime/logs), a tag
// other than "P" (after splitting tags on ':') means a full line. kBadData for anything that is not such a
// record (a plain log line, binary junk), naming the first field that does not fit.
Result<CriLine> ParseCriLine(std::string_view line);

// One complete log line, rejoined from its records.
struct CriEntry {
  CriStream stream = CriStream::kStdout;
  std::string_view timestamp;  // of the record that completed the line
  std::string_view content;
};

class CriJoiner {
 public:
  // Far above nginx's longest access-log line (and containerd's 16 KiB split size), so real lines are
  // always joined, while a stream that never sends its "F" cannot grow memory without bound.
  static constexpr size_t kDefaultMaxLineBytes = 64 * 1024;

  explicit CriJoiner(size_t max_line_bytes = kDefaultMaxLineBytes) : max_line_bytes_(max_line_bytes) {}

  // Feeds the next record of the file. Returns the completed line when `record` is a full record or the
  // final one of a partial run, nullopt while a line is still partial. stdout and stderr are joined
  // separately (containerd interleaves them freely). kBadData for a record that is not CRI (pending
  // partials are kept) and, once at its final record, for a joined line longer than max_line_bytes (its
  // parts are dropped as they come, so memory stays bounded).
  // The returned views point into `record` (an unsplit line: no copy) or into the joiner; both are valid
  // until the next call to Add() or Reset().
  Result<std::optional<CriEntry>> Add(std::string_view record);

  // Drops pending partial lines (the followed file was rotated or truncated).
  void Reset();

  // Bytes held for unfinished lines of both streams.
  size_t pending_bytes() const { return pending_[0].text.size() + pending_[1].text.size(); }

 private:
  struct Pending {
    std::string text;
    bool active = false;      // a partial run has started
    bool overflowed = false;  // it went over max_line_bytes_: drop until the final record
    size_t total_bytes = 0;   // of the whole run, for the error message
  };

  size_t max_line_bytes_;
  Pending pending_[2];     // indexed by CriStream
  std::string completed_;  // the last joined line handed out
};

}  // namespace topdog::exporter
