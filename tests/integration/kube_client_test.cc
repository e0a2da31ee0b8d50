// KubeClient and LeaderElector over the real CurlHttpClient against tests/fakes/fake_kube_api.py (the Kubernetes
// API on 127.0.0.1, port 0): the requests as the fake recorded them, the objects it stores after a write, and its
// error answers (409, 422, 401, 429, 5xx, a server that goes away).
#include "advisor/io/kube_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "advisor/io/http_client.h"
#include "advisor/io/leader_elector.h"
#include "tests/fakes/fake_server_process.h"
#include "tests/fakes/test_http_client.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;

constexpr char kToken[] = "kube-integration-token";
constexpr char kWebPath[] = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web";
const std::string kFakeScript = std::string(TOPDOG_SOURCE_DIR) + "/tests/fakes/fake_kube_api.py";

json Hpa(const std::string& ns, const std::string& name, int min_replicas, int max_replicas) {
  return {{"apiVersion", "autoscaling/v2"},
          {"kind", "HorizontalPodAutoscaler"},
          {"metadata", {{"namespace", ns}, {"name", name}, {"annotations", {{"advisor.topdog.dev/managed", "true"}}}}},
          {"spec",
           {{"minReplicas", min_replicas},
            {"maxReplicas", max_replicas},
            {"scaleTargetRef", {{"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"name", name}}},
            {"metrics", json::parse(R"([
               {"type":"Pods","pods":{"metric":{"name":"http_requests_per_second"},
                                      "target":{"type":"AverageValue","averageValue":"50"}}},
               {"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":70}}},
               {"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":80}}}
             ])")}}},
          {"status", {{"currentReplicas", min_replicas}, {"desiredReplicas", min_replicas}}}};
}

class KubeClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override { Start({"--token", kToken}); }

  void Start(std::vector<std::string> args) {
    fake_ = std::make_unique<FakeServerProcess>(kFakeScript, std::move(args));
    http_ = MakeTestHttpClient(std::chrono::milliseconds(5000));
    ASSERT_NE(http_, nullptr);
  }

  KubeAccess Access(const std::string& token = kToken) const {
    KubeAccess access;
    access.server = fake_->Url();
    access.token = token;
    return access;
  }

  // A control route of the fake (not recorded by it).
  json Control(const std::string& method, const std::string& path, const json& body = nullptr) {
    HttpRequest request;
    request.method = method;
    request.url = fake_->Url() + path;
    if (!body.is_null()) request.body = body.dump();
    auto response = http_->Send(request);
    EXPECT_TRUE(response) << path << ": " << (response ? "" : response.error().message);
    if (!response) return json();
    EXPECT_EQ(response->status, 200) << path << ": " << response->body;
    return json::parse(response->body);
  }
  json Seed(const json& objects) { return Control("POST", "/_fake/objects", objects); }
  json Recorded() { return Control("GET", "/_fake/requests"); }
  void Fault(const json& fault) { Control("POST", "/_fake/faults", json::array({fault})); }
  json Stored(const std::string& kind, const std::string& ns, const std::string& name) {
    for (const json& object : Control("GET", "/_fake/objects")) {
      if (object["kind"] == kind && object["metadata"]["namespace"] == ns && object["metadata"]["name"] == name) {
        return object;
      }
    }
    return json();
  }

  std::unique_ptr<FakeServerProcess> fake_;
  std::unique_ptr<CurlHttpClient> http_;
};

TEST_F(KubeClientIntegrationTest, ListFollowsPaginationAcrossNamespaces) {
  json objects = json::array();
  for (int i = 0; i < 1203; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "app-%04d", i);
    objects.push_back(Hpa(i % 2 ? "blog" : "shop", name, 1 + i % 3, 10));
  }
  Seed(objects);
  KubeClient client(*http_, Access());
  auto hpas = client.ListHpas({});
  ASSERT_TRUE(hpas) << hpas.error().message;
  ASSERT_EQ(hpas->size(), 1203u);
  EXPECT_EQ((*hpas)[0].ref, (HpaRef{"blog", "app-0001"}));  // the server's order: namespace, then name
  EXPECT_EQ(hpas->back().ref, (HpaRef{"shop", "app-1202"}));
  for (size_t i = 1; i < hpas->size(); ++i) {
    ASSERT_LT((*hpas)[i - 1].ref, (*hpas)[i].ref) << "duplicate or out of order at " << i;
  }
  EXPECT_EQ((*hpas)[5].cpu_target_percent, 70);

  json requests = Recorded();
  ASSERT_EQ(requests.size(), 3u);  // 500 + 500 + 203
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(requests[i]["method"], "GET");
    EXPECT_EQ(requests[i]["path"], "/apis/autoscaling/v2/horizontalpodautoscalers");
    EXPECT_EQ(requests[i]["query"]["limit"], json::array({"500"}));
    EXPECT_EQ(requests[i]["query"].contains("continue"), i > 0);
    EXPECT_EQ(requests[i]["headers"]["authorization"], std::string("Bearer ") + kToken);
    EXPECT_EQ(requests[i]["headers"]["accept"], "application/json");
  }

  Control("POST", "/_fake/reset");
  auto shop = client.ListHpas({"shop"});
  ASSERT_TRUE(shop) << shop.error().message;
  EXPECT_EQ(shop->size(), 602u);
  EXPECT_EQ(Recorded()[0]["path"], "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers");
}

TEST_F(KubeClientIntegrationTest, DryRunValidatesAndAnswersWithoutChangingTheObject) {
  const json seeded = Seed(json::array({Hpa("shop", "web", 3, 20)}))[0];
  const std::string rv = seeded["metadata"]["resourceVersion"];
  KubeClient client(*http_, Access());
  HpaChange change;
  change.min_replicas = 6;
  change.resource_version = rv;
  change.annotations["advisor.topdog.dev/last-decision"] = "min 3->6 (forecast)";
  auto answer = client.PatchHpa({"shop", "web"}, change, ApplyMode::kDryRun);
  ASSERT_TRUE(answer) << answer.error().message;
  EXPECT_EQ(answer->min_replicas, 6);  // as it would be
  EXPECT_EQ(answer->annotations.at("advisor.topdog.dev/last-decision"), "min 3->6 (forecast)");
  EXPECT_EQ(answer->resource_version, rv);

  const json stored = Stored("HorizontalPodAutoscaler", "shop", "web");
  EXPECT_EQ(stored, seeded);  // nothing stored, resourceVersion not bumped

  const json requests = Recorded();
  ASSERT_EQ(requests.size(), 1u);
  const json& patch = requests[0];
  EXPECT_EQ(patch["method"], "PATCH");
  EXPECT_EQ(patch["path"], kWebPath);
  EXPECT_EQ(patch["query"], json::parse(R"({"fieldManager":["topdog-advisor"],"dryRun":["All"]})"));
  EXPECT_EQ(patch["headers"]["content-type"], "application/merge-patch+json");
  EXPECT_EQ(patch["headers"]["authorization"], std::string("Bearer ") + kToken);
  EXPECT_EQ(json::parse(patch["body"].get<std::string>()),
            (json{{"metadata",
                   {{"resourceVersion", rv}, {"annotations", {{"advisor.topdog.dev/last-decision", "min 3->6 (forecast)"}}}}},
                  {"spec", {{"minReplicas", 6}}}}));
}

TEST_F(KubeClientIntegrationTest, ApplyStoresTheChangeAndKeepsOtherMetrics) {
  const json seeded = Seed(json::array({Hpa("shop", "web", 3, 20)}))[0];
  KubeClient client(*http_, Access());
  auto before = client.ListHpas({"shop"});
  ASSERT_TRUE(before && before->size() == 1u);
  HpaChange change;
  change.max_replicas = 40;
  change.cpu_target_percent = 60;
  change.resource_version = (*before)[0].resource_version;
  change.base_metrics_json = (*before)[0].metrics_json;
  auto applied = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(applied->max_replicas, 40);
  EXPECT_EQ(applied->min_replicas, 3);
  EXPECT_EQ(applied->cpu_target_percent, 60);
  EXPECT_NE(applied->resource_version, (*before)[0].resource_version);

  const json stored = Stored("HorizontalPodAutoscaler", "shop", "web");
  EXPECT_EQ(stored["metadata"]["resourceVersion"], applied->resource_version);
  json expected_metrics = seeded["spec"]["metrics"];
  expected_metrics[1]["resource"]["target"]["averageUtilization"] = 60;
  EXPECT_EQ(stored["spec"]["metrics"], expected_metrics);  // Pods and memory metrics as they were, in order
  EXPECT_EQ(stored["spec"]["maxReplicas"], 40);
  EXPECT_EQ(stored["metadata"]["annotations"], seeded["metadata"]["annotations"]);

  const json patch = Recorded().back();
  EXPECT_EQ(patch["query"], json::parse(R"({"fieldManager":["topdog-advisor"]})"));
  EXPECT_EQ(json::parse(patch["body"].get<std::string>())["spec"],
            (json{{"maxReplicas", 40}, {"metrics", expected_metrics}}));
}

TEST_F(KubeClientIntegrationTest, StaleResourceVersionIsAConflictAndChangesNothing) {
  const json seeded = Seed(json::array({Hpa("shop", "web", 3, 20)}))[0];
  KubeClient client(*http_, Access());
  HpaChange first;
  first.max_replicas = 25;
  first.resource_version = seeded["metadata"]["resourceVersion"];
  ASSERT_TRUE(client.PatchHpa({"shop", "web"}, first, ApplyMode::kApply));
  const json after_first = Stored("HorizontalPodAutoscaler", "shop", "web");

  HpaChange stale = first;  // decided on the old version
  stale.min_replicas = 5;
  for (ApplyMode mode : {ApplyMode::kApply, ApplyMode::kDryRun}) {
    auto conflict = client.PatchHpa({"shop", "web"}, stale, mode);
    ASSERT_FALSE(conflict);
    EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict);
    EXPECT_NE(conflict.error().message.find("the object has been modified"), std::string::npos)
        << conflict.error().message;
  }
  EXPECT_EQ(Stored("HorizontalPodAutoscaler", "shop", "web"), after_first);
}

TEST_F(KubeClientIntegrationTest, ValidationFailureIsRejectedWithTheFieldInTheMessage) {
  Seed(json::array({Hpa("shop", "web", 3, 20)}));
  KubeClient client(*http_, Access());
  HpaChange change;
  change.min_replicas = 30;  // above maxReplicas 20
  for (ApplyMode mode : {ApplyMode::kDryRun, ApplyMode::kApply}) {
    auto invalid = client.PatchHpa({"shop", "web"}, change, mode);
    ASSERT_FALSE(invalid);
    EXPECT_EQ(invalid.error().kind, ErrorKind::kRejected);
    EXPECT_NE(invalid.error().message.find("HTTP 422"), std::string::npos) << invalid.error().message;
    EXPECT_NE(invalid.error().message.find("spec.maxReplicas: Invalid value: 20: must be greater than or equal to "
                                           "`minReplicas`"),
              std::string::npos)
        << invalid.error().message;
  }
  EXPECT_EQ(Stored("HorizontalPodAutoscaler", "shop", "web")["spec"]["minReplicas"], 3);

  auto absent = client.PatchHpa({"shop", "gone"}, change, ApplyMode::kApply);
  ASSERT_FALSE(absent);
  EXPECT_EQ(absent.error().kind, ErrorKind::kNotFound);
}

TEST_F(KubeClientIntegrationTest, WrongTokenIsRejectedAndNotRepeatedInTheError) {
  Seed(json::array({Hpa("shop", "web", 3, 20)}));
  KubeClient client(*http_, Access("wrong-token-value"));
  auto list = client.ListHpas({});
  ASSERT_FALSE(list);
  EXPECT_EQ(list.error().kind, ErrorKind::kRejected);
  EXPECT_NE(list.error().message.find("HTTP 401"), std::string::npos) << list.error().message;
  EXPECT_EQ(list.error().message.find("wrong-token-value"), std::string::npos);
  EXPECT_EQ(Recorded()[0]["headers"]["authorization"], "Bearer wrong-token-value");
}

TEST_F(KubeClientIntegrationTest, RotatedTokenFileIsUsedFromTheNextRequest) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("kube_integration_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path token = dir / "token";
  std::ofstream(token) << "projected-token-1\n";
  Start({"--token-file", token.string()});  // the fake re-reads the file too: the old token stops working
  KubeAccess access = Access("");
  access.token_file = token.string();
  KubeClient client(*http_, access);
  KubeClient stale_client(*http_, Access("projected-token-1"));
  ASSERT_TRUE(client.ListHpas({}));
  ASSERT_TRUE(stale_client.ListHpas({}));

  // As the kubelet does: a new file renamed into place (longer, so the change shows even within one
  // file-timestamp tick).
  std::ofstream(dir / "token.new") << "projected-token-2-rotated\n";
  std::filesystem::rename(dir / "token.new", token);
  auto after = client.ListHpas({});
  EXPECT_TRUE(after) << after.error().message;
  auto stale = stale_client.ListHpas({});
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::kRejected);

  const json requests = Recorded();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0]["headers"]["authorization"], "Bearer projected-token-1");
  EXPECT_EQ(requests[2]["headers"]["authorization"], "Bearer projected-token-2-rotated");
  std::filesystem::remove_all(dir);
}

TEST_F(KubeClientIntegrationTest, TooManyRequestsCarriesRetryAfter) {
  Fault({{"method", "GET"},
         {"path", "horizontalpodautoscalers"},
         {"status", 429},
         {"headers", {{"Retry-After", "3"}}},
         {"body", R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Too many )"
                  R"(requests, please try again later.","reason":"TooManyRequests","details":{"retryAfterSeconds":3},)"
                  R"("code":429})"}});
  KubeClient client(*http_, Access());
  auto limited = client.ListHpas({});
  ASSERT_FALSE(limited);
  EXPECT_EQ(limited.error().kind, ErrorKind::kRateLimited);
  EXPECT_NE(limited.error().message.find("Retry-After: 3"), std::string::npos) << limited.error().message;
  EXPECT_NE(limited.error().message.find("Too many requests"), std::string::npos);
  EXPECT_TRUE(client.ListHpas({}));  // the fault hit once
}

TEST_F(KubeClientIntegrationTest, ServerErrorsAndTimeoutsAreUnavailable) {
  Seed(json::array({Hpa("shop", "web", 3, 20)}));
  Fault({{"method", "PATCH"},
         {"status", 503},
         {"body", R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"etcdserver: )"
                  R"(leader changed","reason":"ServiceUnavailable","code":503})"}});
  KubeClient client(*http_, Access());
  HpaChange change;
  change.min_replicas = 4;
  auto unavailable = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().kind, ErrorKind::kUnavailable);
  EXPECT_NE(unavailable.error().message.find("etcdserver: leader changed"), std::string::npos);
  EXPECT_EQ(Stored("HorizontalPodAutoscaler", "shop", "web")["spec"]["minReplicas"], 3);

  // A slow server: the fake's delay is the subject here, the client's timeout (0.5 s) the bound.
  auto quick = MakeTestHttpClient(std::chrono::milliseconds(500));
  ASSERT_NE(quick, nullptr);
  KubeClient impatient(*quick, Access());
  Fault({{"method", "GET"}, {"delay", 1.5}});
  auto slow = impatient.ListHpas({});
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().kind, ErrorKind::kDeadlineExceeded) << slow.error().message;
}

TEST_F(KubeClientIntegrationTest, ServerGoneMidRunIsUnavailable) {
  Seed(json::array({Hpa("shop", "web", 3, 20)}));
  KubeClient client(*http_, Access());
  auto hpas = client.ListHpas({});
  ASSERT_TRUE(hpas) << hpas.error().message;
  fake_->Stop();
  HpaChange change;
  change.min_replicas = 4;
  change.resource_version = (*hpas)[0].resource_version;
  auto patched = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
  ASSERT_FALSE(patched);
  EXPECT_EQ(patched.error().kind, ErrorKind::kUnavailable) << patched.error().message;
  auto listed = client.ListHpas({});
  ASSERT_FALSE(listed);
  EXPECT_EQ(listed.error().kind, ErrorKind::kUnavailable);
}

TEST_F(KubeClientIntegrationTest, LeaseCreateConflictAndStaleUpdate) {
  KubeClient client(*http_, Access());
  auto absent = client.GetLease("topdog", "advisor");
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_FALSE(absent->has_value());
  const LeaseRecord mine{"advisor-a", 15, 1795786839.25, 1795786839.25, 0, ""};
  auto created = client.CreateLease("topdog", "advisor", mine);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->resource_version.empty());
  EXPECT_EQ(created->holder, "advisor-a");
  EXPECT_DOUBLE_EQ(created->renew_time_seconds, 1795786839.25);

  auto again = client.CreateLease("topdog", "advisor", mine);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_NE(again.error().message.find("AlreadyExists"), std::string::npos) << again.error().message;

  LeaseRecord renewed = *created;
  renewed.renew_time_seconds += 2;
  auto updated = client.UpdateLease("topdog", "advisor", renewed);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_NE(updated->resource_version, created->resource_version);
  auto stale = client.UpdateLease("topdog", "advisor", renewed);  // the old resourceVersion again
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::kConflict);

  const json stored = Stored("Lease", "topdog", "advisor");
  EXPECT_EQ(stored["spec"]["renewTime"], "2026-11-27T13:40:41.250000Z");
  EXPECT_EQ(stored["spec"]["acquireTime"], "2026-11-27T13:40:39.250000Z");
  const json requests = Recorded();
  ASSERT_EQ(requests.size(), 5u);
  EXPECT_EQ(requests[1]["method"], "POST");
  EXPECT_EQ(requests[1]["path"], "/apis/coordination.k8s.io/v1/namespaces/topdog/leases");
  EXPECT_EQ(requests[3]["method"], "PUT");
  EXPECT_EQ(requests[3]["path"], "/apis/coordination.k8s.io/v1/namespaces/topdog/leases/advisor");
  EXPECT_EQ(json::parse(requests[3]["body"].get<std::string>())["metadata"]["resourceVersion"],
            created->resource_version);
}

// Two replicas' electors against one API server. Times are passed in (each replica its own steady clock).
TEST_F(KubeClientIntegrationTest, TwoElectorsNeverLeadTogetherAndTakeOverAfterExpiry) {
  KubeClient client_a(*http_, Access());
  auto http_b = MakeTestHttpClient(std::chrono::milliseconds(5000));
  ASSERT_NE(http_b, nullptr);
  KubeClient client_b(*http_b, Access());
  LeaderElector a(client_a, "topdog", "topdog-advisor", "advisor-a", 15, 10);
  LeaderElector b(client_b, "topdog", "topdog-advisor", "advisor-b", 15, 10);
  constexpr double kWall0 = 1795786839;
  auto steady = [](double origin, double s) {
    return std::chrono::steady_clock::time_point{} +
           std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(origin + s));
  };
  auto tick_a = [&](double s) { return a.Tick(kWall0 + s, steady(100, s)); };
  auto tick_b = [&](double s) { return b.Tick(kWall0 + s, steady(5000, s)); };

  EXPECT_TRUE(tick_a(0));
  EXPECT_FALSE(tick_b(1));
  for (double s = 2; s <= 30; s += 2) {
    tick_a(s);
    tick_b(s + 1);
    ASSERT_TRUE(a.IsLeader()) << s;
    ASSERT_FALSE(b.IsLeader()) << s;
  }
  const json held = Stored("Lease", "topdog", "topdog-advisor");
  EXPECT_EQ(held["spec"]["holderIdentity"], "advisor-a");
  EXPECT_EQ(held["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(held["spec"]["renewTime"], "2026-11-27T13:41:09.000000Z");  // a's renewal at 30 s

  // a stops ticking at 30 s. b last saw a change at 31 s; it takes over once 15 s passed on its clock.
  for (double s = 33; s < 46; s += 2) {
    EXPECT_FALSE(tick_b(s)) << s;
    if (s >= 40) {
      EXPECT_FALSE(a.IsLeaderAt(steady(100, s))) << "a past its renew deadline at " << s;
    }
  }
  EXPECT_TRUE(tick_b(46));
  EXPECT_FALSE(tick_a(47));  // a is back: follows
  const json taken = Stored("Lease", "topdog", "topdog-advisor");
  EXPECT_EQ(taken["spec"]["holderIdentity"], "advisor-b");
  EXPECT_EQ(taken["spec"]["leaseTransitions"], 1);
  EXPECT_EQ(taken["spec"]["acquireTime"], "2026-11-27T13:41:25.000000Z");

  // The API server goes away: b keeps leading until its renew deadline, then stops without any answer.
  fake_->Stop();
  EXPECT_TRUE(tick_b(50));
  EXPECT_TRUE(b.IsLeaderAt(steady(5000, 55)));
  EXPECT_FALSE(b.IsLeaderAt(steady(5000, 56)));
  EXPECT_FALSE(tick_b(56));
  EXPECT_EQ(b.last_error()->kind, ErrorKind::kUnavailable);
}

}  // namespace
}  // namespace topdog::advisor
