#include "advisor/core/models.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <Eigen/Dense>

namespace topdog::advisor {
namespace {

// ---------------------------------------------------------------------------------------------------------

class SeasonalNaive final : public Model {
 public:
  SeasonalNaive(std::string_view name, size_t period, size_t seasons)
      : name_(name), period_(std::max<size_t>(period, 1)), seasons_(std::max<size_t>(seasons, 1)) {}
  std::string_view Name() const override { return name_; }
  void Fit(std::span<const double> y, size_t) override { y_ = y; }
  void Extend(size_t) override {}  // forecasts read y directly
  std::vector<double> Forecast(size_t origin, size_t horizon) const override {
    std::vector<double> out(horizon, 0.0);
    for (size_t h = 0; h < horizon; ++h) {
      // The same phase in the last complete season(s) before the origin.
      size_t back = period_ * (h / period_ + 1);
      double sum = 0;
      size_t count = 0;
      for (size_t s = 0; s < seasons_; ++s) {
        size_t distance = back + s * period_;
        if (distance > origin + h) break;
        sum += y_[origin + h - distance];
        ++count;
      }
      out[h] = count > 0 ? sum / static_cast<double>(count) : (origin > 0 ? y_[origin - 1] : 0.0);
    }
    return out;
  }

 private:
  std::string name_;
  size_t period_;
  size_t seasons_;
  std::span<const double> y_;
};

// ---------------------------------------------------------------------------------------------------------

class HoltWinters final : public Model {
 public:
  explicit HoltWinters(Seasons seasons) : seasons_(seasons) {}
  std::string_view Name() const override { return "hw"; }

  void Fit(std::span<const double> y, size_t fit_end) override {
    y_ = y;
    // Four weeks (or 28 days) are plenty for the parameters and keep the fit cheap.
    size_t span = seasons_.week_steps > 0 ? 4 * seasons_.week_steps
                                          : (seasons_.day_steps > 0 ? 28 * seasons_.day_steps : 4096);
    start_ = fit_end > span ? fit_end - span : 0;
    initial_ = Initial();  // the same for every parameter set: computed once per fit
    std::vector<double> u = {0.2, 0.1, 0.8, 0.1, 0.1};
    auto sse = [&](const std::vector<double>& x) {
      Params p = FromUnit(x);
      return Run(p, fit_end, nullptr);
    };
    params_ = FromUnit(MinimizeInUnitBox(sse, u, 120));
  }

  // Forecasts run the filter from the window's start to the origin, so new data needs no work here.
  void Extend(size_t) override {}

  std::vector<double> Forecast(size_t origin, size_t horizon) const override {
    State state;
    Run(params_, origin, &state);
    std::vector<double> out(horizon);
    double damped = 0, phi_power = 1;
    for (size_t h = 0; h < horizon; ++h) {
      phi_power *= params_.phi;
      damped += phi_power;
      size_t t = origin + h;
      double value = state.level + damped * state.trend;
      if (!state.day.empty()) value += state.day[t % state.day.size()];
      if (!state.week.empty()) value += state.week[t % state.week.size()];
      out[h] = value;
    }
    return out;
  }

 private:
  struct Params {
    double alpha = 0.2, beta = 0.01, phi = 0.95, gamma_day = 0.1, gamma_week = 0.1;
  };
  struct State {
    double level = 0, trend = 0;
    std::vector<double> day, week;  // indexed by absolute step modulo the period
  };

  static Params FromUnit(const std::vector<double>& u) {
    Params p;
    p.alpha = 0.005 + 0.9 * u[0];
    p.beta = 0.1 * p.alpha * u[1];
    p.phi = 0.8 + 0.18 * u[2];
    p.gamma_day = (1 - p.alpha) * 0.5 * u[3];
    p.gamma_week = (1 - p.alpha) * 0.5 * u[4];
    return p;
  }

  // Initial states from the first days of the window: level = mean of the first day (or week), daily profile =
  // mean deviation from each day's mean, weekly profile = what the first week(s) leave over.
  State Initial() const {
    State s;
    const size_t m1 = seasons_.day_steps, m2 = seasons_.week_steps;
    size_t avail = y_.size() - start_;
    size_t base = std::min(avail, m2 > 0 ? m2 : (m1 > 0 ? m1 : std::min<size_t>(avail, 24)));
    base = std::max<size_t>(base, 1);
    double sum = 0;
    for (size_t i = 0; i < base; ++i) sum += y_[start_ + i];
    s.level = sum / static_cast<double>(base);
    if (m1 > 0) {
      s.day.assign(m1, 0.0);
      size_t days = std::min<size_t>(avail / m1, 7);
      for (size_t d = 0; d < days; ++d) {
        double mean = 0;
        for (size_t j = 0; j < m1; ++j) mean += y_[start_ + d * m1 + j];
        mean /= static_cast<double>(m1);
        for (size_t j = 0; j < m1; ++j) {
          size_t t = start_ + d * m1 + j;
          s.day[t % m1] += (y_[t] - mean) / static_cast<double>(days);
        }
      }
    }
    if (m2 > 0) {
      s.week.assign(m2, 0.0);
      size_t weeks = std::min<size_t>(avail / m2, 2);
      for (size_t w = 0; w < weeks; ++w) {
        for (size_t j = 0; j < m2; ++j) {
          size_t t = start_ + w * m2 + j;
          double rest = y_[t] - s.level - (m1 > 0 ? s.day[t % m1] : 0.0);
          s.week[t % m2] += rest / static_cast<double>(weeks);
        }
      }
    }
    return s;
  }

  // Runs the filter over [start_, end) and returns the robust one-step SSE after the first day.
  double Run(const Params& p, size_t end, State* out) const {
    State s = initial_;
    const size_t m1 = s.day.size(), m2 = s.week.size();
    // Robust scale of one-step errors: an exponentially weighted mean absolute error.
    double scale = 0;
    for (size_t t = start_ + 1; t < std::min(end, start_ + 64); ++t) scale += std::abs(y_[t] - y_[t - 1]);
    scale = std::max(scale / 63.0, 1e-9);
    double sse = 0;
    const size_t burn_in = start_ + std::max<size_t>(m1, 1);
    // Season positions advance with t; kept as counters (a 64-bit modulo per step would dominate the fit).
    size_t i1 = m1 > 0 ? start_ % m1 : 0, i2 = m2 > 0 ? start_ % m2 : 0;
    double unused = 0;
    for (size_t t = start_; t < end; ++t) {
      double& d = m1 > 0 ? s.day[i1] : unused;
      double& w = m2 > 0 ? s.week[i2] : unused;
      double predicted = s.level + p.phi * s.trend + d + w;
      double error = y_[t] - predicted;
      double limit = 4.0 * 1.25 * scale;
      double clipped = std::clamp(error, -limit, limit);
      if (t >= burn_in) sse += clipped * clipped;
      scale = 0.98 * scale + 0.02 * std::abs(clipped);
      double level = s.level + p.phi * s.trend + p.alpha * clipped;
      s.trend = p.phi * s.trend + p.beta * clipped;
      s.level = level;
      d += p.gamma_day * clipped;
      w += p.gamma_week * clipped;
      unused = 0;
      if (m1 > 0 && ++i1 == m1) i1 = 0;
      if (m2 > 0 && ++i2 == m2) i2 = 0;
    }
    if (out != nullptr) *out = std::move(s);
    return sse;
  }

  Seasons seasons_;
  std::span<const double> y_;
  size_t start_ = 0;
  State initial_;
  Params params_;
};

// ---------------------------------------------------------------------------------------------------------

class HarmonicRegression final : public Model {
 public:
  HarmonicRegression(Seasons seasons, double steps_per_hour)
      : seasons_(seasons), correction_steps_(std::max<size_t>(1, static_cast<size_t>(std::lround(steps_per_hour)))) {
  }
  std::string_view Name() const override { return "fourier"; }
  void Extend(size_t end) override { Fit(y_, end); }  // the coefficients are cheap to refit on the new window

  void Fit(std::span<const double> y, size_t fit_end) override {
    y_ = y;
    size_t span = seasons_.week_steps > 0 ? 4 * seasons_.week_steps : 28 * std::max<size_t>(seasons_.day_steps, 1);
    start_ = fit_end > span ? fit_end - span : 0;
    trend_scale_ = std::max<double>(1.0, static_cast<double>(fit_end - start_));
    // A season's harmonics only when the window holds one and a half of it: fewer leave them unidentified,
    // and their extrapolation explodes.
    const size_t window = fit_end - start_;
    day_terms_ = 0;
    week_harmonics_.clear();
    if (seasons_.day_steps >= 4 && 2 * window >= 3 * seasons_.day_steps) {
      day_terms_ = std::min<size_t>(12, seasons_.day_steps / 2 - 1);
    }
    if (seasons_.week_steps >= 14 && 2 * window >= 3 * seasons_.week_steps) {
      for (size_t k = 1; k <= std::min<size_t>(24, seasons_.week_steps / 2 - 1); ++k) {
        if (k % 7 != 0 || day_terms_ == 0) week_harmonics_.push_back(k);  // multiples of 7 are daily harmonics
      }
    }
    width_ = 2 + 2 * day_terms_ + 2 * week_harmonics_.size();
    const size_t p = width_;
    Eigen::MatrixXd normal = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(p), static_cast<Eigen::Index>(p));
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(static_cast<Eigen::Index>(p));
    // Rows in blocks, so the normal equations build with matrix products instead of rank-one updates.
    constexpr size_t kBlock = 512;
    Eigen::MatrixXd block(static_cast<Eigen::Index>(kBlock), static_cast<Eigen::Index>(p));
    Eigen::VectorXd target(static_cast<Eigen::Index>(kBlock));
    // At most ~6,000 rows: every k-th step of a long 1-minute window carries the same shape (the highest
    // harmonic has a period of two hours), at a fraction of the cost.
    const size_t stride = std::max<size_t>(1, (window + 5999) / 6000);
    for (size_t begin = start_; begin < fit_end; begin += kBlock * stride) {
      size_t rows = std::min(kBlock, (fit_end - begin + stride - 1) / stride);
      for (size_t r = 0; r < rows; ++r) {
        Basis(begin + r * stride, block.row(static_cast<Eigen::Index>(r)));
        target(static_cast<Eigen::Index>(r)) = y_[begin + r * stride];
      }
      auto x = block.topRows(static_cast<Eigen::Index>(rows));
      normal.selfadjointView<Eigen::Lower>().rankUpdate(x.transpose());
      rhs.noalias() += x.transpose() * target.head(static_cast<Eigen::Index>(rows));
    }
    Eigen::MatrixXd full = normal.selfadjointView<Eigen::Lower>();
    // A whisper of ridge keeps the system solvable when a harmonic is not identifiable (short windows).
    double ridge = 1e-8 * std::max(1.0, full.diagonal().mean());
    full.diagonal().array() += ridge;
    coefficients_ = full.ldlt().solve(rhs);
  }

  std::vector<double> Forecast(size_t origin, size_t horizon) const override {
    Eigen::VectorXd x(static_cast<Eigen::Index>(width_));
    // Mean residual of the last hour before the origin: today's deviation from the fitted shape.
    double correction = 0;
    size_t from = origin > correction_steps_ ? origin - correction_steps_ : 0;
    for (size_t t = from; t < origin; ++t) {
      Basis(t, x);
      correction += y_[t] - x.dot(coefficients_);
    }
    if (origin > from) correction /= static_cast<double>(origin - from);
    std::vector<double> out(horizon);
    for (size_t h = 0; h < horizon; ++h) {
      Basis(origin + h, x);
      double decay = std::exp(-static_cast<double>(h + 1) / static_cast<double>(correction_steps_));
      out[h] = x.dot(coefficients_) + correction * decay;
    }
    return out;
  }

 private:
  // Fills the regressors of step t: 1, trend, cos/sin of the daily and weekly harmonics (by recurrence).
  template <class Row>
  void Basis(size_t t, Row&& row) const {
    Eigen::Index i = 0;
    row(i++) = 1.0;
    row(i++) = (static_cast<double>(t) - static_cast<double>(start_)) / trend_scale_;
    if (day_terms_ > 0) {
      double angle = 2 * std::numbers::pi * static_cast<double>(t % seasons_.day_steps) /
                     static_cast<double>(seasons_.day_steps);
      double c1 = std::cos(angle), s1 = std::sin(angle), c = c1, s = s1;
      for (size_t k = 1; k <= day_terms_; ++k) {
        row(i++) = c;
        row(i++) = s;
        double next_c = c * c1 - s * s1;
        s = s * c1 + c * s1;
        c = next_c;
      }
    }
    if (!week_harmonics_.empty()) {
      double angle = 2 * std::numbers::pi * static_cast<double>(t % seasons_.week_steps) /
                     static_cast<double>(seasons_.week_steps);
      double c1 = std::cos(angle), s1 = std::sin(angle), c = c1, s = s1;
      size_t k = 1;
      for (size_t harmonic : week_harmonics_) {
        while (k < harmonic) {
          double next_c = c * c1 - s * s1;
          s = s * c1 + c * s1;
          c = next_c;
          ++k;
        }
        row(i++) = c;
        row(i++) = s;
      }
    }
  }

  Seasons seasons_;
  size_t correction_steps_;
  size_t day_terms_ = 0;
  std::vector<size_t> week_harmonics_;
  size_t width_ = 2;
  std::span<const double> y_;
  size_t start_ = 0;
  double trend_scale_ = 1;
  Eigen::VectorXd coefficients_;
};

}  // namespace

std::unique_ptr<Model> MakeSeasonalNaive(std::string_view name, size_t period, size_t seasons_averaged) {
  return std::make_unique<SeasonalNaive>(name, period, seasons_averaged);
}

std::unique_ptr<Model> MakeHoltWinters(Seasons seasons) { return std::make_unique<HoltWinters>(seasons); }

std::unique_ptr<Model> MakeHarmonicRegression(Seasons seasons, double steps_per_hour) {
  return std::make_unique<HarmonicRegression>(seasons, steps_per_hour);
}

std::vector<double> MinimizeInUnitBox(const std::function<double(const std::vector<double>&)>& f,
                                      std::vector<double> start, int max_evaluations) {
  const size_t n = start.size();
  auto clamp = [](std::vector<double> x) {
    for (double& v : x) v = std::clamp(v, 0.0, 1.0);
    return x;
  };
  std::vector<std::vector<double>> simplex(n + 1, clamp(start));
  for (size_t i = 0; i < n; ++i) {
    simplex[i + 1][i] += simplex[i + 1][i] < 0.75 ? 0.2 : -0.2;
  }
  std::vector<double> values(n + 1);
  int evaluations = 0;
  auto eval = [&](const std::vector<double>& x) {
    ++evaluations;
    return f(x);
  };
  for (size_t i = 0; i <= n; ++i) values[i] = eval(simplex[i]);
  std::vector<size_t> order(n + 1);
  while (evaluations < max_evaluations) {
    for (size_t i = 0; i <= n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    size_t best = order[0], worst = order[n], second = order[n - 1];
    if (std::abs(values[worst] - values[best]) <= 1e-10 * (std::abs(values[best]) + 1e-30)) break;
    std::vector<double> centroid(n, 0.0);
    for (size_t i = 0; i <= n; ++i) {
      if (i == worst) continue;
      for (size_t k = 0; k < n; ++k) centroid[k] += simplex[i][k] / static_cast<double>(n);
    }
    auto along = [&](double t) {
      std::vector<double> x(n);
      for (size_t k = 0; k < n; ++k) x[k] = centroid[k] + t * (simplex[worst][k] - centroid[k]);
      return clamp(x);
    };
    std::vector<double> reflected = along(-1.0);
    double fr = eval(reflected);
    if (fr < values[best]) {
      std::vector<double> expanded = along(-2.0);
      double fe = eval(expanded);
      if (fe < fr) {
        simplex[worst] = expanded, values[worst] = fe;
      } else {
        simplex[worst] = reflected, values[worst] = fr;
      }
    } else if (fr < values[second]) {
      simplex[worst] = reflected, values[worst] = fr;
    } else {
      std::vector<double> contracted = along(fr < values[worst] ? -0.5 : 0.5);
      double fc = eval(contracted);
      if (fc < std::min(fr, values[worst])) {
        simplex[worst] = contracted, values[worst] = fc;
      } else {
        for (size_t i = 0; i <= n; ++i) {  // shrink towards the best
          if (i == best) continue;
          for (size_t k = 0; k < n; ++k) simplex[i][k] = simplex[best][k] + 0.5 * (simplex[i][k] - simplex[best][k]);
          values[i] = eval(simplex[i]);
        }
      }
    }
  }
  size_t best = static_cast<size_t>(std::min_element(values.begin(), values.end()) - values.begin());
  return simplex[best];
}

}  // namespace topdog::advisor
