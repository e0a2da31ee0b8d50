#include "advisor/io/prometheus_api.h"

#include <cmath>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "common/exposition/text_parser.h"

namespace topdog::advisor {
namespace {

using BadData = std::function<tl::unexpected<Error>(const std::string&)>;

// obj[key] when it is a string, else `fallback` (json::value() throws on a type mismatch: {"errorType": 1}).
std::string StringField(const nlohmann::json& obj, const char* key, const std::string& fallback) {
  auto found = obj.find(key);
  return found != obj.end() && found->is_string() ? found->get<std::string>() : fallback;
}

// The envelope shared by every /api/v1 answer: {"status":"success","data":{...},"warnings":[...]} or
// {"status":"error","errorType":...,"error":...}. Returns the "data" object and collects the warnings.
Result<nlohmann::json> ParseEnvelope(std::string_view body, const BadData& bad, std::vector<std::string>* warnings) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) return bad("no status");
  if (*status != "success") {
    const std::string type = StringField(doc, "errorType", "unknown"), error = StringField(doc, "error", "");
    return bad("status " + status->get<std::string>() + " (" + type + "): " + error);
  }
  if (auto found = doc.find("warnings"); found != doc.end() && found->is_array()) {
    for (const auto& warning : *found) {
      if (warning.is_string()) warnings->push_back(warning.get<std::string>());
    }
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) return bad("no data");
  return std::move(*data);
}

// A [time, "value"] pair as Prometheus writes samples (the value a string, so that NaN and Inf survive JSON).
Result<Sample> ParseSamplePair(const nlohmann::json& pair, const std::string& where, const BadData& bad) {
  if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string()) {
    return bad(where + ": a sample is not [time, \"value\"]");
  }
  auto value = exposition::ParseGoFloat(pair[1].get<std::string>());
  if (!value) return bad(where + ": value \"" + pair[1].get<std::string>() + "\" is not a number");
  return Sample{pair[0].get<double>(), *value};
}

Result<std::map<std::string, std::string>> ParseLabels(const nlohmann::json& metric, const std::string& where,
                                                       const BadData& bad) {
  std::map<std::string, std::string> labels;
  for (const auto& [name, value] : metric.items()) {
    if (!value.is_string()) return bad(where + ": label " + name + " is not a string");
    labels[name] = value.get<std::string>();
  }
  return labels;
}

}  // namespace

Result<RangeAnswer> ParseQueryRange(std::string_view body) {
  const BadData bad = [](const std::string& why) {
    return MakeError(ErrorKind::kBadData, "query_range answer: " + why);
  };
  RangeAnswer answer;
  auto data = ParseEnvelope(body, bad, &answer.warnings);
  if (!data) return tl::unexpected(data.error());
  if (StringField(*data, "resultType", "") != "matrix") return bad("resultType is not matrix");
  auto result = data->find("result");
  if (result == data->end() || !result->is_array()) return bad("no result array");
  for (size_t i = 0; i < result->size(); ++i) {
    const auto& item = (*result)[i];
    const std::string where = "series " + std::to_string(i);
    if (!item.is_object() || !item.contains("metric") || !item["metric"].is_object() || !item.contains("values") ||
        !item["values"].is_array()) {
      return bad(where + " lacks metric or values");
    }
    PromSeries series;
    auto labels = ParseLabels(item["metric"], where, bad);
    if (!labels) return tl::unexpected(labels.error());
    series.labels = std::move(*labels);
    for (const auto& pair : item["values"]) {
      auto sample = ParseSamplePair(pair, where, bad);
      if (!sample) return tl::unexpected(sample.error());
      if (!series.samples.empty() && !(sample->time_seconds > series.samples.back().time_seconds)) {
        return bad(where + ": times not ascending");
      }
      series.samples.push_back(*sample);
    }
    answer.series.push_back(std::move(series));
  }
  return answer;
}

Result<InstantAnswer> ParseQuery(std::string_view body) {
  const BadData bad = [](const std::string& why) { return MakeError(ErrorKind::kBadData, "query answer: " + why); };
  InstantAnswer answer;
  auto data = ParseEnvelope(body, bad, &answer.warnings);
  if (!data) return tl::unexpected(data.error());
  auto result = data->find("result");
  if (result == data->end()) return bad("no result");
  const std::string type = StringField(*data, "resultType", "");
  if (type == "scalar") {
    auto sample = ParseSamplePair(*result, "scalar", bad);
    if (!sample) return tl::unexpected(sample.error());
    answer.samples.emplace_back(std::map<std::string, std::string>{}, *sample);
    return answer;
  }
  if (type != "vector") return bad("resultType is " + (type.empty() ? "missing" : type) + ", not vector or scalar");
  if (!result->is_array()) return bad("no result array");
  std::set<std::map<std::string, std::string>> seen;
  for (size_t i = 0; i < result->size(); ++i) {
    const auto& item = (*result)[i];
    const std::string where = "element " + std::to_string(i);
    if (!item.is_object() || !item.contains("metric") || !item["metric"].is_object() || !item.contains("value")) {
      return bad(where + " lacks metric or value");
    }
    auto labels = ParseLabels(item["metric"], where, bad);
    if (!labels) return tl::unexpected(labels.error());
    auto sample = ParseSamplePair(item["value"], where, bad);
    if (!sample) return tl::unexpected(sample.error());
    if (!seen.insert(*labels).second) return bad(where + ": the same labels as an earlier element");
    answer.samples.emplace_back(std::move(*labels), *sample);
  }
  return answer;
}

std::vector<std::pair<double, double>> SplitRange(double start, double end, double step, size_t max_points) {
  std::vector<std::pair<double, double>> out;
  if (!(step > 0) || max_points == 0 || !(end >= start)) return out;
  const double span = step * static_cast<double>(max_points - 1);
  for (double from = start; from <= end; from += span + step) {
    out.emplace_back(from, std::min(end, from + span));
  }
  return out;
}

}  // namespace topdog::advisor
