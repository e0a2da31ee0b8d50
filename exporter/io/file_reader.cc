#include "exporter/io/file_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace topdog::exporter {
namespace {

// "<operation> <path>: <strerror>", built in one allocation: collectors probe absent files (udev data,
// thermal counters) on every scrape.
Error ErrnoError(int err, std::string_view operation, std::string_view path = {}) {
  ErrorKind kind = ErrorKind::kUnavailable;
  if (err == ENOENT || err == ENOTDIR) kind = ErrorKind::kNotFound;
  if (err == EACCES || err == EPERM) kind = ErrorKind::kRejected;
  std::string_view reason = std::strerror(err);
  std::string message;
  message.reserve(operation.size() + path.size() + reason.size() + 3);
  message.append(operation);
  if (!path.empty()) message.append(" ").append(path);
  message.append(": ").append(reason);
  return Error{kind, std::move(message)};
}

}  // namespace

std::string Paths::Join(std::string_view root, std::string_view relative) {
  std::string out(root);
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  if (relative.empty()) return out;
  if (out.empty() || out.back() != '/') out += '/';
  out += relative;
  return out;
}

// Bounds the descriptors kept open (a few per CPU and disk on large hosts); later files are opened per read.
constexpr size_t kMaxOpenFiles = 256;

DiskFileReader::DiskFileReader(size_t max_bytes, std::vector<std::string> keep_open_roots) : max_bytes_(max_bytes) {
  for (std::string& root : keep_open_roots) {
    if (root.empty()) continue;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    keep_open_prefixes_.push_back(root == "/" ? "/" : root + "/");
  }
}

DiskFileReader::~DiskFileReader() {
  for (auto& [path, file] : open_) ::close(file->fd);
  for (auto& [path, dir] : open_dirs_) {
    if (dir->dir != nullptr) ::closedir(static_cast<DIR*>(dir->dir));
  }
}

size_t DiskFileReader::OpenFiles() const {
  std::lock_guard lock(mu_);
  size_t n = 0;
  for (const auto& [path, file] : open_) {
    std::lock_guard file_lock(file->mu);
    n += file->fd >= 0 ? 1 : 0;
  }
  for (const auto& [path, dir] : open_dirs_) {
    std::lock_guard dir_lock(dir->mu);
    n += dir->dir != nullptr ? 1 : 0;
  }
  return n;
}

bool DiskFileReader::KeepOpen(const std::string& path) const {
  for (const std::string& prefix : keep_open_prefixes_) {
    if (path.compare(0, prefix.size(), prefix) != 0) continue;
    std::string_view rest = std::string_view(path).substr(prefix.size());
    std::string_view first = rest.substr(0, rest.find('/'));
    if (first == "thread-self") return false;
    bool pid = !first.empty() && std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; });
    return !pid || first == "1";
  }
  return false;
}

// Reads from offset 0 to EOF straight into the string. /proc and /sys report size 0, so read until EOF
// rather than trusting fstat; `size_hint` (the last size) makes one read(2) enough in the usual case.
Result<void> DiskFileReader::ReadFd(int fd, const std::string& path, size_t size_hint, std::string& out) const {
  // At least the buffer's capacity (free to use) and some room above the file's last size.
  out.resize(std::min(max_bytes_ + 1,
                      std::max({out.capacity(), size_hint + size_hint / 4 + 1024, static_cast<size_t>(4096)})));
  size_t used = 0;
  while (true) {
    if (used == out.size()) {
      if (out.size() > max_bytes_) {
        return MakeError(ErrorKind::kBadData,
                         "read " + path + ": file larger than " + std::to_string(max_bytes_) + " bytes");
      }
      out.resize(std::min(out.size() * 2, max_bytes_ + 1));
    }
    ssize_t n = ::pread(fd, out.data() + used, out.size() - used, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      return tl::unexpected(ErrnoError(err, "read", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return {};
}

template <class Entry>
Entry* DiskFileReader::Kept(std::unordered_map<std::string, std::unique_ptr<Entry>>& entries,
                            const std::string& path) const {
  if (!KeepOpen(path)) return nullptr;
  std::lock_guard lock(mu_);
  if (auto it = entries.find(path); it != entries.end()) return it->second.get();
  if (open_.size() + open_dirs_.size() >= kMaxOpenFiles) return nullptr;
  return entries.emplace(path, std::make_unique<Entry>()).first->second.get();
}

Result<std::string> DiskFileReader::Read(const std::string& path) const {
  std::string out;
  auto read = ReadInto(path, out);
  if (!read) return tl::unexpected(read.error());
  return out;
}

Result<std::string_view> DiskFileReader::ReadInto(const std::string& path, std::string& out) const {
  if (OpenFile* kept = Kept(open_, path)) {
    std::lock_guard lock(kept->mu);
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = kept->fd < 0;
      if (fresh) {
        kept->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (kept->fd < 0) {
          int err = errno;  // before the string concatenation below can touch it
          return tl::unexpected(ErrnoError(err, "open", path));
        }
      }
      auto read = ReadFd(kept->fd, path, kept->last_size, out);
      if (read) {
        kept->last_size = out.size();
        return std::string_view(out);
      }
      if (read.error().kind == ErrorKind::kBadData || fresh) return tl::unexpected(read.error());
      ::close(kept->fd);  // the file may be gone (a removed device); open it again
      kept->fd = -1;
    }
  }

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;  // before the string concatenation below can touch it
    return tl::unexpected(ErrnoError(err, "open", path));
  }
  auto read = ReadFd(fd, path, 0, out);
  ::close(fd);
  if (!read) return tl::unexpected(read.error());
  return std::string_view(out);
}

bool DiskFileReader::MountTableUnchanged(const std::string& path) const {
  std::string_view name = std::string_view(path).substr(path.rfind('/') + 1);
  if (name != "mountinfo" && name != "mounts") return false;  // other files never signal POLLPRI
  OpenFile* kept = nullptr;
  {
    std::lock_guard lock(mu_);
    auto it = open_.find(path);
    if (it == open_.end()) return false;
    kept = it->second.get();
  }
  std::lock_guard lock(kept->mu);
  if (kept->fd < 0) return false;
  pollfd fd{kept->fd, POLLPRI, 0};
  int ready = ::poll(&fd, 1, 0);
  return ready == 0;  // > 0: the table changed (POLLPRI|POLLERR); < 0: unknown, read again
}

Result<std::vector<std::string>> DiskFileReader::ListOpenDir(void* handle) {
  DIR* dir = static_cast<DIR*>(handle);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  if (errno != 0) return tl::unexpected(ErrnoError(errno, "readdir"));
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> DiskFileReader::ListDir(const std::string& path) const {
  if (OpenDir* kept = Kept(open_dirs_, path)) {
    std::lock_guard lock(kept->mu);
    if (kept->dir != nullptr) {
      ::rewinddir(static_cast<DIR*>(kept->dir));
      auto names = ListOpenDir(kept->dir);
      if (names && !names->empty()) return names;
      // Empty or failing: the directory may be gone (a removed device). Look again at the path.
      ::closedir(static_cast<DIR*>(kept->dir));
      kept->dir = nullptr;
    }
    kept->dir = ::opendir(path.c_str());
    if (kept->dir == nullptr) {
      int err = errno;
      return tl::unexpected(ErrnoError(err, "opendir", path));
    }
    auto names = ListOpenDir(kept->dir);
    if (!names) return tl::unexpected(names.error().WithContext(path));
    return names;
  }
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    int err = errno;
    return tl::unexpected(ErrnoError(err, "opendir", path));
  }
  auto names = ListOpenDir(dir);
  ::closedir(dir);
  if (!names) return tl::unexpected(names.error().WithContext(path));
  return names;
}

Result<std::string> DiskFileReader::ReadLink(const std::string& path) const {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) {
    int err = errno;
    return tl::unexpected(ErrnoError(err, "readlink", path));
  }
  return std::string(buf, static_cast<size_t>(n));
}

Result<std::string> InMemoryFileReader::Read(const std::string& path) const {
  if (auto it = errors_.find(path); it != errors_.end()) return tl::unexpected(it->second);
  auto it = files_.find(path);
  if (it == files_.end()) return MakeError(ErrorKind::kNotFound, "open " + path + ": No such file or directory");
  return it->second;
}

Result<std::vector<std::string>> InMemoryFileReader::ListDir(const std::string& path) const {
  if (auto it = errors_.find(path); it != errors_.end()) return tl::unexpected(it->second);
  std::string prefix = path;
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  std::set<std::string> names;
  auto collect = [&](const auto& map) {
    for (auto it = map.lower_bound(prefix); it != map.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
      std::string rest = it->first.substr(prefix.size());
      names.insert(rest.substr(0, rest.find('/')));
    }
  };
  collect(files_);
  collect(links_);
  if (names.empty()) return MakeError(ErrorKind::kNotFound, "opendir " + path + ": No such file or directory");
  return std::vector<std::string>(names.begin(), names.end());
}

Result<std::string> InMemoryFileReader::ReadLink(const std::string& path) const {
  auto it = links_.find(path);
  if (it == links_.end()) return MakeError(ErrorKind::kNotFound, "readlink " + path + ": not a link");
  return it->second;
}

}  // namespace topdog::exporter
