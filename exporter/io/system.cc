#include "exporter/io/system.h"

#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace topdog::exporter {

Result<StatfsInfo> RealSystem::Statfs(const std::string& path) const {
  // statfs(2), not statvfs(3): node_exporter multiplies f_blocks by statfs's f_bsize.
  struct statfs st;
  if (::statfs(path.c_str(), &st) != 0) {
    int err = errno;
    ErrorKind kind = err == ENOENT ? ErrorKind::kNotFound
                     : (err == EACCES || err == EPERM) ? ErrorKind::kRejected
                                                       : ErrorKind::kUnavailable;
    return MakeError(kind, "statfs " + path + ": " + std::strerror(err));
  }
  StatfsInfo info;
  info.block_size = st.f_bsize;
  info.blocks = st.f_blocks;
  info.blocks_free = st.f_bfree;
  info.blocks_available = st.f_bavail;
  info.files = st.f_files;
  info.files_free = st.f_ffree;
  info.read_only = (st.f_flags & ST_RDONLY) != 0;
  return info;
}

Result<UnameInfo> RealSystem::Uname() const {
  struct utsname u;
  if (::uname(&u) != 0) return MakeError(ErrorKind::kUnavailable, std::string("uname: ") + std::strerror(errno));
  return UnameInfo{u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname};
}

WallTime RealSystem::Now() const {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  WallTime now;
  now.unix_seconds = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  struct tm local;
  ::localtime_r(&ts.tv_sec, &local);
  now.zone_name = local.tm_zone != nullptr ? local.tm_zone : "";
  now.zone_offset_seconds = local.tm_gmtoff;
  return now;
}

}  // namespace topdog::exporter
