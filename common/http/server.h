// HTTP(S) server for /metrics and health endpoints, shared by topdog-exporter and topdog-advisor.
// Boost.Beast + OpenSSL 3; TLS and basic auth from a web-config file in node_exporter's exporter-toolkit
// format; gzip; keep-alive; header/body limits; read timeouts. Handlers may block (a scrape waits for its
// collectors) without stalling other connections; asynchronous routes answer from any thread without holding
// one. Thread-safe; Stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "common/exposition/family_writer.h"
#include "common/result.h"

namespace topdog::http {

struct Request {
  std::string method;  // "GET"
  std::string path;    // "/metrics" (no query)
  std::string query;   // raw query string without '?', e.g. "collect[]=cpu"
  // Header names lower-cased. Repeated headers are joined with ", ".
  std::map<std::string, std::string> headers;
  std::string remote_address;  // "127.0.0.1:53412"
  // When the request was read (steady clock): time spent queued for a handler thread counts against
  // deadlines derived from the request.
  std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();

  // Convenience: header value or "" when absent.
  const std::string& Header(const std::string& lower_name) const;
  // All values of a query parameter (URL-decoded), e.g. QueryValues("collect[]").
  std::vector<std::string> QueryValues(const std::string& name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  bool compressible = true;  // gzip when the client accepts it and the body is large enough
};

using Handler = std::function<Response(const Request&)>;

// A response in progress for an asynchronous route. Cheap to copy; thread-safe.
class Responder {
 public:
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

  // Sends `response` (gzip happens on the calling thread). The first call wins; later calls, and calls after
  // the server stopped, do nothing.
  void Respond(Response response) const;
  // Runs `fn` on an I/O thread at `when`, unless a response has been sent by then: pending calls are
  // cancelled when it is. For deadlines; arming wakes no thread. Any thread.
  void At(std::chrono::steady_clock::time_point when, std::function<void()> fn) const;

 private:
  std::shared_ptr<State> state_;
};

// A route answered without holding a thread while it waits: called on an I/O thread (or on a handler thread
// after a basic auth check), it must return at once and answer later, exactly once, through the Responder.
using AsyncHandler = std::function<void(const Request&, Responder)>;

struct ServerOptions {
  // "host:port" entries, e.g. "127.0.0.1:0", ":9100", "[::1]:9100". Port 0 picks a free port.
  std::vector<std::string> listen_addresses{":9100"};
  // exporter-toolkit web config (tls_server_config, http_server_config.headers, basic_auth_users);
  // empty = plain HTTP without auth. Re-read when the file changes.
  std::string web_config_file;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64 * 1024;
  std::chrono::milliseconds read_timeout{10000};   // whole request (headers+body) must arrive within
  std::chrono::milliseconds idle_timeout{120000};  // keep-alive connection with no request
  std::chrono::milliseconds write_timeout{30000};
  int max_connections = 256;   // beyond that new connections are closed at once
  int max_requests_in_flight = 40;  // node_exporter's --web.max-requests; beyond it: 503. 0 = unlimited
  int io_threads = 1;
  int handler_threads = 4;     // blocking handlers run here, never on the I/O threads
  // /readyz answers 200 when this returns true (default: always). Called on an I/O thread: must not block.
  std::function<bool()> ready;
  // How often, at most, requests stat() the web config file (and its certificate, key and client CA files)
  // to notice changes. Tests set 0 to reload on the next request.
  std::chrono::milliseconds web_config_check_interval{1000};
  // Metric name prefix for the server's own metrics, e.g. "topdog_exporter".
  std::string metrics_prefix = "topdog";
};

class Server {
 public:
  // Binds every address, loads the web config (error if it is invalid: a start-up error), starts threads.
  // routes: exact path -> handler. /healthz and /readyz are built in unless given; "/" serves a small
  // landing page unless given. Basic auth and rate_limit apply to every path except /healthz and /readyz
  // (built in or given), which stay open so that Kubernetes probes, which cannot send credentials, work.
  // Handlers run on the handler pool, may block, and must not call Stop().
  // async_routes: exact path -> AsyncHandler (a path is in one map only); auth, limits and metrics as above.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, std::map<std::string, Handler> routes,
                                               std::map<std::string, AsyncHandler> async_routes = {});
  virtual ~Server() = default;

  // Bound ports in the order of listen_addresses (useful with port 0).
  virtual std::vector<uint16_t> ListeningPorts() const = 0;
  // Stops accepting, closes connections, joins threads. Idempotent.
  virtual void Stop() = 0;
  // <prefix>_http_requests_total{handler,code}, <prefix>_http_request_duration_seconds{handler} (histogram),
  // <prefix>_http_requests_in_flight, <prefix>_http_auth_failures_total,
  // <prefix>_http_tls_handshake_errors_total, <prefix>_http_bad_requests_total{reason},
  // <prefix>_web_config_reloads_total{result}, <prefix>_http_connections_rejected_total (max_connections).
  virtual void AppendMetrics(exposition::FamilyWriter& out) const = 0;
  std::vector<prometheus::MetricFamily> Metrics() const {
    exposition::FamilyWriter out;
    AppendMetrics(out);
    return std::move(out).Finish();
  }
};

}  // namespace topdog::http
