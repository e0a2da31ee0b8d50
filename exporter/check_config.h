// --check-config (README "Flags"): what a start checks (flags, --config.file, collector construction, the web
// config), without reading /proc or /sys and without binding, for deploy gates. Files a start would read but
// that are absent on this machine (Secrets and host paths mounted at run time) are listed, not errors.
// Plain functions; thread-compatible.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"
#include "exporter/gateway_options.h"
#include "exporter/io/file_reader.h"

namespace topdog::exporter {

// A file a start reads that is absent here, and what it is for (e.g. "--collector.nginx.tls.ca-file").
struct UncheckedFile {
  std::string path;
  std::string what;
};

// Reads nothing: every Read/ListDir/ReadLink is kNotFound, so collectors are built as at start-up without
// touching --path.* (which may not exist here, e.g. /host/proc). Thread-safe.
class NothingFileReader : public FileReader {
 public:
  Result<std::string> Read(const std::string& path) const override;
  Result<std::vector<std::string>> ListDir(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;
};

// Clears the peers' --collector.*.tls.ca-file values that are absent here (a start reads them when the
// collector is built), adding them to `unchecked`. Present ones are kept: a start's check runs on them.
void SkipAbsentPeerFiles(GatewayOptions& gateway, std::vector<UncheckedFile>& unchecked);

}  // namespace topdog::exporter
