// DoClient over the real CurlHttpClient against tests/fakes/fake_do_api.py (the DigitalOcean node-pool API on
// 127.0.0.1, port 0): the requests as the fake recorded them, its stored pools after a PUT, and its error and
// rate-limit answers.
#include "advisor/io/do_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "advisor/io/http_client.h"
#include "tests/fakes/fake_server_process.h"
#include "tests/fakes/test_http_client.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;

constexpr char kToken[] = "dop_v1_integration_token";
constexpr char kPoolPath[] = "/v2/kubernetes/clusters/c-1/node_pools/p-1";

const json kSeed = json::parse(R"([
  {"cluster_id":"c-1","node_pool":{
    "id":"p-1","name":"web-pool","size":"s-2vcpu-4gb","count":3,
    "tags":["k8s","k8s:c-1","k8s:worker","web"],
    "labels":{"tier":"web"},
    "taints":[{"key":"dedicated","value":"web","effect":"NoSchedule"}],
    "auto_scale":true,"min_nodes":2,"max_nodes":6,
    "nodes":[{"id":"n-1","name":"web-pool-a","status":{"state":"running"},"droplet_id":"11"}]}},
  {"cluster_id":"c-1","node_pool":{"id":"p-2","name":"batch","size":"s-4vcpu-8gb","count":1,
    "auto_scale":false,"min_nodes":0,"max_nodes":0,"tags":[],"labels":{},"taints":[],"nodes":[]}}
])");

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class DoClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteToken(kToken);
    fake_ = std::make_unique<FakeServerProcess>(std::string(TOPDOG_SOURCE_DIR) + "/tests/fakes/fake_do_api.py",
                                                std::vector<std::string>{"--token", kToken});
    http_ = MakeTestHttpClient(std::chrono::milliseconds(5000));
    ASSERT_NE(http_, nullptr);
    client_ = std::make_unique<DoClient>(*http_, token_, fake_->Url(), [this] { return now_; });
    Control("POST", "/_fake/node_pools", kSeed);
  }
  void TearDown() override { std::remove(token_path_.c_str()); }

  void WriteToken(const std::string& text) { std::ofstream(token_path_, std::ios::trunc) << text << "\n"; }

  json Control(const std::string& method, const std::string& path, const json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = fake_->Url() + path;
    if (!body.is_null()) {
      request.body = body.dump();
      request.headers.emplace_back("Content-Type", "application/json");
    }
    auto response = http_->Send(request);
    EXPECT_TRUE(response) << path << ": " << (response ? "" : response.error().message);
    if (!response) return nullptr;
    EXPECT_EQ(response->status, 200) << path << ": " << response->body;
    return json::parse(response->body, nullptr, false);
  }
  // The API requests the fake received, as "METHOD path".
  std::vector<std::string> RecordedLines() {
    std::vector<std::string> lines;
    for (const json& request : Control("GET", "/_fake/requests")) {
      lines.push_back(request["method"].get<std::string>() + " " + request["path"].get<std::string>());
    }
    return lines;
  }
  json StoredPool(const std::string& pool_id) {
    for (const json& entry : Control("GET", "/_fake/node_pools")) {
      if (entry["node_pool"]["id"] == pool_id) return entry["node_pool"];
    }
    ADD_FAILURE() << "no stored pool " << pool_id;
    return nullptr;
  }

  // One file per test and process: ctest may run the tests in parallel.
  std::string token_path_ = ::testing::TempDir() + "do_client_integration_" +
                            ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                            std::to_string(getpid());
  SecretFile token_{token_path_};
  std::unique_ptr<FakeServerProcess> fake_;
  std::unique_ptr<CurlHttpClient> http_;
  double now_ = WallSeconds();  // the fake's RateLimit-Reset is wall-clock time; the test moves it by hand
  std::unique_ptr<DoClient> client_;
};

TEST_F(DoClientIntegrationTest, GetReadsThePoolWithTheBearerToken) {
  auto pool = client_->GetNodePool("c-1", "p-1");
  ASSERT_TRUE(pool) << pool.error().message;
  EXPECT_EQ(pool->id, "p-1");
  EXPECT_EQ(pool->name, "web-pool");
  EXPECT_EQ(pool->count, 3);
  EXPECT_TRUE(pool->auto_scale);
  EXPECT_EQ(pool->min_nodes, 2);
  EXPECT_EQ(pool->max_nodes, 6);
  EXPECT_EQ(json::parse(pool->tags_json), kSeed[0]["node_pool"]["tags"]);
  EXPECT_EQ(json::parse(pool->labels_json), kSeed[0]["node_pool"]["labels"]);
  EXPECT_EQ(json::parse(pool->taints_json), kSeed[0]["node_pool"]["taints"]);

  json recorded = Control("GET", "/_fake/requests");
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0]["method"], "GET");
  EXPECT_EQ(recorded[0]["path"], kPoolPath);
  EXPECT_EQ(recorded[0]["query"], json::object());
  EXPECT_EQ(recorded[0]["body"], "");
  EXPECT_EQ(recorded[0]["headers"]["authorization"], std::string("Bearer ") + kToken);
  EXPECT_FALSE(recorded[0]["headers"].contains("content-type"));

  DoRateLimitState budget = client_->RateLimit();
  EXPECT_EQ(budget.limit, 250);
  EXPECT_EQ(budget.remaining, 249);
  EXPECT_GT(budget.reset_epoch_seconds, now_);
}

TEST_F(DoClientIntegrationTest, SetBoundsPutsTheBoundsAndTheApiStoresThem) {
  auto current = client_->GetNodePool("c-1", "p-1");
  ASSERT_TRUE(current) << current.error().message;
  auto updated = client_->SetBounds("c-1", *current, 1, 8);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->min_nodes, 1);
  EXPECT_EQ(updated->max_nodes, 8);
  EXPECT_EQ(updated->count, 3);

  json recorded = Control("GET", "/_fake/requests");
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[1]["method"], "PUT");
  EXPECT_EQ(recorded[1]["path"], kPoolPath);
  EXPECT_EQ(recorded[1]["headers"]["authorization"], std::string("Bearer ") + kToken);
  EXPECT_EQ(recorded[1]["headers"]["content-type"], "application/json");
  EXPECT_EQ(json::parse(recorded[1]["body"].get<std::string>()), json::parse(R"({
      "name":"web-pool","count":3,"auto_scale":true,"min_nodes":1,"max_nodes":8,
      "tags":["k8s","k8s:c-1","k8s:worker","web"],"labels":{"tier":"web"},
      "taints":[{"key":"dedicated","value":"web","effect":"NoSchedule"}]})"));

  json stored = StoredPool("p-1");
  json expected = kSeed[0]["node_pool"];
  expected["min_nodes"] = 1;
  expected["max_nodes"] = 8;
  EXPECT_EQ(stored, expected);  // tags, labels, taints and nodes survived the PUT
}

TEST_F(DoClientIntegrationTest, RaisingTheMinimumAboveTheCountRaisesTheCount) {
  auto current = client_->GetNodePool("c-1", "p-1");
  ASSERT_TRUE(current) << current.error().message;
  auto updated = client_->SetBounds("c-1", *current, 4, 8);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(StoredPool("p-1")["count"], 4);
  EXPECT_EQ(StoredPool("p-1")["min_nodes"], 4);

  // A pool without autoscaling gets it switched on, its count kept.
  auto batch = client_->GetNodePool("c-1", "p-2");
  ASSERT_TRUE(batch) << batch.error().message;
  ASSERT_TRUE(client_->SetBounds("c-1", *batch, 0, 3));
  json stored = StoredPool("p-2");
  EXPECT_EQ(stored["auto_scale"], true);
  EXPECT_EQ(stored["count"], 1);
  EXPECT_EQ(stored["min_nodes"], 0);
  EXPECT_EQ(stored["max_nodes"], 3);
  EXPECT_EQ(RecordedLines(), (std::vector<std::string>{"GET " + std::string(kPoolPath), "PUT " + std::string(kPoolPath),
                                                       "GET /v2/kubernetes/clusters/c-1/node_pools/p-2",
                                                       "PUT /v2/kubernetes/clusters/c-1/node_pools/p-2"}));
}

TEST_F(DoClientIntegrationTest, WrongTokenIsRejectedAndARotatedTokenIsPickedUp) {
  WriteToken("dop_v1_wrong");
  auto denied = client_->GetNodePool("c-1", "p-1");
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(denied.error().message,
            std::string("DigitalOcean GET ") + kPoolPath + ": 401 unauthorized: Unable to authenticate you");

  WriteToken(kToken);
  auto pool = client_->GetNodePool("c-1", "p-1");
  ASSERT_TRUE(pool) << pool.error().message;
  json recorded = Control("GET", "/_fake/requests");
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0]["headers"]["authorization"], "Bearer dop_v1_wrong");
  EXPECT_EQ(recorded[1]["headers"]["authorization"], std::string("Bearer ") + kToken);
}

TEST_F(DoClientIntegrationTest, UnknownPoolIsNotFound) {
  auto missing = client_->GetNodePool("c-1", "p-404");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(missing.error().message,
            "DigitalOcean GET /v2/kubernetes/clusters/c-1/node_pools/p-404: 404 not_found: The resource you were "
            "accessing could not be found.");
  auto other_cluster = client_->GetNodePool("c-2", "p-1");
  ASSERT_FALSE(other_cluster);
  EXPECT_EQ(other_cluster.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(RecordedLines(), (std::vector<std::string>{"GET /v2/kubernetes/clusters/c-1/node_pools/p-404",
                                                       "GET /v2/kubernetes/clusters/c-2/node_pools/p-1"}));
}

TEST_F(DoClientIntegrationTest, BoundsOverTheDropletLimitAreRejectedAndChangeNothing) {
  auto current = client_->GetNodePool("c-1", "p-1");
  ASSERT_TRUE(current) << current.error().message;
  auto rejected = client_->SetBounds("c-1", *current, 2, 30);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(rejected.error().message, std::string("DigitalOcean PUT ") + kPoolPath +
                                          ": 422 unprocessable_entity: max_nodes exceeds your droplet limit of 25");
  EXPECT_EQ(StoredPool("p-1"), kSeed[0]["node_pool"]);
  EXPECT_EQ(RecordedLines(),
            (std::vector<std::string>{"GET " + std::string(kPoolPath), "PUT " + std::string(kPoolPath)}));
}

TEST_F(DoClientIntegrationTest, ExhaustedBudgetMeans429ThenNoRequestsUntilReset) {
  // A budget of 3 in a long window, shared with another replica using the same token.
  Control("POST", "/_fake/rate_limit", json{{"limit", 3}, {"window", 3600}});
  DoClient other(*http_, token_, fake_->Url(), [this] { return now_; });
  ASSERT_TRUE(client_->GetNodePool("c-1", "p-1"));
  EXPECT_EQ(client_->RateLimit().remaining, 2);
  ASSERT_TRUE(other.GetNodePool("c-1", "p-1"));
  ASSERT_TRUE(other.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(other.RateLimit().remaining, 0);

  // The other replica knows the budget is spent and sends nothing.
  auto other_refused = other.GetNodePool("c-1", "p-1");
  ASSERT_FALSE(other_refused);
  EXPECT_EQ(other_refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_NE(other_refused.error().message.find("rate limit exhausted (RateLimit-Remaining 0): no request before "),
            std::string::npos)
      << other_refused.error().message;

  // This one still believes 2 remain: the API answers 429 with Retry-After.
  auto limited = client_->GetNodePool("c-1", "p-1");
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().kind, ErrorKind::kRateLimited);
  EXPECT_NE(limited.error().message.find(": 429 too_many_requests: API Rate limit exceeded.; no request before "),
            std::string::npos)
      << limited.error().message;
  const DoRateLimitState budget = client_->RateLimit();
  EXPECT_GT(budget.blocked_until_epoch_seconds, now_ + 3000);  // Retry-After: the rest of the hour-long window
  EXPECT_EQ(budget.remaining, 0);
  auto refused = client_->GetNodePool("c-1", "p-1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(RecordedLines().size(), 4u);  // the refusals sent nothing

  // Time passes (the fake's window is restarted to match): both send again.
  Control("POST", "/_fake/rate_limit", json{{"limit", 3}});
  const double resume_at = std::max(budget.blocked_until_epoch_seconds, budget.reset_epoch_seconds);
  now_ = resume_at - 1;
  EXPECT_FALSE(client_->GetNodePool("c-1", "p-1"));
  now_ = resume_at;
  ASSERT_TRUE(client_->GetNodePool("c-1", "p-1"));
  ASSERT_TRUE(other.GetNodePool("c-1", "p-1"));
  EXPECT_EQ(RecordedLines(), std::vector<std::string>(6, "GET " + std::string(kPoolPath)));
}

TEST_F(DoClientIntegrationTest, ServerErrorsAndDroppedConnectionsAreUnavailable) {
  Control("POST", "/_fake/faults", json::parse(R"([
      {"method":"GET","path":"/node_pools/","status":503,
       "body":"{\"id\":\"service_unavailable\",\"message\":\"Service is temporarily unavailable.\"}"},
      {"method":"PUT","path":"/node_pools/","close":true,"times":-1}])"));
  auto unavailable = client_->GetNodePool("c-1", "p-1");
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(unavailable.error().message.find(": 503 service_unavailable: Service is temporarily unavailable."),
            std::string::npos)
      << unavailable.error().message;

  auto current = client_->GetNodePool("c-1", "p-1");  // the fault hit once
  ASSERT_TRUE(current) << current.error().message;
  auto dropped = client_->SetBounds("c-1", *current, 1, 8);
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.error().kind, ErrorKind::kUnavailable) << dropped.error().message;
  EXPECT_EQ(StoredPool("p-1"), kSeed[0]["node_pool"]);
  // libcurl sends once more on a fresh connection when a reused one dies before answering (harmless for a PUT).
  EXPECT_EQ(RecordedLines(),
            (std::vector<std::string>{"GET " + std::string(kPoolPath), "GET " + std::string(kPoolPath),
                                      "PUT " + std::string(kPoolPath), "PUT " + std::string(kPoolPath)}));
}

TEST_F(DoClientIntegrationTest, SlowAnswerPastTheClientTimeoutIsDeadlineExceeded) {
  Control("POST", "/_fake/faults", json::parse(R"([{"method":"GET","path":"/node_pools/","delay":3}])"));
  auto impatient = MakeTestHttpClient(std::chrono::milliseconds(300));
  ASSERT_NE(impatient, nullptr);
  DoClient client(*impatient, token_, fake_->Url(), [this] { return now_; });
  const auto start = std::chrono::steady_clock::now();
  auto slow = client.GetNodePool("c-1", "p-1");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded) << slow.error().message;
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));  // gave up at its timeout, not when the fake answered
  EXPECT_EQ(RecordedLines(), (std::vector<std::string>{"GET " + std::string(kPoolPath)}));
}

TEST_F(DoClientIntegrationTest, KilledApiIsUnavailable) {
  ASSERT_TRUE(client_->GetNodePool("c-1", "p-1"));
  fake_->Stop();
  auto gone = client_->GetNodePool("c-1", "p-1");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kUnavailable) << gone.error().message;
}

}  // namespace
}  // namespace topdog::advisor
