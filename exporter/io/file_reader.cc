#include "exporter/io/file_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

namespace topdog::exporter {
namespace {

Error ErrnoError(int err, const std::string& what) {
  ErrorKind kind = ErrorKind::kUnavailable;
  if (err == ENOENT || err == ENOTDIR) kind = ErrorKind::kNotFound;
  if (err == EACCES || err == EPERM) kind = ErrorKind::kRejected;
  return Error{kind, what + ": " + std::strerror(err)};
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

Result<std::string> DiskFileReader::Read(const std::string& path) const {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;  // before the string concatenation below can touch it
    return tl::unexpected(ErrnoError(err, "open " + path));
  }
  std::string out;
  // /proc and /sys report size 0, so read in chunks until EOF rather than trusting fstat.
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return tl::unexpected(ErrnoError(err, "read " + path));
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes_) {
      ::close(fd);
      return MakeError(ErrorKind::kBadData, "read " + path + ": file larger than " + std::to_string(max_bytes_) +
                                                " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::vector<std::string>> DiskFileReader::ListDir(const std::string& path) const {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) {
    int err = errno;
    return tl::unexpected(ErrnoError(err, "opendir " + path));
  }
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::string> DiskFileReader::ReadLink(const std::string& path) const {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) {
    int err = errno;
    return tl::unexpected(ErrnoError(err, "readlink " + path));
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
