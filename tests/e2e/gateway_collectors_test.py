#!/usr/bin/python3
"""The HTTP-based collectors of topdog-exporter against real servers started here on 127.0.0.1:
- nginx: Debian's nginx (unprivileged, under a temporary prefix) with stub_status. Our families, HELP and TYPE
  lines equal those of Debian's prometheus-nginx-exporter 0.11.0 scraping the same nginx; after a known number
  of requests the counters are exact; nginx stopped, an HTML error page, a page that is not stub_status and a
  peer that never answers each give nginx_up 0 and success 0 while the rest of the scrape is served.
- backend: a FastAPI app under uvicorn (tests/apps/backend_app.py; Debian's python3-fastapi, uvicorn,
  python3-prometheus-client) is probed on /healthz and its /metrics passed through: the passed-through request
  counters and latency histogram counts equal the requests sent, exactly; the sample limit refuses the page;
  the backend stopped gives probe_success 0.
- envoy: Debian has no Envoy, so a loopback server plays its admin endpoint with the fixture page written in
  Envoy's /stats/prometheus format (tests/fixtures/PROVENANCE.md): clusters filtered, Envoy's names kept.
No sleeps: every wait polls with a deadline. Run by ctest (label e2e): gateway_collectors_test.py --exporter PATH
"""
import argparse
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402

CHECKS = e2e_util.Checks()
NODE = "pool-a-1"


def expect(condition, message):
    print(f"  {'ok  ' if condition else 'FAIL'} {message}")
    if not condition:
        CHECKS.failures.append(message)


def samples(text):
    """{(sample name as written, frozenset of labels): value} of a text-format page. (prometheus_client's parser
    renames counter samples to <family>_total, which Envoy's counters such as envoy_cluster_upstream_rq are not.)"""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        brace = line.find("{")
        space = line.find(" ")
        labels = {}
        if brace != -1 and (space == -1 or brace < space):
            name, i = line[:brace], brace + 1
            while line[i] != "}":
                eq = line.index("=", i)
                key, i, value = line[i:eq].strip(", "), eq + 2, []
                while line[i] != '"':
                    if line[i] == "\\":
                        i += 1
                        value.append({"n": "\n"}.get(line[i], line[i]))
                    else:
                        value.append(line[i])
                    i += 1
                labels[key] = "".join(value)
                i += 1
                if line[i] == ",":
                    i += 1
            rest = line[i + 1:].split()
        else:
            name, rest = line[:space], line[space + 1:].split()
        out[(name, frozenset(labels.items()))] = float(rest[0])
    return out


def value(page, name, **labels):
    return page.get((name, frozenset(labels.items())))


def get(url, timeout=10):
    """(status, body) of a GET; any HTTP status is an answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Exporter:
    def __init__(self, binary, workdir, name, flags):
        self.server = e2e_util.Server([binary, "--collector.disable-defaults", "--collector.loadavg"] + flags,
                                      os.path.join(workdir, name + ".log"))
        self.base = f"http://127.0.0.1:{self.server.port}/metrics"

    def scrape(self, *collectors, openmetrics=False):
        """The page; with openmetrics=True asked for as Prometheus asks (OpenMetrics preferred)."""
        query = "&".join(f"collect[]={c}" for c in collectors)
        url = self.base + ("?" + query if query else "")
        if openmetrics:
            status, _, raw = e2e_util.request(url, headers={
                "Accept": "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
                          "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"})
            body = raw.decode()
        else:
            status, body = get(url)
        assert status == 200, (status, body)
        return body

    def logs(self):
        return self.server.logs()

    def stop(self):
        return self.server.stop()


# --- nginx ---------------------------------------------------------------------------------------------------

def nginx_conf(srv, port):
    return e2e_util.nginx_conf(srv, f"""\
        access_log off;
        server {{
          listen 127.0.0.1:{port};
          location = /stub_status {{ stub_status; }}
          location = /healthz {{ return 200 "ok\\n"; }}
          location = /broken {{ return 502; }}
        }}
        """)


class Nginx:
    """Debian's nginx in the foreground (daemon off: the Popen PID is the master), as nobody when we are root."""

    def __init__(self, srv):
        self.port = e2e_util.free_port()
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(srv, d), exist_ok=True)
        with open(os.path.join(srv, "nginx.conf"), "w") as f:
            f.write(nginx_conf(srv, self.port))
        run_as = []
        if os.getuid() == 0:
            subprocess.run(["chown", "-R", "nobody", srv], check=True)
            os.chmod(srv, 0o755)
            run_as = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        self.proc = subprocess.Popen(run_as + ["nginx", "-p", srv + "/", "-c", os.path.join(srv, "nginx.conf"),
                                               "-e", os.path.join(srv, "logs/error.log"), "-g", "daemon off;"])
        self.base = f"http://127.0.0.1:{self.port}"
        e2e_util.poll(lambda: get(self.base + "/healthz")[0] == 200 or None)

    def stub_status(self):
        """(active, accepted, handled, requests, reading, writing, waiting) read directly (one request)."""
        status, body = get(self.base + "/stub_status")
        assert status == 200, body
        lines = body.split("\n")
        active = int(lines[0].split(":")[1])
        accepted, handled, requests = (int(x) for x in lines[2].split())
        parts = lines[3].split()
        return active, accepted, handled, requests, int(parts[1]), int(parts[3]), int(parts[5])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def help_and_type_lines(text, prefix):
    return sorted(line for line in text.splitlines() if line.startswith(("# HELP " + prefix, "# TYPE " + prefix)))


def nginx_case(binary, workdir):
    print("== nginx: nginx-prometheus-exporter's families, exact counts, faults")
    srv = os.path.join(workdir, "nginx")
    os.makedirs(srv)
    nginx = Nginx(srv)
    stub_uri = nginx.base + "/stub_status"
    exporter = Exporter(binary, workdir, "exporter-nginx", ["--collector.nginx", f"--collector.nginx.scrape-uri={stub_uri}"])
    try:
        # 1. The reference exporter on the same nginx: same HELP and TYPE lines, same samples.
        if shutil.which("prometheus-nginx-exporter"):
            ref_port = e2e_util.free_port()
            ref_log = open(os.path.join(workdir, "nginx-exporter.log"), "w")
            ref = subprocess.Popen(["prometheus-nginx-exporter", f"-nginx.scrape-uri={stub_uri}",
                                    f"-web.listen-address=127.0.0.1:{ref_port}"], stdout=ref_log, stderr=subprocess.STDOUT)
            try:
                ref_page = e2e_util.poll(lambda: get(f"http://127.0.0.1:{ref_port}/metrics", timeout=2)[1])
                ours_page = exporter.scrape("nginx")
                om = exporter.scrape("nginx", openmetrics=True)
                expect("\nnginx_connections_accepted " in om and "nginx_connections_accepted_total" not in om,
                       "OpenMetrics: nginx_connections_accepted keeps its name (Prometheus stores what the reference "
                       "exporter's text page gives)")
                expect(help_and_type_lines(ours_page, "nginx_") == help_and_type_lines(ref_page, "nginx_"),
                       "HELP and TYPE lines equal prometheus-nginx-exporter 0.11.0's")
                ref_samples = {k: v for k, v in samples(ref_page).items() if k[0].startswith("nginx_")}
                ours = {k: v for k, v in samples(ours_page).items() if k[0].startswith("nginx_")}
                expect(set(ours) == set(ref_samples), "the same nginx_ samples as the reference exporter")
                # We read stub_status right after it: one more request.
                expect(value(ours, "nginx_http_requests_total") == value(ref_samples, "nginx_http_requests_total") + 1,
                       "nginx_http_requests_total = the reference's + our own request")
            finally:
                ref.terminate()
                ref.wait(5)
                ref_log.close()
        else:
            expect(False, "prometheus-nginx-exporter is installed (scripts/bootstrap.sh test)")

        # 2. Exact counts: the reference exporter's keep-alive connection is gone once only ours is active.
        e2e_util.poll(lambda: nginx.stub_status()[0] == 1 or None)
        _, accepted0, _, requests0, _, _, _ = nginx.stub_status()  # counts itself
        sent = 0
        for i in range(25):
            sent += get(nginx.base + "/healthz")[0] == 200
        for i in range(3):
            sent += get(nginx.base + f"/nope/{i}")[0] == 404
        expect(sent == 28, "28 requests answered by nginx")
        scrapes = 0

        def settled():
            nonlocal scrapes
            page = samples(exporter.scrape("nginx"))
            scrapes += 1
            # Closed client connections may linger a moment in nginx's active count.
            return page if value(page, "nginx_connections_active") == 1 else None

        page = e2e_util.poll(settled)
        expect(value(page, "nginx_up") == 1, "nginx_up 1")
        expect(value(page, "node_scrape_collector_success", collector="nginx") == 1, "success 1")
        expect(value(page, "nginx_http_requests_total") == requests0 + sent + scrapes,
               f"nginx_http_requests_total = {requests0} + {sent} sent + {scrapes} of ours")
        expect(value(page, "nginx_connections_accepted") == accepted0 + sent + scrapes,
               f"nginx_connections_accepted = {accepted0} + {sent} + {scrapes}: one connection per request "
               f"(got {value(page, 'nginx_connections_accepted')})")
        expect(value(page, "nginx_connections_handled") == value(page, "nginx_connections_accepted"), "handled = accepted")
        expect((value(page, "nginx_connections_reading"), value(page, "nginx_connections_writing"),
                value(page, "nginx_connections_waiting")) == (0, 1, 0), "reading 0, writing 1 (our request), waiting 0")

        # 3. Pages that are not stub_status, and a peer that never answers.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # accepts (in the kernel's backlog) and never answers
        cases = [("html", nginx.base + "/broken", [], "HTTP 502 (text/html): \\\"<html>"),
                 ("garbage", nginx.base + "/healthz", [], "not an nginx stub_status page"),
                 ("silent", f"http://127.0.0.1:{silent.getsockname()[1]}/stub_status",
                  ["--collector.nginx.timeout=300ms"], "no answer within 300ms")]
        for name, uri, extra, logged in cases:
            bad = Exporter(binary, workdir, "exporter-nginx-" + name,
                           ["--collector.nginx", f"--collector.nginx.scrape-uri={uri}"] + extra)
            try:
                start = time.monotonic()
                page = samples(bad.scrape())
                took = time.monotonic() - start
                expect(value(page, "nginx_up") == 0 and value(page, "node_scrape_collector_success", collector="nginx") == 0,
                       f"{name}: nginx_up 0, success 0")
                expect(value(page, "nginx_http_requests_total") is None, f"{name}: no other nginx_ sample")
                expect(value(page, "node_load1") is not None and
                       value(page, "node_scrape_collector_success", collector="loadavg") == 1, f"{name}: the rest is served")
                expect(logged in bad.logs() and "collector=nginx" in bad.logs(), f"{name}: logged: {logged}")
                if name == "silent":
                    expect(took < 3, f"silent: the scrape took {took:.2f} s (timeout 300ms)")
            finally:
                bad.stop()
        silent.close()

        # 4. nginx stopped.
        nginx.stop()
        page = samples(exporter.scrape())
        expect(value(page, "nginx_up") == 0, "nginx stopped: nginx_up 0")
        expect(value(page, "node_scrape_collector_success", collector="nginx") == 0, "nginx stopped: success 0")
        expect(value(page, "node_load1") is not None, "nginx stopped: the rest is served")
        expect("Connection refused" in exporter.logs(), "nginx stopped: logged Connection refused")
    finally:
        nginx.stop()
        status = exporter.stop()
        expect(status == 0, f"exporter exits 0 on SIGTERM (got {status})")


# --- FastAPI backend -----------------------------------------------------------------------------------------

class Backend:
    def __init__(self, workdir):
        self.port = e2e_util.free_port()
        self.log = open(os.path.join(workdir, "uvicorn.log"), "w")
        apps = os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "apps")
        self.proc = subprocess.Popen(["/usr/bin/python3", "-m", "uvicorn", "backend_app:app", "--app-dir", apps,
                                      "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.healthz_answered = 0  # the app counts every answered request, the readiness polls too

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError("uvicorn exited; see uvicorn.log")
            status, _ = get(self.base + "/healthz", timeout=2)
            self.healthz_answered += 1
            return status == 200 or None

        e2e_util.poll(ready, deadline_s=20)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def backend_case(binary, workdir):
    print("== backend: probe and /metrics pass-through of a FastAPI app under uvicorn")
    backend = Backend(workdir)
    probe_url = backend.base + "/healthz"
    metrics_url = backend.base + "/metrics"  # answers 307 to /metrics/ (the mounted ASGI app): followed
    exporter = Exporter(binary, workdir, "exporter-backend",
                        ["--collector.backend_probe", f"--collector.backend.probe-url={probe_url}",
                         "--collector.backend_metrics", f"--collector.backend.metrics-url={metrics_url}",
                         f"--collector.gateway.node-name={NODE}"])
    try:
        statuses = [get(f"{backend.base}/items/{i}")[0] for i in range(1, 11)]
        statuses += [get(f"{backend.base}/items/0")[0] for _ in range(3)]
        statuses += [get(f"{backend.base}/slow?ms=150")[0] for _ in range(2)]
        expect(statuses == [200] * 10 + [404] * 3 + [200] * 2, "15 requests sent: 10 + 2 answered 200, 3 answered 404")

        t = dict(target=metrics_url, node=NODE)
        page = samples(exporter.scrape("backend_metrics"))
        expect(value(page, "node_scrape_collector_success", collector="backend_metrics") == 1, "pass-through: success 1")
        expect(value(page, "http_requests_total", handler="/items/{item_id}", method="GET", status="2xx", **t) == 10,
               "http_requests_total /items/{item_id} 2xx = 10 sent")
        expect(value(page, "http_requests_total", handler="/items/{item_id}", method="GET", status="4xx", **t) == 3,
               "http_requests_total /items/{item_id} 4xx = 3 sent")
        expect(value(page, "http_requests_total", handler="/slow", method="GET", status="2xx", **t) == 2,
               "http_requests_total /slow = 2 sent")
        expect(value(page, "http_requests_total", handler="/healthz", method="GET", status="2xx", **t) ==
               backend.healthz_answered, f"http_requests_total /healthz = {backend.healthz_answered} readiness polls")
        expect(value(page, "http_requests_total", handler="none", method="GET", status="3xx", **t) == 1,
               "our own 307 on /metrics is counted (the fetch of /metrics/ itself is not yet)")
        slow = dict(handler="/slow", method="GET", **t)
        expect(value(page, "http_request_duration_seconds_count", **slow) == 2, "latency histogram: /slow count 2")
        expect(value(page, "http_request_duration_seconds_bucket", le="0.1", **slow) == 0, "/slow: none under 0.1 s")
        expect(value(page, "http_request_duration_seconds_bucket", le="0.5", **slow) == 2, "/slow: both under 0.5 s")
        expect(value(page, "http_request_duration_seconds_count", handler="/items/{item_id}", method="GET", **t) == 13,
               "latency histogram: /items/{item_id} count 13")
        expect(value(page, "topdog_exporter_backend_metrics_up", target=metrics_url) == 1, "backend_metrics_up 1")
        expect(value(page, "python_info", implementation="CPython", major="3", minor="11", patchlevel="2",
                     version="3.11.2", **t) == 1, "the backend's own families pass with target and node")

        page = samples(exporter.scrape("backend_probe"))
        p = dict(target=probe_url, node=NODE)
        expect(value(page, "probe_success", **p) == 1, "probe_success 1")
        expect(value(page, "probe_http_status_code", **p) == 200, "probe_http_status_code 200")
        duration = value(page, "probe_duration_seconds", **p)
        expect(duration is not None and 0 < duration < 5, f"probe_duration_seconds {duration}")
        expect(value(page, "node_scrape_collector_success", collector="backend_probe") == 1, "probe: success 1")

        page = samples(exporter.scrape("backend_metrics"))
        expect(value(page, "http_requests_total", handler="/healthz", method="GET", status="2xx", **t) ==
               backend.healthz_answered + 1, "the probe shows up in the backend's /healthz counter: +1")
        expect(value(page, "http_requests_total", handler="/metrics", method="GET", status="2xx", **t) == 1,
               "our first pass-through fetch is counted by the backend: 1")
        expect(value(page, "http_requests_total", handler="none", method="GET", status="3xx", **t) == 2,
               "two 307s: one per fetch")

        # The sample limit refuses the whole page; the target's up gauge says so.
        limited = Exporter(binary, workdir, "exporter-backend-limit",
                           ["--collector.backend_metrics", f"--collector.backend.metrics-url={metrics_url}",
                            "--collector.backend.metrics-sample-limit=10"])
        try:
            page = samples(limited.scrape())
            expect(value(page, "node_scrape_collector_success", collector="backend_metrics") == 0,
                   "over the sample limit: success 0")
            expect(not any(k[0] == "http_requests_total" for k in page), "over the sample limit: nothing passed through")
            expect(value(page, "topdog_exporter_backend_metrics_up", target=metrics_url) == 0, "backend_metrics_up 0")
            expect(value(page, "node_load1") is not None, "over the sample limit: the rest is served")
            expect("over the sample limit of 10" in limited.logs(), "logged: over the sample limit of 10")
        finally:
            limited.stop()

        backend.stop()
        page = samples(exporter.scrape())
        expect(value(page, "probe_success", **p) == 0 and value(page, "probe_http_status_code", **p) == 0,
               "backend stopped: probe_success 0, status code 0")
        expect(value(page, "node_scrape_collector_success", collector="backend_probe") == 1,
               "backend stopped: a failed probe is a measurement (success 1)")
        expect(value(page, "node_scrape_collector_success", collector="backend_metrics") == 0,
               "backend stopped: pass-through success 0")
        expect(value(page, "topdog_exporter_backend_metrics_up", target=metrics_url) == 0, "backend stopped: up 0")
        expect("probe failed" in exporter.logs(), "backend stopped: the probe failure is logged")
    finally:
        backend.stop()
        exporter.stop()


# --- Envoy (fixture page on a loopback server) -----------------------------------------------------------------

def envoy_case(binary, workdir, fixtures):
    print("== envoy: the admin endpoint's /stats/prometheus (fixture page), clusters filtered")
    with open(os.path.join(fixtures, "gateway", "envoy_stats_prometheus.txt"), "rb") as f:
        page_bytes = f.read()
    paths = []
    mode = {"html": False}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            if mode["html"]:
                body, ctype, status = b"<html><body>upstream connect error</body></html>", "text/html", 503
            else:
                body, ctype, status = page_bytes, "text/plain; charset=UTF-8", 200
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    admin = f"http://127.0.0.1:{server.server_address[1]}"
    exporter = Exporter(binary, workdir, "exporter-envoy",
                        ["--collector.envoy", f"--collector.envoy.admin-uri={admin}", "--collector.envoy.clusters=backend",
                         "--collector.envoy.clusters-regex=stat.*"])
    try:
        om = exporter.scrape("envoy", openmetrics=True)
        expect("# TYPE envoy_cluster_upstream_rq unknown" in om and "envoy_cluster_upstream_rq_total{" in om
               and "envoy_cluster_upstream_rq{" in om and "envoy_cluster_upstream_rq_total_total" not in om,
               "OpenMetrics: Envoy's counters keep their names (envoy_cluster_upstream_rq next to ..._rq_total)")
        text = exporter.scrape("envoy")
        page = samples(text)
        expect(paths == ["/stats/prometheus?usedonly"] * 2, f"GET /stats/prometheus?usedonly per scrape (got {paths})")
        expect(value(page, "node_scrape_collector_success", collector="envoy") == 1, "envoy: success 1")
        expect(value(page, "envoy_cluster_upstream_rq_total", envoy_cluster_name="backend") == 10, "backend: rq_total 10")
        expect(value(page, "envoy_cluster_upstream_rq", envoy_cluster_name="backend", envoy_response_code="503") == 1,
               "backend: rq{envoy_response_code=503} 1")
        expect(value(page, "envoy_cluster_upstream_rq_xx", envoy_cluster_name="backend", envoy_response_code_class="2") == 7,
               "backend: rq_xx{envoy_response_code_class=2} 7")
        expect(value(page, "envoy_cluster_upstream_rq_time_bucket", envoy_cluster_name="backend", le="500") == 9,
               "backend: rq_time bucket le=500 (ms) 9")
        expect(value(page, "envoy_cluster_upstream_rq_time_count", envoy_cluster_name="static_assets") == 5,
               "static_assets (regex stat.*): rq_time count 5")
        clusters = {dict(k[1]).get("envoy_cluster_name") for k in page if k[0].startswith("envoy_")}
        expect(clusters == {"backend", "static_assets"}, f"only the selected clusters (got {sorted(clusters)})")
        expect("# TYPE envoy_cluster_upstream_rq_time histogram" in text, "rq_time is a histogram")
        expect(not any(k[0].startswith(("envoy_server", "envoy_http", "envoy_listener")) for k in page),
               "no downstream, listener or server stats")

        mode["html"] = True
        page = samples(exporter.scrape("envoy"))
        expect(value(page, "node_scrape_collector_success", collector="envoy") == 0, "envoy answering 503 HTML: success 0")
        expect(not any(k[0].startswith("envoy_") for k in page), "envoy answering 503 HTML: no stale envoy_ samples")
        expect("HTTP 503 (text/html)" in exporter.logs(), "logged: HTTP 503 (text/html)")
    finally:
        exporter.stop()
        server.shutdown()
        server.server_close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    binary, fixtures = os.path.abspath(args.exporter), os.path.abspath(args.fixtures)
    if shutil.which("nginx") is None:
        print("nginx is not installed (scripts/bootstrap.sh test)")
        return 1
    with tempfile.TemporaryDirectory(prefix="topdog-gateway-") as workdir:
        os.chmod(workdir, 0o755)
        nginx_case(binary, workdir)
        backend_case(binary, workdir)
        envoy_case(binary, workdir, fixtures)
    print(f"{'PASS' if not CHECKS.failures else 'FAIL'}: {len(CHECKS.failures)} failures")
    return 1 if CHECKS.failures else 0


if __name__ == "__main__":
    sys.exit(main())
