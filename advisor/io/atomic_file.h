// Writing a file so that a reader (or a restart after a crash) sees the old or the new content, never part of
// one: a temporary file, fsync, rename over the path, fsync of the directory. For the history snapshot and the
// commands' output files. Thread-safe (for different paths).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::advisor {

// Errors name the file and the step: kNotFound (no such directory), kRejected (permission denied, read-only),
// kUnavailable (other I/O errors, e.g. disk full). The temporary file (path + ".tmp") is removed on failure.
Result<void> WriteFileAtomically(const std::string& path, std::string_view bytes, mode_t mode = 0644);

}  // namespace topdog::advisor
