#include "exporter/io/http_getter.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

namespace topdog::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

bool IsControlOrSpace(char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(text[i]) != prefix[i]) return false;
  }
  return true;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// Runs the GET's io_context until the pending operation has set `done`, or until the deadline. False when the
// deadline came first.
bool Await(asio::io_context& io, const bool& done, Clock::time_point deadline) {
  io.restart();
  while (!done && io.run_one_until(deadline) > 0) {
  }
  return done;
}

// After a deadline: lets the cancelled operation's handler run, since it refers to the caller's locals.
void Drain(asio::io_context& io) {
  io.restart();
  io.run();
}

Result<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError(ErrorKind::kRejected, "cannot read the " + std::string(what) + " file " + path);
  std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) value.pop_back();
  if (value.empty()) return MakeError(ErrorKind::kRejected, "the " + std::string(what) + " file " + path + " is empty");
  return value;
}

// Standard padded base64 (RFC 4648) for the basic-auth header.
std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The URL a Location header points to, relative to `base`.
Result<HttpUrl> ResolveLocation(const HttpUrl& base, std::string_view location) {
  if (StartsWithNoCase(location, "http://") || StartsWithNoCase(location, "https://")) return ParseHttpUrl(location);
  std::string scheme = base.https ? "https:" : "http:";
  if (location.substr(0, 2) == "//") return ParseHttpUrl(scheme + std::string(location));
  HttpUrl next = base;
  if (!location.empty() && location.front() == '/') {
    next.target = std::string(location);
  } else {
    std::string_view path = std::string_view(base.target).substr(0, base.target.find('?'));
    next.target = std::string(path.substr(0, path.rfind('/') + 1)) + std::string(location);
  }
  for (char c : next.target) {
    if (IsControlOrSpace(c)) return MakeError(ErrorKind::kBadData, "bad redirect location " + Snippet(location));
  }
  if (size_t hash = next.target.find('#'); hash != std::string::npos) next.target.resize(hash);
  return next;
}

std::string UrlText(const HttpUrl& url) {
  return std::string(url.https ? "https://" : "http://") + url.HostHeader() + url.target;
}

}  // namespace

std::string Snippet(std::string_view text, size_t max_bytes) {
  bool cut = text.size() > max_bytes;
  if (cut) {
    size_t end = max_bytes;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;  // not inside a UTF-8 sequence
    text = text.substr(0, end);
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[(c >> 4) & 0xf];
      out += kHex[c & 0xf];
    } else {
      out += c;
    }
  }
  out += cut ? "\"..." : "\"";
  return out;
}

std::string HttpUrl::HostHeader() const {
  std::string host_text = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if ((https && port == 443) || (!https && port == 80)) return host_text;
  return host_text + ":" + std::to_string(port);
}

namespace {

// The URL with any user info replaced, for error messages: a password must not reach a log line.
std::string RedactUserInfo(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  size_t authority_start = scheme_end + 3;
  size_t authority_end = url.find_first_of("/?#", authority_start);
  size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + "<redacted>" + std::string(url.substr(at));
}

}  // namespace

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  auto bad = [&](std::string why) {
    return MakeError(ErrorKind::kBadData, "bad URL " + Snippet(RedactUserInfo(url), 200) + ": " + why);
  };
  for (char c : url) {
    if (IsControlOrSpace(c)) return bad("spaces and control characters must be percent-encoded");
  }
  HttpUrl out;
  std::string_view rest;
  if (StartsWithNoCase(url, "http://")) {
    rest = url.substr(7);
  } else if (StartsWithNoCase(url, "https://")) {
    out.https = true;
    rest = url.substr(8);
  } else {
    return bad("the scheme must be http or https");
  }
  size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return bad("user info in URLs is not accepted: give credentials in files");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (out.host.empty()) return bad("no host");
  out.port = out.https ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
      return bad("bad port");
    }
    out.port = static_cast<uint16_t>(value);
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  out.target = target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return out;
}

struct BeastHttpGetter::Tls {
  ssl::context context{ssl::context::tls_client};
};

BeastHttpGetter::BeastHttpGetter(HttpGetterOptions options) : options_(std::move(options)) {}
BeastHttpGetter::~BeastHttpGetter() = default;

Result<std::unique_ptr<BeastHttpGetter>> BeastHttpGetter::Create(HttpGetterOptions options) {
  if (options.timeout.count() <= 0) return MakeError(ErrorKind::kBadData, "the timeout must be positive");
  if (!options.ca_file.empty()) {
    std::ifstream in(options.ca_file);
    if (!in) return MakeError(ErrorKind::kBadData, "cannot read the CA file " + options.ca_file);
  }
  if (!options.bearer_token_file.empty() && !options.basic_auth_username.empty()) {
    return MakeError(ErrorKind::kBadData, "a bearer token and basic auth are mutually exclusive");
  }
  if (!options.basic_auth_password_file.empty() && options.basic_auth_username.empty()) {
    return MakeError(ErrorKind::kBadData, "a basic-auth password file needs a username");
  }
  auto getter = std::unique_ptr<BeastHttpGetter>(new BeastHttpGetter(std::move(options)));
  // Credentials are checked once here so that a wrong path is a start-up error, and then read on every GET.
  if (auto auth = getter->AuthorizationHeader(); !auth) return MakeError(ErrorKind::kBadData, auth.error().message);
  return getter;
}

Result<std::string> BeastHttpGetter::AuthorizationHeader() const {
  if (!options_.bearer_token_file.empty()) {
    auto token = ReadSecretFile(options_.bearer_token_file, "bearer token");
    if (!token) return tl::unexpected(token.error());
    return "Bearer " + *token;
  }
  if (!options_.basic_auth_username.empty()) {
    std::string password;
    if (!options_.basic_auth_password_file.empty()) {
      auto read = ReadSecretFile(options_.basic_auth_password_file, "basic-auth password");
      if (!read) return tl::unexpected(read.error());
      password = std::move(*read);
    }
    return "Basic " + Base64(options_.basic_auth_username + ":" + password);
  }
  return std::string();
}

Result<BeastHttpGetter::Tls*> BeastHttpGetter::TlsContext() {
  std::lock_guard lock(tls_mu_);
  if (tls_) return tls_.get();
  auto tls = std::make_unique<Tls>();
  SSL_CTX_set_min_proto_version(tls->context.native_handle(), TLS1_2_VERSION);
  error_code ec;
  if (options_.insecure_skip_verify) {
    tls->context.set_verify_mode(ssl::verify_none, ec);
  } else {
    tls->context.set_verify_mode(ssl::verify_peer, ec);
    if (!ec) {
      if (options_.ca_file.empty()) {
        tls->context.set_default_verify_paths(ec);
      } else {
        tls->context.load_verify_file(options_.ca_file, ec);
      }
    }
  }
  if (ec) {
    return MakeError(
        ErrorKind::kRejected,
        "TLS set-up" + (options_.ca_file.empty() ? std::string() : " with " + options_.ca_file) + ": " + ec.message());
  }
  tls_ = std::move(tls);
  return tls_.get();
}

Result<HttpGetResponse> BeastHttpGetter::Get(const std::string& url_text) {
  const Clock::time_point deadline = Clock::now() + options_.timeout;
  auto url = ParseHttpUrl(url_text);
  if (!url) return tl::unexpected(url.error());
  const HttpUrl first = *url;
  std::string current_text = url_text;
  for (int redirects = 0;; ++redirects) {
    // Credentials go to the configured peer only, not to wherever it redirects.
    bool same_peer = url->https == first.https && url->host == first.host && url->port == first.port;
    std::string location;
    auto response = GetOnce(*url, current_text, same_peer, deadline, &location);
    if (!response || !IsRedirect(response->status) || location.empty()) return response;
    if (redirects >= options_.max_redirects) {
      return MakeError(ErrorKind::kBadData,
                       "GET " + url_text + ": more than " + std::to_string(options_.max_redirects) + " redirects");
    }
    auto next = ResolveLocation(*url, location);
    if (!next) return MakeError(ErrorKind::kBadData, "GET " + current_text + ": " + next.error().message);
    url = std::move(next);
    current_text = UrlText(*url);
  }
}

namespace {

// One request/response exchange over a connected stream (TCP or TLS). `phase` tells an error message where a
// deadline hit.
template <class Stream>
Result<HttpGetResponse> Exchange(asio::io_context& io, Stream& stream, tcp::socket& socket,
                                 const http::request<http::empty_body>& request, size_t max_body_bytes,
                                 Clock::time_point deadline, const std::string& prefix,
                                 std::chrono::milliseconds timeout, std::string* location) {
  bool done = false;
  error_code ec;
  auto timed_out = [&](std::string_view phase) {
    error_code ignored;
    socket.close(ignored);
    Drain(io);
    return MakeError(ErrorKind::kDeadlineExceeded,
                     prefix + "no answer within " + FormatDuration(timeout) + " (" + std::string(phase) + ")");
  };
  http::async_write(stream, request, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!Await(io, done, deadline)) return timed_out("sending the request");
  if (ec) return MakeError(ErrorKind::kUnavailable, prefix + "sending the request: " + ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(max_body_bytes);
  auto over_limit = [&] {
    return MakeError(ErrorKind::kBadData,
                     prefix + "the body is over the limit of " + std::to_string(max_body_bytes) + " bytes");
  };
  // The header first: Beast 1.74 can lose the body_limit error of a Content-Length over the limit when the
  // header arrives in a segment of its own, and go on reading the body. So the length is checked here.
  done = false;
  http::async_read_header(stream, buffer, parser, [&](error_code e, size_t) {
    ec = e;
    done = true;
  });
  if (!Await(io, done, deadline)) return timed_out("reading the response");
  if (!ec && parser.content_length() && *parser.content_length() > max_body_bytes) return over_limit();
  if (!ec && !parser.is_done()) {
    done = false;
    http::async_read(stream, buffer, parser, [&](error_code e, size_t) {
      ec = e;
      done = true;
    });
    if (!Await(io, done, deadline)) return timed_out("reading the response");
  }
  if (ec == ssl::error::stream_truncated && parser.is_header_done() && !parser.is_done() && parser.need_eof()) {
    // A TLS peer that closes without close_notify after a body delimited by the end of the connection.
    parser.put_eof(ec);
  }
  if (ec == http::error::body_limit || (!ec && parser.get().body().size() > max_body_bytes)) return over_limit();
  if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
      ec == ssl::error::stream_truncated || ec == asio::error::connection_reset) {
    return MakeError(ErrorKind::kUnavailable,
                     prefix + "the connection closed before a whole response (" + ec.message() + ")");
  }
  if (ec && ec.category() == make_error_code(http::error::bad_version).category()) {  // Beast's parse errors
    std::string_view received(static_cast<const char*>(buffer.data().data()), buffer.data().size());
    return MakeError(ErrorKind::kBadData, prefix + "not an HTTP response (" + ec.message() + "): " + Snippet(received));
  }
  if (ec) return MakeError(ErrorKind::kUnavailable, prefix + "reading the response: " + ec.message());
  auto& message = parser.get();
  HttpGetResponse response;
  response.status = static_cast<int>(message.result_int());
  response.content_type = std::string(message[http::field::content_type]);
  *location = std::string(message[http::field::location]);
  response.body = std::move(message.body());
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
  return response;
}

}  // namespace

Result<HttpGetResponse> BeastHttpGetter::GetOnce(const HttpUrl& url, const std::string& url_text, bool with_credentials,
                                                 Clock::time_point deadline, std::string* location) {
  const std::string prefix = "GET " + url_text + ": ";
  http::request<http::empty_body> request{http::verb::get, url.target, 11};
  request.set(http::field::host, url.HostHeader());
  request.set(http::field::user_agent, options_.user_agent);
  request.set(http::field::connection, "close");
  if (!options_.accept.empty()) request.set(http::field::accept, options_.accept);
  if (with_credentials) {
    auto auth = AuthorizationHeader();
    if (!auth) return MakeError(auth.error().kind, prefix + auth.error().message);
    if (!auth->empty()) request.set(http::field::authorization, *auth);
  }

  Tls* tls = nullptr;
  if (url.https) {
    auto context = TlsContext();
    if (!context) return MakeError(context.error().kind, prefix + context.error().message);
    tls = *context;
  }

  asio::io_context io(1);
  auto timed_out = [&](std::string_view phase) {
    return MakeError(ErrorKind::kDeadlineExceeded,
                     prefix + "no answer within " + FormatDuration(options_.timeout) + " (" + std::string(phase) + ")");
  };

  // Name resolution, skipped for IP literals. getaddrinfo cannot be interrupted: a hung resolver holds the
  // GET past its deadline (the collector set then reports the collector late).
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  asio::ip::address address = asio::ip::make_address(url.host, ec);
  const bool is_address = !ec;
  if (is_address) {
    endpoints.emplace_back(address, url.port);
  } else {
    tcp::resolver resolver(io);
    bool done = false;
    resolver.async_resolve(url.host, std::to_string(url.port),
                           [&](error_code e, const tcp::resolver::results_type& results) {
                             ec = e;
                             for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                             done = true;
                           });
    if (!Await(io, done, deadline)) {
      resolver.cancel();
      Drain(io);
      return timed_out("resolving " + url.host);
    }
    if (ec) return MakeError(ErrorKind::kUnavailable, prefix + "resolving " + url.host + ": " + ec.message());
  }

  std::optional<ssl::stream<tcp::socket>> tls_stream;
  tcp::socket plain(io);
  if (tls != nullptr) tls_stream.emplace(io, tls->context);
  tcp::socket& socket = tls_stream ? tls_stream->next_layer() : plain;

  bool done = false;
  asio::async_connect(socket, endpoints, [&](error_code e, const tcp::endpoint&) {
    ec = e;
    done = true;
  });
  if (!Await(io, done, deadline)) {
    error_code ignored;
    socket.close(ignored);
    Drain(io);
    return timed_out("connecting");
  }
  if (ec) return MakeError(ErrorKind::kUnavailable, prefix + "connect: " + ec.message());

  if (!tls_stream) {
    return Exchange(io, plain, plain, request, options_.max_body_bytes, deadline, prefix, options_.timeout, location);
  }

  SSL* handle = tls_stream->native_handle();
  if (!is_address) SSL_set_tlsext_host_name(handle, url.host.c_str());
  if (!options_.insecure_skip_verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    if (is_address) {
      X509_VERIFY_PARAM_set1_ip_asc(param, url.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, url.host.c_str(), url.host.size());
    }
  }
  done = false;
  tls_stream->async_handshake(ssl::stream_base::client, [&](error_code e) {
    ec = e;
    done = true;
  });
  if (!Await(io, done, deadline)) {
    error_code ignored;
    socket.close(ignored);
    Drain(io);
    return timed_out("TLS handshake");
  }
  if (ec) {
    long verify = SSL_get_verify_result(handle);
    std::string why = verify != X509_V_OK
                          ? std::string("certificate verification failed: ") + X509_verify_cert_error_string(verify)
                          : ec.message();
    return MakeError(ErrorKind::kUnavailable, prefix + "TLS handshake: " + why);
  }
  return Exchange(io, *tls_stream, socket, request, options_.max_body_bytes, deadline, prefix, options_.timeout,
                  location);
}

}  // namespace topdog::exporter
