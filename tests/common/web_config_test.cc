#include "common/http/web_config.h"

#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

namespace topdog::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;

std::string FixturePath(const std::string& name) {
  return std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/web/" + name;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "topdog-webconfig-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file) << content;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ErrorOf(std::string_view yaml) {
  auto config = ParseWebConfig(yaml, "/etc/topdog");
  EXPECT_FALSE(config.has_value()) << yaml;
  return config ? std::string() : config.error().message;
}

TEST(ParseWebConfigTest, EmptyDocumentMeansPlainHttpWithoutAuth) {
  for (std::string_view yaml : {"", "# only a comment\n", "tls_server_config:\n"}) {
    auto config = ParseWebConfig(yaml, "/etc/topdog");
    ASSERT_TRUE(config.has_value()) << config.error().message;
    EXPECT_FALSE(config->tls.Enabled());
    EXPECT_TRUE(config->basic_auth_users.empty());
    EXPECT_TRUE(config->headers.empty());
    EXPECT_EQ(config->tls.min_version, TlsVersion::kTls12);  // exporter-toolkit's defaults
    EXPECT_EQ(config->tls.max_version, TlsVersion::kTls13);
    EXPECT_TRUE(config->tls.prefer_server_cipher_suites);
    EXPECT_TRUE(config->http2);
  }
}

TEST(ParseWebConfigTest, ParsesEverySection) {
  auto config = ParseWebConfig(R"(
tls_server_config:
  cert_file: server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ../ca/ca.crt
  client_allowed_sans: [prometheus.example]
  min_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
    Strict-Transport-Security: max-age=31536000
basic_auth_users:
  alice: $2y$10$McizE5m/j3t79sE70fdGN.kDJrgBUJRenWRafUoqW2EnEOGYHKni.
rate_limit:
  interval: 1s
  burst: 10
)",
                               "/etc/topdog");
  ASSERT_TRUE(config.has_value()) << config.error().message;
  const TlsServerConfig& tls = config->tls;
  EXPECT_TRUE(tls.Enabled());
  EXPECT_EQ(tls.cert_file, "/etc/topdog/server.crt");
  EXPECT_EQ(tls.key_file, "/abs/server.key");
  EXPECT_EQ(tls.client_ca_file, "/etc/ca/ca.crt");
  EXPECT_EQ(tls.client_auth_type, ClientAuthType::kRequireAndVerifyClientCert);
  EXPECT_THAT(tls.client_allowed_sans, ElementsAre("prometheus.example"));
  EXPECT_EQ(tls.min_version, TlsVersion::kTls13);
  // Go's TLS 1.3 suite names are accepted and, as in Go, not configurable.
  EXPECT_THAT(tls.cipher_suites, ElementsAre("ECDHE-ECDSA-AES128-GCM-SHA256"));
  EXPECT_FALSE(tls.prefer_server_cipher_suites);
  EXPECT_THAT(tls.curve_preferences, ElementsAre("X25519", "P-256"));
  EXPECT_FALSE(config->http2);
  EXPECT_THAT(config->headers,
              ElementsAre(Pair("X-Frame-Options", "deny"), Pair("Strict-Transport-Security", "max-age=31536000")));
  EXPECT_THAT(config->basic_auth_users,
              ElementsAre(Pair("alice", "$2y$10$McizE5m/j3t79sE70fdGN.kDJrgBUJRenWRafUoqW2EnEOGYHKni.")));
  EXPECT_EQ(config->rate_limit.interval.count(), 1000);
  EXPECT_EQ(config->rate_limit.burst, 10);
  EXPECT_THAT(config->ReferencedFiles(), ElementsAre("/etc/topdog/server.crt", "/abs/server.key", "/etc/ca/ca.crt"));
}

TEST(ParseWebConfigTest, RejectsBadYaml) {
  EXPECT_THAT(ErrorOf("tls_server_config: [unclosed\n"), HasSubstr("invalid YAML"));
  EXPECT_THAT(ErrorOf("- a list\n- at the top\n"), HasSubstr("must be a mapping"));
  EXPECT_THAT(ErrorOf("http_server_config:\n  http2: maybe\n"), HasSubstr("http2 must be true or false"));
}

TEST(ParseWebConfigTest, RejectsUnknownKeysAtEveryLevel) {
  EXPECT_THAT(ErrorOf("tls_config:\n  cert_file: a\n"), HasSubstr("field tls_config not found in web config"));
  EXPECT_THAT(ErrorOf("tls_server_config:\n  certfile: a\n"), HasSubstr("field certfile not found"));
  EXPECT_THAT(ErrorOf("http_server_config:\n  http3: true\n"), HasSubstr("field http3 not found"));
  EXPECT_THAT(ErrorOf("rate_limit:\n  per: 1s\n"), HasSubstr("field per not found"));
}

TEST(ParseWebConfigTest, RejectsDuplicateKeys) {
  EXPECT_THAT(ErrorOf("basic_auth_users:\n  a: x\n  a: y\n"), HasSubstr("user a already set"));
  EXPECT_THAT(ErrorOf("tls_server_config:\n  cert_file: a\n  cert_file: b\n"), HasSubstr("cert_file already set"));
}

TEST(ParseWebConfigTest, RejectsIncompleteTlsConfig) {
  EXPECT_THAT(ErrorOf("tls_server_config:\n  cert_file: server.crt\n"), HasSubstr("missing one of key or key_file"));
  EXPECT_THAT(ErrorOf("tls_server_config:\n  key_file: server.key\n"), HasSubstr("missing one of cert or cert_file"));
  // Client auth alone (as in exporter-toolkit) asks for TLS, which needs a certificate.
  EXPECT_THAT(ErrorOf("tls_server_config:\n  client_auth_type: NoClientCert\n"),
              HasSubstr("missing one of cert or cert_file"));
  EXPECT_THAT(ErrorOf("tls_server_config:\n  cert_file: a\n  cert: b\n  key_file: c\n"),
              HasSubstr("cannot specify both cert_file and cert"));
  EXPECT_THAT(ErrorOf("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca.crt\n"),
              HasSubstr("Client CA's have been configured without a Client Auth Policy"));
}

TEST(ParseWebConfigTest, RejectsUnknownTlsVocabulary) {
  const std::string tls = "tls_server_config:\n  cert_file: a\n  key_file: b\n";
  EXPECT_THAT(ErrorOf(tls + "  min_version: TLS14\n"), HasSubstr("unknown TLS version: TLS14"));
  EXPECT_THAT(ErrorOf(tls + "  max_version: tls12\n"), HasSubstr("unknown TLS version: tls12"));
  EXPECT_THAT(ErrorOf(tls + "  min_version: TLS13\n  max_version: TLS12\n"),
              HasSubstr("min_version TLS13 is greater than max_version TLS12"));
  EXPECT_THAT(ErrorOf(tls + "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n"),
              HasSubstr("unknown cipher: ECDHE-RSA-AES128-GCM-SHA256"));
  EXPECT_THAT(ErrorOf(tls + "  curve_preferences: [P-256]\n"), HasSubstr("unknown curve: P-256"));
  EXPECT_THAT(ErrorOf(tls + "  client_auth_type: RequireCert\n"), HasSubstr("Invalid ClientAuth: RequireCert"));
}

TEST(ParseWebConfigTest, RejectsHeadersExporterToolkitDoesNotAllow) {
  EXPECT_THAT(ErrorOf("http_server_config:\n  headers:\n    Server: topdog\n"),
              HasSubstr("HTTP header \"Server\" can not be configured"));
  EXPECT_THAT(ErrorOf("http_server_config:\n  headers:\n    x-frame-options: deny\n"),
              HasSubstr("can not be configured"));  // names are matched exactly, as in Go
  EXPECT_THAT(ErrorOf("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
              HasSubstr("invalid value for X-Frame-Options"));
  EXPECT_THAT(ErrorOf("http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a=b\"\n"),
              HasSubstr("control character"));
}

TEST(ParseWebConfigTest, ErrorsNeverEchoPasswordHashes) {
  std::string message = ErrorOf("basic_auth_users:\n  alice: [\"$2y$10$secrethash\"]\n");
  EXPECT_THAT(message, HasSubstr("basic_auth_users"));
  EXPECT_THAT(message, Not(HasSubstr("secrethash")));
}

TEST(ParseWebConfigTest, RejectsRateLimitThatWouldRefuseEverything) {
  EXPECT_THAT(ErrorOf("rate_limit:\n  interval: 1s\n"), HasSubstr("burst must be at least 1"));
  EXPECT_THAT(ErrorOf("rate_limit:\n  interval: soon\n  burst: 1\n"), HasSubstr("rate_limit.interval"));
  EXPECT_THAT(ErrorOf("rate_limit:\n  interval: 1s\n  burst: -1\n"), HasSubstr("non-negative integer"));
}

TEST(LoadWebConfigTest, RelativePathsResolveAgainstTheConfigDirectory) {
  TempDir dir;
  std::string file =
      dir.Write("web.yml", "tls_server_config:\n  cert_file: certs/server.crt\n  key_file: server.key\n");
  auto config = LoadWebConfig(file);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->tls.cert_file, dir.path() + "/certs/server.crt");
  EXPECT_EQ(config->tls.key_file, dir.path() + "/server.key");
}

TEST(LoadWebConfigTest, MissingFileIsNotFoundAndNamesThePath) {
  auto config = LoadWebConfig("/nonexistent/web.yml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(config.error().message, HasSubstr("/nonexistent/web.yml"));
}

TEST(LoadWebConfigTest, ErrorsNameTheFile) {
  TempDir dir;
  std::string file = dir.Write("web.yml", "nonsense: true\n");
  auto config = LoadWebConfig(file);
  ASSERT_FALSE(config.has_value());
  EXPECT_THAT(config.error().message, HasSubstr(file));
  EXPECT_THAT(config.error().message, HasSubstr("field nonsense not found"));
}

TEST(BuildServerSslContextTest, LoadsFixtureCertificateAndKey) {
  TlsServerConfig tls;
  tls.cert_file = FixturePath("server.crt");
  tls.key_file = FixturePath("server.key");
  tls.client_auth_type = ClientAuthType::kRequireAndVerifyClientCert;
  tls.client_ca_file = FixturePath("ca.crt");
  tls.cipher_suites = {"ECDHE-ECDSA-AES128-GCM-SHA256"};
  tls.curve_preferences = {"P-256", "X25519"};
  auto ctx = BuildServerSslContext(tls);
  ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
}

TEST(BuildServerSslContextTest, AcceptsInlinePem) {
  auto read = [](const std::string& name) {
    std::ifstream in(FixturePath(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  TlsServerConfig tls;
  tls.cert = read("server.crt");
  tls.key = read("server.key");
  tls.client_auth_type = ClientAuthType::kVerifyClientCertIfGiven;
  tls.client_ca = read("ca.crt");
  auto ctx = BuildServerSslContext(tls);
  ASSERT_TRUE(ctx.has_value()) << ctx.error().message;
}

TEST(BuildServerSslContextTest, RejectsKeyThatDoesNotMatchTheCertificate) {
  TlsServerConfig tls;
  tls.cert_file = FixturePath("server.crt");
  tls.key_file = FixturePath("client.key");
  auto ctx = BuildServerSslContext(tls);
  ASSERT_FALSE(ctx.has_value());
  EXPECT_THAT(ctx.error().message, HasSubstr("does not match the certificate"));
  EXPECT_THAT(ctx.error().message, HasSubstr("client.key"));
}

TEST(BuildServerSslContextTest, MissingCertificateFileIsNamed) {
  TlsServerConfig tls;
  tls.cert_file = "/nonexistent/server.crt";
  tls.key_file = FixturePath("server.key");
  auto ctx = BuildServerSslContext(tls);
  ASSERT_FALSE(ctx.has_value());
  EXPECT_THAT(ctx.error().message, HasSubstr("/nonexistent/server.crt"));
}

// Hashes from `htpasswd -nbBC 10 prometheus secret` (apache2-utils writes $2y$) and Go's bcrypt ($2a$).
TEST(IsBcryptHashTest, AcceptsTheThreePrefixesAndCosts4To31) {
  EXPECT_TRUE(IsBcryptHash("$2y$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));
  EXPECT_TRUE(IsBcryptHash("$2a$04$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));
  EXPECT_TRUE(IsBcryptHash("$2b$31$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));
}

TEST(IsBcryptHashTest, RefusesOtherForms) {
  EXPECT_FALSE(IsBcryptHash(""));
  EXPECT_FALSE(IsBcryptHash("secret"));
  EXPECT_FALSE(IsBcryptHash("$2y$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDI"));    // 59 characters
  EXPECT_FALSE(IsBcryptHash("$2y$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIee"));  // 61
  EXPECT_FALSE(IsBcryptHash("$2x$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));   // prefix
  EXPECT_FALSE(IsBcryptHash("$2y$03$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));   // cost < 4
  EXPECT_FALSE(IsBcryptHash("$2y$32$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));   // cost > 31
  EXPECT_FALSE(IsBcryptHash("$2y$1a$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));   // cost digits
  EXPECT_FALSE(IsBcryptHash("$2y$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MD!e"));   // alphabet
  EXPECT_FALSE(IsBcryptHash("$2y$10|y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe"));   // separator
}

TEST(CheckWebConfigFileTest, ListsAbsentTlsFilesAndRefusesAPlainPassword) {
  char dir_template[] = "/tmp/web-config-check-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const auto write = [&](const std::string& text) {
    std::ofstream(dir + "/web.yml") << text;
    return dir + "/web.yml";
  };
  std::vector<std::string> absent;
  auto ok = CheckWebConfigFile(write("tls_server_config: {cert_file: /nonexistent/tls.crt, key_file: " +
                                     FixturePath("server.key") + "}\nbasic_auth_users: {prometheus: "
                                     "$2y$10$y8Nb1RQzuPSmDwlP3pmpqO0tYpKXzBKq5MO5uS8iI8pTqL8O8MDIe}\n"),
                               absent);
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(*ok, "tls=true basic_auth_users=1");
  EXPECT_THAT(absent, ElementsAre("/nonexistent/tls.crt"));

  absent.clear();
  auto plain = CheckWebConfigFile(write("basic_auth_users: {prometheus: hunter2}\n"), absent);
  ASSERT_FALSE(plain.has_value());
  EXPECT_THAT(plain.error().message, HasSubstr("prometheus: not a bcrypt hash"));
  EXPECT_THAT(plain.error().message, Not(HasSubstr("hunter2")));

  absent.clear();
  auto mismatch = CheckWebConfigFile(write("tls_server_config: {cert_file: " + FixturePath("server.crt") +
                                           ", key_file: " + FixturePath("client.key") + "}\n"),
                                     absent);
  ASSERT_FALSE(mismatch.has_value());
  EXPECT_THAT(mismatch.error().message, HasSubstr("does not match the certificate"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace topdog::http
