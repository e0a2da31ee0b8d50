// Retries, Retry-After, URL encoding and secret files: the parts of the HTTP client that need no socket.
#include "advisor/io/http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

using std::chrono::milliseconds;

struct RecordingSleeper {
  std::vector<milliseconds> waits;
  std::function<void(milliseconds)> Fn() {
    return [this](milliseconds wait) { waits.push_back(wait); };
  }
};

TEST(SendWithRetriesTest, RetriesServerErrorsThenReturnsTheSuccess) {
  FakeHttpClient http;
  http.Answer("GET http://p/q", 503, "starting");  // answered in this order
  http.Answer("GET http://p/q", 200, "ok");
  RecordingSleeper sleeper;
  RetryPolicy policy{3, milliseconds(100), milliseconds(1000)};
  auto answer = SendWithRetries(http, {"GET", "http://p/q", {}, ""}, policy, sleeper.Fn());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(http.requests.size(), 2u);
  ASSERT_EQ(sleeper.waits.size(), 1u);
  // Jittered within [backoff/2, backoff].
  EXPECT_GE(sleeper.waits[0], milliseconds(50));
  EXPECT_LE(sleeper.waits[0], milliseconds(100));
}

TEST(SendWithRetriesTest, HonoursRetryAfterCappedAtTheMaximumBackoff) {
  FakeHttpClient http;
  http.Answer("GET http://p/", 429, "slow down", {{"retry-after", "2"}});
  http.Answer("GET http://p/", 429, "slow down", {{"retry-after", "3600"}});
  http.Answer("GET http://p/", 200, "ok");
  RecordingSleeper sleeper;
  auto answer =
      SendWithRetries(http, {"GET", "http://p/", {}, ""}, {3, milliseconds(100), milliseconds(5000)}, sleeper.Fn());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(sleeper.waits, (std::vector<milliseconds>{milliseconds(2000), milliseconds(5000)}));
}

TEST(SendWithRetriesTest, GivesUpAfterTheAttemptsWithTheLastAnswer) {
  FakeHttpClient http;
  http.Answer("GET http://p/", 500, "broken");
  RecordingSleeper sleeper;
  auto answer =
      SendWithRetries(http, {"GET", "http://p/", {}, ""}, {4, milliseconds(100), milliseconds(250)}, sleeper.Fn());
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 500);
  EXPECT_EQ(http.requests.size(), 4u);
  ASSERT_EQ(sleeper.waits.size(), 3u);
  EXPECT_LE(sleeper.waits[2], milliseconds(250));  // doubled, then capped
  EXPECT_GE(sleeper.waits[2], milliseconds(125));
}

TEST(SendWithRetriesTest, RetriesTransportErrorsButNotRejectionsOrClientErrors) {
  FakeHttpClient http;
  http.Answer("GET http://down/", MakeError(ErrorKind::kUnavailable, "connection refused"));
  http.Answer("GET http://bad/", 400, "bad query");
  http.Answer("GET http://nonsense/", MakeError(ErrorKind::kBadData, "malformed URL"));
  RecordingSleeper sleeper;
  RetryPolicy policy{3, milliseconds(1), milliseconds(1)};
  auto down = SendWithRetries(http, {"GET", "http://down/", {}, ""}, policy, sleeper.Fn());
  ASSERT_FALSE(down.has_value());
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
  EXPECT_EQ(http.requests.size(), 3u);
  auto bad = SendWithRetries(http, {"GET", "http://bad/", {}, ""}, policy, sleeper.Fn());
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->status, 400);
  auto nonsense = SendWithRetries(http, {"GET", "http://nonsense/", {}, ""}, policy, sleeper.Fn());
  ASSERT_FALSE(nonsense.has_value());
  EXPECT_EQ(http.requests.size(), 5u);  // one each for the last two
}

TEST(RetryAfterTest, ReadsSecondsAndIgnoresDatesAndGarbage) {
  HttpResponse response{429, {{"retry-after", "7"}}, ""};
  EXPECT_EQ(RetryAfter(response, milliseconds(60000)), milliseconds(7000));
  response.headers = {{"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"}};
  EXPECT_EQ(RetryAfter(response, milliseconds(60000)), std::nullopt);
  response.headers = {{"retry-after", "-3"}};
  EXPECT_EQ(RetryAfter(response, milliseconds(60000)), std::nullopt);
  response.headers = {};
  EXPECT_EQ(RetryAfter(response, milliseconds(60000)), std::nullopt);
  EXPECT_TRUE(IsRetryableStatus(429));
  EXPECT_TRUE(IsRetryableStatus(503));
  EXPECT_FALSE(IsRetryableStatus(501));
  EXPECT_FALSE(IsRetryableStatus(404));
}

TEST(UrlEncodeTest, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(UrlEncode("sum(rate(x{a=\"b c\"}[5m]))"), "sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29");
  EXPECT_EQ(UrlEncode("A-z_0.9~"), "A-z_0.9~");
  EXPECT_EQ(UrlEncode("\xc3\xa9"), "%C3%A9");
}

class SecretFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("secret_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }
  std::filesystem::path path_;
};

TEST_F(SecretFileTest, TrimsTrailingWhitespaceAndRereadsWhenTheFileChanges) {
  Write("first-token\n");
  SecretFile secret(path_.string());
  ASSERT_EQ(secret.Read().value(), "first-token");
  Write("second-token-longer\n");  // a different size: seen even within the same mtime tick
  EXPECT_EQ(secret.Read().value(), "second-token-longer");
}

TEST_F(SecretFileTest, MissingAndEmptyFilesAreErrorsThatDoNotCarryTheSecret) {
  SecretFile missing(path_.string());
  auto absent = missing.Read();
  ASSERT_FALSE(absent.has_value());
  EXPECT_EQ(absent.error().kind, ErrorKind::kRejected);  // not "no data": we cannot authenticate
  Write(" \n");
  auto empty = missing.Read();
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().kind, ErrorKind::kBadData);
}

}  // namespace
}  // namespace topdog::advisor

namespace topdog::advisor {
namespace {

TEST(Base64EncodeTest, Rfc4648TestVectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("\xff\xfe"), "//4=");
}

TEST(AuthHeaderTest, BearerOrBasicOrNothingButNotBoth) {
  EXPECT_EQ(AuthHeader("", "", "").Value().value(), "");
  // RFC 7617's example: Aladdin / open sesame, the user alone with no password file gives an empty password.
  EXPECT_EQ(AuthHeader("", "Aladdin", "").Value().value(), "Basic " + Base64Encode("Aladdin:"));
  auto both = AuthHeader("/some/token", "user", "").Value();
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().kind, ErrorKind::kRejected);
}

}  // namespace
}  // namespace topdog::advisor
