#!/usr/bin/python3
"""Fake doctl, helm, kubectl and docker for tests/deploy/doks_script_test.py, picked by the name it is run as
(the test links the four names to this file in a directory put first on PATH). Each call is appended to
$FAKE_CLI_LOG as one JSON line ({"tool", "args", "stdin"}); what exists lives in the JSON file $FAKE_CLI_STATE,
so a second run of deploy/doks/up.sh finds what the first created. Answers follow the real tools' formats for the
calls up.sh makes: doctl's `--format A,B --no-header` columns, its 404 errors (exit 1), kubectl's NotFound, the
YAML of `kubectl create ... --dry-run=client -o yaml`. Anything else is refused (exit 2), so a new call in up.sh
needs a fake here first. `kubectl apply -k` renders with a real kustomize (the command in $FAKE_KUSTOMIZE, JSON)
so the objects the overlay holds are what the state records.
"""
import base64
import fcntl
import json
import os
import subprocess
import sys
import uuid

import yaml

TOOL = os.path.basename(sys.argv[0])
ARGS = sys.argv[1:]
KUBERNETES_VERSIONS = ["1.33.1-do.0", "1.32.5-do.0", "1.31.9-do.0"]


def fail(message, code=1):
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.exit(code)


def unsupported():
    fail(f"fake {TOOL}: unsupported call: {' '.join(ARGS)}", 2)


def log_call(stdin_text):
    with open(os.environ["FAKE_CLI_LOG"], "a") as f:
        f.write(json.dumps({"tool": TOOL, "args": ARGS, "stdin": stdin_text}) + "\n")


class State:
    """The JSON state file, locked for the whole call (`kubectl create | kubectl apply` run at the same time)."""

    def __enter__(self):
        self.file = open(os.environ["FAKE_CLI_STATE"], "a+")
        fcntl.flock(self.file, fcntl.LOCK_EX)
        self.file.seek(0)
        text = self.file.read()
        self.data = json.loads(text) if text.strip() else {}
        for key, empty in (("clusters", []), ("databases", []), ("registry", None), ("repositories", {}),
                           ("contexts", []), ("docker_logins", 0), ("images", []), ("helm_repos", {}),
                           ("releases", {}), ("objects", {})):
            self.data.setdefault(key, empty)
        return self.data

    def __exit__(self, *exc):
        self.file.seek(0)
        self.file.truncate()
        json.dump(self.data, self.file, indent=1, sort_keys=True)
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


def take(args, name, default=None):
    """Removes option `name` (`--x v` or `--x=v`) from args and returns its value."""
    for i, a in enumerate(args):
        if a == name and i + 1 < len(args):
            value = args[i + 1]
            del args[i:i + 2]
            return value
        if a.startswith(name + "="):
            del args[i]
            return a.split("=", 1)[1]
    return default


def take_all(args, name):
    values = []
    while True:
        value = take(args, name)
        if value is None:
            return values
        values.append(value)


def flag(args, name):
    for form in (name, name + "=true"):
        if form in args:
            args.remove(form)
            return True
    return False


# ---------------------------------------------------------------------------------------------------------- doctl
def table(rows, args, columns):
    """doctl's output: the --format columns, a header unless --no-header, tab-aligned."""
    fmt = take(args, "--format")
    no_header = flag(args, "--no-header")
    names = fmt.split(",") if fmt else columns
    for n in names:
        if n not in columns:
            fail(f"Error: unknown column {n!r}")
    lines = [] if no_header else [names]
    lines += [[str(row[n]) for n in names] for row in rows]
    if lines:
        widths = [max(len(line[i]) for line in lines) for i in range(len(names))]
        for line in lines:
            print("    ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def not_found(path):
    fail(f'Error: GET https://api.digitalocean.com/v2/{path}: 404 (request "{uuid.uuid4()}") '
         "The resource you were accessing could not be found.")


def doctl(state):
    a = list(ARGS)
    take(a, "--context")
    if a[:2] == ["account", "get"]:
        return table([{"Email": "team@example.com", "Status": "active"}], a[2:], ["Email", "Status"])
    if a[:3] == ["kubernetes", "options", "versions"]:
        return table([{"Slug": v, "KubernetesVersion": v.split("-")[0]} for v in KUBERNETES_VERSIONS], a[3:],
                     ["Slug", "KubernetesVersion"])
    if a[:2] == ["kubernetes", "cluster"]:
        return doctl_cluster(state, a[2:])
    if a[:1] == ["registry"]:
        return doctl_registry(state, a[1:])
    if a[:1] == ["databases"]:
        return doctl_databases(state, a[1:])
    unsupported()


def find(items, key):
    return next((x for x in items if key in (x["id"], x["name"])), None)


def doctl_cluster(state, a):
    columns = ["ID", "Name", "Region", "Version", "Status", "NodePools"]
    if a[:1] == ["list"]:
        return table([c["row"] for c in state["clusters"]], a[1:], columns)
    if a[:1] == ["create"] and len(a) > 1:
        name, rest = a[1], a[2:]
        region, version = take(rest, "--region"), take(rest, "--version", "latest")
        pools = take_all(rest, "--node-pool")
        flag(rest, "--wait")
        if not region or not pools:
            fail("Error: --region and --node-pool are required here")
        if version != "latest" and version not in KUBERNETES_VERSIONS:
            fail(f"Error: POST https://api.digitalocean.com/v2/kubernetes/clusters: 422 invalid version slug {version}")
        if any(c["name"] == name for c in state["clusters"]):
            fail("Error: POST https://api.digitalocean.com/v2/kubernetes/clusters: 422 a cluster with this name "
                 "already exists")
        parsed = []
        for spec in pools:
            pool = dict(kv.split("=", 1) for kv in spec.split(";"))
            pool["id"] = str(uuid.uuid4())
            unknown = set(pool) - {"id", "name", "size", "count", "tag", "label", "taint", "auto-scale", "min-nodes",
                                   "max-nodes"}
            if unknown or not {"name", "size", "count"} <= set(pool):
                fail(f"Error: bad --node-pool {spec!r}")
            parsed.append(pool)
        cid = str(uuid.uuid4())
        cluster = {"id": cid, "name": name, "region": region, "pools": parsed, "registry": False,
                   "row": {"ID": cid, "Name": name, "Region": region, "Version": version, "Status": "running",
                           "NodePools": " ".join(p["name"] for p in parsed)}}
        state["clusters"].append(cluster)
        state["contexts"].append(f"do-{region}-{name}")
        return table([cluster["row"]], rest, columns)
    if a[:2] == ["kubeconfig", "save"] and len(a) > 2:
        cluster = find(state["clusters"], a[2]) or not_found(f"kubernetes/clusters/{a[2]}")
        context = f"do-{cluster['region']}-{cluster['name']}"
        if context not in state["contexts"]:
            state["contexts"].append(context)
        sys.stderr.write(f"Notice: Adding cluster credentials to kubeconfig file found in \"~/.kube/config\"\n"
                         f"Notice: Setting current-context to {context}\n")
        return
    if a[:2] == ["node-pool", "list"] and len(a) > 2:
        cluster = find(state["clusters"], a[2]) or not_found(f"kubernetes/clusters/{a[2]}")
        return table([{"ID": p["id"], "Name": p["name"], "Size": p["size"], "Count": p["count"]}
                      for p in cluster["pools"]], a[3:], ["ID", "Name", "Size", "Count"])
    if a[:2] == ["registry", "add"] and len(a) > 2:
        cluster = find(state["clusters"], a[2]) or not_found(f"kubernetes/clusters/{a[2]}")
        if not state["registry"]:
            not_found("registry")
        cluster["registry"] = True
        return
    unsupported()


def doctl_registry(state, a):
    columns = ["Name", "Endpoint", "Region"]
    if a[:1] == ["get"]:
        if not state["registry"]:
            not_found("registry")
        return table([state["registry"]], a[1:], columns)
    if a[:1] == ["create"] and len(a) > 1:
        rest = a[2:]
        tier, region = take(rest, "--subscription-tier"), take(rest, "--region")
        if state["registry"]:
            fail("Error: POST https://api.digitalocean.com/v2/registry: 409 this account already has a registry")
        if tier not in ("starter", "basic", "professional"):
            fail(f"Error: invalid subscription tier {tier!r}")
        state["registry"] = {"Name": a[1], "Endpoint": f"registry.digitalocean.com/{a[1]}", "Region": region}
        return table([state["registry"]], rest, columns)
    if a[:1] == ["login"]:
        if not state["registry"]:
            not_found("registry")
        state["docker_logins"] += 1
        sys.stderr.write("Logging Docker in to registry.digitalocean.com\n")
        return
    if a[:2] == ["repository", "list-tags"] and len(a) > 2:
        if not state["registry"] or a[2] not in state["repositories"]:
            not_found(f"registry/{(state['registry'] or {}).get('Name', 'x')}/repositories/{a[2]}/tags")
        return table([{"Tag": t} for t in state["repositories"][a[2]]], a[3:], ["Tag"])
    unsupported()


def doctl_databases(state, a):
    columns = ["ID", "Name", "Engine", "Version", "Region", "Status", "Size"]
    if a[:1] == ["list"]:
        return table([d["row"] for d in state["databases"]], a[1:], columns)
    if a[:1] == ["create"] and len(a) > 1:
        rest = a[2:]
        engine, version = take(rest, "--engine"), take(rest, "--version")
        region, size, nodes = take(rest, "--region"), take(rest, "--size"), take(rest, "--num-nodes")
        flag(rest, "--wait")
        if engine not in ("pg", "mysql", "redis", "mongodb", "kafka", "opensearch", "valkey"):
            fail(f"Error: invalid engine {engine!r}")
        if not (nodes or "1").isdigit() or not version or not region or not size:
            fail("Error: --num-nodes must be a number; --version, --region and --size are required here")
        if any(d["name"] == a[1] for d in state["databases"]):
            fail("Error: POST https://api.digitalocean.com/v2/databases: 422 name is already in use")
        did = str(uuid.uuid4())
        db = {"id": did, "name": a[1], "firewall": [], "dbs": ["defaultdb"], "password": "AVNS_" + uuid.uuid4().hex,
              "row": {"ID": did, "Name": a[1], "Engine": engine, "Version": version, "Region": region,
                      "Status": "online", "Size": size}}
        state["databases"].append(db)
        return table([db["row"]], rest, columns)
    if a[:1] == ["connection"] and len(a) > 1:
        db = find(state["databases"], a[1]) or not_found(f"databases/{a[1]}")
        rest = a[2:]
        private = flag(rest, "--private")
        host = ("private-" if private else "") + db["name"] + "-do-user-1-0.db.ondigitalocean.com"
        uri = f"postgresql://doadmin:{db['password']}@{host}:25060/defaultdb?sslmode=require"
        return table([{"URI": uri, "Host": host, "Port": 25060, "User": "doadmin", "Password": db["password"],
                       "Database": "defaultdb"}], rest, ["URI", "Database", "Host", "Port", "User", "Password"])
    if len(a) < 3:
        unsupported()
    db = find(state["databases"], a[2]) or not_found(f"databases/{a[2]}")
    if a[:2] == ["firewalls", "list"]:
        return table(db["firewall"], a[3:], ["UUID", "ClusterUUID", "Type", "Value"])
    if a[:2] == ["firewalls", "append"]:
        rule = take(a, "--rule")
        kind, _, value = (rule or "").partition(":")
        if kind not in ("ip_addr", "droplet", "k8s", "tag", "app") or not value:
            fail(f"Error: bad --rule {rule!r}")
        db["firewall"].append({"UUID": str(uuid.uuid4()), "ClusterUUID": db["id"], "Type": kind, "Value": value})
        return
    if a[:2] == ["db", "list"]:
        return table([{"Name": n} for n in db["dbs"]], a[3:], ["Name"])
    if a[:2] == ["db", "create"] and len(a) > 3:
        if a[3] in db["dbs"]:
            fail("Error: 422 database already exists")
        db["dbs"].append(a[3])
        return
    unsupported()


# --------------------------------------------------------------------------------------------------------- docker
def docker(state):
    a = list(ARGS)
    if a[:1] == ["info"]:
        print("28.2.2")
        return
    if a[:1] == ["build"]:
        rest = a[1:]
        target, tag = take(rest, "--target"), take(rest, "--tag")
        take(rest, "--platform")
        take_all(rest, "--build-arg")
        if len(rest) != 1 or not tag:
            unsupported()
        dockerfile = os.path.join(rest[0], "Dockerfile")
        if not os.path.exists(dockerfile):
            fail(f"ERROR: failed to solve: failed to read dockerfile: open {dockerfile}: no such file or directory")
        stages = [line.split()[-1].lower() for line in open(dockerfile)
                  if line.upper().startswith("FROM ") and " AS " in line.upper()]
        if target and target not in stages:
            fail(f"ERROR: failed to solve: target stage \"{target}\" could not be found")
        state["images"].append(tag)
        return
    if a[:1] == ["push"] and len(a) == 2:
        image = a[1]
        if image not in state["images"]:
            fail(f"An image does not exist locally with the tag: {image.rsplit(':', 1)[0]}")
        registry = state["registry"] or {}
        prefix = f"registry.digitalocean.com/{registry.get('Name')}/"
        if not image.startswith(prefix) or not state["docker_logins"]:
            fail("unauthorized: authentication required")
        repo, tag = image[len(prefix):].rsplit(":", 1)
        tags = state["repositories"].setdefault(repo, [])
        if tag not in tags:
            tags.append(tag)
        return
    unsupported()


# ----------------------------------------------------------------------------------------------------------- helm
def helm(state):
    a = list(ARGS)
    if a[:2] == ["repo", "add"] and len(a) >= 4:
        state["helm_repos"][a[2]] = a[3]
        print(f'"{a[2]}" has been added to your repositories')
        return
    if a[:2] == ["repo", "update"]:
        for name in a[2:]:
            if name not in state["helm_repos"]:
                fail(f"Error: no repositories found matching '[{name}]'.  Nothing will be updated")
        return
    if a[:2] == ["upgrade", "--install"] and len(a) >= 4:
        release, chart, rest = a[2], a[3], a[4:]
        version, namespace = take(rest, "--version"), take(rest, "--namespace")
        context, values = take(rest, "--kube-context"), take_all(rest, "--values")
        if chart.split("/")[0] not in state["helm_repos"]:
            fail(f'Error: repo {chart.split("/")[0]} not found')
        if context not in state["contexts"]:
            fail(f'Error: Kubernetes cluster unreachable: context "{context}" does not exist')
        for path in values:
            with open(path) as f:
                yaml.safe_load(f)
        key = f"{namespace}/{release}"
        old = state["releases"].get(key, {"revision": 0})
        state["releases"][key] = {"chart": chart, "version": version, "values": values,
                                  "revision": old["revision"] + 1}
        print(f'Release "{release}" has been upgraded. Happy Helming!' if old["revision"] else
              f'Release "{release}" does not exist. Installing it now.')
        return
    unsupported()


# -------------------------------------------------------------------------------------------------------- kubectl
def object_key(doc, namespace):
    meta = doc.get("metadata", {})
    ns = "" if doc["kind"] in ("Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer") else \
        meta.get("namespace", namespace or "default")
    return f"{ns}/{doc['kind']}/{meta['name']}"


def kubectl(state, stdin_text):
    a = list(ARGS)
    if a[:1] == ["version"]:
        print(json.dumps({"clientVersion": {"major": "1", "minor": "32", "gitVersion": "v1.32.4"}}))
        return
    context, namespace = take(a, "--context"), take(a, "-n") or take(a, "--namespace")
    if context not in state["contexts"]:
        fail(f'error: context "{context}" does not exist')
    if a[:1] == ["create"] and take(a, "--dry-run") == "client" and take(a, "-o") == "yaml":
        if a[1:2] == ["namespace"] and len(a) == 3:
            doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": a[2]}}
        elif a[1:3] == ["secret", "generic"] and len(a) >= 4:
            data = {}
            for source in take_all(a, "--from-file"):
                key, _, path = source.rpartition("=")
                paths = [os.path.join(path, n) for n in sorted(os.listdir(path))] if os.path.isdir(path) else [path]
                for p in paths:
                    if os.path.isfile(p):
                        with open(p, "rb") as f:
                            data[key or os.path.basename(p)] = base64.b64encode(f.read()).decode()
            for literal in take_all(a, "--from-literal"):
                key, _, value = literal.partition("=")
                data[key] = base64.b64encode(value.encode()).decode()
            if len(a) != 4:
                unsupported()
            doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": a[3], "namespace": namespace},
                   "data": data}
        else:
            unsupported()
        sys.stdout.write(yaml.safe_dump(doc))
        return
    if a[:1] == ["apply"]:
        source = take(a, "-f")
        directory = take(a, "-k")
        if source == "-":
            docs = list(yaml.safe_load_all(stdin_text))
        elif directory:
            render = json.loads(os.environ["FAKE_KUSTOMIZE"])  # ["kubectl", "kustomize"] or [KUSTOMIZE, "build"]
            out = subprocess.run(render + [directory], capture_output=True, text=True)
            if out.returncode:
                fail(out.stderr)
            docs = list(yaml.safe_load_all(out.stdout))
        else:
            unsupported()
        for doc in filter(None, docs):
            key = object_key(doc, namespace)
            verb = "configured" if key in state["objects"] else "created"
            state["objects"][key] = doc
            print(f"{doc['kind'].lower()}/{doc['metadata']['name']} {verb}")
        return
    if a[:2] == ["get", "secret"] and take(a, "-o") == "name" and len(a) == 3:
        if f"{namespace}/Secret/{a[2]}" not in state["objects"]:
            fail(f'Error from server (NotFound): secrets "{a[2]}" not found')
        print(f"secret/{a[2]}")
        return
    if a[:2] == ["rollout", "status"] and take(a, "--timeout") and len(a) == 3:
        kind, name = a[2].split("/")
        kinds = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet"}
        if f"{namespace}/{kinds.get(kind)}/{name}" not in state["objects"]:
            fail(f'Error from server (NotFound): {kind}s.apps "{name}" not found')
        print(f'{kind} "{name}" successfully rolled out')
        return
    unsupported()


def main():
    stdin_text = sys.stdin.read() if TOOL == "kubectl" and "-f" in ARGS and "-" in ARGS else None
    log_call(stdin_text)
    tools = {"doctl": doctl, "docker": docker, "helm": helm, "kubectl": lambda state: kubectl(state, stdin_text)}
    if TOOL not in tools:
        unsupported()
    with State() as state:
        tools[TOOL](state)


if __name__ == "__main__":
    main()
