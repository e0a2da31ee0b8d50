"""Compares two Prometheus text-format scrapes family by family, sample by sample, numerically.

Parsing uses prometheus_client's parser (Debian python3-prometheus-client), independent of our own writer,
so a formatting difference such as 3.8e+07 vs 38000000 is not a difference but a wrong value is.
"""
import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families


@dataclass
class Family:
    name: str
    type: str
    help: str
    samples: dict = field(default_factory=dict)  # (sample_name, frozenset(labels)) -> value


def parse(text):
    """Returns {family_name: Family}. prometheus_client strips _total from counter family names; samples
    keep their full names, so sample keys are exact."""
    families = {}
    for mf in text_string_to_metric_families(text):
        fam = families.setdefault(mf.name, Family(mf.name, mf.type, mf.documentation))
        for s in mf.samples:
            fam.samples[(s.name, frozenset(s.labels.items()))] = s.value
    return families


def same_value(a, b, rel_tol):
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0)


@dataclass
class Report:
    compared_families: list = field(default_factory=list)
    compared_samples: int = 0
    mismatches: list = field(default_factory=list)
    only_ours: list = field(default_factory=list)
    only_theirs: list = field(default_factory=list)


def compare(ours, theirs, skip_families=(), value_tolerance=None, skip_values=(), rel_tol=1e-9):
    """ours/theirs: parsed dicts. value_tolerance: {family: (rel, abs)} for values that move between two
    scrapes (free bytes of a live file system, wall time). skip_values: families whose values are not
    compared (durations) though names and labels are."""
    value_tolerance = value_tolerance or {}
    report = Report()
    for name in sorted(set(ours) | set(theirs)):
        if any(name.startswith(p) for p in skip_families):
            continue
        if name not in theirs:
            report.only_ours.append(name)
            continue
        if name not in ours:
            report.only_theirs.append(name)
            continue
        o, t = ours[name], theirs[name]
        report.compared_families.append((name, len(t.samples)))
        if o.type != t.type:
            report.mismatches.append(f"{name}: type {o.type} != {t.type}")
        if o.help != t.help:
            report.mismatches.append(f"{name}: HELP {o.help!r} != {t.help!r}")
        for key in sorted(set(o.samples) | set(t.samples), key=str):
            label_text = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(key[1])) + "}"
            if key not in t.samples:
                report.mismatches.append(f"{key[0]}{label_text}: only in ours ({o.samples[key]})")
                continue
            if key not in o.samples:
                report.mismatches.append(f"{key[0]}{label_text}: missing in ours (theirs {t.samples[key]})")
                continue
            report.compared_samples += 1
            if name in skip_values:
                continue
            a, b = o.samples[key], t.samples[key]
            if name in value_tolerance:
                rel, abs_tol = value_tolerance[name]
                ok = math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol)
            else:
                ok = same_value(a, b, rel_tol)
            if not ok:
                report.mismatches.append(f"{key[0]}{label_text}: ours {a!r} != theirs {b!r}")
    return report
