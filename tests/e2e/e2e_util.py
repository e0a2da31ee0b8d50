"""Shared helpers of the end-to-end tests and the benchmark: start servers on loopback, find their port,
poll until they answer, stop them and check they exit cleanly; collect failed checks."""
import re
import textwrap
import socket
import subprocess
import time
import urllib.error
import urllib.request

class Checks:
    """Failed expectations, printed as they happen; a test exits 1 when there is any."""

    def __init__(self):
        self.failures = []

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
            print("FAIL:", message)


LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


def free_port():
    """A port for a peer that cannot bind port 0 and report it (node_exporter, Prometheus)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def poll(fn, deadline_s=10.0, interval_s=0.02):
    """Calls fn until it returns a value other than None or stops raising OSError; bounded. This polls a
    starting server or a condition in another process, it does not stand in for synchronisation."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            value = fn()
            if value is not None:
                return value
        except OSError:
            if time.monotonic() > end:
                raise
        if time.monotonic() > end:
            raise TimeoutError(f"condition not met within {deadline_s} s")
        time.sleep(interval_s)


def request(url, headers=None, context=None, timeout=10):
    """GET; returns (status, headers dict, body bytes) for any HTTP status."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


class Server:
    """A server process with its output in log_path. For topdog-exporter (port=None) it binds
    127.0.0.1:0 and the bound port is read from its "Listening on" log line; peers get a free port."""

    def __init__(self, argv, log_path, port=None, listen_flag="--web.listen-address", deadline_s=10.0):
        self.log_path = log_path
        self.log = open(log_path, "w")
        own_port = port is None
        address = "127.0.0.1:0" if own_port else f"127.0.0.1:{port}"
        self.proc = subprocess.Popen(argv + [f"{listen_flag}={address}"], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.port = port
        if own_port:
            def bound_port():
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited: {self.logs()}")
                m = LISTENING.search(self.logs())
                return int(m.group(1)) if m else None
            self.port = poll(bound_port, deadline_s)

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be killed)."""
        self.proc.terminate()
        try:
            status = self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            status = None
        self.log.close()
        return status


def nginx_conf(srv, http_body, workers=1):
    """nginx.conf for Debian's nginx run unprivileged under the prefix `srv`: the pid file, the error log and
    every *_temp_path inside it (nginx would use /var otherwise); `http_body` goes into the http block."""
    return (textwrap.dedent(f"""\
        worker_processes {workers};
        pid {srv}/nginx.pid;
        error_log {srv}/logs/error.log info;
        events {{ worker_connections 64; }}
        http {{
          client_body_temp_path {srv}/tmp/body;
          proxy_temp_path {srv}/tmp/proxy;
          fastcgi_temp_path {srv}/tmp/fastcgi;
          uwsgi_temp_path {srv}/tmp/uwsgi;
          scgi_temp_path {srv}/tmp/scgi;
        """) + textwrap.indent(textwrap.dedent(http_body), "  ") + "}\n")
