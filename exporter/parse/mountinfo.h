// Parsers of the kernel's mount tables, as node_exporter's filesystem collector reads them: the fstab-like
// /proc/<pid>/mounts (node_exporter 1.5) and /proc/<pid>/mountinfo (1.12, through procfs). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace topdog::exporter {

struct MountEntry {
  std::string device;       // the mount source ("/dev/vda", "tmpfs"), as printed (not unescaped)
  std::string mount_point;  // unescaped: "\040" -> ' ', "\011" -> '\t', "\012" -> '\n', "\134" -> '\\'
  std::string fs_type;
  std::string options;        // per-mount options, e.g. "rw,relatime"
  std::string super_options;  // super block options (mountinfo only)
  uint32_t major = 0;         // st_dev of the file system (mountinfo only)
  uint32_t minor = 0;
};

// /proc/<pid>/mounts: "device mountpoint fstype options dump pass". Blank lines are skipped; a line with
// fewer than 4 fields is an error (kBadData naming the line), as in node_exporter 1.5.
Result<std::vector<MountEntry>> ParseProcMounts(std::string_view text);

// /proc/<pid>/mountinfo: "id parent major:minor root mountpoint options [optional...] - fstype source
// superoptions" (proc(5)). Fields are separated by single spaces, as procfs splits them, so an empty
// source keeps its place. Blank lines are skipped; fewer than 10 fields, a missing "-" separator before
// the last three fields or a bad id or major:minor are errors (kBadData naming the line and field).
Result<std::vector<MountEntry>> ParseMountInfo(std::string_view text);

// Undoes the kernel's escaping of ' ', '\t', '\n' and '\\' in mount paths (show_mountinfo's mangle()).
// Other backslashes are kept as they are.
std::string UnescapeMountPath(std::string_view path);

// Whether the comma-separated `options` contain `option` exactly (e.g. "ro" in "ro,relatime").
bool HasMountOption(std::string_view options, std::string_view option);

}  // namespace topdog::exporter
