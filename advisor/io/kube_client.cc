#include "advisor/io/kube_client.h"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "advisor/io/bounded_json.h"

namespace topdog::advisor {
namespace {

using nlohmann::json;

constexpr std::string_view kHpaApi = "/apis/autoscaling/v2";
constexpr std::string_view kLeaseApi = "/apis/coordination.k8s.io/v1";
constexpr int kListPageSize = 500;

Error BadAnswer(std::string_view what, const std::string& why) {
  return Error{ErrorKind::kBadData, std::string(what) + ": " + why};
}

// An int32 field; `fallback` when absent or null.
Result<int> GetInt(const json& object, const char* key, int fallback, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || *it < std::numeric_limits<int>::min() || *it > std::numeric_limits<int>::max()) {
    return MakeError(ErrorKind::kBadData, std::string(where) + "." + key + " is not an integer");
  }
  return it->get<int>();
}

Result<std::string> GetString(const json& object, const char* key, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::string();
  if (!it->is_string()) return MakeError(ErrorKind::kBadData, std::string(where) + "." + key + " is not a string");
  return it->get<std::string>();
}

const json& ObjectOrEmpty(const json& parent, const char* key) {
  static const json kEmpty = json::object();
  auto it = parent.find(key);
  return it != parent.end() && it->is_object() ? *it : kEmpty;
}

bool IsCpuUtilization(const json& metric) {
  if (!metric.is_object() || metric.value("type", json()) != "Resource") return false;
  const json& resource = ObjectOrEmpty(metric, "resource");
  return resource.value("name", json()) == "cpu" && ObjectOrEmpty(resource, "target").value("type", json()) ==
                                                         "Utilization";
}

Result<HpaObject> ParseHpaJson(const json& doc) {
  if (!doc.is_object()) return MakeError(ErrorKind::kBadData, "HPA: not a JSON object");
  HpaObject hpa;
  const json& metadata = ObjectOrEmpty(doc, "metadata");
  auto name = GetString(metadata, "name", "metadata");
  auto ns = GetString(metadata, "namespace", "metadata");
  auto rv = GetString(metadata, "resourceVersion", "metadata");
  if (!name || !ns || !rv) return tl::unexpected(!name ? name.error() : !ns ? ns.error() : rv.error());
  if (name->empty() || ns->empty()) return MakeError(ErrorKind::kBadData, "HPA: no metadata.name or namespace");
  hpa.ref = HpaRef{*ns, *name};
  hpa.resource_version = *rv;
  if (auto generation = metadata.find("generation"); generation != metadata.end() && generation->is_number_integer()) {
    hpa.generation = generation->get<long long>();
  }
  const std::string where = "HPA " + *ns + "/" + *name;
  auto bad = [&](const std::string& why) { return tl::unexpected(BadAnswer(where, why)); };
  if (auto annotations = metadata.find("annotations"); annotations != metadata.end() && !annotations->is_null()) {
    if (!annotations->is_object()) return bad("metadata.annotations is not an object");
    for (const auto& [key, value] : annotations->items()) {
      if (!value.is_string()) return bad("annotation " + key + " is not a string");
      hpa.annotations[key] = value.get<std::string>();
    }
  }
  auto spec_it = doc.find("spec");
  if (spec_it == doc.end() || !spec_it->is_object()) return bad("no spec");
  const json& spec = *spec_it;
  auto min_replicas = GetInt(spec, "minReplicas", 1, "spec");
  auto max_replicas = GetInt(spec, "maxReplicas", 0, "spec");
  if (!min_replicas) return bad(min_replicas.error().message);
  if (!max_replicas) return bad(max_replicas.error().message);
  if (!spec.contains("maxReplicas")) return bad("no spec.maxReplicas");
  hpa.min_replicas = *min_replicas;
  hpa.max_replicas = *max_replicas;
  const json& target = ObjectOrEmpty(spec, "scaleTargetRef");
  auto kind = GetString(target, "kind", "spec.scaleTargetRef");
  auto target_name = GetString(target, "name", "spec.scaleTargetRef");
  if (!kind || !target_name) return bad(!kind ? kind.error().message : target_name.error().message);
  hpa.target_kind = *kind;
  hpa.target_name = *target_name;
  if (auto metrics = spec.find("metrics"); metrics != spec.end() && !metrics->is_null()) {
    if (!metrics->is_array()) return bad("spec.metrics is not a list");
    hpa.metrics_json = metrics->dump();
    for (const json& metric : *metrics) {
      if (!IsCpuUtilization(metric)) continue;
      auto percent = GetInt(ObjectOrEmpty(ObjectOrEmpty(metric, "resource"), "target"), "averageUtilization", -1,
                            "spec.metrics[cpu].resource.target");
      if (!percent) return bad(percent.error().message);
      if (*percent >= 0) hpa.cpu_target_percent = *percent;
      break;
    }
  }
  const json& status = ObjectOrEmpty(doc, "status");
  auto current = GetInt(status, "currentReplicas", 0, "status");
  auto desired = GetInt(status, "desiredReplicas", 0, "status");
  if (!current) return bad(current.error().message);
  if (!desired) return bad(desired.error().message);
  hpa.current_replicas = *current;
  hpa.desired_replicas = *desired;
  return hpa;
}

json LeaseJson(const std::string& ns, const std::string& name, const LeaseRecord& record) {
  json metadata = {{"name", name}, {"namespace", ns}};
  if (!record.resource_version.empty()) metadata["resourceVersion"] = record.resource_version;
  return json{
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", metadata},
      {"spec",
       {{"holderIdentity", record.holder},
        // An integer in the API; never 0, which the API server rejects.
        {"leaseDurationSeconds", std::max(1L, std::lround(record.lease_duration_seconds))},
        {"acquireTime", FormatMicroTime(record.acquire_time_seconds)},
        {"renewTime", FormatMicroTime(record.renew_time_seconds)},
        {"leaseTransitions", record.transitions}}},
  };
}

Result<LeaseRecord> ParseLease(std::string_view body) {
  const json doc = ParseBoundedJson(body);
  if (doc.is_discarded() || !doc.is_object()) return MakeError(ErrorKind::kBadData, "Lease: not a JSON object");
  LeaseRecord record;
  auto rv = GetString(ObjectOrEmpty(doc, "metadata"), "resourceVersion", "Lease metadata");
  if (!rv) return tl::unexpected(rv.error());
  record.resource_version = *rv;
  const json& spec = ObjectOrEmpty(doc, "spec");
  auto holder = GetString(spec, "holderIdentity", "Lease spec");
  auto duration = GetInt(spec, "leaseDurationSeconds", 0, "Lease spec");
  auto transitions = GetInt(spec, "leaseTransitions", 0, "Lease spec");
  auto acquire = GetString(spec, "acquireTime", "Lease spec");
  auto renew = GetString(spec, "renewTime", "Lease spec");
  if (!holder) return tl::unexpected(holder.error());
  if (!duration) return tl::unexpected(duration.error());
  if (!transitions) return tl::unexpected(transitions.error());
  if (!acquire) return tl::unexpected(acquire.error());
  if (!renew) return tl::unexpected(renew.error());
  record.holder = *holder;
  record.lease_duration_seconds = *duration;
  record.transitions = *transitions;
  for (auto [text, out] : {std::pair{&*acquire, &record.acquire_time_seconds},
                           std::pair{&*renew, &record.renew_time_seconds}}) {
    if (text->empty()) continue;
    auto seconds = ParseMicroTime(*text);
    if (!seconds) return tl::unexpected(seconds.error().WithContext("Lease spec"));
    *out = *seconds;
  }
  return record;
}

// The error for a non-2xx answer: kind by status, message from the Kubernetes Status object when there is one.
Error StatusError(const std::string& method, const std::string& path, const HttpResponse& response) {
  std::string detail;
  const json status = ParseBoundedJson(response.body);
  if (status.is_object() && status.value("kind", json()) == "Status") {
    auto text = [&](const char* key) {
      auto it = status.find(key);
      return it != status.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string reason = text("reason"), message = text("message");
    detail = reason.empty() ? message : reason + ": " + message;
  } else {
    // Not a Status (a proxy's error page): a bounded excerpt, enough to recognise it in a log.
    detail = response.body.substr(0, 200);
  }
  ErrorKind kind = ErrorKind::kRejected;
  const int code = response.status;
  if (code == 404) {
    kind = ErrorKind::kNotFound;
  } else if (code == 409 || code == 410) {
    kind = ErrorKind::kConflict;
  } else if (code == 429) {
    kind = ErrorKind::kRateLimited;
    std::string_view retry_after = response.Header("retry-after");
    detail += " (Retry-After: " + (retry_after.empty() ? std::string("none") : std::string(retry_after.substr(0, 32))) +
              ")";
  } else if (code >= 500) {
    kind = ErrorKind::kUnavailable;
  }
  return Error{kind, method + " " + path + ": HTTP " + std::to_string(code) + (detail.empty() ? "" : ": " + detail)};
}

std::string HpaPath(const HpaRef& ref) {
  return std::string(kHpaApi) + "/namespaces/" + UrlEncode(ref.ns) + "/horizontalpodautoscalers/" +
         UrlEncode(ref.name);
}

std::string LeasePath(const std::string& ns, const std::string& name) {
  return std::string(kLeaseApi) + "/namespaces/" + UrlEncode(ns) + "/leases" +
         (name.empty() ? "" : "/" + UrlEncode(name));
}

}  // namespace

Result<std::string> BuildHpaMergePatch(const HpaChange& change) {
  json metadata = json::object();
  if (!change.resource_version.empty()) metadata["resourceVersion"] = change.resource_version;
  if (!change.annotations.empty()) {
    json annotations = json::object();
    for (const auto& [key, value] : change.annotations) annotations[key] = value;
    metadata["annotations"] = std::move(annotations);
  }
  json spec = json::object();
  if (change.min_replicas) spec["minReplicas"] = *change.min_replicas;
  if (change.max_replicas) spec["maxReplicas"] = *change.max_replicas;
  if (change.cpu_target_percent) {
    if (change.base_metrics_json.empty()) {
      return MakeError(ErrorKind::kRejected, "a CPU target change needs the HPA's observed spec.metrics");
    }
    json metrics = ParseBoundedJson(change.base_metrics_json);
    if (metrics.is_discarded() || !metrics.is_array()) {
      return MakeError(ErrorKind::kRejected, "the observed spec.metrics is not a JSON list");
    }
    if (metrics.empty()) {
      // No metrics means CPU at 80 % to the API server: the explicit metric says the same with our target.
      metrics.push_back({{"type", "Resource"},
                         {"resource", {{"name", "cpu"}, {"target", {{"type", "Utilization"}}}}}});
    }
    bool found = false;
    for (json& metric : metrics) {
      if (!IsCpuUtilization(metric)) continue;
      metric["resource"]["target"]["averageUtilization"] = *change.cpu_target_percent;
      found = true;
      break;
    }
    if (!found) {
      return MakeError(ErrorKind::kRejected,
                       "the HPA has no cpu Utilization metric whose target could be changed (not adding one)");
    }
    spec["metrics"] = std::move(metrics);
  }
  json patch = json::object();
  if (!metadata.empty()) patch["metadata"] = std::move(metadata);
  if (!spec.empty()) patch["spec"] = std::move(spec);
  // dump() throws on a string that is not UTF-8; it must not leave the adapter.
  try {
    return patch.dump();
  } catch (const json::type_error&) {
    return MakeError(ErrorKind::kRejected, "an annotation or the resourceVersion of the change is not UTF-8");
  }
}

Result<HpaObject> ParseHpa(std::string_view text) {
  const json doc = ParseBoundedJson(text);
  if (doc.is_discarded()) return MakeError(ErrorKind::kBadData, "HPA: not JSON");
  return ParseHpaJson(doc);
}

KubeClient::KubeClient(HttpClient& http, KubeAccess access) : http_(http), access_(std::move(access)) {
  while (!access_.server.empty() && access_.server.back() == '/') access_.server.pop_back();
  if (!access_.token_file.empty()) token_file_ = std::make_unique<SecretFile>(access_.token_file);
}

KubeClient::~KubeClient() = default;

Result<std::string> KubeClient::Token() {
  if (token_file_) return token_file_->Read();
  return access_.token;
}

Result<HttpResponse> KubeClient::Send(const std::string& method, const std::string& path_and_query,
                                      std::string body, std::string_view content_type) {
  auto token = Token();
  if (!token) return tl::unexpected(token.error().WithContext("Kubernetes API token"));
  HttpRequest request;
  request.method = method;
  request.url = access_.server + path_and_query;
  request.headers.emplace_back("Accept", "application/json");
  if (!token->empty()) request.headers.emplace_back("Authorization", "Bearer " + *token);
  if (!content_type.empty()) request.headers.emplace_back("Content-Type", std::string(content_type));
  request.body = std::move(body);
  // The path without the query names the call in errors (a continue token is long and says nothing).
  const std::string path = path_and_query.substr(0, path_and_query.find('?'));
  auto response = http_.Send(request);
  if (!response) return tl::unexpected(response.error().WithContext(method + " " + path));
  if (response->status < 200 || response->status > 299) {
    Error error = StatusError(method, path, *response);
    error.message = RedactSecret(std::move(error.message), *token);
    return tl::unexpected(std::move(error));
  }
  return response;
}

Result<HpaObject> KubeClient::GetHpa(const HpaRef& ref) {
  auto response = Send("GET", HpaPath(ref), "", "");
  if (!response) return tl::unexpected(response.error());
  auto hpa = ParseHpa(response->body);
  if (!hpa) return tl::unexpected(hpa.error().WithContext("GET " + HpaPath(ref)));
  return hpa;
}

Result<std::vector<HpaObject>> KubeClient::ListHpas(const std::vector<std::string>& namespaces) {
  std::vector<std::string> collections;
  if (namespaces.empty()) {
    collections.push_back(std::string(kHpaApi) + "/horizontalpodautoscalers");
  } else {
    for (const std::string& ns : namespaces) {
      collections.push_back(std::string(kHpaApi) + "/namespaces/" + UrlEncode(ns) + "/horizontalpodautoscalers");
    }
  }
  std::vector<HpaObject> out;
  for (const std::string& collection : collections) {
    std::string continue_token;
    do {
      std::string query = "?limit=" + std::to_string(kListPageSize);
      if (!continue_token.empty()) query += "&continue=" + UrlEncode(continue_token);
      auto response = Send("GET", collection + query, "", "");
      if (!response) return tl::unexpected(response.error());
      const json doc = ParseBoundedJson(response->body);
      const std::string where = "GET " + collection;
      if (doc.is_discarded() || !doc.is_object()) return tl::unexpected(BadAnswer(where, "not a JSON object"));
      auto items = doc.find("items");
      if (items == doc.end() || !(items->is_array() || items->is_null())) {
        return tl::unexpected(BadAnswer(where, "no items list"));
      }
      if (items->is_array()) {
        for (const json& item : *items) {
          auto hpa = ParseHpaJson(item);
          if (!hpa) return tl::unexpected(hpa.error().WithContext(where));
          out.push_back(std::move(*hpa));
        }
      }
      auto next = GetString(ObjectOrEmpty(doc, "metadata"), "continue", "list metadata");
      if (!next) return tl::unexpected(next.error().WithContext(where));
      continue_token = *next;
    } while (!continue_token.empty());
  }
  return out;
}

Result<HpaObject> KubeClient::PatchHpa(const HpaRef& ref, const HpaChange& change, ApplyMode mode) {
  auto body = BuildHpaMergePatch(change);
  if (!body) return tl::unexpected(body.error().WithContext("HPA " + ref.ns + "/" + ref.name));
  std::string query = "?fieldManager=" + UrlEncode(kFieldManager);
  if (mode == ApplyMode::kDryRun) query += "&dryRun=All";
  auto response = Send("PATCH", HpaPath(ref) + query, std::move(*body), "application/merge-patch+json");
  if (!response) return tl::unexpected(response.error());
  auto hpa = ParseHpa(response->body);
  if (!hpa) return tl::unexpected(hpa.error().WithContext("PATCH " + HpaPath(ref)));
  return hpa;
}

Result<std::optional<LeaseRecord>> KubeClient::GetLease(const std::string& ns, const std::string& name) {
  auto response = Send("GET", LeasePath(ns, name), "", "");
  if (!response) {
    if (response.error().kind == ErrorKind::kNotFound) return std::optional<LeaseRecord>();
    return tl::unexpected(response.error());
  }
  auto record = ParseLease(response->body);
  if (!record) return tl::unexpected(record.error().WithContext("GET " + LeasePath(ns, name)));
  return std::optional<LeaseRecord>(std::move(*record));
}

Result<LeaseRecord> KubeClient::CreateLease(const std::string& ns, const std::string& name,
                                            const LeaseRecord& record) {
  LeaseRecord fresh = record;
  fresh.resource_version.clear();  // a create must not carry one
  const std::string path = LeasePath(ns, "");
  auto response = Send("POST", path + "?fieldManager=" + UrlEncode(kFieldManager), LeaseJson(ns, name, fresh).dump(),
                       "application/json");
  if (!response) return tl::unexpected(response.error());
  auto created = ParseLease(response->body);
  if (!created) return tl::unexpected(created.error().WithContext("POST " + path));
  return created;
}

Result<LeaseRecord> KubeClient::UpdateLease(const std::string& ns, const std::string& name,
                                            const LeaseRecord& record) {
  const std::string path = LeasePath(ns, name);
  auto response = Send("PUT", path + "?fieldManager=" + UrlEncode(kFieldManager),
                       LeaseJson(ns, name, record).dump(), "application/json");
  if (!response) return tl::unexpected(response.error());
  auto updated = ParseLease(response->body);
  if (!updated) return tl::unexpected(updated.error().WithContext("PUT " + path));
  return updated;
}

}  // namespace topdog::advisor
