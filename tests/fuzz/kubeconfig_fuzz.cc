// libFuzzer target: KubeconfigAccess (a kubeconfig's YAML, from --kubeconfig or KUBECONFIG) on arbitrary bytes.
// yaml-cpp throws on bad YAML; nothing may escape. It reads no file (relative paths resolve into a directory that
// does not exist). Errors say "kubeconfig: "; what parses has a server without a trailing slash, absolute file
// paths, at most one of file and inline PEM each, and a client certificate only with its key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "advisor/io/kube_config.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using topdog::fuzz::Check;

void CheckFileOrPem(const std::string& file, const std::string& pem) {
  Check(file.empty() || file.front() == '/');
  Check(file.empty() || pem.empty());  // *-data wins over the file, as in client-go
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto access = topdog::advisor::KubeconfigAccess(topdog::fuzz::AsText(data, size), "/nonexistent-dir", "");
  if (!access) {
    Check(access.error().message.rfind("kubeconfig: ", 0) == 0);
    return 0;
  }
  Check(!access->server.empty() && access->server.back() != '/');
  const topdog::advisor::TlsOptions& tls = access->tls;
  CheckFileOrPem(tls.ca_file, tls.ca_pem);
  CheckFileOrPem(tls.cert_file, tls.cert_pem);
  CheckFileOrPem(tls.key_file, tls.key_pem);
  Check(access->token_file.empty() || access->token_file.front() == '/');
  const bool has_cert = !tls.cert_file.empty() || !tls.cert_pem.empty();
  const bool has_key = !tls.key_file.empty() || !tls.key_pem.empty();
  Check(has_cert == has_key);
  return 0;
}
