// libFuzzer target: ParseHpa (HorizontalPodAutoscaler objects from the API server's list and PATCH answers) and
// BuildHpaMergePatch on arbitrary bytes; neither may crash or throw. For an HPA that parses, a retuning built
// from it (min/max/CPU target/annotations, its metrics as the base) is a JSON merge patch that, applied to the
// object as RFC 7386 says, reads back with exactly the changed values and everything else as it was.
// The bytes are also used as the observed metrics list and as an annotation value of a change.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "advisor/io/kube_client.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using nlohmann::json;
using topdog::ErrorKind;
using topdog::advisor::BuildHpaMergePatch;
using topdog::advisor::HpaChange;
using topdog::advisor::HpaObject;
using topdog::advisor::ParseHpa;
using topdog::fuzz::Check;

// FNV-1a: the change's numbers come from the input, so they vary with it without breaking the JSON seeds.
uint32_t Hash(std::string_view text) {
  uint32_t hash = 2166136261u;
  for (char c : text) hash = (hash ^ static_cast<uint8_t>(c)) * 16777619u;
  return hash;
}

json ParseJson(std::string_view text) { return json::parse(text, nullptr, /*allow_exceptions=*/false); }

// Whether `metrics` (a JSON list) has a cpu Utilization metric, the one a CPU target change retunes.
bool HasCpuUtilization(const json& metrics) {
  for (const json& metric : metrics) {
    if (!metric.is_object() || metric.value("type", json()) != "Resource") continue;
    auto resource = metric.find("resource");
    if (resource == metric.end() || !resource->is_object() || resource->value("name", json()) != "cpu") continue;
    auto target = resource->find("target");
    if (target != resource->end() && target->is_object() && target->value("type", json()) == "Utilization") {
      return true;
    }
  }
  return false;
}

void CheckRetuning(std::string_view text, const HpaObject& hpa, uint32_t hash) {
  HpaChange change;
  change.min_replicas = static_cast<int>(1 + hash % 50);
  change.max_replicas = *change.min_replicas + static_cast<int>((hash >> 8) % 100);
  change.cpu_target_percent = static_cast<int>(1 + (hash >> 16) % 100);
  change.resource_version = hpa.resource_version;
  change.base_metrics_json = hpa.metrics_json;
  change.annotations["advisor.topdog.dev/last-decision"] = "retune: " + std::to_string(hash);
  for (const auto& [key, value] : hpa.annotations) change.annotations.emplace(key, value + "+");
  const json metrics = ParseJson(hpa.metrics_json);
  Check(metrics.is_array());  // ParseHpa keeps spec.metrics as compact JSON, "[]" when absent
  const bool retunable = metrics.empty() || HasCpuUtilization(metrics);
  auto patch = BuildHpaMergePatch(change);
  if (!retunable) {
    // Adding a scaling signal is not a retuning: refused, nothing sent.
    Check(!patch && patch.error().kind == ErrorKind::kRejected);
    change.cpu_target_percent.reset();
    patch = BuildHpaMergePatch(change);
  }
  Check(patch.has_value());
  const json patch_json = ParseJson(*patch);
  Check(patch_json.is_object());
  Check(patch_json.contains("spec") && patch_json["spec"].contains("minReplicas"));
  if (!change.cpu_target_percent) Check(!patch_json["spec"].contains("metrics"));  // metrics is atomic: omit it

  json patched = ParseJson(text);
  patched.merge_patch(patch_json);
  auto after = ParseHpa(patched.dump());
  Check(after.has_value());
  Check(after->ref == hpa.ref && after->resource_version == hpa.resource_version);
  Check(after->min_replicas == *change.min_replicas && after->max_replicas == *change.max_replicas);
  Check(after->cpu_target_percent == (change.cpu_target_percent ? change.cpu_target_percent : hpa.cpu_target_percent));
  for (const auto& [key, value] : change.annotations) Check(after->annotations.at(key) == value);
  Check(after->annotations.size() == change.annotations.size());  // every old key was overwritten, none lost
  Check(after->target_kind == hpa.target_kind && after->target_name == hpa.target_name);
  Check(after->current_replicas == hpa.current_replicas && after->desired_replicas == hpa.desired_replicas);
  // Every metric other than the retuned CPU target is resent as it was.
  const json after_metrics = ParseJson(after->metrics_json);
  if (!change.cpu_target_percent) {
    Check(after_metrics == metrics);
  } else if (!metrics.empty()) {
    Check(after_metrics.size() == metrics.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = topdog::fuzz::AsText(data, size);
  const uint32_t hash = Hash(text);

  auto hpa = ParseHpa(text);
  if (!hpa) {
    Check(hpa.error().kind == ErrorKind::kBadData && !hpa.error().message.empty());
  } else {
    Check(!hpa->ref.ns.empty() && !hpa->ref.name.empty());
    Check(!hpa->cpu_target_percent || *hpa->cpu_target_percent >= 0);
    CheckRetuning(text, *hpa, hash);
  }

  // The bytes as the observed spec.metrics (when they may be a list: ParseHpa above parsed them as JSON already,
  // and a parse is most of an execution): a patch retuning the CPU target, or kRejected.
  if (const size_t first = text.find_first_not_of(" \t\r\n"); first != std::string_view::npos && text[first] == '[') {
    HpaChange retune;
    retune.cpu_target_percent = static_cast<int>(hash % 101);
    retune.base_metrics_json = std::string(text);
    auto patch = BuildHpaMergePatch(retune);
    if (!patch) {
      Check(patch.error().kind == ErrorKind::kRejected);
    } else {
      const json patch_json = ParseJson(*patch);
      Check(patch_json.is_object() && HasCpuUtilization(patch_json["spec"]["metrics"]));
    }
  }

  // The bytes as an annotation value and a resourceVersion (not necessarily UTF-8): a patch that is JSON, or
  // kRejected; never a throw out of the JSON library.
  HpaChange note;
  note.annotations["advisor.topdog.dev/last-decision"] = std::string(text);
  note.resource_version = std::string(text.substr(0, 16));
  auto noted = BuildHpaMergePatch(note);
  if (!noted) {
    Check(noted.error().kind == ErrorKind::kRejected);
  } else {
    Check(ParseJson(*noted).is_object());
  }
  return 0;
}
