#include "advisor/daemon.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "advisor/io/alertmanager.h"
#include "advisor/io/config.h"
#include "advisor/io/do_client.h"
#include "advisor/io/embedded_source.h"
#include "advisor/io/kube_client.h"
#include "advisor/io/kube_config.h"
#include "advisor/io/leader_elector.h"
#include "advisor/io/prometheus_source.h"
#include "advisor/io/rule_file.h"
#include "advisor/io/scraper.h"
#include "advisor/reconciler.h"
#include "advisor/rule_evaluator.h"
#include "common/exposition/text_writer.h"
#include "common/http/server.h"
#include "common/http/web_config.h"
#include "common/logging.h"

namespace topdog::advisor {
namespace {

using Clock = std::chrono::steady_clock;

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int Fail(const std::string& message) {
  spdlog::error("start-up failed err={}", LogQuote(message));
  spdlog::default_logger()->flush();
  return 1;
}

// Stop requests from the signal thread, and the loops' waits between ticks (a wait, not a sleep: a stop
// request ends it at once).
class StopFlag {
 public:
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    cv_.notify_all();
  }
  // Waits up to `seconds`; true when stopped.
  bool WaitFor(double seconds) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::duration<double>(seconds), [this] { return stopped_; });
  }
  bool Stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // Counts a finished embedded scrape round and wakes whoever waits for one.
  void RoundDone() {
    {
      std::lock_guard lock(mutex_);
      ++rounds_;
    }
    cv_.notify_all();
  }
  // Waits until a scrape round has finished (or a stop request); true when stopped.
  bool WaitForFirstRound() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return stopped_ || rounds_ > 0; });
    return stopped_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  long long rounds_ = 0;
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

Result<std::unique_ptr<CurlHttpClient>> MakeClient(const TlsOptions& tls, double timeout_seconds) {
  HttpClientOptions options;
  options.tls = tls;
  options.timeout = Millis(timeout_seconds);
  options.connect_timeout = std::min(options.timeout, std::chrono::milliseconds(5000));
  return CurlHttpClient::Create(options);
}

// The embedded keys the config's workloads need (listed workloads only: the scraper must know its series
// before any HPA is seen).
std::vector<EmbeddedSeries> EmbeddedSeriesOf(const AdvisorConfig& config) {
  std::vector<EmbeddedSeries> out;
  std::set<std::string> seen;
  for (const WorkloadConfig& w : config.workloads) {
    for (const SeriesConfig* series : {&w.demand, &w.busy_pods}) {
      if (series->metric.empty()) continue;
      SeriesConfig expanded = ExpandSeries(*series, w.ns, w.name, w.name);
      std::string key = EmbeddedKey(expanded);
      if (!seen.insert(key).second) continue;
      out.push_back({key, expanded.metric, expanded.match, expanded.counter});
    }
  }
  return out;
}

// With leader election, writes are sent only while the leadership outlasts the write's timeout (see is_leader
// below), so timeouts are kept to half the renew deadline: the other half is when a renewed leader may write.
double WriteTimeout(const AdvisorConfig& config, double configured_seconds) {
  if (!config.leader_election.enabled) return configured_seconds;
  return std::min(configured_seconds, config.leader_election.renew_deadline_seconds / 2);
}

std::string Identity(const DaemonFlags& flags) {
  if (!flags.identity.empty()) return flags.identity;
  if (const char* pod = std::getenv("POD_NAME"); pod != nullptr && *pod != '\0') return pod;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "_" + std::to_string(getpid());
}

nlohmann::json PassJson(const PassReport& report, double cpu_seconds, double wall_seconds) {
  nlohmann::json workloads = nlohmann::json::array();
  for (const WorkloadOutcome& w : report.workloads) {
    nlohmann::json forecasts = nlohmann::json::array();
    for (const HorizonForecast& f : w.decision.forecasts) {
      forecasts.push_back(
          {{"horizon_seconds", f.horizon_seconds}, {"quantiles", f.quantiles}, {"calibrated", f.calibrated}});
    }
    workloads.push_back({{"namespace", w.ref.ns},
                         {"name", w.ref.name},
                         {"outcome", w.decision.outcome == DecisionOutcome::kChange
                                         ? "change"
                                         : (w.decision.outcome == DecisionOutcome::kHold ? "hold" : "skip")},
                         {"reason", w.decision.reason},
                         {"detail", w.decision.detail},
                         {"min_replicas", w.decision.recommendation.hpa.min_replicas},
                         {"max_replicas", w.decision.recommendation.hpa.max_replicas},
                         {"forecasts", forecasts},
                         {"written", w.written},
                         {"error", w.error}});
  }
  return {{"ran", report.ran},
          {"skipped_why", report.skipped_why},
          {"patches", report.patches},
          {"pool_updates", report.pool_updates},
          {"errors", report.errors},
          {"cpu_seconds", cpu_seconds},
          {"wall_seconds", wall_seconds},
          {"workloads", workloads}};
}

PrometheusOptions PrometheusOptionsOf(const PrometheusConfig& config) {
  PrometheusOptions options;
  options.url = config.url;
  options.bearer_token_file = config.bearer_token_file;
  options.basic_user = config.basic_user;
  options.basic_password_file = config.basic_password_file;
  options.retry.attempts = config.attempts;
  return options;
}

// Prometheus's default external URL: http://<hostname>:<port of the first listen address>.
std::string DefaultExternalUrl(const DaemonFlags& flags) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  std::string port = "9101";
  if (!flags.listen_addresses.empty()) {
    const std::string& address = flags.listen_addresses.front();
    port = address.substr(address.rfind(':') + 1);
  }
  return "http://" + std::string(host) + ":" + port;
}

void AppendNotifierMetrics(const AlertmanagerNotifier::Stats& stats, exposition::FamilyWriter& out) {
  const size_t sent =
      out.Counter("topdog_advisor_notifications_sent_total", "Alerts Alertmanager accepted, by Alertmanager.");
  for (const auto& [url, n] : stats.sent) out.Sample(sent, static_cast<double>(n), {{"alertmanager", url}});
  const size_t errors = out.Counter("topdog_advisor_notifications_errors_total",
                                    "Alerts in POSTs that failed (refused, 4xx/5xx, timeout), by Alertmanager.");
  for (const auto& [url, n] : stats.errors) out.Sample(errors, static_cast<double>(n), {{"alertmanager", url}});
  out.Single("topdog_advisor_notifications_dropped_total",
             "Alerts dropped: the queue was full, or no Alertmanager accepted their batch.",
             prometheus::MetricType::Counter, static_cast<double>(stats.dropped));
  out.Single("topdog_advisor_notifications_queue_length", "Alerts waiting to be sent.", prometheus::MetricType::Gauge,
             static_cast<double>(stats.queue_length));
}

// --check-config: a file a start reads that is absent on this machine, and what it is for.
struct UncheckedFile {
  std::string path, what;
};

bool Absent(const std::string& path) {
  std::error_code ec;
  return !std::filesystem::exists(path, ec);
}

// The TLS files of a client, all present (then MakeClient checks them as at start) or listed as unchecked.
bool TlsFilesPresent(const TlsOptions& tls, const std::string& what, std::vector<UncheckedFile>& unchecked) {
  bool present = true;
  for (const std::string* file : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
    if (!file->empty() && Absent(*file)) {
      unchecked.push_back({*file, what});
      present = false;
    }
  }
  return present;
}

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int CheckDaemonConfig(const DaemonFlags& flags) {
  if (auto logging = SetUpLogging(flags.log_level, flags.log_format); !logging) {
    std::fprintf(stderr, "topdog-advisor: %s\n", logging.error().message.c_str());
    return 1;
  }
  auto loaded = LoadConfig(flags.config_file);
  if (!loaded) return Fail(loaded.error().message);
  const AdvisorConfig& config = *loaded;
  std::vector<UncheckedFile> unchecked;
  // The clients are built as at start (that reads their TLS files) but never send.
  auto client = [&unchecked](const TlsOptions& tls, double timeout_seconds, const std::string& what) -> Result<void> {
    if (!TlsFilesPresent(tls, what, unchecked)) return {};
    auto http = MakeClient(tls, timeout_seconds);
    if (!http) return tl::unexpected(http.error().WithContext(what));
    return {};
  };
  std::string summary = "--config " + flags.config_file;

  if (config.prometheus) {
    if (auto ok = client(config.prometheus->tls, config.prometheus->timeout_seconds, "prometheus"); !ok) {
      return Fail(ok.error().message);
    }
    summary += ", prometheus";
  } else {
    HistoryGeometry geometry;
    geometry.step_seconds = config.step_seconds;
    geometry.points_per_series = static_cast<size_t>(std::ceil(config.history_seconds / config.step_seconds));
    geometry.max_series = config.embedded.max_series;
    if (auto ok = client(config.embedded.tls, config.embedded.timeout_seconds, "embedded"); !ok) {
      return Fail(ok.error().message);
    }
    std::vector<ScrapeTarget> targets;
    for (const ScrapeTargetConfig& t : config.embedded.targets) {
      targets.push_back({t.name, t.url, t.bearer_token_file, t.basic_user, t.basic_password_file});
    }
    if (!targets.empty()) {
      if (auto valid = ValidateScrapeConfig(targets, EmbeddedSeriesOf(config), geometry); !valid) {
        return Fail("embedded: " + valid.error().message);
      }
    }
    summary += ", embedded (" + std::to_string(targets.size()) + " targets)";
  }

  if (!config.rules.files.empty()) {
    // A path absent here is listed (a start fails on it); globs are expanded as at start (none matching is fine).
    RuleEvaluatorOptions rule_options;
    for (const std::string& pattern : config.rules.files) {
      auto files = ExpandRuleFilePattern(pattern);
      if (!files) return Fail("rules: " + files.error().message);
      if (files->size() == 1 && files->front() == pattern && Absent(pattern)) {
        unchecked.push_back({pattern, "rules.files"});
      } else {
        rule_options.files.push_back(pattern);
      }
    }
    rule_options.default_interval_seconds = config.rules.evaluation_interval_seconds;
    rule_options.resend_delay_seconds = config.rules.resend_delay_seconds;
    rule_options.context.external_labels = config.rules.external_labels;
    rule_options.context.external_url =
        config.rules.external_url.empty() ? DefaultExternalUrl(flags) : config.rules.external_url;
    if (auto ok = client(config.prometheus->tls, config.prometheus->timeout_seconds, "rules"); !ok) {
      return Fail(ok.error().message);
    }
    if (auto ok = client(config.alerting.tls, config.alerting.timeout_seconds, "alerting"); !ok) {
      return Fail(ok.error().message);
    }
    DaemonMetrics metrics;
    RuleEvaluator evaluator(
        rule_options,
        [](std::string_view, double) -> Result<std::vector<RuleSample>> {
          return MakeError(ErrorKind::kUnavailable, "no queries in --check-config");
        },
        [](std::vector<AlertNotification>) {}, metrics);
    if (auto ok = evaluator.Load(); !ok) return Fail("rules: " + ok.error().message);
    summary += ", rules (" + std::to_string(evaluator.group_count()) + " groups)";
  }

  switch (config.kubernetes.mode) {
    case KubeMode::kNone:
      break;
    case KubeMode::kInCluster:
      // The service-account token, CA and KUBERNETES_SERVICE_* exist in the pod only.
      summary += ", kubernetes in_cluster (credentials at run time)";
      break;
    case KubeMode::kKubeconfig:
      if (Absent(config.kubernetes.kubeconfig)) {
        unchecked.push_back({config.kubernetes.kubeconfig, "kubernetes.kubeconfig"});
      } else {
        auto access = LoadKubeconfigFile(config.kubernetes.kubeconfig, config.kubernetes.context);
        if (!access) return Fail("kubernetes: " + access.error().message);
        if (auto ok = client(access->tls, config.kubernetes.timeout_seconds, "kubernetes"); !ok) {
          return Fail(ok.error().message);
        }
      }
      summary += ", kubernetes kubeconfig";
      break;
  }

  if (!config.digitalocean.token_file.empty()) {
    if (Absent(config.digitalocean.token_file)) {
      unchecked.push_back({config.digitalocean.token_file, "digitalocean.token_file"});
    } else if (auto token = SecretFile(config.digitalocean.token_file).Read(); !token) {
      return Fail("digitalocean: " + token.error().message);
    }
    summary += ", digitalocean";
  }

  if (!flags.web_config_file.empty()) {
    std::vector<std::string> absent;
    auto web = http::CheckWebConfigFile(flags.web_config_file, absent);
    for (auto& file : absent) unchecked.push_back({std::move(file), "--web.config.file tls_server_config"});
    if (!web) return Fail(web.error().message);
    summary += ", --web.config.file " + flags.web_config_file + " (" + *web + ")";
  }
  std::printf("config OK: %s\n", summary.c_str());
  for (const UncheckedFile& file : unchecked) {
    std::printf("not checked (absent on this machine): %s (%s)\n", file.path.c_str(), file.what.c_str());
  }
  std::fflush(stdout);
  return 0;
}

int RunDaemon(const DaemonFlags& flags) {
  if (auto logging = SetUpLogging(flags.log_level, flags.log_format); !logging) {
    std::fprintf(stderr, "topdog-advisor: %s\n", logging.error().message.c_str());
    return 1;
  }
  auto loaded = LoadConfig(flags.config_file);
  if (!loaded) return Fail(loaded.error().message);
  const AdvisorConfig config = std::move(*loaded);

  // Signals are taken by a dedicated thread (sigwait), so every other thread starts with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  DaemonMetrics metrics;
  StopFlag stop;

  // History source.
  std::unique_ptr<CurlHttpClient> source_http;
  std::unique_ptr<HistorySource> source;
  std::unique_ptr<SharedHistory> history;
  std::unique_ptr<Scraper> scraper;
  if (config.prometheus) {
    auto http = MakeClient(config.prometheus->tls, config.prometheus->timeout_seconds);
    if (!http) return Fail("prometheus: " + http.error().message);
    source_http = std::move(*http);
    PrometheusOptions options = PrometheusOptionsOf(*config.prometheus);
    source = std::make_unique<PrometheusSource>(*source_http, options, [&stop](std::chrono::milliseconds wait) {
      stop.WaitFor(std::chrono::duration<double>(wait).count());
    });
  } else {
    HistoryGeometry geometry;
    geometry.step_seconds = config.step_seconds;
    geometry.points_per_series = static_cast<size_t>(std::ceil(config.history_seconds / config.step_seconds));
    geometry.max_series = config.embedded.max_series;
    history = std::make_unique<SharedHistory>(geometry);
    std::vector<EmbeddedSeries> series = EmbeddedSeriesOf(config);
    if (!config.embedded.snapshot_file.empty()) {
      std::vector<std::string> keys;
      for (const EmbeddedSeries& s : series) keys.push_back(s.key);
      RestoreOutcome restored = RestoreHistory(*history, config.embedded.snapshot_file, keys);
      for (const std::string& warning : restored.warnings) spdlog::warn("history snapshot msg={}", LogQuote(warning));
      spdlog::info("history restored file={} series={}", config.embedded.snapshot_file, restored.series_restored);
    }
    auto http = MakeClient(config.embedded.tls, config.embedded.timeout_seconds);
    if (!http) return Fail("embedded: " + http.error().message);
    source_http = std::move(*http);
    std::vector<ScrapeTarget> targets;
    for (const ScrapeTargetConfig& t : config.embedded.targets) {
      targets.push_back({t.name, t.url, t.bearer_token_file, t.basic_user, t.basic_password_file});
    }
    if (!targets.empty()) {
      auto created = Scraper::Create(*source_http, std::move(targets), series, *history);
      if (!created) return Fail("embedded: " + created.error().message);
      scraper = std::move(*created);
    }
    source = std::make_unique<EmbeddedSource>(*history);
  }

  // Rule evaluation (Prometheus mode): its own connection to Prometheus, so a slow reconcile pass does not delay
  // alerts, and the notifier's to Alertmanager. Rule files that do not load are a start-up error.
  std::unique_ptr<CurlHttpClient> rules_http, alertmanager_http;
  std::unique_ptr<PrometheusSource> rules_source;
  std::unique_ptr<AlertmanagerNotifier> notifier;
  std::unique_ptr<RuleEvaluator> evaluator;
  if (!config.rules.files.empty()) {
    auto http = MakeClient(config.prometheus->tls, config.prometheus->timeout_seconds);
    if (!http) return Fail("rules: " + http.error().message);
    rules_http = std::move(*http);
    PrometheusOptions options = PrometheusOptionsOf(*config.prometheus);
    options.retry.attempts = 1;  // a failed query marks the rule unhealthy until the next evaluation
    rules_source = std::make_unique<PrometheusSource>(*rules_http, options, [&stop](std::chrono::milliseconds wait) {
      stop.WaitFor(std::chrono::duration<double>(wait).count());
    });
    auto am_http = MakeClient(config.alerting.tls, config.alerting.timeout_seconds);
    if (!am_http) return Fail("alerting: " + am_http.error().message);
    alertmanager_http = std::move(*am_http);
    AlertmanagerOptions am;
    am.urls = config.alerting.alertmanagers;
    am.bearer_token_file = config.alerting.bearer_token_file;
    am.basic_user = config.alerting.basic_user;
    am.basic_password_file = config.alerting.basic_password_file;
    am.queue_capacity = config.alerting.queue_capacity;
    notifier = std::make_unique<AlertmanagerNotifier>(*alertmanager_http, am);
    RuleEvaluatorOptions rule_options;
    rule_options.files = config.rules.files;
    rule_options.default_interval_seconds = config.rules.evaluation_interval_seconds;
    rule_options.resend_delay_seconds = config.rules.resend_delay_seconds;
    rule_options.context.external_labels = config.rules.external_labels;
    rule_options.context.external_url =
        config.rules.external_url.empty() ? DefaultExternalUrl(flags) : config.rules.external_url;
    PrometheusSource* query_source = rules_source.get();
    AlertmanagerNotifier* notify_to = notifier.get();
    evaluator = std::make_unique<RuleEvaluator>(
        rule_options,
        [query_source, &stop](std::string_view expr, double ts) -> Result<std::vector<RuleSample>> {
          // On SIGTERM the rest of the tick's rules fail at once instead of each waiting for Prometheus.
          if (stop.Stopped()) return MakeError(ErrorKind::kUnavailable, "shutting down");
          auto answer = query_source->Query(std::string(expr), ts);
          if (!answer) return tl::unexpected(answer.error());
          std::vector<RuleSample> samples;
          samples.reserve(answer->size());
          for (auto& [labels, sample] : *answer) samples.push_back({std::move(labels), sample.value});
          return samples;
        },
        [notify_to](std::vector<AlertNotification> alerts) { notify_to->Enqueue(std::move(alerts)); }, metrics);
    if (auto loaded = evaluator->Load(); !loaded) return Fail("rules: " + loaded.error().message);
    if (config.alerting.alertmanagers.empty()) {
      spdlog::warn("rules are evaluated but no alerting.alertmanagers are configured: alerts are not sent");
    }
  }

  // Kubernetes.
  std::unique_ptr<CurlHttpClient> kube_http;
  std::unique_ptr<KubeClient> kube;
  std::unique_ptr<KubeHpaApi> hpa_api;
  std::unique_ptr<LeaderElector> elector;
  if (config.kubernetes.mode != KubeMode::kNone) {
    Result<KubeAccess> access =
        config.kubernetes.mode == KubeMode::kInCluster
            ? InClusterAccess(std::getenv("KUBERNETES_SERVICE_HOST") ? std::getenv("KUBERNETES_SERVICE_HOST") : "",
                              std::getenv("KUBERNETES_SERVICE_PORT") ? std::getenv("KUBERNETES_SERVICE_PORT") : "")
            : LoadKubeconfigFile(config.kubernetes.kubeconfig, config.kubernetes.context);
    if (!access) return Fail("kubernetes: " + access.error().message);
    auto http = MakeClient(access->tls, WriteTimeout(config, config.kubernetes.timeout_seconds));
    if (!http) return Fail("kubernetes: " + http.error().message);
    kube_http = std::move(*http);
    kube = std::make_unique<KubeClient>(*kube_http, *access);
    hpa_api = std::make_unique<KubeHpaApi>(*kube);
    if (config.leader_election.enabled) {
      elector = std::make_unique<LeaderElector>(*kube, config.leader_election.ns, config.leader_election.name,
                                                Identity(flags), config.leader_election.lease_duration_seconds,
                                                config.leader_election.renew_deadline_seconds);
    }
  }

  // DigitalOcean.
  std::unique_ptr<SecretFile> do_token;
  std::unique_ptr<CurlHttpClient> do_http;
  std::unique_ptr<DoClient> do_client;
  std::unique_ptr<DoNodePoolApi> pool_api;
  std::error_code token_absent;
  if (!config.digitalocean.token_file.empty() &&
      !std::filesystem::exists(config.digitalocean.token_file, token_absent)) {
    // The token's Secret is optional in deploy/ (README "Deploy"): without it node pools are left alone; a
    // token created later takes a restart.
    spdlog::warn("digitalocean token file absent: node pools are not managed file={}",
                 LogQuote(config.digitalocean.token_file));
  } else if (!config.digitalocean.token_file.empty()) {
    do_token = std::make_unique<SecretFile>(config.digitalocean.token_file);
    if (auto token = do_token->Read(); !token) return Fail("digitalocean: " + token.error().message);
    auto http = MakeClient({}, WriteTimeout(config, config.digitalocean.timeout_seconds));
    if (!http) return Fail("digitalocean: " + http.error().message);
    do_http = std::move(*http);
    do_client = std::make_unique<DoClient>(*do_http, *do_token, config.digitalocean.api_url);
    pool_api = std::make_unique<DoNodePoolApi>(*do_client);
  }

  LeaderElector* elector_ptr = elector.get();
  // Asked before the pass, each workload and every write: a stop request (SIGTERM) ends writing as a lost lease
  // does. The leadership must outlast the longest write that could start now (its timeout): a write therefore
  // ends before the renew deadline, which ends before another replica may take the Lease over.
  const auto write_window = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(WriteTimeout(config, config.kubernetes.timeout_seconds),
                                             WriteTimeout(config, config.digitalocean.timeout_seconds))));
  auto is_leader = [elector_ptr, &stop, write_window] {
    return !stop.Stopped() && (elector_ptr == nullptr || elector_ptr->IsLeaderAt(Clock::now() + write_window));
  };
  Reconciler reconciler(config, *source, hpa_api.get(), pool_api.get(), metrics, is_leader);
  metrics.Set("topdog_advisor_dry_run", "1 when writes are sent with dryRun=All (and node pools not written).", {},
              config.dry_run ? 1 : 0);

  if (flags.once) {
    if (elector_ptr != nullptr) elector_ptr->Tick(WallSeconds(), Clock::now());
    const double cpu_before = CpuSeconds();
    const auto wall_before = Clock::now();
    PassReport report = reconciler.RunOnce(WallSeconds());
    const double wall = std::chrono::duration<double>(Clock::now() - wall_before).count();
    if (elector_ptr != nullptr && elector_ptr->IsLeader()) (void)elector_ptr->Release(WallSeconds());
    if (!report.ran && elector_ptr != nullptr && elector_ptr->last_error()) {
      report.skipped_why += " (leader election: " + elector_ptr->last_error()->message + ")";
    }
    std::printf("%s\n", PassJson(report, CpuSeconds() - cpu_before, wall).dump().c_str());
    std::fflush(stdout);
    return report.ran ? 0 : 1;
  }

  std::atomic<bool> ready{false};
  http::ServerOptions server_options;
  server_options.listen_addresses = flags.listen_addresses;
  server_options.web_config_file = flags.web_config_file;
  server_options.metrics_prefix = "topdog_advisor";
  server_options.handler_threads = 2;
  server_options.ready = [&ready] { return ready.load(); };
  static std::atomic<http::Server*> server_ptr{nullptr};
  SharedHistory* history_ptr = history.get();
  AlertmanagerNotifier* notifier_ptr = notifier.get();
  std::map<std::string, http::Handler> routes{
      {"/metrics", [&metrics, history_ptr, notifier_ptr](const http::Request& request) {
         exposition::FamilyWriter out;
         metrics.Append(out);
         if (notifier_ptr != nullptr) AppendNotifierMetrics(notifier_ptr->stats(), out);
         if (history_ptr != nullptr) {
           auto [series, bytes] = history_ptr->With([](HistoryStore& store) {
             return std::pair<double, double>(static_cast<double>(store.SeriesCount()),
                                              static_cast<double>(store.ValueBytes()));
           });
           out.Single("topdog_advisor_history_series", "Series in the embedded history.", prometheus::MetricType::Gauge,
                      series);
           out.Single("topdog_advisor_history_bytes", "Memory of the embedded history's values (bytes).",
                      prometheus::MetricType::Gauge, bytes);
         }
         if (http::Server* s = server_ptr.load(); s != nullptr) s->AppendMetrics(out);
         const exposition::Format format = exposition::NegotiateFormat(request.Header("accept"));
         http::Response response;
         response.content_type = std::string(exposition::ContentType(format));
         exposition::AppendFamilies(response.body, std::move(out).Finish(), format);
         if (format == exposition::Format::kOpenMetrics100) exposition::FinishOpenMetrics(response.body);
         return response;
       }}};
  auto server = http::Server::Start(server_options, std::move(routes));
  if (!server) return Fail(server.error().message);
  server_ptr.store(server->get());
  spdlog::info("starting topdog-advisor source={} kubernetes={} dry_run={} listed_workloads={} listen={}",
               source->Name(), config.kubernetes.mode == KubeMode::kNone ? "none" : "yes", config.dry_run,
               config.workloads.size(), (*server)->ListeningPorts().empty() ? 0 : (*server)->ListeningPorts()[0]);

  std::vector<std::thread> threads;
  if (evaluator) {
    notifier->Start();
    threads.emplace_back([&] {
      while (!stop.Stopped()) {
        const double started = WallSeconds();
        const double until_next = evaluator->Tick(started);
        // Just past the next slot: a wake-up a hair early would find no slot due.
        if (stop.WaitFor(std::max(0.0, until_next - (WallSeconds() - started)) + 0.001)) break;
      }
    });
  }
  if (scraper) {
    threads.emplace_back([&] {
      double last_snapshot = WallSeconds();
      while (!stop.Stopped()) {
        const auto started = Clock::now();
        ScrapeReport report = scraper->ScrapeOnce(WallSeconds());
        stop.RoundDone();
        GaugeBatch gauges;
        for (const TargetScrape& t : report.targets) {
          gauges.Set("topdog_advisor_scrape_up", "1 when the last embedded scrape of the target succeeded.",
                     {{"target", t.name}}, t.up ? 1 : 0);
          gauges.Set("topdog_advisor_scrape_duration_seconds", "Duration of the last embedded scrape.",
                     {{"target", t.name}}, t.duration_seconds);
          if (!t.up) {
            metrics.Count("topdog_advisor_scrape_errors_total", "Failed embedded scrapes, by target.",
                          {{"target", t.name}});
            spdlog::warn("scrape failed target={} err={}", t.name, LogQuote(t.error));
          }
        }
        metrics.Publish(gauges);
        if (!config.embedded.snapshot_file.empty() &&
            WallSeconds() - last_snapshot >= config.embedded.snapshot_interval_seconds) {
          last_snapshot = WallSeconds();
          auto saved = SaveSnapshot(*history, config.embedded.snapshot_file);
          metrics.Count("topdog_advisor_snapshot_writes_total", "History snapshot writes, by result.",
                        {{"result", saved ? "ok" : std::string(ErrorKindName(saved.error().kind))}});
          if (!saved) spdlog::warn("snapshot write failed err={}", LogQuote(saved.error().message));
        }
        const double spent = std::chrono::duration<double>(Clock::now() - started).count();
        if (stop.WaitFor(std::max(0.0, config.embedded.scrape_interval_seconds - spent))) break;
      }
    });
  }
  if (elector_ptr != nullptr) {
    threads.emplace_back([&] {
      while (!stop.Stopped()) {
        const bool leading = elector_ptr->Tick(WallSeconds(), Clock::now());
        metrics.Set("topdog_advisor_leader", "1 while this replica holds the leader Lease.", {}, leading ? 1 : 0);
        if (elector_ptr->last_error()) {
          metrics.Count("topdog_advisor_leader_election_errors_total", "Failed leader-election steps, by kind.",
                        {{"kind", std::string(ErrorKindName(elector_ptr->last_error()->kind))}});
        }
        if (stop.WaitFor(config.leader_election.retry_period_seconds)) break;
      }
    });
  } else {
    metrics.Set("topdog_advisor_leader", "1 while this replica holds the leader Lease.", {}, 1);
  }
  threads.emplace_back([&] {
    // In embedded mode the first pass waits for the first scrape round, so that a restored history has a fresh
    // point (the round is bounded by the scrape timeout).
    if (scraper && stop.WaitForFirstRound()) return;
    while (!stop.Stopped()) {
      const auto started = Clock::now();
      PassReport report = reconciler.RunOnce(WallSeconds());
      const double spent = std::chrono::duration<double>(Clock::now() - started).count();
      metrics.Set("topdog_advisor_reconcile_duration_seconds", "Duration of the last reconcile pass.", {}, spent);
      if (report.ran) {
        metrics.Set("topdog_advisor_last_reconcile_timestamp_seconds", "When the last reconcile pass ran.", {},
                    WallSeconds());
        if (report.errors == 0) {
          metrics.Set("topdog_advisor_last_successful_reconcile_timestamp_seconds",
                      "When the last reconcile pass without any error ended.", {}, WallSeconds());
        }
        ready.store(true);
        spdlog::info("reconcile pass workloads={} patches={} pool_updates={} errors={} seconds={:.3f}",
                     report.workloads.size(), report.patches, report.pool_updates, report.errors, spent);
        for (const WorkloadOutcome& w : report.workloads) {
          if (w.decision.forecasts.empty()) continue;
          spdlog::info("forecast hpa={}/{} reason={} min_replicas={} detail={}", w.ref.ns, w.ref.name,
                       w.decision.reason, w.decision.recommendation.hpa.min_replicas, LogQuote(w.decision.detail));
        }
      } else if (report.skipped_why == "not the leader") {
        ready.store(true);  // a follower is ready: it serves /metrics and waits its turn
      }
      if (stop.WaitFor(std::max(0.0, config.interval_seconds - spent))) break;
    }
  });

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("shutting down signal={}", signal_number);
  stop.Stop();
  for (std::thread& t : threads) t.join();
  if (notifier) notifier->Stop();
  // The Lease is given up only after the reconcile thread has ended, so no write of ours is in flight when
  // another replica takes over.
  if (elector_ptr != nullptr && elector_ptr->IsLeader()) (void)elector_ptr->Release(WallSeconds());
  if (history && !config.embedded.snapshot_file.empty()) {
    if (auto saved = SaveSnapshot(*history, config.embedded.snapshot_file); !saved) {
      spdlog::warn("snapshot write failed err={}", LogQuote(saved.error().message));
    }
  }
  (*server)->Stop();
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace topdog::advisor
