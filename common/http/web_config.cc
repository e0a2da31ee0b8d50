#include "common/http/web_config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <yaml-cpp/yaml.h>

#include "common/duration.h"
#include "common/yaml_fields.h"
#include "common/logging.h"

namespace topdog::http {
namespace {

using yaml_fields::CheckKeys;
using yaml_fields::ConfigError;
using yaml_fields::GetBool;
using yaml_fields::GetString;
using yaml_fields::GetStringList;
using yaml_fields::Where;

// ---------------------------------------------------------------------------------------------------------
// exporter-toolkit vocabularies.

Result<TlsVersion> ParseTlsVersion(const std::string& name) {
  if (name == "TLS10") return TlsVersion::kTls10;
  if (name == "TLS11") return TlsVersion::kTls11;
  if (name == "TLS12") return TlsVersion::kTls12;
  if (name == "TLS13") return TlsVersion::kTls13;
  return tl::unexpected(ConfigError("unknown TLS version: " + name));
}

std::string_view TlsVersionName(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return "TLS10";
    case TlsVersion::kTls11:
      return "TLS11";
    case TlsVersion::kTls12:
      return "TLS12";
    case TlsVersion::kTls13:
      return "TLS13";
  }
  return "?";
}

Result<ClientAuthType> ParseClientAuth(const std::string& name) {
  if (name.empty() || name == "NoClientCert") return ClientAuthType::kNoClientCert;
  if (name == "RequestClientCert") return ClientAuthType::kRequestClientCert;
  // "RequireClientCert" is exporter-toolkit's backwards-compatible spelling.
  if (name == "RequireAnyClientCert" || name == "RequireClientCert") return ClientAuthType::kRequireAnyClientCert;
  if (name == "VerifyClientCertIfGiven") return ClientAuthType::kVerifyClientCertIfGiven;
  if (name == "RequireAndVerifyClientCert") return ClientAuthType::kRequireAndVerifyClientCert;
  return tl::unexpected(ConfigError("Invalid ClientAuth: " + name));
}

struct CipherName {
  std::string_view go;
  std::string_view openssl;  // empty: a TLS 1.3 suite, not configurable (as in Go)
};

// Go's tls.CipherSuites() and tls.InsecureCipherSuites(), which exporter-toolkit accepts, and the OpenSSL
// names of the same suites. Suites that OpenSSL 3 no longer provides (RC4, 3DES) are dropped by OpenSSL.
constexpr std::array<CipherName, 25> kCiphers = {{
    {"TLS_AES_128_GCM_SHA256", ""},
    {"TLS_AES_256_GCM_SHA384", ""},
    {"TLS_CHACHA20_POLY1305_SHA256", ""},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
}};

Result<std::vector<std::string>> MapCiphers(const std::vector<std::string>& go_names) {
  std::vector<std::string> out;
  for (const std::string& name : go_names) {
    const CipherName* found = nullptr;
    for (const CipherName& cipher : kCiphers) {
      if (cipher.go == name) found = &cipher;
    }
    if (found == nullptr) return tl::unexpected(ConfigError("unknown cipher: " + name));
    if (!found->openssl.empty()) out.emplace_back(found->openssl);
  }
  return out;
}

Result<std::vector<std::string>> MapCurves(const std::vector<std::string>& go_names) {
  std::vector<std::string> out;
  for (const std::string& name : go_names) {
    if (name == "CurveP256") {
      out.emplace_back("P-256");
    } else if (name == "CurveP384") {
      out.emplace_back("P-384");
    } else if (name == "CurveP521") {
      out.emplace_back("P-521");
    } else if (name == "X25519") {
      out.emplace_back("X25519");
    } else {
      return tl::unexpected(ConfigError("unknown curve: " + name));
    }
  }
  return out;
}

// exporter-toolkit's extraHTTPHeaders: the configurable headers and, for some, their allowed values.
Result<void> ValidateHeader(const std::string& name, const std::string& value) {
  static const std::map<std::string, std::vector<std::string>, std::less<>> kAllowed = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  auto it = kAllowed.find(name);
  if (it == kAllowed.end()) return tl::unexpected(ConfigError("HTTP header \"" + name + "\" can not be configured"));
  if (!it->second.empty()) {
    bool ok = false;
    for (const std::string& allowed : it->second) ok = ok || value == allowed;
    if (!ok) {
      std::string expected;
      for (const std::string& allowed : it->second) expected += (expected.empty() ? "\"" : " \"") + allowed + "\"";
      return tl::unexpected(ConfigError("invalid value for " + name + ". Expected one of: [" + expected +
                                        "], but got: \"" + value + "\""));
    }
  }
  // Go's net/http refuses to send such values; here they would split the response.
  for (char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      return tl::unexpected(ConfigError("HTTP header \"" + name + "\" has a control character in its value"));
    }
  }
  return {};
}

std::string JoinDir(std::string_view dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(dir) / path).lexically_normal().string();
}

Result<TlsServerConfig> ParseTls(const YAML::Node& node, std::string_view base_dir) {
  constexpr std::string_view kSection = "tls_server_config";
  TlsServerConfig tls;
  if (auto ok = CheckKeys(
          node, kSection,
          {"cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file", "cipher_suites",
           "curve_preferences", "min_version", "max_version", "prefer_server_cipher_suites", "client_allowed_sans"});
      !ok) {
    return tl::unexpected(ok.error());
  }
  auto cert = GetString(node, "cert", kSection);
  auto key = GetString(node, "key", kSection);
  auto client_ca = GetString(node, "client_ca", kSection);
  auto cert_file = GetString(node, "cert_file", kSection);
  auto key_file = GetString(node, "key_file", kSection);
  auto client_auth = GetString(node, "client_auth_type", kSection);
  auto client_ca_file = GetString(node, "client_ca_file", kSection);
  auto min_version = GetString(node, "min_version", kSection);
  auto max_version = GetString(node, "max_version", kSection);
  for (const auto* field :
       {&cert, &key, &client_ca, &cert_file, &key_file, &client_auth, &client_ca_file, &min_version, &max_version}) {
    if (!*field) return tl::unexpected(field->error());
  }
  auto ciphers = GetStringList(node, "cipher_suites", kSection);
  if (!ciphers) return tl::unexpected(ciphers.error());
  auto curves = GetStringList(node, "curve_preferences", kSection);
  if (!curves) return tl::unexpected(curves.error());
  auto sans = GetStringList(node, "client_allowed_sans", kSection);
  if (!sans) return tl::unexpected(sans.error());
  auto prefer = GetBool(node, "prefer_server_cipher_suites", kSection, true);
  if (!prefer) return tl::unexpected(prefer.error());

  tls.cert = *cert;
  tls.key = *key;
  tls.client_ca = *client_ca;
  tls.cert_file = JoinDir(base_dir, *cert_file);
  tls.key_file = JoinDir(base_dir, *key_file);
  tls.client_ca_file = JoinDir(base_dir, *client_ca_file);
  tls.client_allowed_sans = *sans;
  tls.prefer_server_cipher_suites = *prefer;

  auto auth_type = ParseClientAuth(*client_auth);
  if (!auth_type) return tl::unexpected(auth_type.error());
  tls.client_auth_type = *auth_type;
  if (!min_version->empty()) {
    auto v = ParseTlsVersion(*min_version);
    if (!v) return tl::unexpected(v.error());
    tls.min_version = *v;
  }
  if (!max_version->empty()) {
    auto v = ParseTlsVersion(*max_version);
    if (!v) return tl::unexpected(v.error());
    tls.max_version = *v;
  }
  auto mapped_ciphers = MapCiphers(*ciphers);
  if (!mapped_ciphers) return tl::unexpected(mapped_ciphers.error());
  tls.cipher_suites = *mapped_ciphers;
  auto mapped_curves = MapCurves(*curves);
  if (!mapped_curves) return tl::unexpected(mapped_curves.error());
  tls.curve_preferences = *mapped_curves;

  // exporter-toolkit's validateTLSPaths: nothing about certificates or client auth means plain HTTP;
  // anything else requires a certificate and a key.
  bool any_tls = !tls.cert.empty() || !tls.cert_file.empty() || !tls.key.empty() || !tls.key_file.empty() ||
                 !tls.client_ca.empty() || !tls.client_ca_file.empty() || !client_auth->empty();
  if (any_tls) {
    if (!tls.cert.empty() && !tls.cert_file.empty()) {
      return tl::unexpected(ConfigError("cannot specify both cert_file and cert"));
    }
    if (!tls.key.empty() && !tls.key_file.empty()) {
      return tl::unexpected(ConfigError("cannot specify both key_file and key"));
    }
    if (!tls.client_ca.empty() && !tls.client_ca_file.empty()) {
      return tl::unexpected(ConfigError("cannot specify both client_ca_file and client_ca"));
    }
    if (tls.cert.empty() && tls.cert_file.empty()) {
      return tl::unexpected(ConfigError("missing one of cert or cert_file"));
    }
    if (tls.key.empty() && tls.key_file.empty()) return tl::unexpected(ConfigError("missing one of key or key_file"));
    bool has_ca = !tls.client_ca.empty() || !tls.client_ca_file.empty();
    if (has_ca && tls.client_auth_type == ClientAuthType::kNoClientCert) {
      return tl::unexpected(ConfigError("Client CA's have been configured without a Client Auth Policy"));
    }
  }
  if (tls.min_version > tls.max_version) {
    return tl::unexpected(ConfigError("min_version " + std::string(TlsVersionName(tls.min_version)) +
                                      " is greater than max_version " + std::string(TlsVersionName(tls.max_version))));
  }
  return tls;
}

Result<WebConfig> ParseRoot(const YAML::Node& root, std::string_view base_dir) {
  WebConfig config;
  if (root.IsNull()) return config;  // an empty file: plain HTTP, no auth
  if (auto ok =
          CheckKeys(root, "web config", {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"});
      !ok) {
    return tl::unexpected(ok.error());
  }

  YAML::Node tls_node = root["tls_server_config"];
  auto tls = ParseTls(tls_node ? tls_node : YAML::Node(YAML::NodeType::Null), base_dir);
  if (!tls) return tl::unexpected(tls.error());
  config.tls = std::move(*tls);

  if (YAML::Node http = root["http_server_config"]; http && !http.IsNull()) {
    if (auto ok = CheckKeys(http, "http_server_config", {"http2", "headers"}); !ok) return tl::unexpected(ok.error());
    auto http2 = GetBool(http, "http2", "http_server_config", true);
    if (!http2) return tl::unexpected(http2.error());
    config.http2 = *http2;
    if (YAML::Node headers = http["headers"]; headers && !headers.IsNull()) {
      if (!headers.IsMap()) {
        return tl::unexpected(ConfigError("http_server_config.headers must be a mapping" + Where(headers)));
      }
      std::set<std::string> seen;
      for (auto it = headers.begin(); it != headers.end(); ++it) {
        if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
          return tl::unexpected(ConfigError("http_server_config.headers must map names to strings" + Where(it->first)));
        }
        std::string name = it->first.Scalar();
        std::string value = it->second.IsNull() ? std::string() : it->second.Scalar();
        if (!seen.insert(name).second) {
          return tl::unexpected(ConfigError("http_server_config.headers: " + name + " already set"));
        }
        if (auto ok = ValidateHeader(name, value); !ok) return tl::unexpected(ok.error());
        config.headers.emplace_back(std::move(name), std::move(value));
      }
    }
  }

  if (YAML::Node users = root["basic_auth_users"]; users && !users.IsNull()) {
    if (!users.IsMap()) return tl::unexpected(ConfigError("basic_auth_users must be a mapping" + Where(users)));
    for (auto it = users.begin(); it != users.end(); ++it) {
      if (!it->first.IsScalar() || !(it->second.IsScalar() || it->second.IsNull())) {
        // The message must not echo the value: it is a password hash.
        return tl::unexpected(ConfigError("basic_auth_users must map user names to bcrypt hashes" + Where(it->first)));
      }
      std::string hash = it->second.IsNull() ? std::string() : it->second.Scalar();
      if (!config.basic_auth_users.emplace(it->first.Scalar(), std::move(hash)).second) {
        return tl::unexpected(ConfigError("basic_auth_users: user " + it->first.Scalar() + " already set"));
      }
    }
  }

  if (YAML::Node rate = root["rate_limit"]; rate && !rate.IsNull()) {
    if (auto ok = CheckKeys(rate, "rate_limit", {"interval", "burst"}); !ok) return tl::unexpected(ok.error());
    auto interval = GetString(rate, "interval", "rate_limit");
    if (!interval) return tl::unexpected(interval.error());
    if (!interval->empty()) {
      auto parsed = ParseDuration(*interval);
      if (!parsed) return tl::unexpected(parsed.error().WithContext("rate_limit.interval"));
      config.rate_limit.interval = *parsed;
    }
    if (YAML::Node burst = rate["burst"]; burst && !burst.IsNull()) {
      int value = 0;
      if (!burst.IsScalar() || !YAML::convert<int>::decode(burst, value) || value < 0) {
        return tl::unexpected(ConfigError("rate_limit.burst must be a non-negative integer" + Where(burst)));
      }
      config.rate_limit.burst = value;
    }
    // golang.org/x/time/rate with burst 0 rejects every request; that is a configuration mistake, not a wish.
    if (config.rate_limit.interval.count() > 0 && config.rate_limit.burst == 0) {
      return tl::unexpected(ConfigError("rate_limit.burst must be at least 1 when rate_limit.interval is set"));
    }
  }
  return config;
}

// ---------------------------------------------------------------------------------------------------------
// OpenSSL.

// Drains OpenSSL's thread-local error queue into one message (the queue must not leak into unrelated calls).
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    if (!out.empty()) out += "; ";
    out += buffer;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error TlsError(std::string what) { return Error{ErrorKind::kBadData, std::move(what) + ": " + OpenSslErrors()}; }

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};

std::unique_ptr<BIO, BioDeleter> MemoryBio(const std::string& pem) {
  return std::unique_ptr<BIO, BioDeleter>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

Result<void> UseInlineCertificateChain(SSL_CTX* ctx, const std::string& pem) {
  auto bio = MemoryBio(pem);
  std::unique_ptr<X509, X509Deleter> leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr));
  if (!leaf) return tl::unexpected(TlsError("cannot parse inline cert"));
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) return tl::unexpected(TlsError("cannot use inline cert"));
  SSL_CTX_clear_chain_certs(ctx);
  while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
      X509_free(extra);
      return tl::unexpected(TlsError("cannot use inline cert chain"));
    }
  }
  ERR_clear_error();  // the loop ends with a "no start line" error
  return {};
}

Result<void> UseInlineKey(SSL_CTX* ctx, const std::string& pem) {
  auto bio = MemoryBio(pem);
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return tl::unexpected(TlsError("cannot parse inline key"));
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1) {
    return tl::unexpected(TlsError("inline key does not match the certificate or cannot be used"));
  }
  return {};
}

Result<void> UseInlineClientCa(SSL_CTX* ctx, const std::string& pem) {
  auto bio = MemoryBio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert))) sk_X509_NAME_push(names, name);
    X509_free(cert);
    ++count;
  }
  ERR_clear_error();
  if (count == 0) {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
    return tl::unexpected(ConfigError("client_ca: no PEM certificate found"));
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  return {};
}

int OpenSslVersion(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

// Request/RequireAny: ask for a certificate but accept whatever comes, as Go does for these policies.
int AcceptAnyCertificate(int /*preverify_ok*/, X509_STORE_CTX* /*store*/) { return 1; }

std::string Join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const std::string& part : parts) {
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

}  // namespace

std::vector<std::string> WebConfig::ReferencedFiles() const {
  std::vector<std::string> files;
  for (const std::string* file : {&tls.cert_file, &tls.key_file, &tls.client_ca_file}) {
    if (!file->empty()) files.push_back(*file);
  }
  return files;
}

Result<WebConfig> ParseWebConfig(std::string_view yaml, std::string_view base_dir) {
  // yaml-cpp reports syntax and conversion errors by throwing; they must not leave this adapter.
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return ParseRoot(root, base_dir);
  } catch (const YAML::Exception& e) {
    return tl::unexpected(ConfigError(std::string("invalid YAML: ") + e.what()));
  } catch (const std::exception& e) {
    return tl::unexpected(ConfigError(std::string("invalid web config: ") + e.what()));
  }
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;  // libstdc++'s filebuf::open leaves open(2)'s errno; keep it before anything else runs
    return MakeError(err == ENOENT ? ErrorKind::kNotFound : ErrorKind::kUnavailable,
                     "web config " + LogQuote(path) + ": " + std::strerror(err));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return MakeError(ErrorKind::kUnavailable, "web config " + LogQuote(path) + ": read error");
  std::string dir = std::filesystem::path(path).parent_path().string();
  auto config = ParseWebConfig(content.str(), dir.empty() ? "." : dir);
  if (!config) return tl::unexpected(config.error().WithContext("web config " + LogQuote(path)));
  return config;
}

void SslCtxDeleter::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

Result<SslCtxPtr> BuildServerSslContext(const TlsServerConfig& tls) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return tl::unexpected(TlsError("SSL_CTX_new"));
  SSL_CTX* raw = ctx.get();
  // Go's crypto/tls never renegotiates and never compresses.
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (tls.prefer_server_cipher_suites) SSL_CTX_set_options(raw, SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (tls.min_version < TlsVersion::kTls12) {
    // Debian's OpenSSL security level 2 forbids TLS 1.0/1.1 outright; the operator asked for them.
    SSL_CTX_set_security_level(raw, 0);
  }
  if (SSL_CTX_set_min_proto_version(raw, OpenSslVersion(tls.min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(raw, OpenSslVersion(tls.max_version)) != 1) {
    return tl::unexpected(TlsError("cannot set TLS versions"));
  }
  if (!tls.cipher_suites.empty() && SSL_CTX_set_cipher_list(raw, Join(tls.cipher_suites, ':').c_str()) != 1) {
    return tl::unexpected(TlsError("none of cipher_suites is available"));
  }
  if (!tls.curve_preferences.empty() && SSL_CTX_set1_groups_list(raw, Join(tls.curve_preferences, ':').c_str()) != 1) {
    return tl::unexpected(TlsError("cannot set curve_preferences"));
  }

  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(raw, tls.cert_file.c_str()) != 1) {
      return tl::unexpected(TlsError("cannot load cert_file " + LogQuote(tls.cert_file)));
    }
  } else if (auto ok = UseInlineCertificateChain(raw, tls.cert); !ok) {
    return tl::unexpected(ok.error());
  }
  if (!tls.key_file.empty()) {
    if (SSL_CTX_use_PrivateKey_file(raw, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
        return tl::unexpected(TlsError("key_file " + LogQuote(tls.key_file) + " does not match the certificate"));
      }
      return tl::unexpected(TlsError("cannot load key_file " + LogQuote(tls.key_file)));
    }
  } else if (auto ok = UseInlineKey(raw, tls.key); !ok) {
    return tl::unexpected(ok.error());
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return tl::unexpected(TlsError("the key does not match the certificate"));
  }

  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(raw, tls.client_ca_file.c_str(), nullptr) != 1) {
      return tl::unexpected(TlsError("cannot load client_ca_file " + LogQuote(tls.client_ca_file)));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) return tl::unexpected(TlsError("cannot read client_ca_file " + LogQuote(tls.client_ca_file)));
    SSL_CTX_set_client_CA_list(raw, names);
  } else if (!tls.client_ca.empty()) {
    if (auto ok = UseInlineClientCa(raw, tls.client_ca); !ok) return tl::unexpected(ok.error());
  }

  switch (tls.client_auth_type) {
    case ClientAuthType::kNoClientCert:
      SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuthType::kRequestClientCert:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuthType::kRequireAnyClientCert:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAnyCertificate);
      break;
    case ClientAuthType::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuthType::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // With client verification on, OpenSSL refuses to resume sessions that lack an id context
  // ("session id context uninitialized"), which would fail reconnecting scrapers.
  static constexpr unsigned char kSessionContext[] = "topdog";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof(kSessionContext) - 1);
  ERR_clear_error();
  return ctx;
}

bool ClientCertificateAllowed(ssl_st* ssl, const std::vector<std::string>& allowed_sans) {
  if (allowed_sans.empty()) return true;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr) return false;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return false;
  bool allowed = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !allowed; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string value;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* text = name->d.ia5;
      value.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)), ASN1_STRING_length(text));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      char buffer[INET6_ADDRSTRLEN] = {};
      int length = ASN1_STRING_length(ip);
      if (length == 4 || length == 16) {
        // Go prints IPs with net.IP.String(): dotted quad, RFC 5952 for IPv6, as inet_ntop does.
        if (inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buffer, sizeof(buffer))) {
          value = buffer;
        }
      }
    }
    if (value.empty()) continue;
    for (const std::string& candidate : allowed_sans) allowed = allowed || value == candidate;
  }
  GENERAL_NAMES_free(names);
  return allowed;
}

bool IsBcryptHash(std::string_view hash) {
  auto base64 = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/';
  };
  if (hash.size() != 60) return false;
  const std::string_view prefix = hash.substr(0, 3);
  if (prefix != "$2a" && prefix != "$2b" && prefix != "$2y") return false;
  if (hash[3] != '$' || hash[6] != '$' || !std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), base64);
}

Result<std::string> CheckWebConfigFile(const std::string& path, std::vector<std::string>& absent_files) {
  auto config = LoadWebConfig(path);
  if (!config) return tl::unexpected(config.error());
  const std::string context = "web config " + LogQuote(path);
  for (const auto& [user, hash] : config->basic_auth_users) {
    if (!IsBcryptHash(hash)) {
      return MakeError(ErrorKind::kBadData, context + ": basic_auth_users: " + user +
                                                ": not a bcrypt hash ($2a$, $2b$ or $2y$, cost 04-31, 60 characters)");
    }
  }
  if (config->tls.Enabled()) {
    bool all_present = true;
    for (const std::string& file : config->ReferencedFiles()) {
      std::error_code ec;
      if (!std::filesystem::exists(file, ec)) {
        absent_files.push_back(file);
        all_present = false;
      }
    }
    if (all_present) {
      auto ctx = BuildServerSslContext(config->tls);
      if (!ctx) return tl::unexpected(ctx.error().WithContext(context));
    }
  }
  return std::string("tls=") + (config->tls.Enabled() ? "true" : "false") +
         " basic_auth_users=" + std::to_string(config->basic_auth_users.size());
}

}  // namespace topdog::http
