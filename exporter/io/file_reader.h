// FileReader: the exporter's only way to read /proc, /sys and udev files, so collectors can be tested on
// in-memory trees. Paths are absolute (built from Paths below). Implementations are thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // Like Read, into `buffer`, whose storage is reused: a collector keeps one buffer per file it reads on every
  // scrape, so a steady scrape allocates nothing for its reads. The view is valid until `buffer` changes.
  virtual Result<std::string_view> ReadInto(const std::string& path, std::string& buffer) const {
    auto text = Read(path);
    if (!text) return tl::unexpected(text.error());
    buffer = std::move(*text);
    return std::string_view(buffer);
  }
  // Entry names of a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) const = 0;
  // Target of a symbolic link.
  virtual Result<std::string> ReadLink(const std::string& path) const = 0;
  // True only when `path` is a mount table (/proc/<pid>/mounts or mountinfo) that an earlier Read left open
  // and the kernel reports no mount or unmount in its namespace since (poll(2) POLLPRI, as util-linux's
  // libmount monitor does), so that earlier text is still current. False in every other case.
  virtual bool MountTableUnchanged(const std::string& path) const {
    (void)path;
    return false;
  }
};

// Reads the real file system. Files under `keep_open_roots` (the procfs and sysfs roots) stay open between
// reads and are read again from offset 0: procfs and sysfs files regenerate their text on every read from
// the start, so this returns what a fresh open would, without the path walk and file setup of open(2) and
// close(2) on every scrape. Per-process files other than /proc/1 and /proc/self are not kept (PIDs are
// reused). A kept file that fails to read (its device or CPU was removed: ENODEV) is reopened once. Not
// for ordinary files, which are replaced by rename (udev data). Directories there stay open too and are
// rewound for each listing; an empty listing is confirmed by opening the path again.
class DiskFileReader : public FileReader {
 public:
  explicit DiskFileReader(size_t max_bytes = 16 << 20, std::vector<std::string> keep_open_roots = {});
  ~DiskFileReader() override;
  DiskFileReader(const DiskFileReader&) = delete;
  DiskFileReader& operator=(const DiskFileReader&) = delete;

  Result<std::string> Read(const std::string& path) const override;
  Result<std::string_view> ReadInto(const std::string& path, std::string& buffer) const override;
  Result<std::vector<std::string>> ListDir(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;
  bool MountTableUnchanged(const std::string& path) const override;

  // Files currently kept open (for tests).
  size_t OpenFiles() const;

 private:
  struct OpenFile {
    std::mutex mu;  // held for a whole read: interleaved reads of one seq_file could tear a record
    int fd = -1;
    size_t last_size = 0;
  };

  struct OpenDir {
    std::mutex mu;
    void* dir = nullptr;  // DIR*, rewound before each listing
  };

  bool KeepOpen(const std::string& path) const;
  // The kept entry for `path` (created on first use), or null when the path is not kept or the bound is hit.
  template <class Entry>
  Entry* Kept(std::unordered_map<std::string, std::unique_ptr<Entry>>& entries, const std::string& path) const;
  static Result<std::vector<std::string>> ListOpenDir(void* dir);
  Result<void> ReadFd(int fd, const std::string& path, size_t size_hint, std::string& out) const;

  size_t max_bytes_;
  std::vector<std::string> keep_open_prefixes_;  // each root + "/"
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, std::unique_ptr<OpenFile>> open_;  // guarded by mu_
  mutable std::unordered_map<std::string, std::unique_ptr<OpenDir>> open_dirs_;  // guarded by mu_
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
