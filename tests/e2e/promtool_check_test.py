#!/usr/bin/python3
"""Runs `promtool check metrics` (Debian prometheus 2.42) on a scrape of topdog-exporter with every collector
enabled (plus softirqs and cpu info) on a captured tree, in text format 0.0.4 (all promtool reads).

promtool's linter flags camelCase names; node_exporter itself emits such names (node_memory_MemTotal_bytes:
the /proc/meminfo keys verbatim), and compatibility wins. So exactly one class of finding is tolerated:
"should be written in 'snake_case' not 'camelCase'" for node_memory_* names that node_exporter emits
identically. Anything else fails the test.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e_util  # noqa: E402


ALLOWED = re.compile(r"^node_memory_\w+ metric names should be written in 'snake_case' not 'camelCase'$")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="topdog-promtool-") as workdir:
        # A captured tree, so the check is the same on every machine.
        tree = os.path.join(args.fixtures, "host-6.18")
        exp = e2e_util.Server([args.exporter, f"--path.procfs={tree}/proc", f"--path.sysfs={tree}/sys",
                               f"--path.rootfs={tree}/root", f"--path.udev.data={tree}/udev",
                               "--collector.stat.softirq", "--collector.cpu.info"],
                              os.path.join(workdir, "exporter.log"))
        try:
            status, headers, body = e2e_util.request(f"http://127.0.0.1:{exp.port}/metrics")
        finally:
            exit_status = exp.stop()
    text, ctype = body.decode(), headers.get("Content-Type", "")
    if status != 200 or exit_status != 0:
        print(f"FAIL: scrape status {status}, exit status on SIGTERM {exit_status}")
        return 1
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
