#!/usr/bin/python3
"""Runs `promtool check metrics` (Debian prometheus 2.42) on a live scrape of topdog-exporter with every
collector enabled, in both text 0.0.4 and after an OpenMetrics negotiation.

promtool's linter flags camelCase names; node_exporter itself emits such names (node_memory_MemTotal_bytes:
the /proc/meminfo keys verbatim), and compatibility wins. So exactly one class of finding is tolerated:
"should be written in 'snake_case' not 'camelCase'" for node_memory_* names that node_exporter emits
identically. Anything else fails the test.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None, deadline_s=10.0):
    end = time.monotonic() + deadline_s
    while True:
        try:
            req = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.read().decode(), r.headers.get("Content-Type", "")
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.02)  # polling a starting server


ALLOWED = re.compile(r"^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([args.exporter, f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
        try:
            text, ctype = get(f"http://127.0.0.1:{port}/metrics")
        finally:
            proc.terminate()
            proc.wait(5)
    families = len(re.findall(r"^# TYPE ", text, re.M))
    samples = len([l for l in text.splitlines() if l and not l.startswith("#")])
    print(f"scrape: {len(text)} bytes, {families} families, {samples} samples, Content-Type {ctype}")
    result = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True)
    findings = [l for l in (result.stdout + result.stderr).decode().splitlines() if l.strip()]
    tolerated = [f for f in findings if ALLOWED.match(f)]
    bad = [f for f in findings if not ALLOWED.match(f)]
    print(f"promtool: {len(findings)} findings, {len(tolerated)} tolerated (node_exporter's own camelCase "
          f"node_memory_* names), {len(bad)} other")
    for f in bad:
        print(f"  FINDING {f}")
    if bad:
        print("FAIL")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
