#include "advisor/io/kube_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace topdog::advisor {
namespace {

// In the layout `kubectl config view --raw` writes (hand-written; the certificates are placeholders): three
// clusters, three users, three contexts.
constexpr const char* kKubeconfig = R"(apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K
    server: https://203.0.113.10:6443/
  name: doks-fra1
- cluster:
    certificate-authority: certs/ca.pem
    server: https://kind.local:6443
    tls-server-name: kubernetes.default.svc
  name: kind
- cluster:
    insecure-skip-tls-verify: true
    server: https://127.0.0.1:8443
  name: dev
contexts:
- context:
    cluster: doks-fra1
    namespace: shop
    user: advisor-token
  name: doks
- context:
    cluster: kind
    user: kind-admin
  name: kind
- context:
    cluster: dev
    user: dev-token-file
  name: dev
current-context: doks
kind: Config
preferences: {}
users:
- name: advisor-token
  user:
    token: eyJhbGciOiJSUzI1NiJ9.static
- name: kind-admin
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNMSUVOVAotLS0tLUVORCBDRVJUSUZJQ0FURS0tLS0tCg==
    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCktFWQotLS0tLUVORCBFQyBQUklWQVRFIEtFWS0tLS0tCg==
- name: dev-token-file
  user:
    tokenFile: ../tokens/advisor
    client-certificate: /etc/dev/client.crt
    client-key: client.key
)";

TEST(KubeconfigAccessTest, CurrentContextWithDataFieldsAndStaticToken) {
  auto access = KubeconfigAccess(kKubeconfig, "/home/me/.kube");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://203.0.113.10:6443");  // trailing slash dropped
  EXPECT_EQ(access->tls.ca_pem, "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(access->tls.ca_file, "");
  EXPECT_FALSE(access->tls.insecure_skip_verify);
  EXPECT_EQ(access->token, "eyJhbGciOiJSUzI1NiJ9.static");
  EXPECT_EQ(access->token_file, "");
  EXPECT_EQ(access->tls.cert_pem, "");
}

TEST(KubeconfigAccessTest, NamedContextWithRelativeCaAndClientCertificateData) {
  auto access = KubeconfigAccess(kKubeconfig, "/home/me/.kube", "kind");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://kind.local:6443");
  EXPECT_EQ(access->tls.ca_file, "/home/me/.kube/certs/ca.pem");  // relative to the kubeconfig's directory
  EXPECT_EQ(access->tls.ca_pem, "");
  EXPECT_EQ(access->tls.server_name, "kubernetes.default.svc");
  EXPECT_EQ(access->tls.cert_pem, "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(access->tls.key_pem, "-----BEGIN EC PRIVATE KEY-----\nKEY\n-----END EC PRIVATE KEY-----\n");
  EXPECT_EQ(access->token, "");
  EXPECT_EQ(access->token_file, "");
}

TEST(KubeconfigAccessTest, TokenFileAndClientFilesResolveAgainstTheKubeconfigDirectory) {
  auto access = KubeconfigAccess(kKubeconfig, "/home/me/.kube", "dev");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_TRUE(access->tls.insecure_skip_verify);
  EXPECT_EQ(access->token_file, "/home/me/tokens/advisor");
  EXPECT_EQ(access->tls.cert_file, "/etc/dev/client.crt");  // absolute stays
  EXPECT_EQ(access->tls.key_file, "/home/me/.kube/client.key");
}

TEST(KubeconfigAccessTest, DataFieldWinsOverTheFileAsInClientGo) {
  auto access = KubeconfigAccess(R"(
clusters: [{name: c, cluster: {server: "https://a:1", certificate-authority: ca.pem,
            certificate-authority-data: "UEVN"}}]
contexts: [{name: x, context: {cluster: c}}]
current-context: x
)",
                                 "/k");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->tls.ca_pem, "PEM");
  EXPECT_EQ(access->tls.ca_file, "");
  EXPECT_EQ(access->token, "");  // a context without a user
}

TEST(KubeconfigAccessTest, MissingContextClusterOrUserIsNotFound) {
  auto no_context = KubeconfigAccess(kKubeconfig, "/k", "staging");
  ASSERT_FALSE(no_context);
  EXPECT_EQ(no_context.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(no_context.error().message, "kubeconfig: context \"staging\" not found");

  auto no_current = KubeconfigAccess("clusters: []\ncontexts: []\n", "/k");
  ASSERT_FALSE(no_current);
  EXPECT_EQ(no_current.error().kind, ErrorKind::kNotFound);

  auto no_cluster = KubeconfigAccess("contexts: [{name: x, context: {cluster: gone, user: u}}]\ncurrent-context: x\n",
                                     "/k");
  ASSERT_FALSE(no_cluster);
  EXPECT_EQ(no_cluster.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(no_cluster.error().message.find("cluster \"gone\""), std::string::npos);

  auto no_user = KubeconfigAccess(R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: c, user: gone}}]
current-context: x
)",
                                  "/k");
  ASSERT_FALSE(no_user);
  EXPECT_EQ(no_user.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(no_user.error().message.find("user \"gone\""), std::string::npos);
}

TEST(KubeconfigAccessTest, CredentialPluginsAreRejectedClearly) {
  constexpr const char* kExec = R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: doctl
      args: [kubernetes, cluster, kubeconfig, exec-credential, --version=v1beta1, abc]
)";
  auto exec = KubeconfigAccess(kExec, "/k");
  ASSERT_FALSE(exec);
  EXPECT_EQ(exec.error().kind, ErrorKind::kRejected);
  EXPECT_NE(exec.error().message.find("exec credential plugins are not supported"), std::string::npos)
      << exec.error().message;

  auto provider = KubeconfigAccess(R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {auth-provider: {name: gcp}}}]
)",
                                   "/k");
  ASSERT_FALSE(provider);
  EXPECT_EQ(provider.error().kind, ErrorKind::kRejected);
  EXPECT_NE(provider.error().message.find("auth-provider"), std::string::npos);

  auto basic = KubeconfigAccess(R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {username: admin, password: hunter2}}]
)",
                                "/k");
  ASSERT_FALSE(basic);
  EXPECT_EQ(basic.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(basic.error().message.find("hunter2"), std::string::npos);  // no secret in the message
}

TEST(KubeconfigAccessTest, MalformedInputIsBadData) {
  for (const char* yaml : {
           "clusters: [unclosed",                                                          // not YAML
           "- a list\n- at the top\n",                                                     // not a mapping
           "clusters: {c: 1}\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",  // not a list
           "clusters: [{name: c, cluster: {server: {nested: 1}}}]\n"
           "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",           // server not a string
           "clusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
           "clusters: [{name: c, cluster: {server: 'https://a:1', certificate-authority-data: 'not base64!'}}]\n"
           "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
           "clusters: [{name: c, cluster: {server: 'https://a:1', insecure-skip-tls-verify: maybe}}]\n"
           "contexts: [{name: x, context: {cluster: c}}]\ncurrent-context: x\n",
       }) {
    auto access = KubeconfigAccess(yaml, "/k");
    ASSERT_FALSE(access) << yaml;
    EXPECT_EQ(access.error().kind, ErrorKind::kBadData) << yaml << " -> " << access.error().message;
  }
}

TEST(KubeconfigAccessTest, ACertificateWithoutItsKeyIsAnError) {
  auto access = KubeconfigAccess(R"(
clusters: [{name: c, cluster: {server: "https://a:1"}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
users: [{name: u, user: {client-certificate: c.crt}}]
)",
                                 "/k");
  ASSERT_FALSE(access);
  EXPECT_EQ(access.error().kind, ErrorKind::kBadData);
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("kube_config_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  void Write(const std::string& name, const std::string& content) {
    std::filesystem::create_directories((path_ / name).parent_path());
    std::ofstream(path_ / name) << content;
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

TEST(InClusterAccessTest, ServiceAccountFilesAndServiceAddress) {
  TempDir sa;
  sa.Write("token", "eyJ.token\n");
  sa.Write("ca.crt", "PEM");
  auto access = InClusterAccess("10.245.0.1", "443", sa.path());
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->server, "https://10.245.0.1:443");
  EXPECT_EQ(access->token_file, sa.path() + "/token");
  EXPECT_EQ(access->tls.ca_file, sa.path() + "/ca.crt");
  EXPECT_EQ(access->token, "");  // the file is read (and re-read) by the client, not here

  auto ipv6 = InClusterAccess("fd00:10:96::1", "443", sa.path());
  ASSERT_TRUE(ipv6);
  EXPECT_EQ(ipv6->server, "https://[fd00:10:96::1]:443");
}

TEST(InClusterAccessTest, OutsideAClusterOrWithoutTheMountIsNotFound) {
  TempDir sa;
  auto no_env = InClusterAccess("", "443", sa.path());
  ASSERT_FALSE(no_env);
  EXPECT_EQ(no_env.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(no_env.error().message.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  EXPECT_FALSE(InClusterAccess("10.0.0.1", "", sa.path()));

  auto no_token = InClusterAccess("10.0.0.1", "443", sa.path());
  ASSERT_FALSE(no_token);
  EXPECT_EQ(no_token.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(no_token.error().message.find("/token"), std::string::npos);

  sa.Write("token", "t");
  auto no_ca = InClusterAccess("10.0.0.1", "443", sa.path());
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().message.find("/ca.crt"), std::string::npos);
}

TEST(LoadKubeconfigFileTest, ResolvesPathsAgainstTheFilesDirectory) {
  TempDir dir;
  dir.Write("config", kKubeconfig);
  auto access = LoadKubeconfigFile(dir.path() + "/config", "kind");
  ASSERT_TRUE(access) << access.error().message;
  EXPECT_EQ(access->tls.ca_file, dir.path() + "/certs/ca.pem");

  auto missing = LoadKubeconfigFile(dir.path() + "/absent");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace topdog::advisor
