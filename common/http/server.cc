// Boost.Beast implementation of topdog::http::Server.
//
// Threads: one io_context runs all sockets on `io_threads` threads, each connection on its own strand.
// Handlers (and bcrypt checks) run on a separate asio::thread_pool, so a scrape that blocks for seconds
// never stalls other connections; the finished response is posted back to the connection's strand.
// Asynchronous routes run on the I/O thread and must return at once (whatever they do there, such as the
// exporter's quick collectors, holds that thread meanwhile).
// Per connection: [TLS handshake] -> read request (deadline) -> answer -> write (deadline) -> keep-alive
// wait (idle deadline) -> ... Everything shared between threads is atomic or behind a mutex.

#include "common/http/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <exception>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <tuple>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include "common/exposition/text_writer.h"
#include "common/http/basic_auth.h"
#include "common/http/gzip.h"
#include "common/http/url.h"
#include "common/http/web_config.h"
#include "common/logging.h"

namespace topdog::http {

const std::string& Request::Header(const std::string& lower_name) const {
  static const std::string kEmpty;
  auto it = headers.find(lower_name);
  return it == headers.end() ? kEmpty : it->second;
}

std::vector<std::string> Request::QueryValues(const std::string& name) const {
  std::vector<std::string> values;
  for (auto& [key, value] : ParseQuery(query)) {
    if (key == name) values.push_back(std::move(value));
  }
  return values;
}

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using HttpResponse = bhttp::response<bhttp::string_body>;

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
// After a response that closes the connection, unread request bytes are drained this long before the
// socket is closed: closing with unread data sends a RST, which can destroy the response in flight.
constexpr std::chrono::milliseconds kLingerTimeout{500};
constexpr size_t kMaxLingerBytes = 256 * 1024;

Response TextResponse(int status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = std::string(kTextPlain);
  response.body = std::move(body);
  return response;
}

std::string HtmlEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  net::ip::address address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(endpoint.port());
  return address.to_string() + ":" + std::to_string(endpoint.port());
}

// --------------------------------------------------------------------------------------------------------
// The server's own metrics, as atomics and a mutex-guarded map (thread-safe). Not prometheus-cpp's Registry:
// its shared library pulls the shared libstdc++ into every binary, about 1.2 MB of resident memory for a
// handful of counters (see the README's benchmark).

class ServerMetrics {
 public:
  class Counter {
   public:
    void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
    uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<uint64_t> value_{0};
  };
  class Gauge {
   public:
    void Increment() { value_.fetch_add(1, std::memory_order_relaxed); }
    void Decrement() { value_.fetch_sub(1, std::memory_order_relaxed); }
    int64_t Value() const { return value_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int64_t> value_{0};
  };

  static Result<std::unique_ptr<ServerMetrics>> Create(const std::string& prefix) {
    if (!exposition::IsValidMetricName(prefix + "_http_requests_total")) {
      return MakeError(ErrorKind::kBadData, "metrics prefix " + LogQuote(prefix) + ": not a valid metric name");
    }
    return std::unique_ptr<ServerMetrics>(new ServerMetrics(prefix));
  }

  void CountRequest(const std::string& handler, int code, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[{std::to_string(code), handler}];
    Histogram& histogram = durations_[handler];
    for (size_t i = 0; i < kBuckets.size(); ++i) histogram.buckets[i] += seconds <= kBuckets[i] ? 1 : 0;
    ++histogram.count;
    histogram.sum += seconds;
  }
  void CountBadRequest(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mu_);
    ++bad_requests_[reason];
  }

  Gauge in_flight;
  Counter auth_failures;
  Counter tls_handshake_errors;
  Counter reload_success;
  Counter reload_failure;
  Counter connections_rejected;

  void Collect(exposition::FamilyWriter& out) const {
    using prometheus::MetricType;
    using Label = exposition::FamilyWriter::Label;
    // Family names are built once (the prefix is fixed): a scrape should not allocate for them.
    const std::string* name = names_.data();
    out.Single(*name++, "Current number of HTTP requests being served by handlers.", MetricType::Gauge,
               static_cast<double>(in_flight.Value()));
    out.Single(*name++, "Total number of HTTP requests rejected for missing or wrong basic auth credentials.",
               MetricType::Counter, static_cast<double>(auth_failures.Value()));
    out.Single(*name++, "Total number of failed TLS handshakes.", MetricType::Counter,
               static_cast<double>(tls_handshake_errors.Value()));
    size_t reloads =
        out.Add(*name++, "Total number of web config reloads after a change of the file, by result.", MetricType::Counter);
    out.Sample(reloads, static_cast<double>(reload_failure.Value()), {{"result", "failure"}});
    out.Sample(reloads, static_cast<double>(reload_success.Value()), {{"result", "success"}});
    out.Single(*name++, "Total number of connections closed at once because max_connections was reached.",
               MetricType::Counter, static_cast<double>(connections_rejected.Value()));

    std::lock_guard<std::mutex> lock(mu_);
    // The map orders samples by label values in label-name order (code before handler), as client_golang does.
    size_t requests = out.Add(*name++, "Total number of HTTP requests by handler and status code.", MetricType::Counter);
    for (const auto& [key, count] : requests_) {
      out.Sample(requests, static_cast<double>(count), {{"code", key.first}, {"handler", key.second}});
    }
    size_t durations = out.Add(*name++, "Time from a complete HTTP request until its response is ready to be written.",
                               MetricType::Histogram);
    std::array<uint64_t, kBuckets.size() + 1> counts;
    std::array<double, kBuckets.size() + 1> bounds;
    std::copy(kBuckets.begin(), kBuckets.end(), bounds.begin());
    bounds.back() = std::numeric_limits<double>::infinity();
    for (const auto& [handler, histogram] : durations_) {
      std::copy(histogram.buckets.begin(), histogram.buckets.end(), counts.begin());
      counts.back() = histogram.count;
      const Label labels[] = {{"handler", handler}};
      out.HistogramSample(durations, labels, histogram.count, histogram.sum, counts, bounds);
    }
    size_t bad = out.Add(*name++, "Total number of connections closed for a malformed, oversized or too slow request.",
                         MetricType::Counter);
    for (const auto& [reason, count] : bad_requests_) out.Sample(bad, static_cast<double>(count), {{"reason", reason}});
  }


 private:
  // promhttp's default buckets.
  static constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // cumulative: each counts samples <= its bound
    uint64_t count = 0;
    double sum = 0;
  };

  explicit ServerMetrics(const std::string& prefix) {
    size_t i = 0;
    for (const char* suffix : {"_http_requests_in_flight", "_http_auth_failures_total", "_http_tls_handshake_errors_total",
                               "_web_config_reloads_total", "_http_connections_rejected_total", "_http_requests_total",
                               "_http_request_duration_seconds", "_http_bad_requests_total"}) {
      names_[i++] = prefix + suffix;  // in the order Collect writes them
    }
    for (const char* reason : {"malformed", "header_too_large", "body_too_large", "read_timeout"}) {
      bad_requests_[reason] = 0;
    }
  }

  std::array<std::string, 8> names_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> requests_;  // (code, handler); GUARDED_BY(mu_)
  std::map<std::string, Histogram> durations_;               // GUARDED_BY(mu_)
  std::map<std::string, uint64_t> bad_requests_;             // GUARDED_BY(mu_)
};

// --------------------------------------------------------------------------------------------------------
// Web config state: the parsed config plus what it implies at run time. Immutable except the limiter.

// golang.org/x/time/rate's token bucket as exporter-toolkit uses it: starts full, one token per interval.
class TokenBucket {
 public:
  TokenBucket(std::chrono::milliseconds interval, int burst)
      : tokens_per_second_(1000.0 / static_cast<double>(interval.count())), burst_(burst), tokens_(burst) {}

  bool Allow(Clock::time_point now) {
    std::lock_guard<std::mutex> lock(mu_);
    if (last_) {
      double elapsed = std::chrono::duration<double>(now - *last_).count();
      tokens_ = std::min<double>(burst_, tokens_ + elapsed * tokens_per_second_);
    }
    last_ = now;
    if (tokens_ < 1) return false;
    tokens_ -= 1;
    return true;
  }

 private:
  const double tokens_per_second_;
  const int burst_;
  std::mutex mu_;
  double tokens_;                          // GUARDED_BY(mu_)
  std::optional<Clock::time_point> last_;  // GUARDED_BY(mu_)
};

struct WebState {
  WebConfig config;
  std::shared_ptr<ssl::context> ssl_context;  // set iff TLS
  std::unique_ptr<TokenBucket> rate_limiter;  // set iff rate_limit.interval > 0
};

// What stat() says about a file; a change of any field means "re-read".
struct FileStamp {
  int error = 0;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampFile(const std::string& path) {
  struct stat info {};
  FileStamp stamp;
  if (::stat(path.c_str(), &info) != 0) {
    stamp.error = errno;
    return stamp;
  }
  stamp.device = info.st_dev;
  stamp.inode = info.st_ino;
  stamp.size = info.st_size;
  stamp.mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  return stamp;
}

struct LoadedWebState {
  std::shared_ptr<const WebState> state;
  std::vector<FileStamp> stamps;  // config file first, then the files it refers to
};

// Reads the config and everything it refers to. The stamps are taken before each file is read, so a
// change racing with the load is seen at the next check rather than lost.
Result<LoadedWebState> LoadWebState(const std::string& path) {
  LoadedWebState loaded;
  loaded.stamps.push_back(StampFile(path));
  auto config = LoadWebConfig(path);
  if (!config) return tl::unexpected(config.error());
  for (const std::string& file : config->ReferencedFiles()) loaded.stamps.push_back(StampFile(file));
  auto state = std::make_shared<WebState>();
  if (config->tls.Enabled()) {
    auto ctx = BuildServerSslContext(config->tls);
    if (!ctx) return tl::unexpected(ctx.error().WithContext("web config " + LogQuote(path)));
    // asio's context takes ownership of the SSL_CTX (it frees it).
    state->ssl_context = std::make_shared<ssl::context>(ctx->release());
  }
  if (config->rate_limit.interval.count() > 0) {
    state->rate_limiter = std::make_unique<TokenBucket>(config->rate_limit.interval, config->rate_limit.burst);
  }
  state->config = std::move(*config);
  loaded.state = std::move(state);
  return loaded;
}

// --------------------------------------------------------------------------------------------------------

struct ListenSpec {
  std::string host;  // without brackets; empty = all interfaces
  std::string port;
  uint16_t port_number = 0;
};

Result<ListenSpec> ParseListenAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    return MakeError(ErrorKind::kBadData, "listen address " + LogQuote(address) + ": missing port");
  }
  ListenSpec spec{address.substr(0, colon), address.substr(colon + 1), 0};
  if (!spec.host.empty() && spec.host.front() == '[') {
    if (spec.host.size() < 2 || spec.host.back() != ']') {
      return MakeError(ErrorKind::kBadData, "listen address " + LogQuote(address) + ": unterminated '['");
    }
    spec.host = spec.host.substr(1, spec.host.size() - 2);
  } else if (spec.host.find(':') != std::string::npos) {
    return MakeError(ErrorKind::kBadData,
                     "listen address " + LogQuote(address) + ": IPv6 addresses must be in brackets, e.g. [::1]:9100");
  }
  auto [ptr, ec] = std::from_chars(spec.port.data(), spec.port.data() + spec.port.size(), spec.port_number);
  if (spec.port.empty() || ec != std::errc() || ptr != spec.port.data() + spec.port.size()) {
    return MakeError(ErrorKind::kBadData, "listen address " + LogQuote(address) + ": invalid port");
  }
  return spec;
}

// What the connection needs to know to frame the answer to one request.
struct RequestContext {
  unsigned version = 11;
  bool keep_alive = true;
  bool head = false;
  std::string accept_encoding;
  std::string handler_label;  // requests_total{handler}; empty = not counted (protocol errors)
  Clock::time_point start;
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection from any thread (used by Stop()).
  virtual void Cancel() = 0;
};

class ServerImpl;

template <bool kTls>
class Session;

}  // namespace

// Finalizes a response and posts its write to the connection's strand, running `on_strand` (if any) there
// first.
using Done = std::function<void(Response, std::function<void()> on_strand)>;

// What asynchronous responses share with the server: whether it still runs, and the responses in progress,
// so Stop() can drop what they hold of connections before the io_context goes away.
struct Lifeline {
  std::shared_mutex mu;  // Respond/At hold it shared while they use the server; Stop() exclusively
  bool alive = true;     // GUARDED_BY(mu)
  std::mutex states_mu;
  std::unordered_set<Responder::State*> states;  // GUARDED_BY(states_mu)
};

struct Responder::State {
  State(std::shared_ptr<Lifeline> l, net::any_io_executor e, Done d, std::function<void()> f)
      : lifeline(std::move(l)), executor(std::move(e)), done(std::move(d)), finished(std::move(f)) {
    std::lock_guard lock(lifeline->states_mu);
    lifeline->states.insert(this);
  }
  ~State() {
    std::lock_guard lock(lifeline->states_mu);
    lifeline->states.erase(this);
  }

  const std::shared_ptr<Lifeline> lifeline;
  // Reset by Stop() under the exclusive lock.
  net::any_io_executor executor;            // the connection's strand
  Done done;
  std::function<void()> finished;           // in-flight accounting
  std::atomic<bool> responded{false};
  std::vector<std::weak_ptr<net::steady_timer>> timers;  // touched on `executor` only
};

void Responder::Respond(Response response) const {
  if (state_->responded.exchange(true)) return;
  std::shared_lock lock(state_->lifeline->mu);
  if (!state_->lifeline->alive) return;
  state_->finished();
  // One post for the write and the timer cancellation: one wake-up of the I/O thread.
  state_->done(std::move(response), [state = state_] {
    for (auto& weak : state->timers) {
      if (auto timer = weak.lock()) timer->cancel();
    }
    state->timers.clear();
  });
}

void Responder::At(std::chrono::steady_clock::time_point when, std::function<void()> fn) const {
  // Timers are created and cancelled on the connection's strand; each owns itself through its pending wait.
  auto arm = [state = state_, when](std::function<void()> fn) {
    auto timer = std::make_shared<net::steady_timer>(state->executor, when);
    state->timers.push_back(timer);
    timer->async_wait([timer, state, fn = std::move(fn)](beast::error_code ec) {
      if (!ec && !state->responded) fn();
    });
  };
  std::shared_lock lock(state_->lifeline->mu);
  if (!state_->lifeline->alive || state_->responded) return;
  const auto* strand = state_->executor.target<net::strand<net::io_context::executor_type>>();
  if (strand != nullptr && strand->running_in_this_thread()) {
    return arm(std::move(fn));  // the usual case: called by the handler, already on the strand
  }
  net::post(state_->executor, [state = state_, arm, fn = std::move(fn)]() mutable {
    std::shared_lock lock(state->lifeline->mu);
    if (!state->lifeline->alive || state->responded) return;
    arm(std::move(fn));
  });
}

namespace {

// --------------------------------------------------------------------------------------------------------

class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, std::map<std::string, Handler> routes,
             std::map<std::string, AsyncHandler> async_routes)
      : options_(std::move(options)), routes_(std::move(routes)), async_routes_(std::move(async_routes)) {}

  ~ServerImpl() override { Stop(); }

  Result<void> Init();
  void Run();

  std::vector<uint16_t> ListeningPorts() const override { return ports_; }
  void Stop() override;
  void AppendMetrics(exposition::FamilyWriter& out) const override { metrics_->Collect(out); }

  // --- used by sessions ---
  const ServerOptions& options() const { return options_; }
  ServerMetrics& metrics() { return *metrics_; }
  std::shared_ptr<const WebState> CurrentWebState();
  std::string HandlerLabel(const std::string& path) const;
  // Answers `request`: `done` is called once, inline (cheap built-in answers) or on a handler thread, unless
  // still_open() says the connection is gone by then.
  // Asynchronous routes answer on the connection's strand `executor`.
  void Handle(Request request, std::shared_ptr<const WebState> web, std::function<bool()> still_open,
              Done done, net::any_io_executor executor);
  // Turns a Response into the HTTP message (headers, gzip, HEAD, keep-alive).
  std::shared_ptr<HttpResponse> Finalize(Response response, const RequestContext& context, const WebState& web);
  void OnSessionEnd(SessionBase* session) {
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      sessions_.erase(session);
    }
    connections_.fetch_sub(1);
  }

 private:
  struct Listener {
    std::string address;
    net::strand<net::io_context::executor_type> strand;
    tcp::acceptor acceptor;
    net::steady_timer retry_timer;
    explicit Listener(net::io_context& io) : strand(net::make_strand(io)), acceptor(strand), retry_timer(strand) {}
  };

  Result<void> Bind(const std::string& address);
  void Accept(Listener& listener);
  void OnAccept(tcp::socket socket);
  Response BuiltIn(const Request& request) const;
  Response LandingPage() const;
  bool Authorized(const Request& request, const WebState& web);

  const ServerOptions options_;
  const std::map<std::string, Handler> routes_;
  const std::map<std::string, AsyncHandler> async_routes_;
  const std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
  std::unique_ptr<ServerMetrics> metrics_;
  BasicAuthenticator authenticator_;
  bool tls_ = false;  // decided at start; a reload cannot switch it
  std::vector<uint16_t> ports_;

  std::mutex web_mu_;
  std::shared_ptr<const WebState> web_;  // GUARDED_BY(web_mu_)
  std::vector<FileStamp> web_stamps_;    // GUARDED_BY(web_mu_)
  Clock::time_point last_web_check_;     // GUARDED_BY(web_mu_)

  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> in_flight_{0};
  std::mutex sessions_mu_;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions_;  // GUARDED_BY(sessions_mu_)

  // Declared last so they are destroyed first: sessions still queued in them call back into the members
  // above when they are destroyed.
  std::unique_ptr<net::io_context> io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> io_work_;
  std::vector<std::thread> io_threads_;
  std::unique_ptr<net::thread_pool> handler_pool_;
  std::vector<std::unique_ptr<Listener>> listeners_;
};

// --------------------------------------------------------------------------------------------------------
// One connection. All methods except Cancel() run on the connection's strand.

template <bool kTls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(ServerImpl& server, tcp::socket socket, std::shared_ptr<const WebState> web, std::string remote_address)
      : server_(server),
        web_(std::move(web)),
        stream_(MakeStream(std::move(socket), web_->ssl_context.get())),
        remote_address_(std::move(remote_address)) {}

  ~Session() override { server_.OnSessionEnd(this); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Start(); });
  }

  void Cancel() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->CloseNow(); });
  }

 private:
  static Stream MakeStream(tcp::socket socket, ssl::context* context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *context);
    } else {
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }
  const ServerOptions& options() const { return server_.options(); }

  void Start() {
    if constexpr (kTls) {
      // The handshake shares the first request's deadline budget: a silent TLS client is a slowloris too.
      Tcp().expires_after(options().read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
    } else {
      ReadNext(true);
    }
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      server_.metrics().tls_handshake_errors.Increment();
      spdlog::debug("TLS handshake failed remote={} err={}", remote_address_, LogQuote(ec.message()));
      return CloseNow();
    }
    if constexpr (kTls) {
      if (!ClientCertificateAllowed(stream_.native_handle(), web_->config.tls.client_allowed_sans)) {
        server_.metrics().tls_handshake_errors.Increment();
        spdlog::debug("TLS client certificate has none of client_allowed_sans remote={}", remote_address_);
        return CloseNow();
      }
    }
    ReadNext(true);
  }

  // Reads the next request. The first request (and one whose bytes already arrived, pipelined) gets
  // read_timeout for the whole request at once; otherwise the connection may idle for idle_timeout and
  // read_timeout starts with the first byte. Either way a client trickling bytes is cut off.
  void ReadNext(bool first) {
    if (closed_) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(options().max_header_bytes, UINT32_MAX)));
    parser_->body_limit(options().max_body_bytes);
    if (first || buffer_.size() > 0) {
      Tcp().expires_after(options().read_timeout);
      return ReadRequest();
    }
    Tcp().expires_after(options().idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(4096),
        [self = this->shared_from_this()](beast::error_code ec, size_t bytes) { self->OnIdleBytes(ec, bytes); });
  }

  void OnIdleBytes(beast::error_code ec, size_t bytes) {
    if (ec) return CloseNow();  // idle timeout or the client went away: nothing to answer
    buffer_.commit(bytes);
    Tcp().expires_after(options().read_timeout);
    ReadRequest();
  }

  void ReadRequest() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (!ec) return OnRequest(parser_->release());
    if (ec == beast::error::timeout) {
      server_.metrics().CountBadRequest("read_timeout");
      spdlog::debug("request not received within read_timeout remote={}", remote_address_);
      return CloseNow();
    }
    if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
      return Refuse(431, "Request Header Fields Too Large\n", "header_too_large");
    }
    if (ec == bhttp::error::body_limit) return Refuse(413, "Request Entity Too Large\n", "body_too_large");
    if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return CloseNow();
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return Refuse(400, "Bad Request\n", "malformed");
    }
    CloseNow();  // connection reset, TLS errors: nobody to answer
  }

  // Answers a request that cannot be parsed, then closes: the stream position is unknown after it.
  void Refuse(int status, std::string body, const std::string& reason) {
    server_.metrics().CountBadRequest(reason);
    RequestContext context;
    context.keep_alive = false;
    context.start = Clock::now();
    Write(server_.Finalize(TextResponse(status, std::move(body)), context, *server_.CurrentWebState()), context);
  }

  void OnRequest(bhttp::request<bhttp::string_body> message) {
    RequestContext context;
    context.start = Clock::now();
    context.version = message.version();
    context.keep_alive = message.keep_alive();
    context.head = message.method() == bhttp::verb::head;

    Request request;
    request.received = context.start;
    request.method = std::string(message.method_string());
    std::string_view target(message.target().data(), message.target().size());
    if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
      // absolute-form (RFC 9112 3.2.2): keep the path and the query only.
      size_t path_start = target.find('/', target.find("//") + 2);
      target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
    }
    if (target.empty() || (target.front() != '/' && target != "*")) {
      return Refuse(400, "Bad Request\n", "malformed");
    }
    size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = request.headers.emplace(std::move(name), std::string(field.value()));
      if (!inserted) {
        it->second += ", ";
        it->second.append(field.value().data(), field.value().size());
      }
    }
    request.remote_address = remote_address_;
    context.accept_encoding = request.Header("accept-encoding");
    context.handler_label = server_.HandlerLabel(request.path);

    auto web = server_.CurrentWebState();
    auto self = this->shared_from_this();
    server_.Handle(
        std::move(request), web, [self] { return !self->closed_.load(); },
        [self, context, web](Response response, std::function<void()> on_strand) {
          // Runs on a handler or collector thread for routed requests: gzip happens there too, off the I/O
          // threads.
          auto message = self->server_.Finalize(std::move(response), context, *web);
          net::post(self->stream_.get_executor(), [self, message, context, on_strand = std::move(on_strand)] {
            if (on_strand) on_strand();
            self->Write(message, context);
          });
        },
        stream_.get_executor());
  }

  void Write(std::shared_ptr<HttpResponse> message, const RequestContext& context) {
    if (closed_) return;
    response_ = std::move(message);
    // Counted before the write, so a client that has its answer also sees it counted (as promhttp, the
    // duration covers the handler and gzip, not the client's reading speed).
    if (!context.handler_label.empty()) {
      double seconds = std::chrono::duration<double>(Clock::now() - context.start).count();
      server_.metrics().CountRequest(context.handler_label, response_->result_int(), seconds);
    }
    Tcp().expires_after(options().write_timeout);
    bhttp::async_write(stream_, *response_,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return CloseNow();
    bool keep_alive = response_->keep_alive();
    response_.reset();
    if (!keep_alive) return Shutdown();
    ReadNext(false);
  }

  // Graceful close after a "Connection: close" response.
  void Shutdown() {
    if constexpr (kTls) {
      Tcp().expires_after(std::min(options().write_timeout, std::chrono::milliseconds(kLingerTimeout)));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->CloseNow(); });
    } else {
      beast::error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Tcp().expires_after(kLingerTimeout);
      Drain();
    }
  }

  void Drain() {
    Tcp().async_read_some(net::buffer(drain_buffer_),
                          [self = this->shared_from_this()](beast::error_code ec, size_t bytes) {
                            self->drained_bytes_ += bytes;
                            if (ec || self->drained_bytes_ > kMaxLingerBytes) return self->CloseNow();
                            self->Drain();
                          });
  }

  void CloseNow() {
    closed_ = true;
    Tcp().close();  // also cancels the deadline timer
  }

  ServerImpl& server_;
  std::shared_ptr<const WebState> web_;  // keeps the ssl::context alive: declared before stream_
  Stream stream_;
  const std::string remote_address_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;
  std::array<char, 4096> drain_buffer_{};
  size_t drained_bytes_ = 0;
  std::atomic<bool> closed_{false};  // read by handler threads
};

// --------------------------------------------------------------------------------------------------------

Result<void> ServerImpl::Init() {
  if (options_.listen_addresses.empty()) return MakeError(ErrorKind::kBadData, "no listen address");
  if (options_.io_threads < 1 || options_.handler_threads < 1) {
    return MakeError(ErrorKind::kBadData, "io_threads and handler_threads must be at least 1");
  }
  if (options_.max_connections < 1) return MakeError(ErrorKind::kBadData, "max_connections must be at least 1");
  auto metrics = ServerMetrics::Create(options_.metrics_prefix);
  if (!metrics) return tl::unexpected(metrics.error());
  metrics_ = std::move(*metrics);

  if (options_.web_config_file.empty()) {
    web_ = std::make_shared<WebState>();
  } else {
    auto loaded = LoadWebState(options_.web_config_file);
    if (!loaded) return tl::unexpected(loaded.error());
    web_ = loaded->state;
    web_stamps_ = std::move(loaded->stamps);
    last_web_check_ = Clock::now();
  }
  tls_ = web_->ssl_context != nullptr;

  io_ = std::make_unique<net::io_context>(options_.io_threads);
  for (const std::string& address : options_.listen_addresses) {
    if (auto ok = Bind(address); !ok) return ok;
  }
  return {};
}

Result<void> ServerImpl::Bind(const std::string& address) {
  auto spec = ParseListenAddress(address);
  if (!spec) return tl::unexpected(spec.error());
  auto fail = [&](const std::string& step, const boost::system::error_code& ec) -> Result<void> {
    return MakeError(ErrorKind::kUnavailable, "listen on " + LogQuote(address) + ": " + step + ": " + ec.message());
  };
  boost::system::error_code ec;
  tcp::endpoint endpoint;
  bool dual_stack = false;
  uint16_t port = spec->port_number;
  if (spec->host.empty()) {
    // Like Go's ":9100": all interfaces, IPv6 and IPv4 on one dual-stack socket when IPv6 exists.
    tcp::acceptor probe(*io_);
    probe.open(tcp::v6(), ec);
    dual_stack = !ec;
    endpoint = tcp::endpoint(dual_stack ? tcp::v6() : tcp::v4(), port);
  } else {
    net::ip::address ip = net::ip::make_address(spec->host, ec);
    if (ec) {
      tcp::resolver resolver(*io_);
      auto results = resolver.resolve(spec->host, spec->port, ec);
      if (ec || results.empty()) return fail("resolve", ec);
      endpoint = results.begin()->endpoint();
    } else {
      endpoint = tcp::endpoint(ip, port);
    }
  }
  auto listener = std::make_unique<Listener>(*io_);
  listener->address = address;
  tcp::acceptor& acceptor = listener->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); ec) return fail("socket", ec);
  if (acceptor.set_option(net::socket_base::reuse_address(true), ec); ec) return fail("setsockopt", ec);
  if (dual_stack) acceptor.set_option(net::ip::v6_only(false), ec);
  if (acceptor.bind(endpoint, ec); ec) return fail("bind", ec);
  if (acceptor.listen(net::socket_base::max_listen_connections, ec); ec) return fail("listen", ec);
  tcp::endpoint bound = acceptor.local_endpoint(ec);
  if (ec) return fail("getsockname", ec);
  ports_.push_back(bound.port());
  spdlog::info("Listening on address={} tls={}", FormatEndpoint(bound), tls_);
  listeners_.push_back(std::move(listener));
  return {};
}

void ServerImpl::Run() {
  handler_pool_ = std::make_unique<net::thread_pool>(static_cast<size_t>(options_.handler_threads));
  io_work_.emplace(net::make_work_guard(*io_));
  for (auto& listener : listeners_) {
    Listener* raw = listener.get();
    net::post(raw->strand, [this, raw] { Accept(*raw); });
  }
  for (int i = 0; i < options_.io_threads; ++i) {
    io_threads_.emplace_back([this] {
      for (;;) {
        try {
          io_->run();
          return;
        } catch (const std::exception& e) {
          // A throwing completion handler must not take the whole server down with it.
          spdlog::error("HTTP I/O thread caught an exception err={}", LogQuote(e.what()));
        }
      }
    });
  }
}

void ServerImpl::Accept(Listener& listener) {
  listener.acceptor.async_accept(net::make_strand(*io_), [this, &listener](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping_) return;
    if (ec) {
      // EMFILE and friends: retrying at once would spin; a short pause lets connections finish.
      spdlog::debug("accept failed address={} err={}", listener.address, LogQuote(ec.message()));
      listener.retry_timer.expires_after(std::chrono::milliseconds(50));
      listener.retry_timer.async_wait([this, &listener](beast::error_code wait_ec) {
        if (!wait_ec && !stopping_) Accept(listener);
      });
      return;
    }
    OnAccept(std::move(socket));
    Accept(listener);
  });
}

void ServerImpl::OnAccept(tcp::socket socket) {
  beast::error_code ec;
  if (connections_.fetch_add(1) >= options_.max_connections) {
    connections_.fetch_sub(1);
    metrics_->connections_rejected.Increment();
    socket.close(ec);
    return;
  }
  // Responses are written in one go; Nagle plus delayed ACK would add ~40 ms to keep-alive scrapes.
  socket.set_option(tcp::no_delay(true), ec);
  tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) {  // the peer is already gone
    connections_.fetch_sub(1);
    return;
  }
  auto web = CurrentWebState();
  std::shared_ptr<SessionBase> session;
  std::function<void()> run;
  if (tls_) {
    auto tls_session = std::make_shared<Session<true>>(*this, std::move(socket), web, FormatEndpoint(remote));
    run = [tls_session] { tls_session->Run(); };
    session = tls_session;
  } else {
    auto plain_session = std::make_shared<Session<false>>(*this, std::move(socket), web, FormatEndpoint(remote));
    run = [plain_session] { plain_session->Run(); };
    session = plain_session;
  }
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.emplace(session.get(), session);
  }
  run();
}

std::shared_ptr<const WebState> ServerImpl::CurrentWebState() {
  std::lock_guard<std::mutex> lock(web_mu_);
  if (options_.web_config_file.empty()) return web_;
  Clock::time_point now = Clock::now();
  if (now - last_web_check_ < options_.web_config_check_interval) return web_;
  last_web_check_ = now;

  std::vector<FileStamp> stamps{StampFile(options_.web_config_file)};
  for (const std::string& file : web_->config.ReferencedFiles()) stamps.push_back(StampFile(file));
  if (stamps == web_stamps_) return web_;
  // Remember the new stamps even if the load fails: one warning per change, not one per second.
  web_stamps_ = stamps;
  auto loaded = LoadWebState(options_.web_config_file);
  if (loaded && (loaded->state->ssl_context != nullptr) != tls_) {
    loaded = MakeError(ErrorKind::kBadData, "switching between TLS and plain HTTP needs a restart");
  }
  if (!loaded) {
    metrics_->reload_failure.Increment();
    spdlog::warn("web config reload failed, keeping the previous configuration file={} err={}",
                 LogQuote(options_.web_config_file), LogQuote(loaded.error().message));
    return web_;
  }
  web_ = loaded->state;
  web_stamps_ = std::move(loaded->stamps);
  metrics_->reload_success.Increment();
  spdlog::info("web config reloaded file={} tls={} basic_auth_users={}", LogQuote(options_.web_config_file), tls_,
               web_->config.basic_auth_users.size());
  return web_;
}

std::string ServerImpl::HandlerLabel(const std::string& path) const {
  // Unknown paths share one label: a scanner must not create a series per probed URL.
  if (routes_.count(path) != 0 || async_routes_.count(path) != 0 || path == "/healthz" || path == "/readyz" ||
      path == "/") {
    return path;
  }
  return "other";
}

bool ServerImpl::Authorized(const Request& request, const WebState& web) {
  const auto& users = web.config.basic_auth_users;
  if (users.empty()) return true;
  auto credentials = ParseBasicAuthorization(request.Header("authorization"));
  bool ok = credentials && authenticator_.Check(users, *credentials);
  if (!ok) metrics_->auth_failures.Increment();
  return ok;
}

void ServerImpl::Handle(Request request, std::shared_ptr<const WebState> web, std::function<bool()> still_open,
                        Done done, net::any_io_executor executor) {
  bool health = request.path == "/healthz" || request.path == "/readyz";
  if (!health && web->rate_limiter && !web->rate_limiter->Allow(Clock::now())) {
    return done(TextResponse(429, "Too many requests\n"), nullptr);
  }
  auto route = routes_.find(request.path);
  const Handler* handler = route == routes_.end() ? nullptr : &route->second;
  auto async_route = async_routes_.find(request.path);
  const AsyncHandler* async_handler = async_route == async_routes_.end() ? nullptr : &async_route->second;
  bool needs_auth = !health && !web->config.basic_auth_users.empty();
  if (handler == nullptr && async_handler == nullptr && !needs_auth) {
    return done(BuiltIn(request), nullptr);  // cheap: answer on the I/O thread
  }
  if (stopping_) return done(TextResponse(503, "Server is shutting down\n"), nullptr);

  // Routed handlers and bcrypt checks run on the pool. The in-flight limit covers both: it bounds the
  // threads and CPU that requests can take, whoever sends them.
  int limit = options_.max_requests_in_flight;
  if (in_flight_.fetch_add(1) >= limit && limit > 0) {
    in_flight_.fetch_sub(1);
    return done(TextResponse(503, "Too many concurrent requests\n"), nullptr);
  }
  metrics_->in_flight.Increment();

  if (async_handler != nullptr) {
    bool get = request.method == "GET" || request.method == "HEAD";
    auto state = std::make_shared<Responder::State>(lifeline_, std::move(executor), std::move(done), [this] {
      metrics_->in_flight.Decrement();
      in_flight_.fetch_sub(1);
    });
    Responder responder(state);
    auto start = [async_handler, get, responder](const Request& request) {
      if (!get) {
        Response response = TextResponse(405, "Method Not Allowed\n");
        response.headers.emplace_back("Allow", "GET, HEAD");
        return responder.Respond(std::move(response));
      }
      try {
        (*async_handler)(request, responder);
      } catch (const std::exception& e) {
        spdlog::error("HTTP handler threw path={} err={}", LogQuote(request.path), LogQuote(e.what()));
        responder.Respond(TextResponse(500, "Internal Server Error\n"));
      }
    };
    if (!needs_auth) return start(request);
    // bcrypt takes tens of milliseconds: check on the pool, then start the handler there.
    net::post(*handler_pool_, [this, request = std::move(request), web = std::move(web), responder, start] {
      if (!Authorized(request, *web)) {
        Response response = TextResponse(401, "Unauthorized\n");
        response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"topdog\"");
        return responder.Respond(std::move(response));
      }
      start(request);
    });
    return;
  }
  net::post(*handler_pool_, [this, request = std::move(request), web = std::move(web), handler, needs_auth,
                             still_open = std::move(still_open), done = std::move(done)] {
    Response response;
    if (still_open()) {  // the client may have left while the job waited for a thread
      try {
        bool get = request.method == "GET" || request.method == "HEAD";
        if (needs_auth && !Authorized(request, *web)) {
          response = TextResponse(401, "Unauthorized\n");
          response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"topdog\"");
        } else if (handler == nullptr) {
          response = BuiltIn(request);
        } else if (!get) {
          response = TextResponse(405, "Method Not Allowed\n");
          response.headers.emplace_back("Allow", "GET, HEAD");
        } else {
          response = (*handler)(request);
        }
      } catch (const std::exception& e) {
        // Handlers report errors as responses; an exception is a bug, but must not kill the pool thread.
        spdlog::error("HTTP handler threw path={} err={}", LogQuote(request.path), LogQuote(e.what()));
        response = TextResponse(500, "Internal Server Error\n");
      } catch (...) {
        spdlog::error("HTTP handler threw path={}", LogQuote(request.path));
        response = TextResponse(500, "Internal Server Error\n");
      }
    }
    metrics_->in_flight.Decrement();
    in_flight_.fetch_sub(1);
    if (still_open()) done(std::move(response), nullptr);
  });
}

Response ServerImpl::BuiltIn(const Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    Response response = TextResponse(405, "Method Not Allowed\n");
    response.headers.emplace_back("Allow", "GET, HEAD");
    return response;
  }
  if (request.path == "/healthz") return TextResponse(200, "ok\n");
  if (request.path == "/readyz") {
    bool ready = !options_.ready || options_.ready();
    return ready ? TextResponse(200, "ready\n") : TextResponse(503, "not ready\n");
  }
  if (request.path == "/") return LandingPage();
  return TextResponse(404, "404 page not found\n");
}

Response ServerImpl::LandingPage() const {
  std::string title = HtmlEscape(options_.metrics_prefix);
  std::string body = "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>" + title +
                     "</title></head>\n<body>\n<h1>" + title + "</h1>\n<ul>\n";
  std::vector<std::string> paths;
  for (const auto& [path, handler] : routes_) paths.push_back(path);
  for (const auto& [path, handler] : async_routes_) paths.push_back(path);
  for (const char* builtin : {"/healthz", "/readyz"}) {
    if (routes_.count(builtin) == 0 && async_routes_.count(builtin) == 0) paths.emplace_back(builtin);
  }
  std::sort(paths.begin(), paths.end());
  for (const std::string& path : paths) {
    std::string escaped = HtmlEscape(path);
    body += "<li><a href=\"" + escaped + "\">" + escaped + "</a></li>\n";
  }
  body += "</ul>\n</body>\n</html>\n";
  Response response;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::move(body);
  return response;
}

std::shared_ptr<HttpResponse> ServerImpl::Finalize(Response response, const RequestContext& context,
                                                   const WebState& web) {
  auto message = std::make_shared<HttpResponse>();
  int status = response.status >= 100 && response.status <= 999 ? response.status : 500;
  message->version(context.version);
  message->result(static_cast<unsigned>(status));
  message->set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message->insert(name, value);
  // As in exporter-toolkit, the configured headers are defaults that a handler may override.
  for (const auto& [name, value] : web.config.headers) {
    if (message->find(name) == message->end()) message->set(name, value);
  }
  std::string body = std::move(response.body);
  if (response.compressible && body.size() >= kMinGzipBytes) {
    // The answer depends on Accept-Encoding whether or not this client gets gzip: tell caches.
    message->set(bhttp::field::vary, "Accept-Encoding");
    if (AcceptsGzip(context.accept_encoding)) {
      if (auto compressed = GzipCompress(body)) {
        body = std::move(*compressed);
        message->set(bhttp::field::content_encoding, "gzip");
      } else {
        spdlog::warn("gzip failed, sending uncompressed err={}", LogQuote(compressed.error().message));
      }
    }
  }
  message->keep_alive(context.keep_alive && !stopping_);
  // HEAD: the headers of the GET answer, Content-Length included, and no body.
  message->content_length(body.size());
  if (!context.head) message->body() = std::move(body);
  return message;
}

void ServerImpl::Stop() {
  if (stopped_.exchange(true)) return;
  stopping_ = true;
  if (io_ == nullptr) return;  // Init failed before anything ran
  for (auto& listener : listeners_) {
    Listener* raw = listener.get();
    net::post(raw->strand, [raw] {
      beast::error_code ignored;
      raw->acceptor.close(ignored);
      raw->retry_timer.cancel();
    });
  }
  // Cancel outside the lock: a session whose last other reference just went away is destroyed when
  // `live` is, and its destructor takes sessions_mu_.
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->Cancel();
  live.clear();
  // Running handlers finish (their answers go to closed connections); then the I/O threads stop.
  if (handler_pool_) handler_pool_->join();
  {
    // Asynchronous answers still in progress now do nothing, and let go of their connections while the
    // io_context that owns them still exists.
    std::unique_lock lock(lifeline_->mu);
    lifeline_->alive = false;
    std::vector<Done> dropped;
    {
      std::lock_guard states_lock(lifeline_->states_mu);
      for (Responder::State* state : lifeline_->states) {
        dropped.push_back(std::move(state->done));
        state->done = nullptr;
        state->finished = nullptr;
        state->executor = net::any_io_executor();
      }
    }
    dropped.clear();  // may destroy sessions, which take sessions_mu_: outside states_mu
  }
  io_work_.reset();
  io_->stop();
  for (std::thread& thread : io_threads_) thread.join();
  io_threads_.clear();
  // Work queued after the pool was joined, then sockets and sessions still referenced by queued I/O
  // handlers, are destroyed here while the rest of the server is still alive.
  handler_pool_.reset();
  listeners_.clear();
  io_.reset();
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, std::map<std::string, Handler> routes,
                                              std::map<std::string, AsyncHandler> async_routes) {
  for (const auto& [path, handler] : async_routes) {
    if (routes.count(path) != 0) return MakeError(ErrorKind::kBadData, "route " + LogQuote(path) + " given twice");
  }
  auto server = std::make_unique<ServerImpl>(std::move(options), std::move(routes), std::move(async_routes));
  if (auto ok = server->Init(); !ok) return tl::unexpected(ok.error());
  server->Run();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace topdog::http
