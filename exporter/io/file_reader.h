// FileReader: the exporter's only way to read /proc, /sys and udev files, so collectors can be tested on
// in-memory trees. Paths are absolute (built from Paths below). Implementations are thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

// Roots from --path.procfs/--path.sysfs/--path.rootfs/--path.udev.data.
struct Paths {
  std::string procfs = "/proc";
  std::string sysfs = "/sys";
  std::string rootfs = "/";
  std::string udev_data = "/run/udev/data";

  std::string Proc(std::string_view relative) const { return Join(procfs, relative); }
  std::string Sys(std::string_view relative) const { return Join(sysfs, relative); }
  std::string Root(std::string_view relative) const { return Join(rootfs, relative); }
  std::string Udev(std::string_view relative) const { return Join(udev_data, relative); }

  static std::string Join(std::string_view root, std::string_view relative);
};

class FileReader {
 public:
  virtual ~FileReader() = default;
  // Whole file. Errors: kNotFound (ENOENT/ENOTDIR), kRejected (EACCES/EPERM), kUnavailable (other I/O),
  // kBadData when the file exceeds max_bytes (default 16 MiB: /proc files are far smaller).
  virtual Result<std::string> Read(const std::string& path) const = 0;
  // Entry names of a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) const = 0;
  // Target of a symbolic link.
  virtual Result<std::string> ReadLink(const std::string& path) const = 0;
};

// Reads the real file system.
class DiskFileReader : public FileReader {
 public:
  explicit DiskFileReader(size_t max_bytes = 16 << 20) : max_bytes_(max_bytes) {}
  Result<std::string> Read(const std::string& path) const override;
  Result<std::vector<std::string>> ListDir(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;

 private:
  size_t max_bytes_;
};

// A tree in memory for tests: path -> contents; directories are implied by the paths; links explicit.
class InMemoryFileReader : public FileReader {
 public:
  void AddFile(std::string path, std::string contents) { files_[std::move(path)] = std::move(contents); }
  void AddLink(std::string path, std::string target) { links_[std::move(path)] = std::move(target); }
  // Makes Read/ListDir of exactly this path fail with the given error (e.g. permission denied).
  void AddError(std::string path, Error error) { errors_.emplace(std::move(path), std::move(error)); }

  Result<std::string> Read(const std::string& path) const override;
  Result<std::vector<std::string>> ListDir(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;

 private:
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> links_;
  std::map<std::string, Error> errors_;
};

}  // namespace topdog::exporter
