#!/usr/bin/python3
"""End-to-end test of `topdog-advisor backtest` on the bundled NASA HTTP 1995 trace (62 days, per minute):
report.json in the documented shape, the reactive-HPA arms against the reference simulator's figures
(../shared/reference/autoscaling.md section 7, reproduced in README), the issue's frontier figures, report.html opened in Debian's headless chromium (two plots drawn by
gnuplot, the tables), a quiet stderr off a terminal, and bad input rejected with exit status 2.

Usage: advisor_backtest_test.py --advisor PATH --fixtures tests/fixtures
"""
import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Checks  # noqa: E402

# The reference simulator's figures for the legacy-path HPA on this trace (replica-minutes, overload minutes).
REFERENCE_HPA = {0.4: (2746812, 116), 0.5: (2210386, 259), 0.6: (1843707, 693), 0.7: (1576409, 1753),
                 0.8: (1356688, 4240), 0.9: (1155596, 9692)}
ARM_FIELDS = {"arm", "target", "quantile", "replica_minutes", "node_minutes", "overload_minutes",
              "unserved_fraction", "longest_overload_streak_minutes", "scaling_changes", "patches_per_day"}


def backtest(advisor, args):
    return subprocess.run([advisor, "backtest"] + args, capture_output=True, text=True, timeout=300)


def check_report(checks, advisor, tmp, trace):
    report = os.path.join(tmp, "report")
    result = backtest(advisor, ["--trace", trace, "--report", report])
    checks.expect(result.returncode == 0, f"backtest exit {result.returncode}: {result.stderr}")
    checks.expect(result.stderr == "", f"stderr not quiet off a terminal: {result.stderr!r}")
    if result.returncode != 0:
        return
    with open(os.path.join(report, "report.json")) as f:
        data = json.load(f)
    checks.expect(data["trace"] == trace, "report.json names the trace")
    checks.expect("pod_capacity_rps" in data["assumptions"], "assumptions listed")
    kinds = {arm["arm"] for arm in data["arms"]}
    checks.expect(kinds == {"hpa", "advisor", "seasonal_naive", "static_peak", "oracle"}, f"arms: {kinds}")
    for arm in data["arms"]:
        missing = ARM_FIELDS - set(arm)
        checks.expect(not missing, f"{arm['arm']} lacks {missing}")
    # Calibration against the reference simulator: same assumptions, same algorithm.
    print("arm        replica-minutes (ref)       overload minutes (ref)")
    for arm in data["arms"]:
        if arm["arm"] != "hpa":
            continue
        ref_cost, ref_overload = REFERENCE_HPA[round(arm["target"], 1)]
        print(f"hpa {arm['target']:.0%}   {arm['replica_minutes']:>10.0f} ({ref_cost:>9})"
              f"   {arm['overload_minutes']:>8.0f} ({ref_overload})")
        checks.expect(abs(arm["replica_minutes"] / ref_cost - 1) < 0.02,
                      f"hpa {arm['target']}: replica-minutes {arm['replica_minutes']} vs reference {ref_cost}")
        checks.expect(abs(arm["overload_minutes"] / ref_overload - 1) < 0.10,
                      f"hpa {arm['target']}: overload {arm['overload_minutes']} vs reference {ref_overload}")
    static = [a for a in data["arms"] if a["arm"] == "static_peak"][0]
    checks.expect((static["replica_minutes"], static["overload_minutes"]) == (2461980, 799),
                  f"static peak {static['replica_minutes']}, {static['overload_minutes']} (reference 2461980, 799)")
    oracle = [a for a in data["arms"] if a["arm"] == "oracle"][0]
    checks.expect(oracle["replica_minutes"] == 836494 and oracle["overload_minutes"] == 0,
                  f"oracle {oracle['replica_minutes']}, {oracle['overload_minutes']} (reference 836494, 0)")
    # The figures: at the HPA's 70%, 50% and 40% costs the advisor's frontier has <= 0.5x the HPA's
    # overload minutes, and <= 0.7x the seasonal-naive advisor's where that frontier reaches the cost.
    for point in data["frontier"]:
        print(f"at hpa {point['hpa_target']:.0%} cost: advisor/hpa={point['advisor_vs_hpa']}"
              f" advisor/seasonal_naive={point['advisor_vs_seasonal_naive']}")
        checks.expect(point["advisor_vs_hpa"] is not None and point["advisor_vs_hpa"] <= 0.5,
                      f"advisor vs hpa at {point['hpa_target']}: {point['advisor_vs_hpa']}")
        if point["seasonal_naive_overload_minutes"] is not None:
            checks.expect(point["advisor_vs_seasonal_naive"] is not None and point["advisor_vs_seasonal_naive"] <= 0.7,
                          f"advisor vs seasonal naive at {point['hpa_target']}: {point['advisor_vs_seasonal_naive']}")
    checks.expect(len(data["frontier"]) == 3, "frontier points at the HPA's 70%, 50% and 40% targets")
    with open(os.path.join(report, "report.md")) as f:
        md = f.read()
    checks.expect("| hpa 70% |" in md and "| oracle |" in md, "report.md has the arms table")
    check_html(checks, os.path.join(report, "report.html"))


def check_html(checks, path):
    chromium = shutil.which("chromium")
    checks.expect(chromium is not None, "chromium is installed (scripts/bootstrap.sh test)")
    if chromium is None:
        return
    with tempfile.TemporaryDirectory() as profile:
        # The DOM as the browser built it, after parsing the inline SVG.
        result = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                 "--dump-dom", "file://" + path], capture_output=True, text=True, timeout=120)
    dom = result.stdout
    checks.expect(result.returncode == 0, f"chromium exit {result.returncode}")
    svgs = re.findall(r"<svg\b", dom)
    checks.expect(len(svgs) == 2, f"report.html: {len(svgs)} plots in the DOM, expected 2")
    checks.expect('id="frontier"' in dom and 'id="timeline"' in dom, "both figures present")
    checks.expect(len(re.findall(r"<path\b", dom)) > 20, "the plots have drawn paths")
    checks.expect(dom.count("<tr>") > 40, "the tables are in the page")


def check_bad_input(checks, advisor, tmp):
    bad = os.path.join(tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("timestamp,value\n0,1\n60,2\n120,abc\n")
    result = backtest(advisor, ["--trace", bad, "--report", os.path.join(tmp, "bad")])
    checks.expect(result.returncode == 2 and "line 4" in result.stderr, f"bad value: {result.returncode} {result.stderr}")
    result = backtest(advisor, ["--trace", os.path.join(tmp, "absent.csv"), "--report", os.path.join(tmp, "x")])
    checks.expect(result.returncode == 2 and "absent.csv" in result.stderr, f"missing file: {result.stderr}")
    result = backtest(advisor, ["--trace", bad, "--report", os.path.join(tmp, "x"), "--startup", "soon"])
    checks.expect(result.returncode == 2 and "--startup" in result.stderr, f"bad duration: {result.stderr}")
    checks.expect(not os.path.exists(os.path.join(tmp, "bad", "report.json")), "no report from bad input")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisor", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "nasa_http_requests_per_minute.csv")
        with gzip.open(os.path.join(args.fixtures, "traces/nasa_http_1995/nasa_http_requests_per_minute.csv.gz")) as src:
            with open(trace, "wb") as dst:
                dst.write(src.read())
        check_report(checks, args.advisor, tmp, trace)
        check_bad_input(checks, args.advisor, tmp)
    if checks.failures:
        print(f"{len(checks.failures)} check(s) failed")
        sys.exit(1)
    print("all backtest checks passed")


if __name__ == "__main__":
    main()
