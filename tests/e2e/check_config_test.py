#!/usr/bin/python3
"""`topdog-exporter --check-config` and `topdog-advisor run --check-config` (README "Flags" and "run"): the
shipped configs pass, with a web config, on a machine without /host/proc or the pod's Secrets; each kind of
mistake fails with exit status 1 and an error naming it (unknown key, bad duration, bad YAML, unknown collector
flag, bad bcrypt hash, a bad rule file, a key that does not match its certificate). Every bad case is one edit of
a config that passes (the edit is asserted to have happened), so a case fails for its own reason only. Check mode
neither listens nor connects: each run must finish within 30 s (it takes milliseconds).

Usage: check_config_test.py --exporter BIN --advisor BIN --deploy deploy --fixtures tests/fixtures
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import e2e_util  # noqa: E402

checks = e2e_util.Checks()
# A bcrypt hash from tests/fixtures/web/alice.htpasswd (PROVENANCE.md there).
ALICE_HASH = "$2y$10$McizE5m/j3t79sE70fdGN.kDJrgBUJRenWRafUoqW2EnEOGYHKni."


def run(argv):
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    return result.returncode, result.stdout, result.stderr


def write(directory, name, text):
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def edited(text, old, new):
    """`text` with `old` replaced once: the edit must apply, or the bad case would test nothing."""
    if text.count(old) != 1:
        raise SystemExit(f"test setup: {old!r} occurs {text.count(old)} times, want once")
    return text.replace(old, new)


def expect_ok(name, argv, stdout_has=()):
    status, out, err = run(argv)
    checks.expect(status == 0, f"{name}: exit status {status}, want 0 (stderr: {err.strip()})")
    checks.expect(out.startswith("config OK"), f"{name}: stdout starts with 'config OK': {out!r}")
    for text in stdout_has:
        checks.expect(text in out, f"{name}: stdout has {text!r}: {out!r}")
    checks.expect("start-up failed" not in err, f"{name}: no error logged: {err!r}")
    print(f"  case {name}: {out.splitlines()[0] if out else ''}")


def expect_fail(name, argv, error_has, secret=None):
    status, out, err = run(argv)
    checks.expect(status == 1, f"{name}: exit status {status}, want 1 (stdout {out!r}, stderr {err!r})")
    checks.expect("config OK" not in out, f"{name}: no 'config OK' on stdout: {out!r}")
    for text in error_has:
        checks.expect(text in err, f"{name}: stderr names the problem ({text!r}): {err.strip()!r}")
    if secret is not None:
        checks.expect(secret not in err + out, f"{name}: the secret is not echoed")
    print(f"  case {name}: {err.strip().splitlines()[-1] if err.strip() else ''}")


def exporter_cases(exporter, deploy, web_dir, tmp):
    shipped = open(os.path.join(deploy, "base", "exporter", "exporter.yaml")).read()
    # As in the DaemonSet: the host's trees under /host (absent here).
    base = [exporter, "--check-config", "--path.procfs=/host/proc", "--path.sysfs=/host/sys",
            "--path.rootfs=/host/root"]
    good_web = write(tmp, "exporter/web.yml",
                     f"tls_server_config:\n  cert_file: {web_dir}/server.crt\n  key_file: {web_dir}/server.key\n"
                     f"basic_auth_users:\n  alice: '{ALICE_HASH}'\n")

    def config(name, text):
        return "--config.file=" + write(tmp, f"exporter/{name}.yaml", text)

    expect_ok("exporter shipped config + web config",
              base + [config("good", shipped), "--web.config.file=" + good_web],
              ["accesslog,backend_probe", "tls=true basic_auth_users=1"])
    absent_tls = write(tmp, "exporter/web-secret.yml",
                       "tls_server_config:\n  cert_file: /etc/topdog-tls/tls.crt\n  key_file: /etc/topdog-tls/tls.key\n")
    expect_ok("exporter web config with TLS files mounted at run time",
              base + [config("good", shipped), "--web.config.file=" + absent_tls],
              ["not checked (absent on this machine): /etc/topdog-tls/tls.crt"])

    expect_fail("exporter config: unknown key",
                base + [config("unknown-key", edited(shipped, "    format: ingress\n",
                                                     "    format: ingress\n    formatt: json\n"))],
                ["--config.file", "collector.accesslog.formatt: no such flag"])
    expect_fail("exporter config: bad duration",
                base + [config("bad-duration", edited(shipped, "probe-timeout: 3s", "probe-timeout: 3q"))],
                ["--collector.backend.probe-timeout", "3q"])
    expect_fail("exporter config: bad YAML",
                base + [config("bad-yaml", edited(shipped, "    format: ingress\n", "    format: [ingress\n"))],
                ["--config.file", "line "])
    expect_fail("exporter config: unknown collector",
                base + [config("unknown-collector", shipped + "collector.nosuch: true\n")],
                ["collector.nosuch: no such flag"])
    expect_fail("exporter: unknown collector flag", base + [config("good", shipped), "--collector.nosuch"],
                ["--collector.nosuch"])
    expect_fail("exporter: --check-config is not a config-file key",
                base + [config("check-key", shipped + "check-config: true\n")], ["check-config: no such flag"])
    # Caught only by building the collector, as a start does.
    expect_fail("exporter: a collector's bad regex flag",
                base + [config("good", shipped), "--collector.netdev.device-include=("],
                ["collector netdev", "--collector.netdev.device-include"])
    bad_hash = "$2y$10$tooshort"
    bad_web = write(tmp, "exporter/web-bad-hash.yml", f"basic_auth_users:\n  alice: '{bad_hash}'\n")
    expect_fail("exporter web config: bad bcrypt hash",
                base + [config("good", shipped), "--web.config.file=" + bad_web],
                ["alice: not a bcrypt hash"], secret=bad_hash)
    mismatch = write(tmp, "exporter/web-mismatch.yml",
                     f"tls_server_config:\n  cert_file: {web_dir}/server.crt\n  key_file: {web_dir}/client.key\n")
    expect_fail("exporter web config: key does not match the certificate",
                base + [config("good", shipped), "--web.config.file=" + mismatch], ["does not match the certificate"])
    unknown_web = write(tmp, "exporter/web-unknown.yml", "basic_auth_user:\n  alice: x\n")
    expect_fail("exporter web config: unknown key", base + ["--web.config.file=" + unknown_web],
                ["basic_auth_user"])
    return good_web


def advisor_cases(advisor, deploy, good_web, tmp):
    base_config = open(os.path.join(deploy, "base", "advisor", "config.yaml")).read()
    doks_config = open(os.path.join(deploy, "overlays", "doks", "advisor-config.yaml")).read()

    def run_args(name, text, *more):
        return [advisor, "run", "--check-config", "--config=" + write(tmp, f"advisor/{name}.yaml", text)] + list(more)

    expect_ok("advisor base config + web config", run_args("base", base_config, "--web.config.file=" + good_web),
              ["prometheus", "kubernetes in_cluster", "tls=true basic_auth_users=1"])
    expect_ok("advisor DOKS config (token Secret mounted at run time)", run_args("doks", doks_config),
              ["not checked (absent on this machine): /var/run/secrets/digitalocean/token"])
    empty_token = write(tmp, "advisor/token", "\n")
    expect_fail("advisor: a present but empty DigitalOcean token",
                run_args("doks-empty-token", edited(doks_config, "/var/run/secrets/digitalocean/token", empty_token)),
                ["digitalocean", "is empty"])

    expect_fail("advisor config: unknown key", run_args("unknown-key", edited(base_config, "step: 1m", "stepp: 1m")),
                ["stepp"])
    expect_fail("advisor config: bad duration",
                run_args("bad-duration", edited(base_config, "interval: 5m", "interval: 5q")), ["interval", "5q"])
    expect_fail("advisor config: bad YAML",
                run_args("bad-yaml", edited(base_config, "namespaces: [shop]", "namespaces: [shop")), ["not YAML"])
    bad_hash = "plaintext-password"
    bad_web = write(tmp, "advisor/web-bad-hash.yml", f"basic_auth_users:\n  alice: {bad_hash}\n")
    expect_fail("advisor web config: bad bcrypt hash",
                run_args("base", base_config, "--web.config.file=" + bad_web), ["alice: not a bcrypt hash"],
                secret=bad_hash)

    # Rule files: relative to the config file; a glob and a literal path absent here (mounted at run time).
    write(tmp, "advisor/rules/good.yml",
          "groups:\n- name: topdog\n  rules:\n  - alert: TargetDown\n    expr: up == 0\n    for: 5m\n")
    with_rules = base_config + "rules:\n  files: [rules/*.yml, /etc/topdog-rules/absent.yml]\n"
    expect_ok("advisor config with rule files", run_args("rules", with_rules),
              ["rules (1 groups)", "not checked (absent on this machine): /etc/topdog-rules/absent.yml"])
    write(tmp, "advisor/rules/bad.yml",
          "groups:\n- name: broken\n  rules:\n  - alert: Slow\n    expr: up == 0\n    for: 5x\n")
    expect_fail("advisor rule file: bad duration", run_args("rules", with_rules), ["rules:", "bad.yml", "5x"])
    expect_fail("advisor: --check-config excludes --once", run_args("base", base_config, "--once"),
                ["--check-config"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--advisor", required=True)
    parser.add_argument("--deploy", required=True)
    parser.add_argument("--fixtures", required=True)
    args = parser.parse_args()
    for path in ("/host/proc", "/var/run/secrets/digitalocean/token"):
        if os.path.exists(path):
            print(f"note: {path} exists here; the 'absent on this machine' cases assume it does not")
    web_dir = os.path.abspath(os.path.join(args.fixtures, "web"))
    with tempfile.TemporaryDirectory() as tmp:
        good_web = exporter_cases(args.exporter, args.deploy, web_dir, tmp)
        advisor_cases(args.advisor, args.deploy, good_web, tmp)
    if checks.failures:
        print(f"{len(checks.failures)} failure(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
