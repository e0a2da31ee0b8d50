// BeastHttpGetter against loopback servers: the Python echo fake (tests/fakes/fake_echo.py: what goes on the
// wire, statuses, redirects, faults, TLS with the test CA) and raw sockets answering what no well-behaved server
// would (garbage, a body delimited by the end of the connection, chunked, truncated, silence).
#include "exporter/io/http_getter.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/fakes/fake_server_process.h"

namespace topdog::exporter {
namespace {

using advisor::FakeServerProcess;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::string kFakes = std::string(TOPDOG_SOURCE_DIR) + "/tests/fakes/";
const std::string kTls = std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/web/";

std::unique_ptr<BeastHttpGetter> Getter(HttpGetterOptions options = {}) {
  auto getter = BeastHttpGetter::Create(std::move(options));
  EXPECT_TRUE(getter) << getter.error().message;
  return std::move(*getter);
}

// Accepts connections on 127.0.0.1:0 one at a time; for each, reads the request head and writes `answer`
// (then closes, unless `hold` keeps the connection open and silent until the server is destroyed).
class RawServer {
 public:
  explicit RawServer(std::string answer, bool hold = false) : answer_(std::move(answer)), hold_(hold) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(fd_, 8);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~RawServer() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string Url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  void Serve() {
    while (!stopping_) {
      int client = accept(fd_, nullptr, nullptr);
      if (client < 0) return;
      std::string request;
      char buffer[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(client, buffer, sizeof buffer);
        if (n <= 0) break;
        request.append(buffer, static_cast<size_t>(n));
      }
      if (!answer_.empty()) (void)!write(client, answer_.data(), answer_.size());
      if (hold_) {
        while (!stopping_ && read(client, buffer, sizeof buffer) > 0) {
        }
      }
      close(client);
    }
  }

  std::string answer_;
  bool hold_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

TEST(BeastHttpGetterTest, SendsAPlainGetAndReadsTheAnswer) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  HttpGetterOptions options;
  options.accept = "text/plain;version=0.0.4";
  auto answer = Getter(options)->Get(fake.Url() + "/stub_status?x=1#fragment");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->content_type, "application/json");
  auto echo = nlohmann::json::parse(answer->body);
  EXPECT_EQ(echo["method"], "GET");
  EXPECT_EQ(echo["path"], "/stub_status");
  EXPECT_EQ(echo["query"]["x"][0], "1");
  EXPECT_EQ(echo["headers"]["host"], "127.0.0.1:" + std::to_string(fake.port()));
  EXPECT_EQ(echo["headers"]["user-agent"], "topdog-exporter");
  EXPECT_EQ(echo["headers"]["accept"], "text/plain;version=0.0.4");
  EXPECT_EQ(echo["headers"]["connection"], "close");
  EXPECT_FALSE(echo["headers"].contains("authorization"));
  EXPECT_FALSE(echo["headers"].contains("accept-encoding"));  // identity bodies only
}

TEST(BeastHttpGetterTest, ResolvesHostNames) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  auto answer = Getter()->Get("http://localhost:" + std::to_string(fake.port()) + "/by-name");
  // localhost may resolve to ::1 first; the fake listens on 127.0.0.1 only and the getter tries each address.
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(nlohmann::json::parse(answer->body)["path"], "/by-name");
  auto unknown = Getter()->Get("http://no-such-host.invalid/");
  ASSERT_FALSE(unknown);
  // NXDOMAIN at once, or the deadline where no resolver answers at all.
  EXPECT_TRUE(unknown.error().kind == ErrorKind::kUnavailable || unknown.error().kind == ErrorKind::kDeadlineExceeded);
  EXPECT_THAT(unknown.error().message, HasSubstr("resolving no-such-host.invalid"));
}

// The fake's faults are posted with curl: the getter only GETs.
void PostFaults(const FakeServerProcess& fake, const std::string& faults) {
  ASSERT_EQ(
      std::system(("curl -sf -X POST --data '" + faults + "' " + fake.Url() + "/_fake/faults >/dev/null").c_str()), 0);
}

TEST(BeastHttpGetterTest, ErrorStatusesAreAnswers) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  PostFaults(fake, R"([{"path": "^/down$", "status": 502, "body": "<html>502 Bad Gateway</html>",
                        "headers": {"Content-Type": "text/html"}, "times": -1}])");
  auto answer = Getter()->Get(fake.Url() + "/down");
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->status, 502);
  EXPECT_EQ(answer->content_type, "text/html");
  EXPECT_EQ(answer->body, "<html>502 Bad Gateway</html>");
}

TEST(BeastHttpGetterTest, FollowsRedirectsAndKeepsCredentialsOnTheSamePeer) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  std::string other = "http://localhost:" + std::to_string(fake.port());
  PostFaults(fake, R"([{"path": "^/metrics$", "status": 307, "headers": {"Location": "/metrics/"}, "times": -1},
                      {"path": "^/away$", "status": 302, "headers": {"Location": ")" +
                       other + R"(/there"}, "times": -1},
                      {"path": "^/loop$", "status": 301, "headers": {"Location": "loop"}, "times": -1}])");
  std::string token_file = ::testing::TempDir() + "/getter_token";
  std::ofstream(token_file) << "s3cret\n";
  HttpGetterOptions options;
  options.bearer_token_file = token_file;
  auto getter = Getter(options);
  auto followed = getter->Get(fake.Url() + "/metrics");
  ASSERT_TRUE(followed) << followed.error().message;
  EXPECT_EQ(followed->status, 200);
  auto echo = nlohmann::json::parse(followed->body);
  EXPECT_EQ(echo["path"], "/metrics/");
  EXPECT_EQ(echo["headers"]["authorization"], "Bearer s3cret");

  auto away = getter->Get(fake.Url() + "/away");
  ASSERT_TRUE(away) << away.error().message;
  auto away_echo = nlohmann::json::parse(away->body);
  EXPECT_EQ(away_echo["path"], "/there");
  EXPECT_FALSE(away_echo["headers"].contains("authorization"));  // another host: no credentials

  auto loop = getter->Get(fake.Url() + "/loop");
  ASSERT_FALSE(loop);
  EXPECT_EQ(loop.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(loop.error().message, HasSubstr("more than 5 redirects"));
}

TEST(BeastHttpGetterTest, BasicAuthFromAFileReReadOnEveryGet) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  std::string password_file = ::testing::TempDir() + "/getter_password";
  std::ofstream(password_file) << "first";
  HttpGetterOptions options;
  options.basic_auth_username = "scraper";
  options.basic_auth_password_file = password_file;
  auto getter = Getter(options);
  auto first = getter->Get(fake.Url() + "/a");
  ASSERT_TRUE(first);
  EXPECT_EQ(nlohmann::json::parse(first->body)["headers"]["authorization"], "Basic c2NyYXBlcjpmaXJzdA==");
  std::ofstream(password_file, std::ios::trunc) << "second\n";
  auto second = getter->Get(fake.Url() + "/a");
  ASSERT_TRUE(second);
  EXPECT_EQ(nlohmann::json::parse(second->body)["headers"]["authorization"], "Basic c2NyYXBlcjpzZWNvbmQ=");
  std::remove(password_file.c_str());
  auto gone = getter->Get(fake.Url() + "/a");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kRejected);
  EXPECT_THAT(gone.error().message, HasSubstr("cannot read the basic-auth password file"));
}

TEST(BeastHttpGetterTest, ASlowPeerIsADeadlineAndAClosedPortIsUnavailable) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  PostFaults(fake, R"([{"path": "^/slow$", "delay": 3, "times": -1}])");
  HttpGetterOptions options;
  options.timeout = milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto slow = Getter(options)->Get(fake.Url() + "/slow");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_THAT(slow.error().message, HasSubstr("no answer within 300ms (reading the response)"));
  EXPECT_LT(took, milliseconds(2000));

  // A peer that accepts and never answers.
  RawServer silent("", /*hold=*/true);
  auto silence = Getter(options)->Get(silent.Url());
  ASSERT_FALSE(silence);
  EXPECT_EQ(silence.error().kind, ErrorKind::kDeadlineExceeded);

  int port = fake.port();
  fake.Stop();
  auto refused = Getter()->Get("http://127.0.0.1:" + std::to_string(port) + "/stub_status");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(refused.error().message,
              HasSubstr("GET http://127.0.0.1:" + std::to_string(port) + "/stub_status: connect: Connection refused"));
}

TEST(BeastHttpGetterTest, BodyLimitAndConnectionsClosedEarly) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  HttpGetterOptions options;
  options.max_body_bytes = 1000;
  auto getter = Getter(options);
  EXPECT_TRUE(getter->Get(fake.Url() + "/big/1000"));
  auto big = getter->Get(fake.Url() + "/big/1001");
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(big.error().message, HasSubstr("the body is over the limit of 1000 bytes"));

  PostFaults(fake, R"([{"path": "^/drop$", "close": true, "times": -1}])");
  auto dropped = getter->Get(fake.Url() + "/drop");
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(dropped.error().message, HasSubstr("closed before a whole response"));

  // Bodies without a Content-Length: up to the end of the connection, and chunked.
  RawServer until_close("HTTP/1.0 200 OK\r\n\r\n" + std::string(1500, 'x'));
  auto eof = getter->Get(until_close.Url());
  ASSERT_FALSE(eof);
  EXPECT_THAT(eof.error().message, HasSubstr("the body is over the limit of 1000 bytes"));
  RawServer chunked("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + std::string(1000, 'x') +
                    "\r\n1\r\ny\r\n0\r\n\r\n");
  auto chunks = getter->Get(chunked.Url());
  ASSERT_FALSE(chunks);
  EXPECT_THAT(chunks.error().message, HasSubstr("the body is over the limit of 1000 bytes"));

  RawServer truncated("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
  auto cut = getter->Get(truncated.Url());
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().kind, ErrorKind::kUnavailable);
}

TEST(BeastHttpGetterTest, GarbageIsBadDataAndOddButValidFramingIsRead) {
  RawServer ssh("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  auto garbage = Getter()->Get(ssh.Url());
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(garbage.error().message, HasSubstr("not an HTTP response"));
  EXPECT_THAT(garbage.error().message, HasSubstr("SSH-2.0-OpenSSH"));

  RawServer until_close("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nActive connections: 1 \n");
  auto eof = Getter()->Get(until_close.Url());
  ASSERT_TRUE(eof) << eof.error().message;
  EXPECT_EQ(eof->body, "Active connections: 1 \n");

  RawServer chunked("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto chunks = Getter()->Get(chunked.Url());
  ASSERT_TRUE(chunks) << chunks.error().message;
  EXPECT_EQ(chunks->body, "hello world");
}

TEST(BeastHttpGetterTest, HttpsVerifiesWithTheGivenCaOrNotAtAllWhenAsked) {
  FakeServerProcess fake(kFakes + "fake_echo.py",
                         {"--tls-cert", kTls + "server.crt", "--tls-key", kTls + "server.key"});
  HttpGetterOptions trusted;
  trusted.ca_file = kTls + "ca.crt";
  auto ok = Getter(trusted)->Get(fake.Url("https") + "/tls");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(nlohmann::json::parse(ok->body)["path"], "/tls");
  auto by_name = Getter(trusted)->Get("https://localhost:" + std::to_string(fake.port()) + "/tls");
  ASSERT_TRUE(by_name) << by_name.error().message;

  auto unknown = Getter()->Get(fake.Url("https") + "/tls");  // the system's CAs do not know the test CA
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(unknown.error().message, HasSubstr("TLS handshake: certificate verification failed"));

  HttpGetterOptions insecure;
  insecure.insecure_skip_verify = true;
  EXPECT_TRUE(Getter(insecure)->Get(fake.Url("https") + "/tls"));

  // Plain HTTP to a TLS port: the server's TLS alert is not HTTP.
  auto plain = Getter()->Get(fake.Url("http") + "/tls");
  EXPECT_FALSE(plain);
}

TEST(BeastHttpGetterTest, CreateChecksItsOptions) {
  HttpGetterOptions missing_ca;
  missing_ca.ca_file = "/nonexistent/ca.crt";
  auto ca = BeastHttpGetter::Create(missing_ca);
  ASSERT_FALSE(ca);
  EXPECT_THAT(ca.error().message, HasSubstr("cannot read the CA file /nonexistent/ca.crt"));
  HttpGetterOptions both;
  both.bearer_token_file = kTls + "ca.crt";
  both.basic_auth_username = "u";
  EXPECT_FALSE(BeastHttpGetter::Create(both));
  HttpGetterOptions missing_token;
  missing_token.bearer_token_file = "/nonexistent/token";
  EXPECT_FALSE(BeastHttpGetter::Create(missing_token));
}

}  // namespace
}  // namespace topdog::exporter
