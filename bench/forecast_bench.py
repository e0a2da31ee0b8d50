#!/usr/bin/python3
"""Benchmark: `topdog-advisor forecast` against forecasting peers, same series, same origins, same run.

Accuracy (default): 8 real series from tests/fixtures/traces (see its SOURCES.md; the NASA per-minute counts
are summed to 5 minutes, and a bucket holding any flagged minute is neither history nor scored), 5 forecast
origins each (NASA: fixed dates on both sides of the outage; others: every 1 or 3 days back from the end).
Every method gets the same history, the clean stretch before the origin (at most 28 days, at least 8), and
forecasts one day ahead (capped at 288 steps). Methods:
  ours-<model>       `topdog-advisor forecast --model <model>` for auto, snaive-day, snaive-week, hw, fourier;
                     CPU = utime+stime of the child (RUSAGE_CHILDREN delta), process start-up included.
  snaive-day/-week   seasonal naive in Python; q0.9/q0.95 = point + empirical quantile of the in-sample errors
                     y_t - y_{t-season} over the history.
  statsmodels-hw     statsmodels ExponentialSmoothing, additive damped trend + additive season of one day,
                     statsmodels' default fit, on the standardized history (see statsmodels_hw); q0.5 =
                     point forecast, q0.9/q0.95 = quantiles of `simulate` paths (Gaussian errors, anchor at
                     the end, fixed random_state).
  r-ets, r-stlf,     R forecast package via bench/forecast_peers.R: ets (refuses frequency > 24 and drops the
  r-tbats            season, so it is non-seasonal on every series here; its warning is kept in the CSV), stlf
                     (STL/MSTL + ETS on the seasonally adjusted series) and tbats with seasonal periods of one
                     day (+ one week when the history holds two weeks); q0.5 = point forecast, q0.9/q0.95 = upper
                     bounds of the 80 %/90 % intervals. tbats runs in its own Rscript with RLIMIT_CPU and is a
                     DNF when its fit exceeds --tbats-budget CPU seconds.
Metrics per (method, series, origin), all scaled by the in-sample mean |y_t - y_{t-m}| of that history
(m = one day in steps): MASE of q0.5; pinball loss at 0.5/0.9/0.95; coverage = share of actuals <= q0.9 and
<= q0.95 (one-sided upper quantiles: autoscaling provisions for the upper bound, so that is the side that
matters). Table means are over the (series, origin) pairs a method finished; ratios over the pairs both finished.
Points without a real observation (NASA flagged minutes, NAB samples missing from the file) are not scored.

Speed (--speed): N series of 14 days at 1-minute resolution (20,160 points) cut from the NASA per-minute trace
(see speed_series), 1440-step horizon; CPU of ours over all N, and of statsmodels' Holt-Winters
(seasonal_periods=1440) on the first few of the same series, called on raw and on standardized values.

No network, fixed seeds, no pass/fail: it prints figures and the issue's targets next to them.

Usage: bench/forecast_bench.py [--advisor build/advisor/topdog-advisor] [--quick] [--series a,b]
       [--origins N] [--no-r] [--no-tbats] [--no-statsmodels] [--tbats-budget 60] [--csv out.csv]
       bench/forecast_bench.py --speed [--speed-series 1000] [--speed-sm-series 3]
"""
import argparse
import collections
import csv
import dataclasses
import datetime
import gzip
import hashlib
import importlib
import math
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TRACES = os.path.join(REPO, "tests", "fixtures", "traces")
PEERS_R = os.path.join(REPO, "bench", "forecast_peers.R")
DEFAULT_ADVISOR = os.path.join(REPO, "build", "advisor", "topdog-advisor")

QUANTILES = (0.5, 0.9, 0.95)
DAY_S = 86400
WEEK_S = 7 * DAY_S
HISTORY_MAX_S = 28 * DAY_S
# A week for the weekly seasonal naive, plus a day of its in-sample errors for the quantiles.
HISTORY_MIN_S = 8 * DAY_S
HORIZON_CAP_STEPS = 288
OUR_MODELS = ("auto", "snaive-day", "snaive-week", "hw", "fourier")
NASA_UTC_OFFSET_S = -4 * 3600  # NASA timestamps are server-local EDT (SOURCES.md)
NASA_MINUTES = "nasa_http_1995/nasa_http_requests_per_minute.csv.gz"
SEED = 20260101


# ---------------------------------------------------------------------------------------------------------
# Series

@dataclasses.dataclass
class SeriesSpec:
    name: str
    path: str  # relative to tests/fixtures/traces
    column: str
    step_s: int
    what: str
    stride_days: int = 1  # spacing of the rolling origins, counted back from the end
    end: str = ""  # forecast windows end before this time (file clock), e.g. where a NAB anomaly window starts
    origins: tuple = ()  # explicit origin times (file clock), instead of the rolling rule


SERIES = (
    SeriesSpec("nasa_http_5min", NASA_MINUTES, "requests", 300,
               "NASA KSC HTTP requests per 5 min (sum of the per-minute file)",
               # Three origins before the Hurricane Erin outage (Jul 28 leaves 13.5 h to score: the source ends
               # at 13:32) and two after it, once 8 clean days have accumulated again.
               origins=("1995-07-21 00:00:00", "1995-07-24 00:00:00", "1995-07-28 00:00:00",
                        "1995-08-24 00:00:00", "1995-08-28 00:00:00")),
    SeriesSpec("nyc_taxi_30min", "nab/realKnownCause/nyc_taxi.csv.gz", "value", 1800,
               "NYC taxi passengers per 30 min", stride_days=3),
    SeriesSpec("asg_cpu_5min", "nab/realKnownCause/cpu_utilization_asg_misconfiguration.csv.gz", "value", 300,
               "AWS auto-scaling group CPU %", stride_days=3,
               end="2014-07-10 12:29:00"),  # NAB anomaly window (the misconfiguration) starts here
    SeriesSpec("elb_requests_5min", "nab/realAWSCloudwatch/elb_request_count_8c0756.csv", "value", 300,
               "AWS ELB requests per 5 min"),
    SeriesSpec("ec2_cpu_5min", "nab/realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv", "value", 300,
               "AWS EC2 CPU %"),
    SeriesSpec("rds_cpu_5min", "nab/realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv", "value", 300,
               "AWS RDS CPU %"),
    SeriesSpec("azure_cpu_5min", "azure_v2_2019/vm_cpu_readings_month_aggregated_cpu_mem.csv.gz", "cpu_usage",
               300, "Azure region, sum of VM CPU x cores", stride_days=3),
    SeriesSpec("azure_mem_5min", "azure_v2_2019/vm_cpu_readings_month_aggregated_cpu_mem.csv.gz",
               "assigned_mem", 300, "Azure region, assigned memory", stride_days=3),
)
QUICK_SERIES = ("nasa_http_5min", "rds_cpu_5min")


@dataclasses.dataclass
class Series:
    name: str
    step_s: int
    times_s: np.ndarray  # epoch seconds on a regular grid
    values: np.ndarray
    usable: np.ndarray  # may appear in a history (real or interpolated over a single missing sample)
    scored: np.ndarray  # a real observation: may be scored


def open_text(path):
    return gzip.open(path, "rt", newline="") if path.endswith(".gz") else open(path, newline="")


def parse_file_time(text, spec):
    """Seconds for a timestamp in the file's own clock: NAB is treated as UTC (no zone given), NASA is EDT."""
    if spec.name.startswith("azure"):
        return int(text)
    stamp = datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    offset_s = NASA_UTC_OFFSET_S if spec.name.startswith("nasa") else 0
    return int(stamp.timestamp()) - offset_s


def on_grid(times_s, values, step_s):
    """Puts samples on a regular grid; samples missing from the file are interpolated (usable in a history,
    since every peer needs a regular series) but never scored."""
    grid = np.arange(times_s[0], times_s[-1] + 1, step_s, dtype=np.int64)
    index = (times_s - times_s[0]) // step_s
    if np.any((times_s - times_s[0]) % step_s) or len(np.unique(index)) != len(index):
        raise ValueError(f"timestamps are not on a {step_s} s grid")
    scored = np.zeros(len(grid), dtype=bool)
    scored[index] = True
    filled = np.interp(grid, times_s, values)
    return grid, filled, scored


def load_series(spec):
    if spec.name.startswith("nasa"):
        return load_nasa(spec)
    with open_text(os.path.join(TRACES, spec.path)) as f:
        rows = list(csv.DictReader(f))
    times_s = np.array([parse_file_time(r["timestamp"], spec) for r in rows], dtype=np.int64)
    values = np.array([float(r[spec.column]) for r in rows])
    grid, filled, scored = on_grid(times_s, values, spec.step_s)
    return Series(spec.name, spec.step_s, grid, filled, np.ones(len(grid), dtype=bool), scored)


def read_nasa_minutes():
    """Per-minute NASA rows: epoch seconds, requests (0 where absent), and whether the minute is clean."""
    with open_text(os.path.join(TRACES, NASA_MINUTES)) as f:
        rows = list(csv.DictReader(f))
    times_s = np.array([int(r["epoch_s"]) for r in rows], dtype=np.int64)
    requests = np.array([float(r["requests"]) if r["requests"] else 0.0 for r in rows])
    # Flagged rows (missing in source, server down for Hurricane Erin, partial minutes) are not demand.
    clean = np.array([r["flag"] == "" and r["requests"] != "" for r in rows])
    if np.any(np.diff(times_s) != 60):
        raise ValueError("NASA per-minute file is not contiguous")
    return times_s, requests, clean


def load_nasa(spec):
    """Sums the per-minute file into spec.step_s buckets aligned to the epoch; a bucket holding any flagged
    minute is neither usable in a history nor scored."""
    times_s, requests, clean = read_nasa_minutes()
    per_bucket = spec.step_s // 60
    start = int(np.argmax(times_s % spec.step_s == 0))
    count = (len(times_s) - start) // per_bucket
    cut = slice(start, start + count * per_bucket)
    buckets = requests[cut].reshape(count, per_bucket).sum(axis=1)
    clean_buckets = clean[cut].reshape(count, per_bucket).all(axis=1)
    return Series(spec.name, spec.step_s, times_s[cut][::per_bucket], buckets, clean_buckets, clean_buckets)


@dataclasses.dataclass
class Pair:
    """One forecast task: a series, an origin, the history before it and the window after it."""
    series: Series
    origin: int  # index of the first forecast step
    start: int  # index of the first history point
    horizon: int
    m: int  # one day in steps
    scale: float  # in-sample mean |y_t - y_{t-m}|
    key: str = ""

    @property
    def history(self):
        return self.series.values[self.start:self.origin]

    @property
    def actual(self):
        return self.series.values[self.origin:self.origin + self.horizon]

    @property
    def scored(self):
        return self.series.scored[self.origin:self.origin + self.horizon]

    @property
    def origin_iso(self):
        stamp = datetime.datetime.fromtimestamp(int(self.series.times_s[self.origin]), datetime.timezone.utc)
        return stamp.strftime("%Y-%m-%dT%H:%MZ")


def make_pairs(series, spec, origins_wanted, notes):
    step_s = series.step_s
    m = DAY_S // step_s
    horizon = min(m, HORIZON_CAP_STEPS)
    if spec.origins:
        origins = []
        for text in spec.origins:
            origin = int(np.searchsorted(series.times_s, parse_file_time(text, spec)))
            if origin + horizon > len(series.times_s) or series.times_s[origin] != parse_file_time(text, spec):
                raise ValueError(f"{spec.name}: origin {text} is not on the grid or too close to the end")
            origins.append(origin)
    else:
        end = len(series.times_s)
        if spec.end:
            end = int(np.searchsorted(series.times_s, parse_file_time(spec.end, spec)))
        last = end - horizon
        stride = spec.stride_days * m
        origins = sorted(last - k * stride for k in range(5))
    if origins_wanted:
        origins = origins[-origins_wanted:]
    pairs = []
    for origin in origins:
        start = max(0, origin - HISTORY_MAX_S // step_s)
        # The history is the clean run just before the origin: no peer can take gaps.
        bad = np.flatnonzero(~series.usable[start:origin])
        if len(bad):
            start += int(bad[-1]) + 1
        history = series.values[start:origin]
        label = f"{series.name}@{origin}"
        if len(history) < HISTORY_MIN_S // step_s:
            notes.append(f"{label}: skipped, only {len(history)} clean history points before the origin")
            continue
        scale = float(np.mean(np.abs(history[m:] - history[:-m])))
        pair = Pair(series, origin, start, horizon, m, scale)
        pair.key = f"{series.name}@{pair.origin_iso}"
        if scale <= 0 or not np.any(pair.scored):
            notes.append(f"{pair.key}: skipped (zero scale or nothing to score)")
            continue
        pairs.append(pair)
    return pairs


# ---------------------------------------------------------------------------------------------------------
# Methods. Each returns an Outcome; a crash on one series is a failure of that series, never of the run.

@dataclasses.dataclass
class Outcome:
    status: str  # ok | fail | dnf (over a time budget) | n/a (not run: binary missing)
    cpu_s: float = float("nan")
    detail: str = ""
    quantiles: np.ndarray = None  # shape (3, horizon): q0.5, q0.9, q0.95


def first_line(text, limit=200):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return (lines[0] if lines else "")[:limit]


def read_quantiles(path, horizon, expected_times_s=None):
    """Reads q0.5,q0.9,q0.95 columns (and checks the timestamp column when given expected times)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    names = [f"q{q:g}" for q in QUANTILES]
    if not rows or any(n not in rows[0] for n in names):
        raise ValueError(f"expected columns {','.join(names)} in {os.path.basename(path)}")
    if len(rows) != horizon:
        raise ValueError(f"{len(rows)} rows, expected {horizon}")
    out = np.array([[float(r[n]) for r in rows] for n in names])
    if not np.all(np.isfinite(out)):
        raise ValueError("non-finite forecast value")
    if expected_times_s is not None:
        got = np.array([float(r["timestamp"]) for r in rows])
        wrong = np.flatnonzero(np.abs(got - expected_times_s) > 0.5)
        if len(wrong):
            i = int(wrong[0])
            raise ValueError(f"row {i + 1}: timestamp {got[i]:.0f}, expected {expected_times_s[i]}")
    return out


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ours(advisor, model, input_csv, horizon, expected_times_s, workdir, extra_args, timeout_s):
    output = os.path.join(workdir, "ours_out.csv")
    if os.path.exists(output):
        os.unlink(output)
    argv = [advisor, "forecast", "--input", input_csv, "--horizon", str(horizon),
            "--quantiles", ",".join(f"{q:g}" for q in QUANTILES), "--model", model, "--output", output]
    argv += extra_args
    before = children_cpu_s()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return Outcome("fail", children_cpu_s() - before, f"timeout after {timeout_s} s")
    except OSError as e:
        return Outcome("fail", detail=f"cannot run {advisor}: {e}")
    cpu_s = children_cpu_s() - before
    if proc.returncode < 0:
        return Outcome("fail", cpu_s, f"killed by {signal.Signals(-proc.returncode).name}")
    if proc.returncode != 0:
        return Outcome("fail", cpu_s, f"exit {proc.returncode}: {first_line(proc.stderr or proc.stdout)}")
    try:
        quantiles = read_quantiles(output, horizon, expected_times_s)
    except (OSError, ValueError, KeyError) as e:
        return Outcome("fail", cpu_s, f"bad output: {e}")
    return Outcome("ok", cpu_s, first_line(proc.stderr), quantiles)


def seasonal_naive(history, horizon, season):
    """Point forecast y_{T+k-season}, quantiles shifted by empirical quantiles of in-sample season errors."""
    t0 = time.process_time()
    if len(history) <= season:
        return Outcome("fail", detail=f"needs more than {season} points, has {len(history)}")
    steps = np.arange(horizon)
    point = history[len(history) - season + steps % season]
    errors = history[season:] - history[:-season]
    q90, q95 = np.quantile(errors, [0.9, 0.95])
    quantiles = np.vstack([point, point + q90, point + q95])
    return Outcome("ok", time.process_time() - t0, f"{len(errors)} in-sample errors", quantiles)


def statsmodels_hw(history, horizon, m, repetitions, seed, with_quantiles=True, standardize=True):
    """Holt-Winters fitted on the standardized history, mapped back. The model is affine-equivariant, but
    statsmodels' optimizer gives up on raw values of large magnitude after 1-2 iterations ("Inequality
    constraints incompatible"; nyc_taxi: alpha stuck at 0.96, MASE up to 20 instead of 0.5-6); standardizing
    keeps the peer from losing on numerics alone."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing
    t0 = time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            mean, sd = (float(np.mean(history)), float(np.std(history)) or 1.0) if standardize else (0.0, 1.0)
            model = ExponentialSmoothing((history - mean) / sd, trend="add", damped_trend=True, seasonal="add",
                                         seasonal_periods=m)
            fit = model.fit()
            point = fit.forecast(horizon) * sd + mean
            if with_quantiles:
                paths = fit.simulate(horizon, repetitions=repetitions, error="add", anchor="end",
                                     random_state=seed)
                upper = np.quantile(paths, [0.9, 0.95], axis=1) * sd + mean
        except Exception as e:  # noqa: BLE001 - any statsmodels/scipy error is this series' failure
            return Outcome("fail", time.process_time() - t0, f"{type(e).__name__}: {first_line(str(e))}")
    cpu_s = time.process_time() - t0
    notes = sorted({first_line(str(w.message), 80) for w in caught})
    detail = f"alpha={fit.params['smoothing_level']:.3f} gamma={fit.params['smoothing_seasonal']:.3f} " \
             f"phi={fit.params['damping_trend']:.3f}" + ("; " + " | ".join(notes) if notes else "")
    if not with_quantiles:
        return Outcome("ok", cpu_s, detail, np.vstack([point, point, point]))
    quantiles = np.vstack([point, upper[0], upper[1]])
    if not np.all(np.isfinite(quantiles)):
        return Outcome("fail", cpu_s, "non-finite forecast")
    return Outcome("ok", cpu_s, detail, quantiles)


def seasonal_periods(pair):
    return [pair.m, 7 * pair.m] if len(pair.history) >= 14 * pair.m else [pair.m]


def run_r_jobs(jobs, workdir, tag, timeout_s, cpu_limit_s=None):
    """Runs forecast_peers.R on jobs [(id, method, pair, history_txt)]; returns {id: Outcome}."""
    jobs_path = os.path.join(workdir, f"r_jobs_{tag}.tsv")
    results_path = os.path.join(workdir, f"r_results_{tag}.tsv")
    with open(jobs_path, "w") as f:
        f.write("id\tmethod\thistory\tm\th\tperiods\tout\n")
        for job_id, method, pair, history_txt in jobs:
            periods = ",".join(str(p) for p in seasonal_periods(pair))
            out = os.path.join(workdir, f"r_out_{job_id}.csv")
            f.write(f"{job_id}\t{method}\t{history_txt}\t{pair.m}\t{pair.horizon}\t{periods}\t{out}\n")
    if os.path.exists(results_path):
        os.unlink(results_path)

    def limit_cpu():
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if cpu_limit_s:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_limit_s, cpu_limit_s + 5))

    crash = ""
    try:
        proc = subprocess.run(["Rscript", PEERS_R, jobs_path, results_path], capture_output=True, text=True,
                              timeout=timeout_s, preexec_fn=limit_cpu)
        if proc.returncode < 0:
            crash = f"killed by {signal.Signals(-proc.returncode).name}"
        elif proc.returncode != 0:
            crash = f"Rscript exit {proc.returncode}: {first_line(proc.stderr)}"
    except subprocess.TimeoutExpired:
        crash = f"Rscript timed out after {timeout_s} s"
    except OSError as e:
        crash = f"cannot run Rscript: {e}"
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                if len(fields) == 6:
                    results[fields[0]] = fields[1:]
    outcomes = {}
    for job_id, method, pair, _ in jobs:
        if job_id not in results:
            # Only the job in flight when the process died is missing here, or all of them if R never started.
            outcomes[job_id] = Outcome("fail", detail=crash or "no result from Rscript")
            continue
        status, cpu_text, model, warns, error = results[job_id]
        cpu_s = float(cpu_text)
        detail = "; ".join(s for s in (model, warns) if s)
        if status != "ok":
            outcomes[job_id] = Outcome("fail", cpu_s, error or "R error")
            continue
        try:
            quantiles = read_quantiles(os.path.join(workdir, f"r_out_{job_id}.csv"), pair.horizon)
        except (OSError, ValueError) as e:
            outcomes[job_id] = Outcome("fail", cpu_s, f"bad output: {e}")
            continue
        outcomes[job_id] = Outcome("ok", cpu_s, detail, quantiles)
    return outcomes


# ---------------------------------------------------------------------------------------------------------
# Scoring and report

def pinball(actual, quantile, tau):
    diff = actual - quantile
    return np.mean(np.maximum(tau * diff, (tau - 1) * diff))


def score(pair, quantiles):
    mask = pair.scored
    actual = pair.actual[mask]
    q = quantiles[:, mask]
    return {
        "mase": float(np.mean(np.abs(actual - q[0])) / pair.scale),
        "pinball50": float(pinball(actual, q[0], 0.5) / pair.scale),
        "pinball90": float(pinball(actual, q[1], 0.9) / pair.scale),
        "pinball95": float(pinball(actual, q[2], 0.95) / pair.scale),
        "cov90": float(np.mean(actual <= q[1])),
        "cov95": float(np.mean(actual <= q[2])),
    }


METRICS = ("mase", "pinball50", "pinball90", "pinball95", "cov90", "cov95")


def record(rows, method, pair, outcome):
    row = {"method": method, "series": pair.series.name, "origin": pair.origin_iso,
           "history_points": len(pair.history), "horizon": pair.horizon, "scored_points": int(pair.scored.sum()),
           "status": outcome.status, "cpu_s": outcome.cpu_s, "detail": outcome.detail}
    if outcome.status == "ok":
        row.update(score(pair, outcome.quantiles))
    rows.append(row)
    return row


def fmt(value, spec):
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def fmt_metric(value):
    """Three decimals, or three significant digits for the huge values an exploding interval gives."""
    return fmt(value, ".3g" if value is not None and abs(value) >= 1000 else ".3f")


def summarize(rows, methods, pairs_total):
    print(f"\n## Accuracy: {pairs_total} (series, origin) pairs; means over the pairs each method finished\n")
    print("| method | ok | fail | DNF | MASE mean | MASE median | pinball .5 | pinball .9 | pinball .95 | cov .9 "
          "| cov .95 | CPU s/fit |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    by_method = {}
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        ok = [r for r in mine if r["status"] == "ok"]
        by_method[method] = {(r["series"], r["origin"]): r for r in ok}
        means = {k: (float(np.mean([r[k] for r in ok])) if ok else None) for k in METRICS}
        cpu = float(np.mean([r["cpu_s"] for r in ok])) if ok else None
        fails = sum(r["status"] == "fail" for r in mine)
        dnfs = sum(r["status"] == "dnf" for r in mine)
        median = float(np.median([r["mase"] for r in ok])) if ok else None
        cells = [means["mase"], median] + [means[k] for k in METRICS[1:]] + [cpu]
        print(f"| {method} | {len(ok)} | {fails} | {dnfs} | " + " | ".join(fmt_metric(c) for c in cells) + " |")
    return by_method


def ratio(by_method, a, b):
    common = sorted(set(by_method.get(a, {})) & set(by_method.get(b, {})))
    if not common:
        return None, 0
    num = np.mean([by_method[a][k]["mase"] for k in common])
    den = np.mean([by_method[b][k]["mase"] for k in common])
    return float(num / den), len(common)


def print_ratios(by_method, methods):
    ours = "ours-auto"
    print(f"\n## Ratios: mean MASE of the method / mean MASE of {ours}, over the pairs both finished "
          "(> 1: ours-auto is better)\n")
    for method in methods:
        if method == ours:
            continue
        value, n = ratio(by_method, method, ours)
        print(f"- {method} / {ours}: {fmt(value, '.3f')} ({n} pairs)")
    value, n = ratio(by_method, ours, "snaive-day")
    print(f"\n{ours} / snaive-day: {fmt(value, '.3f')} ({n} pairs; issue target <= 0.85)")
    peers = [m for m in methods if not m.startswith("ours-")]
    not_beaten = [m for m in peers if (ratio(by_method, m, ours)[0] or 0) <= 1]
    if by_method.get(ours):
        print(f"{ours} mean MASE below {len(peers) - len(not_beaten)} of {len(peers)} peers (issue target: all)"
              + (f"; not below: {', '.join(not_beaten)}" if not_beaten else ""))
        mine = list(by_method[ours].values())
        for tau, key in ((0.9, "cov90"), (0.95, "cov95")):
            cov = float(np.mean([r[key] for r in mine]))
            print(f"{ours} coverage at {tau}: {cov:.3f} (issue target {tau - 0.03:.2f}..{tau + 0.03:.2f})")


def model_form(model):
    """(T)BATS model strings differ in every parameter; keep only their seasonal periods."""
    if not model.startswith(("TBATS(", "BATS(")):
        return model
    periods = re.findall(r"<(\d+),", model)
    return f"TBATS, periods {'+'.join(periods)}" if periods else "BATS, no season"


def print_models(rows, methods):
    """Which model form each R peer picked (e.g. that ets dropped the season) and the peers' warnings."""
    for method in (m for m in methods if m.startswith("r-") or m == "statsmodels-hw"):
        forms = collections.Counter(model_form(r["detail"].split(";")[0].strip()) for r in rows
                                    if r["method"] == method and r["status"] == "ok" and method != "statsmodels-hw")
        warns = collections.Counter(r["detail"].split(";", 1)[1].strip() for r in rows
                                    if r["method"] == method and r["status"] == "ok" and ";" in r["detail"])
        if forms:
            print(f"- {method} models: " + ", ".join(f"{f} x{n}" for f, n in forms.most_common()))
        for text, n in warns.most_common(3):
            print(f"- {method} warning x{n}: {text[:160]}")


def print_failures(rows, methods):
    lines = []
    for method in methods:
        bad = [r for r in rows if r["method"] == method and r["status"] != "ok"]
        if bad:
            examples = sorted({r["detail"] for r in bad})[:2]
            lines.append(f"- {method}: {len(bad)} not finished, e.g. " + " / ".join(examples))
    if lines:
        print("\nNot finished:")
        print("\n".join(lines))


def write_csv(path, rows):
    fields = ["method", "series", "origin", "history_points", "horizon", "scored_points", "status", *METRICS,
              "cpu_s", "detail"]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})


# ---------------------------------------------------------------------------------------------------------
# Runs

def write_history(pair, workdir, tag):
    csv_path = os.path.join(workdir, f"hist_{tag}.csv")
    txt_path = os.path.join(workdir, f"hist_{tag}.txt")
    times_s = pair.series.times_s[pair.start:pair.origin]
    with open(csv_path, "w") as f:
        f.write("timestamp,value\n")
        f.writelines(f"{t},{v!r}\n" for t, v in zip(times_s.tolist(), pair.history.tolist()))
    with open(txt_path, "w") as f:
        f.writelines(f"{v!r}\n" for v in pair.history.tolist())
    return csv_path, txt_path


def missing_peer(args):
    if not args.no_statsmodels:
        try:
            importlib.import_module("statsmodels.tsa.holtwinters")
        except ImportError as e:
            return f"statsmodels not importable ({e}; Debian package python3-statsmodels; or --no-statsmodels)"
    if not args.no_r and not args.speed:
        if not shutil.which("Rscript"):
            return "Rscript not found (Debian package r-cran-forecast; or --no-r)"
    return ""


def versions(args, use_r):
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    if not args.no_statsmodels:
        import statsmodels
        parts.append(f"statsmodels {statsmodels.__version__}")
    if use_r:
        try:
            out = subprocess.run(["Rscript", "-e", "cat(R.version$major, R.version$minor, "
                                  "as.character(packageVersion('forecast')))"],
                                 capture_output=True, text=True, timeout=60)
            major, minor, forecast = out.stdout.split()
            parts.append(f"R {major}.{minor}, forecast {forecast}")
        except (OSError, ValueError, subprocess.TimeoutExpired) as e:
            parts.append(f"R unavailable ({e})")
    return ", ".join(parts)


def advisor_status(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return None, f"{path}: not found or not executable, ours-* are n/a"
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:12]
    return path, f"{path} (sha256 {digest})"


def extra_args(args):
    return ["--season-hint", args.season_hint] if args.season_hint else []


def run_accuracy(args):
    wanted = args.series.split(",") if args.series else (QUICK_SERIES if args.quick else [s.name for s in SERIES])
    unknown = [n for n in wanted if n not in {s.name for s in SERIES}]
    if unknown:
        print(f"unknown series: {', '.join(unknown)}; known: {', '.join(s.name for s in SERIES)}",
              file=sys.stderr)
        return 2
    specs = [s for s in SERIES if s.name in wanted]
    use_r = not args.no_r
    use_tbats = use_r and not args.no_tbats and not args.quick
    advisor, advisor_text = advisor_status(args.advisor)
    print(f"advisor: {advisor_text}")
    print(f"versions: {versions(args, use_r)}")
    methods = [f"ours-{m}" for m in OUR_MODELS] + ["snaive-day", "snaive-week"]
    if not args.no_statsmodels:
        methods.append("statsmodels-hw")
    if use_r:
        methods += ["r-ets", "r-stlf"] + (["r-tbats"] if use_tbats else [])
    extra = extra_args(args)
    origins_wanted = args.origins or (2 if args.quick else 0)

    rows, notes, pair_count = [], [], 0
    with tempfile.TemporaryDirectory(prefix="forecast_bench_") as workdir:
        for spec in specs:
            series = load_series(spec)
            pairs = make_pairs(series, spec, origins_wanted, notes)
            pair_count += len(pairs)
            r_jobs = []
            for i, pair in enumerate(pairs):
                tag = f"{spec.name}_{i}"
                csv_path, txt_path = write_history(pair, workdir, tag)
                step_s = series.step_s
                expected = series.times_s[pair.origin - 1] + step_s * np.arange(1, pair.horizon + 1)
                for model in OUR_MODELS:
                    if advisor:
                        outcome = run_ours(advisor, model, csv_path, pair.horizon, expected, workdir, extra,
                                           args.timeout)
                    else:
                        outcome = Outcome("n/a", detail="binary not found")
                    record(rows, f"ours-{model}", pair, outcome)
                record(rows, "snaive-day", pair, seasonal_naive(pair.history, pair.horizon, pair.m))
                record(rows, "snaive-week", pair, seasonal_naive(pair.history, pair.horizon, 7 * pair.m))
                if not args.no_statsmodels:
                    record(rows, "statsmodels-hw", pair,
                           statsmodels_hw(pair.history, pair.horizon, pair.m, args.sm_reps, SEED))
                for method in ("ets", "stlf") if use_r else ():
                    r_jobs.append((f"{tag}_{method}", method, pair, txt_path))
                progress(f"{pair.key}: python-side methods done")
            if r_jobs:
                outcomes = run_r_jobs(r_jobs, workdir, spec.name, timeout_s=600)
                for job_id, method, pair, _ in r_jobs:
                    record(rows, f"r-{method}", pair, outcomes[job_id])
                progress(f"{spec.name}: ets, stlf done")
            for i, pair in enumerate(pairs if use_tbats else ()):
                job = (f"{spec.name}_{i}_tbats", "tbats", pair, os.path.join(workdir, f"hist_{spec.name}_{i}.txt"))
                # R start-up (about 1-2 CPU s) counts against RLIMIT_CPU too, hence the margin.
                outcome = run_r_jobs([job], workdir, job[0], timeout_s=3 * args.tbats_budget + 120,
                                     cpu_limit_s=args.tbats_budget + 10)[job[0]]
                killed = outcome.status == "fail" and outcome.detail.startswith(("killed", "Rscript timed out"))
                if killed or (outcome.status == "ok" and outcome.cpu_s > args.tbats_budget):
                    outcome = Outcome("dnf", outcome.cpu_s, f"over the {args.tbats_budget} CPU s budget "
                                      f"({outcome.detail})")
                record(rows, "r-tbats", pair, outcome)
                progress(f"{pair.key}: tbats {outcome.status} ({fmt(outcome.cpu_s, '.1f')} s)")

    for note in notes:
        print(f"note: {note}")
    print("series: " + "; ".join(f"{s.name} ({s.what})" for s in specs))
    by_method = summarize(rows, methods, pair_count)
    print("\nQuantiles: ours from the CLI; snaive-* point + empirical quantiles of in-sample seasonal errors; "
          "statsmodels-hw simulate() paths; r-* upper bounds of the 80 %/90 % intervals. Coverage is one-sided "
          "(share of actuals <= q). CPU: fit+forecast per finished fit (ours incl. process start-up).")
    print_ratios(by_method, methods)
    print("\nModels and warnings of the peers:")
    print_models(rows, methods)
    print_failures(rows, methods)
    if args.csv:
        write_csv(args.csv, rows)
        print(f"\nper-series rows: {args.csv}")
    return 0


def speed_series(count, seed):
    """Yields (times_s, values) for `count` 14-day 1-minute series cut from the NASA per-minute trace.

    Series i is the window at a seeded random offset inside one of the two clean stretches (before and after
    the Hurricane Erin gap, alternating), times a seeded scale factor in [0.5, 20] (log-uniform), with 5 %
    seeded Gaussian multiplicative noise, clipped at 0. The real timestamps of the window are kept."""
    times_s, requests, clean = read_nasa_minutes()
    points = 14 * 1440
    edges = np.flatnonzero(np.diff(np.concatenate([[0], clean.astype(np.int8), [0]])))
    stretches = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= points]
    for i in range(count):
        rng = np.random.default_rng([seed, i])
        a, b = stretches[i % len(stretches)]
        offset = a + int(rng.integers(0, b - a - points + 1))
        scale = math.exp(rng.uniform(math.log(0.5), math.log(20.0)))
        noise = 1.0 + 0.05 * rng.standard_normal(points)
        values = np.maximum(0.0, requests[offset:offset + points] * scale * noise)
        yield times_s[offset:offset + points], np.round(values, 4)


def run_speed(args):
    horizon = 1440
    advisor, advisor_text = advisor_status(args.advisor)
    print(f"advisor: {advisor_text}")
    print(f"versions: {versions(args, use_r=False)}")
    print(f"\n## Speed: {args.speed_series} series x 20,160 1-min points, horizon {horizon}\n")
    print("Series: 14-day windows of the NASA per-minute trace at seeded offsets inside its two clean stretches, "
          "x a seeded log-uniform scale in [0.5, 20], x (1 + 5 % seeded Gaussian noise), clipped at 0.\n")
    sm_series = []
    ours_cpu_s, ours_ok, ours_fail, first_error = 0.0, 0, 0, ""
    wall0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="forecast_speed_") as workdir:
        input_csv = os.path.join(workdir, "in.csv")
        for i, (times_s, values) in enumerate(speed_series(args.speed_series, SEED)):
            if i < args.speed_sm_series and not args.no_statsmodels:
                sm_series.append(values)
            if not advisor:
                if len(sm_series) >= args.speed_sm_series or args.no_statsmodels:
                    break
                continue
            with open(input_csv, "w") as f:
                f.write("timestamp,value\n")
                f.writelines(f"{t},{v!r}\n" for t, v in zip(times_s.tolist(), values.tolist()))
            expected = times_s[-1] + 60 * np.arange(1, horizon + 1)
            outcome = run_ours(advisor, args.speed_model, input_csv, horizon, expected, workdir, extra_args(args),
                               args.timeout)
            ours_cpu_s += outcome.cpu_s if not math.isnan(outcome.cpu_s) else 0.0
            if outcome.status == "ok":
                ours_ok += 1
            else:
                ours_fail += 1
                first_error = first_error or outcome.detail
            if (i + 1) % 100 == 0:
                progress(f"speed: {i + 1} series, ours CPU so far {ours_cpu_s:.1f} s")
    wall_s = time.monotonic() - wall0
    per_ours = ours_cpu_s / max(1, ours_ok + ours_fail)
    if advisor:
        print(f"ours (--model {args.speed_model}): {ours_ok} ok, {ours_fail} failed"
              f"{' (' + first_error + ')' if first_error else ''}; CPU {ours_cpu_s:.2f} s total "
              f"= {per_ours * 1000:.2f} s per 1,000 (issue target < 60 s), {per_ours * 1000:.1f} ms/series incl. "
              f"process start; "
              f"wall {wall_s:.1f} s incl. writing the inputs")
    else:
        print("ours: n/a")
    # Both ways of calling statsmodels: the plain call on raw values is what a user gets first, but on these
    # series its optimizer stops after 1-2 iterations without converging; on standardized values it converges
    # (or runs to its iteration limit) and takes ~10x longer. The ratio uses the faster one.
    per_sm = {}
    for standardize, label in ((False, "raw values"), (True, "standardized")):
        fit_cpu, unconverged = [], 0
        for values in sm_series:
            outcome = statsmodels_hw(values, horizon, 1440, 0, SEED, with_quantiles=False, standardize=standardize)
            if outcome.status != "ok":
                print(f"statsmodels-hw ({label}): failed: {outcome.detail}")
                continue
            fit_cpu.append(outcome.cpu_s)
            unconverged += "failed to converge" in outcome.detail
            progress(f"speed: statsmodels ({label}) fit+forecast {outcome.cpu_s:.1f} s")
        if fit_cpu:
            per_sm[label] = float(np.mean(fit_cpu))
            print(f"statsmodels-hw on {label} (ExponentialSmoothing add damped trend, add season 1440, "
                  f"fit+forecast, no intervals): {per_sm[label]:.2f} CPU s/series over {len(fit_cpu)} series, "
                  f"{unconverged} not converged")
    if per_sm and advisor and ours_ok:
        label = min(per_sm, key=per_sm.get)
        print(f"ratio statsmodels ({label}, the faster) / ours per series: {per_sm[label] / per_ours:.0f}x "
              f"(issue target >= 100x)")
    return 0


def progress(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--advisor", default=DEFAULT_ADVISOR, help="topdog-advisor binary (default: %(default)s)")
    ap.add_argument("--season-hint", default="", help="passed to ours as --season-hint when set")
    ap.add_argument("--timeout", type=int, default=300, help="wall seconds per call of ours")
    ap.add_argument("--quick", action="store_true", help="smoke test: 2 series, 2 origins, no tbats")
    ap.add_argument("--series", default="", help="comma-separated series names")
    ap.add_argument("--origins", type=int, default=0, help="use only the last N origins of each series")
    ap.add_argument("--no-r", action="store_true")
    ap.add_argument("--no-tbats", action="store_true")
    ap.add_argument("--no-statsmodels", action="store_true")
    ap.add_argument("--tbats-budget", type=int, default=60, help="CPU seconds per tbats fit before DNF")
    ap.add_argument("--sm-reps", type=int, default=500, help="statsmodels simulation paths for the quantiles")
    ap.add_argument("--csv", default="", help="write per (method, series, origin) rows here")
    ap.add_argument("--speed", action="store_true", help="run the speed section instead of accuracy")
    ap.add_argument("--speed-series", type=int, default=1000)
    ap.add_argument("--speed-sm-series", type=int, default=3, help="statsmodels fits in the speed section")
    ap.add_argument("--speed-model", default="auto")
    args = ap.parse_args()
    print("command: " + shlex.join([sys.executable] + sys.argv))
    problem = missing_peer(args)
    if problem:
        print(f"error: {problem}; run scripts/bootstrap.sh test, or leave that peer out", file=sys.stderr)
        return 2
    print(f"host: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}")
    return run_speed(args) if args.speed else run_accuracy(args)


if __name__ == "__main__":
    sys.exit(main())
