#!/usr/bin/python3
"""Consistency checks of rules/ that promtool does not make (python3 + python3-yaml only).

- every alert has labels.severity (page|ticket|info) and annotations summary, description, runbook_url; the
  runbook_url points into rules/runbooks.md and its anchor is a heading there (GitHub's anchors); every runbook
  section belongs to an alert;
- every alert rule (alertname + severity) has a firing and a non-firing case in rules/tests/*_test.yml, in a test
  that loads the rule's file;
- every recording rule is read by some promql_expr_test of a test that loads its file;
- every metric name an expression reads (PromQLNames below) is in tests/rules/metrics-catalogue.yaml, is a recording
  rule's output, or is ALERTS, ALERTS_FOR_STATE or up;
- the names the catalogue gives for our exporter and advisor occur in their sources as string literals (or, for
  names built at run time such as node_memory_*, in a captured scrape of our exporter), so a rename fails here.

Each failure names the file, the rule or alert, and the reason. Usage: check_rules.py [--repo DIR]; exit 0 when
clean. tests/rules/rules_test.py runs it with the other gates.
"""
import argparse
import ast
import glob
import os
import re
import sys

import yaml

RUNBOOK_PREFIX = "https://github.com/topdog-observe/topdog-observe/blob/main/rules/runbooks.md#"
SEVERITIES = ("page", "ticket", "info")
ALWAYS_KNOWN = {"ALERTS", "ALERTS_FOR_STATE", "up"}
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
SUMMARY_SUFFIXES = ("_count", "_sum")

# PromQL words that are never metric names where they occur (keywords; number literals).
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "atan2", "inf", "nan"}
# Aggregation operators: `sum by (x) (...)` and `sum(...) by (x)` both occur.
AGGREGATORS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
               "quantile"}
# Followed by a parenthesised list of label names (group_left/group_right may have none).
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}

_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?[A-Za-z0-9_]*)")


class PromQLError(ValueError):
    pass


def _skip_string(expr, i):
    """Returns the index after the string literal starting at expr[i] (", ' or `)."""
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise PromQLError("unterminated string")


def _skip_space(expr, i):
    while i < len(expr):
        if expr[i].isspace():
            i += 1
        elif expr[i] == "#":
            while i < len(expr) and expr[i] != "\n":
                i += 1
        else:
            break
    return i


def _matchers(expr, i):
    """Parses `{...}` at expr[i]; returns (index after '}', the __name__ value of an equality matcher or None)."""
    assert expr[i] == "{"
    i += 1
    name = None
    while True:
        i = _skip_space(expr, i)
        if i >= len(expr):
            raise PromQLError("unterminated label matchers")
        if expr[i] == "}":
            return i + 1, name
        if expr[i] == ",":
            i += 1
            continue
        m = _IDENT.match(expr, i)
        if not m:
            raise PromQLError(f"unexpected {expr[i]!r} in label matchers")
        label = m.group(0)
        i = _skip_space(expr, m.end())
        op = re.match(r"=~|!~|!=|=", expr[i:])
        if not op:
            raise PromQLError(f"no matching operator after label {label}")
        i = _skip_space(expr, i + len(op.group(0)))
        if i >= len(expr) or expr[i] not in "\"'`":
            raise PromQLError(f"label {label} is not matched against a string")
        end = _skip_string(expr, i)
        if label == "__name__" and op.group(0) == "=":
            name = ast.literal_eval(expr[i:end]) if expr[i] != "`" else expr[i + 1:end - 1]
        i = end


def PromQLNames(expr):
    """The metric names an expression selects: identifiers that are not functions (followed by '('), aggregators,
    keywords, label names (in {...} and in the lists after by/without/on/ignoring/group_left/group_right), string
    contents, numbers or durations; plus __name__="x" matchers. Raises PromQLError on what it cannot tokenize."""
    names = set()
    i = 0
    depth_brackets = 0
    while True:
        i = _skip_space(expr, i)
        if i >= len(expr):
            break
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "{":
            i, name = _matchers(expr, i)
            if name:
                names.add(name)
        elif c == "[":
            depth_brackets += 1
            i += 1
        elif c == "]":
            depth_brackets -= 1
            i += 1
        elif depth_brackets > 0:
            i += 1  # a range or subquery: durations and ':' only
        elif c.isdigit() or (c == "." and i + 1 < len(expr) and expr[i + 1].isdigit()):
            i = _NUMBER.match(expr, i).end()
        elif _IDENT.match(expr, i):
            m = _IDENT.match(expr, i)
            word = m.group(0)
            i = _skip_space(expr, m.end())
            lower = word.lower()
            if lower in LABEL_LIST_KEYWORDS:
                if i < len(expr) and expr[i] == "(":
                    close = expr.find(")", i)
                    if close < 0:
                        raise PromQLError(f"unterminated label list after {word}")
                    i = close + 1
            elif lower in KEYWORDS:
                if lower == "offset":
                    i = _skip_space(expr, i)
                    if i < len(expr) and expr[i] == "-":
                        i += 1
                    i = _NUMBER.match(expr, i).end() if _NUMBER.match(expr, i) else i
            elif i < len(expr) and expr[i] == "(":
                pass  # a function or an aggregation: sum(, rate(, label_replace(
            elif word in AGGREGATORS and _IDENT.match(expr, i) and _IDENT.match(expr, i).group(0) in ("by",
                                                                                                    "without"):
                pass  # sum by (x) (...)
            else:
                names.add(word)
        elif c == "@":
            i = _skip_space(expr, i + 1)
            m = re.match(r"(start|end)\s*\(\s*\)", expr[i:])
            if m:
                i += m.end()
        else:
            i += 1  # operators, parentheses, commas
    if depth_brackets != 0:
        raise PromQLError("unbalanced [ ]")
    return names


def GitHubAnchor(heading, seen):
    """GitHub's anchor for a Markdown heading: lower case, punctuation other than '-' and '_' dropped, spaces to
    '-', and '-1', '-2', ... for repeats (`seen` counts them)."""
    anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    n = seen.get(anchor, 0)
    seen[anchor] = n + 1
    return anchor if n == 0 else f"{anchor}-{n}"


class Checker:
    def __init__(self, repo):
        self.repo = repo
        self.failures = []
        self.notes = []

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")

    def rel(self, path):
        return os.path.relpath(path, self.repo)

    def Load(self):
        self.rules = []  # (file, group, rule)
        for path in sorted(glob.glob(os.path.join(self.repo, "rules", "*.yml"))):
            with open(path) as f:
                doc = yaml.safe_load(f) or {}
            if not doc.get("groups"):
                self.fail(self.rel(path), "no rule groups (rules/*.yml are rule files only)")
                continue
            for group in doc["groups"]:
                for rule in group.get("rules", []):
                    self.rules.append((os.path.realpath(path), group["name"], rule))
        self.tests = []  # (test file, [rule files loaded], test case)
        for path in sorted(glob.glob(os.path.join(self.repo, "rules", "tests", "*_test.yml"))):
            with open(path) as f:
                doc = yaml.safe_load(f) or {}
            loaded = [os.path.realpath(os.path.join(os.path.dirname(path), r)) for r in doc.get("rule_files", [])]
            for case in doc.get("tests", []):
                self.tests.append((path, loaded, case))
        with open(os.path.join(self.repo, "tests", "rules", "metrics-catalogue.yaml")) as f:
            self.catalogue = yaml.safe_load(f)

    def CheckAlerts(self):
        with open(os.path.join(self.repo, "rules", "runbooks.md")) as f:
            runbook = f.read()
        seen = {}
        anchors = {}
        for line in runbook.splitlines():
            m = re.match(r"#{1,6} (.+)", line)
            if m:
                anchors[GitHubAnchor(m.group(1), seen)] = m.group(1)
        used_anchors = set()
        for path, group, rule in self.rules:
            if "alert" not in rule:
                continue
            severity = rule.get("labels", {}).get("severity")
            where = f"{self.rel(path)}: group {group}: alert {rule['alert']} (severity {severity})"
            if severity not in SEVERITIES:
                self.fail(where, f"labels.severity must be one of {', '.join(SEVERITIES)}")
            annotations = rule.get("annotations", {})
            for key in ("summary", "description", "runbook_url"):
                if not str(annotations.get(key, "")).strip():
                    self.fail(where, f"annotations.{key} is missing or empty")
            url = annotations.get("runbook_url", "")
            if url:
                if not url.startswith(RUNBOOK_PREFIX):
                    self.fail(where, f"runbook_url {url} does not start with {RUNBOOK_PREFIX}")
                else:
                    anchor = url[len(RUNBOOK_PREFIX):]
                    used_anchors.add(anchor)
                    if anchor not in anchors:
                        self.fail(where, f"runbook_url anchor #{anchor} is not a heading of rules/runbooks.md")
        for anchor, heading in anchors.items():
            if anchor not in used_anchors and heading != "Runbooks":
                self.fail(f"rules/runbooks.md: section {heading!r}", "no alert's runbook_url points to it")

    def CheckTests(self):
        for path, group, rule in self.rules:
            if "alert" in rule:
                name, severity = rule["alert"], rule.get("labels", {}).get("severity")
                where = f"{self.rel(path)}: group {group}: alert {name} (severity {severity})"
                firing = non_firing = False
                for _, loaded, case in self.tests:
                    if path not in loaded:
                        continue
                    for t in case.get("alert_rule_test", []) or []:
                        if t.get("alertname") != name:
                            continue
                        severities = [(a.get("exp_labels") or {}).get("severity") for a in t.get("exp_alerts") or []]
                        if severity in severities:
                            firing = True
                        else:
                            non_firing = True
                if not firing:
                    self.fail(where, "no firing test case (an alert_rule_test expecting it) in rules/tests")
                if not non_firing:
                    self.fail(where, "no non-firing test case (an alert_rule_test not expecting it) in rules/tests")
            else:
                where = f"{self.rel(path)}: group {group}: record {rule['record']}"
                checked = False
                for test_path, loaded, case in self.tests:
                    if path not in loaded:
                        continue
                    for t in case.get("promql_expr_test", []) or []:
                        try:
                            if rule["record"] in PromQLNames(t.get("expr", "")):
                                checked = True
                        except PromQLError as e:
                            self.fail(f"{self.rel(test_path)}: test {case.get('name')!r}",
                                      f"cannot tokenize expr {t.get('expr')!r}: {e}")
                if not checked:
                    self.fail(where, "no promql_expr_test reads it in rules/tests")

    def CatalogueNames(self):
        """{name: (source, type)} including histogram and summary series names."""
        known = {}
        for source, entry in self.catalogue.items():
            for name, kind in (entry.get("metrics") or {}).items():
                known[name] = (source, kind)
                suffixes = HISTOGRAM_SUFFIXES if kind == "histogram" else SUMMARY_SUFFIXES if kind == "summary" else ()
                for suffix in suffixes:
                    known[name + suffix] = (source, kind)
        return known

    def CheckNames(self):
        known = self.CatalogueNames()
        recorded = {rule["record"] for _, _, rule in self.rules if "record" in rule}
        for path, group, rule in self.rules:
            what = f"alert {rule['alert']}" if "alert" in rule else f"record {rule['record']}"
            where = f"{self.rel(path)}: group {group}: {what}"
            try:
                names = PromQLNames(rule["expr"])
            except PromQLError as e:
                self.fail(where, f"cannot tokenize expr: {e}")
                continue
            for name in sorted(names):
                if name not in known and name not in recorded and name not in ALWAYS_KNOWN:
                    self.fail(where, f"metric {name} is not in tests/rules/metrics-catalogue.yaml nor a recording rule")

    def CheckCatalogueSources(self):
        for source, entry in self.catalogue.items():
            verify = entry.get("verify")
            if not verify:
                continue
            literals = set()
            for directory in verify.get("literals", []):
                for root, _, files in os.walk(os.path.join(self.repo, directory)):
                    for file in files:
                        if file.endswith((".cc", ".h")):
                            with open(os.path.join(root, file), errors="replace") as f:
                                literals.update(re.findall(r'"([A-Za-z_:][A-Za-z0-9_:]*)"', f.read()))
            exposed = set()
            for pattern in verify.get("exposition", []):
                for path in glob.glob(os.path.join(self.repo, pattern)):
                    with open(path) as f:
                        exposed.update(re.findall(r"^# TYPE (\S+) ", f.read(), re.M))
            pending = set(entry.get("pending") or [])
            for name in entry.get("metrics") or {}:
                where = f"tests/rules/metrics-catalogue.yaml: {source}: {name}"
                found = name in literals or name in exposed
                if name in pending:
                    if found:
                        self.notes.append(f"{where}: listed as pending but now in the sources: drop it from pending")
                    continue
                if not found:
                    dirs = ", ".join(verify.get("literals", []) + verify.get("exposition", []))
                    self.fail(where, f"not a string literal under {dirs} (renamed or removed?)")
            for name in pending - set(entry.get("metrics") or {}):
                self.fail(f"tests/rules/metrics-catalogue.yaml: {source}: pending {name}", "not in the source's metrics")

    def Run(self):
        self.Load()
        self.CheckAlerts()
        self.CheckTests()
        self.CheckNames()
        self.CheckCatalogueSources()
        return self.failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    args = parser.parse_args()
    checker = Checker(os.path.abspath(args.repo))
    failures = checker.Run()
    for note in checker.notes:
        print(f"note: {note}")
    for failure in failures:
        print(f"FAIL {failure}")
    alerts = sum(1 for _, _, r in checker.rules if "alert" in r)
    print(f"check_rules: {alerts} alerts, {len(checker.rules) - alerts} recording rules, {len(checker.tests)} test "
          f"cases, {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
