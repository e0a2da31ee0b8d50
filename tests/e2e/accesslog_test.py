#!/usr/bin/python3
"""The accesslog collector against real NGINX (Debian's nginx, unprivileged, on 127.0.0.1 under a temporary
prefix, the access log in `combined` + $request_time $upstream_response_time) and a small Python backend
with slow handlers:
- a known mix of requests (numeric ids, UUIDs, 404 from nginx, 500 from `return`, POST, slow upstream
  handlers) gives exactly the counts and histogram buckets sent, per label set; junk and a 1 MB line
  appended to the log are counted, not fatal;
- rotation by rename (logrotate's create: mv, then `nginx -s reopen`, i.e. SIGUSR1) with requests logged
  to the old file before the reopen and to the new one after: nothing lost or counted twice;
- copytruncate: the file truncated in place, new requests counted from its start;
- a restart of the exporter with its position file: only the requests logged since its last scrape count.
Run by ctest (label integration) with the built binary: accesslog_test.py --exporter PATH
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

CHECKS = e2e_util.Checks()

BACKEND = textwrap.dedent("""\
    # /api/slow?ms=N sleeps N ms; /api/status/NNN answers NNN; anything else 200 with a small JSON body.
    import sys, time, urllib.parse
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def _answer(self):
            url = urllib.parse.urlsplit(self.path)
            status = 200
            if url.path.startswith("/api/slow"):
                time.sleep(int(urllib.parse.parse_qs(url.query)["ms"][0]) / 1000.0)
            elif url.path.startswith("/api/status/"):
                status = int(url.path.rsplit("/", 1)[1])
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = b'{"ok":true}\\n'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = _answer
        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
    """)


def nginx_conf(srv, port, backend_port):
    return e2e_util.nginx_conf(srv, f"""\
        log_format combined_times '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                                  '"$http_referer" "$http_user_agent" $request_time $upstream_response_time';
        access_log {srv}/logs/access.log combined_times;
        server {{
          listen 127.0.0.1:{port};
          root {srv}/html;
          location = /healthz {{ return 200 "ok\\n"; }}
          location = /boom {{ return 500; }}
          location /api/ {{ proxy_pass http://127.0.0.1:{backend_port}; }}
        }}
        """, workers=2)


class Gateway:
    """nginx (master PID known: daemon off) and the backend, as user nobody when we are root."""

    def __init__(self, srv):
        self.srv = srv
        self.port = e2e_util.free_port()
        backend_port = e2e_util.free_port()
        for d in ("logs", "tmp", "html"):
            os.makedirs(os.path.join(srv, d), exist_ok=True)
        with open(os.path.join(srv, "backend.py"), "w") as f:
            f.write(BACKEND)
        with open(os.path.join(srv, "nginx.conf"), "w") as f:
            f.write(nginx_conf(srv, self.port, backend_port))
        run_as = []
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "nobody", srv], check=True)
            os.chmod(srv, 0o755)
            run_as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        self.backend = subprocess.Popen(run_as + ["/usr/bin/python3", os.path.join(srv, "backend.py"), str(backend_port)])
        self.nginx = subprocess.Popen(run_as + ["nginx", "-p", srv + "/", "-c", os.path.join(srv, "nginx.conf"),
                                                "-e", os.path.join(srv, "logs/error.log"), "-g", "daemon off;"])
        self.base = f"http://127.0.0.1:{self.port}"
        e2e_util.poll(lambda: e2e_util.request(self.base + "/healthz")[0] == 200 or None)
        e2e_util.poll(lambda: e2e_util.request(f"http://127.0.0.1:{backend_port}/api/x")[0] == 200 or None)
        self.log = os.path.join(srv, "logs/access.log")

    def get(self, path, method="GET", data=None):
        req = urllib.request.Request(self.base + path, method=method, data=data)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as e:
            e.read()
            return e.code

    def reopen(self):
        """What `nginx -s reopen` does: SIGUSR1 to the master, which reopens the logs (creating the file)."""
        os.kill(self.nginx.pid, signal.SIGUSR1)
        e2e_util.poll(lambda: os.path.exists(self.log) or None)

    def stop(self):
        for proc in (self.nginx, self.backend):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Exporter:
    """With flags, or (config_file=True) the same settings from a --config.file plus a node name."""

    def __init__(self, binary, log, positions, workdir, n, config_file=False):
        argv = [binary, "--collector.disable-defaults", "--collector.accesslog", f"--collector.accesslog.path={log}",
                f"--collector.accesslog.position-file={positions}", "--collector.accesslog.poll-interval=100ms"]
        if config_file:
            path = os.path.join(workdir, f"exporter-{n}.yaml")
            with open(path, "w") as f:
                f.write(textwrap.dedent(f"""\
                    collector.disable-defaults: true
                    collector.accesslog: true
                    collector:
                      accesslog: {{path: ["{log}"], position-file: "{positions}", poll-interval: 100ms}}
                      gateway.node-name: node-e2e
                    """))
            argv = [binary, f"--config.file={path}"]
        self.server = e2e_util.Server(argv, os.path.join(workdir, f"exporter-{n}.log"))
        self.url = f"http://127.0.0.1:{self.server.port}/metrics"

    def scrape(self):
        status, _, body = e2e_util.request(self.url)
        assert status == 200, status
        samples = {}
        for family in text_string_to_metric_families(body.decode()):
            for s in family.samples:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
        return samples

    def stop(self):
        status = self.server.stop()
        CHECKS.expect(status == 0, f"exporter exits 0 on SIGTERM (got {status})")


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_by_labels(samples, node=None):
    out = {}
    for (name, labels), v in samples.items():
        if name == "topdog_exporter_gateway_requests_total":
            d = dict(labels)
            if d.get("node") != node:
                raise AssertionError(f"requests_total with node={d.get('node')!r}, expected {node!r}")
            out[(d["method"], d["route"], d["status"])] = v
    return out


def wait_for_lines(exporter, parsed):
    """Scrapes until the collector has parsed `parsed` lines (nginx writes its log line after answering)."""
    def done():
        samples = exporter.scrape()
        got = value(samples, "topdog_exporter_gateway_log_lines_total", result="parsed")
        if got > parsed:
            raise AssertionError(f"parsed {got} lines, more than the {parsed} sent")
        return samples if got == parsed else None
    return e2e_util.poll(done, deadline_s=15, interval_s=0.05)


class Sent:
    """What we sent, as the collector should count it: (method, route, status) -> n."""

    def __init__(self):
        self.counts = {}
        self.total = 0

    def add(self, method, route, status, n=1):
        key = (method, route, str(status))
        self.counts[key] = self.counts.get(key, 0) + n
        self.total += n


def send_mix(gw, sent, rounds=1):
    for _ in range(rounds):
        for i in range(10):
            CHECKS.expect(gw.get(f"/api/users/{1000 + i}") == 200, "GET /api/users/N answers 200")
        sent.add("GET", "/api/users/:id", 200, 10)
        for _ in range(5):
            CHECKS.expect(gw.get(f"/api/items/{uuid.uuid4()}") == 200, "GET /api/items/UUID answers 200")
        sent.add("GET", "/api/items/:uuid", 200, 5)
        for i in range(4):
            CHECKS.expect(gw.get(f"/nope/{i}") == 404, "GET /nope/N answers 404 (nginx)")
        sent.add("GET", "/nope/:id", 404, 4)
        for _ in range(3):
            CHECKS.expect(gw.get("/boom") == 500, "GET /boom answers 500 (return)")
        sent.add("GET", "/boom", 500, 3)
        CHECKS.expect(gw.get("/api/orders", method="POST", data=b'{"qty":1}') == 200, "POST /api/orders")
        sent.add("POST", "/api/orders", 200)
        CHECKS.expect(gw.get("/api/status/503") == 503, "the backend's 503")
        sent.add("GET", "/api/status/:id", 503)


def check_counts(samples, sent, what, node=None):
    got = requests_by_labels(samples, node)
    expected = {k: float(v) for k, v in sent.counts.items()}
    CHECKS.expect(got == expected, f"{what}: requests_total per label set equals what was sent "
                                   f"(got {sorted(got.items())}, sent {sorted(expected.items())})")
    CHECKS.expect(value(samples, "node_scrape_collector_success", collector="accesslog") == 1,
                  f"{what}: collector success 1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    args = ap.parse_args()
    if shutil.which("nginx") is None:
        print("nginx is not installed (scripts/bootstrap.sh test)")
        return 1
    srv = tempfile.mkdtemp(prefix="accesslog-e2e-")
    gw = Gateway(srv)
    positions = os.path.join(srv, "positions")
    exporters = []
    try:
        exporter = Exporter(args.exporter, gw.log, positions, srv, 0)
        exporters.append(exporter)
        # The readiness polls above were logged before the exporter started: a first run starts at the end.
        samples = exporter.scrape()
        CHECKS.expect(value(samples, "topdog_exporter_gateway_log_lines_total", result="parsed") == 0,
                      "first run: lines already in the log are not counted")

        print("phase 1: a known mix, slow handlers, junk")
        sent = Sent()
        send_mix(gw, sent)
        for _ in range(2):
            CHECKS.expect(gw.get("/api/slow?ms=320") == 200, "GET /api/slow answers 200")
        sent.add("GET", "/api/slow", 200, 2)
        with open(gw.log, "ab") as f:  # one write(2) each: O_APPEND keeps them whole between nginx's lines
            f.write(bytes(range(1, 10)) + b"\xff\xfe junk\n")
            f.write(b"127.0.0.1 - - [x] \"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\" 200 1 \"-\" \"-\" 0.000 -\n")
        samples = wait_for_lines(exporter, sent.total)
        check_counts(samples, sent, "phase 1")
        CHECKS.expect(value(samples, "topdog_exporter_gateway_log_lines_total", result="unparsable") == 1,
                      "junk line counted as unparsable")
        CHECKS.expect(value(samples, "topdog_exporter_gateway_log_lines_total", result="too_long") == 1,
                      "1 MB line counted as too_long")
        hist = "topdog_exporter_gateway_request_duration_seconds_bucket"
        slow = dict(host="", method="GET", route="/api/slow", status_class="2xx")
        CHECKS.expect(value(samples, hist, le="0.3", **slow) == 0, "slow requests (>= 320 ms) are above le=0.3")
        CHECKS.expect(value(samples, hist, le="+Inf", **slow) == 2, "slow requests: 2 in le=+Inf")
        CHECKS.expect(value(samples, "topdog_exporter_gateway_request_duration_seconds_count", **slow) == 2,
                      "slow requests: _count 2")
        up = "topdog_exporter_gateway_upstream_response_duration_seconds"
        CHECKS.expect(value(samples, up + "_bucket", le="0.3", **slow) == 0, "slow upstream above le=0.3")
        CHECKS.expect(value(samples, up + "_count", **slow) == 2, "slow upstream: _count 2")
        CHECKS.expect(value(samples, up + "_sum", **slow) >= 0.64, "slow upstream: _sum >= 2 x 0.32 s")
        boom = dict(host="", method="GET", route="/boom", status_class="5xx")
        CHECKS.expect(value(samples, hist, le="0.25", **boom) == 3, "nginx's own 500s: 3 under le=0.25")
        CHECKS.expect(value(samples, up + "_count", **boom) == 0, "nginx's own 500s: no upstream time")
        users = dict(host="", method="GET", route="/api/users/:id", status_class="2xx")
        CHECKS.expect(value(samples, hist.replace("_bucket", "_count"), **users) == 10, "users: 10 observations")

        print("phase 2: rename + reopen")
        os.rename(gw.log, gw.log + ".1")
        for i in range(3):  # nginx still writes to the renamed file
            CHECKS.expect(gw.get(f"/api/users/{i}") == 200, "request before reopen")
        sent.add("GET", "/api/users/:id", 200, 3)
        gw.reopen()
        for i in range(4):
            CHECKS.expect(gw.get(f"/nope/{i}") == 404, "request after reopen")
        sent.add("GET", "/nope/:id", 404, 4)
        samples = wait_for_lines(exporter, sent.total)
        check_counts(samples, sent, "phase 2")
        CHECKS.expect(value(samples, "topdog_exporter_gateway_log_rotations_total", kind="rename") == 1,
                      "one rename rotation seen")

        print("phase 3: copytruncate")
        shutil.copy(gw.log, gw.log + ".2")
        os.truncate(gw.log, 0)
        # A truncation is seen when the file is shorter than what was read; wait for that before the file
        # grows past it again (any tailer's limit: see README).
        e2e_util.poll(lambda: value(exporter.scrape(), "topdog_exporter_gateway_log_rotations_total",
                                    kind="truncate") == 1 or None)
        send_mix(gw, sent)
        samples = wait_for_lines(exporter, sent.total)
        check_counts(samples, sent, "phase 3")

        print("phase 4: restart with the position file, settings now from a --config.file")
        exporter.stop()
        exporters.remove(exporter)
        after = Sent()
        send_mix(gw, after)  # logged while the exporter is down
        exporter = Exporter(args.exporter, gw.log, positions, srv, 1, config_file=True)
        exporters.append(exporter)
        samples = wait_for_lines(exporter, after.total)
        check_counts(samples, after, "after the restart", node="node-e2e")
        for _ in range(2):
            CHECKS.expect(gw.get("/boom") == 500, "request after the restart")
        after.add("GET", "/boom", 500, 2)
        samples = wait_for_lines(exporter, after.total)
        check_counts(samples, after, "after the restart, more", node="node-e2e")
        CHECKS.expect(value(samples, "topdog_exporter_gateway_position_file_errors_total") == 0,
                      "position file written without errors")
        logs = exporter.server.logs()
        CHECKS.expect("from=\"saved position\"" in logs, "the restarted exporter resumed from its saved position")

        print("a --config.file with an unknown flag name: start-up error naming file and line")
        bad = os.path.join(srv, "bad.yaml")
        with open(bad, "w") as f:
            f.write("collector.accesslog: true\ncollector.accesslog.paht: /x\n")
        run = subprocess.run([args.exporter, f"--config.file={bad}"], capture_output=True, text=True, timeout=10)
        CHECKS.expect(run.returncode == 1 and f"--config.file {bad}: line 2: collector.accesslog.paht: no such flag"
                      in run.stderr, f"bad config file refused (exit {run.returncode}, stderr {run.stderr!r})")
    finally:
        for e in exporters:
            e.stop()
        gw.stop()
        if not CHECKS.failures:
            shutil.rmtree(srv, ignore_errors=True)
        else:
            print("kept", srv)
    print(f"{0 if CHECKS.failures else 1} passed, {len(CHECKS.failures)} failed")
    return 1 if CHECKS.failures else 0


if __name__ == "__main__":
    sys.exit(main())
