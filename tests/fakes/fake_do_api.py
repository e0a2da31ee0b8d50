#!/usr/bin/env python3
"""Loopback fake of the DigitalOcean Kubernetes node-pool API (the part the advisor uses), answering like
api.digitalocean.com (digitalocean/openapi: resources/kubernetes, models/node_pool.yml; godo kubernetes.go):

  GET /v2/kubernetes/clusters/{cluster_id}/node_pools            -> 200 {"node_pools":[...],"meta":{"total":n}}
  GET /v2/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}  -> 200 {"node_pool":{...}}
  PUT /v2/kubernetes/clusters/{cluster_id}/node_pools/{pool_id}  -> 202 {"node_pool":{...}} (the updated pool)

Errors have the API's shape {"id": ..., "message": ...}: 401 unauthorized (missing or wrong bearer token),
404 not_found (unknown cluster, pool or route), 400 bad_request (body not a JSON object), 422
unprocessable_entity (name and count required; with auto_scale, 0 <= min_nodes <= count <= max_nodes;
max_nodes at most the Droplet limit), 429 too_many_requests with Retry-After once the budget is spent.
Every answer of the API (not the base's faults) carries RateLimit-Limit, RateLimit-Remaining and
RateLimit-Reset (epoch seconds when the window refills); each request spends one unit, as on the real API.
A PUT replaces name, count, autoscaling and tags/labels/taints: a key left out is cleared, which is why
clients echo them.

Arguments (besides the base's --port/--tls-*): --token T or --token-file F (re-read on every request, so a
test can rotate it; with neither any bearer token passes), --rate-limit N (default 250) per --rate-window S
seconds (default 60), --droplet-limit N (default 25).
Control routes (besides the base's /_fake/requests, /_fake/faults, /_fake/reset):
  POST /_fake/node_pools  <- [{"cluster_id": "...", "node_pool": {...}}, ...]  adds or replaces pools
  GET  /_fake/node_pools  -> the stored pools in the same shape
  POST /_fake/rate_limit  <- {"limit": n, "window": s}  both optional; starts a fresh window
/_fake/reset also forgets the pools and starts a fresh rate-limit window.
"""
import argparse
import copy
import json
import math
import re
import sys
import time

from fake_http import FakeApi, serve

POOL_PATH = re.compile(r"^/v2/kubernetes/clusters/([^/]+)/node_pools(?:/([^/]+))?/?$")
NOT_FOUND = {"id": "not_found", "message": "The resource you were accessing could not be found."}
UNAUTHORIZED = {"id": "unauthorized", "message": "Unable to authenticate you"}
TOO_MANY = {"id": "too_many_requests", "message": "API Rate limit exceeded."}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class FakeDoApi(FakeApi):
    def __init__(self, token=None, token_file=None, rate_limit=250, rate_window=60.0, droplet_limit=25):
        super().__init__()
        self.token = token
        self.token_file = token_file
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.droplet_limit = droplet_limit
        self.pools = {}  # (cluster_id, pool_id) -> node_pool dict, in insertion order
        self._fresh_window()

    def _fresh_window(self):
        self.window_start = None  # the window starts with its first request
        self.used = 0

    def reset(self):
        self.pools.clear()
        self._fresh_window()

    # --- rate limit ----------------------------------------------------------------------------------------
    def _spend(self):
        """Spends one unit; returns (allowed, headers)."""
        now = time.time()
        if self.window_start is None or now >= self.window_start + self.rate_window:
            self.window_start = now
            self.used = 0
        reset = self.window_start + self.rate_window
        allowed = self.used < self.rate_limit
        if allowed:
            self.used += 1
        headers = {
            "RateLimit-Limit": self.rate_limit,
            "RateLimit-Remaining": max(self.rate_limit - self.used, 0),
            "RateLimit-Reset": int(math.ceil(reset)),
        }
        if not allowed:
            headers["Retry-After"] = max(int(math.ceil(reset - now)), 1)
        return allowed, headers

    # --- auth ----------------------------------------------------------------------------------------------
    def _expected_token(self):
        if self.token_file:
            try:
                with open(self.token_file) as f:
                    return f.read().strip()
            except OSError:
                return None  # nothing can authenticate while the file is missing
        return self.token

    def _authorized(self, headers):
        value = headers.get("authorization", "")
        if not value.startswith("Bearer ") or not value[len("Bearer "):].strip():
            return False
        if self.token is None and self.token_file is None:
            return True
        return value[len("Bearer "):] == self._expected_token()

    # --- resources -----------------------------------------------------------------------------------------
    def handle(self, method, path, query, headers, body):
        allowed, limit_headers = self._spend()
        if not allowed:
            return 429, limit_headers, TOO_MANY
        if not self._authorized(headers):
            return 401, limit_headers, UNAUTHORIZED
        match = POOL_PATH.match(path)
        if not match:
            return 404, limit_headers, NOT_FOUND
        cluster_id, pool_id = match.group(1), match.group(2)
        if not any(c == cluster_id for c, _ in self.pools):
            return 404, limit_headers, NOT_FOUND
        if pool_id is None:
            if method != "GET":
                return 404, limit_headers, NOT_FOUND
            pools = [copy.deepcopy(p) for (c, _), p in self.pools.items() if c == cluster_id]
            return 200, limit_headers, {"node_pools": pools, "links": {}, "meta": {"total": len(pools)}}
        pool = self.pools.get((cluster_id, pool_id))
        if pool is None:
            return 404, limit_headers, NOT_FOUND
        if method == "GET":
            return 200, limit_headers, {"node_pool": copy.deepcopy(pool)}
        if method == "PUT":
            return self._update(pool, body, limit_headers)
        return 404, limit_headers, NOT_FOUND

    def _update(self, pool, body, limit_headers):
        try:
            request = json.loads(body) if body else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            return 400, limit_headers, {"id": "bad_request", "message": "The request body is not a JSON object."}
        problem = self._validate(request)
        if problem:
            return 422, limit_headers, {"id": "unprocessable_entity", "message": problem}
        pool["name"] = request["name"]
        pool["count"] = request["count"]
        pool["auto_scale"] = bool(request.get("auto_scale", False))
        pool["min_nodes"] = request.get("min_nodes", 0) if pool["auto_scale"] else 0
        pool["max_nodes"] = request.get("max_nodes", 0) if pool["auto_scale"] else 0
        for key, empty in (("tags", []), ("labels", {}), ("taints", [])):
            value = request.get(key)
            pool[key] = copy.deepcopy(value) if value is not None else empty
        return 202, limit_headers, {"node_pool": copy.deepcopy(pool)}

    def _validate(self, request):
        name, count = request.get("name"), request.get("count")
        if not isinstance(name, str) or not name:
            return "name is required"
        if count is None:
            return "count is required"
        if not _is_int(count) or count < 0:
            return "count must be a non-negative integer"
        for key, kind in (("tags", list), ("labels", dict), ("taints", list)):
            if request.get(key) is not None and not isinstance(request[key], kind):
                return f"{key} has the wrong type"
        auto_scale = request.get("auto_scale", False)
        if not isinstance(auto_scale, bool):
            return "auto_scale must be a boolean"
        if not auto_scale:
            if count < 1:
                return "count must be at least 1 when auto_scale is false"
            return None
        min_nodes, max_nodes = request.get("min_nodes", 0), request.get("max_nodes", 0)
        if not _is_int(min_nodes) or not _is_int(max_nodes):
            return "min_nodes and max_nodes must be integers"
        if min_nodes < 0:
            return "min_nodes must be at least 0"
        if max_nodes < 1:
            return "max_nodes must be at least 1"
        if min_nodes > max_nodes:
            return "min_nodes must be less than or equal to max_nodes"
        if max_nodes > self.droplet_limit:
            return f"max_nodes exceeds your droplet limit of {self.droplet_limit}"
        if not min_nodes <= count <= max_nodes:
            return "count must be between min_nodes and max_nodes"
        return None

    # --- control routes ------------------------------------------------------------------------------------
    def control(self, method, path, body):
        if path == "/_fake/node_pools" and method == "POST":
            for entry in body or []:
                pool = copy.deepcopy(entry["node_pool"])
                self.pools[(entry["cluster_id"], pool["id"])] = pool
            return 200, {}
        if path == "/_fake/node_pools" and method == "GET":
            return 200, [{"cluster_id": c, "node_pool": p} for (c, _), p in self.pools.items()]
        if path == "/_fake/rate_limit" and method == "POST":
            body = body or {}
            self.rate_limit = int(body.get("limit", self.rate_limit))
            self.rate_window = float(body.get("window", self.rate_window))
            self._fresh_window()
            return 200, {}
        return None


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--token")
    parser.add_argument("--token-file")
    parser.add_argument("--rate-limit", type=int, default=250)
    parser.add_argument("--rate-window", type=float, default=60.0)
    parser.add_argument("--droplet-limit", type=int, default=25)
    args, _ = parser.parse_known_args(argv)
    api = FakeDoApi(args.token, args.token_file, args.rate_limit, args.rate_window, args.droplet_limit)
    return serve(api, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
