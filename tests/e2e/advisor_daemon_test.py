#!/usr/bin/python3
"""End-to-end test of `topdog-advisor run`: a real Prometheus (Debian) scrapes a real topdog-exporter serving a
captured /proc tree every second, and the daemon reads it; only the Kubernetes and DigitalOcean APIs are fakes
(tests/fakes/fake_kube_api.py, fake_do_api.py), which record the exact requests the daemon sends.
  1. dry run (the default): one dryRun=All merge patch of the managed HPA only, with field manager,
     resourceVersion precondition, the raised minReplicas and the decision annotations; nothing stored;
  2. apply: the stored HPA changes, and a second pass sends nothing (nothing differs any more);
  3. node pool: apply mode PUTs the bounds (count kept, clamped into them); dry-run mode sends no PUT;
  4. faults: Prometheus unreachable, slow, answering garbage, truncated or partial answers (through
     tests/fakes/fault_proxy.py), no series; a resourceVersion conflict (the HPA edited between list and patch),
     a dropped connection on PATCH, the HPA list answering 500, a wrong token: no patch on partial data, errors
     reported, the next pass patches;
  5. leader election over a Lease: two daemons, exactly one leads and writes; kill -9 it and the other takes over
     within the lease duration;
  6. the daemon's /metrics behind TLS + basic auth (tests/fixtures/web), /healthz open.
The expected minReplicas is computed here: the demand is `node_load1` of the captured tree (a constant, so the
forecast's recent peak is exactly it), read back from Prometheus by this test.

Usage: advisor_daemon_test.py --advisor PATH --exporter PATH --fixtures tests/fixtures
"""
import argparse
import base64
import datetime
import json
import math
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FAKES = os.path.join(os.path.dirname(HERE), "fakes")
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402 (Debian python3-prometheus-client)

KUBE_TOKEN = "kube-token-7f3a9c"
DO_TOKEN = "do-token-51bd02"
NS = "shop"
CLUSTER_ID = "bd5f5959-5e1e-4205-a714-a914373942af"
POOL_ID = "cdda885e-7663-40c8-bc74-3a036c66545d"
HPA_PATH = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{name}"
LIST_PATH = "/apis/autoscaling/v2/horizontalpodautoscalers"
MANAGED = "advisor.topdog.dev/managed"
DECISION = "advisor.topdog.dev/last-decision"
CHANGE = "advisor.topdog.dev/last-change"
FLOOR = "advisor.topdog.dev/floor-replicas"
MAXANN = "advisor.topdog.dev/max-replicas"
# The HPA as seeded: minReplicas 2, maxReplicas 20, CPU at 70 %; the demand makes the advisor raise minReplicas to
# TARGET_MIN (capacity_rps is chosen from the captured load so the forecast needs TARGET_MIN - 0.5 pods).
SEED_MIN, SEED_MAX, SEED_CPU, TARGET_MIN = 2, 20, 70, 6
FLOOR_UTILIZATION = 0.9  # AdvisorPolicy::floor_utilization: minReplicas runs the forecast peak at 90 % CPU
PODS_PER_NODE = 2
STEP_S = 2      # the daemon's history step (config `step`); Prometheus scrapes every second
MIN_POINTS = 4  # steps of history in Prometheus before the first pass
DROPLET_CAP = 25


class Checks(e2e_util.Checks):
    def expect(self, condition, message):
        print(f"  {'ok  ' if condition else 'FAIL'} {message}")
        if not condition:
            self.failures.append(message)


checks = Checks()
expect = checks.expect


# ------------------------------------------------------------------------------------------------------------
# Small HTTP helpers

def call(method, url, body=None, headers=None, context=None, timeout=10):
    """(status, parsed JSON or raw bytes)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


def metric_samples(text):
    """{(sample name, frozenset(labels)): value} via prometheus_client's parser (independent of our writer)."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def sample(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


# ------------------------------------------------------------------------------------------------------------
# Processes

class Processes:
    """Every process the test started, so that a failure never leaves one behind."""

    def __init__(self):
        self.procs = []

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


PROCS = Processes()


class Fake:
    """A loopback fake (or the fault proxy) that prints `PORT n` first; its control routes under /_fake/."""

    def __init__(self, script, args, log_path):
        self.log = open(log_path, "w")
        self.proc = PROCS.add(subprocess.Popen([sys.executable, os.path.join(FAKES, script)] + args,
                                               stdout=subprocess.PIPE, stderr=self.log, text=True))
        line = self.proc.stdout.readline()  # the fake listens before it prints this line
        if not line.startswith("PORT "):
            raise RuntimeError(f"{script} did not start: {line!r}; see {log_path}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def control(self, method, route, body=None):
        status, answer = call(method, self.url + "/_fake/" + route, body)
        if status != 200:
            raise RuntimeError(f"{method} /_fake/{route}: {status} {answer!r}")
        return answer

    def requests(self):
        return self.control("GET", "requests")

    def reset(self):
        self.control("POST", "reset")

    def faults(self, faults):
        self.control("POST", "faults", faults)


class KubeFake(Fake):
    def seed(self, objects):
        self.control("DELETE", "objects")
        stored = self.control("POST", "objects", objects)
        self.reset()  # forget the seeding, so that the record holds only the daemon's requests
        return {(o["kind"], o["metadata"]["name"]): o for o in stored}

    def objects(self):
        return {(o["kind"], o["metadata"]["name"]): o for o in self.control("GET", "objects")}

    def patches(self):
        return [r for r in self.requests() if r["method"] == "PATCH"]


def hpa(name, annotations=None, namespace=NS):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"namespace": namespace, "name": name, "annotations": annotations or {},
                         "labels": {"app": name}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                     "minReplicas": SEED_MIN, "maxReplicas": SEED_MAX,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                         "type": "Utilization", "averageUtilization": SEED_CPU}}}]},
            "status": {"currentReplicas": SEED_MIN, "desiredReplicas": SEED_MIN}}


def seed_hpas(kube):
    """web (managed), batch (annotation "false") and other/api (no annotation); returns the stored objects."""
    return kube.seed([hpa("web", {MANAGED: "true"}), hpa("batch", {MANAGED: "false"}),
                      hpa("api", None, namespace="other")])


def pool(count=2, min_nodes=1, max_nodes=5):
    return {"id": POOL_ID, "name": "web-pool", "size": "s-2vcpu-4gb", "count": count, "auto_scale": True,
            "min_nodes": min_nodes, "max_nodes": max_nodes, "tags": ["k8s", "web"],
            "labels": {"tier": "web"}, "taints": [], "nodes": []}


class Env:
    def __init__(self, args, workdir):
        self.advisor = os.path.abspath(args.advisor)
        self.workdir = workdir
        self.fixtures = os.path.abspath(args.fixtures)
        self.configs = 0

    def path(self, name):
        return os.path.join(self.workdir, name)

    def write_config(self, text):
        self.configs += 1
        path = self.path(f"advisor-{self.configs}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def config(self, prom_url, dry_run=True, kubeconfig=None, workloads="", digitalocean="", extra="",
               demand=None, interval="1m"):
        demand = demand or 'sum(node_load1{job="topdog"})'
        return self.write_config(
            f"interval: {interval}\n"
            f"dry_run: {'true' if dry_run else 'false'}\n"
            f"step: {STEP_S}s\n"
            "history: 30m\n"
            "decision:\n  max_staleness: 30s\n"
            f"prometheus:\n  url: {prom_url}\n  timeout: 5s\n  attempts: 1\n"
            f"kubernetes:\n  mode: kubeconfig\n  kubeconfig: {kubeconfig or self.kubeconfig}\n"
            f"{digitalocean}{extra}"
            "defaults:\n"
            f"  demand: {{promql: {json.dumps(demand)}}}\n"
            f"  capacity_rps: {self.capacity_rps!r}\n"
            f"{workloads}")

    def once(self, config, label):
        """One `run --once`: (exit status, the JSON summary or None, stderr)."""
        result = subprocess.run([self.advisor, "run", "--config", config, "--once"], capture_output=True,
                                text=True, timeout=60)
        with open(self.path(f"once-{label}.log"), "w") as f:
            f.write(result.stderr)
        summary = None
        try:
            summary = json.loads(result.stdout)
        except ValueError:
            pass
        return result.returncode, summary, result.stderr


def workload(summary, name):
    for w in (summary or {}).get("workloads", []):
        if w["name"] == name:
            return w
    return None


# ------------------------------------------------------------------------------------------------------------
# Set-up: exporter on a captured tree, Prometheus scraping it every second, the fakes

def start_exporter(args, env):
    tree = os.path.join(env.fixtures, "host-6.18")
    flags = [f"--path.procfs={tree}/proc", f"--path.sysfs={tree}/sys", f"--path.rootfs={tree}/root",
             "--collector.disable-defaults", "--collector.loadavg"]
    server = e2e_util.Server([os.path.abspath(args.exporter)] + flags, env.path("exporter.log"))
    PROCS.add(server.proc)
    with open(os.path.join(tree, "proc", "loadavg")) as f:
        load1 = float(f.read().split()[0])
    return server, load1


def start_prometheus(env, exporter_port):
    port = e2e_util.free_port()
    cfg = env.path("prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                f"  - job_name: topdog\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n")
    log = open(env.path("prometheus.log"), "w")
    proc = PROCS.add(subprocess.Popen(["/usr/bin/prometheus", f"--config.file={cfg}",
                                       f"--storage.tsdb.path={env.path('prom-data')}",
                                       f"--web.listen-address=127.0.0.1:{port}"],
                                      stdout=log, stderr=subprocess.STDOUT))
    url = f"http://127.0.0.1:{port}"

    def scraped():
        if proc.poll() is not None:
            raise RuntimeError("prometheus exited; see prometheus.log")
        status, answer = call("GET", url + "/api/v1/query?query=" + urllib.parse.quote('sum(node_load1{job="topdog"})'),
                              timeout=2)
        if status == 200 and isinstance(answer, dict) and answer["data"]["result"]:
            return answer["data"]["result"]
        return None
    # Prometheus applies its targets on a 5 s tick, then scrapes: bounded polling for the first sample, then for
    # a few steps of history (so the daemon reads a series, not a single point).
    e2e_util.poll(scraped, deadline_s=40, interval_s=0.2)
    promql = 'sum(node_load1{job="topdog"})'
    e2e_util.poll(lambda: True if prometheus_peak(url, promql)[1] >= MIN_POINTS else None, deadline_s=30,
                  interval_s=0.2)
    return url


def prometheus_peak(prom_url, promql, history_s=1800, step_s=None):
    """The recent peak of `promql` as the daemon reads it (query_range over the same window and step)."""
    step_s = step_s or STEP_S
    end = time.time()
    query = urllib.parse.urlencode({"query": promql, "start": f"{end - history_s:.3f}", "end": f"{end:.3f}",
                                    "step": str(step_s)})
    status, answer = call("GET", prom_url + "/api/v1/query_range?" + query)
    values = [float(v) for _, v in answer["data"]["result"][0]["values"]] if status == 200 else []
    return max(values) if values else float("nan"), len(values)


def write_kubeconfig(path, server, token):
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\n"
                f"clusters:\n- name: fake\n  cluster:\n    server: {server}\n"
                f"users:\n- name: advisor\n  user:\n    token: {token}\n"
                "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: advisor\n"
                "current-context: fake\n")


# ------------------------------------------------------------------------------------------------------------
# The checks shared by several scenarios

def check_patch_request(r, rv, dry_run, what):
    """One PATCH as the reference says the advisor sends it (shared/reference/autoscaling.md section 1)."""
    expect(r["path"] == HPA_PATH.format(ns=NS, name="web"), f"{what}: PATCH path {r['path']}")
    want_query = {"fieldManager": ["topdog-advisor"]}
    if dry_run:
        want_query["dryRun"] = ["All"]
    expect(r["query"] == want_query, f"{what}: query {r['query']} (want {want_query})")
    expect(r["headers"].get("content-type", "").split(";")[0] == "application/merge-patch+json",
           f"{what}: Content-Type {r['headers'].get('content-type')}")
    expect(r["headers"].get("authorization") == f"Bearer {KUBE_TOKEN}", f"{what}: bearer token from the kubeconfig")
    body = json.loads(r["body"])
    meta = body.get("metadata", {})
    expect(meta.get("resourceVersion") == rv, f"{what}: resourceVersion precondition {meta.get('resourceVersion')}"
                                             f" (seeded {rv})")
    expect(body.get("spec") == {"minReplicas": TARGET_MIN},
           f"{what}: spec is exactly minReplicas {TARGET_MIN} (no maxReplicas, no metrics): {body.get('spec')}")
    annotations = meta.get("annotations", {})
    expect(annotations.get(DECISION, "").startswith("raise: "), f"{what}: last-decision {annotations.get(DECISION)!r}")
    expect(f"minReplicas {SEED_MIN} -> {TARGET_MIN}" in annotations.get(DECISION, ""),
           f"{what}: last-decision names the change")
    try:
        stamp = datetime.datetime.strptime(annotations.get(CHANGE, ""), "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        expect(abs(stamp - r["time"]) < 60, f"{what}: last-change {annotations[CHANGE]} is the pass's time")
    except ValueError:
        expect(False, f"{what}: last-change is RFC 3339 with microseconds: {annotations.get(CHANGE)!r}")
    expect(annotations.get(FLOOR) == str(SEED_MIN) and annotations.get(MAXANN) == str(SEED_MAX),
           f"{what}: the user's bounds recorded ({annotations.get(FLOOR)}, {annotations.get(MAXANN)})")
    expect(MANAGED not in annotations and set(body) <= {"metadata", "spec"},
           f"{what}: nothing else in the patch: {sorted(body)} {sorted(annotations)}")


def check_list_request(requests, what):
    lists = [r for r in requests if r["method"] == "GET" and r["path"] == LIST_PATH]
    expect(len(lists) == 1 and lists[0]["query"].get("limit") == ["500"] and
           lists[0]["headers"].get("authorization") == f"Bearer {KUBE_TOKEN}",
           f"{what}: one cluster-wide LIST of HPAs with limit=500 and the token ({len(lists)})")


def unchanged(stored, seeded):
    return (stored["spec"] == seeded["spec"] and stored["metadata"]["resourceVersion"] ==
            seeded["metadata"]["resourceVersion"] and stored["metadata"].get("annotations") ==
            seeded["metadata"].get("annotations"))


# ------------------------------------------------------------------------------------------------------------
# Scenarios

def scenario_dry_run(env, kube, prom_url):
    print("== 1. dry run (default): one dryRun=All patch of the managed HPA only")
    seeded = seed_hpas(kube)
    peak, points = prometheus_peak(prom_url, 'sum(node_load1{job="topdog"})')
    expect(points >= MIN_POINTS and math.isclose(peak, env.load1), f"Prometheus serves the captured load ({peak}, {points} points)")
    status, summary, stderr = env.once(env.config(prom_url), "dry-run")
    expect(status == 0 and summary is not None, f"--once exits 0 with a JSON summary ({status}): {stderr[-500:]}")
    requests = kube.requests()
    patches = [r for r in requests if r["method"] == "PATCH"]
    expect(len(patches) == 1, f"exactly one PATCH ({len(patches)}: {[p['path'] for p in patches]})")
    if patches:
        check_patch_request(patches[0], seeded[("HorizontalPodAutoscaler", "web")]["metadata"]["resourceVersion"],
                            True, "dry run")
    check_list_request(requests, "dry run")
    expect(not any(r["path"].endswith(("/batch", "/api")) for r in requests), "unmanaged HPAs never touched")
    stored = kube.objects()
    for name in ("web", "batch", "api"):
        expect(unchanged(stored[("HorizontalPodAutoscaler", name)], seeded[("HorizontalPodAutoscaler", name)]),
               f"stored HPA {name} unchanged by a dry run")
    web = workload(summary, "web")
    expect(summary is not None and summary["ran"] and summary["patches"] == 1 and summary["errors"] == 0,
           f"summary: ran, 1 patch, 0 errors ({summary and {k: summary[k] for k in ('ran', 'patches', 'errors')}})")
    expect(summary is not None and [w["name"] for w in summary["workloads"]] == ["web"],
           "only the managed HPA is a workload")
    if web:
        want = max(SEED_MIN, min(SEED_MAX, math.ceil(peak / (env.capacity_rps * FLOOR_UTILIZATION) - 1e-9)))
        expect(want == TARGET_MIN, f"expected minReplicas from Prometheus's own answer: {want}")
        expect(web["outcome"] == "change" and web["reason"] == "raise" and web["written"],
               f"web: change/raise, written ({web['outcome']}, {web['reason']}, {web['written']})")
        expect(web["min_replicas"] == want and web["max_replicas"] == SEED_MAX,
               f"web: minReplicas {web['min_replicas']} (want {want}), maxReplicas {web['max_replicas']}")
        forecast = web["forecasts"][0] if web["forecasts"] else {"quantiles": [], "calibrated": True}
        expect(forecast["quantiles"] and all(math.isclose(q, peak, rel_tol=1e-9) for q in forecast["quantiles"])
               and not forecast["calibrated"],
               f"web: uncalibrated forecast is the recent peak {peak}: {forecast}")


def scenario_apply(env, kube, prom_url):
    print("== 2. apply: the stored HPA changes; a second pass sends nothing")
    seeded = seed_hpas(kube)
    config = env.config(prom_url, dry_run=False)
    status, summary, stderr = env.once(config, "apply-1")
    patches = kube.patches()
    expect(status == 0 and len(patches) == 1, f"apply: exit {status}, {len(patches)} PATCH: {stderr[-300:]}")
    if patches:
        check_patch_request(patches[0], seeded[("HorizontalPodAutoscaler", "web")]["metadata"]["resourceVersion"],
                            False, "apply")
    stored = kube.objects()[("HorizontalPodAutoscaler", "web")]
    seeded_web = seeded[("HorizontalPodAutoscaler", "web")]
    annotations = stored["metadata"].get("annotations", {})
    expect(stored["spec"]["minReplicas"] == TARGET_MIN and stored["spec"]["maxReplicas"] == SEED_MAX and
           stored["spec"]["metrics"] == seeded_web["spec"]["metrics"],
           f"stored: minReplicas {stored['spec']['minReplicas']}, maxReplicas and metrics kept")
    expect(stored["metadata"]["resourceVersion"] != seeded_web["metadata"]["resourceVersion"],
           "stored: a new resourceVersion")
    expect(annotations.get(MANAGED) == "true" and annotations.get(DECISION, "").startswith("raise: ") and
           CHANGE in annotations and annotations.get(FLOOR) == str(SEED_MIN),
           f"stored: opt-in kept, decision annotations added {sorted(annotations)}")
    expect(unchanged(kube.objects()[("HorizontalPodAutoscaler", "batch")], seeded[("HorizontalPodAutoscaler", "batch")]),
           "stored: the unmanaged HPA unchanged")
    kube.reset()
    status, summary, stderr = env.once(config, "apply-2")
    requests = kube.requests()
    expect(status == 0 and not [r for r in requests if r["method"] == "PATCH"],
           f"second pass: exit {status}, no PATCH (nothing differs)")
    check_list_request(requests, "second pass")
    web = workload(summary, "web")
    expect(web is not None and web["outcome"] == "hold" and web["min_replicas"] == TARGET_MIN and
           summary["patches"] == 0, f"second pass holds: {web and (web['outcome'], web['reason'])}")
    expect(kube.objects()[("HorizontalPodAutoscaler", "web")]["metadata"]["resourceVersion"] ==
           stored["metadata"]["resourceVersion"], "second pass: stored HPA untouched")


def scenario_node_pool(env, kube, do, prom_url):
    print("== 3. node pool bounds through the DigitalOcean API")
    digitalocean = (f"digitalocean:\n  token_file: {env.do_token_file}\n  api_url: {do.url}\n"
                    f"  cluster_id: {CLUSTER_ID}\n")
    workloads = f"workloads:\n  - {{namespace: {NS}, name: web, node_pool: {POOL_ID}, pods_per_node: {PODS_PER_NODE}}}\n"
    seeded_pool = pool(count=2, min_nodes=1, max_nodes=5)
    want_min = max(1, math.ceil(TARGET_MIN / PODS_PER_NODE))
    want_max = min(DROPLET_CAP, max(want_min, math.ceil(SEED_MAX / PODS_PER_NODE)))
    want_count = min(max(seeded_pool["count"], want_min), want_max)

    # Dry run: DigitalOcean has no dry run, so nothing is sent but the GET.
    seed_hpas(kube)
    do.reset()
    do.control("POST", "node_pools", [{"cluster_id": CLUSTER_ID, "node_pool": seeded_pool}])
    status, summary, stderr = env.once(env.config(prom_url, workloads=workloads, digitalocean=digitalocean), "pool-dry")
    do_requests = do.requests()
    gets = [r for r in do_requests if r["method"] == "GET"]
    expect(status == 0 and summary is not None and summary["pool_updates"] == 0,
           f"dry run: exit {status}, pool_updates {summary and summary['pool_updates']}: {stderr[-300:]}")
    expect(not [r for r in do_requests if r["method"] != "GET"], "dry run: no PUT to DigitalOcean")
    expect(len(gets) == 1 and gets[0]["path"] == f"/v2/kubernetes/clusters/{CLUSTER_ID}/node_pools/{POOL_ID}" and
           gets[0]["headers"].get("authorization") == f"Bearer {DO_TOKEN}",
           f"dry run: one GET of the pool with the token ({[(r['method'], r['path']) for r in do_requests]})")
    expect(len(kube.patches()) == 1 and kube.patches()[0]["query"].get("dryRun") == ["All"],
           "dry run: the HPA patch is a dry run too")
    expect(do.control("GET", "node_pools")[0]["node_pool"] == seeded_pool, "dry run: stored pool unchanged")

    # Apply: GET, then one PUT with the bounds for the new replicas and the other fields echoed.
    seed_hpas(kube)
    do.reset()
    do.control("POST", "node_pools", [{"cluster_id": CLUSTER_ID, "node_pool": seeded_pool}])
    status, summary, stderr = env.once(
        env.config(prom_url, dry_run=False, workloads=workloads, digitalocean=digitalocean), "pool-apply")
    puts = [r for r in do.requests() if r["method"] == "PUT"]
    expect(status == 0 and summary is not None and summary["pool_updates"] == 1 and len(puts) == 1,
           f"apply: exit {status}, one PUT ({len(puts)}), pool_updates {summary and summary['pool_updates']}")
    if puts:
        put = puts[0]
        body = json.loads(put["body"])
        expect(put["path"] == f"/v2/kubernetes/clusters/{CLUSTER_ID}/node_pools/{POOL_ID}" and
               put["headers"].get("authorization") == f"Bearer {DO_TOKEN}" and
               put["headers"].get("content-type", "").startswith("application/json"),
               f"apply: PUT path, token and JSON body ({put['path']}, {put['headers'].get('content-type')})")
        want = {"name": seeded_pool["name"], "count": want_count, "auto_scale": True, "min_nodes": want_min,
                "max_nodes": want_max, "tags": seeded_pool["tags"], "labels": seeded_pool["labels"],
                "taints": seeded_pool["taints"]}
        expect(body == want, f"apply: PUT body {body} (want {want})")
    stored = do.control("GET", "node_pools")[0]["node_pool"]
    expect((stored["min_nodes"], stored["max_nodes"], stored["count"]) == (want_min, want_max, want_count),
           f"apply: stored pool bounds {stored['min_nodes']}..{stored['max_nodes']} count {stored['count']}")
    expect(kube.objects()[("HorizontalPodAutoscaler", "web")]["spec"]["minReplicas"] == TARGET_MIN,
           "apply: the HPA is patched as well")

    # The token's Secret is optional in deploy/: a token file absent at start leaves node pools alone (warned) while
    # HPAs are still retuned; an empty one is a start-up error.
    seed_hpas(kube)
    do.reset()
    do.control("POST", "node_pools", [{"cluster_id": CLUSTER_ID, "node_pool": seeded_pool}])
    absent = digitalocean.replace(env.do_token_file, env.path("no-such-token"))
    status, summary, stderr = env.once(
        env.config(prom_url, dry_run=False, workloads=workloads, digitalocean=absent), "pool-no-token")
    expect(status == 0 and summary is not None and summary["pool_updates"] == 0 and not do.requests(),
           f"absent token: exit {status}, nothing sent to DigitalOcean ({len(do.requests())} requests)")
    expect("digitalocean token file absent" in stderr, f"absent token: warned ({stderr[-300:]})")
    expect(kube.objects()[("HorizontalPodAutoscaler", "web")]["spec"]["minReplicas"] == TARGET_MIN,
           "absent token: the HPA is still patched")
    empty = env.path("empty-token")
    open(empty, "w").close()
    status, summary, stderr = env.once(
        env.config(prom_url, dry_run=False, workloads=workloads, digitalocean=digitalocean.replace(
            env.do_token_file, empty)), "pool-empty-token")
    expect(status != 0 and "digitalocean" in stderr, f"empty token: a start-up error (exit {status})")


def scenario_faults(env, kube, prom_url):
    print("== 4. faults")
    # Prometheus unreachable: a port nobody listens on.
    seed_hpas(kube)
    closed = f"http://127.0.0.1:{e2e_util.free_port()}"
    status, summary, stderr = env.once(env.config(closed), "prom-down")
    web = workload(summary, "web")
    expect(status == 0 and summary is not None and summary["ran"], f"Prometheus down: the pass runs, exit {status}")
    expect(not kube.patches(), "Prometheus down: no PATCH")
    expect(web is not None and web["reason"] == "source_error" and web["error"] and not web["written"],
           f"Prometheus down: reason source_error ({web and (web['reason'], web['error'][:120])})")

    # No series for the demand: no data, nothing lowered or raised.
    kube.reset()
    status, summary, stderr = env.once(env.config(prom_url, demand="sum(topdog_no_such_metric)"), "no-data")
    web = workload(summary, "web")
    expect(status == 0 and not kube.patches() and web is not None and web["reason"] == "no_data",
           f"no series: no PATCH, reason no_data ({web and web['reason']})")

    # A resourceVersion conflict: the HPA is edited while the daemon's PATCH is on its way (the fake holds the
    # PATCH for a few seconds after recording it; the edit lands in that window, so the precondition fails).
    kube.reset()
    kube.faults([{"method": "PATCH", "status": 0, "delay": 3, "times": 1}])
    config = env.config(prom_url, dry_run=False)
    proc = subprocess.Popen([env.advisor, "run", "--config", config, "--once"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    PROCS.add(proc)
    e2e_util.poll(lambda: kube.patches() or None, deadline_s=20)
    edited = hpa("web", {MANAGED: "true", "edited-by": "kubectl"})
    stored_edit = kube.control("POST", "objects", [edited])[0]
    out, err = proc.communicate(timeout=60)
    with open(env.path("once-conflict.log"), "w") as f:
        f.write(err)
    try:
        summary = json.loads(out)
    except ValueError:
        summary = None
    web = workload(summary, "web")
    stored = kube.objects()[("HorizontalPodAutoscaler", "web")]
    expect(proc.returncode == 0 and summary is not None and summary["errors"] >= 1,
           f"conflict: no crash, exit {proc.returncode}, error counted ({summary and summary['errors']})")
    expect(web is not None and not web["written"] and "409" in web["error"] and "Conflict" in web["error"],
           f"conflict: the workload records the 409 ({web and web['error'][:160]})")
    expect(stored["spec"]["minReplicas"] == SEED_MIN and
           stored["metadata"]["resourceVersion"] == stored_edit["metadata"]["resourceVersion"],
           "conflict: the edited HPA is not overwritten")
    kube.reset()
    status, summary, stderr = env.once(config, "after-conflict")
    patches = kube.patches()
    expect(status == 0 and len(patches) == 1 and
           json.loads(patches[0]["body"])["metadata"]["resourceVersion"] == stored_edit["metadata"]["resourceVersion"],
           "after the conflict: the next pass patches with the new resourceVersion")
    stored = kube.objects()[("HorizontalPodAutoscaler", "web")]
    expect(stored["spec"]["minReplicas"] == TARGET_MIN and stored["metadata"]["annotations"].get("edited-by") ==
           "kubectl", "after the conflict: raised, and the other writer's annotation kept (merge patch)")

    # The API server becomes unreachable mid-reconcile: the LIST is answered, every PATCH connection is dropped
    # unanswered. (Every, not one: libcurl re-sends a request once on a fresh connection when a reused one dies
    # before any answer, which the resourceVersion precondition makes safe.)
    seed_hpas(kube)
    kube.faults([{"method": "PATCH", "close": True, "times": -1}])
    status, summary, stderr = env.once(env.config(prom_url, dry_run=False), "patch-dropped")
    web = workload(summary, "web")
    expect(status == 0 and summary is not None and summary["errors"] >= 1 and web is not None and
           not web["written"] and web["error"],
           f"connection dropped on PATCH: no crash, error recorded ({web and web['error'][:120]}; "
           f"{len(kube.patches())} PATCH sent)")
    expect(kube.objects()[("HorizontalPodAutoscaler", "web")]["spec"]["minReplicas"] == SEED_MIN,
           "connection dropped on PATCH: nothing stored")
    kube.reset()

    # The HPA list answers 500: no pass, no PATCH, non-zero exit.
    seed_hpas(kube)
    kube.faults([{"method": "GET", "path": "horizontalpodautoscalers$", "status": 500, "times": -1,
                  "body": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": "etcdserver: request timed out", "reason": "InternalError", "code": 500}}])
    status, summary, stderr = env.once(env.config(prom_url), "list-500")
    expect(status != 0, f"HPA list 500: --once exits non-zero ({status})")
    expect(not kube.patches(), "HPA list 500: no PATCH")
    expect(summary is not None and not summary["ran"] and "500" in summary["skipped_why"],
           f"HPA list 500: the summary says why ({summary and summary['skipped_why'][:120]})")
    kube.reset()

    # A wrong token: 401 on the list, no PATCH, and the token is not printed anywhere.
    wrong = env.path("kubeconfig-wrong")
    write_kubeconfig(wrong, kube.url, "not-the-token-93e1")
    status, summary, stderr = env.once(env.config(prom_url, kubeconfig=wrong), "wrong-token")
    expect(status != 0 and not kube.patches() and summary is not None and "401" in summary["skipped_why"],
           f"wrong token: exit {status}, no PATCH, 401 reported ({summary and summary['skipped_why'][:120]})")
    expect("not-the-token-93e1" not in stderr + json.dumps(summary), "wrong token: the token is not logged")
    kube.reset()

    # Prometheus behind the fault proxy: pass-through works, then garbage / cut / partial / slow answers.
    proxy = Fake("fault_proxy.py", ["--upstream", prom_url], env.path("fault-proxy.log"))
    config = env.config(proxy.url)
    slow_config = env.write_config(open(config).read().replace("  timeout: 5s\n", "  timeout: 1s\n"))
    status, summary, stderr = env.once(config, "proxy-pass")
    web = workload(summary, "web")
    queries = [r for r in proxy.requests() if r["path"] == "/api/v1/query_range"]
    expect(status == 0 and web is not None and web["reason"] == "raise" and len(kube.patches()) == 1,
           f"through the proxy: the pass raises as before ({web and web['reason']})")
    expect(len(queries) == 1 and queries[0]["query"].get("query") == ['sum(node_load1{job="topdog"})'] and
           queries[0]["query"].get("step") == [str(STEP_S)] and
           math.isclose(float(queries[0]["query"]["end"][0]) - float(queries[0]["query"]["start"][0]), 1800, abs_tol=0.002),
           f"through the proxy: one query_range of the demand, step {STEP_S} s, 30 min ({[q['query'] for q in queries]})")
    for mode, cfg, fault in (("garbage", config, {"mode": "garbage"}),
                             ("truncate", config, {"mode": "truncate"}),
                             ("warnings", config, {"mode": "warnings", "warning": "remote read: partial data"}),
                             ("slow", slow_config, {"mode": "delay", "seconds": 3})):
        kube.reset()
        proxy.reset()
        proxy.faults([dict(fault, path="query_range", times=-1)])
        started = time.monotonic()
        status, summary, stderr = env.once(cfg, f"proxy-{mode}")
        web = workload(summary, "web")
        expect(status == 0 and not kube.patches() and web is not None and web["reason"] == "source_error",
               f"Prometheus {mode}: no PATCH, reason source_error ({web and (web['reason'], web['error'][:100])}, "
               f"{time.monotonic() - started:.1f} s)")
    proxy.reset()


def daemon_metrics(url, context=None, headers=None):
    status, body = call("GET", url + "/metrics", headers=headers, context=context, timeout=3)
    if status != 200:
        return None
    return metric_samples(body.decode() if isinstance(body, bytes) else json.dumps(body))


def scenario_leader_and_tls(env, kube, prom_url):
    print("== 5. leader election: two daemons, one leads; kill -9 it, the other takes over")
    seed_hpas(kube)
    lease_duration = 3
    config = env.config(prom_url, interval="1s", extra=(
        "leader_election:\n  enabled: true\n  namespace: default\n  name: topdog-advisor\n"
        f"  lease_duration: {lease_duration}s\n  renew_deadline: 2s\n  retry_period: 500ms\n"))
    web = os.path.join(env.fixtures, "web")
    user, hashed = open(os.path.join(web, "alice.htpasswd")).read().strip().split(":", 1)
    web_config = env.path("web.yml")
    with open(web_config, "w") as f:
        f.write(f"tls_server_config:\n  cert_file: {os.path.join(web, 'server.crt')}\n"
                f"  key_file: {os.path.join(web, 'server.key')}\nbasic_auth_users:\n  {user}: '{hashed}'\n")
    auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:alice-secret-1".encode()).decode()}  # PROVENANCE.md
    tls = ssl.create_default_context(cafile=os.path.join(web, "ca.crt"))
    argv = [env.advisor, "run", "--config", config]
    a = e2e_util.Server(argv + ["--identity", "advisor-a"], env.path("daemon-a.log"))
    PROCS.add(a.proc)
    b = e2e_util.Server(argv + ["--identity", "advisor-b", f"--web.config.file={web_config}"],
                        env.path("daemon-b.log"))
    PROCS.add(b.proc)
    daemons = {"advisor-a": (a, f"http://127.0.0.1:{a.port}", None, None),
               "advisor-b": (b, f"https://127.0.0.1:{b.port}", tls, auth)}

    def leader_values():
        values = {}
        for identity, (server, url, context, headers) in daemons.items():
            if server.proc.poll() is not None:
                continue
            samples = daemon_metrics(url, context, headers)
            values[identity] = None if samples is None else sample(samples, "topdog_advisor_leader")
        return values

    def one_leader():
        values = leader_values()
        leaders = [i for i, v in values.items() if v == 1]
        followers = [i for i, v in values.items() if v == 0]
        return leaders[0] if len(leaders) == 1 and len(followers) == 1 else None
    try:
        leader = e2e_util.poll(one_leader, deadline_s=15, interval_s=0.1)
    except TimeoutError:
        expect(False, f"exactly one leader within 15 s: {leader_values()}")
        return
    follower = next(i for i in daemons if i != leader)
    expect(True, f"exactly one leader: {leader} (follower {follower})")
    lease = kube.objects().get(("Lease", "topdog-advisor"))
    expect(lease is not None and lease["spec"]["holderIdentity"] == leader and
           lease["spec"]["leaseDurationSeconds"] == lease_duration,
           f"the Lease names the leader ({lease and lease['spec']})")
    def applied(identity):
        _, url, context, headers = daemons[identity]
        samples = daemon_metrics(url, context, headers) or {}
        return sample(samples, "topdog_advisor_apply_total", mode="dry_run", result="ok", target="hpa") or 0
    try:
        e2e_util.poll(lambda: applied(leader) >= 1 or None, deadline_s=10, interval_s=0.1)
        expect(kube.patches() and all(p["query"].get("dryRun") == ["All"] for p in kube.patches()),
               f"the leader's dry-run PATCHes arrive ({len(kube.patches())})")
    except TimeoutError:
        expect(False, "the leader writes within 10 s")
    expect(applied(follower) == 0,
           f"only the leader writes (apply_total {leader}={applied(leader)}, {follower}={applied(follower)})")

    # 6. The daemon's own endpoint behind TLS + basic auth (advisor-b), checked while both run.
    print("== 6. /metrics behind TLS + basic auth, /healthz open")
    b_url = daemons["advisor-b"][1]
    expect(call("GET", b_url + "/metrics", context=tls)[0] == 401, "/metrics without credentials: 401")
    bad = {"Authorization": "Basic " + base64.b64encode(f"{user}:wrong".encode()).decode()}
    expect(call("GET", b_url + "/metrics", headers=bad, context=tls)[0] == 401, "/metrics with a wrong password: 401")
    status, body = call("GET", b_url + "/metrics", headers=auth, context=tls)
    expect(status == 200 and b"topdog_advisor_leader " in body, "/metrics with the password over TLS: 200")
    expect(call("GET", b_url + "/healthz", context=tls)[0] == 200, "/healthz without credentials: 200")
    try:
        call("GET", b_url.replace("https://", "http://") + "/healthz", timeout=3)
        expect(False, "plain HTTP refused on the TLS port")
    except (OSError, urllib.error.URLError, ValueError):
        expect(True, "plain HTTP refused on the TLS port")

    print("== 5 (cont.) failover")
    leader_server = daemons[leader][0]
    before_kill = time.time()
    killed_at = time.monotonic()
    os.kill(leader_server.proc.pid, signal.SIGKILL)
    leader_server.proc.wait()
    _, f_url, f_context, f_headers = daemons[follower]

    def follower_leads():
        samples = daemon_metrics(f_url, f_context, f_headers)
        return True if samples is not None and sample(samples, "topdog_advisor_leader") == 1 else None
    deadline = lease_duration + 5
    try:
        e2e_util.poll(follower_leads, deadline_s=deadline, interval_s=0.1)
        took = time.monotonic() - killed_at
        expect(took <= deadline, f"{follower} leads {took:.1f} s after the kill (lease {lease_duration} s)")
    except TimeoutError:
        expect(False, f"{follower} leads within {deadline} s of the kill")
    lease = kube.objects().get(("Lease", "topdog-advisor"))
    expect(lease is not None and lease["spec"]["holderIdentity"] == follower and
           lease["spec"].get("leaseTransitions", 0) >= 1,
           f"the Lease holder changed to {follower} ({lease and lease['spec']})")
    try:
        # Its own counter says it wrote (a PATCH in flight from the killed leader could arrive after the kill).
        e2e_util.poll(lambda: applied(follower) >= 1 or None, deadline_s=10, interval_s=0.1)
        took_over = datetime.datetime.strptime(lease["spec"]["acquireTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp() if lease else before_kill
        expect([p for p in kube.patches() if p["time"] >= took_over], "the new leader writes: PATCHes after the takeover")
    except TimeoutError:
        expect(False, "the new leader writes within 10 s after the takeover")
    logs = a.logs() + b.logs()
    expect(KUBE_TOKEN not in logs and "alice-secret-1" not in logs and hashed not in logs, "no secret in the logs")
    server = daemons[follower][0]
    status = server.stop()
    expect(status == 0, f"{follower} exits 0 on SIGTERM ({status})")
    lease = kube.objects().get(("Lease", "topdog-advisor"))
    expect(lease is not None and lease["spec"].get("holderIdentity", "") == "",
           f"the Lease is released on shutdown ({lease and lease['spec'].get('holderIdentity')!r})")


def scenario_embedded_restart(env, exporter_port):
    print("== 6. embedded mode: the daemon scrapes the exporter itself; a restart keeps its history (snapshot)")
    snapshot = env.path("history.snapshot")
    config = env.write_config(
        "interval: 1h\nstep: 1s\nhistory: 30m\n"
        "decision:\n  max_staleness: 30s\n"
        "embedded:\n  scrape_interval: 1s\n  snapshot_interval: 1s\n"
        f"  snapshot_file: {snapshot}\n"
        f"  targets: [{{name: exporter, url: 'http://127.0.0.1:{exporter_port}/metrics'}}]\n"
        "kubernetes: {mode: none}\n"
        "workloads:\n  - namespace: demo\n    name: load\n    demand: {metric: node_load1}\n"
        f"    capacity_rps: {env.capacity_rps!r}\n"
        "    static_hpa: {min_replicas: 2, max_replicas: 20, pods: 2}\n")
    daemon = e2e_util.Server([env.advisor, "run", "--config", config], env.path("daemon-embedded.log"))
    PROCS.add(daemon.proc)
    url = f"http://127.0.0.1:{daemon.port}"

    def snapshotted():
        samples = daemon_metrics(url)
        writes = sample(samples, "topdog_advisor_snapshot_writes_total", result="ok")
        up = sample(samples, "topdog_advisor_scrape_up", target="exporter")
        return samples if writes and writes >= 2 and up == 1 else None
    samples = e2e_util.poll(snapshotted, deadline_s=30, interval_s=0.2)
    expect(sample(samples, "topdog_advisor_history_series") == 1, "one series in the embedded history")
    status = daemon.stop()
    expect(status == 0, f"the embedded daemon exits 0 on SIGTERM ({status})")
    expect(os.path.exists(snapshot), "the snapshot file exists after shutdown")

    # A new process, one pass at once (no scrape before it): only the restored history can feed it.
    code, summary, stderr = env.once(config, "embedded-restored")
    w = workload(summary, "load")
    expect(code == 0 and w is not None, f"--once after the restart runs ({code}): {stderr[-300:]}")
    expect("history restored" in stderr and "series=1" in stderr, "the log says the history was restored")
    if w:
        expect(w["reason"] == "raise" and w["min_replicas"] == TARGET_MIN,
               f"the restored history gives the forecast and minReplicas {TARGET_MIN} ({w['reason']}, "
               f"{w['min_replicas']}, {w['detail']})")
    # Control: the same pass without the snapshot has no history at all.
    os.rename(snapshot, snapshot + ".moved")
    code, summary, _ = env.once(config, "embedded-fresh")
    w = workload(summary, "load")
    expect(w is not None and w["reason"] == "no_data", f"without the snapshot: no_data ({w and w['reason']})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--advisor", required=True)
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="topdog-advisor-e2e-") as workdir:
        env = Env(args, workdir)
        try:
            exporter, env.load1 = start_exporter(args, env)
            # One pod serves load1 / 5.5 / 0.9: the forecast peak needs 5.5 pods at 90 %, i.e. TARGET_MIN = 6.
            env.capacity_rps = env.load1 / ((TARGET_MIN - 0.5) * FLOOR_UTILIZATION)
            kube = KubeFake("fake_kube_api.py", ["--token", KUBE_TOKEN], env.path("fake-kube.log"))
            do = Fake("fake_do_api.py", ["--token", DO_TOKEN], env.path("fake-do.log"))
            env.kubeconfig = env.path("kubeconfig")
            write_kubeconfig(env.kubeconfig, kube.url, KUBE_TOKEN)
            env.do_token_file = env.path("do-token")
            with open(env.do_token_file, "w") as f:
                f.write(DO_TOKEN + "\n")
            prom_url = start_prometheus(env, exporter.port)
            print(f"set-up: exporter, Prometheus and fakes ready in {time.monotonic() - started:.1f} s")
            scenario_dry_run(env, kube, prom_url)
            scenario_apply(env, kube, prom_url)
            scenario_node_pool(env, kube, do, prom_url)
            scenario_faults(env, kube, prom_url)
            scenario_leader_and_tls(env, kube, prom_url)
            scenario_embedded_restart(env, exporter.port)
        except Exception as error:  # a broken set-up or helper: report it as a failure, with the logs kept below
            import traceback
            traceback.print_exc()
            checks.failures.append(f"test error: {error!r}")
        finally:
            PROCS.stop_all()
            if checks.failures:
                for name in sorted(os.listdir(workdir)):
                    if name.endswith(".log") and ("daemon" in name or "once" in name):
                        tail = open(os.path.join(workdir, name)).read()[-1500:]
                        print(f"--- {name} (tail)\n{tail}")
    elapsed = time.monotonic() - started
    if checks.failures:
        print(f"FAIL: {len(checks.failures)} failures in {elapsed:.1f} s")
        for failure in checks.failures:
            print("  -", failure)
        return 1
    print(f"PASS in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
