// Forecasting models over a gap-free regular series (see FillGaps): seasonal naive, double-seasonal
// Holt-Winters (additive, damped trend; Taylor 2003) and a harmonic regression with trend. Each model is
// fitted once and can then forecast from any origin inside the fitted data, which the backtest uses to score
// models and calibrate quantiles without refitting. Pure and thread-compatible (Eigen and std only).
#pragma once

#include <array>
#include <functional>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace topdog::advisor {

struct Seasons {
  size_t day_steps = 0;   // 0: no daily season (too little data or a hint without it)
  size_t week_steps = 0;  // 0: no weekly season
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string_view Name() const = 0;
  // Fits on y[0, fit_end). REQUIRES: y has no NaN; fit_end <= y.size().
  virtual void Fit(std::span<const double> y, size_t fit_end) = 0;
  // Takes in data up to `end` keeping the fitted smoothing parameters (what is cheap to update is
  // updated: the regression's coefficients). REQUIRES: Fit was called before on the same y.
  virtual void Extend(size_t end) = 0;
  // Forecast of y[origin], ..., y[origin + horizon - 1] from y[0, origin), with the fitted parameters.
  // REQUIRES: Fit was called with the same y; origin <= y.size().
  virtual std::vector<double> Forecast(size_t origin, size_t horizon) const = 0;
};

// y[t] = y[t - k*period] for the smallest k that reaches back before the origin; with `seasons_averaged` > 1,
// the mean over that many past seasons (a steadier baseline).
std::unique_ptr<Model> MakeSeasonalNaive(std::string_view name, size_t period, size_t seasons_averaged = 1);

// Double-seasonal additive Holt-Winters with damped trend, in error-correction form; smoothing parameters
// minimise the one-step squared error (Nelder-Mead). Errors beyond 4 robust standard deviations update the
// states as if they were that large, so a spike or an outage does not reset the seasonal profile.
std::unique_ptr<Model> MakeHoltWinters(Seasons seasons);

// Least squares on a linear trend plus daily and weekly harmonics over the last four weeks (Eigen LDLT on the
// normal equations), plus the mean of the last hour's residuals, decaying over the horizon.
std::unique_ptr<Model> MakeHarmonicRegression(Seasons seasons, double steps_per_hour);

// Nelder-Mead minimisation of f over the unit box (coordinates are clamped to [0, 1]).
std::vector<double> MinimizeInUnitBox(const std::function<double(const std::vector<double>&)>& f,
                                      std::vector<double> start, int max_evaluations);

}  // namespace topdog::advisor
