// Scraper: the embedded mode's collection (no Prometheus): each round GETs every exporter's /metrics, parses the
// text format, and records one value per configured key into the SharedHistory: a sum over all targets of
// gauges, or of per-second counter rates. A round with any failed target records nothing (never partial data).
// Not thread-safe: one thread calls ScrapeOnce; the history it writes is shared safely with readers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "advisor/io/embedded_source.h"
#include "advisor/io/http_client.h"
#include "common/exposition/text_parser.h"
#include "common/result.h"

namespace topdog::advisor {

// One exporter. TLS options live in the HttpClient the caller gives the Scraper.
struct ScrapeTarget {
  // Unique; the `target` label of the daemon's scrape metrics.
  std::string name;
  // E.g. http://10.0.0.5:9100/metrics.
  std::string url;
  // Sends "Authorization: Bearer <file content>"; the file is re-read when it changes.
  std::string bearer_token_file;
  // Basic auth when basic_user is set (exclusive with the bearer token).
  std::string basic_user, basic_password_file;
};

// One key of the history: which samples it sums.
struct EmbeddedSeries {
  std::string key;     // HistoryStore key, what SeriesQuery::embedded_key names
  std::string metric;  // sample name as written on the page, e.g. node_cpu_seconds_total
  // Label equality; a value "" means the label is absent (or empty, which Prometheus treats the same).
  std::map<std::string, std::string> match;
  bool counter = false;  // record the per-second rate (sum of per-series rates) instead of the value
};

struct ScraperOptions {
  // One thread per target per round, so one slow exporter costs a round at most one client timeout. The
  // HttpClient must then be thread-safe (CurlHttpClient is; FakeHttpClient is not: tests set false).
  bool parallel = true;
  size_t max_body_bytes = 32u << 20;  // also enforced by CurlHttpClient's own limit when that is lower
  exposition::ParseLimits parse_limits;
};

// What a round did, for the daemon's metrics (topdog_advisor_scrape_up{target}, ..._duration_seconds{target},
// ..._samples{target}) and one warning log per failed target.
struct TargetScrape {
  std::string name;
  bool up = false;
  double duration_seconds = 0;  // request + parse, monotonic clock
  size_t samples = 0;           // samples on the page
  std::string error;            // when !up: HTTP error, status, or the parser's line-numbered message
};

struct ScrapeReport {
  double time_seconds = 0;
  std::vector<TargetScrape> targets;  // in configuration order
  bool complete = false;              // every target up: values were recorded
  size_t keys_recorded = 0;
  std::vector<std::string> store_errors;  // HistoryStore refusals (should not happen with a validated config)
};

// Checks names are unique and non-empty, URLs are http(s), every key names a metric, keys are unique and fit
// in max_series. Errors: kRejected, naming the offending entry.
Result<void> ValidateScrapeConfig(const std::vector<ScrapeTarget>& targets, const std::vector<EmbeddedSeries>& series,
                                  const HistoryGeometry& geometry);

// How values become history:
// - Gauge key: the sum of the matching samples of all targets. No matching sample anywhere: no value.
// - Counter key: the sum over all matching series (per target) of the per-second rate since that series'
//   previous sample, with Prometheus's reset rule (a decrease means a restart from zero: the increase is the new
//   value). A series seen for the first time has no rate yet, and then the key gets no value this round rather
//   than an undercount; a series gone from a page is forgotten.
// - A failed target (transport error, non-200, body over the limit, unparsable page, a duplicated series) makes
//   the whole round record nothing: every key sums across targets, so every key would be partial. Its counter
//   state is kept, so its next good scrape yields the rate over the longer interval; the targets that did
//   answer update theirs.
// - All targets' samples are stamped with the round's time (now_seconds; sample timestamps on pages are
//   ignored), so the rates of all targets cover the same interval.
// - Several rounds within one history step: the step holds the mean of the recorded rounds' values (the
//   store keeps the last write of a step, so the running mean is rewritten each round).
class Scraper {
 public:
  // Errors: ValidateScrapeConfig's. `client` and `history` must outlive the Scraper.
  static Result<std::unique_ptr<Scraper>> Create(HttpClient& client, std::vector<ScrapeTarget> targets,
                                                 std::vector<EmbeddedSeries> series, SharedHistory& history,
                                                 ScraperOptions options = {});
  ~Scraper();
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // One round at `now_seconds` (the daemon's wall clock; a simulated one in tests and the benchmark). Blocks
  // until every target answered or failed (the client's timeouts bound it).
  ScrapeReport ScrapeOnce(double now_seconds);

  std::vector<std::string> Keys() const;

 private:
  struct Target;
  struct Page;
  struct StepMean {
    int64_t step = INT64_MIN;
    double sum = 0;
    size_t count = 0;
  };

  Scraper(HttpClient& client, std::vector<ScrapeTarget> targets, std::vector<EmbeddedSeries> series,
          SharedHistory& history, ScraperOptions options);
  void Fetch(Target& target, Page& page);

  HttpClient& client_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::vector<EmbeddedSeries> series_;
  std::unordered_multimap<std::string, size_t> series_by_metric_;  // metric -> index in series_
  SharedHistory& history_;
  ScraperOptions options_;
  std::vector<StepMean> means_;  // per series_
};

}  // namespace topdog::advisor
