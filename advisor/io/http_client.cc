#include "advisor/io/http_client.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

namespace topdog::advisor {

std::string_view HttpResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace {

// curl_global_init is not thread-safe: done once, before the first handle, by a function-local static.
void GlobalInit() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

struct Exchange {
  HttpResponse response;
  size_t max_body_bytes = 0;
  bool too_large = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  if (exchange->response.body.size() + bytes > exchange->max_body_bytes) {
    exchange->too_large = true;
    return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
  }
  exchange->response.body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  // A new status line (after a 100 Continue or a redirect) starts a new set of headers.
  if (line.rfind("HTTP/", 0) == 0) {
    exchange->response.headers.clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  exchange->response.headers.emplace_back(std::move(name), std::string(value));
  return bytes;
}

// Sets a PEM blob option (CA, client certificate or key given as data).
CURLcode SetBlob(CURL* curl, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  return curl_easy_setopt(curl, option, &blob);
}

}  // namespace

struct CurlHttpClient::Impl {
  HttpClientOptions options;
  std::mutex mutex;
  std::vector<CURL*> idle;  // handles keep their connections; one per concurrent caller at most

  ~Impl() {
    for (CURL* curl : idle) curl_easy_cleanup(curl);
  }

  CURL* Take() {
    std::lock_guard lock(mutex);
    if (idle.empty()) return curl_easy_init();
    CURL* curl = idle.back();
    idle.pop_back();
    return curl;
  }
  void Give(CURL* curl) {
    std::lock_guard lock(mutex);
    idle.push_back(curl);
  }

  Result<void> Configure(CURL* curl) const {
    const TlsOptions& tls = options.tls;
    CURLcode rc = CURLE_OK;
    auto set = [&rc](CURLcode code) {
      if (rc == CURLE_OK) rc = code;
    };
    set(curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count())));
    set(curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count())));
    set(curl_easy_setopt(curl, CURLOPT_USERAGENT, options.user_agent.c_str()));
    set(curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L));
    set(curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, ""));  // gzip/deflate when the server offers it
    if (!tls.ca_pem.empty()) {
      set(SetBlob(curl, CURLOPT_CAINFO_BLOB, tls.ca_pem));
    } else if (!tls.ca_file.empty()) {
      set(curl_easy_setopt(curl, CURLOPT_CAINFO, tls.ca_file.c_str()));
    }
    if (!tls.cert_pem.empty()) {
      set(SetBlob(curl, CURLOPT_SSLCERT_BLOB, tls.cert_pem));
      set(curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM"));
    } else if (!tls.cert_file.empty()) {
      set(curl_easy_setopt(curl, CURLOPT_SSLCERT, tls.cert_file.c_str()));
    }
    if (!tls.key_pem.empty()) {
      set(SetBlob(curl, CURLOPT_SSLKEY_BLOB, tls.key_pem));
      set(curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM"));
    } else if (!tls.key_file.empty()) {
      set(curl_easy_setopt(curl, CURLOPT_SSLKEY, tls.key_file.c_str()));
    }
    if (tls.insecure_skip_verify) {
      set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L));
      set(curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L));
    }
    set(curl_easy_setopt(curl, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2));
    if (rc != CURLE_OK) {
      return MakeError(ErrorKind::kBadData, std::string("HTTP client set-up: ") + curl_easy_strerror(rc));
    }
    return {};
  }
};

CurlHttpClient::CurlHttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CurlHttpClient::~CurlHttpClient() = default;

Result<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(HttpClientOptions options) {
  GlobalInit();
  for (const std::string* path : {&options.tls.ca_file, &options.tls.cert_file, &options.tls.key_file}) {
    if (path->empty()) continue;
    if (std::ifstream file(*path); !file) {
      return MakeError(ErrorKind::kNotFound, "TLS file " + *path + ": " + std::strerror(errno));
    }
  }
  if (options.tls.cert_file.empty() != options.tls.key_file.empty() ||
      options.tls.cert_pem.empty() != options.tls.key_pem.empty()) {
    return MakeError(ErrorKind::kBadData, "a client certificate needs its key, and a key its certificate");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  // One handle now, so that a libcurl without the TLS options we need fails at start-up, not mid-run.
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return MakeError(ErrorKind::kUnavailable, "curl_easy_init failed");
  if (auto configured = impl->Configure(curl); !configured) {
    curl_easy_cleanup(curl);
    return tl::unexpected(configured.error());
  }
  impl->idle.push_back(curl);
  return std::unique_ptr<CurlHttpClient>(new CurlHttpClient(std::move(impl)));
}

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  CURL* curl = impl_->Take();
  if (curl == nullptr) return MakeError(ErrorKind::kUnavailable, "curl_easy_init failed");
  // Per-request options are reset so nothing of an earlier request (body, method, headers) leaks into this one;
  // the connection cache of the handle survives curl_easy_reset.
  curl_easy_reset(curl);
  if (auto configured = impl_->Configure(curl); !configured) {
    impl_->Give(curl);
    return tl::unexpected(configured.error());
  }
  Exchange exchange;
  exchange.max_body_bytes = impl_->options.max_body_bytes;
  curl_slist* headers = nullptr;
  for (const auto& [name, value] : request.headers) {
    headers = curl_slist_append(headers, (name + ": " + value).c_str());
  }
  // libcurl adds "Expect: 100-continue" to larger bodies; the API servers answer directly.
  headers = curl_slist_append(headers, "Expect:");
  // tls.server_name (kubeconfig's tls-server-name): the URL names the certificate's host, and CONNECT_TO sends
  // the connection to the address the caller gave; curl then uses that name for SNI and verification.
  std::string url = request.url;
  curl_slist* connect_to = nullptr;
  if (const std::string& name = impl_->options.tls.server_name; !name.empty()) {
    const size_t scheme_end = url.find("://");
    if (scheme_end != std::string::npos) {
      const size_t host_begin = scheme_end + 3;
      const size_t host_end = std::min(url.find('/', host_begin), url.size());
      const std::string authority = url.substr(host_begin, host_end - host_begin);
      const size_t colon = authority.rfind(':');
      const bool has_port = colon != std::string::npos && authority.find(']', colon) == std::string::npos;
      const std::string host = has_port ? authority.substr(0, colon) : authority;
      const std::string port = has_port ? authority.substr(colon + 1) : (url.rfind("https", 0) == 0 ? "443" : "80");
      url = url.substr(0, host_begin) + name + ":" + port + url.substr(host_end);
      connect_to = curl_slist_append(nullptr, (name + ":" + port + ":" + host + ":" + port).c_str());
      curl_easy_setopt(curl, CURLOPT_CONNECT_TO, connect_to);
    }
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &exchange);
  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  }
  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_CONNECT_TO, nullptr);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  impl_->Give(curl);

  // The URL without its query: queries may be long, and credentials never travel in our URLs anyway.
  std::string where = request.method + " " + request.url.substr(0, request.url.find('?'));
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    if (exchange.too_large) {
      return MakeError(ErrorKind::kBadData,
                       where + ": answer larger than " + std::to_string(impl_->options.max_body_bytes) + " bytes");
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) return MakeError(ErrorKind::kDeadlineExceeded, where + ": " + detail);
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
      return MakeError(ErrorKind::kBadData, where + ": " + detail);
    }
    return MakeError(ErrorKind::kUnavailable, where + ": " + detail);
  }
  exchange.response.status = static_cast<int>(status);
  return std::move(exchange.response);
}

Result<std::string> SecretFile::Read() {
  std::lock_guard lock(mutex_);
  struct stat info {};
  if (stat(path_.c_str(), &info) != 0) {
    const int error = errno;
    // kRejected even when absent: we cannot authenticate, which callers must not read as "no such data".
    return MakeError(ErrorKind::kRejected, "secret file " + path_ + ": " + std::strerror(error));
  }
  const long long mtime_ns = static_cast<long long>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec;
  if (info.st_size == size_ && mtime_ns == mtime_ns_ && info.st_ino == inode_ && !value_.empty()) return value_;
  std::ifstream file(path_, std::ios::binary);
  if (!file) return MakeError(ErrorKind::kRejected, "secret file " + path_ + ": " + std::strerror(errno));
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty()) return MakeError(ErrorKind::kBadData, "secret file " + path_ + " is empty");
  value_ = std::move(text);
  size_ = info.st_size;
  mtime_ns_ = mtime_ns;
  inode_ = info.st_ino;
  return value_;
}

bool IsRetryableStatus(int status) { return status == 429 || (status >= 500 && status != 501); }

std::optional<std::chrono::milliseconds> RetryAfter(const HttpResponse& response, std::chrono::milliseconds cap) {
  std::string_view text = response.Header("retry-after");
  if (text.empty()) return std::nullopt;
  long long seconds = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return std::min<std::chrono::milliseconds>(std::chrono::seconds(std::min<long long>(seconds, 86400)), cap);
}

Result<HttpResponse> SendWithRetries(HttpClient& client, const HttpRequest& request, const RetryPolicy& policy,
                                     const std::function<void(std::chrono::milliseconds)>& sleeper) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  std::chrono::milliseconds backoff = policy.initial_backoff;
  Result<HttpResponse> last = MakeError(ErrorKind::kUnavailable, "no attempt made");
  for (int attempt = 1; attempt <= std::max(policy.attempts, 1); ++attempt) {
    last = client.Send(request);
    const bool retryable =
        last ? IsRetryableStatus(last->status)
             : (last.error().kind == ErrorKind::kUnavailable || last.error().kind == ErrorKind::kDeadlineExceeded);
    if (!retryable || attempt == std::max(policy.attempts, 1)) break;
    std::chrono::milliseconds wait = backoff;
    if (last) {
      if (auto asked = RetryAfter(*last, policy.max_backoff)) wait = *asked;
    } else {
      // Full jitter on our own backoff (AWS architecture blog), so replicas that failed together spread out.
      wait =
          std::chrono::milliseconds(std::uniform_int_distribution<long long>(wait.count() / 2, wait.count())(jitter));
    }
    sleeper(wait);
    backoff = std::min(backoff * 2, policy.max_backoff);
  }
  return last;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t left = bytes.size() - i;
    uint32_t n = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (left > 1) n |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    if (left > 2) n |= uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += left > 1 ? kAlphabet[(n >> 6) & 63] : '=';
    out += left > 2 ? kAlphabet[n & 63] : '=';
  }
  return out;
}

AuthHeader::AuthHeader(const std::string& bearer_token_file, std::string basic_user,
                       const std::string& basic_password_file)
    : basic_user_(std::move(basic_user)) {
  if (!bearer_token_file.empty()) bearer_token_ = std::make_unique<SecretFile>(bearer_token_file);
  if (!basic_password_file.empty()) basic_password_ = std::make_unique<SecretFile>(basic_password_file);
}

Result<std::string> AuthHeader::Value() {
  const bool basic = !basic_user_.empty() || basic_password_ != nullptr;
  if (bearer_token_ != nullptr && basic) {
    return MakeError(ErrorKind::kRejected, "both a bearer token file and basic auth are configured; use one");
  }
  if (bearer_token_ != nullptr) {
    auto token = bearer_token_->Read();
    if (!token) return tl::unexpected(token.error().WithContext("bearer token"));
    return "Bearer " + *token;
  }
  if (!basic) return std::string();
  std::string password;
  if (basic_password_ != nullptr) {
    auto read = basic_password_->Read();
    if (!read) return tl::unexpected(read.error().WithContext("basic auth password"));
    password = std::move(*read);
  }
  return "Basic " + Base64Encode(basic_user_ + ":" + password);
}

std::string RedactSecret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "<redacted>");
  }
  return text;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace topdog::advisor
