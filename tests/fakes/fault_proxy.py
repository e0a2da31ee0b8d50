"""A loopback HTTP proxy in front of a REAL server (Debian's Prometheus in the tests): it forwards every request
unchanged unless a scripted fault applies, and records what it received. Prometheus itself is never faked;
this only breaks the path to it, the way a slow network, a broken gateway or a struggling Prometheus would.

    /usr/bin/python3 tests/fakes/fault_proxy.py --upstream http://127.0.0.1:9090 [--port 0]

Prints `PORT <n>` on its first stdout line once it listens on 127.0.0.1 (as tests/fakes/fake_http.py does), so
the test reads the port instead of sleeping. Control endpoints (not recorded, never forwarded):
  GET  /_fake/requests   -> JSON list of {method, path, query, headers, time} in arrival order; query is
                            {name: [values]} (urllib.parse.parse_qs), so a test asserts start/end/step exactly
  POST /_fake/reset      -> forget recorded requests and faults
  POST /_fake/faults     <- JSON list of faults, appended; the first that matches a request applies:
       {"mode": "delay", "seconds": 3}      wait, then forward (a slow Prometheus or network)
       {"mode": "status", "status": 503, "body": "...", "headers": {"Retry-After": "1"}}   answer without forwarding
       {"mode": "garbage"}                  answer 200 with bytes that are not JSON
       {"mode": "truncate"}                 forward, then answer the first half of the body (Content-Length of
                                            that half: a body cut by a broken gateway, not a transport error)
       {"mode": "warnings", "warning": "…"} forward, then add the warning to the JSON's "warnings" (a partial answer)
       {"mode": "close"}                    close the connection without answering
     common keys: "path": regex searched in the path (default: any); "times": how many requests it hits
     (default 1, -1 forever); "after": let that many matching requests pass first.
Without a matching fault the request is forwarded as is (pass-through). An unreachable upstream is a 502.
"""
import argparse
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FORWARDED_HEADERS = ("accept", "accept-encoding", "authorization", "user-agent", "content-type")


class Proxy:
    def __init__(self, upstream):
        url = urllib.parse.urlsplit(upstream)
        self.upstream_host, self.upstream_port = url.hostname, url.port or 80
        self.upstream_prefix = url.path.rstrip("/")
        self.lock = threading.Lock()
        self.requests = []
        self.faults = []

    def take_fault(self, path):
        with self.lock:
            for fault in self.faults:
                if fault.get("path") and not re.search(fault["path"], path):
                    continue
                if fault.get("after", 0) > 0:
                    fault["after"] -= 1
                    continue
                times = fault.get("times", 1)
                if times == 0:
                    continue
                if times > 0:
                    fault["times"] = times - 1
                return dict(fault)
        return None

    def forward(self, method, target, headers, body):
        """(status, headers, body) of the upstream's answer, or a 502 when it cannot be reached."""
        connection = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        try:
            sent = {k: v for k, v in headers.items() if k.lower() in FORWARDED_HEADERS and k.lower() != "accept-encoding"}
            connection.request(method, self.upstream_prefix + target, body=body or None, headers=sent)
            response = connection.getresponse()
            payload = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() in ("content-type", "retry-after", "www-authenticate")}
            return response.status, kept, payload
        except OSError as error:
            return 502, {"Content-Type": "application/json"}, json.dumps(
                {"status": "error", "errorType": "unavailable", "error": f"proxy: upstream: {error}"}).encode()
        finally:
            connection.close()


def make_handler(proxy):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _answer(self, status, headers, body):
            if not isinstance(body, bytes):
                body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            if not any(k.lower() == "content-type" for k in headers):
                self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _control(self, path, raw):
            with proxy.lock:
                if path == "/_fake/requests" and self.command == "GET":
                    return self._answer(200, {}, list(proxy.requests))
                if path == "/_fake/reset" and self.command == "POST":
                    proxy.requests.clear()
                    proxy.faults.clear()
                    return self._answer(200, {}, {})
                if path == "/_fake/faults" and self.command == "POST":
                    proxy.faults.extend(json.loads(raw or b"[]"))
                    return self._answer(200, {}, {})
            return self._answer(404, {}, {"message": "no such control route"})

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urllib.parse.urlsplit(self.path)
            if url.path.startswith("/_fake/"):
                return self._control(url.path, raw)
            headers = {k.lower(): v for k, v in self.headers.items()}
            with proxy.lock:
                # Recorded on arrival, before any delay: a test that gave up waiting still sees the attempt.
                proxy.requests.append({"method": self.command, "path": url.path,
                                       "query": urllib.parse.parse_qs(url.query, keep_blank_values=True),
                                       "headers": headers, "time": time.time()})
            fault = proxy.take_fault(url.path) or {"mode": "pass"}
            mode = fault.get("mode", "pass")
            if mode == "close":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if mode == "status":
                return self._answer(fault.get("status", 503), fault.get("headers", {}), fault.get("body", ""))
            if mode == "garbage":
                return self._answer(200, {"Content-Type": "application/json"}, b"\x00\xff{\"status\":\"succ\x1b[0m")
            if mode == "delay":
                time.sleep(float(fault.get("seconds", 1)))  # the fault *is* a slow server
            status, out_headers, body = proxy.forward(self.command, self.path, dict(self.headers.items()), raw)
            if mode == "truncate":
                body = body[: len(body) // 2]
            elif mode == "warnings":
                document = json.loads(body)
                document.setdefault("warnings", []).append(fault.get("warning", "partial answer injected by fault_proxy"))
                body = json.dumps(document).encode()
            try:
                self._answer(status, out_headers, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout is what a delay test is about)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that timed out and closed its socket is expected here, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def main(argv=None):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fake_http
    fake_http.die_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = QuietServer(("127.0.0.1", args.port), make_handler(Proxy(args.upstream)))
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
