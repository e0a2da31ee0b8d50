#!/usr/bin/python3
"""Benchmark: topdog-exporter vs Debian's node_exporter (prometheus-node-exporter 1.5.0), same machine, same
collector set, same run. Prints CPU seconds per 1,000 scrapes, peak RSS after N scrapes, p50/p99 scrape
latency and bytes per scrape, side by side and as ratios (ours / node_exporter).

Method: both servers start on 127.0.0.1 with --collector.disable-defaults and the same collectors; scrapes
alternate between the two (so background noise hits both alike), sequentially, over one keep-alive
connection each, like Prometheus. CPU = utime+stime of the server process from /proc/PID/stat (ticks),
RSS = VmRSS and VmHWM from /proc/PID/status. A warm-up of 20 scrapes each is not counted.

Usage: bench/exporter_bench.py --exporter build-release/exporter/topdog-exporter [--scrapes 1000]
       [--collectors cpu,meminfo,...] [--gzip] [--disable-exporter-metrics]
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from e2e_util import free_port  # noqa: E402

DEFAULT_COLLECTORS = "cpu,diskstats,filefd,filesystem,loadavg,meminfo,netdev,pressure,stat,time,uname,vmstat"


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_kb(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(rest.split()[0])
    return out


class Target:
    def __init__(self, name, argv):
        self.name = name
        self.port = free_port()
        self.proc = subprocess.Popen(argv + [f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        end = time.monotonic() + 10
        while True:
            try:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.conn.request("GET", "/metrics")
                self.conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.02)  # polling a starting server
        self.latencies = []
        self.sizes = []

    def scrape(self, headers, record=True):
        t0 = time.perf_counter()
        self.conn.request("GET", "/metrics", headers=headers)
        resp = self.conn.getresponse()
        body = resp.read()
        dt = time.perf_counter() - t0
        if resp.status != 200:
            raise RuntimeError(f"{self.name}: HTTP {resp.status}")
        if record:
            self.latencies.append(dt)
            self.sizes.append(len(body))

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(10)


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--node-exporter", default="prometheus-node-exporter")
    ap.add_argument("--scrapes", type=int, default=1000)
    ap.add_argument("--collectors", default=DEFAULT_COLLECTORS)
    ap.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip (as Prometheus does)")
    ap.add_argument("--disable-exporter-metrics", action="store_true")
    args = ap.parse_args()

    flags = ["--collector.disable-defaults"] + [f"--collector.{c}" for c in args.collectors.split(",")]
    if args.disable_exporter_metrics:
        flags.append("--web.disable-exporter-metrics")
    ours = Target("topdog-exporter", [args.exporter, "--log.level=warn"] + flags)
    try:
        theirs = Target("node_exporter", [args.node_exporter, "--log.level=warn"] + flags)
    except Exception:
        ours.stop()
        raise
    headers = {"Accept-Encoding": "gzip"} if args.gzip else {}
    try:
        for _ in range(20):
            ours.scrape(headers, record=False)
            theirs.scrape(headers, record=False)
        cpu0 = {t.name: cpu_seconds(t.proc.pid) for t in (ours, theirs)}
        for _ in range(args.scrapes):
            ours.scrape(headers)
            theirs.scrape(headers)
        cpu1 = {t.name: cpu_seconds(t.proc.pid) for t in (ours, theirs)}
        mem = {t.name: memory_kb(t.proc.pid) for t in (ours, theirs)}
    finally:
        ours.stop()
        theirs.stop()

    rows = []
    for t in (ours, theirs):
        cpu = (cpu1[t.name] - cpu0[t.name]) * 1000 / args.scrapes
        rows.append({
            "name": t.name,
            "cpu_s_per_1000": cpu,
            "rss_mb": mem[t.name]["VmRSS"] / 1024,
            "hwm_mb": mem[t.name]["VmHWM"] / 1024,
            "threads": mem[t.name]["Threads"],
            "p50_ms": pct(t.latencies, 0.5) * 1000,
            "p99_ms": pct(t.latencies, 0.99) * 1000,
            "mean_ms": statistics.mean(t.latencies) * 1000,
            "bytes": statistics.mean(t.sizes),
        })
    print(f"# {args.scrapes} scrapes each, alternating, keep-alive, gzip={'yes' if args.gzip else 'no'}, "
          f"collectors={args.collectors}, exporter metrics {'off' if args.disable_exporter_metrics else 'on'}; "
          f"host: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    cols = [("cpu_s_per_1000", "CPU s/1000 scrapes", "{:.3f}"), ("rss_mb", "RSS MB", "{:.2f}"),
            ("hwm_mb", "peak RSS MB", "{:.2f}"), ("threads", "threads", "{:d}"), ("p50_ms", "p50 ms", "{:.3f}"),
            ("p99_ms", "p99 ms", "{:.3f}"), ("mean_ms", "mean ms", "{:.3f}"), ("bytes", "bytes/scrape", "{:.0f}")]
    print(f"{'metric':<22}{'topdog-exporter':>18}{'node_exporter':>18}{'ratio':>10}")
    for key, label, fmt in cols:
        a, b = rows[0][key], rows[1][key]
        ratio = a / b if b else float("nan")
        print(f"{label:<22}{fmt.format(a):>18}{fmt.format(b):>18}{ratio:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
