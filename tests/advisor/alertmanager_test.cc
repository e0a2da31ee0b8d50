#include "advisor/io/alertmanager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

AlertNotification Firing(const std::string& job) {
  AlertNotification alert;
  alert.labels = {{"alertname", "ApiErrors"}, {"job", job}, {"severity", "page"}};
  alert.annotations = {{"summary", job + " fails"}};
  alert.starts_at = 1764263285.123;
  alert.ends_at = 1764263525.123;
  alert.generator_url = "http://advisor:9101/graph?g0.expr=up&g0.tab=1";
  return alert;
}

TEST(AlertsJsonTest, PrometheusShape) {
  const std::vector<AlertNotification> alerts = {Firing("api")};
  EXPECT_EQ(AlertsJson(alerts),
            R"([{"labels":{"alertname":"ApiErrors","job":"api","severity":"page"},)"
            R"("annotations":{"summary":"api fails"},"startsAt":"2025-11-27T17:08:05.123Z",)"
            R"("endsAt":"2025-11-27T17:12:05.123Z","generatorURL":"http://advisor:9101/graph?g0.expr=up&g0.tab=1"}])");
}

TEST(AlertsJsonTest, TimesInUtcWithMilliseconds) {
  EXPECT_EQ(Rfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339Millis(1764263285.9996), "2025-11-27T17:08:06.000Z");
  EXPECT_EQ(Rfc3339Millis(-0.5), "1969-12-31T23:59:59.500Z");
}

TEST(AlertmanagerNotifierTest, BatchesOf64ToEveryAlertmanager) {
  FakeHttpClient http;
  http.Answer("POST http://am-1:9093/api/v2/alerts", 200, "");
  http.Answer("POST http://am-2:9093/prefix/api/v2/alerts", 200, "");
  AlertmanagerNotifier notifier(http, {.urls = {"http://am-1:9093", "http://am-2:9093/prefix"}});
  std::vector<AlertNotification> alerts;
  for (int i = 0; i < 100; ++i) alerts.push_back(Firing("job-" + std::to_string(i)));
  notifier.Enqueue(alerts);
  notifier.Flush();
  ASSERT_EQ(http.requests.size(), 4u);  // 64 + 36, to both
  std::vector<size_t> sizes;
  for (const HttpRequest& request : http.requests) {
    EXPECT_EQ(request.method, "POST");
    const auto body = nlohmann::json::parse(request.body);
    sizes.push_back(body.size());
    bool json = false;
    for (const auto& [name, value] : request.headers)
      json = json || (name == "Content-Type" && value == "application/json");
    EXPECT_TRUE(json);
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{64, 64, 36, 36}));
  const auto stats = notifier.stats();
  EXPECT_EQ(stats.sent.at("http://am-1:9093"), 100u);
  EXPECT_EQ(stats.sent.at("http://am-2:9093/prefix"), 100u);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.queue_length, 0u);
}

TEST(AlertmanagerNotifierTest, OneFailingAlertmanagerIsAnErrorNotADrop) {
  FakeHttpClient http;
  http.Answer("POST http://am-1:9093/", 200, "");
  http.Answer("POST http://am-2:9093/", 400, "{\"code\":400,\"message\":\"at least one label pair required\"}");
  AlertmanagerNotifier notifier(http, {.urls = {"http://am-1:9093", "http://am-2:9093"}});
  notifier.Enqueue({Firing("api")});
  notifier.Flush();
  const auto stats = notifier.stats();
  EXPECT_EQ(stats.sent.at("http://am-1:9093"), 1u);
  EXPECT_EQ(stats.errors.at("http://am-2:9093"), 1u);
  EXPECT_EQ(stats.dropped, 0u);
}

TEST(AlertmanagerNotifierTest, NoAlertmanagerTakingTheBatchDropsIt) {
  FakeHttpClient http;
  http.Answer("POST http://am-1:9093/", Result<HttpResponse>(MakeError(ErrorKind::kUnavailable, "connection refused")));
  AlertmanagerNotifier notifier(http, {.urls = {"http://am-1:9093"}});
  notifier.Enqueue({Firing("a"), Firing("b")});
  notifier.Flush();
  const auto stats = notifier.stats();
  EXPECT_EQ(stats.errors.at("http://am-1:9093"), 2u);
  EXPECT_EQ(stats.dropped, 2u);
  EXPECT_EQ(http.requests.size(), 1u);  // not retried: the rule resends
}

TEST(AlertmanagerNotifierTest, FullQueueDropsTheOldest) {
  FakeHttpClient http;
  http.Answer("POST http://am-1:9093/", 200, "");
  AlertmanagerNotifier notifier(http, {.urls = {"http://am-1:9093"}, .queue_capacity = 3});
  notifier.Enqueue({Firing("1"), Firing("2"), Firing("3"), Firing("4"), Firing("5")});
  EXPECT_EQ(notifier.stats().dropped, 2u);
  EXPECT_EQ(notifier.stats().queue_length, 3u);
  notifier.Flush();
  ASSERT_EQ(http.requests.size(), 1u);
  const auto body = nlohmann::json::parse(http.requests[0].body);
  ASSERT_EQ(body.size(), 3u);
  EXPECT_EQ(body[0]["labels"]["job"], "3");
}

TEST(AlertmanagerNotifierTest, CredentialsFromFilesOnEveryPost) {
  const std::string token_file = ::testing::TempDir() + "am_token_" + std::to_string(::getpid());
  FILE* f = std::fopen(token_file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("s3cret\n", f);
  std::fclose(f);
  FakeHttpClient http;
  http.Answer("POST http://am-1:9093/", 200, "");
  AlertmanagerNotifier notifier(http, {.urls = {"http://am-1:9093"}, .bearer_token_file = token_file});
  notifier.Enqueue({Firing("a")});
  notifier.Flush();
  ASSERT_EQ(http.requests.size(), 1u);
  bool bearer = false;
  for (const auto& [name, value] : http.requests[0].headers)
    bearer = bearer || (name == "Authorization" && value == "Bearer s3cret");
  EXPECT_TRUE(bearer);
  std::remove(token_file.c_str());
  notifier.Enqueue({Firing("b")});
  notifier.Flush();
  EXPECT_EQ(http.requests.size(), 1u);  // the token file went away: nothing sent without credentials
  EXPECT_EQ(notifier.stats().errors.at("http://am-1:9093"), 1u);
}

}  // namespace
}  // namespace topdog::advisor
