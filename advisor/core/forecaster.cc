#include "advisor/core/forecaster.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "advisor/core/models.h"

namespace topdog::advisor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Backtest origins: every half horizon back, so the errors span several days of the series own history.
constexpr size_t kMaxOrigins = 32;
// A year of minutes: beyond it a forecast of this kind means nothing, and memory grows with the horizon.
constexpr size_t kMaxHorizon = 525'600;

// Runs of exact zeros in a series that is otherwise well above zero are outages (a dead exporter, a crashed
// app), not demand: fitting on them would teach every model that traffic can vanish at that hour. They are
// treated as gaps. Short runs stay (a quiet minute at night is real).
Series MaskOutages(Series series, size_t min_run) {
  std::vector<double> observed;
  for (double v : series.values) {
    if (!std::isnan(v)) observed.push_back(v);
  }
  if (observed.empty()) return series;
  auto middle = observed.begin() + static_cast<std::ptrdiff_t>(observed.size() / 2);
  std::nth_element(observed.begin(), middle, observed.end());
  if (*middle <= 0) return series;
  std::vector<double>& v = series.values;
  for (size_t i = 0; i < v.size();) {
    if (v[i] != 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < v.size() && v[j] == 0) ++j;
    if (j - i >= min_run) std::fill(v.begin() + static_cast<std::ptrdiff_t>(i), v.begin() + static_cast<std::ptrdiff_t>(j), kNaN);
    i = j;
  }
  return series;
}

double Pinball(double actual, double predicted, double q) {
  double diff = actual - predicted;
  return diff >= 0 ? q * diff : (q - 1) * diff;
}

struct Candidate {
  std::string name;
  std::vector<std::shared_ptr<Model>> parts;  // the mean of their forecasts (a combination shares its parts)
};

std::vector<double> Predict(const Candidate& c, size_t origin, size_t horizon) {
  std::vector<double> sum(horizon, 0.0);
  for (const auto& model : c.parts) {
    std::vector<double> f = model->Forecast(origin, horizon);
    for (size_t h = 0; h < horizon; ++h) sum[h] += f[h];
  }
  for (double& v : sum) v /= static_cast<double>(c.parts.size());
  return sum;
}

}  // namespace

Result<ForecastResult> ForecastSeries(const Series& series, const ForecastOptions& options) {
  const size_t horizon = options.horizon_steps;
  if (horizon == 0) return MakeError(ErrorKind::kBadData, "horizon must be at least 1 step");
  if (horizon > kMaxHorizon) {
    return MakeError(ErrorKind::kBadData, "horizon " + std::to_string(horizon) + " is above " +
                                              std::to_string(kMaxHorizon) + " steps");
  }
  for (double q : options.quantiles) {
    if (!(q > 0 && q < 1)) return MakeError(ErrorKind::kBadData, "quantile " + std::to_string(q) + " is not in (0, 1)");
  }
  static const std::vector<std::string> kModels = {"auto", "snaive-day", "snaive-week", "hw", "fourier"};
  if (std::find(kModels.begin(), kModels.end(), options.model) == kModels.end()) {
    return MakeError(ErrorKind::kBadData, "unknown model \"" + options.model +
                                              "\" (auto, snaive-day, snaive-week, hw, fourier)");
  }
  if (series.ObservedCount() < 2) return MakeError(ErrorKind::kBadData, "need at least two observed values");
  if (!(series.step_seconds > 0)) return MakeError(ErrorKind::kBadData, "step must be positive");

  const double step = series.step_seconds;
  const double steps_per_hour = 3600.0 / step;
  size_t day = 0, week = 0;
  if (!options.season_steps.empty()) {
    day = options.season_steps[0];
    if (options.season_steps.size() > 1) week = options.season_steps[1];
  } else if (step <= 6 * 3600) {
    day = static_cast<size_t>(std::lround(86400.0 / step));
    week = 7 * day;
  }
  // A season is modelled only with at least two full cycles of history.
  const size_t n = series.values.size();
  if (day > 0 && (day < 2 || n < 2 * day)) day = 0;
  if (week > 0 && (week < 2 || n < 2 * week)) week = 0;
  Seasons seasons{day, week};

  Series masked = MaskOutages(series, std::max<size_t>(3, static_cast<size_t>(std::lround(steps_per_hour / 2))));
  if (masked.ObservedCount() < 2) masked = series;
  std::vector<double> y = FillGaps(masked, week > 0 ? week : day);
  std::vector<bool> observed(n);
  for (size_t i = 0; i < n; ++i) observed[i] = !std::isnan(masked.values[i]);
  bool non_negative = std::all_of(y.begin(), y.end(), [](double v) { return v >= 0; });

  // Candidates.
  std::vector<Candidate> candidates;
  auto add = [&](std::string name, std::unique_ptr<Model> model) {
    Candidate c;
    c.name = std::move(name);
    c.parts.push_back(std::move(model));
    candidates.push_back(std::move(c));
  };
  if (day > 0) add("snaive-day", MakeSeasonalNaive("snaive-day", day));
  if (week > 0) add("snaive-week", MakeSeasonalNaive("snaive-week", week));
  if (day == 0) add("naive", MakeSeasonalNaive("naive", 1));
  add("hw", MakeHoltWinters(seasons));
  if (day > 0) add("fourier", MakeHarmonicRegression(seasons, steps_per_hour));
  if (options.model != "auto") {
    std::erase_if(candidates, [&](const Candidate& c) { return c.name != options.model; });
    if (candidates.empty()) {
      return MakeError(ErrorKind::kBadData, "model \"" + options.model + "\" needs more history (two full seasons)");
    }
  }

  // Rolling origins in the recent past, each followed by a full horizon of known values.
  const size_t min_train = std::max<size_t>(day > 0 ? 2 * day : 8, 8);
  const size_t stride = std::max<size_t>(1, std::max(horizon / 2, day > 0 ? day / 4 : size_t{1}));
  std::vector<size_t> origins;
  for (size_t j = 0; j < kMaxOrigins && n >= horizon + min_train + j * stride; ++j) {
    origins.push_back(n - horizon - j * stride);
  }

  ForecastResult result;
  std::vector<std::vector<double>> errors(horizon);  // per horizon step, pooled over origins (absolute)
  std::vector<std::vector<double>> relative(horizon);
  std::vector<std::vector<size_t>> error_origin(horizon);  // which origin (0 = latest) each error came from
  size_t chosen = 0;
  std::vector<std::vector<std::vector<double>>> predictions;  // [candidate][origin][h]
  if (!origins.empty()) {
    // Parameters are fitted once, before the earliest origin when that leaves two weeks (or three days) of
    // data, so the backtest errors are out of sample: a model that has seen the answer makes intervals too
    // narrow and picks the wrong model. Otherwise as early as two weeks (three days) allow.
    const size_t min_fit = week > 0 ? 2 * week : (day > 0 ? 3 * day : 8);
    const size_t fit_end = std::max(origins.back(), std::min(origins.front(), min_fit));
    for (Candidate& c : candidates) {
      for (auto& model : c.parts) model->Fit(y, fit_end);
    }
    // Mean absolute error, recent origins weighing more (x0.9 per origin back): after a level shift the
    // models that follow it must win even though most origins predate it.
    auto score = [&](const std::vector<std::vector<double>>& by_origin) {
      double sum = 0, weight_sum = 0, weight = 1;
      for (size_t j = 0; j < origins.size(); ++j, weight *= 0.9) {
        for (size_t h = 0; h < horizon; ++h) {
          size_t t = origins[j] + h;
          if (!observed[t]) continue;
          sum += weight * std::abs(y[t] - by_origin[j][h]);
          weight_sum += weight;
        }
      }
      return weight_sum > 0 ? sum / weight_sum : std::numeric_limits<double>::infinity();
    };
    std::vector<double> mae;
    for (const Candidate& c : candidates) {
      std::vector<std::vector<double>> by_origin;
      for (size_t origin : origins) by_origin.push_back(Predict(c, origin, horizon));
      mae.push_back(score(by_origin));
      predictions.push_back(std::move(by_origin));
      result.backtest_mae.emplace_back(c.name, mae.back());
    }
    // The mean of the two best candidates is a candidate too: combining usually beats choosing.
    if (candidates.size() >= 2 && options.model == "auto") {
      std::vector<size_t> order(candidates.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mae[a] < mae[b]; });
      std::vector<std::vector<double>> mean_by_origin = predictions[order[0]];
      for (size_t j = 0; j < origins.size(); ++j) {
        for (size_t h = 0; h < horizon; ++h) mean_by_origin[j][h] = 0.5 * (mean_by_origin[j][h] + predictions[order[1]][j][h]);
      }
      double combined = score(mean_by_origin);
      result.backtest_mae.emplace_back(candidates[order[0]].name + "+" + candidates[order[1]].name, combined);
      if (combined < mae[order[0]]) {
        Candidate c;
        c.name = candidates[order[0]].name + "+" + candidates[order[1]].name;
        c.parts = {candidates[order[0]].parts[0], candidates[order[1]].parts[0]};
        candidates.push_back(std::move(c));
        predictions.push_back(std::move(mean_by_origin));
        mae.push_back(combined);
      }
    }
    chosen = static_cast<size_t>(std::min_element(mae.begin(), mae.end()) - mae.begin());
    for (size_t j = 0; j < origins.size(); ++j) {
      for (size_t h = 0; h < horizon; ++h) {
        size_t t = origins[j] + h;
        if (!observed[t]) continue;
        double predicted = predictions[chosen][j][h];
        errors[h].push_back(y[t] - predicted);
        relative[h].push_back((y[t] - predicted) / std::max(std::abs(predicted), 1e-9));
        error_origin[h].push_back(j);
      }
    }
  } else {
    // Too short for a backtest: the simplest model, with one-step errors grown like a random walk's.
    candidates.resize(1);
    chosen = 0;
    for (size_t t = 1; t < n; ++t) {
      if (!observed[t] || !observed[t - 1]) continue;
      double e = y[t] - y[t - 1];
      for (size_t h = 0; h < horizon; ++h) {
        errors[h].push_back(e * std::sqrt(static_cast<double>(h + 1)));
        error_origin[h].push_back(0);
      }
    }
  }

  Candidate& model = candidates[chosen];
  result.model = model.name;
  for (auto& part : model.parts) {
    if (origins.empty()) {
      part->Fit(y, n);
    } else {
      part->Extend(n);  // the backtest's parameters, on all the data
    }
  }
  std::vector<double> point = Predict(model, n, horizon);

  // Quantiles from the backtest errors, pooled over neighbouring horizons until enough are at hand. Errors
  // scale with the level for most load series, so relative errors are used when they fit the backtest better.
  size_t per_step = std::max<size_t>(1, origins.size());
  size_t window = std::max<size_t>(1, (40 + per_step - 1) / per_step / 2);
  // The errors around horizon h, sorted. Errors of neighbouring horizons from one origin are alike: the pool
  // widens as the horizon grows, and takes every k-th horizon so it stays near kMaxPool values.
  constexpr size_t kMaxPool = 600;
  // `from_origin`: only errors of origins at or after this index (0 = latest) are pooled.
  auto pooled = [&](const std::vector<std::vector<double>>& by_h, size_t h, size_t from_origin) {
    size_t reach = std::max(window, h / 4);
    size_t from = h > reach ? h - reach : 0, to = std::min(horizon - 1, h + reach);
    size_t stride = std::max<size_t>(1, (to - from + 1) * per_step / kMaxPool);
    std::vector<double> out;
    for (size_t k = from; k <= to; k += stride) {
      for (size_t i = 0; i < by_h[k].size(); ++i) {
        if (error_origin[k][i] >= from_origin) out.push_back(by_h[k][i]);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  // Quantiles are estimated at a grid of horizons (every step for the first 24, then ~48 more) and
  // interpolated in between: they change slowly with the horizon, and sorting pools at every step of a
  // 1,440-step horizon would cost more than the models.
  std::vector<size_t> grid;
  for (size_t h = 0; h < horizon; h += h < 24 ? 1 : std::max<size_t>(1, horizon / 48)) grid.push_back(h);
  if (grid.back() != horizon - 1) grid.push_back(horizon - 1);
  // offsets[g][qi]: error quantile at grid point g for the level levels[qi].
  auto offsets_for = [&](const std::vector<std::vector<double>>& by_h, const std::vector<double>& levels,
                         size_t from_origin) {
    std::vector<std::vector<double>> out(grid.size(), std::vector<double>(levels.size(), 0.0));
    for (size_t g = 0; g < grid.size(); ++g) {
      std::vector<double> pool = pooled(by_h, grid[g], from_origin);
      if (pool.empty()) continue;
      for (size_t qi = 0; qi < levels.size(); ++qi) {
        // Split-conformal finite-sample level: the ceil((n + 1) q)-th of n errors.
        double q = levels[qi], size = static_cast<double>(pool.size());
        double level = q >= 0.5 ? std::min(1.0, std::ceil((size + 1) * q) / size) : q;
        out[g][qi] = SortedQuantile(pool, level);
      }
    }
    return out;
  };
  std::vector<double> levels = options.quantiles;
  std::vector<std::vector<double>> absolute_offsets = offsets_for(errors, levels, 0);
  std::vector<std::vector<double>> relative_offsets;
  bool use_relative = false;
  if (!origins.empty()) {
    relative_offsets = offsets_for(relative, levels, 0);
    // In-sample comparison on the backtest itself: pinball loss of both kinds of interval at the grid.
    double loss_abs = 0, loss_rel = 0;
    for (size_t g = 0; g < grid.size(); ++g) {
      size_t h = grid[g];
      for (size_t qi = 0; qi < options.quantiles.size(); ++qi) {
        double q = options.quantiles[qi];
        for (size_t i = 0; i < errors[h].size(); ++i) {
          double e = errors[h][i];
          double predicted_abs = relative[h][i] != 0 ? std::abs(e / relative[h][i]) : 0.0;  // |predicted|
          loss_abs += Pinball(e, absolute_offsets[g][qi], q);
          loss_rel += Pinball(e, relative_offsets[g][qi] * predicted_abs, q);
        }
      }
    }
    use_relative = loss_rel < loss_abs;
  }
  // Recalibration on the series' own recent errors (in the spirit of adaptive conformal inference):
  // quantiles estimated from the older half of the origins are checked against the newer half; a level
  // that covered less than asked is raised by the shortfall, then all origins are pooled at that level.
  // Load series drift, and the recent past is the better guide to how much.
  if (origins.size() >= 6) {
    const auto& by_h = use_relative ? relative : errors;
    size_t half = origins.size() / 2;
    auto older = offsets_for(by_h, levels, half);
    for (size_t qi = 0; qi < levels.size(); ++qi) {
      double q = levels[qi];
      if (q < 0.5) continue;
      size_t covered = 0, total = 0;
      for (size_t g = 0; g < grid.size(); ++g) {
        size_t h = grid[g];
        for (size_t i = 0; i < by_h[h].size(); ++i) {
          if (error_origin[h][i] >= half) continue;
          covered += by_h[h][i] <= older[g][qi] ? 1 : 0;
          ++total;
        }
      }
      if (total == 0) continue;
      double achieved = static_cast<double>(covered) / static_cast<double>(total);
      levels[qi] = std::clamp(q + (q - achieved), q, 1 - (1 - q) / 4);
    }
    absolute_offsets = offsets_for(errors, levels, 0);
    relative_offsets = offsets_for(relative, levels, 0);
  }
  const auto& offsets = use_relative ? relative_offsets : absolute_offsets;
  bool have_errors = std::any_of(errors.begin(), errors.end(), [](const auto& e) { return !e.empty(); });

  result.values.assign(horizon, std::vector<double>(options.quantiles.size(), 0.0));
  std::vector<size_t> ascending(options.quantiles.size());  // quantile indices by level
  for (size_t i = 0; i < ascending.size(); ++i) ascending[i] = i;
  std::sort(ascending.begin(), ascending.end(),
            [&](size_t a, size_t b) { return options.quantiles[a] < options.quantiles[b]; });
  size_t g = 0;
  for (size_t h = 0; h < horizon; ++h) {
    while (g + 1 < grid.size() && grid[g + 1] <= h) ++g;
    size_t next = std::min(g + 1, grid.size() - 1);
    double w = next == g ? 0.0 : static_cast<double>(h - grid[g]) / static_cast<double>(grid[next] - grid[g]);
    for (size_t qi = 0; qi < options.quantiles.size(); ++qi) {
      double value = point[h];
      if (have_errors) {
        double offset = offsets[g][qi] * (1 - w) + offsets[next][qi] * w;
        value = use_relative ? point[h] + offset * std::abs(point[h]) : point[h] + offset;
      }
      if (non_negative) value = std::max(value, 0.0);
      result.values[h][qi] = value;
    }
    // Quantiles must not cross; the user's order is kept, values sorted to match ascending levels.
    std::vector<double> sorted;
    for (size_t i : ascending) sorted.push_back(result.values[h][i]);
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < ascending.size(); ++i) result.values[h][ascending[i]] = sorted[i];
    result.times_seconds.push_back(series.TimeAt(n - 1) + static_cast<double>(h + 1) * step);
  }
  return result;
}

}  // namespace topdog::advisor
