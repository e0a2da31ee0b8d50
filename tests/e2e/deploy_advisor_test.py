#!/usr/bin/python3
"""The advisor's manifests (deploy/base/advisor) hold what the daemon relies on and what security asks for:
2 replicas with POD_NAME (the Lease identity) and the config mounted where the args say; a non-root, read-only,
capability-free container with probes on the daemon's /healthz and /readyz; RBAC no wider than the calls the
daemon makes (HPAs get/list/patch; its own Lease get/update, create). Structural checks with PyYAML; the config
itself is parsed by the daemon's own parser in tests/advisor/config_test.cc.

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
    kinds = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    generated = [g["name"] for g in kustomization.get("configMapGenerator", [])]
    expect("topdog-advisor-config" in generated, "the config ConfigMap is generated from config.yaml")
    for entry in kustomization["configMapGenerator"][0]["files"]:
        expect(os.path.exists(os.path.join(base, entry.split("=")[-1])), f"config file {entry} exists")

    deployment = kinds[("Deployment", "topdog-advisor")]
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

    cluster_role = kinds[("ClusterRole", "topdog-advisor")]
    rules = cluster_role["rules"]
    expect(rules == [{"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
                      "verbs": ["get", "list", "patch"]}], "ClusterRole: HPAs get/list/patch only")
    lease_role = kinds[("Role", "topdog-advisor-lease")]
    for rule in lease_role["rules"]:
        expect(rule["apiGroups"] == ["coordination.k8s.io"] and rule["resources"] == ["leases"],
               "lease Role touches leases only")
        expect("*" not in rule["verbs"] and "delete" not in rule["verbs"], f"no wildcard or delete: {rule['verbs']}")
        if "update" in rule["verbs"]:
            expect(rule.get("resourceNames") == ["topdog-advisor"], "update only on its own Lease")
    for kind, name in (("ClusterRoleBinding", "topdog-advisor"), ("RoleBinding", "topdog-advisor-lease")):
        subjects = kinds[(kind, name)]["subjects"]
        expect(subjects[0]["name"] == "topdog-advisor", f"{kind} binds the advisor's service account")
    config = yaml.safe_load(open(os.path.join(base, "config.yaml")))
    expect(config["leader_election"]["name"] == "topdog-advisor" and config["leader_election"]["namespace"] ==
           kustomization["namespace"], "the config's Lease is the one the Role allows, in the namespace")
    if failures:
        print(f"FAIL: {len(failures)}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
