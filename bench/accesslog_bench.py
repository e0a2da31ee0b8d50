#!/usr/bin/python3
"""Benchmark: access-log throughput of topdog-exporter's accesslog collector vs Debian's mtail, on the same file,
same machine, alternating runs. Prints lines per CPU-second for both and the ratio (ours / mtail).

The file: the captured NGINX lines of tests/fixtures/gateway/combined_times.log (`combined` + $request_time
$upstream_response_time), repeated to --lines lines in a temporary file (page-cached before the runs). The two
request lines of 20 000 and 32 000 bytes are left out: repeated millions of times they would make the file
gigabytes of one URL.

- topdog-exporter: `--collector.disable-defaults --collector.accesslog --collector.accesslog.from-beginning`
  on the file; its reader thread reads the file once while the bench scrapes /metrics every 0.2 s until
  topdog_exporter_gateway_log_lines_total{result="parsed"} reaches the line count. CPU = utime+stime of the
  process from /proc/PID/stat at that point (start-up and the scrapes included). Per line it parses every
  field, templates the route and counts requests by host, method, route and status plus two latency
  histograms (request and upstream) by host, method, route and status class.
- mtail (`-one_shot`, which reads the file from the start to its end and exits): a program matching the same
  format with one regular expression and counting requests by status plus a request-time histogram by status,
  with the same buckets. CPU = its rusage (wait4), all threads.

Usage: bench/accesslog_bench.py --exporter build-release/exporter/topdog-exporter [--lines 3000000] [--runs 3]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from e2e_util import free_port  # noqa: E402

FIXTURE = os.path.join(HERE, "..", "tests", "fixtures", "gateway", "combined_times.log")
BUCKETS = "0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10"

# The same job in mtail: requests by status and a latency histogram, from the same log format. nginx writes
# '"' inside quoted fields as \x22, so [^"]* spans a field.
MTAIL_PROGRAM = f"""\
counter requests_total by status
histogram request_duration_seconds by status buckets {BUCKETS}

/^(?P<remote_addr>\\S+) - (?P<remote_user>\\S+) \\[(?P<time_local>[^\\]]+)\\] "(?P<request>[^"]*)" (?P<status>\\d{{3}}) (?P<bytes>\\d+) "(?P<referer>[^"]*)" "(?P<agent>[^"]*)" (?P<request_time>\\d+\\.\\d+) (?P<upstream>.*)$/ {{
  requests_total[$status]++
  request_duration_seconds[$status] = $request_time
}}
"""


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_file(path, lines_wanted):
    lines = [l for l in open(FIXTURE, "rb").read().split(b"\n") if l and len(l) < 4096]
    block = b"\n".join(lines) + b"\n"
    with open(path, "wb") as f:
        full, rest = divmod(lines_wanted, len(lines))
        chunk = block * 1000
        for _ in range(full // 1000):
            f.write(chunk)
        f.write(block * (full % 1000))
        f.write(b"\n".join(lines[:rest]) + (b"\n" if rest else b""))
    # Page-cache it: both readers then see memory speed, not the disk.
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    return len(lines)


def run_ours(exporter, path, lines):
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="accesslog-bench-")
    log = open(os.path.join(workdir, "exporter.log"), "w")
    start = time.monotonic()
    proc = subprocess.Popen([exporter, "--collector.disable-defaults", "--collector.accesslog",
                             f"--collector.accesslog.path={path}", "--collector.accesslog.from-beginning",
                             "--web.disable-exporter-metrics", f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        parsed = 0
        while True:
            time.sleep(0.2)
            if proc.poll() is not None:
                raise RuntimeError(f"topdog-exporter exited {proc.returncode}: {open(log.name).read()}")
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
            except OSError:
                continue
            for line in body.splitlines():
                if line.startswith('topdog_exporter_gateway_log_lines_total{result="parsed"}'):
                    parsed = int(float(line.split()[-1]))
            if parsed >= lines:
                break
        cpu = cpu_seconds(proc.pid)
        wall = time.monotonic() - start
        rss_kb = next(int(l.split()[1]) for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmHWM"))
    finally:
        proc.terminate()
        proc.wait()
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)
    if parsed != lines:
        raise RuntimeError(f"parsed {parsed} lines of {lines}")
    return cpu, wall, rss_kb


def run_mtail(path, lines, progs):
    start = time.monotonic()
    proc = subprocess.Popen(["mtail", "-one_shot", "-one_shot_format", "prometheus", "-progs", progs, "-logs", path,
                             "-logtostderr"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        raise RuntimeError(f"mtail exited {status}")
    counted = 0
    for line in out.splitlines():
        if line.startswith("requests_total{"):
            counted += int(float(line.split()[-1]))
    if counted != lines:
        raise RuntimeError(f"mtail counted {counted} lines of {lines}:\n{out[:2000]}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--lines", type=int, default=3_000_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if shutil.which("mtail") is None:
        print("mtail is not installed (apt-get install mtail; scripts/bootstrap.sh test)")
        return 1
    tmp = tempfile.mkdtemp(prefix="accesslog-bench-")
    try:
        path = os.path.join(tmp, "access.log")
        distinct = make_file(path, args.lines)
        progs = os.path.join(tmp, "progs")
        os.mkdir(progs)
        with open(os.path.join(progs, "nginx.mtail"), "w") as f:
            f.write(MTAIL_PROGRAM)
        size_mb = os.path.getsize(path) / 1e6
        print(f"file: {args.lines:,} lines ({distinct} distinct captured lines repeated), {size_mb:,.0f} MB; "
              f"{os.cpu_count()} CPUs; runs alternate, {args.runs} each")
        ours, theirs = [], []
        for run in range(args.runs):
            cpu, wall, rss = run_ours(args.exporter, path, args.lines)
            ours.append(args.lines / cpu)
            print(f"  run {run + 1} topdog-exporter: {cpu:6.2f} CPU-s {wall:6.2f} s wall  "
                  f"{args.lines / cpu:>12,.0f} lines/CPU-s  peak RSS {rss / 1024:.1f} MB")
            cpu, wall, rss = run_mtail(path, args.lines, progs)
            theirs.append(args.lines / cpu)
            print(f"  run {run + 1} mtail:           {cpu:6.2f} CPU-s {wall:6.2f} s wall  "
                  f"{args.lines / cpu:>12,.0f} lines/CPU-s  peak RSS {rss / 1024:.1f} MB")
        o, t = statistics.median(ours), statistics.median(theirs)
        print(f"median lines per CPU-second: topdog-exporter {o:,.0f}, mtail {t:,.0f}, ratio {o / t:.2f}x "
              f"(targets: >= 3x, >= 1,000,000)")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
