#!/usr/bin/python3
"""End-to-end test of `topdog-advisor forecast` (the command other tools call): real traces in, the documented
CSV out, and bad input rejected with exit status 2 and the offending line named.

Usage: advisor_forecast_test.py --advisor PATH --fixtures tests/fixtures
"""
import argparse
import csv
import gzip
import io
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_util import Checks  # noqa: E402


def run(advisor, args, stdin=None):
    return subprocess.run([advisor, "forecast"] + args, input=stdin, capture_output=True, text=True, timeout=120)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def check_trace(checks, advisor, tmp, fixtures):
    # NAB ELB request counts: 5-minute steps in "YYYY-MM-DD HH:MM:SS", 14 days.
    source = os.path.join(fixtures, "traces/nab/realAWSCloudwatch/elb_request_count_8c0756.csv")
    out = os.path.join(tmp, "elb.csv")
    result = run(advisor, ["--input", source, "--horizon", "288", "--quantiles", "0.5,0.9,0.95", "--output", out])
    checks.expect(result.returncode == 0, f"ELB forecast failed: {result.returncode} {result.stderr}")
    if result.returncode != 0:
        return
    rows = read_csv(out)
    checks.expect(rows[0] == ["timestamp", "q0.5", "q0.9", "q0.95"], f"header {rows[0]}")
    checks.expect(len(rows) == 289, f"{len(rows) - 1} rows, want 288")
    with open(source) as f:
        last = f.read().strip().splitlines()[-1].split(",")[0]
    # The first forecast is one step (300 s) after the last input row, in the input's format.
    checks.expect(rows[1][0] > last and len(rows[1][0]) == len(last), f"first time {rows[1][0]} after {last}")
    for row in rows[1:]:
        q = [float(v) for v in row[1:]]
        checks.expect(q[0] <= q[1] <= q[2], f"quantiles cross at {row}")
        checks.expect(all(v >= 0 for v in q), f"negative request count at {row}")

    # NASA per-minute counts (epoch seconds in, epoch out), over stdin and stdout, with a season hint.
    with gzip.open(os.path.join(fixtures, "traces/nasa_http_1995/nasa_http_requests_per_minute.csv.gz"), "rt") as f:
        reader = csv.DictReader(f)
        lines = ["timestamp,value"]
        for record in reader:
            if len(lines) > 14 * 1440:
                break
            lines.append(f"{record['epoch_s']},{record['requests']}")
    result = run(advisor, ["--input", "-", "--horizon", "60", "--season-hint", "1440,10080", "--output", "-"],
                 stdin="\n".join(lines) + "\n")
    checks.expect(result.returncode == 0, f"NASA forecast failed: {result.stderr}")
    out_rows = list(csv.reader(io.StringIO(result.stdout)))
    checks.expect(out_rows[0] == ["timestamp", "q0.5", "q0.9", "q0.95", "q0.99"], f"default quantiles {out_rows[0]}")
    checks.expect(len(out_rows) == 61, f"{len(out_rows) - 1} rows, want 60")
    checks.expect(int(out_rows[1][0]) == int(lines[-1].split(",")[0]) + 60, "epoch output continues the input")


def check_bad_input(checks, advisor, tmp):
    cases = {
        "unsorted": ("timestamp,value\n100,1\n200,2\n150,3\n", "line 4"),
        "duplicate": ("timestamp,value\n100,1\n100,2\n", "line 3: duplicate timestamp"),
        "empty": ("timestamp,value\n", "no data rows"),
        "non-numeric": ("timestamp,value\n100,1\n160,many\n", "line 3: value \"many\" is not a number"),
        "nan": ("timestamp,value\n100,1\n160,NaN\n", "line 3: value \"NaN\" is not finite"),
        "bad time": ("timestamp,value\nyesterday,1\n", "line 2: timestamp"),
    }
    for name, (text, message) in cases.items():
        path = os.path.join(tmp, name.replace(" ", "_") + ".csv")
        with open(path, "w") as f:
            f.write(text)
        out = os.path.join(tmp, "never.csv")
        result = run(advisor, ["--input", path, "--horizon", "5", "--output", out])
        checks.expect(result.returncode == 2, f"{name}: exit {result.returncode}, want 2")
        checks.expect(message in result.stderr and path in result.stderr, f"{name}: stderr {result.stderr!r}")
        checks.expect(not os.path.exists(out), f"{name}: wrote an output file")
    result = run(advisor, ["--input", os.path.join(tmp, "missing.csv"), "--horizon", "5", "--output", "-"])
    checks.expect(result.returncode == 2 and "missing.csv" in result.stderr, f"missing file: {result.stderr!r}")
    result = run(advisor, ["--input", path, "--horizon", "5"])
    checks.expect(result.returncode == 2, "missing --output is a usage error (2)")
    ok = os.path.join(tmp, "ok.csv")
    with open(ok, "w") as f:
        f.write("timestamp,value\n" + "".join(f"{60 * i},{i % 7}\n" for i in range(50)))
    result = run(advisor, ["--input", ok, "--horizon", "5", "--quantiles", "0.5,2", "--output", "-"])
    checks.expect(result.returncode == 2 and "quantile" in result.stderr, f"bad quantile: {result.stderr!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisor", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    checks = Checks()
    with tempfile.TemporaryDirectory() as tmp:
        check_trace(checks, args.advisor, tmp, args.fixtures)
        check_bad_input(checks, args.advisor, tmp)
    if checks.failures:
        print(f"{len(checks.failures)} failures")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
