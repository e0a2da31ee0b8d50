// Where and how the advisor reaches the Kubernetes API: in-cluster (the pod's service account) or from a
// kubeconfig (out of cluster, e.g. a laptop run). Produces a KubeAccess: the server URL, the TLS options to build
// the CurlHttpClient with, and the bearer token (a file re-read on change, or a static one). Thread-safe (free
// functions; they read only the files they are given).
#pragma once

#include <string>
#include <string_view>

#include "advisor/io/http_client.h"
#include "common/result.h"

namespace topdog::advisor {

struct KubeAccess {
  std::string server;      // "https://host:port[/prefix]" without a trailing slash
  TlsOptions tls;          // pass to CurlHttpClient::Create (HttpClientOptions::tls)
  std::string token_file;  // bearer token file, re-read by KubeClient when it changes (projected SA tokens rotate)
  std::string token;       // static bearer token (kubeconfig `token`); used when token_file is empty
};

inline constexpr std::string_view kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

// In-cluster access, as client-go's rest.InClusterConfig: `host_env`/`port_env` are the values of
// KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT (the caller reads the environment), the server is
// https://HOST:PORT (an IPv6 host in brackets), the CA is `sa_dir`/ca.crt and the token `sa_dir`/token.
// Errors: kNotFound when either variable is empty ("not running in a cluster") or the token or CA file is absent.
Result<KubeAccess> InClusterAccess(std::string_view host_env, std::string_view port_env,
                                   std::string_view sa_dir = kServiceAccountDir);

// Access from a kubeconfig's text. `kubeconfig_dir`: the directory of the file, against which relative paths
// (certificate-authority, client-certificate, client-key, tokenFile) are resolved, as kubectl does. `context`:
// the context to use; "" for current-context. Read: clusters[].cluster.{server, certificate-authority,
// certificate-authority-data, insecure-skip-tls-verify, tls-server-name}, users[].user.{token, tokenFile,
// client-certificate, client-certificate-data, client-key, client-key-data}; *-data fields are base64 and end up
// as PEM text in the TlsOptions. Errors: kBadData (not YAML, a field of the wrong type, bad base64, no server),
// kNotFound (no current-context, or the context, cluster or user it names is absent), kRejected for what the
// advisor does not support: exec and auth-provider credential plugins, username/password, proxy-url.
Result<KubeAccess> KubeconfigAccess(std::string_view yaml, std::string_view kubeconfig_dir,
                                    std::string_view context = "");

// Reads the kubeconfig at `path` and calls KubeconfigAccess with its directory. (One file: a KUBECONFIG list of
// several files, which kubectl merges, is not supported; pass the one that has the context.)
Result<KubeAccess> LoadKubeconfigFile(const std::string& path, std::string_view context = "");

}  // namespace topdog::advisor
