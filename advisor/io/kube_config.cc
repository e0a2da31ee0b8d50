#include "advisor/io/kube_config.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace topdog::advisor {
namespace {

Error BadConfig(std::string message) { return Error{ErrorKind::kBadData, "kubeconfig: " + std::move(message)}; }

// Standard padded base64 as Go's base64.StdEncoding (what kubeconfig *-data fields are), whitespace ignored
// because YAML block scalars may wrap the text. Written here rather than pulled from OpenSSL so that advisor_io
// does not link libcrypto for 20 lines.
std::optional<std::string> DecodeBase64(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') clean += c;
  }
  if (clean.size() % 4 != 0) return std::nullopt;
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    unsigned triple = 0;
    int padding = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = clean[i + j];
      int value = 0;
      if (c == '=' && i + 4 == clean.size() && j >= 2) {
        ++padding;
      } else {
        if (padding > 0) return std::nullopt;  // data after '='
        value = value_of(c);
        if (value < 0) return std::nullopt;
      }
      triple = (triple << 6) | static_cast<unsigned>(value);
    }
    out += static_cast<char>((triple >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((triple >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(triple & 0xff);
  }
  return out;
}

// A string field of a mapping; absent or null -> "".
Result<std::string> GetString(const YAML::Node& map, const char* key, std::string_view where) {
  const YAML::Node value = map[key];
  if (!value || value.IsNull()) return std::string();
  if (!value.IsScalar()) return tl::unexpected(BadConfig(std::string(where) + "." + key + " must be a string"));
  return value.Scalar();
}

// The entry named `name` of a list of {name, <field>: {...}} (clusters, contexts, users); a null node when absent.
Result<YAML::Node> FindNamed(const YAML::Node& root, const char* list, const char* field, const std::string& name) {
  const YAML::Node entries = root[list];
  if (!entries || entries.IsNull()) return YAML::Node(YAML::NodeType::Null);
  if (!entries.IsSequence()) return tl::unexpected(BadConfig(std::string(list) + " must be a list"));
  for (const YAML::Node& entry : entries) {
    if (!entry.IsMap()) return tl::unexpected(BadConfig(std::string(list) + " entries must be mappings"));
    auto entry_name = GetString(entry, "name", list);
    if (!entry_name) return tl::unexpected(entry_name.error());
    if (*entry_name != name) continue;
    const YAML::Node body = entry[field];
    if (!body || body.IsNull()) return YAML::Node(YAML::NodeType::Map);  // e.g. a user with no credentials
    if (!body.IsMap()) return tl::unexpected(BadConfig(std::string(list) + " " + name + ": " + field + " must be a mapping"));
    return body;
  }
  return YAML::Node(YAML::NodeType::Null);
}

std::string Resolve(std::string_view kubeconfig_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(kubeconfig_dir) / path).lexically_normal().string();
}

// `data_key` (base64) wins over `file_key`, as in client-go.
Result<void> ReadPemOrFile(const YAML::Node& map, const char* file_key, const char* data_key,
                           std::string_view kubeconfig_dir, std::string_view where, std::string& file,
                           std::string& pem) {
  auto data = GetString(map, data_key, where);
  if (!data) return tl::unexpected(data.error());
  if (!data->empty()) {
    auto decoded = DecodeBase64(*data);
    if (!decoded) return tl::unexpected(BadConfig(std::string(where) + "." + data_key + " is not base64"));
    pem = std::move(*decoded);
    return {};
  }
  auto path = GetString(map, file_key, where);
  if (!path) return tl::unexpected(path.error());
  file = Resolve(kubeconfig_dir, *path);
  return {};
}

Result<KubeAccess> ParseKubeconfig(const YAML::Node& root, std::string_view kubeconfig_dir,
                                   std::string_view wanted_context) {
  if (!root.IsMap()) return tl::unexpected(BadConfig("not a mapping"));
  std::string context_name(wanted_context);
  if (context_name.empty()) {
    auto current = GetString(root, "current-context", "kubeconfig");
    if (!current) return tl::unexpected(current.error());
    if (current->empty()) return MakeError(ErrorKind::kNotFound, "kubeconfig: no current-context and none given");
    context_name = *current;
  }
  auto context = FindNamed(root, "contexts", "context", context_name);
  if (!context) return tl::unexpected(context.error());
  if (context->IsNull()) return MakeError(ErrorKind::kNotFound, "kubeconfig: context \"" + context_name + "\" not found");
  const std::string context_where = "context " + context_name;
  auto cluster_name = GetString(*context, "cluster", context_where);
  if (!cluster_name) return tl::unexpected(cluster_name.error());
  auto user_name = GetString(*context, "user", context_where);
  if (!user_name) return tl::unexpected(user_name.error());

  auto cluster = FindNamed(root, "clusters", "cluster", *cluster_name);
  if (!cluster) return tl::unexpected(cluster.error());
  if (cluster->IsNull()) {
    return MakeError(ErrorKind::kNotFound, "kubeconfig: cluster \"" + *cluster_name + "\" of " + context_where +
                                               " not found");
  }
  KubeAccess access;
  const std::string cluster_where = "cluster " + *cluster_name;
  auto server = GetString(*cluster, "server", cluster_where);
  if (!server) return tl::unexpected(server.error());
  access.server = *server;
  while (!access.server.empty() && access.server.back() == '/') access.server.pop_back();
  if (access.server.empty()) return tl::unexpected(BadConfig(cluster_where + " has no server"));  // also "/"
  if (auto proxy = GetString(*cluster, "proxy-url", cluster_where); !proxy || !proxy->empty()) {
    if (!proxy) return tl::unexpected(proxy.error());
    return MakeError(ErrorKind::kRejected, "kubeconfig: " + cluster_where + ": proxy-url is not supported");
  }
  if (auto ok = ReadPemOrFile(*cluster, "certificate-authority", "certificate-authority-data", kubeconfig_dir,
                              cluster_where, access.tls.ca_file, access.tls.ca_pem);
      !ok) {
    return tl::unexpected(ok.error());
  }
  auto server_name = GetString(*cluster, "tls-server-name", cluster_where);
  if (!server_name) return tl::unexpected(server_name.error());
  access.tls.server_name = *server_name;
  if (const YAML::Node insecure = (*cluster)["insecure-skip-tls-verify"]; insecure && !insecure.IsNull()) {
    bool value = false;
    if (!insecure.IsScalar() || !YAML::convert<bool>::decode(insecure, value)) {
      return tl::unexpected(BadConfig(cluster_where + ".insecure-skip-tls-verify must be true or false"));
    }
    access.tls.insecure_skip_verify = value;
  }

  if (user_name->empty()) return access;  // a context without a user: anonymous (or the caller's own TLS)
  auto user = FindNamed(root, "users", "user", *user_name);
  if (!user) return tl::unexpected(user.error());
  if (user->IsNull()) {
    return MakeError(ErrorKind::kNotFound, "kubeconfig: user \"" + *user_name + "\" of " + context_where +
                                               " not found");
  }
  const std::string user_where = "user " + *user_name;
  for (const char* plugin : {"exec", "auth-provider"}) {
    if (const YAML::Node node = (*user)[plugin]; node && !node.IsNull()) {
      return MakeError(ErrorKind::kRejected, "kubeconfig: " + user_where + ": " + plugin +
                                                 " credential plugins are not supported; use a token, tokenFile or "
                                                 "client certificate (e.g. a service-account token)");
    }
  }
  for (const char* basic : {"username", "password"}) {
    if (const YAML::Node node = (*user)[basic]; node && !node.IsNull()) {
      return MakeError(ErrorKind::kRejected,
                       "kubeconfig: " + user_where + ": username/password authentication is not supported");
    }
  }
  auto token = GetString(*user, "token", user_where);
  if (!token) return tl::unexpected(token.error());
  access.token = *token;
  auto token_file = GetString(*user, "tokenFile", user_where);
  if (!token_file) return tl::unexpected(token_file.error());
  access.token_file = Resolve(kubeconfig_dir, *token_file);
  if (auto ok = ReadPemOrFile(*user, "client-certificate", "client-certificate-data", kubeconfig_dir, user_where,
                              access.tls.cert_file, access.tls.cert_pem);
      !ok) {
    return tl::unexpected(ok.error());
  }
  if (auto ok = ReadPemOrFile(*user, "client-key", "client-key-data", kubeconfig_dir, user_where,
                              access.tls.key_file, access.tls.key_pem);
      !ok) {
    return tl::unexpected(ok.error());
  }
  const bool has_cert = !access.tls.cert_file.empty() || !access.tls.cert_pem.empty();
  const bool has_key = !access.tls.key_file.empty() || !access.tls.key_pem.empty();
  if (has_cert != has_key) {
    return tl::unexpected(BadConfig(user_where + ": a client certificate needs its key and the other way round"));
  }
  return access;
}

}  // namespace

Result<KubeAccess> InClusterAccess(std::string_view host_env, std::string_view port_env, std::string_view sa_dir) {
  if (host_env.empty() || port_env.empty()) {
    return MakeError(ErrorKind::kNotFound,
                     "not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  KubeAccess access;
  const bool ipv6 = host_env.find(':') != std::string_view::npos && host_env.front() != '[';
  access.server = "https://" + (ipv6 ? "[" + std::string(host_env) + "]" : std::string(host_env)) + ":" +
                  std::string(port_env);
  access.token_file = (std::filesystem::path(sa_dir) / "token").string();
  access.tls.ca_file = (std::filesystem::path(sa_dir) / "ca.crt").string();
  for (const std::string* file : {&access.token_file, &access.tls.ca_file}) {
    std::error_code error;
    if (!std::filesystem::exists(*file, error)) {
      return MakeError(ErrorKind::kNotFound, "in-cluster access: " + *file + " is missing (no service account "
                                                 "mounted? automountServiceAccountToken must not be false)");
    }
  }
  return access;
}

Result<KubeAccess> KubeconfigAccess(std::string_view yaml, std::string_view kubeconfig_dir,
                                    std::string_view context) {
  // yaml-cpp reports syntax and conversion errors by throwing; they must not leave this adapter.
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    return ParseKubeconfig(root, kubeconfig_dir, context);
  } catch (const YAML::Exception& e) {
    return tl::unexpected(BadConfig(std::string("invalid YAML: ") + e.what()));
  } catch (const std::exception& e) {
    return tl::unexpected(BadConfig(e.what()));
  }
}

Result<KubeAccess> LoadKubeconfigFile(const std::string& path, std::string_view context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int error = errno;  // open(2)'s errno, kept before anything else runs
    return MakeError(error == ENOENT ? ErrorKind::kNotFound : ErrorKind::kRejected,
                     "kubeconfig " + path + ": " + std::strerror(error));
  }
  std::ostringstream content;
  content << in.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  return KubeconfigAccess(content.str(), dir.empty() ? "." : dir, context);
}

}  // namespace topdog::advisor
