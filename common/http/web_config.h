// node_exporter's exporter-toolkit web configuration (--web.config.file): strict YAML parsing and
// validation, and the OpenSSL server context it describes. WebConfig is an immutable value once loaded;
// all functions are thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct ssl_st;      // OpenSSL's SSL

namespace topdog::http {

enum class ClientAuthType {
  kNoClientCert,
  kRequestClientCert,           // ask for a certificate, accept any (or none)
  kRequireAnyClientCert,        // require a certificate, do not verify it
  kVerifyClientCertIfGiven,     // verify a certificate if one is sent
  kRequireAndVerifyClientCert,  // mTLS
};

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

struct TlsServerConfig {
  // PEM files (relative paths already resolved against the config file's directory) or inline PEM text;
  // exactly one of each pair when TLS is on.
  std::string cert_file;
  std::string cert;
  std::string key_file;
  std::string key;  // secret: never logged
  ClientAuthType client_auth_type = ClientAuthType::kNoClientCert;
  std::string client_ca_file;
  std::string client_ca;
  // When non-empty, a client certificate must carry one of these DNS, email, IP or URI SANs.
  std::vector<std::string> client_allowed_sans;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // OpenSSL names of the TLS 1.2 suites, mapped from Go's names; empty = OpenSSL's defaults. Go's TLS 1.3
  // names are accepted and ignored, as Go does (TLS 1.3 suites are not configurable there either).
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> curve_preferences;  // OpenSSL group names ("P-256", "X25519")

  // exporter-toolkit serves TLS iff tls_server_config says anything about certificates or client auth;
  // validation then guarantees a certificate and a key.
  bool Enabled() const { return !cert_file.empty() || !cert.empty() || !key_file.empty() || !key.empty(); }
};

// exporter-toolkit's rate_limit: a global token bucket refilled once per interval, up to burst tokens.
struct RateLimitConfig {
  std::chrono::milliseconds interval{0};  // 0 = no rate limit
  int burst = 0;
};

struct WebConfig {
  TlsServerConfig tls;
  bool http2 = true;  // accepted for compatibility; the server speaks HTTP/1.1 only
  // Security headers added to every response; names limited to the ones exporter-toolkit allows.
  std::vector<std::pair<std::string, std::string>> headers;
  // user -> bcrypt hash. Secret: never logged.
  std::map<std::string, std::string> basic_auth_users;
  RateLimitConfig rate_limit;

  // Files whose change must trigger a reload (certificate, key, client CA).
  std::vector<std::string> ReferencedFiles() const;
};

// Parses exporter-toolkit YAML strictly (unknown or duplicate keys are errors, like Go's UnmarshalStrict)
// and validates it. Relative file paths are joined to base_dir. Does not read the referenced files.
Result<WebConfig> ParseWebConfig(std::string_view yaml, std::string_view base_dir);

// Reads and parses the file; relative paths resolve against the file's directory, as exporter-toolkit does.
Result<WebConfig> LoadWebConfig(const std::string& path);

// Whether `hash` has bcrypt's form as exporter-toolkit requires of basic_auth_users at start-up (Go's bcrypt.Cost):
// "$2a$", "$2b$" or "$2y$", a two-digit cost 04-31, "$", 53 characters of bcrypt's base64; 60 in all.
bool IsBcryptHash(std::string_view hash);

// --check-config of both binaries: the file loaded as a start loads it, every basic_auth_users value a bcrypt hash
// (our server would start with another value but never match the user), and, when every TLS file it names exists
// here, the server context built (so a key that does not match its certificate fails). TLS files absent here (a
// Secret mounted only at run time) are appended to `absent_files` and the context is not built. Errors name the
// user, never the hash. Returns a summary: "tls=true basic_auth_users=2".
Result<std::string> CheckWebConfigFile(const std::string& path, std::vector<std::string>& absent_files);

struct SslCtxDeleter {
  void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxDeleter>;

// Builds an OpenSSL server context from a config whose Enabled() is true: certificate chain and key (must
// match), versions, TLS 1.2 ciphers, curves, client CA and verification mode. Errors name the failing file.
Result<SslCtxPtr> BuildServerSslContext(const TlsServerConfig& tls);

// After a successful handshake: whether the peer certificate carries one of allowed_sans (exporter-toolkit's
// client_allowed_sans check: DNS names, emails, IPs, URIs). True when allowed_sans is empty.
bool ClientCertificateAllowed(ssl_st* ssl, const std::vector<std::string>& allowed_sans);

}  // namespace topdog::http
