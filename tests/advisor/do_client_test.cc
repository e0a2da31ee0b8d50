#include "advisor/io/do_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;

constexpr double kNow = 1700000000;  // 2023-11-14T22:13:20Z
constexpr char kBase[] = "https://api.example.test";
constexpr char kPoolUrl[] = "https://api.example.test/v2/kubernetes/clusters/c-1/node_pools/p-1";

// Shaped like the API's own example answer (digitalocean/openapi models/node_pool.yml), nodes included.
constexpr char kPoolBody[] = R"({"node_pool":{
  "id":"p-1","name":"web-pool","size":"s-2vcpu-4gb","count":3,
  "tags":["k8s","k8s:c-1","k8s:worker","web"],
  "labels":{"tier":"web","team":"a"},
  "taints":[{"key":"dedicated","value":"web","effect":"NoSchedule"}],
  "auto_scale":true,"min_nodes":2,"max_nodes":6,
  "nodes":[{"id":"n-1","name":"web-pool-1","status":{"state":"running"},"droplet_id":"1"}]}})";

std::string PoolBody(int count, int min_nodes, int max_nodes) {
  json body = json::parse(kPoolBody);
  body["node_pool"]["count"] = count;
  body["node_pool"]["min_nodes"] = min_nodes;
  body["node_pool"]["max_nodes"] = max_nodes;
  return body.dump();
}

class DoClientTest : public ::testing::Test {
 protected:
  // One file per test and process: ctest may run the tests in parallel.
  DoClientTest()
      : token_path_(::testing::TempDir() + "do_client_test_token_" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" + std::to_string(getpid())),
        token_(token_path_) {
    WriteToken("dop_v1_secret");
  }
  ~DoClientTest() override { std::remove(token_path_.c_str()); }

  void WriteToken(const std::string& text) { std::ofstream(token_path_, std::ios::trunc) << text << "\n"; }
  // Rate-limit headers as the API sends them on every answer.
  static std::vector<std::pair<std::string, std::string>> Budget(int remaining, double reset) {
    return {{"ratelimit-limit", "250"},
            {"ratelimit-remaining", std::to_string(remaining)},
            {"ratelimit-reset", std::to_string(static_cast<long long>(reset))}};
  }
  NodePool Current() {
    auto pool = ParseNodePoolAnswer(kPoolBody);
    EXPECT_TRUE(pool) << pool.error().message;
    return *pool;
  }

  std::string token_path_;
  SecretFile token_;
  FakeHttpClient http_;
  double now_ = kNow;
  DoClient client_{http_, token_, std::string(kBase) + "/", [this] { return now_; }};
};

TEST_F(DoClientTest, GetSendsBearerTokenAndParsesThePool) {
  http_.Answer(std::string("GET ") + kPoolUrl, 200, kPoolBody, Budget(249, kNow + 60));
  auto pool = client_.GetNodePool("c-1", "p-1");
  ASSERT_TRUE(pool) << pool.error().message;
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(http_.requests[0].method, "GET");
  EXPECT_EQ(http_.requests[0].url, kPoolUrl);
  EXPECT_EQ(http_.requests[0].headers,
            (std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer dop_v1_secret"}}));
  EXPECT_EQ(http_.requests[0].body, "");
  EXPECT_EQ(pool->id, "p-1");
  EXPECT_EQ(pool->name, "web-pool");
  EXPECT_EQ(pool->count, 3);
  EXPECT_TRUE(pool->auto_scale);
  EXPECT_EQ(pool->min_nodes, 2);
  EXPECT_EQ(pool->max_nodes, 6);
  EXPECT_EQ(json::parse(pool->tags_json), json::parse(R"(["k8s","k8s:c-1","k8s:worker","web"])"));
  EXPECT_EQ(json::parse(pool->labels_json), json::parse(R"({"tier":"web","team":"a"})"));
  EXPECT_EQ(json::parse(pool->taints_json),
            json::parse(R"([{"key":"dedicated","value":"web","effect":"NoSchedule"}])"));
  EXPECT_EQ(client_.RateLimit().remaining, 249);
  EXPECT_EQ(client_.RateLimit().limit, 250);
  EXPECT_EQ(client_.RateLimit().reset_epoch_seconds, kNow + 60);
}

TEST_F(DoClientTest, IdsAreEscapedInThePath) {
  http_.Answer("GET ", 404, R"({"id":"not_found","message":"The resource you were accessing could not be found."})");
  auto pool = client_.GetNodePool("c 1/x", "p?1");
  ASSERT_FALSE(pool);
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(http_.requests[0].url, std::string(kBase) + "/v2/kubernetes/clusters/c%201%2Fx/node_pools/p%3F1");
}

TEST(ParseNodePoolAnswerTest, AbsentFieldsStayAbsentAndNullsAreKept) {
  auto pool = ParseNodePoolAnswer(R"({"node_pool":{"id":"p","name":"fixed","count":2,"labels":null}})");
  ASSERT_TRUE(pool) << pool.error().message;
  EXPECT_FALSE(pool->auto_scale);
  EXPECT_EQ(pool->min_nodes, 0);
  EXPECT_EQ(pool->max_nodes, 0);
  EXPECT_EQ(pool->tags_json, "");
  EXPECT_EQ(pool->labels_json, "null");
  EXPECT_EQ(pool->taints_json, "");
}

TEST(ParseNodePoolAnswerTest, AnythingButANodePoolIsBadData) {
  for (const char* body : {
           "<html>502</html>",
           R"({"node_pools":[]})",
           R"({"node_pool":{"id":"p","name":"n"}})",              // no count
           R"({"node_pool":{"id":"p","name":"n","count":"3"}})",  // count not a number
           R"({"node_pool":{"id":"p","name":"n","count":2.5}})",  // nor a fraction
           R"({"node_pool":{"id":"p","name":"n","count":-1}})",
           R"({"node_pool":{"name":"n","count":1}})",  // no id
           R"({"node_pool":{"id":"p","count":1}})",    // no name
           R"({"node_pool":{"id":"p","name":"n","count":1,"auto_scale":"yes"}})",
           R"({"node_pool":{"id":"p","name":"n","count":1,"tags":{"a":1}}})",
           R"({"node_pool":{"id":"p","name":"n","count":1,"labels":[]}})",
           R"({"node_pool":{"id":"p","name":"n","count":1,"max_nodes":1e12}})",
       }) {
    auto pool = ParseNodePoolAnswer(body);
    ASSERT_FALSE(pool) << body;
    EXPECT_EQ(pool.error().kind, ErrorKind::kBadData) << body;
  }
}

TEST_F(DoClientTest, SetBoundsPutsTheBoundsKeepingCountAndEchoingTagsLabelsTaints) {
  http_.Answer(std::string("PUT ") + kPoolUrl, 202, PoolBody(3, 1, 10), Budget(248, kNow + 60));
  auto updated = client_.SetBounds("c-1", Current(), 1, 10);
  ASSERT_TRUE(updated) << updated.error().message;
  ASSERT_EQ(http_.requests.size(), 1u);
  const HttpRequest& put = http_.requests[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, kPoolUrl);
  EXPECT_EQ(put.headers, (std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer dop_v1_secret"},
                                                                           {"Content-Type", "application/json"}}));
  EXPECT_EQ(json::parse(put.body), json::parse(R"({
      "name":"web-pool","count":3,"auto_scale":true,"min_nodes":1,"max_nodes":10,
      "tags":["k8s","k8s:c-1","k8s:worker","web"],
      "labels":{"tier":"web","team":"a"},
      "taints":[{"key":"dedicated","value":"web","effect":"NoSchedule"}]})"));
  EXPECT_EQ(updated->min_nodes, 1);
  EXPECT_EQ(updated->max_nodes, 10);
}

TEST_F(DoClientTest, SetBoundsClampsTheCurrentCountIntoTheNewBounds) {
  http_.Answer(std::string("PUT ") + kPoolUrl, 200, kPoolBody);
  NodePool pool = Current();
  pool.count = 1;
  ASSERT_TRUE(client_.SetBounds("c-1", pool, 2, 5));
  pool.count = 9;
  ASSERT_TRUE(client_.SetBounds("c-1", pool, 2, 5));
  pool.count = 4;
  ASSERT_TRUE(client_.SetBounds("c-1", pool, 2, 5));
  pool.count = 0;
  ASSERT_TRUE(client_.SetBounds("c-1", pool, 0, 5));  // scale to zero allowed
  ASSERT_EQ(http_.requests.size(), 4u);
  EXPECT_EQ(json::parse(http_.requests[0].body)["count"], 2);
  EXPECT_EQ(json::parse(http_.requests[1].body)["count"], 5);
  EXPECT_EQ(json::parse(http_.requests[2].body)["count"], 4);
  EXPECT_EQ(json::parse(http_.requests[3].body)["count"], 0);
  EXPECT_EQ(json::parse(http_.requests[3].body)["min_nodes"], 0);
}

TEST_F(DoClientTest, SetBoundsOmitsTagsLabelsTaintsThePoolDidNotHave) {
  http_.Answer(std::string("PUT ") + kPoolUrl, 202, kPoolBody);
  auto bare = ParseNodePoolAnswer(R"({"node_pool":{"id":"p-1","name":"bare","count":1,"labels":null}})");
  ASSERT_TRUE(bare);
  ASSERT_TRUE(client_.SetBounds("c-1", *bare, 1, 3));
  ASSERT_EQ(http_.requests.size(), 1u);
  EXPECT_EQ(json::parse(http_.requests[0].body),
            json::parse(R"({"name":"bare","count":1,"auto_scale":true,"min_nodes":1,"max_nodes":3,"labels":null})"));
}

TEST_F(DoClientTest, SetBoundsRefusesBadBoundsWithoutSending) {
  const std::pair<int, int> bad[] = {{-1, 3}, {4, 3}, {0, 0}};
  for (auto [min_nodes, max_nodes] : bad) {
    auto result = client_.SetBounds("c-1", Current(), min_nodes, max_nodes);
    ASSERT_FALSE(result) << min_nodes << ".." << max_nodes;
    EXPECT_EQ(result.error().kind, ErrorKind::kRejected);
  }
  NodePool nameless = Current();
  nameless.name = "";
  EXPECT_FALSE(client_.SetBounds("c-1", nameless, 1, 3));
  NodePool bad_tags = Current();
  bad_tags.tags_json = "[\"web\"";
  EXPECT_FALSE(client_.SetBounds("c-1", bad_tags, 1, 3));
  EXPECT_TRUE(http_.requests.empty());
}

TEST_F(DoClientTest, GetDoesNotAcceptA202) {
  http_.Answer("GET ", 202, kPoolBody);
  EXPECT_FALSE(client_.GetNodePool("c-1", "p-1"));
}

struct StatusCase {
  int status;
  std::string body;
  ErrorKind kind;
  std::string message_part;
};

TEST_F(DoClientTest, StatusesMapToErrorKindsWithTheApiMessage) {
  const StatusCase cases[] = {
      {401, R"({"id":"unauthorized","message":"Unable to authenticate you"})", ErrorKind::kRejected,
       ": 401 unauthorized: Unable to authenticate you"},
      {403, R"({"id":"forbidden","message":"You do not have access for the attempted action."})", ErrorKind::kRejected,
       ": 403 forbidden: You do not have access"},
      {404, R"({"id":"not_found","message":"The resource you were accessing could not be found."})",
       ErrorKind::kNotFound, ": 404 not_found: The resource"},
      {409, R"({"id":"conflict","message":"node pool is being updated"})", ErrorKind::kConflict, ": 409 conflict"},
      {422, R"({"id":"unprocessable_entity","message":"max_nodes must be at most 25"})", ErrorKind::kRejected,
       ": 422 unprocessable_entity: max_nodes must be at most 25"},
      {400, R"({"id":"bad_request","message":"invalid JSON"})", ErrorKind::kRejected, ": 400 bad_request"},
      {429, R"({"id":"too_many_requests","message":"API Rate limit exceeded."})", ErrorKind::kRateLimited,
       ": 429 too_many_requests: API Rate limit exceeded.; no request before 2023-11-14T22:14:20Z (in 60 s)"},
      {500, R"({"id":"server_error","message":"Unexpected server-side error"})", ErrorKind::kUnavailable,
       ": 500 server_error"},
      {502, "<html>\n<h1>502 Bad Gateway</h1></html>", ErrorKind::kUnavailable, ": 502 <html> <h1>502 Bad Gateway"},
      {503, "", ErrorKind::kUnavailable, ": 503 (empty body)"},
      {302, "", ErrorKind::kBadData, ": 302"},
  };
  for (const StatusCase& c : cases) {
    FakeHttpClient http;
    DoClient client(http, token_, kBase, [this] { return now_; });
    http.Answer("PUT ", c.status, c.body);
    auto result = client.SetBounds("c-1", Current(), 1, 4);
    ASSERT_FALSE(result) << c.status;
    EXPECT_EQ(result.error().kind, c.kind) << c.status << " " << result.error().message;
    EXPECT_NE(
        result.error().message.find("DigitalOcean PUT /v2/kubernetes/clusters/c-1/node_pools/p-1" + c.message_part),
        std::string::npos)
        << result.error().message;
    EXPECT_EQ(result.error().message.find("dop_v1_secret"), std::string::npos);
  }
}

TEST_F(DoClientTest, TransportErrorsKeepTheirKind) {
  http_.Answer("GET ", MakeError(ErrorKind::kDeadlineExceeded, "timed out after 300 ms"));
  auto slow = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded);
  EXPECT_EQ(slow.error().message,
            "DigitalOcean GET /v2/kubernetes/clusters/c-1/node_pools/p-1: timed out after 300 ms");

  FakeHttpClient http;
  DoClient client(http, token_, kBase, [this] { return now_; });
  http.Answer("GET ", MakeError(ErrorKind::kUnavailable, "connection refused"));
  auto down = client.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().kind, ErrorKind::kUnavailable);
}

TEST_F(DoClientTest, TheTokenNeverAppearsInAnError) {
  http_.Answer("GET ", 401, R"({"id":"unauthorized","message":"token dop_v1_secret is revoked"})");
  auto result = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message.find("dop_v1_secret"), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("token <redacted> is revoked"), std::string::npos) << result.error().message;
}

TEST_F(DoClientTest, RefusesWhileTheBudgetIsExhaustedAndResumesAtReset) {
  http_.Answer("GET ", 200, kPoolBody, Budget(0, kNow + 30));
  http_.Answer("GET ", 200, kPoolBody, Budget(249, kNow + 90));
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  now_ = kNow + 29.5;
  auto refused = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(refused.error().message,
            "DigitalOcean GET /v2/kubernetes/clusters/c-1/node_pools/p-1: DigitalOcean rate limit exhausted "
            "(RateLimit-Remaining 0): no request before 2023-11-14T22:13:50Z (in 1 s)");
  auto put_refused = client_.SetBounds("c-1", Current(), 1, 4);
  ASSERT_FALSE(put_refused);
  EXPECT_EQ(put_refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(http_.requests.size(), 1u);  // neither was sent

  now_ = kNow + 30;
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(client_.RateLimit().remaining, 249);
}

TEST_F(DoClientTest, KeepsSendingWhileBudgetRemains) {
  http_.Answer("GET ", 200, kPoolBody, Budget(1, kNow + 30));
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(DoClientTest, After429WaitsForRetryAfter) {
  auto headers = Budget(0, kNow + 50);
  headers.emplace_back("retry-after", "10");
  http_.Answer("GET ", 429, R"({"id":"too_many_requests","message":"API Rate limit exceeded."})", headers);
  auto limited = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().kind, ErrorKind::kRateLimited);
  EXPECT_NE(limited.error().message.find("no request before 2023-11-14T22:13:30Z (in 10 s)"), std::string::npos)
      << limited.error().message;
  EXPECT_EQ(client_.RateLimit().blocked_until_epoch_seconds, kNow + 10);
  now_ = kNow + 9;
  auto refused = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_NE(refused.error().message.find("DigitalOcean answered 429: no request before 2023-11-14T22:13:30Z (in 1 s)"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(DoClientTest, After429WithoutRetryAfterWaitsForRateLimitReset) {
  http_.Answer("GET ", 429, R"({"id":"too_many_requests","message":"API Rate limit exceeded."})",
               {{"ratelimit-reset", std::to_string(static_cast<long long>(kNow + 40))}});
  http_.Answer("GET ", 200, kPoolBody);
  ASSERT_FALSE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(client_.RateLimit().blocked_until_epoch_seconds, kNow + 40);
  now_ = kNow + 39;
  EXPECT_FALSE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 1u);
  now_ = kNow + 40;
  EXPECT_TRUE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(DoClientTest, After429WithoutHintsWaitsAMinute) {
  http_.Answer("GET ", 429, R"({"id":"too_many_requests","message":"API Rate limit exceeded."})");
  http_.Answer("GET ", 200, kPoolBody);
  ASSERT_FALSE(client_.GetNodePool("c-1", "p-1"));
  now_ = kNow + 59;
  EXPECT_FALSE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 1u);
  now_ = kNow + 60;
  EXPECT_TRUE(client_.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(http_.requests.size(), 2u);
}

TEST_F(DoClientTest, ErrorAnswersUpdateTheBudgetToo) {
  http_.Answer("GET ", 503, "", Budget(0, kNow + 20));
  ASSERT_FALSE(client_.GetNodePool("c-1", "p-1"));
  auto refused = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(http_.requests.size(), 1u);
}

TEST_F(DoClientTest, RereadsTheTokenWhenTheFileChanges) {
  http_.Answer("GET ", 200, kPoolBody);
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  WriteToken("dop_v1_rotated_token");
  ASSERT_TRUE(client_.GetNodePool("c-1", "p-1"));
  ASSERT_EQ(http_.requests.size(), 2u);
  EXPECT_EQ(http_.requests[0].headers.at(0).second, "Bearer dop_v1_secret");
  EXPECT_EQ(http_.requests[1].headers.at(0).second, "Bearer dop_v1_rotated_token");
}

TEST_F(DoClientTest, AMissingTokenFileSendsNothing) {
  std::remove(token_path_.c_str());
  auto result = client_.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kRejected);
  EXPECT_NE(result.error().message.find(token_path_), std::string::npos);
  EXPECT_TRUE(http_.requests.empty());
}

}  // namespace
}  // namespace topdog::advisor
