#include "advisor/core/backtest.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "advisor/core/policy.h"

namespace topdog::advisor {
namespace {

constexpr double kSimStepSeconds = 15;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

int ClampPods(double pods, int lo, int hi) {
  if (!std::isfinite(pods)) return lo;
  // A relative allowance for rounding (30.000000000000004 pods are 30), which leaves a tiny demand 1 pod.
  return std::clamp(static_cast<int>(std::min(std::ceil(pods * (1 - 1e-12)), 1e9)), lo, hi);
}

}  // namespace

Result<Trace> MakeTrace(const std::vector<Sample>& samples, const std::vector<bool>& unscored, bool values_are_rates) {
  if (samples.size() < 2) return MakeError(ErrorKind::kBadData, "the trace needs at least two rows");
  if (!unscored.empty() && unscored.size() != samples.size()) {
    return MakeError(ErrorKind::kBadData, "one unscored flag per row is needed");
  }
  auto step = InferStepSeconds(samples);
  if (!step) return tl::unexpected(step.error());
  Trace trace;
  trace.start_seconds = samples.front().time_seconds;
  trace.step_seconds = *step;
  const double span = samples.back().time_seconds - trace.start_seconds;
  const double rows = span / *step + 1;
  if (!(rows <= 5e6)) return MakeError(ErrorKind::kBadData, "the trace spans more than 5 million steps");
  trace.demand.assign(static_cast<size_t>(std::llround(span / *step)) + 1, 0.0);
  trace.scored.assign(trace.demand.size(), false);
  for (size_t i = 0; i < samples.size(); ++i) {
    auto index = static_cast<size_t>(std::llround((samples[i].time_seconds - trace.start_seconds) / *step));
    index = std::min(index, trace.demand.size() - 1);
    double value = samples[i].value;
    bool ok = std::isfinite(value) && value >= 0;
    trace.demand[index] = ok ? (values_are_rates ? value : value / *step) : 0.0;
    trace.scored[index] = ok && (unscored.empty() || !unscored[i]);
  }
  return trace;
}

PeakForecaster::PeakForecaster(size_t rows_per_day, size_t horizon_rows, size_t decision_rows,
                               std::vector<double> quantiles)
    : day_(std::max<size_t>(rows_per_day, 1)),
      horizon_(std::max<size_t>(horizon_rows, 1)),
      quantiles_(std::move(quantiles)),
      max_ratios_(std::max<size_t>(7 * day_ / std::max<size_t>(decision_rows, 1), 64)) {}

double PeakForecaster::WindowMax(size_t begin, size_t end) const {
  double best = kNaN;
  for (size_t i = begin; i < end && i < history_.size(); ++i) {
    if (!std::isnan(history_[i]) && !(history_[i] <= best)) best = history_[i];
  }
  return best;
}

double PeakForecaster::WindowMean(size_t begin, size_t end) const {
  double sum = 0;
  size_t n = 0;
  for (size_t i = begin; i < end && i < history_.size(); ++i) {
    if (!std::isnan(history_[i])) {
      sum += history_[i];
      ++n;
    }
  }
  return n == 0 ? kNaN : sum / static_cast<double>(n);
}

void PeakForecaster::Observe(double value) {
  history_.push_back(value);
  const size_t now = history_.size();
  std::erase_if(pending_, [&](const Pending& p) {
    if (p.origin + horizon_ > now) return false;
    // Scored only when most of the window is known: an outage says nothing about the estimate.
    size_t known = 0;
    for (size_t i = p.origin; i < p.origin + horizon_; ++i) known += std::isnan(history_[i]) ? 0 : 1;
    double actual = WindowMax(p.origin, p.origin + horizon_);
    if (2 * known >= horizon_ && p.estimate > 0 && std::isfinite(actual)) {
      ratios_.push_back({(p.origin % day_) * 24 / day_, actual / p.estimate});
      if (ratios_.size() > max_ratios_) ratios_.erase(ratios_.begin());
    }
    return true;
  });
}

std::optional<std::vector<double>> PeakForecaster::Forecast(bool calibrate) {
  const size_t t = history_.size();
  const size_t hour_rows = std::max<size_t>(day_ / 24, 1);
  if (t < hour_rows) return std::nullopt;
  // The last hour's peak: steadier than the last few minutes' (which a single burst sets for as long), and the
  // error quantiles scale it to the horizon (an hour scored best of 5 to 120 minutes on the NASA trace).
  double recent = WindowMax(t - hour_rows, t);
  // The same window a day and a week ago, scaled by how the last hour compares with the hour before it.
  double seasonal_sum = 0;
  int seasonal_count = 0;
  for (size_t lag : {day_, 7 * day_}) {
    if (t < lag + hour_rows) continue;
    double then = WindowMax(t - lag, t - lag + horizon_);
    if (std::isnan(then)) continue;
    double now_mean = WindowMean(t - hour_rows, t), then_mean = WindowMean(t - lag - hour_rows, t - lag);
    double level = 1;
    if (now_mean > 0 && then_mean > 0) level = std::clamp(now_mean / then_mean, 0.5, 2.0);
    seasonal_sum += then * level;
    ++seasonal_count;
  }
  double estimate = recent;
  if (seasonal_count > 0) {
    double seasonal = seasonal_sum / seasonal_count;
    estimate = std::isnan(estimate) ? seasonal : std::max(estimate, seasonal);
  }
  if (std::isnan(estimate)) return std::nullopt;
  pending_.push_back({t, estimate});
  if (!calibrate) return std::nullopt;
  if (t < day_ || ratios_.size() < std::min<size_t>(max_ratios_, 100)) return std::nullopt;
  const size_t hour = (t % day_) * 24 / day_;
  std::vector<double> nearby, all;
  for (const Ratio& r : ratios_) {
    size_t distance = r.hour > hour ? r.hour - hour : hour - r.hour;
    if (std::min(distance, 24 - distance) <= 1) nearby.push_back(r.value);
    all.push_back(r.value);
  }
  std::vector<double>& sample = nearby.size() >= 30 ? nearby : all;
  std::sort(sample.begin(), sample.end());  // once for every level
  std::vector<double> out;
  out.reserve(quantiles_.size());
  for (double q : quantiles_) out.push_back(estimate * SortedQuantile(sample, q));
  return out;
}

std::optional<double> FrontierAt(std::vector<std::pair<double, double>> points, double cost) {
  if (points.empty()) return std::nullopt;
  std::sort(points.begin(), points.end());
  // The lower Pareto frontier: walking up in cost, keep only points with fewer overload minutes than any
  // cheaper one.
  std::vector<std::pair<double, double>> frontier;
  for (const auto& p : points) {
    if (frontier.empty() || p.second < frontier.back().second) frontier.push_back(p);
  }
  if (cost < frontier.front().first - 1e-9) return std::nullopt;
  if (cost >= frontier.back().first) {
    // Beyond the most expensive frontier point: more money cannot make it worse.
    return points.back().first >= cost - 1e-9 ? std::optional<double>(frontier.back().second) : std::nullopt;
  }
  for (size_t i = 1; i < frontier.size(); ++i) {
    if (cost <= frontier[i].first) {
      const auto& a = frontier[i - 1];
      const auto& b = frontier[i];
      double w = (cost - a.first) / (b.first - a.first);
      return a.second + w * (b.second - a.second);
    }
  }
  return frontier.back().second;
}

namespace {

struct ArmSetup {
  std::string arm;
  double target = 0.7;
  std::optional<double> quantile;
  // Returns the HPA spec to patch at decision row r (nullopt: leave it).
  // Patches the simulated HPA (and node pool) at decision row `row`; returns whether anything changed.
  std::function<bool(size_t row, HpaSimulator& sim)> decide;
};

ArmResult Score(const std::string& arm, std::optional<double> target, std::optional<double> quantile) {
  ArmResult result;
  result.arm = arm;
  result.target = target;
  result.quantile = quantile;
  return result;
}

// Accumulates scored rows into an ArmResult.
class Scorer {
 public:
  Scorer(const Trace& trace, ArmResult* out) : trace_(trace), out_(out) {}
  // One row: its demand, the mean pods and nodes over its steps, the capacity of each step.
  void Row(size_t r, double pods, double nodes, const std::vector<double>& capacity) {
    if (!trace_.scored[r]) {
      streak_ = 0;  // an unscored stretch ends a streak
      return;
    }
    const double minutes = trace_.step_seconds / 60;
    const double d = trace_.demand[r];
    double mean_capacity = 0, unserved = 0;
    for (double c : capacity) {
      mean_capacity += c / static_cast<double>(capacity.size());
      unserved += std::max(d - c, 0.0) / static_cast<double>(capacity.size());
    }
    out_->replica_minutes += pods * minutes;
    out_->node_minutes += nodes * minutes;
    unserved_ += unserved;
    demand_ += d;
    // Overload is judged minute by minute, as defined (a 5-minute row whose first minute is short of capacity
    // has one overload minute, not five); rows of a minute or less are judged whole.
    const size_t ticks = capacity.size();
    size_t chunk = ticks;
    if (minutes > 1 && std::abs(minutes - std::round(minutes)) < 1e-9 && ticks % std::llround(minutes) == 0) {
      chunk = ticks / static_cast<size_t>(std::llround(minutes));
    }
    const double chunk_minutes = minutes * static_cast<double>(chunk) / static_cast<double>(ticks);
    for (size_t start = 0; start < ticks; start += chunk) {
      double mean = 0;
      for (size_t k = start; k < start + chunk; ++k) mean += capacity[k] / static_cast<double>(chunk);
      // Not a rounding error: the oracle's ceil(demand / capacity - 1e-9) pods serve exactly its demand.
      if (d > mean * (1 + 1e-9)) {
        out_->overload_minutes += chunk_minutes;
        streak_ += chunk_minutes;
        out_->longest_overload_streak_minutes = std::max(out_->longest_overload_streak_minutes, streak_);
      } else {
        streak_ = 0;
      }
    }
    out_->demand_series.push_back(static_cast<float>(d));
    out_->capacity_series.push_back(static_cast<float>(mean_capacity));
  }
  void Finish() { out_->unserved_fraction = demand_ > 0 ? unserved_ / demand_ : 0; }

 private:
  const Trace& trace_;
  ArmResult* out_;
  double unserved_ = 0, demand_ = 0, streak_ = 0;
};

}  // namespace

Result<BacktestResult> RunBacktest(const Trace& trace, BacktestOptions options,
                                   const std::function<void(double)>& progress) {
  const size_t rows = trace.demand.size();
  if (rows < 2) return MakeError(ErrorKind::kBadData, "the trace needs at least two rows");
  if (trace.scored.size() != rows) return MakeError(ErrorKind::kBadData, "one scored flag per row is needed");
  if (trace.step_seconds > 3600) {
    return MakeError(ErrorKind::kBadData, "the trace's step (" + std::to_string(trace.step_seconds) +
                                              " s) is above an hour: too coarse to replay an autoscaler");
  }
  const double steps = trace.step_seconds / kSimStepSeconds;
  if (trace.step_seconds < kSimStepSeconds || std::abs(steps - std::round(steps)) > 1e-6) {
    return MakeError(ErrorKind::kBadData, "the trace's step (" + std::to_string(trace.step_seconds) +
                                              " s) must be a multiple of the HPA's 15 s sync period");
  }
  const int steps_per_row = static_cast<int>(std::lround(steps));
  std::vector<double> scored_demand;
  for (size_t r = 0; r < rows; ++r) {
    if (trace.scored[r]) scored_demand.push_back(trace.demand[r]);
  }
  if (scored_demand.empty()) return MakeError(ErrorKind::kBadData, "the trace has no scored rows");
  std::sort(scored_demand.begin(), scored_demand.end());
  const double p99 = SortedQuantile(scored_demand, 0.99);
  if (options.pod_capacity <= 0) options.pod_capacity = p99 / 30;
  if (!(options.pod_capacity > 0)) return MakeError(ErrorKind::kBadData, "the trace's p99 demand is 0");
  if (options.min_replicas < 1 || options.max_replicas < options.min_replicas) {
    return MakeError(ErrorKind::kBadData, "need 1 <= min replicas <= max replicas");
  }
  const double mu = options.pod_capacity;
  const size_t decision_rows = std::max<size_t>(1, static_cast<size_t>(std::llround(options.decision_seconds /
                                                                                   trace.step_seconds)));
  const size_t horizon_rows =
      std::max<size_t>(1, static_cast<size_t>(std::ceil(options.horizon_seconds / trace.step_seconds - 1e-9)));
  const size_t rows_per_day = static_cast<size_t>(std::llround(86400 / trace.step_seconds));

  BacktestResult result;
  result.scored_minutes = static_cast<double>(scored_demand.size()) * trace.step_seconds / 60;
  result.days = static_cast<double>(rows) * trace.step_seconds / 86400;
  result.seconds_simulated = static_cast<double>(rows) * trace.step_seconds;
  result.step_seconds = trace.step_seconds;

  // Our advisor's forecasts, once for all its arms: at each decision row, from the rows before it.
  std::vector<std::optional<std::vector<double>>> forecasts((rows + decision_rows - 1) / decision_rows);
  {
    PeakForecaster forecaster(rows_per_day, horizon_rows, decision_rows, options.advisor_quantiles);
    for (size_t r = 0; r < rows; ++r) {
      if (r % decision_rows == 0) forecasts[r / decision_rows] = forecaster.Forecast();
      forecaster.Observe(trace.scored[r] ? trace.demand[r] : kNaN);
    }
  }

  SimulatorConfig config;
  config.step_seconds = kSimStepSeconds;
  config.pod_capacity = mu;
  config.pod_startup_seconds = options.pod_startup_seconds;
  config.metric_lag_seconds = options.metric_lag_seconds;
  config.pods_per_node = options.pods_per_node;
  config.node_startup_seconds = options.node_startup_seconds;
  result.simulator = config;

  std::vector<ArmSetup> setups;
  for (double target : options.hpa_targets) setups.push_back({"hpa", target, std::nullopt, nullptr});
  for (double target : options.advisor_targets) {
    for (size_t qi = 0; qi < options.advisor_quantiles.size(); ++qi) {
      AdvisorPolicy policy;
      policy.pod_capacity = mu;
      policy.floor_utilization = options.floor_utilization;
      policy.target_utilization = target;
      policy.floor_replicas = options.min_replicas;
      policy.max_replicas = options.max_replicas;
      policy.pods_per_node = options.pods_per_node;
      policy.max_nodes_cap = options.pods_per_node > 0
                                 ? (options.max_replicas + options.pods_per_node - 1) / options.pods_per_node
                                 : 25;
      auto decide = [&forecasts, decision_rows, qi, policy, last_change = -1e18](size_t row,
                                                                              HpaSimulator& sim) mutable {
        const auto& forecast = forecasts[row / decision_rows];
        if (!forecast) return false;
        ClusterState state{sim.Hpa(), sim.NodePool(), sim.Pods(), sim.Now(), last_change};
        Recommendation rec = Recommend((*forecast)[qi], state, policy);
        if (!rec.changed) return false;
        const bool hpa_changed = sim.SetHpa(rec.hpa);
        const bool pool_changed = policy.pods_per_node > 0 && sim.SetNodePool(rec.pool);
        if (hpa_changed || pool_changed) last_change = sim.Now();
        return hpa_changed || pool_changed;
      };
      setups.push_back({"advisor", target, options.advisor_quantiles[qi], decide});
    }
  }
  const size_t naive_rows = std::max<size_t>(
      1, static_cast<size_t>(std::ceil(options.seasonal_naive_window_seconds / trace.step_seconds - 1e-9)));
  for (double target : options.seasonal_naive_targets) {
    const int lo = options.min_replicas, hi = options.max_replicas;
    const double floor_utilization = 0.9;  // the reference's definition, whatever ours uses
    auto decide = [&trace, rows_per_day, naive_rows, mu, lo, hi, floor_utilization, target](
                      size_t row, HpaSimulator& sim) {
      if (row < rows_per_day) return false;  // nothing to copy on day 1
      double peak = 0;
      for (size_t i = row - rows_per_day; i < row - rows_per_day + naive_rows && i < trace.demand.size(); ++i) {
        peak = std::max(peak, trace.demand[i]);
      }
      HpaSpec spec = sim.Hpa();
      spec.min_replicas = ClampPods(peak / (floor_utilization * mu), lo, hi);
      spec.target_utilization = target;
      return sim.SetHpa(spec);
    };
    setups.push_back({"seasonal_naive", target, std::nullopt, decide});
  }

  const size_t total_arms = setups.size() + 2;
  size_t arms_done = 0;
  std::vector<double> capacity(static_cast<size_t>(steps_per_row));
  for (const ArmSetup& setup : setups) {
    ArmResult arm = Score(setup.arm, setup.target, setup.quantile);
    HpaSpec hpa;
    hpa.min_replicas = options.min_replicas;
    hpa.max_replicas = options.max_replicas;
    hpa.target_utilization = setup.target;
    NodePoolSpec pool;
    pool.min_nodes = 1;
    pool.max_nodes = options.pods_per_node > 0
                         ? (options.max_replicas + options.pods_per_node - 1) / options.pods_per_node
                         : 1000;
    const int initial = ClampPods(trace.demand[0] / (mu * setup.target), options.min_replicas, options.max_replicas);
    HpaSimulator sim(config, hpa, pool, initial);
    Scorer scorer(trace, &arm);
    int64_t patches = 0;
    for (size_t r = 0; r < rows; ++r) {
      if (setup.decide && r % decision_rows == 0 && setup.decide(r, sim)) ++patches;
      double pods = 0, nodes = 0;
      for (int k = 0; k < steps_per_row; ++k) {
        StepResult step = sim.Step(trace.demand[r]);
        pods += step.pods;
        nodes += step.nodes;
        capacity[static_cast<size_t>(k)] = step.capacity;
      }
      scorer.Row(r, pods / steps_per_row, nodes / steps_per_row, capacity);
    }
    scorer.Finish();
    arm.scaling_changes = sim.ScaleWrites();
    arm.patches_per_day = result.days > 0 ? static_cast<double>(patches) / result.days : 0;
    result.arms.push_back(std::move(arm));
    if (progress) progress(static_cast<double>(++arms_done) / static_cast<double>(total_arms));
  }

  // Static provisioning for the p99 demand, and the oracle: just enough pods each row, at once.
  {
    auto nodes_for = [&](int pods) {
      return options.pods_per_node > 0 ? (static_cast<int64_t>(pods) + options.pods_per_node - 1) / options.pods_per_node
                                       : 0;
    };
    ArmResult arm = Score("static_peak", std::nullopt, std::nullopt);
    const int pods = ClampPods(p99 / mu, options.min_replicas, options.max_replicas);
    Scorer scorer(trace, &arm);
    std::fill(capacity.begin(), capacity.end(), pods * mu);
    for (size_t r = 0; r < rows; ++r) scorer.Row(r, pods, static_cast<double>(nodes_for(pods)), capacity);
    scorer.Finish();
    result.arms.push_back(std::move(arm));
    ArmResult oracle = Score("oracle", std::nullopt, std::nullopt);
    Scorer oracle_scorer(trace, &oracle);
    int previous = -1;
    for (size_t r = 0; r < rows; ++r) {
      const int need = ClampPods(trace.demand[r] / mu, 0, 1 << 30);
      if (previous >= 0 && need != previous) ++oracle.scaling_changes;
      previous = need;
      std::fill(capacity.begin(), capacity.end(), need * mu);
      oracle_scorer.Row(r, need, static_cast<double>(nodes_for(need)), capacity);
    }
    oracle_scorer.Finish();
    result.oracle_replica_minutes = oracle.replica_minutes;
    result.arms.push_back(std::move(oracle));
    if (progress) progress(1.0);
  }

  auto points = [&](const std::string& name) {
    std::vector<std::pair<double, double>> out;
    for (const ArmResult& arm : result.arms) {
      if (arm.arm == name) out.emplace_back(arm.replica_minutes, arm.overload_minutes);
    }
    return out;
  };
  for (double reference : {0.7, 0.5, 0.4}) {
    for (const ArmResult& arm : result.arms) {
      if (arm.arm != "hpa" || !arm.target || std::abs(*arm.target - reference) > 1e-9) continue;
      FrontierPoint point;
      point.hpa_target = reference;
      point.replica_minutes = arm.replica_minutes;
      point.hpa_overload = arm.overload_minutes;
      point.advisor_overload = FrontierAt(points("advisor"), arm.replica_minutes);
      point.seasonal_naive_overload = FrontierAt(points("seasonal_naive"), arm.replica_minutes);
      result.frontier.push_back(point);
    }
  }
  result.options = options;
  return result;
}

}  // namespace topdog::advisor
