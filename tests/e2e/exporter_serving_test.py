#!/usr/bin/python3
"""End-to-end behaviour of the topdog-exporter binary on captured trees:
- bad input: a garbled file, a missing file and a file whose open() never returns (a FIFO standing in for a
  hung mount) fail only their collectors (success 0, one log line each); the scrape still answers, within
  the deadline derived from X-Prometheus-Scrape-Timeout-Seconds;
- a 200 KB /proc/stat intr line (node_exporter 1.5.0 fails there) is served;
- collect[]/exclude[] filtering, OpenMetrics negotiation, gzip, /healthz, /readyz;
- TLS + basic auth from a web-config file;
- a real Prometheus (Debian) scrapes it: up == 1 and node_load1 is queryable.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402
import scrape_compare  # noqa: E402

PROM_ACCEPT = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
               "text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
FAILURES = []


def expect(cond, what):
    print(f"  {'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        FAILURES.append(what)


request = e2e_util.request


class Exporter:
    """topdog-exporter on 127.0.0.1:0; stop() checks it exits 0 on SIGTERM."""

    def __init__(self, binary, flags, workdir, scheme="http"):
        self.server = e2e_util.Server([binary] + flags, os.path.join(workdir, f"exporter-{len(os.listdir(workdir))}.log"))
        self.port = self.server.port
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def logs(self):
        return self.server.logs()

    def stop(self):
        status = self.server.stop()
        expect(status == 0, f"exporter exits 0 on SIGTERM (got {status})")


def tree_flags(tree):
    return [f"--path.procfs={tree}/proc", f"--path.sysfs={tree}/sys", f"--path.rootfs={tree}/root",
            f"--path.udev.data={tree}/udev"]


def success_by_collector(text):
    fams = scrape_compare.parse(text)
    out = {}
    for (name, labels), value in fams["node_scrape_collector_success"].samples.items():
        out[dict(labels)["collector"]] = value
    return out, fams


def bad_input_case(binary, fixtures, workdir):
    print("== bad input: garbled meminfo, missing loadavg... , hung vmstat (FIFO), 200 KB intr line")
    tree = os.path.join(workdir, "bad")
    shutil.copytree(os.path.join(fixtures, "host-6.18"), tree)
    os.makedirs(os.path.join(tree, "root"), exist_ok=True)
    # Garble one value of meminfo (a non-numeric field), remove loadavg, and make vmstat a FIFO: open()
    # blocks until a writer appears, which never happens, like a read on a hung mount.
    meminfo = os.path.join(tree, "proc", "meminfo")
    text = open(meminfo).read().replace("MemFree:", "MemFree: x", 1)
    open(meminfo, "w").write(text)
    os.remove(os.path.join(tree, "proc", "loadavg"))
    vmstat = os.path.join(tree, "proc", "vmstat")
    os.remove(vmstat)
    os.mkfifo(vmstat)
    # Blow the intr line up to > 200 KB (what a 128-CPU host with many IRQs has).
    stat = os.path.join(tree, "proc", "stat")
    lines = open(stat).read().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("intr "):
            lines[i] = line + " 0" * 110000
    open(stat, "w").write("\n".join(lines))
    expect(max(len(l) for l in lines) > 200000, "intr line is over 200 KB")

    exp = Exporter(binary, tree_flags(tree) + ["--collector.disable-defaults", "--collector.cpu",
                                              "--collector.stat", "--collector.meminfo", "--collector.loadavg",
                                              "--collector.vmstat", "--collector.filefd"], workdir)
    try:
        t0 = time.monotonic()
        status, headers, body = request(exp.url + "/metrics", {"X-Prometheus-Scrape-Timeout-Seconds": "2"})
        elapsed = time.monotonic() - t0
        expect(status == 200, f"scrape answers 200 with failing collectors (got {status})")
        expect(elapsed < 2.0, f"scrape with a hung collector returns before the 2 s scrape timeout ({elapsed:.2f} s)")
        success, fams = success_by_collector(body.decode())
        expect(success.get("meminfo") == 0, "meminfo (garbled) reports success 0")
        expect(success.get("loadavg") == 0, "loadavg (missing) reports success 0")
        expect(success.get("vmstat") == 0, "vmstat (hung open) reports success 0")
        expect(success.get("cpu") == 1 and success.get("stat") == 1, "cpu and stat succeed on the 200 KB intr line")
        expect(success.get("filefd") == 1, "filefd unaffected")
        expect("node_context_switches" in fams, "stat families served")
        expect("node_memory_MemTotal_bytes" not in fams, "no partial meminfo served")
        # The process keeps serving and does not pile up threads for the hung collector.
        status2, _, body2 = request(exp.url + "/metrics", {"X-Prometheus-Scrape-Timeout-Seconds": "1"})
        expect(status2 == 200, "second scrape still answers")
        threads = [l for l in body2.decode().splitlines() if l.startswith("topdog_exporter_process_threads ")]
        status3, _, body3 = request(exp.url + "/metrics", {"X-Prometheus-Scrape-Timeout-Seconds": "1"})
        threads3 = [l for l in body3.decode().splitlines() if l.startswith("topdog_exporter_process_threads ")]
        expect(threads and threads3 and threads[0].split()[1] == threads3[0].split()[1],
               f"thread count stable across scrapes with a hung collector ({threads} vs {threads3})")
        timeouts = re.search(r'topdog_exporter_collector_timeouts_total\{collector="vmstat"\} (\S+)', body3.decode())
        expect(timeouts is not None and float(timeouts.group(1)) >= 3, "vmstat timeouts counted")
        logs = exp.logs()
        expect(re.search(r"collector=meminfo .*meminfo", logs) is not None, "meminfo failure logged with the file")
        expect("collector=vmstat result=timeout" in logs, "vmstat timeout logged")
    finally:
        # Let the hung open() finish so the process can exit cleanly.
        fd = os.open(vmstat, os.O_RDWR | os.O_NONBLOCK)
        exp.stop()
        os.close(fd)


def http_features_case(binary, fixtures, workdir):
    print("== HTTP: filtering, negotiation, gzip, health")
    tree = os.path.join(fixtures, "host-6.18")
    exp = Exporter(binary, tree_flags(tree) + ["--collector.disable-defaults", "--collector.cpu",
                                              "--collector.loadavg"], workdir)
    try:
        status, headers, body = request(exp.url + "/metrics?collect[]=loadavg")
        text = body.decode()
        expect(status == 200 and "node_load1 " in text and "node_cpu_seconds_total" not in text,
               "collect[]=loadavg returns only loadavg")
        status, _, body = request(exp.url + "/metrics?exclude[]=loadavg")
        expect(status == 200 and "node_load1 " not in body.decode() and "node_cpu_seconds_total" in body.decode(),
               "exclude[]=loadavg drops loadavg")
        status, _, _ = request(exp.url + "/metrics?collect[]=cpu&exclude[]=loadavg")
        expect(status == 400, "collect[] with exclude[] is 400")
        status, _, _ = request(exp.url + "/metrics?collect[]=nosuch")
        expect(status == 400, "unknown collector is 400")
        status, headers, body = request(exp.url + "/metrics", {"Accept": PROM_ACCEPT})
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        expect(ctype.startswith("application/openmetrics-text; version=1.0.0"), f"OpenMetrics negotiated ({ctype})")
        expect(body.decode().endswith("# EOF\n"), "OpenMetrics body ends with # EOF")
        status, headers, body = request(exp.url + "/metrics", {"Accept-Encoding": "gzip"})
        h = {k.lower(): v for k, v in headers.items()}
        expect(h.get("content-encoding") == "gzip", "gzip when accepted")
        expect(b"node_load1 " in gzip.decompress(body), "gzip body decompresses to the scrape")
        status, headers, body = request(exp.url + "/metrics")
        ctype = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
        expect(ctype.startswith("text/plain; version=0.0.4"), f"text 0.0.4 by default ({ctype})")
        expect(request(exp.url + "/healthz")[0] == 200, "/healthz 200")
        expect(request(exp.url + "/readyz")[0] == 200, "/readyz 200")
        expect(request(exp.url + "/nosuch")[0] == 404, "unknown path 404")
    finally:
        exp.stop()


def tls_auth_case(binary, fixtures, workdir):
    print("== TLS + basic auth from --web.config.file")
    web = os.path.join(fixtures, "web")
    user, hashed = open(os.path.join(web, "alice.htpasswd")).read().strip().split(":", 1)
    password = "alice-secret-1"  # tests/fixtures/web/PROVENANCE.md
    config = os.path.join(workdir, "web.yml")
    with open(config, "w") as f:
        f.write("tls_server_config:\n"
                f"  cert_file: {os.path.join(web, 'server.crt')}\n"
                f"  key_file: {os.path.join(web, 'server.key')}\n"
                f"basic_auth_users:\n  {user}: '{hashed}'\n")
    ctx = ssl.create_default_context(cafile=os.path.join(web, "ca.crt"))
    tree = os.path.join(fixtures, "host-6.18")
    exp = Exporter(binary, tree_flags(tree) + ["--collector.disable-defaults", "--collector.loadavg",
                                              f"--web.config.file={config}"], workdir, scheme="https")
    try:
        import base64
        good = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        bad = "Basic " + base64.b64encode(f"{user}:wrong".encode()).decode()
        expect(request(exp.url + "/metrics", context=ctx)[0] == 401, "no credentials: 401")
        expect(request(exp.url + "/metrics", {"Authorization": bad}, context=ctx)[0] == 401, "wrong password: 401")
        status, _, body = request(exp.url + "/metrics", {"Authorization": good}, context=ctx)
        expect(status == 200 and b"node_load1 " in body, "right password over TLS: 200 with metrics")
        try:
            request(exp.url.replace("https", "http") + "/metrics", timeout=3)
            expect(False, "plain HTTP refused on the TLS port")
        except Exception:
            expect(True, "plain HTTP refused on the TLS port")
        expect(password not in exp.logs() and hashed not in exp.logs(), "no secret in the logs")
    finally:
        exp.stop()


def prometheus_case(binary, fixtures, workdir):
    print("== a real Prometheus scrapes topdog-exporter")
    tree = os.path.join(fixtures, "host-6.18")
    exp = Exporter(binary, tree_flags(tree) + ["--collector.disable-defaults", "--collector.loadavg",
                                              "--collector.meminfo"], workdir)
    prom_port = e2e_util.free_port()
    cfg = os.path.join(workdir, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                f"  - job_name: topdog\n    static_configs:\n      - targets: ['127.0.0.1:{exp.port}']\n")
    data = os.path.join(workdir, "prom-data")
    log = open(os.path.join(workdir, "prometheus.log"), "w")
    prom = subprocess.Popen(["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{prom_port}/api/v1/query?query="
        expected_load1 = float(open(os.path.join(tree, "proc", "loadavg")).read().split()[0])
        end = time.monotonic() + 30  # Prometheus applies targets on a 5 s tick (toolchain.md pitfall 13)
        result = None
        while time.monotonic() < end:
            try:
                status, _, body = request(base + urllib.parse.quote("node_load1"), timeout=2)
                r = json.loads(body)["data"]["result"]
                if r:
                    result = r
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)  # polling Prometheus until its first scrape lands
        expect(result is not None, "Prometheus ingested node_load1")
        if result:
            expect(abs(float(result[0]["value"][1]) - expected_load1) < 1e-9,
                   f"node_load1 in Prometheus equals the fixture's loadavg ({result[0]['value'][1]})")
        status, _, body = request(base + urllib.parse.quote('up{job="topdog"}'), timeout=2)
        r = json.loads(body)["data"]["result"]
        expect(bool(r) and r[0]["value"][1] == "1", "up == 1")
    finally:
        exp.stop()
        prom.terminate()
        try:
            prom.wait(10)
        except subprocess.TimeoutExpired:
            prom.kill()
        log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--fixtures", required=True)
    args = ap.parse_args()
    binary, fixtures = os.path.abspath(args.exporter), os.path.abspath(args.fixtures)
    with tempfile.TemporaryDirectory(prefix="topdog-e2e-") as workdir:
        bad_input_case(binary, fixtures, workdir)
        http_features_case(binary, fixtures, workdir)
        tls_auth_case(binary, fixtures, workdir)
        prometheus_case(binary, fixtures, workdir)
    print(f"{'PASS' if not FAILURES else 'FAIL'}: {len(FAILURES)} failures")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
