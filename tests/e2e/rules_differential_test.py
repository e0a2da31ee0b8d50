#!/usr/bin/python3
"""Differential test of the advisor's rule evaluation against Prometheus itself (issue 7).

The same rule file and the same data, evaluated twice: by Debian's Prometheus 2.42 (its own rule manager, sending
to Alertmanager A) and by topdog-advisor (querying that Prometheus, sending to Alertmanager B; both Debian's
Alertmanager 0.25). A small exporter whose values the test sets drives the alerts through their states: pending
then firing after `for`, templated labels and annotations ($labels, $value, humanize, humanizePercentage,
printf, $externalLabels), `keep_firing_for` holding an alert after its expression turned false, resolution.
What each Alertmanager holds must match: the same alerts with the same labels and annotations, arriving and
leaving within one evaluation interval (plus the polling and scrape slack) of each other; ALERTS in Prometheus
and on the advisor's /metrics agree too.

Run by ctest (label e2e): rules_differential_test.py --advisor PATH
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

CHECKS = e2e_util.Checks()
INTERVAL_S = 1.0
SLACK_S = 1.5  # one scrape (1 s) and the polling of both Alertmanagers

RULES = textwrap.dedent("""\
    groups:
      - name: differential
        interval: 1s
        rules:
          - alert: HighErrorRatio
            expr: demo_errors_ratio > 0.05
            for: 6s
            labels:
              severity: page
              team: '{{ $labels.service }}-oncall'
            annotations:
              summary: '{{ $labels.service }} fails {{ $value | humanizePercentage }} of requests'
              description: >-
                value {{ $value }}, printf {{ printf "%.3f" $value }}, humanize {{ humanize $value }},
                cluster {{ $externalLabels.cluster }}{{ if gt $value 0.5 }}, most requests fail{{ end }}
          - alert: QueueStuck
            expr: demo_queue_depth > 100
            keep_firing_for: 6s
            labels:
              severity: ticket
            annotations:
              summary: 'queue {{ $labels.queue }} holds {{ $value | humanize }} items'
          - alert: Heartbeat
            expr: vector(1)
            labels:
              severity: none
""")


class Knob:
    """The exporter: gauges whose values the test sets."""

    def __init__(self):
        self.values = {"demo_errors_ratio": ('service="api"', 0.01), "demo_queue_depth": ('queue="orders"', 10.0)}
        self.lock = threading.Lock()
        knob = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with knob.lock:
                    body = "".join(f"# TYPE {name} gauge\n{name}{{{labels}}} {value!r}\n"
                                   for name, (labels, value) in knob.values.items()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, name, value):
        with self.lock:
            labels, _ = self.values[name]
            self.values[name] = (labels, value)


def start(argv, log_path):
    log = open(log_path, "w")
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)


def get_json(url):
    status, _, body = e2e_util.request(url, timeout=5)
    if status != 200:
        raise OSError(f"GET {url}: HTTP {status}")
    return json.loads(body)


def am_alerts(port):
    """Active alerts in an Alertmanager: alertname -> (labels, annotations, startsAt)."""
    out = {}
    for alert in get_json(f"http://127.0.0.1:{port}/api/v2/alerts?active=true&silenced=true&inhibited=true"):
        if alert["status"]["state"] == "active":
            out[alert["labels"]["alertname"]] = (alert["labels"], alert["annotations"], alert["startsAt"],
                                                 alert["generatorURL"])
    return out


class Watcher:
    """Polls both Alertmanagers every 50 ms and records when each alert appears in and leaves each of them."""

    def __init__(self, ports):
        self.ports = ports
        self.seen = {name: {} for name in ports}      # am -> alertname -> first time seen
        self.gone = {name: {} for name in ports}      # am -> alertname -> first time absent after seen
        self.latest = {name: {} for name in ports}    # am -> alertname -> (labels, annotations, ...)
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_flag.is_set():
            now = time.monotonic()
            for name, port in self.ports.items():
                try:
                    alerts = am_alerts(port)
                except (OSError, ValueError):
                    continue
                for alertname, data in alerts.items():
                    self.seen[name].setdefault(alertname, now)
                    self.gone[name].pop(alertname, None)
                    self.latest[name][alertname] = data
                for alertname in list(self.latest[name]):
                    if alertname not in alerts:
                        self.gone[name].setdefault(alertname, now)
            self.stop_flag.wait(0.05)

    def wait(self, condition, what, deadline_s=30):
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            if condition():
                return True
            time.sleep(0.05)
        CHECKS.expect(False, f"timed out waiting for {what}")
        return False


def without_time(data):
    labels, annotations, _, generator_url = data
    # generatorURL: each evaluator's own base URL, then the same path and query.
    return labels, annotations, generator_url[generator_url.index("/graph"):]


def compare(watcher, alertname, phase):
    prom, ours = watcher.latest["prometheus"].get(alertname), watcher.latest["advisor"].get(alertname)
    if prom is None or ours is None:
        CHECKS.expect(False, f"{phase}: {alertname} in both Alertmanagers (prometheus: {prom}, advisor: {ours})")
        return
    CHECKS.expect(without_time(prom) == without_time(ours),
                  f"{phase}: {alertname} identical labels, annotations and generator expression\n"
                  f"  prometheus: {without_time(prom)}\n  advisor:    {without_time(ours)}")
    print(f"  {alertname}: {json.dumps(ours[1])}")


def compare_times(watcher, table, alertname, phase):
    a, b = table["prometheus"].get(alertname), table["advisor"].get(alertname)
    if a is None or b is None:
        CHECKS.expect(False, f"{phase}: {alertname} seen by both (prometheus {a}, advisor {b})")
        return
    CHECKS.expect(abs(a - b) <= INTERVAL_S + SLACK_S,
                  f"{phase}: {alertname} within one interval of Prometheus ({b - a:+.2f} s)")
    print(f"  {phase} {alertname}: advisor {b - a:+.2f} s after Prometheus")


def alerts_series(samples_text):
    out = set()
    for family in text_string_to_metric_families(samples_text):
        for s in family.samples:
            if s.name == "ALERTS":
                out.add(frozenset(s.labels.items()))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--advisor", required=True)
    args = ap.parse_args()
    for tool in ("/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager"):
        if not os.path.exists(tool):
            print(f"{tool} is not installed (scripts/bootstrap.sh test)")
            return 1
    work = tempfile.mkdtemp(prefix="rules-diff-")
    procs = []
    knob = Knob()
    try:
        rules = os.path.join(work, "rules.yml")
        with open(rules, "w") as f:
            f.write(RULES)
        am_ports = {}
        with open(os.path.join(work, "am.yml"), "w") as f:
            f.write("route: {receiver: blackhole, group_wait: 0s, group_interval: 1s}\nreceivers: [{name: blackhole}]\n")
        for name in ("prometheus", "advisor"):
            port = e2e_util.free_port()
            am_ports[name] = port
            procs.append(start(["/usr/bin/prometheus-alertmanager", f"--config.file={work}/am.yml",
                                f"--storage.path={work}/am-{name}", f"--web.listen-address=127.0.0.1:{port}",
                                "--cluster.listen-address="], os.path.join(work, f"am-{name}.log")))
        for port in am_ports.values():
            e2e_util.poll(lambda p=port: e2e_util.request(f"http://127.0.0.1:{p}/-/ready")[0] == 200 or None)

        prom_port = e2e_util.free_port()
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(textwrap.dedent(f"""\
                global:
                  scrape_interval: 1s
                  scrape_timeout: 1s
                  evaluation_interval: 1s
                  external_labels: {{cluster: diff}}
                rule_files: [{rules}]
                alerting:
                  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_ports["prometheus"]}']}}]}}]
                scrape_configs:
                  - job_name: knob
                    static_configs: [{{targets: ['127.0.0.1:{knob.port}']}}]
                """))
        procs.append(start(["/usr/bin/prometheus", f"--config.file={work}/prometheus.yml",
                            f"--storage.tsdb.path={work}/prom-data", f"--web.listen-address=127.0.0.1:{prom_port}",
                            "--web.external-url=http://prometheus.test", "--rules.alert.resend-delay=1s"],
                           os.path.join(work, "prometheus.log")))
        prom = f"http://127.0.0.1:{prom_port}"

        def scraped():
            answer = get_json(prom + "/api/v1/query?query=" + urllib.parse.quote("demo_errors_ratio"))
            return answer["data"]["result"] or None
        e2e_util.poll(scraped, deadline_s=40, interval_s=0.2)  # Prometheus applies targets on a 5 s tick

        with open(os.path.join(work, "advisor.yml"), "w") as f:
            f.write(textwrap.dedent(f"""\
                interval: 1h
                prometheus: {{url: '{prom}', timeout: 5s, attempts: 1}}
                kubernetes: {{mode: none}}
                rules:
                  files: [{rules}]
                  evaluation_interval: 1s
                  resend_delay: 1s
                  external_labels: {{cluster: diff}}
                  external_url: http://advisor.test
                alerting:
                  alertmanagers: ['http://127.0.0.1:{am_ports["advisor"]}']
                """))
        advisor = e2e_util.Server([os.path.abspath(args.advisor), "run", "--config", f"{work}/advisor.yml"],
                                  os.path.join(work, "advisor.log"))
        procs.append(advisor.proc)

        watcher = Watcher(am_ports)
        print("phase 1: quiet; the heartbeat reaches both Alertmanagers")
        watcher.wait(lambda: all("Heartbeat" in watcher.seen[n] for n in am_ports), "the heartbeat in both")
        compare(watcher, "Heartbeat", "phase 1")
        CHECKS.expect(all("HighErrorRatio" not in watcher.seen[n] for n in am_ports), "phase 1: no error alert")

        print("phase 2: errors at 20%, then 75%: pending for 6 s, then firing")
        raised = time.monotonic()
        knob.set("demo_errors_ratio", 0.2)
        watcher.wait(lambda: all("HighErrorRatio" in watcher.seen[n] for n in am_ports), "HighErrorRatio in both")
        compare_times(watcher, watcher.seen, "HighErrorRatio", "firing")
        for name in am_ports:
            pending = watcher.seen[name].get("HighErrorRatio", raised) - raised
            CHECKS.expect(pending >= 6 - SLACK_S, f"{name}: HighErrorRatio pending {pending:.1f} s before firing (for: 6s)")
        compare(watcher, "HighErrorRatio", "phase 2 (20%)")
        knob.set("demo_errors_ratio", 0.75)
        watcher.wait(lambda: all(watcher.latest[n]["HighErrorRatio"][1].get("summary", "").endswith("75% of requests")
                                 for n in am_ports), "the 75% annotation in both")
        compare(watcher, "HighErrorRatio", "phase 2 (75%)")
        status, _, body = e2e_util.request(f"http://127.0.0.1:{advisor.port}/metrics")
        answer = get_json(prom + "/api/v1/query?query=ALERTS")
        prom_alerts = {frozenset((k, v) for k, v in r["metric"].items() if k != "__name__")
                       for r in answer["data"]["result"]}
        ours = {frozenset((k, v) for k, v in labels if k != "__name__") for labels in alerts_series(body.decode())}
        CHECKS.expect(status == 200 and prom_alerts == ours,
                      f"ALERTS agree (prometheus {sorted(map(sorted, prom_alerts))}, advisor {sorted(map(sorted, ours))})")

        print("phase 3: the queue fills and drains: keep_firing_for holds the alert 6 s")
        knob.set("demo_queue_depth", 1234.0)
        watcher.wait(lambda: all("QueueStuck" in watcher.seen[n] for n in am_ports), "QueueStuck in both")
        compare(watcher, "QueueStuck", "phase 3")
        drained = time.monotonic()
        knob.set("demo_queue_depth", 5.0)
        watcher.wait(lambda: all("QueueStuck" in watcher.gone[n] for n in am_ports), "QueueStuck resolved in both")
        compare_times(watcher, watcher.gone, "QueueStuck", "resolved")
        for name in am_ports:
            held = watcher.gone[name].get("QueueStuck", drained) - drained
            CHECKS.expect(held >= 6 - SLACK_S, f"{name}: QueueStuck held {held:.1f} s after the queue drained")

        print("phase 4: errors back to 1%: resolved in both")
        knob.set("demo_errors_ratio", 0.01)
        watcher.wait(lambda: all("HighErrorRatio" in watcher.gone[n] for n in am_ports), "HighErrorRatio resolved")
        compare_times(watcher, watcher.gone, "HighErrorRatio", "resolved")
        watcher.stop_flag.set()

        CHECKS.expect(advisor.stop() == 0, "the advisor exits 0 on SIGTERM")
        procs.remove(advisor.proc)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        knob.server.shutdown()
        if CHECKS.failures:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{0 if CHECKS.failures else 1} passed, {len(CHECKS.failures)} failed")
    return 1 if CHECKS.failures else 0


if __name__ == "__main__":
    sys.exit(main())
