#!/usr/bin/python3
"""Benchmark of the advisor daemon against the issue's figures, both in one run:

1. One reconcile pass for N managed HPAs (default 500) with 14 days of 1-minute history each (target: < 20 CPU
   seconds, < 300 MB RSS): bench/advisor_reconcile_bench.cc, the real Reconciler and KubeClient over libcurl,
   against the Kubernetes API fake (tests/fakes/fake_kube_api.py) seeded with N opted-in HPAs; history from the
   bundled NASA HTTP 1995 trace (each HPA its own 14-day window and scale), read twice: from the embedded store
   (EmbeddedSource), and through the real PrometheusSource from query_range answers in Prometheus's JSON served
   in-process (cached by an unmeasured first pass, so the server's work is not counted).
2. Embedded mode with 5 scraped topdog-exporters after 24 simulated hours (target: < 50 MB RSS):
   bench/embedded_memory_bench.cc.

Usage: bench/advisor_bench.py [--build build-release] [--hpas 500] [--skip-embedded]
No pass/fail: prints the figures next to the targets.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "bench-token"


def start_fake():
    proc = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests/fakes/fake_kube_api.py"), "--port", "0",
                             "--token", TOKEN], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("PORT "):
        raise SystemExit("fake_kube_api.py did not start")
    return proc, f"http://127.0.0.1:{int(line.split()[1])}"


def seed(url, hpas):
    objects = []
    for i in range(hpas):
        objects.append({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"namespace": "bench", "name": f"hpa-{i}",
                         "annotations": {"advisor.topdog.dev/managed": "true"}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"hpa-{i}"},
                     "minReplicas": 2, "maxReplicas": 400,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentReplicas": 2, "desiredReplicas": 2}})
    request = urllib.request.Request(url + "/_fake/objects", data=json.dumps(objects).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(ROOT, "build-release"))
    parser.add_argument("--hpas", type=int, default=500)
    parser.add_argument("--skip-embedded", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "nasa.csv")
        with gzip.open(os.path.join(ROOT, "tests/fixtures/traces/nasa_http_1995/nasa_http_requests_per_minute.csv.gz"),
                       "rb") as src, open(trace, "wb") as dst:
            dst.write(src.read())
        fake, url = start_fake()
        results = []
        try:
            seed(url, args.hpas)
            for source in ("embedded", "prometheus"):
                out = subprocess.run([os.path.join(args.build, "bench/advisor_reconcile_bench"), "--trace", trace,
                                      "--kube-url", url, "--token", TOKEN, "--hpas", str(args.hpas),
                                      "--source", source], capture_output=True, text=True)
                if out.returncode != 0:
                    print(out.stdout, out.stderr, file=sys.stderr)
                    raise SystemExit("advisor_reconcile_bench failed")
                results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        finally:
            fake.kill()
            fake.wait()
    for result in results:
        print(f"# Reconcile pass: {result['hpas']} HPAs x {result['days']:g} days of 1-minute history, "
              f"history from {result['source']}")
        print(f"pass CPU seconds     {result['pass_cpu_seconds']:8.2f}   (target < 20)")
        print(f"pass wall seconds    {result['pass_wall_seconds']:8.2f}")
        held = (f"history values {result['history_value_mb']:.1f} MB" if result["source"] == "embedded" else
                f"incl. the bench's served values, {result['hpas'] * result['days'] * 1440 * 4 / 2**20:.1f} MB")
        print(f"peak RSS MB          {result['peak_rss_mb']:8.1f}   (target < 300; {held})")
        print(f"history fill CPU s   {result['fill_cpu_seconds']:8.2f}   (set-up, not part of the pass)")
        print(f"decisions            {result['reasons']} (calibrated forecasts: {result['calibrated']}); "
              f"dry-run patches sent: {result['patches']}; errors: {result['errors']}")
    if args.skip_embedded:
        return 0
    print("\n# Embedded mode: 5 exporters, 24 simulated hours")
    embedded = subprocess.run([os.path.join(args.build, "bench/embedded_memory_bench"), "--exporter",
                               os.path.join(args.build, "exporter/topdog-exporter"), "--max-rss-mb", "50"],
                              capture_output=True, text=True)
    print(embedded.stdout.rstrip())
    if embedded.returncode != 0:
        print(embedded.stderr.rstrip(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
