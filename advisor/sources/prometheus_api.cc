#include "advisor/sources/prometheus_api.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "common/exposition/text_parser.h"

namespace topdog::advisor {

Result<RangeAnswer> ParseQueryRange(std::string_view body) {
  auto bad = [](const std::string& why) { return MakeError(ErrorKind::kBadData, "query_range answer: " + why); };
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return bad("not a JSON object");
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_string()) return bad("no status");
  if (*status != "success") {
    std::string type = doc.value("errorType", std::string("unknown")), error = doc.value("error", std::string());
    return bad("status " + status->get<std::string>() + " (" + type + "): " + error);
  }
  RangeAnswer answer;
  if (auto warnings = doc.find("warnings"); warnings != doc.end() && warnings->is_array()) {
    for (const auto& warning : *warnings) {
      if (warning.is_string()) answer.warnings.push_back(warning.get<std::string>());
    }
  }
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_object()) return bad("no data");
  if (data->value("resultType", std::string()) != "matrix") return bad("resultType is not matrix");
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
    for (const auto& [name, value] : item["metric"].items()) {
      if (!value.is_string()) return bad(where + ": label " + name + " is not a string");
      series.labels[name] = value.get<std::string>();
    }
    for (const auto& pair : item["values"]) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string()) {
        return bad(where + ": a sample is not [time, \"value\"]");
      }
      auto value = exposition::ParseGoFloat(pair[1].get<std::string>());
      Sample sample{pair[0].get<double>(), value.value_or(0)};
      if (!value) {
        return bad(where + ": value \"" + pair[1].get<std::string>() + "\" is not a number");
      }
      if (!series.samples.empty() && !(sample.time_seconds > series.samples.back().time_seconds)) {
        return bad(where + ": times not ascending");
      }
      series.samples.push_back(sample);
    }
    answer.series.push_back(std::move(series));
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
