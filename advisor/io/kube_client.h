// KubeClient: the Kubernetes API calls the advisor makes, over an HttpClient: list HorizontalPodAutoscalers
// (autoscaling/v2), merge-patch one with optimistic concurrency and optional dryRun=All, and read/create/update
// the coordination.k8s.io/v1 Lease of the leader election. Every request carries the bearer token (re-read from
// its file when that changes) and Accept: application/json. Thread-safe if the HttpClient is (CurlHttpClient is).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "advisor/core/lease.h"
#include "advisor/io/http_client.h"
#include "advisor/io/kube_config.h"
#include "common/result.h"

namespace topdog::advisor {

enum class ApplyMode {
  kDryRun,  // ?dryRun=All: the API server validates and answers as if applied, and stores nothing
  kApply,
};

// The field manager of every write (managedFields show who changed what).
inline constexpr std::string_view kFieldManager = "topdog-advisor";

struct HpaRef {
  std::string ns;
  std::string name;

  auto operator<=>(const HpaRef&) const = default;
};

// An autoscaling/v2 HorizontalPodAutoscaler as the advisor reads it.
struct HpaObject {
  HpaRef ref;
  std::string resource_version;
  long long generation = 0;  // metadata.generation: changes with the spec only (status writes leave it)
  std::map<std::string, std::string> annotations;
  int min_replicas = 1;  // spec.minReplicas; the API's default 1 when absent
  int max_replicas = 0;  // spec.maxReplicas (required by the API)
  // averageUtilization of the metric {type: Resource, resource: {name: cpu, target: {type: Utilization}}}.
  std::optional<int> cpu_target_percent;
  int current_replicas = 0;  // status.currentReplicas (0 when the status is empty)
  int desired_replicas = 0;  // status.desiredReplicas
  std::string target_kind;   // spec.scaleTargetRef.kind, e.g. "Deployment"
  std::string target_name;
  // spec.metrics as compact JSON, "[]" when absent: the base of a CPU target change (the list is atomic, so a
  // patch must resend it whole).
  std::string metrics_json = "[]";
};

// What to change on one HPA; fields left empty are left out of the patch (and so unchanged).
struct HpaChange {
  std::optional<int> min_replicas;
  std::optional<int> max_replicas;
  std::optional<int> cpu_target_percent;
  // Set (added or overwritten); annotations not named here are kept (merge patch).
  std::map<std::string, std::string> annotations;
  // The resourceVersion the change was decided on (HpaObject::resource_version): the API server answers 409 when
  // the HPA changed since. "" sends no precondition (don't, for decisions).
  std::string resource_version;
  // The observed spec.metrics (HpaObject::metrics_json); required when cpu_target_percent is set, since the
  // whole list is resent with only the CPU Utilization target replaced.
  std::string base_metrics_json;
};

// The merge patch (application/merge-patch+json) for `change`:
// {"metadata":{"resourceVersion":..,"annotations":{..}},"spec":{"minReplicas":..,"maxReplicas":..,"metrics":[..]}}
// with only the parts that change. `metrics` is sent only for a CPU target change: base_metrics_json with the
// averageUtilization of the cpu Utilization metric replaced, every other metric as it was; "[]" (no metrics,
// which the API defaults to CPU 80 %) becomes a single cpu Utilization metric. Errors (kRejected, nothing sent):
// a CPU target without base_metrics_json, base metrics that are not a JSON array, or have metrics but no cpu
// Utilization one (adding a scaling signal is not a retuning), an annotation or resourceVersion that is not UTF-8.
Result<std::string> BuildHpaMergePatch(const HpaChange& change);

// Parses one HorizontalPodAutoscaler object (an item of a list, or a GET/PATCH answer). kBadData when it is not
// an object, or lacks metadata.name/namespace or spec.maxReplicas, or a field has the wrong type.
Result<HpaObject> ParseHpa(std::string_view json);

class KubeClient {
 public:
  // The HttpClient must outlive the KubeClient and be built with access.tls. Its timeout bounds every call
  // (keep it under the leader election's renew deadline).
  KubeClient(HttpClient& http, KubeAccess access);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // The HPAs of `namespaces` (empty: all namespaces, one cluster-wide list), following metadata.continue in
  // pages of 500. Sorted as the API server returns them (namespace, name). A failed page fails the whole list:
  // the advisor never acts on part of it.
  Result<std::vector<HpaObject>> ListHpas(const std::vector<std::string>& namespaces);

  // GET one HPA (the reconciler re-reads it just before a patch: the HPA controller writes status every 15 s,
  // so a resourceVersion from the list at the start of a long pass would be stale).
  Result<HpaObject> GetHpa(const HpaRef& ref);

  // PATCH /apis/autoscaling/v2/namespaces/NS/horizontalpodautoscalers/NAME?fieldManager=topdog-advisor
  // [&dryRun=All] with BuildHpaMergePatch(change). Returns the object as the server answered: for kDryRun, the
  // object as it would be (nothing stored, resourceVersion unchanged).
  Result<HpaObject> PatchHpa(const HpaRef& ref, const HpaChange& change, ApplyMode mode);

  // The Lease NS/NAME, nullopt when it does not exist (404).
  Result<std::optional<LeaseRecord>> GetLease(const std::string& ns, const std::string& name);
  // POST; kConflict when it exists already (someone else created it first).
  Result<LeaseRecord> CreateLease(const std::string& ns, const std::string& name, const LeaseRecord& record);
  // PUT with metadata.resourceVersion = record.resource_version; kConflict when the Lease changed since.
  Result<LeaseRecord> UpdateLease(const std::string& ns, const std::string& name, const LeaseRecord& record);

  // Errors of every call (the message names method, path, HTTP status and the Kubernetes Status message; never
  // the token):
  //   kRejected     401, 403, 400, 415, 422 (validation: the Status message says which field), other 4xx
  //   kNotFound     404 (the HPA does not exist)
  //   kConflict     409 (resourceVersion changed, or the Lease exists), 410 (a list continue token expired)
  //   kRateLimited  429; the message carries Retry-After
  //   kUnavailable  5xx; and transport errors from the HttpClient (refused, reset), kDeadlineExceeded too
  //   kBadData      a 2xx answer that is not the expected object
  //   The token file's errors (SecretFile::Read, with its path), nothing sent.

 private:
  Result<HttpResponse> Send(const std::string& method, const std::string& path_and_query, std::string body,
                            std::string_view content_type);
  Result<std::string> Token();

  HttpClient& http_;
  KubeAccess access_;
  std::unique_ptr<SecretFile> token_file_;  // null when the token is static (or there is none)
};

}  // namespace topdog::advisor
