#include "advisor/io/prometheus_source.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

namespace topdog::advisor {
namespace {

// The start of a body for an error message (a proxy's HTML page, say): printable ASCII only, bounded.
std::string Snippet(std::string_view body) {
  constexpr size_t kMax = 160;
  std::string out;
  for (char c : body.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  if (body.size() > kMax) out += "...";
  return out.empty() ? "(empty body)" : out;
}

std::string LabelsText(const std::map<std::string, std::string>& labels) {
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ",";
    out += name + "=\"" + value + "\"";
  }
  return out + "}";
}

// Prometheus answered from part of its data (a remote-read or storage failure it could tolerate): unusable,
// since a shorter or lower history would make the forecast lower. Retryable: the next tick may get it all.
Error PartialAnswer(const std::vector<std::string>& warnings) {
  std::string text;
  for (const auto& warning : warnings) text += (text.empty() ? "" : "; ") + warning;
  return Error{ErrorKind::kUnavailable, "partial answer: " + text};
}

// A non-200 answer as an error. Prometheus's own errors are JSON {"status":"error","errorType":..,"error":..}
// (400 bad_data, 422 execution, 503 timeout or unavailable); anything in front of it (a proxy, an auth gateway)
// answers as it likes, so the body is only quoted, bounded.
Error StatusError(const HttpResponse& response, int attempts) {
  std::string type, message;
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    if (auto found = doc.find("errorType"); found != doc.end() && found->is_string()) type = *found;
    if (auto found = doc.find("error"); found != doc.end() && found->is_string()) message = *found;
  }
  const int status = response.status;
  std::string detail = "HTTP " + std::to_string(status) + (type.empty() ? "" : " (" + type + ")") + ": " +
                       (message.empty() ? Snippet(response.body) : message);
  const std::string retried = " (after " + std::to_string(attempts) + " attempts)";
  if (status == 400 || status == 422) return Error{ErrorKind::kRejected, "Prometheus rejected the query: " + detail};
  if (status == 401 || status == 403) {
    // The body is not quoted: it is a gateway's, and what we sent must not echo back into logs.
    return Error{ErrorKind::kRejected, "HTTP " + std::to_string(status) +
                                           ": not authorized (check bearer_token_file or the basic auth user)"};
  }
  if (IsRetryableStatus(status)) {
    const ErrorKind kind = type == "timeout" ? ErrorKind::kDeadlineExceeded : ErrorKind::kUnavailable;
    return Error{kind, detail + retried};
  }
  if (status >= 400 && status < 500) return Error{ErrorKind::kRejected, detail};
  return Error{ErrorKind::kBadData, "unexpected " + detail};
}

}  // namespace

std::string FormatPrometheusSeconds(double seconds) {
  char text[64];
  std::snprintf(text, sizeof text, "%.3f", seconds);
  std::string out(text);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

PrometheusSource::PrometheusSource(HttpClient& client, PrometheusOptions options,
                                   std::function<void(std::chrono::milliseconds)> sleeper)
    : client_(client),
      options_(std::move(options)),
      base_url_(options_.url.substr(0, options_.url.find_last_not_of('/') + 1)),
      sleeper_(std::move(sleeper)),
      auth_(options_.bearer_token_file, options_.basic_user, options_.basic_password_file) {}

Result<std::string> PrometheusSource::Authorization() { return auth_.Value(); }

Result<std::string> PrometheusSource::Get(const std::string& path_and_query) {
  auto authorization = Authorization();
  if (!authorization) return tl::unexpected(authorization.error());
  HttpRequest request;
  request.url = base_url_ + path_and_query;
  request.headers.emplace_back("Accept", "application/json");
  if (!authorization->empty()) request.headers.emplace_back("Authorization", *authorization);
  auto response = SendWithRetries(client_, request, options_.retry, sleeper_);
  if (!response) {
    const Error& error = response.error();
    const bool retried = error.kind == ErrorKind::kUnavailable || error.kind == ErrorKind::kDeadlineExceeded;
    if (!retried) return tl::unexpected(error);
    return tl::unexpected(Error{
        error.kind, error.message + " (after " + std::to_string(std::max(options_.retry.attempts, 1)) + " attempts)"});
  }
  if (response->status != 200) {
    Error error = StatusError(*response, std::max(options_.retry.attempts, 1));
    // A proxy's page that echoes our request must not put the credentials (the header value or the bare token
    // or password inside it) into a log line.
    const std::string& header = *authorization;
    error.message = RedactSecret(std::move(error.message), header);
    if (const size_t space = header.find(' '); space != std::string::npos) {
      error.message = RedactSecret(std::move(error.message), std::string_view(header).substr(space + 1));
    }
    return tl::unexpected(std::move(error));
  }
  return std::move(response->body);
}

Result<std::vector<PromSeries>> PrometheusSource::QueryRange(const std::string& promql, double start_seconds,
                                                             double end_seconds, double step_seconds) {
  const std::string context = "prometheus query_range \"" + promql + "\" [" + FormatPrometheusSeconds(start_seconds) +
                              ", " + FormatPrometheusSeconds(end_seconds) + "] step " +
                              FormatPrometheusSeconds(step_seconds);
  if (!std::isfinite(start_seconds) || !std::isfinite(end_seconds) || !std::isfinite(step_seconds) ||
      !(step_seconds > 0) || end_seconds < start_seconds) {
    return MakeError(ErrorKind::kRejected, context + ": not a range (REQUIRES start <= end, step > 0)");
  }
  if ((end_seconds - start_seconds) / step_seconds + 1 > static_cast<double>(kMaxRangePoints)) {
    return MakeError(ErrorKind::kRejected,
                     context + ": more than " + std::to_string(kMaxRangePoints) + " points; use a longer step");
  }
  const auto chunks =
      SplitRange(start_seconds, end_seconds, step_seconds, std::max<size_t>(options_.max_points_per_query, 1));
  std::map<std::map<std::string, std::string>, PromSeries> merged;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto [from, to] = chunks[i];
    const std::string where = chunks.size() == 1
                                  ? context
                                  : context + " chunk " + std::to_string(i + 1) + "/" + std::to_string(chunks.size()) +
                                        " [" + FormatPrometheusSeconds(from) + ", " + FormatPrometheusSeconds(to) + "]";
    auto body = Get("/api/v1/query_range?query=" + UrlEncode(promql) + "&start=" + FormatPrometheusSeconds(from) +
                    "&end=" + FormatPrometheusSeconds(to) + "&step=" + FormatPrometheusSeconds(step_seconds));
    if (!body) return tl::unexpected(body.error().WithContext(where));
    auto answer = ParseQueryRange(*body);
    if (!answer) return tl::unexpected(answer.error().WithContext(where));
    if (!answer->warnings.empty()) return tl::unexpected(PartialAnswer(answer->warnings).WithContext(where));
    std::set<const std::map<std::string, std::string>*> in_this_chunk;
    for (PromSeries& series : answer->series) {
      auto [it, is_new] = merged.try_emplace(series.labels);
      if (!in_this_chunk.insert(&it->first).second) {
        return MakeError(ErrorKind::kBadData, where + ": two series with labels " + LabelsText(series.labels));
      }
      std::vector<Sample>& samples = it->second.samples;
      if (is_new) it->second.labels = series.labels;
      // Chunks share no point and come in time order, so each chunk's samples follow the previous ones.
      if (!samples.empty() && !series.samples.empty() &&
          !(series.samples.front().time_seconds > samples.back().time_seconds)) {
        return MakeError(ErrorKind::kBadData, where + ": samples overlap the previous chunk's");
      }
      samples.insert(samples.end(), series.samples.begin(), series.samples.end());
    }
  }
  std::vector<PromSeries> out;
  out.reserve(merged.size());
  for (auto& [labels, series] : merged) out.push_back(std::move(series));
  return out;
}

Result<Series> PrometheusSource::Fetch(const SeriesQuery& query, double start_seconds, double end_seconds,
                                       double step_seconds) {
  if (query.promql.empty()) return MakeError(ErrorKind::kRejected, "prometheus: no PromQL for this series");
  auto all = QueryRange(query.promql, start_seconds, end_seconds, step_seconds);
  if (!all) return tl::unexpected(all.error());
  const std::string context = "prometheus query_range \"" + query.promql + "\"";
  if (all->empty()) return MakeError(ErrorKind::kNotFound, context + ": query returned no series");
  if (all->size() > 1) {
    return MakeError(ErrorKind::kBadData, context + ": query returns " + std::to_string(all->size()) +
                                              " series (e.g. " + LabelsText(all->front().labels) +
                                              "); aggregate it (sum by ...)");
  }
  Series series;
  series.start_seconds = start_seconds;
  series.step_seconds = step_seconds;
  // The same grid Prometheus evaluates: start, start + step, ... up to end (the epsilon absorbs float division).
  const auto points = static_cast<size_t>(std::floor((end_seconds - start_seconds) / step_seconds + 1e-9)) + 1;
  series.values.assign(points, std::nan(""));
  for (const Sample& sample : all->front().samples) {
    // Prometheus stamps each point with its evaluation time (rounded to the millisecond): the nearest index.
    const double index = std::round((sample.time_seconds - start_seconds) / step_seconds);
    if (index < 0 || index >= static_cast<double>(points) || !std::isfinite(sample.value)) continue;
    series.values[static_cast<size_t>(index)] = sample.value;
  }
  return series;
}

Result<std::vector<LabeledSample>> PrometheusSource::Query(const std::string& promql, double time_seconds) {
  const std::string context = "prometheus query \"" + promql + "\" at " + FormatPrometheusSeconds(time_seconds);
  if (!std::isfinite(time_seconds)) return MakeError(ErrorKind::kRejected, context + ": not a time");
  auto body = Get("/api/v1/query?query=" + UrlEncode(promql) + "&time=" + FormatPrometheusSeconds(time_seconds));
  if (!body) return tl::unexpected(body.error().WithContext(context));
  auto answer = ParseQuery(*body);
  if (!answer) return tl::unexpected(answer.error().WithContext(context));
  if (!answer->warnings.empty()) return tl::unexpected(PartialAnswer(answer->warnings).WithContext(context));
  return std::move(answer->samples);
}

}  // namespace topdog::advisor
