#!/usr/bin/python3
"""The rules/ gates, one after the other (ctest `rules.gates`, label `rules`):

  1. tokenizer: check_rules.PromQLNames on tricky expressions;
  2. yamllint -s -c .yamllint rules/ deploy/base/rules/ tests/rules/;
  3. promtool check rules rules/*.yml;
  4. promtool test rules rules/tests/*_test.yml;
  5. check_rules.py (annotations, runbook anchors, test coverage, metric catalogue, our names in the sources);
  6. deploy/base/rules/prometheusrules.yaml is what scripts/gen-prometheusrules.py writes now, and each
     PrometheusRule's spec passes promtool check rules.

Every gate runs even when an earlier one failed; each failure names the file, the rule or alert, and the reason
(the tools' own messages for 2-4). Exit 0 when all pass. Usage: rules_test.py [--repo DIR]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_rules  # noqa: E402

# (expression, the metric names it reads)
TOKENIZER_CASES = [
    ('sum by (host, le) (rate(foo_bucket{job="a",le="0.5"}[5m]))', {"foo_bucket"}),
    ('sum(rate(x_total[1h])) by (job) / ignoring(code) group_left sum(y_total) without (instance)',
     {"x_total", "y_total"}),
    ('a * on(instance) group_left(node, nodename) b', {"a", "b"}),
    ('{__name__="up", job="x"} == 1 or {__name__=~"ignored_.*"}', {"up"}),
    ("label_replace(m, \"hpa\", \"$1\", 'horizontalpodautoscaler', `(.+)`)", {"m"}),
    ('absent(foo{bar="}{ by (x) \\" rate(no)"}) and on() vector(1)', {"foo"}),
    ('max_over_time(x[5m:1m] offset -1h) > bool 0 unless y @ 1609746000 and z @ start()', {"x", "y", "z"}),
    ('count without (instance) (topdog:rec:ratio_rate5m) # a comment with words(x) and "quotes\n + qux',
     {"topdog:rec:ratio_rate5m", "qux"}),
    ('histogram_quantile(0.99, sum(rate(h_bucket[5m]))) > 1e-3 * Inf + 0x1F - .5', {"h_bucket"}),
    ('topk(3, sum by (route) (rate(r_total[1d])))', {"r_total"}),
    ('time() - max(ts_seconds) > 600 or absent(ts_seconds{job="a"}) and on() count(up == 1) > 0',
     {"ts_seconds", "up"}),
]
TOKENIZER_ERRORS = ['foo{bar="x"', 'foo{bar=1}', 'rate(x[5m)', '"open']


def GateTokenizer(repo):
    failures = []
    for expr, want in TOKENIZER_CASES:
        try:
            got = check_rules.PromQLNames(expr)
        except check_rules.PromQLError as e:
            failures.append(f"PromQLNames({expr!r}) raised {e}")
            continue
        if got != want:
            failures.append(f"PromQLNames({expr!r}) = {sorted(got)}, want {sorted(want)}")
    for expr in TOKENIZER_ERRORS:
        try:
            got = check_rules.PromQLNames(expr)
            failures.append(f"PromQLNames({expr!r}) = {sorted(got)}, want a PromQLError")
        except check_rules.PromQLError:
            pass
    anchors = {}
    got = [check_rules.GitHubAnchor(h, anchors) for h in ("TopdogNodeOomKill", "A b: c (d)", "A b: c (d)")]
    if got != ["topdognodeoomkill", "a-b-c-d", "a-b-c-d-1"]:
        failures.append(f"GitHubAnchor gave {got}")
    return failures


def FailedBlocks(output):
    """promtool's output without the blocks of files that passed ("Checking F" / "Unit Testing: F" + SUCCESS)."""
    blocks, block = [], []
    for line in output.splitlines():
        if line.startswith(("Checking ", "Unit Testing:")) and block:
            blocks.append(block)
            block = []
        block.append(line)
    blocks.append(block)
    kept = [b for b in blocks if not any(line.strip().startswith("SUCCESS") for line in b)]
    return "\n".join(line for b in kept for line in b if line.strip())


def Run(argv, repo):
    """Runs a tool; returns [] or its output (less what passed) as one failure."""
    result = subprocess.run(argv, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        return [f"`{' '.join(argv)}` exited {result.returncode}:\n{FailedBlocks(result.stdout)}"]
    return []


def RuleFiles(repo):
    return sorted(os.path.relpath(p, repo) for p in glob.glob(os.path.join(repo, "rules", "*.yml")))


def GateYamllint(repo):
    return Run(["yamllint", "-s", "-c", ".yamllint", "rules/", "deploy/base/rules/", "tests/rules/"], repo)


def GatePromtoolCheck(repo):
    return Run(["promtool", "check", "rules"] + RuleFiles(repo), repo)


def GatePromtoolTest(repo):
    tests = sorted(os.path.relpath(p, repo) for p in glob.glob(os.path.join(repo, "rules", "tests", "*_test.yml")))
    if not tests:
        return ["rules/tests: no *_test.yml"]
    return Run(["promtool", "test", "rules"] + tests, repo)


def GateCheckRules(repo):
    checker = check_rules.Checker(repo)
    failures = checker.Run()
    for note in checker.notes:
        print(f"  note: {note}")
    return failures


def GateGenerated(repo):
    failures = Run([sys.executable, "scripts/gen-prometheusrules.py", "--check"], repo)
    with open(os.path.join(repo, "deploy", "base", "rules", "prometheusrules.yaml")) as f:
        objects = [d for d in yaml.safe_load_all(f) if d]
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for obj in objects:
            path = os.path.join(tmp, f"{obj['metadata']['name']}.yml")
            with open(path, "w") as f:
                yaml.safe_dump(obj["spec"], f, sort_keys=False)
            paths.append(path)
        failures += Run(["promtool", "check", "rules"] + paths, repo)
    return failures


GATES = [
    ("PromQL tokenizer", GateTokenizer),
    ("yamllint", GateYamllint),
    ("promtool check rules", GatePromtoolCheck),
    ("promtool test rules", GatePromtoolTest),
    ("check_rules", GateCheckRules),
    ("generated PrometheusRules", GateGenerated),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.path.join(HERE, "..", ".."))
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    failed = []
    for name, gate in GATES:
        failures = gate(repo)
        print(f"{'ok  ' if not failures else 'FAIL'} {name}")
        for failure in failures:
            print("  " + failure.replace("\n", "\n  "))
        if failures:
            failed.append(name)
    print(f"rules gates: {len(GATES) - len(failed)} passed, {len(failed)} failed" +
          (f" ({', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
