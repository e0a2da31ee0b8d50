#include "advisor/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace topdog::advisor {
namespace {

// Maps errno to the kinds of common/result.h; the message names the operation and the file, never content.
Error AtomicFileError(std::string_view what, const std::string& path, int error_number) {
  ErrorKind kind = ErrorKind::kUnavailable;
  if (error_number == ENOENT || error_number == ENOTDIR) kind = ErrorKind::kNotFound;
  if (error_number == EACCES || error_number == EPERM || error_number == EROFS) kind = ErrorKind::kRejected;
  return Error{kind, path + ": " + std::string(what) + ": " + std::strerror(error_number)};
}

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Result<void> WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(AtomicFileError("write", path, errno));
    }
    bytes.remove_prefix(static_cast<size_t>(written));
  }
  return {};
}

}  // namespace

Result<void> WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return tl::unexpected(AtomicFileError("create", temporary, errno));
  Result<void> written = WriteAll(fd, bytes, temporary);
  // fsync before the rename: otherwise a crash can leave the new name pointing at an empty file.
  if (written && ::fsync(fd) != 0) written = tl::unexpected(AtomicFileError("fsync", temporary, errno));
  if (::close(fd) != 0 && written) written = tl::unexpected(AtomicFileError("close", temporary, errno));
  if (!written) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error_number = errno;
    ::unlink(temporary.c_str());
    return tl::unexpected(AtomicFileError("rename", path, error_number));
  }
  // The rename itself is durable only once the directory is synced.
  const std::string directory = DirectoryOf(path);
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return tl::unexpected(AtomicFileError("open directory", directory, errno));
  const int synced = ::fsync(dir_fd);
  const int error_number = errno;
  ::close(dir_fd);
  if (synced != 0) return tl::unexpected(AtomicFileError("fsync directory", directory, error_number));
  return {};
}

}  // namespace topdog::advisor
