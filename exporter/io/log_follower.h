// LogFollower: follows log files named by paths or glob(7) patterns, like `tail -F`, handing every new
// complete line to a LineHandler of its file. Survives rotation by rename+create (the old file is finished
// through its open descriptor), copytruncate, partial last lines, files that disappear and come back, and
// restarts (FilePositions saved by the caller and given back to Start). LineSplitter and the position-file
// format are pure; LogFollower makes the syscalls (glob, stat, open, pread). Not thread-safe: one thread at
// a time (the access-log collector holds its mutex around every call).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// What a follower does with the lines of one file. Called only from LogFollower's calls.
class LineHandler {
 public:
  virtual ~LineHandler() = default;
  // One complete line, without its '\n'. The view is valid during the call only.
  virtual void Line(std::string_view line) = 0;
  // A line longer than the limit: its first bytes (`head`, at most kTooLongHeadBytes) and its length
  // without '\n'. Its other bytes were dropped as they came, so memory stays bounded.
  virtual void TooLong(std::string_view head, uint64_t bytes) = 0;
  // The file was truncated in place (copytruncate): whatever the handler keeps of earlier lines (a partial
  // CRI record) is void.
  virtual void Reset() {}
};

// Splits a byte stream into lines. Lines within one Feed are handed out as views of the input (no copy);
// only a line split across Feeds is copied. Pure; not thread-safe.
class LineSplitter {
 public:
  static constexpr size_t kTooLongHeadBytes = 256;

  explicit LineSplitter(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

  // Hands each line completed by `bytes` to `handler`; keeps the unfinished rest.
  void Feed(std::string_view bytes, LineHandler& handler);
  // Hands the unfinished rest, if any, over as a last line (a file that ends without '\n').
  void Finish(LineHandler& handler);
  // Drops the unfinished rest.
  void Reset();
  // Bytes of the input that belong to the unfinished line (also those dropped from a too-long one): the
  // stream position minus this is the end of the last complete line.
  uint64_t pending_bytes() const { return pending_bytes_; }

 private:
  // Adds a piece of the current unfinished line.
  void Append(std::string_view piece);
  void Complete(LineHandler& handler);

  size_t max_line_bytes_;
  std::string partial_;  // the unfinished line, or the head of a too-long one
  uint64_t pending_bytes_ = 0;
  bool too_long_ = false;
};

// Where reading stopped in one file: the end of its last complete line.
struct FilePosition {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;
  bool operator==(const FilePosition&) const = default;
};
using FilePositions = std::map<std::string, FilePosition>;  // by path as configured or matched

// The position file: a header line, then "<device> <inode> <offset> <path>" per file. Paths holding a
// newline are left out (they would break the format; such a file restarts from its end or from 0).
std::string FormatPositions(const FilePositions& positions);
// kBadData naming the line for anything else (a torn or foreign file).
Result<FilePositions> ParsePositions(std::string_view text);
// Writes `text` to `path` through a temporary file and rename(2), so a reader or a restart sees the old or
// the new content, never part of one. No fsync: the file is rewritten on every scrape, which an fsync on a
// busy disk could stall; a process crash loses nothing, a kernel crash may leave an older file (some lines
// counted twice) or an unreadable one (ignored: files start at their end).
Result<void> WritePositionFile(const std::string& path, std::string_view text);

struct LogFollowerOptions {
  std::vector<std::string> patterns;  // paths, or glob(7) patterns (those with * ? or [)
  size_t max_line_bytes = 64 * 1024;
  size_t read_chunk_bytes = 256 * 1024;
  // A file renamed away or deleted is read on through its descriptor until it has had no new bytes for
  // this long (nginx writes to it until `nginx -s reopen`, containerd until it reopens), then closed.
  double rotate_wait_seconds = 5;
  // A configured path (not a glob) that is absent for this long counts as missing: long enough that the
  // gap between logrotate's rename and nginx's reopen is not reported.
  double missing_grace_seconds = 5;
  // Files followed at once (glob matches beyond are ignored, with a warning).
  size_t max_files = 256;
};

struct LogFollowerStats {
  uint64_t bytes_read = 0;
  uint64_t rotations_rename = 0;    // a path now names another file than the one followed
  uint64_t rotations_truncate = 0;  // a followed file got shorter than what was read of it
  uint64_t read_errors = 0;
  size_t following = 0;  // files open under their path
  size_t draining = 0;   // renamed away or deleted, still read until quiet
  size_t missing = 0;    // configured paths absent for longer than missing_grace_seconds
};

class LogFollower {
 public:
  // Makes the handler of a newly opened file (also for a new file at a rotated path).
  using HandlerFactory = std::function<std::unique_ptr<LineHandler>(const std::string& path)>;

  LogFollower(LogFollowerOptions options, HandlerFactory handlers);
  ~LogFollower();
  LogFollower(const LogFollower&) = delete;
  LogFollower& operator=(const LogFollower&) = delete;

  // How files found by Start begin: at a saved position when `saved` has their path with the same device
  // and inode and an offset within the file; else at 0 when `saved` is given (the file is new or was rotated
  // or truncated while we were down); else at their end (a first run: old lines are not new requests)
  // unless `from_beginning`. Files found later always begin at 0. `now_seconds`: any monotonic-enough clock.
  void Start(const FilePositions* saved, bool from_beginning, double now_seconds);

  struct PollResult {
    uint64_t bytes = 0;
    bool budget_exhausted = false;  // more may be waiting: poll again
  };
  // Looks for new, rotated, truncated and vanished files, then reads what is new, at most `max_bytes` in
  // total, and closes drained files that have been quiet for rotate_wait_seconds.
  PollResult Poll(double now_seconds, uint64_t max_bytes);

  // The positions of the files open under their path, to save for a restart.
  FilePositions Positions() const;
  const LogFollowerStats& stats() const { return stats_; }
  // Configured paths currently missing (past the grace period), each with the reason.
  std::vector<std::string> MissingPaths() const;

 private:
  struct File;
  void Discover(double now, bool initial);
  void Check(File& file, double now, bool initial);
  void Open(File& file, double now, bool initial);
  void Drain(std::unique_ptr<File> file, double now);
  uint64_t Read(File& file, double now, uint64_t max_bytes);
  void UpdateStats(double now);

  LogFollowerOptions options_;
  HandlerFactory handlers_;
  std::vector<std::string> explicit_paths_;
  std::vector<std::string> globs_;
  std::map<std::string, std::unique_ptr<File>> files_;  // by path
  std::vector<std::unique_ptr<File>> draining_;
  const FilePositions* saved_ = nullptr;  // during Start only
  bool have_saved_ = false;
  bool from_beginning_ = false;
  bool warned_max_files_ = false;
  std::vector<char> buffer_;
  LogFollowerStats stats_;
};

}  // namespace topdog::exporter
