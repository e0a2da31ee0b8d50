#include "exporter/check_config.h"

#include <filesystem>

#include "common/http/web_config.h"
#include "common/logging.h"

namespace topdog::exporter {
namespace {

Error NotRead(const std::string& path) { return Error{ErrorKind::kNotFound, path + ": not read in --check-config"}; }

bool Absent(const std::string& path) {
  std::error_code ec;
  return !std::filesystem::exists(path, ec);
}

}  // namespace

Result<std::string> NothingFileReader::Read(const std::string& path) const { return tl::unexpected(NotRead(path)); }

Result<std::vector<std::string>> NothingFileReader::ListDir(const std::string& path) const {
  return tl::unexpected(NotRead(path));
}

Result<std::string> NothingFileReader::ReadLink(const std::string& path) const { return tl::unexpected(NotRead(path)); }

void SkipAbsentPeerFiles(GatewayOptions& gateway, std::vector<UncheckedFile>& unchecked) {
  const std::pair<HttpPeerOptions*, const char*> peers[] = {{&gateway.nginx_peer, "--collector.nginx.tls.ca-file"},
                                                            {&gateway.envoy_peer, "--collector.envoy.tls.ca-file"},
                                                            {&gateway.backend_peer, "--collector.backend.tls.ca-file"}};
  for (const auto& [peer, flag] : peers) {
    if (!peer->ca_file.empty() && Absent(peer->ca_file)) {
      unchecked.push_back({peer->ca_file, flag});
      peer->ca_file.clear();
    }
  }
}

}  // namespace topdog::exporter
