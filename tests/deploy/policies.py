"""Policies every rendered deploy/ overlay must meet that no schema expresses (pure: objects in, failures out).

Each failure reads "<kind> <namespace>/<name>: <field path>: <reason>". Check(docs, release, external_secrets)
runs them all; tests/deploy/deploy_test.py runs it on each rendered overlay, and on broken copies to show each
policy can fail. `external_secrets`: (namespace, name) of the Secrets made outside the render (deploy/README.md's
table, created by deploy/doks/up.sh); a pod may reference only those and the ones cert-manager makes in the render.
"""
import json
import re

POD_OWNERS = {"Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job"}
# Namespaces the Helm charts create (deploy/doks/up.sh installs them with --create-namespace).
HELM_NAMESPACES = {"monitoring", "ingress-nginx", "cert-manager"}
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
# `kubectl apply` (client side) keeps the whole object in an annotation limited to 256 KiB.
APPLY_ANNOTATION_LIMIT = 262144
HPA_TARGET_TYPES = {"Utilization", "AverageValue", "Value"}
PRIVATE_REGISTRIES = ("registry.digitalocean.com/",)
# Kinds without a namespace; every other object must name one (`kubectl apply` would put it in the context's).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer", "CustomResourceDefinition",
                  "PriorityClass", "StorageClass", "IngressClass", "PersistentVolume", "ValidatingWebhookConfiguration",
                  "MutatingWebhookConfiguration", "APIService"}
PSS_LABEL = "pod-security.kubernetes.io/enforce"
# Pod Security Standards (kubernetes.io/docs/concepts/security/pod-security-standards): the volume types
# `restricted` allows, and the capabilities `baseline` allows to add.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected",
                      "secret"}
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
# Environment variable names that carry credentials: their value must come from a Secret.
SECRET_ENV = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|DSN|DATABASE_URL)",
                        re.IGNORECASE)
# Literal credentials anywhere in an object: DigitalOcean tokens, private keys, passwords in URLs, bcrypt hashes,
# Slack webhook URLs, AWS-style (DO Spaces) access key ids.
SECRET_LITERALS = [
    (re.compile(r"\bdo[por]_v1_[0-9a-f]{20,}"), "a DigitalOcean token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"), "a password in a URL"),
    (re.compile(r"\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}"), "a bcrypt hash"),
    (re.compile(r"hooks\.slack\.com/services/T[A-Z0-9]+/"), "a Slack webhook URL"),
    (re.compile(r"\b(AKIA|DO00)[A-Z0-9]{12,}"), "an access key id"),
]


def Id(doc):
    meta = doc.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{doc.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


def PodSpec(doc):
    """(pod spec, its field path) of a workload, or (None, None)."""
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind in POD_OWNERS:
        return (spec.get("template") or {}).get("spec") or {}, "spec.template.spec"
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec") or {}, \
            "spec.jobTemplate.spec.template.spec"
    if kind == "Pod":
        return spec, "spec"
    return None, None


def PodLabels(doc):
    kind = doc.get("kind")
    spec = doc.get("spec") or {}
    if kind in POD_OWNERS:
        return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if kind == "Pod":
        return (doc.get("metadata") or {}).get("labels") or {}
    return None


def Selects(selector, labels):
    """Whether a label selector (matchLabels/matchExpressions, or a Service's plain map) selects labels."""
    if not selector:
        return False
    if "matchLabels" in selector or "matchExpressions" in selector:
        for key, value in (selector.get("matchLabels") or {}).items():
            if labels.get(key) != value:
                return False
        for expr in selector.get("matchExpressions") or []:
            key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
            if op == "In" and labels.get(key) not in values:
                return False
            if op == "NotIn" and labels.get(key) in values:
                return False
            if op == "Exists" and key not in labels:
                return False
            if op == "DoesNotExist" and key in labels:
                return False
        return True
    return all(labels.get(k) == v for k, v in selector.items())


class Checker:
    def __init__(self, docs, release, external_secrets=()):
        self.docs = [d for d in docs if isinstance(d, dict)]
        self.release = release
        self.external_secrets = set(external_secrets)
        self.failures = []

    def fail(self, doc, where, reason):
        self.failures.append(f"{Id(doc)}: {where}: {reason}")

    def of_kind(self, *kinds):
        return [d for d in self.docs if d.get("kind") in kinds]

    def namespace(self, doc):
        return (doc.get("metadata") or {}).get("namespace")

    def find(self, kind, namespace, name):
        for d in self.docs:
            meta = d.get("metadata") or {}
            if d.get("kind") == kind and meta.get("name") == name and meta.get("namespace") == namespace:
                return d
        return None

    # --- containers -------------------------------------------------------------------------------------------
    def CheckContainers(self):
        for doc in self.docs:
            pod, base = PodSpec(doc)
            if pod is None:
                continue
            pod_sc = pod.get("securityContext") or {}
            if pod.get("hostPID") or pod.get("hostIPC"):
                self.fail(doc, base, "hostPID/hostIPC: the host's processes are read through a /proc mount instead")
            groups = [("containers", True), ("initContainers", False)]
            if not pod.get("containers"):
                self.fail(doc, f"{base}.containers", "no containers")
            for group, needs_probes in groups:
                for i, c in enumerate(pod.get(group) or []):
                    self.CheckContainer(doc, f"{base}.{group}[{i}]", c, pod_sc, needs_probes)
            for i, v in enumerate(pod.get("volumes") or []):
                if "hostPath" in v:
                    mounts = [m for c in pod.get("containers") or [] for m in c.get("volumeMounts") or []
                              if m.get("name") == v.get("name")]
                    if any(not m.get("readOnly") for m in mounts):
                        self.fail(doc, f"{base}.volumes[{i}]", f"hostPath volume {v.get('name')!r} mounted writable")

    def CheckContainer(self, doc, where, c, pod_sc, needs_probes):
        name = c.get("name")
        image = c.get("image") or ""
        if not PinnedImage(image):
            self.fail(doc, f"{where}.image", f"container {name}: image {image!r} is not pinned by tag or digest")
        res = c.get("resources") or {}
        for key in ("cpu", "memory"):
            if key not in (res.get("requests") or {}):
                self.fail(doc, f"{where}.resources.requests.{key}", f"container {name}: no {key} request")
        for key in ("cpu", "memory"):
            if key not in (res.get("limits") or {}):
                self.fail(doc, f"{where}.resources.limits.{key}", f"container {name}: no {key} limit")
        if needs_probes:
            for probe in ("livenessProbe", "readinessProbe"):
                if probe not in c:
                    self.fail(doc, f"{where}.{probe}", f"container {name}: no {probe}")
        named_ports = {p.get("name") for p in c.get("ports") or []}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            for handler in ("httpGet", "tcpSocket", "grpc"):
                port = ((c.get(probe) or {}).get(handler) or {}).get("port")
                if isinstance(port, str) and port not in named_ports:
                    self.fail(doc, f"{where}.{probe}.{handler}.port", f"container {name}: no port named {port!r}")
        sc = c.get("securityContext") or {}
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        if non_root is not True:
            self.fail(doc, f"{where}.securityContext.runAsNonRoot", f"container {name}: runAsNonRoot is not true")
        if user == 0:
            self.fail(doc, f"{where}.securityContext.runAsUser", f"container {name}: runs as uid 0")
        if sc.get("allowPrivilegeEscalation") is not False:
            self.fail(doc, f"{where}.securityContext.allowPrivilegeEscalation",
                      f"container {name}: allowPrivilegeEscalation is not false")
        if sc.get("privileged"):
            self.fail(doc, f"{where}.securityContext.privileged", f"container {name}: privileged")
        if sc.get("readOnlyRootFilesystem") is not True:
            self.fail(doc, f"{where}.securityContext.readOnlyRootFilesystem",
                      f"container {name}: root filesystem is writable")
        drop = ((sc.get("capabilities") or {}).get("drop")) or []
        if "ALL" not in drop:
            self.fail(doc, f"{where}.securityContext.capabilities.drop", f"container {name}: does not drop ALL")
        for i, env in enumerate(c.get("env") or []):
            if SECRET_ENV.search(env.get("name", "")) and "value" in env:
                self.fail(doc, f"{where}.env[{i}]",
                          f"container {name}: {env.get('name')} is a literal value; take it from a Secret")

    # --- Pod Security Standards of each pod's namespace --------------------------------------------------------
    def CheckPodSecurity(self):
        levels = {}
        for ns in self.of_kind("Namespace"):
            labels = (ns.get("metadata") or {}).get("labels") or {}
            level = labels.get(PSS_LABEL)
            if level not in ("privileged", "baseline", "restricted"):
                self.fail(ns, f"metadata.labels.{PSS_LABEL}", f"{level!r}: set privileged, baseline or restricted")
            levels[(ns.get("metadata") or {}).get("name")] = level
        for doc in self.docs:
            pod, base = PodSpec(doc)
            level = levels.get(self.namespace(doc))
            if pod is None or level not in ("baseline", "restricted"):
                continue
            why = f"namespace {self.namespace(doc)} enforces Pod Security {level!r}"
            for field in ("hostNetwork", "hostPID", "hostIPC"):
                if pod.get(field):
                    self.fail(doc, f"{base}.{field}", f"{why}: the API server refuses the pod")
            containers = [(f"{base}.{g}[{i}]", c) for g in ("containers", "initContainers")
                          for i, c in enumerate(pod.get(g) or [])]
            for i, v in enumerate(pod.get("volumes") or []):
                kinds = set(v) - {"name"}
                if "hostPath" in kinds or (level == "restricted" and not kinds <= RESTRICTED_VOLUMES):
                    self.fail(doc, f"{base}.volumes[{i}]", f"{why}: volume type {sorted(kinds)} not allowed")
            for where, c in containers:
                sc = c.get("securityContext") or {}
                added = set(((sc.get("capabilities") or {}).get("add")) or [])
                allowed = {"NET_BIND_SERVICE"} if level == "restricted" else BASELINE_CAPABILITIES
                if added - allowed:
                    self.fail(doc, f"{where}.securityContext.capabilities.add", f"{why}: {sorted(added - allowed)}")
                if any(p.get("hostPort") for p in c.get("ports") or []):
                    self.fail(doc, f"{where}.ports", f"{why}: hostPort")
                if level == "restricted":
                    seccomp = (sc.get("seccompProfile") or (pod.get("securityContext") or {}).get("seccompProfile")
                               or {}).get("type")
                    if seccomp not in ("RuntimeDefault", "Localhost"):
                        self.fail(doc, f"{where}.securityContext.seccompProfile",
                                  f"{why}: needs seccompProfile RuntimeDefault or Localhost")

    # --- what pods reference must exist ---------------------------------------------------------------------
    def CheckPodReferences(self):
        made_secrets = {(self.namespace(d), (d.get("spec") or {}).get("secretName")) for d in
                        self.of_kind("Certificate")}
        for doc in self.of_kind("Ingress"):  # cert-manager's ingress-shim makes these from the annotation
            for tls in (doc.get("spec") or {}).get("tls") or []:
                made_secrets.add((self.namespace(doc), tls.get("secretName")))
        for account in self.of_kind("ServiceAccount"):
            for i, secret in enumerate(account.get("imagePullSecrets") or []):
                key = (self.namespace(account), secret.get("name"))
                if self.find("Secret", *key) is None and key not in self.external_secrets:
                    self.fail(account, f"imagePullSecrets[{i}]", f"Secret {key[0]}/{key[1]} is not in the render "
                              "or deploy/README.md's Secrets table")
        for doc in self.docs:
            pod, base = PodSpec(doc)
            if pod is None:
                continue
            ns = self.namespace(doc)
            refs = []  # (field path, kind, name, optional)
            for i, v in enumerate(pod.get("volumes") or []):
                if "configMap" in v:
                    refs.append((f"{base}.volumes[{i}]", "ConfigMap", v["configMap"].get("name"),
                                 v["configMap"].get("optional")))
                if "secret" in v:
                    refs.append((f"{base}.volumes[{i}]", "Secret", v["secret"].get("secretName"),
                                 v["secret"].get("optional")))
                for j, src in enumerate((v.get("projected") or {}).get("sources") or []):
                    for kind, key in (("ConfigMap", "configMap"), ("Secret", "secret")):
                        if key in src:
                            refs.append((f"{base}.volumes[{i}].projected.sources[{j}]", kind, src[key].get("name"),
                                         src[key].get("optional")))
            for i, secret in enumerate(pod.get("imagePullSecrets") or []):
                refs.append((f"{base}.imagePullSecrets[{i}]", "Secret", secret.get("name"), False))
            # A private registry needs a pull secret: on the pod or on its ServiceAccount (DigitalOcean's
            # `registry add` attaches one to each namespace's `default` ServiceAccount only).
            images = [c.get("image") or "" for g in ("containers", "initContainers") for c in pod.get(g) or []]
            account_name = pod.get("serviceAccountName") or "default"
            account = self.find("ServiceAccount", ns, account_name)
            if any(i.startswith(PRIVATE_REGISTRIES) for i in images) and account_name != "default" and \
                    not pod.get("imagePullSecrets") and not (account or {}).get("imagePullSecrets"):
                self.fail(doc, f"{base}.serviceAccountName", f"images from a private registry but neither the pod "
                          f"nor ServiceAccount {account_name} has imagePullSecrets")
            for group in ("containers", "initContainers"):
                for i, c in enumerate(pod.get(group) or []):
                    for j, env in enumerate(c.get("env") or []):
                        source = env.get("valueFrom") or {}
                        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
                            if key in source:
                                refs.append((f"{base}.{group}[{i}].env[{j}]", kind, source[key].get("name"),
                                             source[key].get("optional")))
                    for j, env in enumerate(c.get("envFrom") or []):
                        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                            if key in env:
                                refs.append((f"{base}.{group}[{i}].envFrom[{j}]", kind, env[key].get("name"),
                                             env[key].get("optional")))
            for where, kind, name, optional in refs:
                if self.find(kind, ns, name) is not None:
                    continue
                if kind == "Secret" and ((ns, name) in made_secrets or (ns, name) in self.external_secrets):
                    continue
                if kind == "Secret" and optional:
                    continue
                source = "the render, a Certificate's secretName or deploy/README.md's Secrets table" \
                    if kind == "Secret" else "the render"
                self.fail(doc, where, f"{kind} {ns}/{name} is not in {source}")

    # --- secrets ----------------------------------------------------------------------------------------------
    def CheckSecrets(self):
        for doc in self.docs:
            if doc.get("kind") == "Secret" and (doc.get("data") or doc.get("stringData")):
                self.fail(doc, "data", "a Secret with values in the repository; deploy/doks/up.sh creates Secrets")
            text = json.dumps(doc)
            for pattern, what in SECRET_LITERALS:
                if pattern.search(text):
                    self.fail(doc, "(anywhere)", f"contains {what}")

    # --- labels the kube-prometheus-stack operator and Grafana select on ---------------------------------------
    def CheckMonitoring(self):
        for doc in self.of_kind(*MONITORING_KINDS):
            labels = (doc.get("metadata") or {}).get("labels") or {}
            if labels.get("release") != self.release:
                self.fail(doc, "metadata.labels.release",
                          f"is {labels.get('release')!r}, not {self.release!r}: kube-prometheus-stack ignores it")
        for doc in self.of_kind("ConfigMap"):
            data = doc.get("data") or {}
            dashboards = [k for k in data if k.endswith(".json")]
            labels = (doc.get("metadata") or {}).get("labels") or {}
            if dashboards and labels.get("grafana_dashboard") != "1":
                self.fail(doc, "metadata.labels.grafana_dashboard",
                          "holds dashboards but Grafana's sidecar only loads ConfigMaps labelled grafana_dashboard: \"1\"")
        for doc in self.of_kind("ServiceMonitor"):
            spec = doc.get("spec") or {}
            namespaces = ((spec.get("namespaceSelector") or {}).get("matchNames")) or [self.namespace(doc)]
            services = [s for s in self.of_kind("Service") if self.namespace(s) in namespaces and
                        Selects(spec.get("selector") or {}, (s.get("metadata") or {}).get("labels") or {})]
            if not services:
                self.fail(doc, "spec.selector", "selects no Service of the render")
                continue
            for i, ep in enumerate(spec.get("endpoints") or []):
                port = ep.get("port")
                if port and not any(p.get("name") == port for s in services for p in (s.get("spec") or {}).get(
                        "ports") or []):
                    self.fail(doc, f"spec.endpoints[{i}].port", f"no selected Service has a port named {port!r}")
        for doc in self.of_kind("PodMonitor"):
            spec = doc.get("spec") or {}
            namespaces = ((spec.get("namespaceSelector") or {}).get("matchNames")) or [self.namespace(doc)]
            pods = [w for w in self.docs if PodLabels(w) is not None and self.namespace(w) in namespaces and
                    Selects(spec.get("selector") or {}, PodLabels(w))]
            if not pods:
                self.fail(doc, "spec.selector", "selects no pods of the render")
                continue
            ports = {p.get("name") for w in pods for c in PodSpec(w)[0].get("containers") or []
                     for p in c.get("ports") or []}
            for i, ep in enumerate(spec.get("podMetricsEndpoints") or []):
                if ep.get("port") and ep["port"] not in ports:
                    self.fail(doc, f"spec.podMetricsEndpoints[{i}].port", f"no selected pod has a port named "
                              f"{ep['port']!r}")

    def MinReplicas(self, workload):
        """The fewest replicas a workload runs: its HPA's minReplicas, else spec.replicas (None: a DaemonSet)."""
        if workload.get("kind") != "Deployment" and workload.get("kind") != "StatefulSet":
            return None
        for hpa in self.of_kind("HorizontalPodAutoscaler"):
            ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
            if ref.get("kind") == workload.get("kind") and ref.get("name") == (workload.get("metadata") or {}).get(
                    "name") and self.namespace(hpa) == self.namespace(workload):
                return (hpa.get("spec") or {}).get("minReplicas", 1)
        return (workload.get("spec") or {}).get("replicas", 1)

    # --- references between objects -----------------------------------------------------------------------------
    def CheckReferences(self):
        namespaces = {(d.get("metadata") or {}).get("name") for d in self.of_kind("Namespace")} | HELM_NAMESPACES
        for doc in self.docs:
            ns = self.namespace(doc)
            if ns and ns not in namespaces:
                self.fail(doc, "metadata.namespace", f"namespace {ns!r} is neither in the render nor made by Helm")
            if not ns and doc.get("kind") not in CLUSTER_SCOPED:
                self.fail(doc, "metadata.namespace", "not set: kubectl apply would put it in the context's namespace")
            size = len(json.dumps(doc, separators=(",", ":")))
            if size > APPLY_ANNOTATION_LIMIT - 4096:
                self.fail(doc, "(object)", f"{size} bytes: too large for kubectl apply's last-applied annotation")
        for doc in self.of_kind("HorizontalPodAutoscaler"):
            spec = doc.get("spec") or {}
            ref = spec.get("scaleTargetRef") or {}
            target = self.find(ref.get("kind"), self.namespace(doc), ref.get("name"))
            if target is None:
                self.fail(doc, "spec.scaleTargetRef", f"{ref.get('kind')} {ref.get('name')} is not in the render")
            if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
                self.fail(doc, "spec.minReplicas", "above maxReplicas")
            for i, m in enumerate(spec.get("metrics") or []):
                source = m.get(m.get("type", "")[:1].lower() + m.get("type", "")[1:]) or {}
                t = (source.get("target") or {}).get("type")
                if t not in HPA_TARGET_TYPES:
                    self.fail(doc, f"spec.metrics[{i}].target.type", f"{t!r} is not one of {sorted(HPA_TARGET_TYPES)}")
                if m.get("type") == "Resource" and t == "Utilization" and target is not None:
                    resource = source.get("name")
                    pod, base = PodSpec(target)
                    for j, c in enumerate((pod or {}).get("containers") or []):
                        if resource not in ((c.get("resources") or {}).get("requests") or {}):
                            self.fail(doc, f"spec.metrics[{i}]", f"{resource} utilisation of {Id(target)} whose "
                                      f"container {c.get('name')} has no {resource} request: the HPA cannot compute it")
        for doc in self.of_kind("PodDisruptionBudget"):
            spec = doc.get("spec") or {}
            selector = spec.get("selector") or {}
            owners = [w for w in self.docs if PodLabels(w) is not None and self.namespace(w) == self.namespace(doc)
                      and Selects(selector, PodLabels(w))]
            if not owners:
                self.fail(doc, "spec.selector", "selects no pods of the render")
            for w in owners:
                replicas = self.MinReplicas(w)
                if isinstance(spec.get("minAvailable"), int) and replicas is not None and \
                        spec["minAvailable"] >= replicas:
                    self.fail(doc, "spec.minAvailable", f"{spec['minAvailable']} of {Id(w)}'s {replicas} replicas: "
                              "no pod may ever be evicted, node drains block")
        for doc in self.of_kind("Certificate"):
            ref = (doc.get("spec") or {}).get("issuerRef") or {}
            kind = ref.get("kind", "Issuer")
            if self.find(kind, self.namespace(doc) if kind == "Issuer" else None, ref.get("name")) is None:
                self.fail(doc, "spec.issuerRef", f"{kind} {ref.get('name')} is not in the render")
        for doc in self.of_kind("Service"):
            spec = doc.get("spec") or {}
            selector = spec.get("selector")
            if not selector:
                continue
            pods = [w for w in self.docs if PodLabels(w) is not None and self.namespace(w) == self.namespace(doc)
                    and Selects(selector, PodLabels(w))]
            if not pods:
                self.fail(doc, "spec.selector", "selects no pods of the render")
                continue
            named = {p.get("name") for w in pods for c in PodSpec(w)[0].get("containers") or []
                     for p in c.get("ports") or []}
            for i, port in enumerate(spec.get("ports") or []):
                target = port.get("targetPort")
                if isinstance(target, str) and target not in named:
                    self.fail(doc, f"spec.ports[{i}].targetPort", f"no selected container has a port named {target!r}")
        issuers = {(d.get("metadata") or {}).get("name") for d in self.of_kind("ClusterIssuer")}
        for doc in self.of_kind("Ingress"):
            spec = doc.get("spec") or {}
            if not spec.get("ingressClassName"):
                self.fail(doc, "spec.ingressClassName", "not set (the annotation form is deprecated)")
            issuer = ((doc.get("metadata") or {}).get("annotations") or {}).get("cert-manager.io/cluster-issuer")
            if spec.get("tls") and issuer not in issuers:
                self.fail(doc, "metadata.annotations", f"TLS but cluster-issuer {issuer!r} is not in the render")
            for i, rule in enumerate(spec.get("rules") or []):
                for j, p in enumerate(((rule.get("http") or {}).get("paths")) or []):
                    where = f"spec.rules[{i}].http.paths[{j}]"
                    if not p.get("pathType"):
                        self.fail(doc, f"{where}.pathType", "not set")
                    svc = ((p.get("backend") or {}).get("service")) or {}
                    service = self.find("Service", self.namespace(doc), svc.get("name"))
                    if service is None:
                        self.fail(doc, f"{where}.backend.service", f"Service {svc.get('name')!r} is not in the render")
                        continue
                    port = svc.get("port") or {}
                    ports = (service.get("spec") or {}).get("ports") or []
                    if not any(port.get("name") == sp.get("name") if "name" in port else
                               port.get("number") == sp.get("port") for sp in ports):
                        self.fail(doc, f"{where}.backend.service.port", f"Service {svc.get('name')} has no port {port}")

    # --- RBAC ----------------------------------------------------------------------------------------------------
    def CheckRbac(self):
        for doc in self.of_kind("Role", "ClusterRole"):
            for i, rule in enumerate(doc.get("rules") or []):
                for field in ("verbs", "resources", "apiGroups"):
                    if "*" in (rule.get(field) or []):
                        self.fail(doc, f"rules[{i}].{field}", "a wildcard")
                if "secrets" in (rule.get("resources") or []):
                    self.fail(doc, f"rules[{i}].resources", "access to Secrets")
                writes = {"create", "update", "patch", "delete", "deletecollection"} & set(rule.get("verbs") or [])
                if doc.get("kind") == "ClusterRole" and writes:
                    self.fail(doc, f"rules[{i}].verbs", f"cluster-wide {sorted(writes)}: grant writes per namespace")
        for doc in self.of_kind("RoleBinding", "ClusterRoleBinding"):
            ref = doc.get("roleRef") or {}
            ns = self.namespace(doc) if ref.get("kind") == "Role" else None
            if self.find(ref.get("kind"), ns, ref.get("name")) is None:
                self.fail(doc, "roleRef", f"{ref.get('kind')} {ref.get('name')} is not in the render")
            for i, s in enumerate(doc.get("subjects") or []):
                if s.get("kind") == "ServiceAccount" and self.find("ServiceAccount", s.get("namespace") or ns,
                                                                   s.get("name")) is None:
                    self.fail(doc, f"subjects[{i}]", f"ServiceAccount {s.get('namespace')}/{s.get('name')} is "
                              "not in the render")

    # --- the DaemonSet runs on every node ------------------------------------------------------------------------
    def CheckDaemonSets(self):
        for doc in self.of_kind("DaemonSet"):
            pod, base = PodSpec(doc)
            if not any(t.get("operator") == "Exists" and not t.get("key") for t in pod.get("tolerations") or []):
                self.fail(doc, f"{base}.tolerations", "no `operator: Exists` toleration: tainted nodes go unmonitored")

    def Run(self):
        self.CheckContainers()
        self.CheckPodSecurity()
        self.CheckPodReferences()
        self.CheckSecrets()
        self.CheckMonitoring()
        self.CheckReferences()
        self.CheckRbac()
        self.CheckDaemonSets()
        return self.failures


def PinnedImage(image):
    if "@sha256:" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.rsplit(":", 1)[1]
    return tag not in ("", "latest")


def Check(docs, release, external_secrets=()):
    return Checker(docs, release, external_secrets).Run()
