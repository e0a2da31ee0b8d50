// HttpClient: the advisor's outgoing HTTP (Prometheus, the Kubernetes API, DigitalOcean, exporters in embedded
// mode), an interface so that callers are tested with FakeHttpClient and the real CurlHttpClient is tested
// against loopback servers. CurlHttpClient: libcurl easy handles (one per calling thread slot, connections
// kept alive), TLS (CA file or PEM, client certificate, no verification only when asked), timeouts, a body
// size limit. Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace topdog::advisor {

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute: scheme://host:port/path?query (the query already escaped)
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given (e.g. Authorization, Content-Type)
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in arrival order
  std::string body;

  // The first value of header `lower_name`, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Any HTTP status is a response (the caller decides what a 404 or 409 means). Errors: kUnavailable (refused,
  // reset, DNS, TLS handshake), kDeadlineExceeded (timeout), kBadData (body over the limit, bad URL).
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct TlsOptions {
  std::string ca_file;              // PEM bundle; empty: the system's
  std::string ca_pem;               // PEM data (kubeconfig certificate-authority-data); used when set
  std::string cert_file, key_file;  // client certificate (mTLS)
  std::string cert_pem, key_pem;    // the same as data (kubeconfig client-certificate-data)
  std::string server_name;          // SNI / verification name when it differs from the URL's host
  bool insecure_skip_verify = false;
};

struct HttpClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{30000};  // whole exchange
  size_t max_body_bytes = 256u << 20;
  TlsOptions tls;
  std::string user_agent = "topdog-advisor";
};

// Made only through Create (bad TLS options fail there, once, not on every request).
class CurlHttpClient : public HttpClient {
 public:
  static Result<std::unique_ptr<CurlHttpClient>> Create(HttpClientOptions options);
  ~CurlHttpClient() override;
  Result<HttpResponse> Send(const HttpRequest& request) override;

 private:
  struct Impl;
  explicit CurlHttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A secret read from a file (service-account token, API token, password): re-read when the file's size or
// modification time or inode changes (Kubernetes rotates projected tokens), never logged. Thread-safe.
class SecretFile {
 public:
  explicit SecretFile(std::string path) : path_(std::move(path)) {}
  // The file's content without trailing whitespace. Errors: kRejected (absent or unreadable), kBadData (empty).
  Result<std::string> Read();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mutex_;
  long long size_ = -1;
  long long mtime_ns_ = -1;
  unsigned long long inode_ = 0;  // the kubelet rotates projected tokens by renaming a new file into place
  std::string value_;
};

// Retries for idempotent requests: connection errors, timeouts, 429 and 5xx, with exponential backoff (jittered)
// or the server's Retry-After (seconds), capped. `sleep` is the waiting primitive (tests pass one that records).
struct RetryPolicy {
  int attempts = 3;  // total, >= 1
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{10000};
};

// True for the statuses worth retrying (429, 5xx except 501).
bool IsRetryableStatus(int status);

// Sends with retries: the last response (whatever its status) or the last error after `policy.attempts`.
// `sleeper(duration)` waits between attempts.
Result<HttpResponse> SendWithRetries(HttpClient& client, const HttpRequest& request, const RetryPolicy& policy,
                                     const std::function<void(std::chrono::milliseconds)>& sleeper);

// The wait a 429/503 answer asks for: Retry-After in seconds (or an HTTP date is ignored), capped at `cap`;
// nullopt when absent or unparsable.
std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& response, std::chrono::milliseconds cap);

// Standard padded base64 (RFC 4648), for basic auth headers.
std::string Base64Encode(std::string_view bytes);

// The Authorization header of a peer's credentials: a bearer token file or basic auth (a user and an optional
// password file), both re-read when their files change. Thread-safe.
class AuthHeader {
 public:
  AuthHeader(const std::string& bearer_token_file, std::string basic_user, const std::string& basic_password_file);
  // "Bearer <token>", "Basic <base64>", or "" when nothing is configured. Errors: the secret file's (with which
  // one), kRejected when both kinds are configured.
  Result<std::string> Value();

 private:
  std::unique_ptr<SecretFile> bearer_token_;    // null when not configured
  std::string basic_user_;
  std::unique_ptr<SecretFile> basic_password_;  // null when no password file
};

// `text` with every occurrence of `secret` replaced by "<redacted>": error messages quote peers' answers, and an
// answer that echoes our request must not put a token into a log line.
std::string RedactSecret(std::string text, std::string_view secret);

// Percent-encodes a query parameter value (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view text);

}  // namespace topdog::advisor
