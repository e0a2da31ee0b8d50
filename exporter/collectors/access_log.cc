// The accesslog collector: per-route RED metrics from NGINX access logs (plain files, or Kubernetes container
// logs in CRI format), in the text or JSON log_formats of exporter/parse/access_log.h:
//   topdog_exporter_gateway_requests_total{host,method,route,status,node}
//   topdog_exporter_gateway_request_duration_seconds{host,method,route,status_class,node}           ($request_time)
//   topdog_exporter_gateway_upstream_response_duration_seconds{host,method,route,status_class,node} (summed tries)
// (node: --collector.gateway.node-name, $NODE_NAME from the downward API; left out when empty)
// plus how the reading goes (lines by result, bytes, rotations, files, dropped labels). Label cardinality is
// bounded whatever the input: top-N routes and hosts (first come), nine methods, a cap on label sets.
//
// A reader thread follows the files every --collector.accesslog.poll-interval (LogFollower), and Collect
// reads what is left before rendering. Why a thread rather than reading only at scrapes: the kubelet rotates
// container logs at 10 MiB by default, every few seconds on a busy ingress, and a file rotated twice between
// two scrapes would be lost whole; reading continuously also keeps a scrape's work to the last second of
// lines. Collect and the thread take turns on mu_; the thread reads in slices so a scrape waits for at most one.
#include "exporter/parse/access_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <utility>

#include "common/duration.h"
#include "common/exposition/family_writer.h"
#include "common/logging.h"
#include "exporter/collectors/collectors.h"
#include "exporter/io/log_follower.h"
#include "exporter/parse/cri_log.h"
#include "exporter/parse/route_template.h"

namespace topdog::exporter {
namespace {

using Label = FamilyWriter::Label;

// Bytes the reader thread parses per turn on mu_, and what Collect reads at most before rendering (the
// thread keeps the backlog at about one poll interval of lines).
constexpr uint64_t kSliceBytes = 1 << 20;
constexpr uint64_t kCollectReadBytes = 4 << 20;
// Label sets of requests_total per admitted route (beyond: host, method and route "other", status kept).
constexpr size_t kLabelSetsPerRoute = 20;
constexpr size_t kMaxHostBytes = 255;  // a DNS name; longer hosts are "other"
constexpr double kBadLineLogSeconds = 60;

// Method labels: the nine of RFC 9110 and RFC 5789, then "other" (WebDAV, junk) and "none" (no request line:
// a TLS handshake on a plain port).
constexpr std::array<std::string_view, 11> kMethods = {"GET",     "HEAD",    "POST",  "PUT",   "DELETE", "PATCH",
                                                       "OPTIONS", "CONNECT", "TRACE", "other", "none"};
constexpr uint8_t kMethodOther = 9;
constexpr uint8_t kMethodNone = 10;
constexpr std::string_view kNone = "none";  // route of a request without a path
constexpr std::string_view kEmpty = "";     // host of a format without one

uint8_t MethodIndex(std::string_view method) {
  if (method.empty()) return kMethodNone;
  for (uint8_t i = 0; i < kMethodOther; ++i) {
    if (kMethods[i] == method) return i;
  }
  return kMethodOther;
}

enum class CriMode { kAuto, kAlways, kNever };

// A CRI record starts "YYYY-MM-DDT"; an nginx line starts with an address, '{' or whatever its format says.
// Cheap enough for every line; a look-alike that is not a record is parsed as a plain line.
bool LooksLikeCri(std::string_view line) {
  return line.size() > 20 && line[4] == '-' && line[7] == '-' && line[10] == 'T';
}

// Counts and latency histograms by label set. Bounded: TopRoutes for routes and hosts, the method table,
// statuses < 1000, and kLabelSetsPerRoute * max_routes label sets. Not thread-safe.
class RequestMetrics {
 public:
  RequestMetrics(RouteTemplater templater, size_t max_routes, size_t max_hosts, std::vector<double> bounds,
                 std::string node)
      : node_(std::move(node)),
        templater_(std::move(templater)),
        routes_(max_routes),
        hosts_(max_hosts),
        max_series_(kLabelSetsPerRoute * max_routes),
        bounds_(std::move(bounds)) {
    bounds_with_inf_ = bounds_;
    bounds_with_inf_.push_back(std::numeric_limits<double>::infinity());
    cumulative_.resize(bounds_with_inf_.size());
  }

  void Observe(const AccessLogRecord& record) {
    std::string_view route = kNone;
    if (!record.path.empty()) {
      templater_.Template(record.path, route_buffer_);
      route = routes_.Label(route_buffer_);
      if (route == kNone) route = kNone;  // a path templated to "none" and no path at all: one label, one series
    }
    std::string_view host = kEmpty;
    if (!record.host.empty()) {
      host_buffer_.clear();
      AppendUtf8Sanitized(record.host, host_buffer_);
      if (host_buffer_.size() > kMaxHostBytes) {
        host_buffer_ = TopRoutes::kOther;
        ++long_hosts_;
      }
      host = hosts_.Label(host_buffer_);
    }
    const uint8_t method = MethodIndex(record.method);
    const auto status = static_cast<uint16_t>(std::clamp(record.status, 0, 999));
    // Labels come from stable storage (TopRoutes' sets, static strings), so their addresses identify them.
    SeriesKey key{host.data(), route.data(), status, method};
    auto it = index_.find(key);
    if (it == index_.end()) {
      if (series_.size() >= max_series_) {  // fold into the overflow label set of this status
        ++series_dropped_;
        host = TopRoutes::kOther;
        route = TopRoutes::kOther;
        key = SeriesKey{host.data(), route.data(), status, kMethodOther};
        it = index_.find(key);
      }
      if (it == index_.end()) it = index_.emplace(key, NewSeries(host, route, key.method, status)).first;
    }
    Series& series = series_[it->second];
    ++series.count;
    Histogram& histogram = histograms_[series.histogram];
    histogram.request.Observe(bounds_, record.request_time_seconds);
    if (record.upstream_response_time_seconds) {
      histogram.upstream.Observe(bounds_, *record.upstream_response_time_seconds);
    }
  }

  void Write(FamilyWriter& out) {
    const size_t requests = out.Counter("topdog_exporter_gateway_requests_total",
                                        "Requests in the NGINX access logs, by host, method, route and status.");
    const size_t label_count = node_.empty() ? 4 : 5;
    for (const Series& series : series_) {
      const std::array<Label, 5> labels = {
          Label{"host", series.host}, Label{"method", kMethods[series.method]}, Label{"route", series.route},
          Label{"status", std::string_view(series.status_text.data(), 3)}, Label{"node", node_}};
      out.Sample(requests, static_cast<double>(series.count), std::span(labels.data(), label_count));
    }
    const size_t request_duration =
        out.Add("topdog_exporter_gateway_request_duration_seconds",
                "Request time in seconds ($request_time: first byte read to last byte sent), from the NGINX access "
                "logs.",
                prometheus::MetricType::Histogram);
    const size_t upstream_duration =
        out.Add("topdog_exporter_gateway_upstream_response_duration_seconds",
                "Time in seconds spent waiting on upstreams ($upstream_response_time, summed over retries and "
                "internal redirects), from the NGINX access logs; requests without an upstream are not counted.",
                prometheus::MetricType::Histogram);
    for (const Histogram& histogram : histograms_) {
      const std::array<Label, 5> labels = {
          Label{"host", histogram.host}, Label{"method", kMethods[histogram.method]}, Label{"route", histogram.route},
          Label{"status_class", std::string_view(histogram.status_class.data(), 3)}, Label{"node", node_}};
      const std::span<const Label> used(labels.data(), label_count);
      WriteHistogram(out, request_duration, used, histogram.request);
      if (histogram.upstream.count > 0) WriteHistogram(out, upstream_duration, used, histogram.upstream);
    }
    out.Single("topdog_exporter_gateway_routes_dropped_total",
               "Requests counted under route=\"other\" because --collector.accesslog.max-routes routes or the cap "
               "on label sets was reached.",
               prometheus::MetricType::Counter, static_cast<double>(routes_.overflow_total() + series_dropped_));
    out.Single("topdog_exporter_gateway_hosts_dropped_total",
               "Requests counted under host=\"other\" because --collector.accesslog.max-hosts hosts were reached "
               "(or the host was longer than a DNS name).",
               prometheus::MetricType::Counter, static_cast<double>(hosts_.overflow_total() + long_hosts_));
  }

 private:
  struct SeriesKey {
    const char* host;
    const char* route;
    uint16_t status;
    uint8_t method;
    bool operator==(const SeriesKey&) const = default;
  };
  struct SeriesKeyHash {
    size_t operator()(const SeriesKey& key) const {
      size_t h = std::hash<const void*>{}(key.host);
      h = h * 1000003u ^ std::hash<const void*>{}(key.route);
      return h * 1000003u ^ (static_cast<size_t>(key.status) << 8 | key.method);
    }
  };
  struct Buckets {
    std::vector<uint64_t> counts;  // per bucket (not cumulative), the last one +Inf
    uint64_t count = 0;
    double sum = 0;
    void Observe(const std::vector<double>& bounds, double seconds) {
      size_t i = 0;
      while (i < bounds.size() && seconds > bounds[i]) ++i;  // le: a value on a bound belongs to it
      ++counts[i];
      ++count;
      sum += seconds;
    }
  };
  struct Histogram {
    std::string_view host, route;
    uint8_t method;
    std::array<char, 3> status_class;  // "2xx"
    Buckets request, upstream;
  };
  struct Series {
    std::string_view host, route;
    uint8_t method;
    std::array<char, 3> status_text;  // "200", as nginx writes $status
    uint64_t count = 0;
    uint32_t histogram;  // index into histograms_
  };

  uint32_t NewSeries(std::string_view host, std::string_view route, uint8_t method, uint16_t status) {
    Series series{host, route, method, {}, 0, 0};
    series.status_text = {static_cast<char>('0' + status / 100), static_cast<char>('0' + status / 10 % 10),
                          static_cast<char>('0' + status % 10)};
    const std::array<char, 3> status_class = {series.status_text[0], 'x', 'x'};
    SeriesKey histogram_key{host.data(), route.data(), static_cast<uint16_t>(status / 100), method};
    auto it = histogram_index_.find(histogram_key);
    if (it == histogram_index_.end()) {
      Histogram histogram{host, route, method, status_class, {}, {}};
      histogram.request.counts.assign(bounds_.size() + 1, 0);
      histogram.upstream.counts.assign(bounds_.size() + 1, 0);
      histograms_.push_back(std::move(histogram));
      it = histogram_index_.emplace(histogram_key, static_cast<uint32_t>(histograms_.size() - 1)).first;
    }
    series.histogram = it->second;
    series_.push_back(series);
    return static_cast<uint32_t>(series_.size() - 1);
  }

  void WriteHistogram(FamilyWriter& out, size_t family, std::span<const Label> labels, const Buckets& buckets) {
    uint64_t running = 0;
    for (size_t i = 0; i < buckets.counts.size(); ++i) {
      running += buckets.counts[i];
      cumulative_[i] = running;
    }
    out.HistogramSample(family, labels, buckets.count, buckets.sum, cumulative_, bounds_with_inf_);
  }

  const std::string node_;
  RouteTemplater templater_;
  TopRoutes routes_;
  TopRoutes hosts_;
  size_t max_series_;
  std::vector<double> bounds_;
  std::vector<double> bounds_with_inf_;
  std::vector<uint64_t> cumulative_;  // scratch for WriteHistogram
  std::string route_buffer_;
  std::string host_buffer_;
  std::unordered_map<SeriesKey, uint32_t, SeriesKeyHash> index_;
  std::unordered_map<SeriesKey, uint32_t, SeriesKeyHash> histogram_index_;  // status = status class digit
  std::vector<Series> series_;                                              // in order of first appearance
  std::vector<Histogram> histograms_;
  uint64_t series_dropped_ = 0;
  uint64_t long_hosts_ = 0;
};

// Logs the first bad line, then at most one per kBadLineLogSeconds with the number left out.
class BadLineLog {
 public:
  void Add(std::string_view kind, std::string_view path, std::string_view line, std::string_view error, double now) {
    if (logged_ && now - last_seconds_ < kBadLineLogSeconds) {
      ++suppressed_;
      return;
    }
    std::string sample;
    AppendUtf8Sanitized(line.substr(0, 300), sample);
    spdlog::warn(
        "access-log line not counted as a request (a sample; at most one a minute) collector=accesslog "
        "result={} path={} err={} line={} not_logged_since_last={}",
        kind, LogQuote(path), LogQuote(error), LogQuote(sample), suppressed_);
    logged_ = true;
    last_seconds_ = now;
    suppressed_ = 0;
  }

 private:
  bool logged_ = false;
  double last_seconds_ = 0;
  uint64_t suppressed_ = 0;
};

struct LineCounts {
  uint64_t parsed = 0;
  uint64_t unparsable = 0;
  uint64_t too_long = 0;
  uint64_t ignored = 0;  // CRI stderr records: nginx's error log
};

// What every file's handler shares: the parser, the metrics, the counts. Guarded by the collector's mu_.
struct Sink {
  AccessLogParser parser;
  RequestMetrics metrics;
  CriMode cri;
  size_t max_line_bytes;
  LineCounts counts;
  BadLineLog bad_lines;
  double now = 0;  // of the current poll, for the bad-line log

  void Record(std::string_view path, std::string_view line) {
    auto record = parser.Parse(line);
    if (!record) {
      const bool too_long = line.size() > max_line_bytes;
      ++(too_long ? counts.too_long : counts.unparsable);
      bad_lines.Add(too_long ? "too_long" : "unparsable", path, line, record.error().message, now);
      return;
    }
    ++counts.parsed;
    metrics.Observe(*record);
  }
};

// The lines of one followed file: unwraps CRI records (its own joiner: partial records are per file).
class FileLines final : public LineHandler {
 public:
  FileLines(Sink& sink, std::string path, size_t max_line_bytes)
      : sink_(sink), path_(std::move(path)), joiner_(max_line_bytes) {}

  void Line(std::string_view line) override {
    if (sink_.cri == CriMode::kNever || (sink_.cri == CriMode::kAuto && !LooksLikeCri(line))) {
      sink_.Record(path_, line);
      return;
    }
    auto entry = joiner_.Add(line);
    if (!entry) {
      const bool is_record = static_cast<bool>(ParseCriLine(line));
      if (!is_record && sink_.cri == CriMode::kAuto) {
        sink_.Record(path_, line);  // a plain line that starts like a timestamp
        return;
      }
      ++(is_record ? sink_.counts.too_long : sink_.counts.unparsable);
      sink_.bad_lines.Add(is_record ? "too_long" : "unparsable", path_, line, entry.error().message, sink_.now);
      return;
    }
    if (!entry->has_value()) return;  // a partial record: the line goes on
    if ((*entry)->stream == CriStream::kStderr) {
      ++sink_.counts.ignored;
      return;
    }
    sink_.Record(path_, (*entry)->content);
  }

  void TooLong(std::string_view head, uint64_t bytes) override {
    ++sink_.counts.too_long;
    sink_.bad_lines.Add("too_long", path_, head,
                        "line of " + std::to_string(bytes) + " bytes is longer than the " +
                            std::to_string(sink_.max_line_bytes) + "-byte limit",
                        sink_.now);
  }

  void Reset() override { joiner_.Reset(); }

 private:
  Sink& sink_;
  const std::string path_;
  CriJoiner joiner_;
};

class AccessLogCollector final : public Collector {
 public:
  AccessLogCollector(const CollectorDeps& deps, Sink sink, LogFollowerOptions follower_options,
                     std::chrono::milliseconds poll_interval)
      : system_(deps.system),
        options_(deps.options.accesslog),
        sink_(std::move(sink)),
        follower_(
            std::move(follower_options),
            [this](const std::string& path) { return std::make_unique<FileLines>(sink_, path, sink_.max_line_bytes); }),
        poll_interval_(poll_interval) {
    const FilePositions* saved = nullptr;
    FilePositions positions;
    if (!options_.position_file.empty()) {
      auto text = deps.reader.Read(options_.position_file);
      if (text) {
        auto parsed = ParsePositions(*text);
        if (parsed) {
          positions = std::move(*parsed);
          saved = &positions;
        } else {
          spdlog::warn(
              "ignoring the access-log position file; files start at their end collector=accesslog path={} "
              "err={}",
              LogQuote(options_.position_file), LogQuote(parsed.error().message));
        }
      } else if (text.error().kind != ErrorKind::kNotFound) {
        spdlog::warn("cannot read the access-log position file; files start at their end collector=accesslog err={}",
                     LogQuote(text.error().message));
      }
    }
    follower_.Start(saved, options_.from_beginning, Now());
    if (poll_interval_.count() > 0) reader_ = std::thread([this] { ReadLoop(); });
  }

  ~AccessLogCollector() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    if (reader_.joinable()) reader_.join();
  }

  std::string_view Name() const override { return "accesslog"; }
  // It waits for the reader thread's slice and reads files: not for the HTTP I/O thread.
  bool MayBlock() override { return true; }

  Result<std::vector<MetricFamily>> Collect() override {
    // Announced before taking mu_: the reader thread steps aside between slices for a waiting scrape.
    waiting_scrapes_.fetch_add(1);
    std::unique_lock lock(mu_);
    waiting_scrapes_.fetch_sub(1);
    wake_.notify_all();
    sink_.now = Now();
    // Without a reader thread (tests), a scrape reads everything.
    follower_.Poll(sink_.now, reader_.joinable() ? kCollectReadBytes : std::numeric_limits<uint64_t>::max());
    FamilyWriter out = NewWriter();
    sink_.metrics.Write(out);
    WriteReaderMetrics(out);
    SavePositions();
    const std::vector<std::string> missing = follower_.MissingPaths();
    if (!missing.empty()) {
      std::string message = "access-log file missing:";
      for (const std::string& path : missing) message += " " + path + ";";
      message.pop_back();
      // The other files' requests are still served (and log_files{state="missing"} says which is not).
      kept_on_error_ = std::move(out).Finish();
      return MakeError(ErrorKind::kNotFound, std::move(message));
    }
    return std::move(out).Finish();
  }

  std::vector<MetricFamily> TakeFamiliesOnError() override { return std::move(kept_on_error_); }

 private:
  double Now() const { return system_.Now().unix_seconds; }

  void ReadLoop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      sink_.now = Now();
      if (follower_.Poll(sink_.now, kSliceBytes).budget_exhausted) {
        // More to read: a scrape waiting for mu_ goes first (wait releases mu_; the scrape wakes us when it
        // has it), so it waits for one slice at most, however large the backlog.
        wake_.wait(lock, [this] { return stop_ || waiting_scrapes_.load() == 0; });
        continue;
      }
      wake_.wait_for(lock, poll_interval_, [this] { return stop_; });
    }
  }

  void WriteReaderMetrics(FamilyWriter& out) {
    const LogFollowerStats& stats = follower_.stats();
    const size_t lines = out.Counter("topdog_exporter_gateway_log_lines_total",
                                     "Access-log lines read, by result: parsed (counted as a request), unparsable, "
                                     "too_long, ignored (CRI stderr records: the error log).");
    out.Sample(lines, static_cast<double>(sink_.counts.parsed), {{"result", "parsed"}});
    out.Sample(lines, static_cast<double>(sink_.counts.unparsable), {{"result", "unparsable"}});
    out.Sample(lines, static_cast<double>(sink_.counts.too_long), {{"result", "too_long"}});
    out.Sample(lines, static_cast<double>(sink_.counts.ignored), {{"result", "ignored"}});
    out.Single("topdog_exporter_gateway_log_read_bytes_total", "Bytes read from access-log files.",
               prometheus::MetricType::Counter, static_cast<double>(stats.bytes_read));
    const size_t rotations = out.Counter("topdog_exporter_gateway_log_rotations_total",
                                         "Access-log rotations seen: rename (the path names a new file; the old one "
                                         "is read to its end) and truncate (copytruncate: read again from 0).");
    out.Sample(rotations, static_cast<double>(stats.rotations_rename), {{"kind", "rename"}});
    out.Sample(rotations, static_cast<double>(stats.rotations_truncate), {{"kind", "truncate"}});
    const size_t files = out.Gauge("topdog_exporter_gateway_log_files",
                                   "Access-log files by state: following, draining (renamed away or deleted, read "
                                   "until quiet) and missing (a configured path that is absent).");
    out.Sample(files, static_cast<double>(stats.following), {{"state", "following"}});
    out.Sample(files, static_cast<double>(stats.draining), {{"state", "draining"}});
    out.Sample(files, static_cast<double>(stats.missing), {{"state", "missing"}});
    out.Single("topdog_exporter_gateway_log_read_errors_total", "Failed reads of access-log files.",
               prometheus::MetricType::Counter, static_cast<double>(stats.read_errors));
    if (!options_.position_file.empty()) {
      out.Single("topdog_exporter_gateway_position_file_errors_total", "Failed writes of the access-log position file.",
                 prometheus::MetricType::Counter, static_cast<double>(position_errors_));
    }
  }

  // The positions of what this scrape counted: after a restart, lines past them are read again, and they
  // were never exported.
  void SavePositions() {
    if (options_.position_file.empty()) return;
    std::string text = FormatPositions(follower_.Positions());
    if (text == saved_positions_) return;
    auto written = WritePositionFile(options_.position_file, text);
    if (!written) {
      if (position_errors_++ == 0) {
        spdlog::warn(
            "cannot write the access-log position file; a restart may count lines twice "
            "collector=accesslog err={}",
            LogQuote(written.error().message));
      }
      return;
    }
    saved_positions_ = std::move(text);
  }

  const System& system_;
  const AccessLogOptions& options_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::atomic<int> waiting_scrapes_{0};
  // The families of a Collect that failed, taken right after it by the collector set (never concurrently).
  std::vector<MetricFamily> kept_on_error_;
  Sink sink_;                    // GUARDED_BY(mu_)
  LogFollower follower_;         // GUARDED_BY(mu_)
  std::string saved_positions_;  // GUARDED_BY(mu_)
  uint64_t position_errors_ = 0;
  std::chrono::milliseconds poll_interval_;
  std::thread reader_;
};

Result<AccessLogParser> MakeParser(const AccessLogOptions& options, size_t max_line_bytes) {
  if (options.format == "combined-times")
    return AccessLogParser::ForLogFormat(kCombinedWithTimesLogFormat, max_line_bytes);
  if (options.format == "ingress") return AccessLogParser::ForLogFormat(kIngressNginxLogFormat, max_line_bytes);
  if (options.format.find('$') != std::string::npos)
    return AccessLogParser::ForLogFormat(options.format, max_line_bytes);
  if (options.format != "json") {
    return MakeError(ErrorKind::kBadData,
                     "--collector.accesslog.format must be combined-times, ingress, json or an "
                     "nginx log_format string, not " +
                         LogQuote(options.format));
  }
  AccessLogFieldMap fields;
  std::string_view rest = options.json_fields;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view pair = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (pair.empty()) continue;
    const size_t equals = pair.find('=');
    if (equals == std::string_view::npos) {
      return MakeError(ErrorKind::kBadData,
                       "--collector.accesslog.json-fields: expected field=key, found " + LogQuote(pair));
    }
    const std::string_view field = pair.substr(0, equals);
    std::string key(pair.substr(equals + 1));
    std::pair<std::string_view, std::string*> targets[] = {{"remote_addr", &fields.remote_addr},
                                                           {"host", &fields.host},
                                                           {"request", &fields.request},
                                                           {"method", &fields.method},
                                                           {"path", &fields.path},
                                                           {"status", &fields.status},
                                                           {"bytes", &fields.bytes},
                                                           {"request_time", &fields.request_time},
                                                           {"upstream_response_time", &fields.upstream_response_time},
                                                           {"user_agent", &fields.user_agent}};
    auto target = std::find_if(std::begin(targets), std::end(targets), [&](const auto& t) { return t.first == field; });
    if (target == std::end(targets)) {
      return MakeError(ErrorKind::kBadData, "--collector.accesslog.json-fields: unknown field " + LogQuote(field) +
                                                " (remote_addr host request method path status bytes request_time "
                                                "upstream_response_time user_agent)");
    }
    *target->second = std::move(key);
  }
  return AccessLogParser::ForJson(std::move(fields), max_line_bytes);
}

}  // namespace

Result<std::unique_ptr<Collector>> NewAccessLogCollector(const CollectorDeps& deps) {
  const AccessLogOptions& options = deps.options.accesslog;
  auto bad = [](std::string message) { return MakeError(ErrorKind::kBadData, std::move(message)); };
  if (options.paths.empty()) return bad("--collector.accesslog.path is required (a file or a glob)");
  const size_t max_line_bytes = AccessLogParser::kDefaultMaxLineBytes;
  auto parser = MakeParser(options, max_line_bytes);
  if (!parser) return bad("--collector.accesslog.format: " + parser.error().message);
  if (options.format != "json" && !options.json_fields.empty()) {
    return bad("--collector.accesslog.json-fields applies to --collector.accesslog.format=json only");
  }
  CriMode cri = CriMode::kAuto;
  if (options.cri == "true") {
    cri = CriMode::kAlways;
  } else if (options.cri == "false") {
    cri = CriMode::kNever;
  } else if (options.cri != "auto") {
    return bad("--collector.accesslog.cri must be auto, true or false");
  }
  if (options.buckets.empty()) return bad("--collector.accesslog.buckets: at least one bound");
  for (size_t i = 0; i < options.buckets.size(); ++i) {
    if (!std::isfinite(options.buckets[i]) || options.buckets[i] < 0 ||
        (i > 0 && options.buckets[i] <= options.buckets[i - 1])) {
      return bad("--collector.accesslog.buckets: bounds must be finite, non-negative and increasing");
    }
  }
  RouteTemplateOptions route_options;
  for (const std::string& rule : options.route_rules) {
    const size_t equals = rule.find('=');
    if (equals == std::string::npos)
      return bad("--collector.accesslog.route-rule: expected prefix=route, found " + LogQuote(rule));
    route_options.prefix_rules.push_back({rule.substr(0, equals), rule.substr(equals + 1)});
  }
  auto templater = RouteTemplater::Create(std::move(route_options));
  if (!templater) return bad("--collector.accesslog.route-rule: " + templater.error().message);
  if (options.max_routes < 1 || options.max_routes > 100000)
    return bad("--collector.accesslog.max-routes must be 1..100000");
  if (options.max_hosts < 1 || options.max_hosts > 10000)
    return bad("--collector.accesslog.max-hosts must be 1..10000");
  auto poll_interval = ParseDuration(options.poll_interval);
  if (!poll_interval) return bad("--collector.accesslog.poll-interval: " + poll_interval.error().message);

  Sink sink{std::move(*parser),
            RequestMetrics(std::move(*templater), options.max_routes, options.max_hosts, options.buckets,
                           deps.options.gateway.node_name),
            cri,
            max_line_bytes,
            {},
            {},
            0};
  LogFollowerOptions follower;
  follower.patterns = options.paths;
  // Room for a CRI record's prefix ("<time> stdout F ") around a line of the parser's limit.
  follower.max_line_bytes = max_line_bytes + 64;
  return std::make_unique<AccessLogCollector>(deps, std::move(sink), std::move(follower), *poll_interval);
}

}  // namespace topdog::exporter
