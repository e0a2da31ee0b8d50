#include "exporter/io/log_follower.h"

#include <fcntl.h>
#include <glob.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <utility>

#include "common/logging.h"

namespace topdog::exporter {

// ---- LineSplitter ----

void LineSplitter::Feed(std::string_view bytes, LineHandler& handler) {
  size_t pos = 0;
  while (pos < bytes.size()) {
    const void* newline = std::memchr(bytes.data() + pos, '\n', bytes.size() - pos);
    if (newline == nullptr) {
      Append(bytes.substr(pos));
      return;
    }
    const size_t end = static_cast<size_t>(static_cast<const char*>(newline) - bytes.data());
    if (pending_bytes_ == 0) {  // the whole line is in this piece: hand out a view, no copy
      const size_t length = end - pos;
      if (length > max_line_bytes_) {
        handler.TooLong(bytes.substr(pos, std::min(length, kTooLongHeadBytes)), length);
      } else {
        handler.Line(bytes.substr(pos, length));
      }
    } else {
      Append(bytes.substr(pos, end - pos));
      Complete(handler);
    }
    pos = end + 1;
  }
}

void LineSplitter::Append(std::string_view piece) {
  pending_bytes_ += piece.size();
  if (!too_long_ && partial_.size() + piece.size() > max_line_bytes_) {
    too_long_ = true;
    if (partial_.size() > kTooLongHeadBytes) partial_.resize(kTooLongHeadBytes);
  }
  if (!too_long_) {
    partial_.append(piece);
  } else if (partial_.size() < kTooLongHeadBytes) {
    partial_.append(piece.substr(0, kTooLongHeadBytes - partial_.size()));
  }
}

void LineSplitter::Complete(LineHandler& handler) {
  if (too_long_) {
    handler.TooLong(partial_, pending_bytes_);
  } else {
    handler.Line(partial_);
  }
  Reset();
}

void LineSplitter::Finish(LineHandler& handler) {
  if (pending_bytes_ > 0) Complete(handler);
}

void LineSplitter::Reset() {
  partial_.clear();
  pending_bytes_ = 0;
  too_long_ = false;
}

// ---- position file ----

namespace {

constexpr std::string_view kPositionsHeader = "# topdog-exporter access-log positions v1";

bool ParseUint(std::string_view text, uint64_t& value) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

std::string FormatPositions(const FilePositions& positions) {
  std::string out(kPositionsHeader);
  out += '\n';
  for (const auto& [path, position] : positions) {
    if (path.empty() || path.find('\n') != std::string::npos) continue;
    out += std::to_string(position.device) + ' ' + std::to_string(position.inode) + ' ' +
           std::to_string(position.offset) + ' ' + path + '\n';
  }
  return out;
}

Result<FilePositions> ParsePositions(std::string_view text) {
  size_t line_number = 0;
  FilePositions positions;
  bool header = false;
  while (!text.empty()) {
    ++line_number;
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) {
      return MakeError(ErrorKind::kBadData, "line " + std::to_string(line_number) + ": no newline (a torn file?)");
    }
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (!header) {
      if (line != kPositionsHeader) return MakeError(ErrorKind::kBadData, "not a position file (bad first line)");
      header = true;
      continue;
    }
    FilePosition position;
    uint64_t* fields[] = {&position.device, &position.inode, &position.offset};
    bool ok = true;
    for (uint64_t* field : fields) {
      const size_t space = line.find(' ');
      if (space == std::string_view::npos || !ParseUint(line.substr(0, space), *field)) {
        ok = false;
        break;
      }
      line.remove_prefix(space + 1);
    }
    if (!ok || line.empty()) {
      return MakeError(ErrorKind::kBadData,
                       "line " + std::to_string(line_number) + ": expected \"<device> <inode> <offset> <path>\"");
    }
    positions[std::string(line)] = position;
  }
  if (!header) return MakeError(ErrorKind::kBadData, "empty position file");
  return positions;
}

Result<void> WritePositionFile(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".tmp";
  auto fail = [&](std::string_view step, const std::string& file) {
    const int error_number = errno;
    ErrorKind kind = ErrorKind::kUnavailable;
    if (error_number == ENOENT || error_number == ENOTDIR) kind = ErrorKind::kNotFound;
    if (error_number == EACCES || error_number == EPERM || error_number == EROFS) kind = ErrorKind::kRejected;
    return MakeError(kind, file + ": " + std::string(step) + ": " + std::strerror(error_number));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("create", temporary);
  while (!text.empty()) {
    const ssize_t written = ::write(fd, text.data(), text.size());
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) {
      auto error = fail("write", temporary);
      ::close(fd);
      ::unlink(temporary.c_str());
      return error;
    }
    text.remove_prefix(static_cast<size_t>(written));
  }
  if (::close(fd) != 0) {
    auto error = fail("close", temporary);
    ::unlink(temporary.c_str());
    return error;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    auto error = fail("rename", path);
    ::unlink(temporary.c_str());
    return error;
  }
  return {};
}

// ---- LogFollower ----

struct LogFollower::File {
  File(std::string path_in, bool from_glob_in, size_t max_line_bytes)
      : path(std::move(path_in)), from_glob(from_glob_in), splitter(max_line_bytes) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }

  std::string path;
  bool from_glob;
  int fd = -1;
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t offset = 0;  // next byte to read
  LineSplitter splitter;
  std::unique_ptr<LineHandler> handler;
  bool had_file = false;      // another file was followed under this path before: a new one is a rotation
  double missing_since = -1;  // when the path was last found absent; < 0 while present
  std::string missing_reason;
  bool reported_missing = false;
  double last_data = 0;  // when bytes last came (draining files close after rotate_wait of quiet)
  bool at_eof = false;
  std::string same_as;  // not read: the same file (device and inode) is followed under this other path
};

namespace {

bool IsGlob(std::string_view pattern) { return pattern.find_first_of("*?[") != std::string_view::npos; }

// The offset just after the last '\n' within the file's last `window` bytes (a file being written may end
// in a partial line, which is not ours to count); `size` when there is none in the window.
uint64_t EndOfLastLine(int fd, uint64_t size, size_t window) {
  if (size == 0) return 0;
  const uint64_t start = size > window ? size - window : 0;
  std::string tail(static_cast<size_t>(size - start), '\0');
  const ssize_t n = ::pread(fd, tail.data(), tail.size(), static_cast<off_t>(start));
  if (n <= 0) return size;
  const size_t newline = std::string_view(tail.data(), static_cast<size_t>(n)).rfind('\n');
  return newline == std::string_view::npos ? size : start + newline + 1;
}

}  // namespace

LogFollower::LogFollower(LogFollowerOptions options, HandlerFactory handlers)
    : options_(std::move(options)), handlers_(std::move(handlers)) {
  std::set<std::string> seen;
  for (const std::string& pattern : options_.patterns) {
    if (!seen.insert(pattern).second) continue;
    (IsGlob(pattern) ? globs_ : explicit_paths_).push_back(pattern);
  }
  buffer_.resize(std::max<size_t>(options_.read_chunk_bytes, 4096));
}

LogFollower::~LogFollower() = default;

void LogFollower::Start(const FilePositions* saved, bool from_beginning, double now_seconds) {
  saved_ = saved;
  have_saved_ = saved != nullptr;
  from_beginning_ = from_beginning;
  Discover(now_seconds, /*initial=*/true);
  saved_ = nullptr;
  UpdateStats(now_seconds);
}

void LogFollower::Discover(double now, bool initial) {
  std::set<std::string> wanted(explicit_paths_.begin(), explicit_paths_.end());
  std::set<std::string> matched;
  for (const std::string& pattern : globs_) {
    glob_t found{};
    if (::glob(pattern.c_str(), 0, nullptr, &found) == 0) {
      for (size_t i = 0; i < found.gl_pathc; ++i) matched.insert(found.gl_pathv[i]);
    }
    ::globfree(&found);
  }
  for (const std::string& path : matched) {
    if (wanted.count(path) != 0) continue;
    wanted.insert(path);
    if (files_.count(path) != 0) continue;
    if (files_.size() >= options_.max_files) {
      if (!warned_max_files_) {
        spdlog::warn("too many access-log files, ignoring the rest collector=accesslog max_files={} path={}",
                     options_.max_files, LogQuote(path));
        warned_max_files_ = true;
      }
      continue;
    }
    files_[path] = std::make_unique<File>(path, /*from_glob=*/true, options_.max_line_bytes);
  }
  for (const std::string& path : explicit_paths_) {
    if (files_.count(path) == 0) {
      files_[path] = std::make_unique<File>(path, /*from_glob=*/false, options_.max_line_bytes);
    }
  }
  for (auto it = files_.begin(); it != files_.end();) {
    if (wanted.count(it->first) == 0) {  // no longer matched by its glob: finish it, then forget the path
      if (it->second->fd >= 0) Drain(std::move(it->second), now);
      spdlog::info("access-log file no longer matched, finishing it collector=accesslog path={}", LogQuote(it->first));
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [path, file] : files_) Check(*file, now, initial);
}

void LogFollower::Check(File& file, double now, bool initial) {
  if (file.fd < 0) {
    Open(file, now, initial);
    return;
  }
  struct stat st {};
  const bool present = ::stat(file.path.c_str(), &st) == 0;
  if (!present || static_cast<uint64_t>(st.st_dev) != file.device || static_cast<uint64_t>(st.st_ino) != file.inode) {
    // Renamed away (rotation) or deleted: finish the old file through its descriptor, follow the path anew.
    // `file` is the old one: moved to draining_ here, not used after.
    const std::string path = file.path;
    auto fresh = std::make_unique<File>(path, file.from_glob, options_.max_line_bytes);
    fresh->had_file = true;
    std::unique_ptr<File>& slot = files_[path];
    std::unique_ptr<File> old = std::move(slot);
    slot = std::move(fresh);
    spdlog::debug("access-log file renamed or deleted, finishing it collector=accesslog path={}", LogQuote(path));
    Drain(std::move(old), now);
    Open(*slot, now, /*initial=*/false);
    return;
  }
  if (static_cast<uint64_t>(st.st_size) < file.offset) {  // truncated in place (copytruncate)
    ++stats_.rotations_truncate;
    spdlog::debug("access-log file truncated, reading it from the start collector=accesslog path={} size={} offset={}",
                  LogQuote(file.path), st.st_size, file.offset);
    file.offset = 0;
    file.splitter.Reset();
    file.handler->Reset();
  }
}

void LogFollower::Open(File& file, double now, bool initial) {
  // O_NONBLOCK: open(2) of a FIFO would otherwise wait for a writer.
  const int fd = ::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st {};
  std::string reason;
  if (fd < 0) {
    reason = std::strerror(errno);
  } else if (::fstat(fd, &st) != 0) {
    reason = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    reason = "not a regular file";
  }
  if (!reason.empty()) {
    if (fd >= 0) ::close(fd);
    if (file.missing_since < 0) file.missing_since = now;
    file.missing_reason = std::move(reason);
    return;
  }
  const auto device = static_cast<uint64_t>(st.st_dev);
  const auto inode = static_cast<uint64_t>(st.st_ino);
  // One reader per file, whatever its names: a glob matching the rotated name (access.log*), a symlink and its
  // target (/var/log/containers -> /var/log/pods), or the path coming back after a failed stat would otherwise
  // read the same bytes twice.
  for (const auto& [other_path, other] : files_) {
    if (other.get() == &file || other->fd < 0 || other->device != device || other->inode != inode) continue;
    ::close(fd);
    if (file.same_as != other_path) {
      spdlog::info(
          "access-log path names a file already followed, not read twice collector=accesslog path={} "
          "same_as={}",
          LogQuote(file.path), LogQuote(other_path));
    }
    file.same_as = other_path;
    file.missing_since = -1;
    file.missing_reason.clear();
    return;
  }
  file.same_as.clear();
  for (auto it = draining_.begin(); it != draining_.end(); ++it) {
    File& old = **it;
    if (old.device != device || old.inode != inode) continue;
    // The file being finished under its old name is followed under this one: same reader, same position.
    ::close(fd);
    file.fd = old.fd;
    old.fd = -1;
    file.device = device;
    file.inode = inode;
    file.offset = old.offset;
    file.splitter = std::move(old.splitter);
    file.handler = std::move(old.handler);
    file.missing_since = -1;
    file.missing_reason.clear();
    file.reported_missing = false;
    file.last_data = now;
    draining_.erase(it);
    spdlog::info("following access-log file collector=accesslog path={} from={} offset={}", LogQuote(file.path),
                 LogQuote("the same file under its previous name"), file.offset);
    return;
  }
  file.fd = fd;
  file.device = device;
  file.inode = inode;
  const auto size = static_cast<uint64_t>(st.st_size);
  file.offset = 0;
  std::string_view from = "start";
  if (initial) {
    const FilePosition* position = nullptr;
    if (saved_ != nullptr) {
      auto it = saved_->find(file.path);
      if (it != saved_->end()) position = &it->second;
    }
    if (position != nullptr && position->device == file.device && position->inode == file.inode &&
        position->offset <= size) {
      file.offset = position->offset;
      from = "saved position";
    } else if (!have_saved_ && !from_beginning_) {
      file.offset = EndOfLastLine(fd, size, options_.max_line_bytes);
      from = "end";
    }
  }
  if (file.had_file) ++stats_.rotations_rename;
  if (file.reported_missing || initial || !file.had_file) {
    spdlog::info("following access-log file collector=accesslog path={} from={} offset={}", LogQuote(file.path),
                 LogQuote(from), file.offset);
  }
  file.missing_since = -1;
  file.missing_reason.clear();
  file.reported_missing = false;
  file.last_data = now;
  file.handler = handlers_(file.path);
}

void LogFollower::Drain(std::unique_ptr<File> file, double now) {
  file->last_data = now;
  draining_.push_back(std::move(file));
  // A bound on descriptors: the oldest drained file is finished first.
  while (draining_.size() > options_.max_files) {
    File& oldest = *draining_.front();
    oldest.splitter.Finish(*oldest.handler);
    draining_.erase(draining_.begin());
  }
}

uint64_t LogFollower::Read(File& file, double now, uint64_t max_bytes) {
  uint64_t total = 0;
  file.at_eof = false;
  while (total < max_bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), max_bytes - total));
    const ssize_t n = ::pread(file.fd, buffer_.data(), want, static_cast<off_t>(file.offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (stats_.read_errors++ == 0) {
        spdlog::warn("reading an access-log file failed collector=accesslog path={} err={}", LogQuote(file.path),
                     LogQuote(std::strerror(errno)));
      }
      file.at_eof = true;  // a failing file is retried on the next poll, not in a loop
      break;
    }
    if (n == 0) {
      file.at_eof = true;
      break;
    }
    file.offset += static_cast<uint64_t>(n);
    total += static_cast<uint64_t>(n);
    file.last_data = now;
    file.splitter.Feed(std::string_view(buffer_.data(), static_cast<size_t>(n)), *file.handler);
  }
  stats_.bytes_read += total;
  return total;
}

LogFollower::PollResult LogFollower::Poll(double now_seconds, uint64_t max_bytes) {
  Discover(now_seconds, /*initial=*/false);
  PollResult result;
  // Rotated-away files first: their lines are older.
  for (auto& file : draining_) {
    if (result.bytes >= max_bytes) break;
    result.bytes += Read(*file, now_seconds, max_bytes - result.bytes);
  }
  for (auto& [path, file] : files_) {
    if (file->fd < 0) continue;
    if (result.bytes >= max_bytes) break;
    result.bytes += Read(*file, now_seconds, max_bytes - result.bytes);
  }
  result.budget_exhausted = result.bytes >= max_bytes;
  if (!result.budget_exhausted) {
    std::erase_if(draining_, [&](const std::unique_ptr<File>& file) {
      if (!file->at_eof || now_seconds - file->last_data < options_.rotate_wait_seconds) return false;
      file->splitter.Finish(*file->handler);  // nginx ends every line; a rest is a torn last line
      spdlog::debug("finished rotated access-log file collector=accesslog path={}", LogQuote(file->path));
      return true;
    });
  }
  UpdateStats(now_seconds);
  return result;
}

void LogFollower::UpdateStats(double now) {
  stats_.following = 0;
  stats_.missing = 0;
  stats_.draining = draining_.size();
  for (auto& [path, file] : files_) {
    if (file->fd >= 0) {
      ++stats_.following;
      continue;
    }
    if (file->from_glob || file->missing_since < 0) continue;
    if (now - file->missing_since < options_.missing_grace_seconds) continue;
    ++stats_.missing;
    if (!file->reported_missing) {
      file->reported_missing = true;
      spdlog::warn(
          "access-log file is missing; its requests are not counted until it is back collector=accesslog "
          "path={} err={}",
          LogQuote(path), LogQuote(file->missing_reason));
    }
  }
}

FilePositions LogFollower::Positions() const {
  FilePositions positions;
  for (const auto& [path, file] : files_) {
    if (file->fd < 0) continue;
    positions[path] = FilePosition{file->device, file->inode, file->offset - file->splitter.pending_bytes()};
  }
  return positions;
}

std::vector<std::string> LogFollower::MissingPaths() const {
  std::vector<std::string> missing;
  for (const auto& [path, file] : files_) {
    if (file->reported_missing) missing.push_back(path + ": " + file->missing_reason);
  }
  return missing;
}

}  // namespace topdog::exporter
