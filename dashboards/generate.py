#!/usr/bin/python3
"""Writes the Grafana dashboards dashboards/*.json (one layout and one set of helpers for all five, so that they stay
consistent). The JSON files are committed; tests/dashboards/dashboards_test.py fails when they differ from what this
script writes now. Usage: generate.py [--out DIR] (default: this directory).

Conventions (dashboards/README.md): every panel and target reads the `datasource` variable; rates use
$__rate_interval; our exporter's series are selected with job="topdog-exporter" (KPS's node-exporter has the same
node_* names) and the advisor's with job="topdog-advisor"; every metric name is in tests/rules/metrics-catalogue.yaml.
"""
import argparse
import json
import os

SCHEMA_VERSION = 42  # Dashboard.schemaVersion of @grafana/schema 13.2.3 (tests/node); older Grafanas load it as is
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
EXPORTER = 'job="topdog-exporter"'
ADVISOR = 'job="topdog-advisor"'
# The advisor's per-workload gauges from the replica that leads now (a former leader keeps its last values).
LEADING = f"on (instance) (topdog_advisor_leader{{{ADVISOR}}} == 1)"


class Dashboard:
    """One dashboard: variables, and panels laid out left to right in rows of 24 grid units."""

    def __init__(self, uid, title, description, tags):
        self.uid, self.title, self.description, self.tags = uid, title, description, tags
        self.variables = [{
            "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
            "hide": 0, "refresh": 1, "regex": "", "includeAll": False, "multi": False, "options": [],
        }]
        self.panels = []
        self.into = self.panels  # where Panel puts panels: the dashboard, or a collapsed row's `panels`
        self.next_id = 1
        self.x = self.y = self.row_height = 0

    def Variable(self, name, label, query, multi=True, hide=0):
        """A query variable from label_values(...) (all values selected by default, matched with =~)."""
        variable = {
            "name": name, "label": label, "type": "query", "datasource": DATASOURCE, "query": query,
            "definition": query, "refresh": 2, "sort": 1, "hide": hide, "regex": "", "options": [],
            "includeAll": multi, "multi": multi,
        }
        if multi:
            variable["allValue"] = ".*"
            variable["current"] = {"selected": True, "text": ["All"], "value": ["$__all"]}
        self.variables.append(variable)

    def Row(self, title, collapsed=False):
        """A row; the panels after it belong to it. A collapsed row holds them itself (Grafana's format), shown when
        it is opened."""
        self._NewLine()
        row = {"id": self._Id(), "type": "row", "title": title, "collapsed": collapsed, "panels": [],
               "gridPos": {"x": 0, "y": self.y, "w": 24, "h": 1}}
        self.panels.append(row)
        self.into = row["panels"] if collapsed else self.panels
        self.y += 1

    def Panel(self, kind, title, description, targets, w, h, unit=None, minimum=None, maximum=None, options=None,
              thresholds=None, custom=None, overrides=None, transformations=None):
        if self.x + w > 24:
            self._NewLine()
        defaults = {}
        if unit:
            defaults["unit"] = unit
        if minimum is not None:
            defaults["min"] = minimum
        if maximum is not None:
            defaults["max"] = maximum
        if thresholds:
            defaults["thresholds"] = {"mode": "absolute",
                                      "steps": [{"color": c, "value": v} for v, c in thresholds]}
            defaults["color"] = {"mode": "thresholds"}
        if custom:
            defaults["custom"] = custom
        panel = {
            "id": self._Id(), "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
            "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
            "options": options if options is not None else DefaultOptions(kind),
            "targets": [dict(t, refId=chr(ord("A") + i)) for i, t in enumerate(targets)],
        }
        if transformations:
            panel["transformations"] = transformations
        self.into.append(panel)
        self.x += w
        self.row_height = max(self.row_height, h)

    def Json(self):
        return {
            "uid": self.uid, "title": self.title, "description": self.description, "tags": ["topdog"] + self.tags,
            "schemaVersion": SCHEMA_VERSION, "version": 1, "editable": True, "graphTooltip": 1,
            "timezone": "browser", "time": {"from": "now-6h", "to": "now"}, "refresh": "1m",
            "fiscalYearStartMonth": 0, "liveNow": False, "links": [],
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
            }]},
            "templating": {"list": self.variables},
            "panels": self.panels,
        }

    def _Id(self):
        self.next_id += 1
        return self.next_id - 1

    def _NewLine(self):
        if self.x > 0:
            self.y += self.row_height
        self.x = self.row_height = 0


def DefaultOptions(kind):
    if kind == "timeseries":
        return {"legend": {"displayMode": "table", "placement": "right", "showLegend": True, "calcs": ["lastNotNull",
                                                                                                       "max"]},
                "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "background",
                "graphMode": "area", "justifyMode": "auto", "orientation": "auto", "textMode": "auto"}
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm", "footer": {"show": False, "reducer": ["sum"], "fields": ""}}
    return {}


def Q(expr, legend="__auto", instant=False, table=False):
    """A Prometheus target (refId set by Panel)."""
    target = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "range": not instant,
              "instant": instant, "editorMode": "code"}
    if table:
        target["format"] = "table"
    return target


def Quantiles(metric_bucket, selector, by, legend_prefix=""):
    """p50, p90 and p99 of a histogram (aggregated by `by` plus le)."""
    by_le = ", ".join(by + ["le"])
    label = "".join("{{" + b + "}} " for b in by)
    return [Q(f"histogram_quantile({q}, sum by ({by_le}) (rate({metric_bucket}{{{selector}}}[$__rate_interval])))",
              f"{legend_prefix}{label}p{int(q * 100)}") for q in (0.5, 0.9, 0.99)]


STACKED_BARS = {"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal", "group": "A"},
                "lineWidth": 1}
RATIO_THRESHOLDS = [(None, "green"), (0.001, "orange"), (0.01, "red")]


def GatewayRed():
    d = Dashboard("topdog-gateway-red", "topdog / Gateway RED",
                  "Requests, errors and latency at the gateway: NGINX access logs through topdog-exporter (per host, "
                  "route, status, node), NGINX stub_status, ingress-nginx's own metrics, and the gateway SLOs of "
                  "rules/slo.yml.", ["gateway", "red"])
    d.Variable("host", "Host", f"label_values(topdog_exporter_gateway_requests_total{{{EXPORTER}}}, host)")
    d.Variable("route", "Route",
               f'label_values(topdog_exporter_gateway_requests_total{{{EXPORTER},host=~"$host"}}, route)')
    d.Variable("node", "Node", f"label_values(topdog_exporter_gateway_requests_total{{{EXPORTER}}}, node)")
    d.Variable("namespace", "Ingress namespace", "label_values(nginx_ingress_controller_requests, exported_namespace)")
    d.Variable("ingress", "Ingress",
               'label_values(nginx_ingress_controller_requests{exported_namespace=~"$namespace"}, ingress)')
    sel = f'{EXPORTER},host=~"$host",route=~"$route",node=~"$node"'
    req = "topdog_exporter_gateway_requests_total"
    dur = "topdog_exporter_gateway_request_duration_seconds_bucket"
    up = "topdog_exporter_gateway_upstream_response_duration_seconds_bucket"

    d.Row("Gateway (access logs, topdog-exporter)")
    d.Panel("stat", "Requests/s", "All requests of the selected hosts, routes and nodes.",
            [Q(f"sum(rate({req}{{{sel}}}[$__rate_interval]))")], 6, 4, unit="reqps")
    d.Panel("stat", "5xx ratio", "Share of requests answered 5xx (499, the client going away, is not an error).",
            [Q(f'sum(rate({req}{{{sel},status=~"5.."}}[$__rate_interval])) / '
               f"sum(rate({req}{{{sel}}}[$__rate_interval]))")],
            6, 4, unit="percentunit", thresholds=RATIO_THRESHOLDS)
    d.Panel("stat", "p99 latency", "99th percentile of NGINX's request_time.",
            [Q(f"histogram_quantile(0.99, sum by (le) (rate({dur}{{{sel}}}[$__rate_interval])))")], 6, 4, unit="s",
            thresholds=[(None, "green"), (0.5, "orange"), (1, "red")])
    d.Panel("stat", "SLO burn rate (1h)",
            "Error ratio over the last hour divided by the error budget (availability 99.9 %, latency 99 % under "
            "500 ms), all hosts together (rules/slo.yml). 14.4 pages.",
            [Q("topdog:gateway_request_errors:ratio_rate1h / 0.001", "availability"),
             Q("topdog:gateway_request_slow:ratio_rate1h / 0.01", "latency")], 6, 4,
            thresholds=[(None, "green"), (1, "orange"), (14.4, "red")])
    d.Panel("timeseries", "Requests/s by host", "", [Q(f"sum by (host) (rate({req}{{{sel}}}[$__rate_interval]))",
                                                       "{{host}}")], 12, 8, unit="reqps")
    d.Panel("timeseries", "Requests/s by status", "", [Q(f"sum by (status) (rate({req}{{{sel}}}[$__rate_interval]))",
                                                         "{{status}}")], 12, 8, unit="reqps", custom=STACKED_BARS)
    d.Panel("timeseries", "Requests/s by route and status", "Routes are templated by the exporter (ids, UUIDs and "
            "hashes folded); `other` collects routes over its limit.",
            [Q(f"sum by (route, status) (rate({req}{{{sel}}}[$__rate_interval]))", "{{route}} {{status}}")],
            24, 9, unit="reqps")
    d.Panel("timeseries", "5xx ratio by host", "",
            [Q(f'sum by (host) (rate({req}{{{sel},status=~"5.."}}[$__rate_interval])) / '
               f"sum by (host) (rate({req}{{{sel}}}[$__rate_interval]))", "{{host}}")],
            12, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "5xx ratio by route", "",
            [Q(f'sum by (route) (rate({req}{{{sel},status=~"5.."}}[$__rate_interval])) / '
               f"sum by (route) (rate({req}{{{sel}}}[$__rate_interval]))", "{{route}}")],
            12, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "Request latency p50 / p90 / p99", "NGINX's request_time (first byte read to last byte "
            "sent).", Quantiles(dur, sel, []), 8, 8, unit="s")
    d.Panel("timeseries", "Request latency p99 by route and status class", "",
            [Q(f"histogram_quantile(0.99, sum by (route, status_class, le) (rate({dur}{{{sel}}}[$__rate_interval])))",
               "{{route}} {{status_class}}")], 8, 8, unit="s")
    d.Panel("timeseries", "Request latency p99 by host", "",
            [Q(f"histogram_quantile(0.99, sum by (host, le) (rate({dur}{{{sel}}}[$__rate_interval])))", "{{host}}")],
            8, 8, unit="s")
    d.Panel("timeseries", "Upstream latency p50 / p90 / p99", "NGINX's upstream_response_time (all tries summed): the "
            "backend's share of the request latency.", Quantiles(up, sel, [], "upstream "), 12, 8, unit="s")
    d.Panel("timeseries", "Upstream latency p99 by route", "",
            [Q(f"histogram_quantile(0.99, sum by (route, le) (rate({up}{{{sel}}}[$__rate_interval])))", "{{route}}")],
            12, 8, unit="s")

    d.Row("SLOs (rules/slo.yml, all hosts)")
    d.Panel("timeseries", "Availability burn rate", "5xx ratio / 0.001 per window. Pages at 14.4 (1h and 5m) or 6 "
            "(6h and 30m); tickets at 3 (1d and 2h) or 1 (3d and 6h).",
            [Q(f"topdog:gateway_request_errors:ratio_rate{w} / 0.001", w) for w in ("5m", "1h", "6h", "1d", "3d")],
            12, 8, thresholds=[(None, "green"), (1, "orange"), (14.4, "red")])
    d.Panel("timeseries", "Latency burn rate", "Share of requests over 500 ms / 0.01 per window, same thresholds.",
            [Q(f"topdog:gateway_request_slow:ratio_rate{w} / 0.01", w) for w in ("5m", "1h", "6h", "1d", "3d")],
            12, 8, thresholds=[(None, "green"), (1, "orange"), (14.4, "red")])

    d.Row("ingress-nginx (controller metrics)")
    isel = 'exported_namespace=~"$namespace",ingress=~"$ingress"'
    ireq = "nginx_ingress_controller_requests"
    d.Panel("timeseries", "Requests/s by ingress and status", "",
            [Q(f"sum by (ingress, status) (rate({ireq}{{{isel}}}[$__rate_interval]))", "{{ingress}} {{status}}")],
            12, 8, unit="reqps")
    d.Panel("timeseries", "5xx ratio by ingress", "",
            [Q(f'sum by (ingress) (rate({ireq}{{{isel},status=~"5.."}}[$__rate_interval])) / '
               f"sum by (ingress) (rate({ireq}{{{isel}}}[$__rate_interval]))", "{{ingress}}")],
            12, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "Latency p50 / p90 / p99 by ingress", "",
            Quantiles("nginx_ingress_controller_request_duration_seconds_bucket", isel, ["ingress"]), 24, 8, unit="s")

    # Last and collapsed: the shipped exporter config (deploy/base/exporter/exporter.yaml) has the nginx collector
    # off (ingress-nginx's stub_status listens on the controller pod's loopback only): these panels are empty there.
    d.Row("NGINX (stub_status, topdog-exporter; only where its nginx collector is on)", collapsed=True)
    nsel = f'{EXPORTER},instance=~"$node"'
    d.Panel("stat", "NGINX up", "nginx_up per node: 0 when the stub_status page cannot be read.",
            [Q(f"nginx_up{{{nsel}}}", "{{instance}}")], 6, 8, minimum=0, maximum=1,
            thresholds=[(None, "red"), (1, "green")])
    d.Panel("timeseries", "Connections", "",
            [Q(f"sum by (instance) (nginx_connections_{s}{{{nsel}}})", "{{instance}} " + s)
             for s in ("active", "reading", "writing", "waiting")], 9, 8)
    d.Panel("timeseries", "Requests and accepted connections/s", "",
            [Q(f"sum by (instance) (rate(nginx_http_requests_total{{{nsel}}}[$__rate_interval]))",
               "{{instance}} requests"),
             Q(f"sum by (instance) (rate(nginx_connections_accepted{{{nsel}}}[$__rate_interval]))",
               "{{instance}} accepted")], 9, 8, unit="ops")
    return d


def Backend():
    d = Dashboard("topdog-backend", "topdog / Backend",
                  "The backend: topdog-exporter's blackbox-style probes, its own /metrics page (scraped by its "
                  "ServiceMonitor, or passed through by topdog-exporter's backend_metrics collector), pod CPU and "
                  "memory from cAdvisor, restarts from kube-state-metrics.", ["backend"])
    d.Variable("namespace", "Namespace", "label_values(kube_deployment_spec_replicas, namespace)", multi=False)
    d.Variable("workload", "Deployment",
               'label_values(kube_deployment_spec_replicas{namespace="$namespace"}, deployment)', multi=False)
    d.Variable("node", "Node", f"label_values(probe_success{{{EXPORTER}}}, node)")
    d.Variable("probe", "Probe URL", f'label_values(probe_success{{{EXPORTER},node=~"$node"}}, target)')
    # The app's page arrives under its own job (deploy/base/monitoring: job="backend", per pod) or under
    # job="topdog-exporter" with a target label (backend_metrics pass-through); one job at a time, since every
    # exporter has process_* series.
    d.Variable("app", "App job", "label_values(http_requests_total, job)", multi=False)

    d.Row("Probes (backend_probe)")
    psel = f'{EXPORTER},node=~"$node",target=~"$probe"'
    d.Panel("stat", "Probes failing", "Probes (target, node) whose last answer was not a 2xx.",
            [Q(f"count(probe_success{{{psel}}} == 0) or vector(0)")], 6, 8,
            thresholds=[(None, "green"), (1, "red")])
    d.Panel("timeseries", "Probe success", "", [Q(f"probe_success{{{psel}}}", "{{target}} {{node}}")], 18, 8,
            minimum=0, maximum=1)
    d.Panel("timeseries", "Probe duration", "", [Q(f"probe_duration_seconds{{{psel}}}", "{{target}} {{node}}")],
            12, 8, unit="s")
    d.Panel("timeseries", "Probe HTTP status", "0: no answer.",
            [Q(f"probe_http_status_code{{{psel}}}", "{{target}} {{node}}")], 12, 8)

    d.Row("Application (its own /metrics)")
    asel = 'job="$app"'
    d.Panel("timeseries", "Requests/s by handler and status", "The app's http_requests_total (FastAPI "
            "instrumentator style: status grouped as 2xx, handler = route template).",
            [Q(f"sum by (handler, status) (rate(http_requests_total{{{asel}}}[$__rate_interval]))",
               "{{handler}} {{status}}")], 12, 8, unit="reqps")
    d.Panel("timeseries", "Non-2xx ratio by handler", "",
            [Q(f'sum by (handler) (rate(http_requests_total{{{asel},status!="2xx"}}[$__rate_interval])) / '
               f"sum by (handler) (rate(http_requests_total{{{asel}}}[$__rate_interval]))", "{{handler}}")],
            12, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "Latency p50 / p90 / p99 by handler", "From the app's histogram (buckets 0.1, 0.5, 1 s: "
            "coarse).", Quantiles("http_request_duration_seconds_bucket", asel, ["handler"]), 24, 8, unit="s")
    d.Panel("timeseries", "Process CPU", "", [Q(f"rate(process_cpu_seconds_total{{{asel}}}[$__rate_interval])",
                                                "{{pod}}{{target}} {{node}}")], 8, 8, unit="percentunit")
    d.Panel("timeseries", "Process memory (RSS)", "", [Q(f"process_resident_memory_bytes{{{asel}}}",
                                                         "{{pod}}{{target}} {{node}}")], 8, 8, unit="bytes")
    d.Panel("timeseries", "Open file descriptors / limit", "",
            [Q(f"process_open_fds{{{asel}}} / process_max_fds{{{asel}}}", "{{pod}}{{target}} {{node}}")], 8, 8,
            unit="percentunit", minimum=0)
    d.Panel("timeseries", "Python GC collections/s", "",
            [Q(f"sum by (pod, target, generation) (rate(python_gc_collections_total{{{asel}}}[$__rate_interval]))",
               "{{pod}}{{target}} gen {{generation}}")], 24, 7, unit="ops")

    d.Row("Pods (cAdvisor, kube-state-metrics)")
    pod = 'namespace="$namespace",pod=~"$workload-.*"'
    d.Panel("timeseries", "CPU by pod", "Cores in use; the dashed line is the CPU request.",
            [Q(f'sum by (pod) (rate(container_cpu_usage_seconds_total{{{pod},container!="",container!="POD"}}'
               f"[$__rate_interval]))", "{{pod}}"),
             Q(f'max(kube_pod_container_resource_requests{{{pod},resource="cpu"}})', "request")], 12, 8,
            overrides=[{"matcher": {"id": "byName", "options": "request"},
                        "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}]}])
    d.Panel("timeseries", "Memory working set by pod", "",
            [Q(f'sum by (pod) (container_memory_working_set_bytes{{{pod},container!="",container!="POD"}})', "{{pod}}"),
             Q(f'max(kube_pod_container_resource_limits{{{pod},resource="memory"}})', "limit")], 12, 8, unit="bytes")
    d.Panel("timeseries", "Container restarts", "Restarts per interval, by pod and container.",
            [Q(f"sum by (pod, container) (increase(kube_pod_container_status_restarts_total{{{pod}}}"
               f"[$__rate_interval]))",
               "{{pod}} {{container}}")], 12, 7, custom=STACKED_BARS)
    d.Panel("timeseries", "CPU throttling", "Share of CFS periods throttled.",
            [Q(f'sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{{{pod},container!=""}}'
               f"[$__rate_interval])) / "
               f'sum by (pod) (rate(container_cpu_cfs_periods_total{{{pod},container!=""}}[$__rate_interval]))',
               "{{pod}}")], 12, 7, unit="percentunit", minimum=0)
    return d


def NodesUse():
    d = Dashboard("topdog-nodes-use", "topdog / Nodes USE",
                  "Utilisation, saturation and errors per node from topdog-exporter (node_exporter names, "
                  "job=\"topdog-exporter\", instance = node name), as node-mixin's USE dashboards.", ["nodes", "use"])
    d.Variable("node", "Node", f"label_values(node_load1{{{EXPORTER}}}, instance)")
    n = f'{EXPORTER},instance=~"$node"'
    cpus = f'count by (instance) (node_cpu_seconds_total{{{n},mode="idle"}})'

    d.Row("CPU")
    d.Panel("timeseries", "CPU utilisation", "Share of CPU time busy, averaged over the CPUs (idle, iowait and "
            "steal count as not busy, as in node-mixin).",
            [Q(f"1 - avg by (instance) (sum by (instance, cpu) (rate(node_cpu_seconds_total{{{n},"
               f'mode=~"idle|iowait|steal"}}[$__rate_interval])))', "{{instance}}")], 8, 8, unit="percentunit",
            minimum=0, maximum=1)
    d.Panel("timeseries", "CPU saturation (load1 per CPU)", "",
            [Q(f"node_load1{{{n}}} / {cpus}", "{{instance}}")], 8, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "CPU pressure (PSI, waiting)", "Share of time some task waited for a CPU.",
            [Q(f"rate(node_pressure_cpu_waiting_seconds_total{{{n}}}[$__rate_interval])", "{{instance}}")], 8, 8,
            unit="percentunit", minimum=0)

    d.Row("Memory")
    d.Panel("timeseries", "Memory utilisation", "1 - MemAvailable / MemTotal.",
            [Q(f"1 - node_memory_MemAvailable_bytes{{{n}}} / node_memory_MemTotal_bytes{{{n}}}", "{{instance}}")],
            8, 8, unit="percentunit", minimum=0, maximum=1)
    d.Panel("timeseries", "Memory saturation (major page faults/s)", "",
            [Q(f"rate(node_vmstat_pgmajfault{{{n}}}[$__rate_interval])", "{{instance}}")], 8, 8, unit="ops")
    d.Panel("timeseries", "Memory pressure (PSI)", "Waiting: some task stalled; stalled: all non-idle tasks.",
            [Q(f"rate(node_pressure_memory_waiting_seconds_total{{{n}}}[$__rate_interval])", "{{instance}} some"),
             Q(f"rate(node_pressure_memory_stalled_seconds_total{{{n}}}[$__rate_interval])", "{{instance}} full"),
             Q(f"rate(node_vmstat_oom_kill{{{n}}}[$__rate_interval])", "{{instance}} OOM kills/s")], 8, 8)

    d.Row("Network")
    dev = f'{n},device!~"lo|veth.*|cali.*|cilium.*|lxc.*"'
    d.Panel("timeseries", "Network utilisation (bytes/s)", "Received positive, transmitted negative.",
            [Q(f"sum by (instance) (rate(node_network_receive_bytes_total{{{dev}}}[$__rate_interval]))",
               "{{instance}} receive"),
             Q(f"-sum by (instance) (rate(node_network_transmit_bytes_total{{{dev}}}[$__rate_interval]))",
               "{{instance}} transmit")], 12, 8, unit="Bps")
    d.Panel("timeseries", "Network saturation and errors (drops, errors/s)", "",
            [Q(f"sum by (instance) (rate(node_network_receive_drop_total{{{dev}}}[$__rate_interval]) + "
               f"rate(node_network_transmit_drop_total{{{dev}}}[$__rate_interval]))", "{{instance}} drops"),
             Q(f"sum by (instance) (rate(node_network_receive_errs_total{{{dev}}}[$__rate_interval]) + "
               f"rate(node_network_transmit_errs_total{{{dev}}}[$__rate_interval]))", "{{instance}} errors")],
            12, 8, unit="pps")

    d.Row("Disk")
    disk = f'{n},device!~"dm-.*|loop.*|ram.*"'
    d.Panel("timeseries", "Disk I/O utilisation", "Share of time the device was busy, per node and device.",
            [Q(f"rate(node_disk_io_time_seconds_total{{{disk}}}[$__rate_interval])", "{{instance}} {{device}}")],
            8, 8, unit="percentunit", minimum=0)
    d.Panel("timeseries", "Disk I/O saturation (weighted, queue depth)", "",
            [Q(f"rate(node_disk_io_time_weighted_seconds_total{{{disk}}}[$__rate_interval])",
               "{{instance}} {{device}}")], 8, 8, minimum=0)
    d.Panel("timeseries", "I/O pressure (PSI)", "",
            [Q(f"rate(node_pressure_io_waiting_seconds_total{{{n}}}[$__rate_interval])", "{{instance}} some"),
             Q(f"rate(node_pressure_io_stalled_seconds_total{{{n}}}[$__rate_interval])", "{{instance}} full")],
            8, 8, unit="percentunit", minimum=0)
    fs = f'{n},fstype!~"tmpfs|overlay|squashfs|nsfs|ramfs",mountpoint!=""'
    d.Panel("timeseries", "Filesystem space used", "Per mount point (tmpfs, overlay and squashfs left out).",
            [Q(f"1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}}",
               "{{instance}} {{mountpoint}}")], 12, 8, unit="percentunit", minimum=0, maximum=1)
    d.Panel("table", "Collectors failing", "node_scrape_collector_success 0 now (gateway collectors included).",
            [Q(f"node_scrape_collector_success{{{n}}} == 0", instant=True, table=True)], 12, 8,
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True,
                                                                              "job": True}}}])
    return d


def Autoscaling():
    d = Dashboard("topdog-autoscaling", "topdog / Autoscaling",
                  "HPAs (kube-state-metrics) against topdog-advisor's forecast, recommendations and writes, and the "
                  "DOKS node pools' bounds.", ["autoscaling", "advisor"])
    hpa_metric = "kube_horizontalpodautoscaler_spec_max_replicas"
    d.Variable("namespace", "Namespace", f"label_values({hpa_metric}, namespace)")
    d.Variable("hpa", "HPA", f'label_values({hpa_metric}{{namespace=~"$namespace"}}, horizontalpodautoscaler)')
    d.Variable("horizon", "Forecast horizon",
               f"label_values(topdog_advisor_forecast_requests_per_second{{{ADVISOR}}}, horizon)", multi=False)
    d.Variable("node_pool", "Node pool", f"label_values(topdog_advisor_node_pool_max_nodes{{{ADVISOR}}}, node_pool)")
    ksm = 'namespace=~"$namespace",horizontalpodautoscaler=~"$hpa"'
    adv = f'{ADVISOR},namespace=~"$namespace",hpa=~"$hpa"'

    d.Row("Advisor")
    d.Panel("stat", "Dry run", "1: HPA writes are sent with dryRun=All and node pools are not written.",
            [Q(f"max(topdog_advisor_dry_run{{{ADVISOR}}})")], 4, 4,
            thresholds=[(None, "green"), (1, "orange")])
    d.Panel("stat", "Leaders", "Replicas holding the Lease: 1 expected.",
            [Q(f"sum(topdog_advisor_leader{{{ADVISOR}}})")], 4, 4,
            thresholds=[(None, "red"), (1, "green"), (2, "red")])
    d.Panel("stat", "Managed workloads", "",
            [Q(f"max(topdog_advisor_managed_workloads{{{ADVISOR}}} and {LEADING})")], 4, 4)
    d.Panel("stat", "Since last good pass", "", [Q(
        f"time() - max(topdog_advisor_last_successful_reconcile_timestamp_seconds{{{ADVISOR}}})")], 4, 4, unit="s",
        thresholds=[(None, "green"), (900, "orange"), (1800, "red")])
    d.Panel("timeseries", "Reconcile errors/s", "By stage and kind.",
            [Q(f"sum by (stage, kind) (rate(topdog_advisor_reconcile_errors_total{{{ADVISOR}}}[$__rate_interval]))",
               "{{stage}} {{kind}}")], 8, 4, unit="ops")

    d.Row("Replicas per HPA")
    d.Panel("timeseries", "Replicas: current, desired, min, max", "kube-state-metrics, per HPA.",
            [Q(f"kube_horizontalpodautoscaler_status_current_replicas{{{ksm}}}",
               "{{namespace}}/{{horizontalpodautoscaler}} current"),
             Q(f"kube_horizontalpodautoscaler_status_desired_replicas{{{ksm}}}",
               "{{namespace}}/{{horizontalpodautoscaler}} desired"),
             Q(f"kube_horizontalpodautoscaler_spec_min_replicas{{{ksm}}}",
               "{{namespace}}/{{horizontalpodautoscaler}} min"),
             Q(f"kube_horizontalpodautoscaler_spec_max_replicas{{{ksm}}}",
               "{{namespace}}/{{horizontalpodautoscaler}} max")], 12, 9, minimum=0)
    d.Panel("timeseries", "Recommended against applied bounds", "The advisor's recommended minReplicas and "
            "maxReplicas and the values it read from the HPA (leader only).",
            [Q(f"max by (namespace, hpa) (topdog_advisor_recommended_min_replicas{{{adv}}} and {LEADING})",
               "{{namespace}}/{{hpa}} recommended min"),
             Q(f"max by (namespace, hpa) (topdog_advisor_hpa_min_replicas{{{adv}}} and {LEADING})",
               "{{namespace}}/{{hpa}} min"),
             Q(f"max by (namespace, hpa) (topdog_advisor_recommended_max_replicas{{{adv}}} and {LEADING})",
               "{{namespace}}/{{hpa}} recommended max"),
             Q(f"max by (namespace, hpa) (topdog_advisor_hpa_max_replicas{{{adv}}} and {LEADING})",
               "{{namespace}}/{{hpa}} max")], 12, 9, minimum=0)

    d.Row("Forecast against load")
    d.Panel("timeseries", "Forecast peak (req/s) and actual load",
            "The advisor's forecast of the peak demand over the next $horizon, per quantile (the band between the "
            "lowest and highest quantile is its interval), against the load: ingress-nginx requests per second per "
            "Ingress path of the namespace, which is what the advisor's `demand` selects (deploy/base/advisor/"
            "config.yaml: the backend's is shop's /api, whether that path leads to the backend or to Envoy; other "
            "workloads' are the requests to their Service, the frontend's shop's /). A forecast made at t covers "
            "[t, t + $horizon].",
            [Q(f'max by (namespace, hpa, quantile) (topdog_advisor_forecast_requests_per_second{{{adv},'
               f'horizon="$horizon"}} and {LEADING})', "{{namespace}}/{{hpa}} q{{quantile}}"),
             Q('sum by (exported_namespace, ingress, path) (rate(nginx_ingress_controller_requests{'
               'exported_namespace=~"$namespace"}[$__rate_interval]))',
               "{{exported_namespace}}/{{ingress}} {{path}} actual")], 16, 9, unit="reqps", minimum=0)
    d.Panel("timeseries", "Predicted saturation", "Forecast peak at the decision quantile over what maxReplicas "
            "pods serve at 100 % of their CPU request; above 1 the HPA cannot keep up.",
            [Q(f'max by (namespace, hpa) (topdog_advisor_predicted_saturation_ratio{{{adv},horizon="$horizon"}} '
               f"and {LEADING})", "{{namespace}}/{{hpa}}")], 8, 9, unit="percentunit", minimum=0,
            thresholds=[(None, "green"), (0.8, "orange"), (1, "red")])
    d.Panel("timeseries", "Pod capacity (req/s per pod)", "Requests per second one pod serves at 100 % of its CPU "
            "request (configured or estimated).",
            [Q(f"max by (namespace, hpa) (topdog_advisor_pod_capacity_requests_per_second{{{adv}}} and {LEADING})",
               "{{namespace}}/{{hpa}}")], 8, 8, unit="reqps", minimum=0)
    d.Panel("timeseries", "Recommended CPU target", "",
            [Q(f"max by (namespace, hpa) (topdog_advisor_recommended_target_utilization_ratio{{{adv}}} and "
               f"{LEADING})", "{{namespace}}/{{hpa}}")], 8, 8, unit="percentunit", minimum=0, maximum=1)
    d.Panel("timeseries", "Forecast calibrated", "1: the quantiles are calibrated on the forecast's own past errors; "
            "0: the recent peak alone (short history).",
            [Q(f'max by (namespace, hpa) (topdog_advisor_forecast_calibrated{{{adv},horizon="$horizon"}} and '
               f"{LEADING})", "{{namespace}}/{{hpa}}")], 8, 8, minimum=0, maximum=1)

    d.Row("Decisions and writes")
    d.Panel("timeseries", "Decisions by reason", "Workload decisions per interval (raise, lower, no_change, "
            "cooldown, short_history, stale_data, ...).",
            [Q(f"sum by (reason) (increase(topdog_advisor_decisions_total{{{ADVISOR}}}[$__rate_interval]))",
               "{{reason}}")], 12, 8, custom=STACKED_BARS)
    d.Panel("timeseries", "Writes by target, mode and result", "HPA patches and node-pool updates per interval; "
            "mode dry_run or apply.",
            [Q(f"sum by (target, mode, result) (increase(topdog_advisor_apply_total{{{ADVISOR}}}[$__rate_interval]))",
               "{{target}} {{mode}} {{result}}")], 12, 8, custom=STACKED_BARS)

    d.Row("Node pools")
    pool = f'{ADVISOR},node_pool=~"$node_pool"'
    d.Panel("timeseries", "Node pool bounds and nodes", "The pools' min_nodes / max_nodes as read, the advisor's "
            "recommendation, and the cluster's node count (kube_node_info, all pools).",
            [Q(f"max by (node_pool) (topdog_advisor_node_pool_{m}{{{pool}}} and {LEADING})",
               "{{node_pool}} " + m.replace("_", " ")) for m in ("min_nodes", "max_nodes", "recommended_min_nodes",
                                                                  "recommended_max_nodes")]
            + [Q("count(kube_node_info)", "nodes (cluster)")], 24, 8, minimum=0)
    return d


def AlertsOverview():
    d = Dashboard("topdog-alerts-overview", "topdog / Alerts overview",
                  "Firing and pending alerts (ALERTS of Prometheus and of topdog-advisor's rule evaluation), by "
                  "severity and name, and the advisor's rule health and notifier.", ["alerts"])
    d.Variable("severity", "Severity", "label_values(ALERTS, severity)")
    d.Variable("alertname", "Alert", 'label_values(ALERTS{severity=~"$severity"}, alertname)')
    a = 'severity=~"$severity",alertname=~"$alertname"'

    d.Row("Alerts")
    for severity, color in (("page", "red"), ("ticket", "orange"), ("info", "blue")):
        d.Panel("stat", f"Firing: {severity}", f'Alerts with severity="{severity}" firing now.',
                [Q(f'count(ALERTS{{alertstate="firing",severity="{severity}",alertname=~"$alertname"}}) or vector(0)')],
                6, 4, thresholds=[(None, "green"), (1, color)])
    d.Panel("stat", "Pending", "Alerts whose expression holds but whose `for` has not passed yet.",
            [Q(f'count(ALERTS{{alertstate="pending",{a}}}) or vector(0)')], 6, 4,
            thresholds=[(None, "green"), (1, "yellow")])
    d.Panel("timeseries", "Firing alerts by severity", "",
            [Q(f'count by (severity) (ALERTS{{alertstate="firing",{a}}})', "{{severity}}")], 12, 8,
            custom=STACKED_BARS)
    d.Panel("timeseries", "Firing and pending alerts by name", "",
            [Q(f"count by (alertname, alertstate) (ALERTS{{{a}}})", "{{alertname}} {{alertstate}}")], 12, 8)
    d.Panel("table", "Firing and pending now", "One row per alert and its labels.",
            [Q(f"ALERTS{{{a}}}", instant=True, table=True)], 14, 10,
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True,
                                                                              "Value": True}}}])
    d.Panel("table", "Active for", "Seconds since each alert's expression first held (ALERTS_FOR_STATE).",
            [Q(f"time() - ALERTS_FOR_STATE{{{a}}}", instant=True, table=True)], 10, 10, unit="s",
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}])

    d.Row("topdog-advisor rule evaluation and notifier")
    d.Panel("table", "Unhealthy rules", "Rules whose last evaluation failed (query error or rule error).",
            [Q(f"topdog_advisor_rule_healthy{{{ADVISOR}}} == 0", instant=True, table=True)], 8, 8,
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True, "__name__": True}}}])
    d.Panel("stat", "Rule files loaded", "0: the last reload failed and the previous rules keep running.",
            [Q(f"min(topdog_advisor_rules_last_reload_successful{{{ADVISOR}}})")], 4, 8,
            thresholds=[(None, "red"), (1, "green")])
    d.Panel("timeseries", "Rule evaluation failures/s", "By group.",
            [Q(f"sum by (rule_group) (rate(topdog_advisor_rule_evaluation_failures_total{{{ADVISOR}}}"
               f"[$__rate_interval]))", "{{rule_group}}")], 12, 8, unit="ops")
    d.Panel("timeseries", "Notifications/s", "Alerts sent to and refused by each Alertmanager; dropped: queue full "
            "or no Alertmanager took the batch.",
            [Q(f"sum by (alertmanager) (rate(topdog_advisor_notifications_sent_total{{{ADVISOR}}}[$__rate_interval]))",
               "sent {{alertmanager}}"),
             Q(f"sum by (alertmanager) (rate(topdog_advisor_notifications_errors_total{{{ADVISOR}}}"
               f"[$__rate_interval]))", "errors {{alertmanager}}"),
             Q(f"sum(rate(topdog_advisor_notifications_dropped_total{{{ADVISOR}}}[$__rate_interval]))", "dropped")],
            16, 8, unit="ops")
    d.Panel("timeseries", "Notification queue", "Alerts waiting to be sent, per replica.",
            [Q(f"topdog_advisor_notifications_queue_length{{{ADVISOR}}}", "{{pod}}")], 8, 8, minimum=0)
    return d


DASHBOARDS = {
    "gateway-red": GatewayRed,
    "backend": Backend,
    "nodes-use": NodesUse,
    "autoscaling": Autoscaling,
    "alerts-overview": AlertsOverview,
}


def Render(build):
    return json.dumps(build().Json(), indent=2, ensure_ascii=False) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    args = parser.parse_args()
    for name, build in DASHBOARDS.items():
        with open(os.path.join(args.out, f"{name}.json"), "w") as f:
            f.write(Render(build))


if __name__ == "__main__":
    main()
