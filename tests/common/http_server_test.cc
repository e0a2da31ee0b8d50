// Integration tests of topdog::http::Server on 127.0.0.1:0 with Beast clients (and a raw socket where the
// test needs byte-level control). Client operations run on the test thread with a 5 s safety deadline.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include "common/http/server.h"
#include "tests/fakes/gunzip.h"

namespace topdog::http {
namespace {

using topdog::testing::Gunzip;

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using HttpResponse = bhttp::response<bhttp::string_body>;
using ::testing::HasSubstr;

constexpr std::chrono::seconds kClientTimeout{5};

std::string FixturePath(const std::string& name) {
  return std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/web/" + name;
}

// "alice:$2y$..." -> the hash (bcrypt cost 10, tests/fixtures/web/PROVENANCE.md).
std::string FixtureHash(const std::string& file) {
  std::ifstream in(FixturePath(file));
  std::string line;
  std::getline(in, line);
  return line.substr(line.find(':') + 1);
}

std::string Base64(const std::string& text) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < text.size(); i += 3) {
    uint32_t chunk = static_cast<unsigned char>(text[i]) << 16;
    if (i + 1 < text.size()) chunk |= static_cast<unsigned char>(text[i + 1]) << 8;
    if (i + 2 < text.size()) chunk |= static_cast<unsigned char>(text[i + 2]);
    out += kAlphabet[(chunk >> 18) & 63];
    out += kAlphabet[(chunk >> 12) & 63];
    out += i + 1 < text.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < text.size() ? kAlphabet[chunk & 63] : '=';
  }
  return out;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "topdog-http-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  // Writes the file and sets its mtime to `mtime_seconds`, so that successive versions differ in mtime
  // even within one clock tick.
  std::string Write(const std::string& name, const std::string& content, time_t mtime_seconds = 1600000000) const {
    std::string file = path_ + "/" + name;
    std::ofstream(file, std::ios::trunc) << content;
    timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
    EXPECT_EQ(utimensat(AT_FDCWD, file.c_str(), times, 0), 0);
    return file;
  }
  void Copy(const std::string& fixture, const std::string& name) const {
    std::filesystem::copy_file(FixturePath(fixture), path_ + "/" + name);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Value of the sample with exactly these labels, or -1 when absent.
double MetricValue(const std::vector<prometheus::MetricFamily>& families, const std::string& name,
                   const std::map<std::string, std::string>& labels = {}) {
  for (const auto& family : families) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      std::map<std::string, std::string> got;
      for (const auto& label : metric.label) got[label.name] = label.value;
      if (got != labels) continue;
      switch (family.type) {
        case prometheus::MetricType::Counter:
          return metric.counter.value;
        case prometheus::MetricType::Gauge:
          return metric.gauge.value;
        case prometheus::MetricType::Histogram:
          return static_cast<double>(metric.histogram.sample_count);
        default:
          return -1;
      }
    }
  }
  return -1;
}

// A blocking HTTP(S) client: each operation runs the client's own io_context until it completes or
// kClientTimeout passes (then the stream is closed and the operation fails with a timeout).
template <bool kTls>
class Client {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  explicit Client(uint16_t port) requires(!kTls) : stream_(io_) { connect_error_ = Connect(port); }

  Client(uint16_t port, ssl::context& context) requires(kTls) : stream_(io_, context) {
    connect_error_ = Connect(port);
    if (connect_error_) return;
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    connect_error_ = Run([&](auto done) { stream_.async_handshake(ssl::stream_base::client, done); });
  }

  beast::error_code connect_error() const { return connect_error_; }

  beast::error_code SendRaw(const std::string& bytes) {
    return Run([&](auto done) { net::async_write(stream_, net::buffer(bytes), done); });
  }

  beast::error_code Send(bhttp::request<bhttp::string_body> request) {
    request.prepare_payload();
    return Run([&](auto done) { bhttp::async_write(stream_, request, done); });
  }

  // Reads one response; head: the request was HEAD (no body follows the headers).
  std::pair<beast::error_code, HttpResponse> Read(bool head = false) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(1 << 24);
    parser.skip(head);
    beast::error_code ec = Run([&](auto done) { bhttp::async_read(stream_, buffer_, parser, done); });
    return {ec, ec ? HttpResponse() : parser.release()};
  }

  HttpResponse Get(const std::string& target, const std::map<std::string, std::string>& headers = {},
                   bhttp::verb method = bhttp::verb::get) {
    bhttp::request<bhttp::string_body> request(method, target, 11);
    request.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    EXPECT_FALSE(Send(std::move(request)));
    auto [ec, response] = Read(method == bhttp::verb::head);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

  // Blocks until the server closes the connection; returns how the read ended (eof or reset).
  beast::error_code ReadUntilClosed() {
    for (;;) {
      char chunk[1024];
      size_t bytes = 0;
      beast::error_code ec = Run([&](auto done) {
        stream_.async_read_some(net::buffer(chunk), [&bytes, done](beast::error_code e, size_t n) mutable {
          bytes = n;
          done(e);
        });
      });
      if (ec) return ec;
    }
  }

 private:
  beast::error_code Connect(uint16_t port) {
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
    return Run([&](auto done) { beast::get_lowest_layer(stream_).async_connect(endpoint, done); });
  }

  template <class Initiate>
  beast::error_code Run(Initiate initiate) {
    beast::error_code result = net::error::timed_out;
    beast::get_lowest_layer(stream_).expires_after(kClientTimeout);
    initiate([&result](beast::error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run();
    return result;
  }

  net::io_context io_;
  Stream stream_;
  beast::flat_buffer buffer_;
  beast::error_code connect_error_;
};

using PlainClient = Client<false>;
using TlsClient = Client<true>;

ServerOptions TestOptions() {
  ServerOptions options;
  options.listen_addresses = {"127.0.0.1:0"};
  options.metrics_prefix = "test";
  options.handler_threads = 2;
  return options;
}

std::unique_ptr<Server> StartServer(ServerOptions options, std::map<std::string, Handler> routes) {
  auto server = Server::Start(std::move(options), std::move(routes));
  EXPECT_TRUE(server.has_value()) << server.error().message;
  return server ? std::move(*server) : nullptr;
}

Handler TextHandler(std::string body) {
  return [body](const Request&) {
    Response response;
    response.body = body;
    return response;
  };
}

std::map<std::string, Handler> MetricsRoute() { return {{"/metrics", TextHandler("up 1\n")}}; }

// --------------------------------------------------------------------------------------------------------

TEST(HttpServerTest, RoutedHandlerSeesDecodedQueryHeadersAndRemoteAddress) {
  std::promise<Request> seen;
  auto server = StartServer(TestOptions(), {{"/metrics", [&seen](const Request& request) {
                                               seen.set_value(request);
                                               Response response;
                                               response.content_type = "text/plain; version=0.0.4";
                                               response.body = "up 1\n";
                                               return response;
                                             }}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  HttpResponse response =
      client.Get("/metrics?collect%5B%5D=cpu&collect[]=mem+ory", {{"X-Test", "a"}, {"Accept", "text/plain"}});
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "up 1\n");
  EXPECT_EQ(response[bhttp::field::content_type], "text/plain; version=0.0.4");
  Request request = seen.get_future().get();
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/metrics");
  EXPECT_EQ(request.query, "collect%5B%5D=cpu&collect[]=mem+ory");
  EXPECT_THAT(request.QueryValues("collect[]"), ::testing::ElementsAre("cpu", "mem ory"));
  EXPECT_EQ(request.Header("x-test"), "a");
  EXPECT_THAT(request.remote_address, ::testing::StartsWith("127.0.0.1:"));
}

TEST(HttpServerTest, UnknownPathIs404AndOtherMethodsAre405) {
  auto server = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/nope").result_int(), 404);
  HttpResponse post = client.Get("/metrics", {}, bhttp::verb::post);
  EXPECT_EQ(post.result_int(), 405);
  EXPECT_EQ(post[bhttp::field::allow], "GET, HEAD");
  EXPECT_EQ(client.Get("/healthz", {}, bhttp::verb::delete_).result_int(), 405);
  auto metrics = server->Metrics();
  EXPECT_EQ(MetricValue(metrics, "test_http_requests_total", {{"handler", "other"}, {"code", "404"}}), 1);
  EXPECT_EQ(MetricValue(metrics, "test_http_requests_total", {{"handler", "/metrics"}, {"code", "405"}}), 1);
}

TEST(HttpServerTest, HealthReadinessAndLandingPage) {
  std::atomic<bool> ready{false};
  ServerOptions options = TestOptions();
  options.ready = [&ready] { return ready.load(); };
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  HttpResponse health = client.Get("/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "ok\n");
  EXPECT_EQ(client.Get("/readyz").result_int(), 503);
  ready = true;
  HttpResponse readyz = client.Get("/readyz");
  EXPECT_EQ(readyz.result_int(), 200);
  EXPECT_EQ(readyz.body(), "ready\n");
  HttpResponse landing = client.Get("/");
  EXPECT_EQ(landing.result_int(), 200);
  EXPECT_THAT(std::string(landing[bhttp::field::content_type]), HasSubstr("text/html"));
  EXPECT_THAT(landing.body(), HasSubstr("<a href=\"/metrics\">"));
}

TEST(HttpServerTest, KeepAliveServesThreeRequestsOnOneConnection) {
  auto server = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  for (int i = 0; i < 3; ++i) {
    HttpResponse response = client.Get("/metrics");
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_TRUE(response.keep_alive());
  }
  auto metrics = server->Metrics();
  EXPECT_EQ(MetricValue(metrics, "test_http_requests_total", {{"handler", "/metrics"}, {"code", "200"}}), 3);
  EXPECT_EQ(MetricValue(metrics, "test_http_request_duration_seconds", {{"handler", "/metrics"}}), 3);
}

TEST(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  auto server = StartServer(TestOptions(), {{"/a", TextHandler("a\n")}, {"/b", TextHandler("b\n")}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [ec_a, a] = client.Read();
  auto [ec_b, b] = client.Read();
  ASSERT_FALSE(ec_a || ec_b);
  EXPECT_EQ(a.body(), "a\n");
  EXPECT_EQ(b.body(), "b\n");
}

TEST(HttpServerTest, Http10RequestIsAnsweredThenClosed) {
  auto server = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw("GET /metrics HTTP/1.0\r\n\r\n"));
  auto [ec, response] = client.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.version(), 10u);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(client.ReadUntilClosed(), net::error::eof);
}

TEST(HttpServerTest, GzipFollowsAcceptEncodingAndBodySize) {
  std::string big;
  for (int i = 0; big.size() < 4096; ++i) big += "node_cpu_seconds_total{cpu=\"" + std::to_string(i) + "\"} 1\n";
  Handler opaque = [big](const Request&) {
    Response response;
    response.body = big;
    response.compressible = false;
    return response;
  };
  auto server =
      StartServer(TestOptions(), {{"/big", TextHandler(big)}, {"/small", TextHandler("up 1\n")}, {"/opaque", opaque}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));

  HttpResponse gzipped = client.Get("/big", {{"Accept-Encoding", "deflate, gzip"}});
  EXPECT_EQ(gzipped[bhttp::field::content_encoding], "gzip");
  EXPECT_EQ(gzipped[bhttp::field::vary], "Accept-Encoding");
  EXPECT_LT(gzipped.body().size(), big.size());
  EXPECT_EQ(Gunzip(gzipped.body()), big);

  HttpResponse head = client.Get("/big", {{"Accept-Encoding", "gzip"}}, bhttp::verb::head);
  EXPECT_EQ(head.result_int(), 200);
  EXPECT_EQ(head[bhttp::field::content_length], std::to_string(gzipped.body().size()));
  EXPECT_TRUE(head.body().empty());

  HttpResponse refused = client.Get("/big", {{"Accept-Encoding", "gzip;q=0, identity"}});
  EXPECT_EQ(refused[bhttp::field::content_encoding], "");
  EXPECT_EQ(refused[bhttp::field::vary], "Accept-Encoding");
  EXPECT_EQ(refused.body(), big);

  EXPECT_EQ(client.Get("/big").body(), big);
  HttpResponse small = client.Get("/small", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(small[bhttp::field::content_encoding], "");
  EXPECT_EQ(small.body(), "up 1\n");
  EXPECT_EQ(client.Get("/opaque", {{"Accept-Encoding", "gzip"}}).body(), big);
}

TEST(HttpServerTest, HeaderTooLargeIs431AndClosed) {
  ServerOptions options = TestOptions();
  options.max_header_bytes = 1024;
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n"));
  auto [ec, response] = client.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ReadUntilClosed());
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_bad_requests_total", {{"reason", "header_too_large"}}), 1);
}

TEST(HttpServerTest, BodyTooLargeIs413) {
  ServerOptions options = TestOptions();
  options.max_body_bytes = 16;
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(
      client.SendRaw("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b')));
  auto [ec, response] = client.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_bad_requests_total", {{"reason", "body_too_large"}}), 1);
}

TEST(HttpServerTest, GarbageIs400AndCounted) {
  auto server = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw(std::string("\x16\x03\x01\x02\x00 hello\r\n\r\n", 14)));
  auto [ec, response] = client.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_TRUE(client.ReadUntilClosed());
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_bad_requests_total", {{"reason", "malformed"}}), 1);
}

// A client that keeps trickling bytes is cut off after read_timeout, as the deadline covers the whole
// request rather than each read. The trickle thread paces the attack; nothing waits on a sleep.
TEST(HttpServerTest, SlowClientIsCutOffAfterReadTimeout) {
  ServerOptions options = TestOptions();
  options.read_timeout = std::chrono::milliseconds(300);
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);

  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  timeval receive_timeout{10, 0};  // safety net only: the server is expected to close long before
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receive_timeout, sizeof(receive_timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server->ListeningPorts().at(0));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  const std::string start = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  ASSERT_EQ(send(fd, start.data(), start.size(), MSG_NOSIGNAL), static_cast<ssize_t>(start.size()));

  auto begin = std::chrono::steady_clock::now();
  std::atomic<bool> done{false};
  std::thread trickle([fd, &done] {
    // One byte per 50 ms for up to 5 s: a per-read inactivity timeout would never fire.
    for (int i = 0; i < 100 && !done; ++i) {
      if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  char byte;
  ssize_t got = recv(fd, &byte, 1, 0);  // blocks until the server gives up on the request
  auto elapsed = std::chrono::steady_clock::now() - begin;
  done = true;
  trickle.join();
  close(fd);
  EXPECT_LE(got, 0);  // closed (0) or reset (-1), without an answer
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_bad_requests_total", {{"reason", "read_timeout"}}), 1);
}

TEST(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  ServerOptions options = TestOptions();
  options.idle_timeout = std::chrono::milliseconds(100);
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/metrics").result_int(), 200);
  EXPECT_TRUE(client.ReadUntilClosed());  // returns once the server closes the idle connection
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_bad_requests_total", {{"reason", "read_timeout"}}), 0);
}

// Routes /block to a handler that waits until the test releases it.
struct BlockingRoute {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  Handler handler() {
    return [this](const Request&) {
      entered.set_value();
      released.wait();
      Response response;
      response.body = "unblocked\n";
      return response;
    };
  }
};

TEST(HttpServerTest, BlockingHandlerDoesNotStallOtherConnections) {
  BlockingRoute block;
  std::map<std::string, Handler> routes = MetricsRoute();
  routes["/block"] = block.handler();
  auto server = StartServer(TestOptions(), routes);
  ASSERT_NE(server, nullptr);
  uint16_t port = server->ListeningPorts().at(0);

  PlainClient blocked(port);
  ASSERT_FALSE(blocked.SendRaw("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(block.entered.get_future().wait_for(kClientTimeout), std::future_status::ready);
  PlainClient other(port);
  EXPECT_EQ(other.Get("/metrics").result_int(), 200);  // answered while /block still holds a handler thread
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_requests_in_flight"), 1);
  block.release.set_value();
  auto [ec, response] = blocked.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.body(), "unblocked\n");
}

TEST(HttpServerTest, MaxRequestsInFlightAnswers503) {
  BlockingRoute block;
  std::map<std::string, Handler> routes = MetricsRoute();
  routes["/block"] = block.handler();
  ServerOptions options = TestOptions();
  options.max_requests_in_flight = 1;
  auto server = StartServer(options, routes);
  ASSERT_NE(server, nullptr);
  uint16_t port = server->ListeningPorts().at(0);

  PlainClient blocked(port);
  ASSERT_FALSE(blocked.SendRaw("GET /block HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(block.entered.get_future().wait_for(kClientTimeout), std::future_status::ready);
  PlainClient other(port);
  HttpResponse refused = other.Get("/metrics");
  EXPECT_EQ(refused.result_int(), 503);
  EXPECT_EQ(refused.body(), "Too many concurrent requests\n");
  EXPECT_EQ(other.Get("/healthz").result_int(), 200);  // built-ins do not take a handler slot
  block.release.set_value();
  auto [ec, response] = blocked.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(other.Get("/metrics").result_int(), 200);  // the slot was released before the answer
}

// An asynchronous route whose responder the test holds: it answers when the test says so, from the test's
// thread, like a collector thread answering a scrape.
struct HeldRoute {
  std::mutex mu;
  std::vector<Responder> held;  // GUARDED_BY(mu)
  std::promise<void> arrived;
  AsyncHandler handler() {
    return [this](const Request&, Responder responder) {
      std::lock_guard lock(mu);
      held.push_back(responder);
      if (held.size() == 1) arrived.set_value();
    };
  }
  Responder First() {
    std::lock_guard lock(mu);
    return held.at(0);
  }
};

std::unique_ptr<Server> StartAsyncServer(ServerOptions options, std::map<std::string, AsyncHandler> routes) {
  auto server = Server::Start(std::move(options), MetricsRoute(), std::move(routes));
  EXPECT_TRUE(server.has_value()) << server.error().message;
  return server ? std::move(*server) : nullptr;
}

Response TextResponse(std::string body) {
  Response response;
  response.body = std::move(body);
  return response;
}

TEST(HttpServerAsyncTest, AnswerComesFromAnotherThreadWhileTheServerServesOthers) {
  HeldRoute route;
  auto server = StartAsyncServer(TestOptions(), {{"/async", route.handler()}});
  ASSERT_NE(server, nullptr);
  uint16_t port = server->ListeningPorts().at(0);

  PlainClient waiting(port);
  ASSERT_FALSE(waiting.SendRaw("GET /async HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n"));
  ASSERT_EQ(route.arrived.get_future().wait_for(kClientTimeout), std::future_status::ready);
  PlainClient other(port);
  EXPECT_EQ(other.Get("/metrics").body(), "up 1\n");
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_requests_in_flight"), 1);

  Responder responder = route.First();
  std::thread([responder] { responder.Respond(TextResponse(std::string(4096, 'a'))); }).join();
  responder.Respond(TextResponse("second answer is ignored\n"));
  auto [ec, response] = waiting.Read();
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response[bhttp::field::content_encoding], "gzip");
  EXPECT_EQ(Gunzip(response.body()), std::string(4096, 'a'));
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_requests_in_flight"), 0);
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_requests_total", {{"handler", "/async"}, {"code", "200"}}), 1);
  // The connection is still usable: the next request gets its own responder.
  ASSERT_FALSE(waiting.SendRaw("GET /async HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (true) {
    std::lock_guard lock(route.mu);
    if (route.held.size() == 2) break;
  }
  route.held[1].Respond(TextResponse("again\n"));
  auto [ec2, again] = waiting.Read();
  ASSERT_FALSE(ec2) << ec2.message();
  EXPECT_EQ(again.body(), "again\n");
}

TEST(HttpServerAsyncTest, AtFiresWhenNoAnswerCameAndIsCancelledByTheAnswer) {
  std::atomic<int> late_calls{0};
  std::atomic<int> deadline_calls{0};
  AsyncHandler handler = [&](const Request& request, Responder responder) {
    auto now = std::chrono::steady_clock::now();
    if (request.query == "answer=now") {
      responder.At(now + std::chrono::milliseconds(30), [&late_calls] { ++late_calls; });
      responder.Respond(TextResponse("at once\n"));
    } else {
      // A deadline: the timer answers for the handler.
      responder.At(now + std::chrono::milliseconds(30), [responder, &deadline_calls] {
        ++deadline_calls;
        responder.Respond(TextResponse("deadline\n"));
      });
    }
  };
  auto server = StartAsyncServer(TestOptions(), {{"/async", handler}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/async").body(), "deadline\n");
  EXPECT_EQ(deadline_calls.load(), 1);
  EXPECT_EQ(client.Get("/async?answer=now").body(), "at once\n");
  // The cancelled timer would have fired by now; the deadline request below proves timers still run.
  EXPECT_EQ(client.Get("/async").body(), "deadline\n");
  EXPECT_EQ(late_calls.load(), 0);
}

TEST(HttpServerAsyncTest, MethodAndAuthChecksApplyToAsyncRoutes) {
  TempDir dir;
  std::string config =
      dir.Write("web.yml", "basic_auth_users:\n  alice: '" + FixtureHash("alice.htpasswd") + "'\n");
  ServerOptions options = TestOptions();
  options.web_config_file = config;
  AsyncHandler handler = [](const Request&, Responder responder) { responder.Respond(TextResponse("secret\n")); };
  auto server = StartAsyncServer(options, {{"/async", handler}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/async").result_int(), 401);
  std::map<std::string, std::string> auth = {{"Authorization", "Basic " + Base64("alice:alice-secret-1")}};
  EXPECT_EQ(client.Get("/async", auth).body(), "secret\n");
  EXPECT_EQ(client.Get("/async", auth, bhttp::verb::post).result_int(), 405);
}

TEST(HttpServerAsyncTest, AnswerAfterStopDoesNothing) {
  HeldRoute route;
  auto server = StartAsyncServer(TestOptions(), {{"/async", route.handler()}});
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw("GET /async HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(route.arrived.get_future().wait_for(kClientTimeout), std::future_status::ready);
  server->Stop();
  server.reset();
  // The responder outlives the server (a collector thread still running): answering must be harmless.
  route.First().Respond(TextResponse("too late\n"));
  route.First().At(std::chrono::steady_clock::now(), [] { ADD_FAILURE() << "timer ran after Stop"; });
  EXPECT_TRUE(client.ReadUntilClosed());
}

TEST(HttpServerAsyncTest, RouteGivenTwiceIsAStartError) {
  AsyncHandler handler = [](const Request&, Responder responder) { responder.Respond(TextResponse("x\n")); };
  auto server = Server::Start(TestOptions(), MetricsRoute(), {{"/metrics", handler}});
  ASSERT_FALSE(server);
  EXPECT_THAT(server.error().message, HasSubstr("/metrics"));
}

TEST(HttpServerTest, ConnectionsBeyondMaxConnectionsAreClosedAtOnce) {
  ServerOptions options = TestOptions();
  options.max_connections = 1;
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  uint16_t port = server->ListeningPorts().at(0);
  PlainClient first(port);
  EXPECT_EQ(first.Get("/metrics").result_int(), 200);  // the server has certainly accepted it now
  PlainClient second(port);
  EXPECT_TRUE(second.ReadUntilClosed());
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_connections_rejected_total"), 1);
  EXPECT_EQ(first.Get("/metrics").result_int(), 200);
}

TEST(HttpServerTest, ListensOnSeveralAddresses) {
  ServerOptions options = TestOptions();
  options.listen_addresses = {"127.0.0.1:0", "[::1]:0"};
  auto started = Server::Start(options, MetricsRoute());
  if (!started && started.error().message.find("[::1]") != std::string::npos) {
    GTEST_SKIP() << "no IPv6 loopback: " << started.error().message;
  }
  ASSERT_TRUE(started.has_value()) << started.error().message;
  std::vector<uint16_t> ports = (*started)->ListeningPorts();
  ASSERT_EQ(ports.size(), 2u);
  EXPECT_NE(ports[0], 0);
  EXPECT_NE(ports[1], 0);
  PlainClient client(ports[0]);
  EXPECT_EQ(client.Get("/metrics").result_int(), 200);
  net::io_context io;
  beast::tcp_stream v6(io);
  v6.connect(tcp::endpoint(net::ip::make_address("::1"), ports[1]));
  bhttp::request<bhttp::empty_body> request(bhttp::verb::get, "/metrics", 11);
  bhttp::write(v6, request);
  beast::flat_buffer buffer;
  HttpResponse response;
  bhttp::read(v6, buffer, response);
  EXPECT_EQ(response.result_int(), 200);
}

TEST(HttpServerTest, BindErrorNamesTheAddress) {
  auto first = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(first, nullptr);
  ServerOptions options = TestOptions();
  std::string taken = "127.0.0.1:" + std::to_string(first->ListeningPorts().at(0));
  options.listen_addresses = {taken};
  auto second = Server::Start(options, MetricsRoute());
  ASSERT_FALSE(second.has_value());
  EXPECT_THAT(second.error().message, HasSubstr(taken));
  options.listen_addresses = {"127.0.0.1"};
  EXPECT_FALSE(Server::Start(options, MetricsRoute()).has_value());
}

TEST(HttpServerTest, StartFailsOnInvalidWebConfig) {
  TempDir dir;
  ServerOptions options = TestOptions();
  options.web_config_file = dir.Write("web.yml", "tls_server_config:\n  cert_file: missing.crt\n");
  auto server = Server::Start(options, MetricsRoute());
  ASSERT_FALSE(server.has_value());
  EXPECT_THAT(server.error().message, HasSubstr("missing one of key or key_file"));
  options.web_config_file = dir.path() + "/absent.yml";
  EXPECT_FALSE(Server::Start(options, MetricsRoute()).has_value());
}

TEST(HttpServerTest, ExposesItsOwnMetricFamilies) {
  auto server = StartServer(TestOptions(), MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/metrics").result_int(), 200);  // labelled families appear with their first sample
  std::set<std::string> names;
  for (const auto& family : server->Metrics()) names.insert(family.name);
  for (const char* name :
       {"test_http_requests_total", "test_http_request_duration_seconds", "test_http_requests_in_flight",
        "test_http_auth_failures_total", "test_http_tls_handshake_errors_total", "test_http_bad_requests_total",
        "test_web_config_reloads_total", "test_http_connections_rejected_total"}) {
    EXPECT_EQ(names.count(name), 1u) << name;
  }
}

// --------------------------------------------------------------------------------------------------------
// TLS and basic auth from the web config file.

ssl::context ClientContext(bool with_certificate) {
  ssl::context context(ssl::context::tls_client);
  context.load_verify_file(FixturePath("ca.crt"));
  context.set_verify_mode(ssl::verify_peer);
  if (with_certificate) {
    context.use_certificate_chain_file(FixturePath("client.crt"));
    context.use_private_key_file(FixturePath("client.key"), ssl::context::pem);
  }
  return context;
}

TEST(HttpServerTlsTest, ServesOverTlsWithRelativeCertificatePathsAndSecurityHeaders) {
  TempDir dir;
  dir.Copy("server.crt", "server.crt");
  dir.Copy("server.key", "server.key");
  ServerOptions options = TestOptions();
  options.web_config_file = dir.Write("web.yml", R"(
tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
)");
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  ssl::context context = ClientContext(false);
  TlsClient client(server->ListeningPorts().at(0), context);
  ASSERT_FALSE(client.connect_error()) << client.connect_error().message();
  HttpResponse response = client.Get("/metrics");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "up 1\n");
  EXPECT_EQ(response["X-Frame-Options"], "deny");
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(client.Get("/nope")["X-Frame-Options"], "deny");  // on every response
}

TEST(HttpServerTlsTest, PlainHttpToTlsPortFailsHandshakeAndIsCounted) {
  ServerOptions options = TestOptions();
  TempDir dir;
  options.web_config_file = dir.Write("web.yml", "tls_server_config:\n  cert_file: " + FixturePath("server.crt") +
                                                     "\n  key_file: " + FixturePath("server.key") + "\n");
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  ASSERT_FALSE(client.SendRaw("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(client.ReadUntilClosed());
  // The connection is closed only after the failed handshake's completion handler has run.
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_tls_handshake_errors_total"), 1);
}

std::string MutualTlsConfig(const std::string& extra = "") {
  return "tls_server_config:\n  cert_file: " + FixturePath("server.crt") +
         "\n  key_file: " + FixturePath("server.key") +
         "\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + FixturePath("ca.crt") + "\n" + extra;
}

// True when a GET /metrics over TLS gets a 200.
bool TlsGetSucceeds(uint16_t port, ssl::context& context) {
  TlsClient client(port, context);
  if (client.connect_error()) return false;
  bhttp::request<bhttp::string_body> request(bhttp::verb::get, "/metrics", 11);
  if (client.Send(std::move(request))) return false;
  auto [ec, response] = client.Read();
  return !ec && response.result_int() == 200;
}

TEST(HttpServerTlsTest, MutualTlsRejectsClientWithoutCertificate) {
  TempDir dir;
  ServerOptions options = TestOptions();
  options.web_config_file = dir.Write("web.yml", MutualTlsConfig());
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  ssl::context anonymous = ClientContext(false);
  EXPECT_FALSE(TlsGetSucceeds(server->ListeningPorts().at(0), anonymous));
  ssl::context with_certificate = ClientContext(true);
  EXPECT_TRUE(TlsGetSucceeds(server->ListeningPorts().at(0), with_certificate));
}

TEST(HttpServerTlsTest, ClientAllowedSansRestrictsCertificates) {
  ssl::context with_certificate = ClientContext(true);
  {
    TempDir dir;
    ServerOptions options = TestOptions();
    options.web_config_file = dir.Write("web.yml", MutualTlsConfig("  client_allowed_sans: [prometheus.example]\n"));
    auto server = StartServer(options, MetricsRoute());
    ASSERT_NE(server, nullptr);
    EXPECT_TRUE(TlsGetSucceeds(server->ListeningPorts().at(0), with_certificate));
  }
  {
    TempDir dir;
    ServerOptions options = TestOptions();
    options.web_config_file = dir.Write("web.yml", MutualTlsConfig("  client_allowed_sans: [grafana.example]\n"));
    auto server = StartServer(options, MetricsRoute());
    ASSERT_NE(server, nullptr);
    EXPECT_FALSE(TlsGetSucceeds(server->ListeningPorts().at(0), with_certificate));
  }
}

std::map<std::string, std::string> BasicAuth(const std::string& user, const std::string& password) {
  return {{"Authorization", "Basic " + Base64(user + ":" + password)}};
}

TEST(HttpServerAuthTest, BasicAuthProtectsEverythingButHealthEndpoints) {
  TempDir dir;
  ServerOptions options = TestOptions();
  options.web_config_file = dir.Write("web.yml", "basic_auth_users:\n  alice: " + FixtureHash("alice.htpasswd") + "\n");
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));

  HttpResponse anonymous = client.Get("/metrics");
  EXPECT_EQ(anonymous.result_int(), 401);
  EXPECT_THAT(std::string(anonymous[bhttp::field::www_authenticate]), ::testing::StartsWith("Basic"));
  EXPECT_EQ(client.Get("/metrics", BasicAuth("alice", "wrong")).result_int(), 401);
  EXPECT_EQ(client.Get("/nope").result_int(), 401);  // no probing of paths without credentials
  HttpResponse ok = client.Get("/metrics", BasicAuth("alice", "alice-secret-1"));
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "up 1\n");
  EXPECT_EQ(client.Get("/nope", BasicAuth("alice", "alice-secret-1")).result_int(), 404);
  EXPECT_EQ(client.Get("/healthz").result_int(), 200);
  EXPECT_EQ(client.Get("/readyz").result_int(), 200);
  EXPECT_EQ(MetricValue(server->Metrics(), "test_http_auth_failures_total"), 3);
}

TEST(HttpServerAuthTest, ReloadedConfigAppliesToNextRequestAndBadReloadKeepsPrevious) {
  TempDir dir;
  ServerOptions options = TestOptions();
  options.web_config_check_interval = std::chrono::milliseconds(0);
  options.web_config_file =
      dir.Write("web.yml", "basic_auth_users:\n  alice: " + FixtureHash("alice.htpasswd") + "\n", 1600000000);
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/metrics", BasicAuth("alice", "alice-secret-1")).result_int(), 200);

  dir.Write("web.yml", "basic_auth_users:\n  bob: " + FixtureHash("bob.htpasswd") + "\n", 1600000100);
  EXPECT_EQ(client.Get("/metrics", BasicAuth("bob", "bob-secret-2")).result_int(), 200);
  EXPECT_EQ(client.Get("/metrics", BasicAuth("alice", "alice-secret-1")).result_int(), 401);
  EXPECT_EQ(MetricValue(server->Metrics(), "test_web_config_reloads_total", {{"result", "success"}}), 1);

  dir.Write("web.yml", "basic_auth_users: [broken\n", 1600000200);
  EXPECT_EQ(client.Get("/metrics", BasicAuth("bob", "bob-secret-2")).result_int(), 200);
  EXPECT_EQ(client.Get("/metrics", BasicAuth("bob", "bob-secret-2")).result_int(), 200);
  auto metrics = server->Metrics();
  EXPECT_EQ(MetricValue(metrics, "test_web_config_reloads_total", {{"result", "failure"}}), 1);  // once per change
  EXPECT_EQ(MetricValue(metrics, "test_web_config_reloads_total", {{"result", "success"}}), 1);
}

TEST(HttpServerAuthTest, RateLimitAnswers429ButNotOnHealthEndpoints) {
  TempDir dir;
  ServerOptions options = TestOptions();
  options.web_config_file = dir.Write("web.yml", "rate_limit:\n  interval: 1h\n  burst: 1\n");
  auto server = StartServer(options, MetricsRoute());
  ASSERT_NE(server, nullptr);
  PlainClient client(server->ListeningPorts().at(0));
  EXPECT_EQ(client.Get("/metrics").result_int(), 200);
  EXPECT_EQ(client.Get("/metrics").result_int(), 429);
  EXPECT_EQ(client.Get("/healthz").result_int(), 200);
}

}  // namespace
}  // namespace topdog::http
