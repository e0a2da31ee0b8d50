#!/usr/bin/python3
"""The advisor's manifests (deploy/base/advisor) hold what the daemon relies on and what security asks for:
2 replicas with POD_NAME (the Lease identity) and the config mounted where the args say; a non-root, read-only,
capability-free container with probes on the daemon's /healthz and /readyz; a PodDisruptionBudget keeping one
replica; RBAC no wider than the issue allows: no ClusterRole, in each namespace of the config's
kubernetes.namespaces a Role with HPAs get/list/watch/patch and read-only pods and deployments (nothing else), and
its own Lease get/update, create in its namespace. Structural checks with PyYAML; the config itself is parsed by
the daemon's own parser in tests/advisor/config_test.cc.

Usage: deploy_advisor_test.py --deploy deploy
"""
import argparse
import os
import sys

import yaml

failures = []


def expect(condition, message):
    print(("  ok   " if condition else "  FAIL ") + message)
    if not condition:
        failures.append(message)


def load(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--deploy", required=True)
    args = parser.parse_args()
    base = os.path.join(args.deploy, "base", "advisor")
    kustomization = load(os.path.join(base, "kustomization.yaml"))[0]
    objects = []
    for resource in kustomization["resources"]:
        objects += load(os.path.join(base, resource))
    kinds = {(o["kind"], o["metadata"]["name"], o["metadata"].get("namespace")): o for o in objects}
    generated = [g["name"] for g in kustomization.get("configMapGenerator", [])]
    expect("topdog-advisor-config" in generated, "the config ConfigMap is generated from config.yaml")
    for entry in kustomization["configMapGenerator"][0]["files"]:
        expect(os.path.exists(os.path.join(base, entry.split("=")[-1])), f"config file {entry} exists")

    deployment = kinds[("Deployment", "topdog-advisor", "topdog")]
    home = deployment["metadata"]["namespace"]
    spec = deployment["spec"]["template"]["spec"]
    container = spec["containers"][0]
    expect(deployment["spec"]["replicas"] == 2, "two replicas (one leader)")
    expect(spec["serviceAccountName"] == "topdog-advisor", "runs as the topdog-advisor service account")
    expect(spec["securityContext"].get("runAsNonRoot") is True and spec["securityContext"].get("runAsUser", 0) != 0,
           "non-root")
    sc = container["securityContext"]
    expect(sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False
           and sc.get("capabilities", {}).get("drop") == ["ALL"], "read-only root, no privilege escalation, no caps")
    env = {e["name"]: e for e in container.get("env", [])}
    expect(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name",
           "POD_NAME from the downward API (the leader-election identity)")
    args_ = container["args"]
    expect(args_[0] == "run" and "--config=/etc/topdog-advisor/config.yaml" in args_, "runs the daemon on the config")
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    expect("/etc/topdog-advisor" in mounts, "the config is mounted where --config points")
    port = container["ports"][0]
    expect(any(a == f"--web.listen-address=:{port['containerPort']}" for a in args_), "listens on the declared port")
    expect(container["livenessProbe"]["httpGet"]["path"] == "/healthz"
           and container["readinessProbe"]["httpGet"]["path"] == "/readyz", "probes on /healthz and /readyz")
    expect("memory" in container["resources"].get("limits", {}), "a memory limit")

    expect(not [k for k in kinds if k[0] in ("ClusterRole", "ClusterRoleBinding")], "no ClusterRole or binding")
    config = yaml.safe_load(open(os.path.join(base, "config.yaml")))
    opted_in = config["kubernetes"].get("namespaces") or []
    expect(opted_in and home not in opted_in, f"the config lists opted-in namespaces: {opted_in}")
    read_only = ["get", "list", "watch"]
    for ns in opted_in:
        role = kinds.get(("Role", "topdog-advisor", ns))
        expect(role is not None, f"a Role topdog-advisor in opted-in namespace {ns}")
        if role:
            expect(sorted(map(repr, role["rules"])) == sorted(map(repr, [
                {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
                 "verbs": read_only + ["patch"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": read_only},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": read_only}])),
                f"Role in {ns}: HPAs get/list/watch/patch, pods and deployments read-only, nothing else")
        binding = kinds.get(("RoleBinding", "topdog-advisor", ns))
        expect(binding is not None and binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io",
                                                              "kind": "Role", "name": "topdog-advisor"},
               f"a RoleBinding to that Role in {ns}")
        if binding:
            expect(binding["subjects"] == [{"kind": "ServiceAccount", "name": "topdog-advisor", "namespace": home}],
                   f"the RoleBinding in {ns} binds the advisor's service account of {home}")
    for (kind, _, ns) in kinds:
        if kind in ("Role", "RoleBinding"):
            expect(ns == home or ns in opted_in, f"{kind} in {ns}: only its namespace or an opted-in one")
    lease_role = kinds[("Role", "topdog-advisor-lease", home)]
    for rule in lease_role["rules"]:
        expect(rule["apiGroups"] == ["coordination.k8s.io"] and rule["resources"] == ["leases"],
               "lease Role touches leases only")
        expect("*" not in rule["verbs"] and "delete" not in rule["verbs"], f"no wildcard or delete: {rule['verbs']}")
        if "update" in rule["verbs"]:
            expect(rule.get("resourceNames") == ["topdog-advisor"], "update only on its own Lease")
    subjects = kinds[("RoleBinding", "topdog-advisor-lease", home)]["subjects"]
    expect(subjects == [{"kind": "ServiceAccount", "name": "topdog-advisor", "namespace": home}],
           "the lease RoleBinding binds the advisor's service account")
    pdb = kinds.get(("PodDisruptionBudget", "topdog-advisor", home))
    expect(pdb is not None and pdb["spec"].get("minAvailable") == 1
           and pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"],
           "a PodDisruptionBudget keeps one of the two replicas")
    expect(config["leader_election"]["name"] == "topdog-advisor" and config["leader_election"]["namespace"] == home,
           "the config's Lease is the one the Role allows, in the advisor's namespace")
    if failures:
        print(f"FAIL: {len(failures)}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
