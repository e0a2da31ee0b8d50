// topdog-advisor: for now the `forecast` command (the daemon comes with its own issue).
//   topdog-advisor forecast --input IN.csv --horizon N [--season-hint 24,168] [--quantiles 0.5,0.9,0.95]
//                           [--model auto] --output OUT.csv
// Exit status: 0 done, 2 bad input or usage (the message names the file and line), 1 other failures.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "advisor/core/csv.h"
#include "advisor/core/forecaster.h"
#include "advisor/core/series.h"

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

int RunForecast(const std::string& input, const std::string& output, size_t horizon, const std::string& seasons,
                const std::string& quantiles, const std::string& model, bool verbose) {
  std::string text;
  if (input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream file(input, std::ios::binary);
    if (!file) return Fail(kBadInput, input + ": " + std::strerror(errno));
    text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  }
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
    for (const auto& [name, mae] : forecast->backtest_mae) std::fprintf(stderr, "  backtest %s mae=%g\n", name.c_str(), mae);
  }
  std::string out = topdog::advisor::FormatForecastCsv(forecast->times_seconds, csv->time_format, options.quantiles,
                                                       forecast->values);
  if (output == "-") {
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : Fail(1, "writing to stdout failed");
  }
  // Written next to the target and renamed, so a reader never sees half a file.
  std::string temporary = output + ".tmp";
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    file << out;
    if (!file.flush()) return Fail(1, temporary + ": " + std::strerror(errno));
  }
  if (std::rename(temporary.c_str(), output.c_str()) != 0) return Fail(1, output + ": " + std::strerror(errno));
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kBadInput;
  }
  if (horizon == 0) return Fail(kBadInput, "--horizon must be at least 1");
  return RunForecast(input, output, horizon, seasons, quantiles, model, verbose);
}
