// PrometheusSource: the HistorySource that reads Prometheus's HTTP API (`/api/v1/query_range`, chunked under the
// points-per-query limit, and `/api/v1/query`) through an HttpClient, with bearer or basic auth and retries.
// Thread-safe when the HttpClient and the sleeper are (CurlHttpClient is; the secret files are re-read under a lock).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "advisor/core/series.h"
#include "advisor/io/history_source.h"
#include "advisor/io/http_client.h"
#include "advisor/io/prometheus_api.h"
#include "common/result.h"

namespace topdog::advisor {

struct PrometheusOptions {
  // Base URL, e.g. "http://prometheus:9090" or "https://host/prometheus" behind a path prefix (a trailing '/'
  // is ignored). TLS and timeouts are the HttpClient's.
  std::string url;
  // At most one of the two: a bearer token (re-read when the file changes, as Kubernetes rotates projected
  // tokens) or basic auth (user, password from a file; an empty path means an empty password). Both set is a
  // configuration error every request reports (kRejected), as Prometheus's own config refuses it.
  std::string bearer_token_file;
  std::string basic_user, basic_password_file;
  RetryPolicy retry;
  // Points per series and query (Prometheus refuses more than 11,000); longer ranges are split into chunks.
  size_t max_points_per_query = 11000;
};

// How Prometheus's answers become errors (every message names the query, its range and, when split, the chunk;
// never a secret):
//   transport errors, 429 and 5xx  retried (SendWithRetries, Retry-After honoured, e.g. the 503 of a starting
//                                  Prometheus), then kUnavailable, or kDeadlineExceeded for a timeout (ours,
//                                  or Prometheus's 503 with errorType "timeout");
//   400 / 422                      kRejected with Prometheus's errorType and error (a bad query, too many points);
//   401 / 403 / other 4xx          kRejected;
//   200 with an unparsable answer  kBadData;
//   "warnings" in any answer       kUnavailable "partial answer: <warning>" (Prometheus answered from part of
//                                  its data: acting on it would mean acting on a shorter or lower history).
class PrometheusSource : public HistorySource {
 public:
  // `sleeper` waits between retries (production: std::this_thread::sleep_for; tests record the waits).
  PrometheusSource(HttpClient& client, PrometheusOptions options,
                   std::function<void(std::chrono::milliseconds)> sleeper);

  // query.promql over [start, end] on the grid start + i * step (gaps NaN, and so are NaN/Inf sample values).
  // Exactly one series: none is kNotFound, several is kBadData (the query must aggregate, e.g. sum by (...)).
  // A failed chunk fails the whole Fetch.
  Result<Series> Fetch(const SeriesQuery& query, double start_seconds, double end_seconds,
                       double step_seconds) override;
  const char* Name() const override { return "prometheus"; }

  // All series of a range query, ordered by labels; chunks are merged per label set (a series absent from some
  // chunks is simply shorter there). Sample values as Prometheus sent them (NaN/Inf included).
  // Errors also for a bad range (end < start, step <= 0, not finite, or over kMaxRangePoints): kRejected.
  Result<std::vector<PromSeries>> QueryRange(const std::string& promql, double start_seconds, double end_seconds,
                                             double step_seconds);

  // An instant query evaluated at `time_seconds`: one element per series (a scalar result is one element with no
  // labels), values as Prometheus sent them.
  Result<std::vector<LabeledSample>> Query(const std::string& promql, double time_seconds);

  // The longest range one QueryRange/Fetch reads (a mistyped step would otherwise send millions of chunks).
  static constexpr size_t kMaxRangePoints = 5'000'000;

 private:
  // GET <url><path_and_query> with auth and retries; the body of a 200 answer, or the mapped error.
  Result<std::string> Get(const std::string& path_and_query);
  // The Authorization header value, "" when no auth is configured.
  Result<std::string> Authorization();

  HttpClient& client_;
  const PrometheusOptions options_;
  const std::string base_url_;  // options_.url without trailing '/'
  const std::function<void(std::chrono::milliseconds)> sleeper_;
  AuthHeader auth_;
};

// Seconds as they go into Prometheus URLs: millisecond precision (what Prometheus keeps), without trailing zeros:
// 1795784723 -> "1795784723", 0.5 -> "0.5", 12.3456 -> "12.346".
std::string FormatPrometheusSeconds(double seconds);

}  // namespace topdog::advisor
