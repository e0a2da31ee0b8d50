// HttpGetter: the exporter's outgoing HTTP GETs (nginx stub_status, the Envoy admin page, backend probes and
// /metrics), an interface so that collectors are unit-tested with FakeHttpGetter (tests/fakes). BeastHttpGetter
// is the real one: HTTP/1.1 over Boost.Beast, https over OpenSSL, one connection per GET, a total deadline and
// a body limit. Not libcurl: the exporter's resident memory is benchmarked (README "Benchmark") and Beast and
// OpenSSL are already in the binary for the server. Implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.h"

namespace topdog::exporter {

struct HttpGetResponse {
  int status = 0;
  std::string content_type;  // "" when the header is absent
  std::string body;
};

class HttpGetter {
 public:
  virtual ~HttpGetter() = default;
  // GETs `url` (http:// or https://). Any HTTP status is a response: what a 404 or a 502 means is the caller's
  // call. Errors, each naming the URL: kUnavailable (DNS, refused, reset, TLS handshake or verification,
  // closed before a whole response), kDeadlineExceeded (no whole response within the timeout), kBadData (not
  // HTTP, body over the limit, bad URL), kRejected (a credentials file cannot be read).
  virtual Result<HttpGetResponse> Get(const std::string& url) = 0;
};

struct HttpGetterOptions {
  // The whole exchange: name resolution, connect, TLS handshake, request, response, and redirects.
  std::chrono::milliseconds timeout{5000};
  size_t max_body_bytes = 1 << 20;
  // Sent as the Accept header when not empty (the backend pass-through asks for the text format 0.0.4).
  std::string accept;
  // Redirects followed (301, 302, 303, 307, 308), as Prometheus and the blackbox exporter do. Credentials are
  // not sent on to another scheme, host or port.
  int max_redirects = 5;
  // https: a PEM file of CA certificates (empty: the system's, loaded on the first https GET);
  // insecure_skip_verify accepts any certificate and host name.
  std::string ca_file;
  bool insecure_skip_verify = false;
  // Credentials, read from their files on every GET (Kubernetes rotates mounted secrets): a bearer token, or a
  // basic-auth user with a password file. Never logged.
  std::string bearer_token_file;
  std::string basic_auth_username;
  std::string basic_auth_password_file;
  std::string user_agent = "topdog-exporter";
};

// An http(s) URL split for a GET. Pure value.
struct HttpUrl {
  bool https = false;
  std::string host;  // without brackets for IPv6 literals
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"

  std::string HostHeader() const;  // "host:port", the port left out when it is the scheme's default
};

// Parses "http[s]://host[:port][/path][?query]" (fragment dropped). Errors (kBadData): another scheme, no
// host, a bad port, user info ("user:pass@": give credentials in files, so that they never end up in a label
// value or a log line), spaces or control characters.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

// Made only through Create, which checks the options (a CA file that cannot be read is a start-up error).
class BeastHttpGetter final : public HttpGetter {
 public:
  static Result<std::unique_ptr<BeastHttpGetter>> Create(HttpGetterOptions options);
  ~BeastHttpGetter() override;
  Result<HttpGetResponse> Get(const std::string& url) override;

 private:
  struct Tls;
  explicit BeastHttpGetter(HttpGetterOptions options);
  // The TLS client context, made on the first https GET: loading the system's CA store costs resident
  // memory that plain-http set-ups never need.
  Result<Tls*> TlsContext();
  Result<HttpGetResponse> GetOnce(const HttpUrl& url, const std::string& url_text, bool with_credentials,
                                  std::chrono::steady_clock::time_point deadline, std::string* location);
  Result<std::string> AuthorizationHeader() const;

  const HttpGetterOptions options_;
  std::mutex tls_mu_;
  std::unique_ptr<Tls> tls_;  // GUARDED_BY(tls_mu_); never reset once made
};

// `text` cut to `max_bytes` (at a UTF-8 boundary, "..." appended when cut) with control characters escaped,
// for quoting a peer's answer in an error message.
std::string Snippet(std::string_view text, size_t max_bytes = 80);

}  // namespace topdog::exporter
