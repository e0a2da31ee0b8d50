// CurlHttpClient against a loopback server (tests/fakes/fake_echo.py): what goes on the wire, status and
// headers, timeouts, refused connections, the body limit, and TLS with the test CA.
#include "advisor/io/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/fakes/fake_server_process.h"

namespace topdog::advisor {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

const std::string kFakes = std::string(TOPDOG_SOURCE_DIR) + "/tests/fakes/";
const std::string kTls = std::string(TOPDOG_SOURCE_DIR) + "/tests/fixtures/web/";

std::unique_ptr<CurlHttpClient> Client(HttpClientOptions options = {}) {
  auto client = CurlHttpClient::Create(std::move(options));
  EXPECT_TRUE(client.has_value()) << client.error().message;
  return std::move(*client);
}

TEST(CurlHttpClientTest, SendsMethodHeadersAndBodyAndReadsTheAnswer) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  auto client = Client();
  auto answer = client->Send({"PATCH",
                              fake.Url() + "/apis/x?dryRun=All&fieldManager=topdog-advisor",
                              {{"Content-Type", "application/merge-patch+json"}, {"Authorization", "Bearer t0k"}},
                              R"({"spec":{"minReplicas":3}})"});
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->Header("x-echo"), "yes");
  auto echo = nlohmann::json::parse(answer->body);
  EXPECT_EQ(echo["method"], "PATCH");
  EXPECT_EQ(echo["path"], "/apis/x");
  EXPECT_EQ(echo["query"]["dryRun"][0], "All");
  EXPECT_EQ(echo["headers"]["content-type"], "application/merge-patch+json");
  EXPECT_EQ(echo["headers"]["authorization"], "Bearer t0k");
  EXPECT_EQ(echo["headers"]["user-agent"], "topdog-advisor");
  EXPECT_FALSE(echo["headers"].contains("expect"));
  EXPECT_EQ(echo["body"], R"({"spec":{"minReplicas":3}})");

  // The same handle, reused: nothing of the PATCH (method, body) leaks into a GET.
  auto get = client->Send({"GET", fake.Url() + "/again", {}, ""});
  ASSERT_TRUE(get.has_value());
  auto second = nlohmann::json::parse(get->body);
  EXPECT_EQ(second["method"], "GET");
  EXPECT_EQ(second["body"], "");
  EXPECT_FALSE(second["headers"].contains("authorization"));
}

TEST(CurlHttpClientTest, ErrorStatusesAreAnswersNotErrors) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  auto client = Client();
  auto fault = client->Send({"POST",
                             fake.Url() + "/_fake/faults",
                             {},
                             R"([{"path": "^/gone$", "status": 404, "body": "nope", "times": -1}])"});
  ASSERT_TRUE(fault.has_value());
  auto answer = client->Send({"GET", fake.Url() + "/gone", {}, ""});
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 404);
  EXPECT_EQ(answer->body, "nope");
}

TEST(CurlHttpClientTest, ASlowServerIsADeadlineAndAClosedPortIsUnavailable) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  HttpClientOptions options;
  options.timeout = milliseconds(300);
  auto client = Client(options);
  ASSERT_TRUE(client->Send({"POST", fake.Url() + "/_fake/faults", {}, R"([{"path": "^/slow$", "delay": 3}])"}));
  auto slow = client->Send({"GET", fake.Url() + "/slow", {}, ""});
  ASSERT_FALSE(slow.has_value());
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_THAT(slow.error().message, HasSubstr("GET http://127.0.0.1:"));

  const std::string url = fake.Url() + "/after";
  fake.Stop();
  auto refused = client->Send({"GET", url, {}, ""});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnavailable);
}

TEST(CurlHttpClientTest, AConnectionClosedWithoutAnAnswerIsUnavailable) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  auto client = Client();
  // Every time: libcurl itself re-sends once when a reused keep-alive connection closes before any answer.
  ASSERT_TRUE(
      client->Send({"POST", fake.Url() + "/_fake/faults", {}, R"([{"path": "^/drop$", "close": true, "times": -1}])"}));
  auto dropped = client->Send({"GET", fake.Url() + "/drop", {}, ""});
  ASSERT_FALSE(dropped.has_value());
  EXPECT_EQ(dropped.error().kind, ErrorKind::kUnavailable);
}

TEST(CurlHttpClientTest, AnAnswerOverTheBodyLimitIsRefused) {
  FakeServerProcess fake(kFakes + "fake_echo.py");
  HttpClientOptions options;
  options.max_body_bytes = 1000;
  auto client = Client(options);
  auto fits = client->Send({"GET", fake.Url() + "/big/1000", {}, ""});
  ASSERT_TRUE(fits.has_value());
  EXPECT_EQ(fits->body.size(), 1000u);
  auto too_big = client->Send({"GET", fake.Url() + "/big/1001", {}, ""});
  ASSERT_FALSE(too_big.has_value());
  EXPECT_EQ(too_big.error().kind, ErrorKind::kBadData);
  EXPECT_THAT(too_big.error().message, HasSubstr("larger than 1000 bytes"));
}

TEST(CurlHttpClientTest, VerifiesTheServerWithTheGivenCaAndRefusesAnUnknownOne) {
  FakeServerProcess fake(kFakes + "fake_echo.py",
                         {"--tls-cert", kTls + "server.crt", "--tls-key", kTls + "server.key"});
  HttpClientOptions trusted;
  trusted.tls.ca_file = kTls + "ca.crt";
  auto ok = Client(trusted)->Send({"GET", fake.Url("https") + "/tls", {}, ""});
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(ok->status, 200);

  // The CA as PEM data (kubeconfig's certificate-authority-data) works the same.
  std::ifstream ca(kTls + "ca.crt");
  HttpClientOptions inline_ca;
  inline_ca.tls.ca_pem.assign(std::istreambuf_iterator<char>(ca), std::istreambuf_iterator<char>());
  auto ok_inline = Client(inline_ca)->Send({"GET", fake.Url("https") + "/tls", {}, ""});
  ASSERT_TRUE(ok_inline.has_value()) << ok_inline.error().message;

  // The system's CAs do not know the test CA.
  auto unknown = Client()->Send({"GET", fake.Url("https") + "/tls", {}, ""});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kUnavailable);

  HttpClientOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  EXPECT_TRUE(Client(insecure)->Send({"GET", fake.Url("https") + "/tls", {}, ""}).has_value());
}

TEST(CurlHttpClientTest, CreateRefusesMissingTlsFilesAndACertificateWithoutKey) {
  HttpClientOptions missing;
  missing.tls.ca_file = "/nonexistent/ca.crt";
  auto a = CurlHttpClient::Create(missing);
  ASSERT_FALSE(a.has_value());
  EXPECT_EQ(a.error().kind, ErrorKind::kNotFound);
  HttpClientOptions half;
  half.tls.cert_file = kTls + "client.crt";
  auto b = CurlHttpClient::Create(half);
  ASSERT_FALSE(b.has_value());
  EXPECT_EQ(b.error().kind, ErrorKind::kBadData);
}

}  // namespace
}  // namespace topdog::advisor

namespace topdog::advisor {
namespace {

TEST(CurlHttpClientTest, AServerNameVerifiesTheCertificateAgainstThatNameWhileConnectingToTheAddress) {
  // The test certificate names 127.0.0.1 and localhost: reached as 127.0.0.1 it verifies as "localhost".
  FakeServerProcess fake(kFakes + "fake_echo.py",
                         {"--tls-cert", kTls + "server.crt", "--tls-key", kTls + "server.key"});
  HttpClientOptions named;
  named.tls.ca_file = kTls + "ca.crt";
  named.tls.server_name = "localhost";
  auto ok = Client(named)->Send({"GET", fake.Url("https") + "/named", {}, ""});
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ(nlohmann::json::parse(ok->body)["headers"]["host"], "localhost:" + std::to_string(fake.port()));

  HttpClientOptions wrong = named;
  wrong.tls.server_name = "kubernetes.default.svc";  // not in the certificate
  auto refused = Client(wrong)->Send({"GET", fake.Url("https") + "/named", {}, ""});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnavailable);
}

}  // namespace
}  // namespace topdog::advisor
