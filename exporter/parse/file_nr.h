// ParseFileNr: /proc/sys/fs/file-nr text ("324\t0\t2466170") -> allocated and maximum file handles.
// Pure, thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

struct FileNr {
  double allocated = 0;  // first field
  double maximum = 0;    // third field (the second, unused handles, is always 0 since Linux 2.6)
};

// Needs three numeric fields; else kBadData naming the field.
Result<FileNr> ParseFileNr(std::string_view text);

}  // namespace topdog::exporter
