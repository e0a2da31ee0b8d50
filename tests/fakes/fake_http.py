"""Base of the loopback fakes of the APIs the advisor writes to (Kubernetes, DigitalOcean): records every request,
plays scripted faults, and leaves the resource logic to a subclass. Only these two APIs are faked (everything
else in the tests is the real server from Debian).

A fake prints `PORT <n>` on its first stdout line once it listens on 127.0.0.1 (port 0 by default), so the test
that started it reads the port instead of sleeping. Control endpoints (not recorded):
  GET  /_fake/requests   -> JSON list of {method, path, query, headers, body} in arrival order
  POST /_fake/reset      -> forget recorded requests and faults
  POST /_fake/faults     <- JSON list of faults, tried in order before the resource logic:
       {"method": "PATCH", "path": "regex", "status": 409, "body": "...", "headers": {...},
        "delay": 1.5, "times": 1, "close": false, "after": 0}
       delay: seconds before answering (a slow server); close: drop the connection without an answer;
       times: how many requests the fault hits (default 1; -1 forever); after: let that many matches pass first;
       status 0 with delay only delays, then the resource logic answers.
Subclasses implement handle(method, path, query, headers, body) -> (status, headers dict, body bytes|str|obj)
and may add control routes with control(method, path, body) -> (status, obj) or None.
"""
import argparse
import json
import re
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeApi:
    def __init__(self):
        self.lock = threading.RLock()
        self.requests = []
        self.faults = []

    def handle(self, method, path, query, headers, body):  # overridden
        return 404, {}, {"message": "not found"}

    def control(self, method, path, body):  # overridden for extra /_fake/ routes
        return None

    def reset(self):
        pass


def _encode(obj):
    if obj is None:
        return b""
    if isinstance(obj, bytes):
        return obj
    if isinstance(obj, str):
        return obj.encode()
    return json.dumps(obj).encode()


def make_handler(api):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            pass

        def _answer(self, status, headers, body):
            payload = _encode(body)
            self.send_response(status)
            has_type = any(k.lower() == "content-type" for k in headers)
            if not has_type:
                self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urllib.parse.urlsplit(self.path)
            path, query = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
            if path.startswith("/_fake/"):
                return self._control(path, raw)
            body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            with api.lock:
                api.requests.append({"method": self.command, "path": path, "query": query,
                                     "headers": headers, "body": body, "time": time.time()})
                fault = self._match_fault(path)
            if fault is not None:
                if fault.get("delay"):
                    time.sleep(fault["delay"])  # the fault *is* a slow server
                if fault.get("close"):
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault.get("status"):
                    return self._answer(fault["status"], fault.get("headers", {}), fault.get("body", ""))
            with api.lock:
                status, out_headers, out_body = api.handle(self.command, path, query, headers, body)
            self._answer(status, out_headers, out_body)

        def _match_fault(self, path):
            for fault in api.faults:
                if fault.get("method") and fault["method"] != self.command:
                    continue
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
                return fault
            return None

        def _control(self, path, raw):
            with api.lock:
                if path == "/_fake/requests" and self.command == "GET":
                    return self._answer(200, {}, api.requests)
                if path == "/_fake/reset" and self.command == "POST":
                    api.requests.clear()
                    api.faults.clear()
                    api.reset()
                    return self._answer(200, {}, {})
                if path == "/_fake/faults" and self.command == "POST":
                    api.faults.extend(json.loads(raw or b"[]"))
                    return self._answer(200, {}, {})
                answer = api.control(self.command, path, json.loads(raw) if raw else None)
            if answer is None:
                return self._answer(404, {}, {"message": "no such control route"})
            return self._answer(answer[0], {}, answer[1])

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return Handler


def die_with_parent():
    """Asks the kernel to kill this process when the test that started it dies (PR_SET_PDEATHSIG), so a crashed
    test leaves no fake behind."""
    try:
        import ctypes
        import signal
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        pass


def serve(api, argv=None):
    die_with_parent()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args, _ = parser.parse_known_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(api))
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0
