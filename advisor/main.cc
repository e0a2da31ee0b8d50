// topdog-advisor: the `forecast` and `backtest` commands, and the daemon (`run`, advisor/daemon.h).
//   topdog-advisor forecast --input IN.csv --horizon N [--season-hint 24,168] [--quantiles 0.5,0.9,0.95]
//                           [--model auto] --output OUT.csv
//   topdog-advisor backtest --trace TRACE.csv --report DIR [--pod-capacity RPS] [--startup 45s]
//                           [--node-startup 180s] [--pods-per-node N] [--metric-lag 30s] ...
// Exit status: 0 done, 2 bad input or usage (the message names the file and line), 1 other failures.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "advisor/core/backtest.h"
#include "advisor/core/csv.h"
#include "advisor/core/forecaster.h"
#include "advisor/core/series.h"
#include "advisor/daemon.h"
#include "advisor/io/atomic_file.h"
#include "advisor/plots.h"
#include "advisor/report.h"
#include "common/duration.h"

namespace {

constexpr int kBadInput = 2;

int Fail(int status, const std::string& message) {
  std::fprintf(stderr, "topdog-advisor: %s\n", message.c_str());
  return status;
}

// Comma-separated numbers ("24,168" or "0.5,0.9"); false on anything else.
template <class T>
bool ParseList(const std::string& text, std::vector<T>& out) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    try {
      double value = std::stod(item, &used);
      if (used != item.size()) return false;
      out.push_back(static_cast<T>(value));
    } catch (const std::exception&) {
      return false;
    }
  }
  return !out.empty();
}

// The whole of `path` ("-": stdin), or the error text naming it.
bool ReadInput(const std::string& path, std::string& text, std::string* error) {
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return true;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    *error = path + ": " + std::strerror(errno);
    return false;
  }
  text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  return true;
}

// Writes `text` to `path` so that a reader never sees half a file (advisor/io/atomic_file.h).
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string* error) {
  auto written = topdog::advisor::WriteFileAtomically(path, text);
  if (!written) *error = written.error().message;
  return written.has_value();
}

int RunForecast(const std::string& input, const std::string& output, size_t horizon, const std::string& seasons,
                const std::string& quantiles, const std::string& model, bool verbose) {
  std::string text, error;
  if (!ReadInput(input, text, &error)) return Fail(kBadInput, error);
  auto csv = topdog::advisor::ParseSamplesCsv(text);
  if (!csv) return Fail(kBadInput, input + ": " + csv.error().message);

  topdog::advisor::ForecastOptions options;
  options.horizon_steps = horizon;
  options.model = model;
  if (!seasons.empty() && !ParseList(seasons, options.season_steps)) {
    return Fail(kBadInput, "--season-hint: expected steps such as 24,168, got \"" + seasons + "\"");
  }
  options.quantiles.clear();
  if (!ParseList(quantiles, options.quantiles)) {
    return Fail(kBadInput, "--quantiles: expected levels such as 0.5,0.9,0.95, got \"" + quantiles + "\"");
  }

  auto step = topdog::advisor::InferStepSeconds(csv->samples);
  if (!step) return Fail(kBadInput, input + ": " + step.error().message);
  auto regular = topdog::advisor::Regularize(csv->samples, *step);
  if (!regular) return Fail(kBadInput, input + ": " + regular.error().message);
  const topdog::advisor::Series& series = *regular;
  auto forecast = topdog::advisor::ForecastSeries(series, options);
  if (!forecast) return Fail(kBadInput, input + ": " + forecast.error().message);
  if (verbose) {
    std::fprintf(stderr, "input=%s points=%zu step=%gs model=%s\n", input.c_str(), series.values.size(), *step,
                 forecast->model.c_str());
    for (const auto& [name, mae] : forecast->backtest_mae)
      std::fprintf(stderr, "  backtest %s mae=%g\n", name.c_str(), mae);
  }
  std::string out = topdog::advisor::FormatForecastCsv(forecast->times_seconds, csv->time_format, options.quantiles,
                                                       forecast->values);
  if (output == "-") {
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : Fail(1, "writing to stdout failed");
  }
  return WriteFileAtomically(output, out, &error) ? 0 : Fail(1, error);
}

struct BacktestFlags {
  std::string trace, report;
  double pod_capacity = 0;
  std::string startup = "45s", node_startup = "180s", metric_lag = "30s", horizon = "20m";
  int pods_per_node = 0, min_replicas = 2, max_replicas = 100;
  double floor_utilization = 0.9;
  bool rates = false;
  std::string hpa_targets = "0.4,0.5,0.6,0.7,0.8,0.9", advisor_targets = "0.4,0.5,0.6,0.7,0.8,0.9";
  std::string quantiles = "0.2,0.35,0.5,0.8,0.95,0.99";
};

int RunBacktest(const BacktestFlags& flags) {
  using topdog::advisor::BacktestOptions;
  BacktestOptions options;
  auto seconds = [](const std::string& flag, const std::string& text, double& out) {
    auto parsed = topdog::ParseDuration(text);
    if (!parsed) {
      Fail(kBadInput, flag + ": " + parsed.error().message);
      return false;
    }
    out = static_cast<double>(parsed->count()) / 1000.0;
    return true;
  };
  if (!seconds("--startup", flags.startup, options.pod_startup_seconds) ||
      !seconds("--node-startup", flags.node_startup, options.node_startup_seconds) ||
      !seconds("--metric-lag", flags.metric_lag, options.metric_lag_seconds) ||
      !seconds("--advisor-horizon", flags.horizon, options.horizon_seconds)) {
    return kBadInput;
  }
  options.pod_capacity = flags.pod_capacity;
  options.pods_per_node = flags.pods_per_node;
  if (!(flags.floor_utilization > 0 && flags.floor_utilization <= 1)) {
    return Fail(kBadInput, "--floor-utilization must be in (0, 1]");
  }
  options.floor_utilization = flags.floor_utilization;
  options.min_replicas = flags.min_replicas;
  options.max_replicas = flags.max_replicas;
  options.hpa_targets.clear();
  options.advisor_targets.clear();
  options.advisor_quantiles.clear();
  if (!ParseList(flags.hpa_targets, options.hpa_targets) ||
      !ParseList(flags.advisor_targets, options.advisor_targets) ||
      !ParseList(flags.quantiles, options.advisor_quantiles)) {
    return Fail(kBadInput, "--hpa-targets, --advisor-targets and --quantiles take lists such as 0.5,0.7");
  }
  for (double level : options.advisor_quantiles) {
    if (!(level > 0 && level < 1)) return Fail(kBadInput, "--quantiles: levels must be in (0, 1)");
  }
  for (const auto* list : {&options.hpa_targets, &options.advisor_targets}) {
    for (double target : *list) {
      if (!(target >= 0.01 && target <= 1)) return Fail(kBadInput, "targets must be in [0.01, 1]");
    }
  }
  if (flags.pod_capacity < 0 || flags.pods_per_node < 0 || flags.pods_per_node > 1000) {
    return Fail(kBadInput, "--pod-capacity must not be negative; --pods-per-node must be in [0, 1000]");
  }
  if (flags.min_replicas < 1 || flags.max_replicas < flags.min_replicas || flags.max_replicas > 100000) {
    return Fail(kBadInput, "need 1 <= --min-replicas <= --max-replicas <= 100000");
  }

  std::string text, error;
  if (!ReadInput(flags.trace, text, &error)) return Fail(kBadInput, error);
  auto csv = topdog::advisor::ParseTraceCsv(text);
  if (!csv) return Fail(kBadInput, flags.trace + ": " + csv.error().message);
  auto trace = topdog::advisor::MakeTrace(csv->samples, csv->unscored, flags.rates);
  if (!trace) return Fail(kBadInput, flags.trace + ": " + trace.error().message);

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  int shown = -1;
  auto progress = [&](double done) {
    if (!tty) return;
    int percent = static_cast<int>(done * 100);
    if (percent == shown) return;
    shown = percent;
    std::string bar(static_cast<size_t>(percent / 5), '#');
    bar.resize(20, ' ');
    std::fprintf(stderr, "\rbacktest [%s] %3d%%", bar.c_str(), percent);
    if (percent >= 100) std::fprintf(stderr, "\n");
  };
  auto start = std::chrono::steady_clock::now();
  auto result = topdog::advisor::RunBacktest(*trace, options, progress);
  if (!result) return Fail(kBadInput, flags.trace + ": " + result.error().message);
  topdog::advisor::ReportInfo info;
  info.trace = flags.trace;
  info.run_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::error_code ec;
  std::filesystem::create_directories(flags.report, ec);
  if (ec) return Fail(1, flags.report + ": " + ec.message());
  const std::string dir = flags.report + "/";
  if (!WriteFileAtomically(dir + "report.json", topdog::advisor::ReportJson(*result, info), &error) ||
      !WriteFileAtomically(dir + "report.md", topdog::advisor::ReportMarkdown(*result, info), &error)) {
    return Fail(1, error);
  }
  auto html = topdog::advisor::RenderHtmlReport(*result, info);
  if (!html) return Fail(1, "report.html: " + html.error().message);
  if (!WriteFileAtomically(dir + "report.html", *html, &error)) return Fail(1, error);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"topdog-advisor: load forecasts and autoscaling advice"};
  app.require_subcommand(1);
  std::string input, output, seasons, quantiles = "0.5,0.9,0.95,0.99", model = "auto";
  size_t horizon = 0;
  bool verbose = false;
  CLI::App* forecast = app.add_subcommand("forecast", "Forecast a timestamp,value CSV with prediction quantiles");
  forecast->add_option("--input", input, "CSV with a header row and columns timestamp,value ('-': stdin)")->required();
  forecast->add_option("--horizon", horizon, "Steps to forecast (the step is inferred from the input)")->required();
  forecast->add_option("--season-hint", seasons, "Season lengths in steps, e.g. 24,168 for hourly data");
  forecast->add_option("--quantiles", quantiles, "Quantile levels to output")->capture_default_str();
  forecast->add_option("--model", model, "auto, snaive-day, snaive-week, hw or fourier")->capture_default_str();
  forecast->add_option("--output", output, "Output CSV: timestamp,q<level>,... ('-': stdout)")->required();
  forecast->add_flag("--verbose", verbose, "Print the chosen model and backtest errors to stderr");
  BacktestFlags bt;
  CLI::App* backtest =
      app.add_subcommand("backtest", "Replay a load trace through HPA and advisor arms; write a report");
  backtest->add_option("--trace", bt.trace, "CSV: timestamp,value (requests per row), or with a flag column")
      ->required();
  backtest->add_option("--report", bt.report, "Directory for report.json, report.md and report.html")->required();
  backtest->add_option("--pod-capacity", bt.pod_capacity, "req/s one pod serves at 100% CPU (default: p99 / 30)");
  backtest->add_option("--startup", bt.startup, "Pod start-up")->capture_default_str();
  backtest->add_option("--node-startup", bt.node_startup, "Node provisioning")->capture_default_str();
  backtest->add_option("--metric-lag", bt.metric_lag, "Metric lag")->capture_default_str();
  backtest->add_option("--pods-per-node", bt.pods_per_node, "Pods per node (0: no node limit)")->capture_default_str();
  backtest->add_option("--min-replicas", bt.min_replicas, "HPA minReplicas")->capture_default_str();
  backtest->add_option("--max-replicas", bt.max_replicas, "HPA maxReplicas")->capture_default_str();
  backtest->add_option("--hpa-targets", bt.hpa_targets, "Reactive HPA targets swept")->capture_default_str();
  backtest->add_option("--advisor-targets", bt.advisor_targets, "Advisor HPA targets swept")->capture_default_str();
  backtest->add_option("--quantiles", bt.quantiles, "Advisor quantile levels swept")->capture_default_str();
  backtest->add_option("--advisor-horizon", bt.horizon, "What the advisor's floor covers")->capture_default_str();
  backtest
      ->add_option("--floor-utilization", bt.floor_utilization,
                   "Our advisor sizes minReplicas for its forecast peak at this utilisation (the "
                   "seasonal-naive baseline keeps 0.9)")
      ->capture_default_str();
  backtest->add_flag("--rates", bt.rates, "Trace values are req/s rather than requests per row");
  topdog::advisor::DaemonFlags daemon;
  CLI::App* run = app.add_subcommand("run", "Run the advisor daemon (config file: see README)");
  run->add_option("--config", daemon.config_file, "YAML config file")->required();
  run->add_option("--web.listen-address", daemon.listen_addresses, "Addresses for /metrics, /healthz, /readyz")
      ->capture_default_str();
  run->add_option("--web.config.file", daemon.web_config_file, "TLS and basic auth (node_exporter's format)");
  run->add_option("--log.level", daemon.log_level, "debug, info, warn or error")->capture_default_str();
  run->add_option("--log.format", daemon.log_format, "logfmt or json")->capture_default_str();
  run->add_option("--identity", daemon.identity, "Leader-election identity (default: $POD_NAME, else host_pid)");
  CLI::Option* once =
      run->add_flag("--once", daemon.once, "One reconcile pass, its summary as JSON on stdout, then exit");
  run->add_flag("--check-config", daemon.check_config,
                "Check --config (and its rule files) and --web.config.file as a start does, without contacting "
                "anything or listening; print \"config OK\" and exit 0, or the error and exit 1")
      ->excludes(once);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    // `run --check-config` exits 0 or 1 only; the flag may not be parsed yet when the error comes.
    const bool checking =
        std::any_of(argv + 1, argv + argc, [](const char* arg) { return std::strcmp(arg, "--check-config") == 0; });
    return checking ? 1 : kBadInput;
  }
  if (backtest->parsed()) return RunBacktest(bt);
  if (run->parsed() && daemon.check_config) return topdog::advisor::CheckDaemonConfig(daemon);
  if (run->parsed()) return topdog::advisor::RunDaemon(daemon);
  if (horizon == 0) return Fail(kBadInput, "--horizon must be at least 1");
  return RunForecast(input, output, horizon, seasons, quantiles, model, verbose);
}
