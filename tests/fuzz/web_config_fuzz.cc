// libFuzzer target: ParseWebConfig (exporter-toolkit YAML, --web.config.file) on arbitrary bytes. yaml-cpp
// throws on bad YAML; nothing may escape the parser. Checks the validation it promises.
#include <cstddef>
#include <cstdint>

#include "common/http/web_config.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using topdog::fuzz::Check;
  auto config = topdog::http::ParseWebConfig(topdog::fuzz::AsText(data, size), "/etc/topdog");
  if (!config) {
    Check(!config.error().message.empty());
    return 0;
  }
  const topdog::http::TlsServerConfig& tls = config->tls;
  if (tls.Enabled()) {
    Check(!tls.cert.empty() || !tls.cert_file.empty());
    Check(!tls.key.empty() || !tls.key_file.empty());
  }
  Check(tls.min_version <= tls.max_version);
  for (const std::string& file : config->ReferencedFiles()) Check(file.front() == '/');
  for (const auto& [name, value] : config->headers) {
    Check(!name.empty());
    for (char c : value) Check(c != '\r' && c != '\n');  // a header value must not split the response
  }
  Check(config->rate_limit.interval.count() >= 0 && config->rate_limit.burst >= 0);
  return 0;
}
