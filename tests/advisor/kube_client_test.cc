#include "advisor/io/kube_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "tests/fakes/fake_http_client.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kServer = "https://k8s.test:6443";
constexpr const char* kToken = "tok-3f9a";

// An autoscaling/v2 HPA in the shape `kubectl get hpa -o json` prints (hand-written from the API types: no cluster
// to capture from here): two metrics, behavior set, status filled.
constexpr const char* kWebHpa = R"({
  "apiVersion": "autoscaling/v2",
  "kind": "HorizontalPodAutoscaler",
  "metadata": {
    "annotations": {"advisor.topdog.dev/managed": "true"},
    "creationTimestamp": "2026-11-20T09:12:44Z",
    "name": "web",
    "namespace": "shop",
    "resourceVersion": "48213",
    "uid": "0b4f6a0e-2f1d-4c55-9a57-0f1f7c1d2a11"
  },
  "spec": {
    "behavior": {"scaleDown": {"policies": [{"periodSeconds": 15, "type": "Percent", "value": 100}],
                               "selectPolicy": "Max"}},
    "maxReplicas": 20,
    "metrics": [
      {"resource": {"name": "cpu", "target": {"averageUtilization": 70, "type": "Utilization"}}, "type": "Resource"},
      {"pods": {"metric": {"name": "http_requests_per_second"},
                "target": {"averageValue": "50", "type": "AverageValue"}}, "type": "Pods"}
    ],
    "minReplicas": 3,
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
  },
  "status": {"currentReplicas": 4, "desiredReplicas": 5,
             "currentMetrics": [{"resource": {"current": {"averageUtilization": 81, "averageValue": "405m"},
                                              "name": "cpu"}, "type": "Resource"}]}
})";

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()}, {"status", "Failure"},
              {"message", message}, {"reason", reason}, {"code", code}}
      .dump();
}

std::string HeaderOf(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "";
}

KubeAccess StaticAccess() {
  KubeAccess access;
  access.server = std::string(kServer) + "/";
  access.token = kToken;
  return access;
}

TEST(ParseHpaTest, ReadsSpecStatusAndTheCpuTarget) {
  auto hpa = ParseHpa(kWebHpa);
  ASSERT_TRUE(hpa) << hpa.error().message;
  EXPECT_EQ(hpa->ref, (HpaRef{"shop", "web"}));
  EXPECT_EQ(hpa->resource_version, "48213");
  EXPECT_EQ(hpa->annotations.at("advisor.topdog.dev/managed"), "true");
  EXPECT_EQ(hpa->min_replicas, 3);
  EXPECT_EQ(hpa->max_replicas, 20);
  EXPECT_EQ(hpa->cpu_target_percent, 70);
  EXPECT_EQ(hpa->current_replicas, 4);
  EXPECT_EQ(hpa->desired_replicas, 5);
  EXPECT_EQ(hpa->target_kind, "Deployment");
  EXPECT_EQ(hpa->target_name, "web");
  EXPECT_EQ(json::parse(hpa->metrics_json), json::parse(kWebHpa)["spec"]["metrics"]);
}

TEST(ParseHpaTest, DefaultsAndAbsentParts) {
  auto hpa = ParseHpa(R"({"metadata":{"name":"a","namespace":"b","resourceVersion":"1"},
                          "spec":{"maxReplicas":4,"scaleTargetRef":{"kind":"StatefulSet","name":"db"}}})");
  ASSERT_TRUE(hpa) << hpa.error().message;
  EXPECT_EQ(hpa->min_replicas, 1);  // the API's default
  EXPECT_EQ(hpa->cpu_target_percent, std::nullopt);
  EXPECT_EQ(hpa->metrics_json, "[]");
  EXPECT_EQ(hpa->current_replicas, 0);
  EXPECT_TRUE(hpa->annotations.empty());

  auto memory_only = ParseHpa(R"({"metadata":{"name":"a","namespace":"b"},"spec":{"maxReplicas":4,"metrics":[
      {"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":60}}},
      {"type":"Resource","resource":{"name":"cpu","target":{"type":"AverageValue","averageValue":"500m"}}}]}})");
  ASSERT_TRUE(memory_only);
  EXPECT_EQ(memory_only->cpu_target_percent, std::nullopt);  // neither is a cpu Utilization target
}

TEST(ParseHpaTest, MalformedObjectsAreBadData) {
  for (const char* text : {
           "[]",
           "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"maxReplicas\":3}}",                       // no namespace
           "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"spec\":{}}",                     // no maxReplicas
           "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"spec\":{\"maxReplicas\":\"3\"}}",
           "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\",\"annotations\":{\"x\":1}},\"spec\":{\"maxReplicas\":3}}",
           "{\"metadata\":{\"name\":\"a\",\"namespace\":\"b\"},\"spec\":{\"maxReplicas\":3,\"metrics\":{}}}",
           "not json",
       }) {
    auto hpa = ParseHpa(text);
    ASSERT_FALSE(hpa) << text;
    EXPECT_EQ(hpa.error().kind, ErrorKind::kBadData) << text;
  }
}

TEST(BuildHpaMergePatchTest, OnlyTheChangedFieldsAndThePrecondition) {
  HpaChange change;
  change.min_replicas = 6;
  change.resource_version = "48213";
  change.annotations["advisor.topdog.dev/last-decision"] = "min 3->6: forecast peak";
  auto patch = BuildHpaMergePatch(change);
  ASSERT_TRUE(patch) << patch.error().message;
  EXPECT_EQ(json::parse(*patch), json::parse(R"({"metadata":{"resourceVersion":"48213","annotations":{
      "advisor.topdog.dev/last-decision":"min 3->6: forecast peak"}},"spec":{"minReplicas":6}})"));

  HpaChange bounds;
  bounds.min_replicas = 2;
  bounds.max_replicas = 40;
  bounds.resource_version = "7";
  bounds.base_metrics_json = R"([{"type":"Pods"}])";  // ignored: no CPU change, so no metrics in the patch
  EXPECT_EQ(json::parse(*BuildHpaMergePatch(bounds)),
            json::parse(R"({"metadata":{"resourceVersion":"7"},"spec":{"minReplicas":2,"maxReplicas":40}})"));

  EXPECT_EQ(*BuildHpaMergePatch(HpaChange{}), "{}");
}

TEST(BuildHpaMergePatchTest, CpuTargetResendsTheWholeMetricsListWithOnlyThatTargetReplaced) {
  auto hpa = ParseHpa(kWebHpa);
  ASSERT_TRUE(hpa);
  HpaChange change;
  change.cpu_target_percent = 60;
  change.resource_version = hpa->resource_version;
  change.base_metrics_json = hpa->metrics_json;
  auto patch = BuildHpaMergePatch(change);
  ASSERT_TRUE(patch) << patch.error().message;
  json expected_metrics = json::parse(kWebHpa)["spec"]["metrics"];
  expected_metrics[0]["resource"]["target"]["averageUtilization"] = 60;
  EXPECT_EQ(json::parse(*patch),
            (json{{"metadata", {{"resourceVersion", "48213"}}}, {"spec", {{"metrics", expected_metrics}}}}));
}

TEST(BuildHpaMergePatchTest, NoMetricsBecomesOneCpuMetric) {
  HpaChange change;
  change.cpu_target_percent = 65;
  change.base_metrics_json = "[]";
  EXPECT_EQ(json::parse(*BuildHpaMergePatch(change)), json::parse(R"({"spec":{"metrics":[{"type":"Resource",
      "resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":65}}}]}})"));
}

TEST(BuildHpaMergePatchTest, RefusesCpuChangesItCannotMakeSafely) {
  HpaChange change;
  change.cpu_target_percent = 65;
  auto no_base = BuildHpaMergePatch(change);  // would replace the HPA's metrics with a CPU-only list
  ASSERT_FALSE(no_base);
  EXPECT_EQ(no_base.error().kind, ErrorKind::kRejected);
  change.base_metrics_json = R"([{"type":"Pods","pods":{"metric":{"name":"rps"},"target":{"type":"AverageValue",
      "averageValue":"10"}}}])";
  auto no_cpu = BuildHpaMergePatch(change);
  ASSERT_FALSE(no_cpu);
  EXPECT_EQ(no_cpu.error().kind, ErrorKind::kRejected);
  change.base_metrics_json = "{";
  EXPECT_FALSE(BuildHpaMergePatch(change));
}

TEST(KubeClientTest, ListFollowsContinueTokensAcrossPages) {
  FakeHttpClient http;
  const std::string list = std::string("GET ") + kServer + "/apis/autoscaling/v2/horizontalpodautoscalers";
  json page1 = {{"kind", "HorizontalPodAutoscalerList"},
                {"metadata", {{"resourceVersion", "9"}, {"continue", "eyJ+/="}}},
                {"items", {json::parse(kWebHpa)}}};
  json second = json::parse(kWebHpa);
  second["metadata"]["name"] = "api";
  json page2 = {{"kind", "HorizontalPodAutoscalerList"}, {"metadata", {{"resourceVersion", "9"}}},
                {"items", {second}}};
  http.Answer(list + "?limit=500", 200, page1.dump());
  http.Answer(list + "?limit=500&continue=eyJ%2B%2F%3D", 200, page2.dump());
  KubeClient client(http, StaticAccess());
  auto hpas = client.ListHpas({});
  ASSERT_TRUE(hpas) << hpas.error().message;
  ASSERT_EQ(hpas->size(), 2u);
  EXPECT_EQ((*hpas)[0].ref.name, "web");
  EXPECT_EQ((*hpas)[1].ref.name, "api");
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].url, std::string(kServer) +
                                      "/apis/autoscaling/v2/horizontalpodautoscalers?limit=500&continue=eyJ%2B%2F%3D");
  for (const HttpRequest& request : http.requests) {
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(HeaderOf(request, "Authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(HeaderOf(request, "Accept"), "application/json");
  }
}

TEST(KubeClientTest, ListPerNamespaceAndAFailedPageFailsTheWholeList) {
  FakeHttpClient http;
  const std::string base = std::string("GET ") + kServer + "/apis/autoscaling/v2/namespaces/";
  http.Answer(base + "shop/", 200, json{{"metadata", json::object()}, {"items", {json::parse(kWebHpa)}}}.dump());
  http.Answer(base + "blog/", 200, R"({"metadata":{},"items":[]})");
  KubeClient client(http, StaticAccess());
  auto hpas = client.ListHpas({"shop", "blog"});
  ASSERT_TRUE(hpas) << hpas.error().message;
  EXPECT_EQ(hpas->size(), 1u);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[1].url,
            std::string(kServer) + "/apis/autoscaling/v2/namespaces/blog/horizontalpodautoscalers?limit=500");

  FakeHttpClient failing;
  failing.Answer(base + "shop/", 200, json{{"metadata", json::object()}, {"items", {json::parse(kWebHpa)}}}.dump());
  failing.Answer(base + "blog/", 503, StatusBody(503, "ServiceUnavailable", "etcdserver: request timed out"));
  KubeClient failing_client(failing, StaticAccess());
  auto partial = failing_client.ListHpas({"shop", "blog"});
  ASSERT_FALSE(partial);
  EXPECT_EQ(partial.error().kind, ErrorKind::kUnavailable);

  FakeHttpClient bad;
  bad.Answer(base + "shop/", 200, R"({"metadata":{},"items":[{"metadata":{"name":"x"}}]})");
  KubeClient bad_client(bad, StaticAccess());
  auto garbage = bad_client.ListHpas({"shop"});
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().kind, ErrorKind::kBadData);
}

TEST(KubeClientTest, PatchSendsAMergePatchWithFieldManagerAndDryRun) {
  FakeHttpClient http;
  const std::string path = "/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web";
  http.Answer(std::string("PATCH ") + kServer + path, 200, kWebHpa);
  KubeClient client(http, StaticAccess());
  HpaChange change;
  change.max_replicas = 30;
  change.resource_version = "48213";
  auto dry = client.PatchHpa({"shop", "web"}, change, ApplyMode::kDryRun);
  ASSERT_TRUE(dry) << dry.error().message;
  EXPECT_EQ(dry->max_replicas, 20);  // what the server answered
  auto applied = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
  ASSERT_TRUE(applied);
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(http.requests[0].url, std::string(kServer) + path + "?fieldManager=topdog-advisor&dryRun=All");
  EXPECT_EQ(http.requests[1].url, std::string(kServer) + path + "?fieldManager=topdog-advisor");
  for (const HttpRequest& request : http.requests) {
    EXPECT_EQ(request.method, "PATCH");
    EXPECT_EQ(HeaderOf(request, "Content-Type"), "application/merge-patch+json");
    EXPECT_EQ(HeaderOf(request, "Authorization"), std::string("Bearer ") + kToken);
    EXPECT_EQ(json::parse(request.body),
              json::parse(R"({"metadata":{"resourceVersion":"48213"},"spec":{"maxReplicas":30}})"));
  }
}

TEST(KubeClientTest, InvalidChangeIsRefusedWithoutARequest) {
  FakeHttpClient http;
  KubeClient client(http, StaticAccess());
  HpaChange change;
  change.cpu_target_percent = 50;  // no base metrics
  auto patched = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
  ASSERT_FALSE(patched);
  EXPECT_EQ(patched.error().kind, ErrorKind::kRejected);
  EXPECT_TRUE(http.requests.empty());
}

struct StatusCase {
  int status;
  std::string reason;
  ErrorKind kind;
};

TEST(KubeClientTest, StatusCodesMapToErrorKindsWithTheStatusMessageAndNeverTheToken) {
  const std::vector<StatusCase> cases = {
      {400, "BadRequest", ErrorKind::kRejected},    {401, "Unauthorized", ErrorKind::kRejected},
      {403, "Forbidden", ErrorKind::kRejected},     {404, "NotFound", ErrorKind::kNotFound},
      {409, "Conflict", ErrorKind::kConflict},      {410, "Expired", ErrorKind::kConflict},
      {415, "UnsupportedMediaType", ErrorKind::kRejected},
      {422, "Invalid", ErrorKind::kRejected},       {429, "TooManyRequests", ErrorKind::kRateLimited},
      {500, "InternalError", ErrorKind::kUnavailable}, {503, "ServiceUnavailable", ErrorKind::kUnavailable},
  };
  for (const StatusCase& c : cases) {
    FakeHttpClient http;
    http.Answer("PATCH", c.status, StatusBody(c.status, c.reason, "spec.minReplicas: Invalid value: " +
                                                                      std::to_string(c.status)),
                {{"retry-after", "7"}});
    KubeClient client(http, StaticAccess());
    HpaChange change;
    change.min_replicas = 2;
    auto patched = client.PatchHpa({"shop", "web"}, change, ApplyMode::kApply);
    ASSERT_FALSE(patched) << c.status;
    EXPECT_EQ(patched.error().kind, c.kind) << c.status;
    const std::string& text = patched.error().message;
    EXPECT_THAT(text, HasSubstr("PATCH /apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers/web"));
    EXPECT_THAT(text, HasSubstr("HTTP " + std::to_string(c.status)));
    EXPECT_THAT(text, HasSubstr(c.reason + ": spec.minReplicas: Invalid value: " + std::to_string(c.status)));
    EXPECT_THAT(text, Not(HasSubstr(kToken)));
    if (c.status == 429) {
      EXPECT_THAT(text, HasSubstr("Retry-After: 7"));
    }
  }
}

TEST(KubeClientTest, NonStatusBodiesAndTransportErrorsPassThrough) {
  FakeHttpClient http;
  http.Answer("GET", 502, "<html>502 Bad Gateway</html>");
  KubeClient client(http, StaticAccess());
  auto proxy = client.ListHpas({});
  ASSERT_FALSE(proxy);
  EXPECT_EQ(proxy.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(proxy.error().message, HasSubstr("502 Bad Gateway"));

  FakeHttpClient down;
  down.Answer("GET", MakeError(ErrorKind::kUnavailable, "connection refused"));
  KubeClient unreachable(down, StaticAccess());
  auto refused = unreachable.ListHpas({});
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(refused.error().message, HasSubstr("connection refused"));
  FakeHttpClient slow;
  slow.Answer("GET", MakeError(ErrorKind::kDeadlineExceeded, "timeout after 30000 ms"));
  KubeClient timing_out(slow, StaticAccess());
  EXPECT_EQ(timing_out.ListHpas({}).error().kind, ErrorKind::kDeadlineExceeded);
}

TEST(KubeClientTest, TokenFileIsReReadWhenRotated) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("kube_client_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path token = dir / "token";
  std::ofstream(token) << "first-token\n";
  FakeHttpClient http;
  http.Answer("GET", 200, R"({"metadata":{},"items":[]})");
  KubeAccess access;
  access.server = kServer;
  access.token = "static-is-ignored";
  access.token_file = token.string();
  KubeClient client(http, access);
  ASSERT_TRUE(client.ListHpas({}));
  // The kubelet swaps projected tokens by renaming a new file into place (and a new token's length differs
  // from the old one's here, so the change is seen even within one file-timestamp tick).
  std::ofstream(dir / "token.new") << "second-token-rotated\n";
  std::filesystem::rename(dir / "token.new", token);
  ASSERT_TRUE(client.ListHpas({}));
  ASSERT_EQ(http.requests.size(), 2u);
  EXPECT_EQ(HeaderOf(http.requests[0], "Authorization"), "Bearer first-token");
  EXPECT_EQ(HeaderOf(http.requests[1], "Authorization"), "Bearer second-token-rotated");

  std::filesystem::remove(token);
  auto gone = client.ListHpas({});
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kRejected);
  EXPECT_EQ(http.requests.size(), 2u);  // nothing sent without a token
  std::filesystem::remove_all(dir);
}

TEST(KubeClientTest, NoCredentialsSendsNoAuthorizationHeader) {
  FakeHttpClient http;
  http.Answer("GET", 200, R"({"metadata":{},"items":[]})");
  KubeAccess access;
  access.server = kServer;  // e.g. client-certificate authentication, done by the HttpClient's TLS
  KubeClient client(http, access);
  ASSERT_TRUE(client.ListHpas({}));
  EXPECT_EQ(HeaderOf(http.requests[0], "Authorization"), "");
}

TEST(KubeClientTest, LeaseGetCreateUpdateShapes) {
  FakeHttpClient http;
  const std::string leases = std::string(kServer) + "/apis/coordination.k8s.io/v1/namespaces/topdog/leases";
  const std::string stored = R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":
      "topdog-advisor","namespace":"topdog","resourceVersion":"812"},"spec":{"holderIdentity":"advisor-7d9f-abcde",
      "leaseDurationSeconds":15,"acquireTime":"2026-11-27T13:40:09.000000Z","renewTime":"2026-11-27T13:40:39.123456Z",
      "leaseTransitions":3}})";
  http.Answer("GET " + leases + "/absent", 404, StatusBody(404, "NotFound", "leases \"absent\" not found"));
  http.Answer("GET " + leases + "/topdog-advisor", 200, stored);
  http.Answer("POST " + leases, 201, stored);
  http.Answer("PUT " + leases + "/topdog-advisor", 409, StatusBody(409, "Conflict", "the object has been modified"));
  KubeClient client(http, StaticAccess());

  auto absent = client.GetLease("topdog", "absent");
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_FALSE(absent->has_value());

  auto got = client.GetLease("topdog", "topdog-advisor");
  ASSERT_TRUE(got && got->has_value());
  const LeaseRecord& record = **got;
  EXPECT_EQ(record.holder, "advisor-7d9f-abcde");
  EXPECT_EQ(record.lease_duration_seconds, 15);
  EXPECT_EQ(record.transitions, 3);
  EXPECT_EQ(record.resource_version, "812");
  EXPECT_EQ(FormatMicroTime(record.renew_time_seconds), "2026-11-27T13:40:39.123456Z");
  EXPECT_NEAR(record.renew_time_seconds - record.acquire_time_seconds, 30.123456, 1e-6);

  LeaseRecord mine{"advisor-b", 15, 1795786839.5, 1795786840.25, 4, "812"};
  auto created = client.CreateLease("topdog", "topdog-advisor", mine);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->resource_version, "812");
  EXPECT_EQ(http.requests.back().url, leases + "?fieldManager=topdog-advisor");
  EXPECT_EQ(HeaderOf(http.requests.back(), "Content-Type"), "application/json");
  EXPECT_EQ(json::parse(http.requests.back().body), json::parse(R"({"apiVersion":"coordination.k8s.io/v1",
      "kind":"Lease","metadata":{"name":"topdog-advisor","namespace":"topdog"},"spec":{"holderIdentity":"advisor-b",
      "leaseDurationSeconds":15,"acquireTime":"2026-11-27T13:40:39.500000Z",
      "renewTime":"2026-11-27T13:40:40.250000Z","leaseTransitions":4}})"));  // no resourceVersion on create

  auto stale = client.UpdateLease("topdog", "topdog-advisor", mine);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(http.requests.back().method, "PUT");
  EXPECT_EQ(http.requests.back().url, leases + "/topdog-advisor?fieldManager=topdog-advisor");
  EXPECT_EQ(json::parse(http.requests.back().body)["metadata"]["resourceVersion"], "812");
}

}  // namespace
}  // namespace topdog::advisor
